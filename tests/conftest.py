"""Shared fixtures: the simulators on a real port (uvicorn in a thread), connectors pointed at them."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest

from connectors.hubspot import HubSpotClient
from connectors.netsuite import NetSuiteClient
from connectors.settings import simulator_settings
from connectors.stripe import StripeClient
from connectors.zendesk import ZendeskClient
from simulators.app import create_app
from simulators.context import SimulatorSettings
from simulators.server import BackgroundServer, free_port
from simulators.store import Store


class Sim:
    """A running simulator: its URL, its store and a few admin shortcuts."""

    def __init__(self, server: BackgroundServer, store: Store, app: Any) -> None:
        self.server, self.store, self.app = server, store, app
        self.url = server.url
        self.admin = httpx.Client(base_url=f"{self.url}/_sim", timeout=10)

    def fault(self, **fault: Any) -> int:
        response = self.admin.post("/faults", json=fault)
        response.raise_for_status()
        return int(response.json()["id"])

    def records(self, system: str, kind: str) -> list[dict[str, Any]]:
        return self.store.all(system, kind)

    @property
    def manifest(self) -> dict[str, Any]:
        return dict(self.app.state.manifest)


@pytest.fixture(scope="session")
def sim() -> Iterator[Sim]:
    port = free_port()
    settings = SimulatorSettings(port=port, webhook_backoff_s=0.05, netsuite_concurrency=5)
    store = Store()
    app = create_app(settings, store)
    with BackgroundServer(app, port=port) as server:
        yield Sim(server, store, app)


@pytest.fixture(autouse=True)
def _no_faults_left(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    if "sim" in request.fixturenames:
        request.getfixturevalue("sim").store.clear_faults()


@pytest.fixture
async def clients(sim: Sim) -> AsyncIterator[tuple[HubSpotClient, NetSuiteClient, StripeClient, ZendeskClient]]:
    hs, ns, st, zd = simulator_settings(sim.url)
    for settings in (hs, ns, st, zd):
        settings.timeout_s = 2.0
    made = (HubSpotClient(hs), NetSuiteClient(ns), StripeClient(st), ZendeskClient(zd))
    yield made
    for client in made:
        await client.aclose()


@pytest.fixture
def hubspot(clients: tuple[Any, ...]) -> HubSpotClient:
    return clients[0]


@pytest.fixture
def netsuite(clients: tuple[Any, ...]) -> NetSuiteClient:
    return clients[1]


@pytest.fixture
def stripe(clients: tuple[Any, ...]) -> StripeClient:
    return clients[2]


@pytest.fixture
def zendesk(clients: tuple[Any, ...]) -> ZendeskClient:
    return clients[3]
