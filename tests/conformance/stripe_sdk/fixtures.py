"""Fixtures for the tests that drive the Stripe simulator with Stripe's own SDK (this package's, through its
conftest.py, and others that import them): a simulator, the SDK pointed at it, and every response checked
against Stripe's OpenAPI spec.

The SDK is pinned to q2c's API version (2023-08-16, the spec subset's version) unless a test says otherwise;
each response the simulator sends in that version is validated against the spec, strictly: a field the spec
does not name is a finding. Doc URLs are beside each test; docs/conformance/stripe.md has the table.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
import stripe
from fastapi import FastAPI

from simulators.app import create_app
from simulators.context import SimulatorSettings
from simulators.server import BackgroundServer, free_port
from simulators.store import Store
from simulators.stripe_spec import StripeSpec, find_spec, load_spec

KEY = "sk_test_q2c_dev"
VERSION = "2023-08-16"


class StripeSim:
    def __init__(self, url: str, app: FastAPI) -> None:
        self.url, self.app = url, app
        self.admin = httpx.Client(base_url=f"{url}/_sim", timeout=10)

    @property
    def state(self) -> Any:
        return self.app.state.apps["stripe"].state.stripe

    def fault(self, **fault: Any) -> None:
        self.admin.post("/faults", json={"system": "stripe", **fault}).raise_for_status()


class Recorder(stripe.RequestsClient):
    """Keeps every answer the SDK gets, to check against the spec after the test."""

    def __init__(self) -> None:
        super().__init__(timeout=10)
        self.seen: list[tuple[str, str, int, Any, str]] = []

    def request(self, method: str, url: str, headers: Any, post_data: Any = None, **extra: Any) -> Any:
        content, status, response_headers = super().request(method, url, headers, post_data)
        version = (headers or {}).get("Stripe-Version", "")
        body = json.loads(content) if content else None
        self.seen.append((method.upper(), urlsplit(url).path.removeprefix("/stripe"), status, body, version))
        return content, status, response_headers


@pytest.fixture(scope="module")
def stripe_sim() -> Iterator[StripeSim]:
    port = free_port()
    app = create_app(SimulatorSettings(port=port, webhook_backoff_s=0.05), Store())
    with BackgroundServer(app, port=port) as server:
        yield StripeSim(server.url, app)


@pytest.fixture(scope="module")
def spec() -> StripeSpec:
    path = find_spec()
    if path is None:
        pytest.skip("../shared/vendor-specs/stripe/openapi-subset.yaml is absent: nothing to validate against")
    return load_spec(str(path))


@pytest.fixture
def recorder(spec: StripeSpec) -> Iterator[Recorder]:
    """After the test: every response in the spec's version departs from the spec nowhere."""
    recorder = Recorder()
    yield recorder
    findings = []
    for method, path, status, body, version in recorder.seen:
        if version != VERSION or body is None:
            continue
        operation = spec.operation(method, path)
        errors = spec.response_errors(method, path, status, body) if operation else spec.object_errors(body)
        if status >= 400 and operation is None:
            errors = [] if set(body) == {"error"} and "message" in body["error"] else ["not Stripe's error body"]
        findings += [f"{method} {path} -> {status}: {e}" for e in errors]
    assert not findings, "\n".join(findings[:20])


def sdk(
    stripe_sim: StripeSim, recorder: Recorder | None = None, version: str | None = VERSION, retries: int = 0
) -> Any:
    return stripe.StripeClient(
        KEY,
        base_addresses={"api": f"{stripe_sim.url}/stripe"},
        stripe_version=version,
        max_network_retries=retries,
        http_client=recorder or stripe.RequestsClient(timeout=10),
    )


@pytest.fixture(autouse=True)
def _no_faults_left(stripe_sim: StripeSim) -> Iterator[None]:
    yield
    stripe_sim.admin.delete("/faults").raise_for_status()


@pytest.fixture
def client(stripe_sim: StripeSim, recorder: Recorder) -> Any:
    return sdk(stripe_sim, recorder)


def price_id(client: Any, lookup_key: str) -> str:
    return str(client.v1.prices.list({"lookup_keys": [lookup_key]}).data[0].id)


def subscribe(client: Any, customer: str, lookup_key: str = "plat-pro:usd", quantity: int = 2, **extra: Any) -> Any:
    params = {
        "customer": customer,
        "items": [{"price": price_id(client, lookup_key), "quantity": quantity}],
        "collection_method": "send_invoice",
        "days_until_due": 30,
        **extra,
    }
    return client.v1.subscriptions.create(params)
