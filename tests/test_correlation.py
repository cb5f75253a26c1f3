"""Hostile metadata: a caller's correlation id is taken only when safe; nothing leaves a connector unclassified."""

from __future__ import annotations

import inspect
import json
from collections.abc import AsyncIterator

import httpx
import pytest
from pydantic import SecretStr
from structlog.testing import capture_logs

from connectors.errors import ConnectorError, InternalError, ProtocolError
from connectors.http import VendorClient, correlation_id
from connectors.hubspot.client import HubSpotClient
from connectors.netsuite.client import NetSuiteClient
from connectors.settings import VendorSettings
from connectors.stripe.client import StripeClient
from connectors.zendesk.client import ZendeskClient
from infra.correlation import SAFE, accepted, outbound
from infra.settings import Q2CSettings
from tests.test_ingress import event, signed
from workers.ingress import create_ingress


@pytest.fixture
async def ingress(ts_env, sagas, hubspot_app_secret) -> AsyncIterator[httpx.AsyncClient]:
    app = create_ingress(Q2CSettings(task_queue=sagas.task_queue), ts_env.client)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://ingress.test") as client:
        yield client


@pytest.mark.parametrize(
    "offered", ["Zürich-run-1".encode(), b"c" * 10_000, b"two words", b""], ids=["non-ascii", "10k", "space", "empty"]
)
async def test_an_unsafe_correlation_id_is_replaced_and_the_saga_runs_with_a_safe_one(ingress, sagas, offered):
    deal_id = sagas.new_deal(["IMPL-STD"])
    body = json.dumps([event(deal_id)]).encode()
    with capture_logs() as logs:
        response = await ingress.post(
            "/webhooks/hubspot", content=body, headers={**signed(body), "X-Correlation-Id": offered}
        )
    assert response.status_code == 200
    handle = sagas.client.get_workflow_handle(f"q2c-hubspot-{deal_id}")
    status = await sagas.wait_for(handle, lambda s: s.stage.value == "completed")
    assert SAFE.fullmatch(status.correlation_id) and status.correlation_id.startswith("hubspot-62515-")
    refused = [line for line in logs if line["event"] == "correlation id refused"]
    assert len(refused) == (1 if offered else 0)
    if offered:
        assert refused[0]["length"] == len(offered.decode("latin-1")) and len(refused[0]["offered"]) < 120


def test_the_rule_takes_short_ids_of_safe_characters_only():
    for good in ("hubspot-62515-17", "a", "x" * 64, "corr:1.2_3-4"):
        assert accepted(good, "own") == good and outbound(good) == good
    for bad in ("x" * 65, "ü", "a b", "a\r\nX-Injected: 1", "a/b"):
        assert accepted(bad, "own") == "own"
        assert SAFE.fullmatch(outbound(bad)) and outbound(bad) != bad
    assert outbound("ü") == outbound("ü")  # stable: the vendor's logs still line up with q2c's


class Probe(VendorClient):
    """The smallest connector: what any vendor's client inherits from the shared base."""

    system = "probe"

    async def send(self, header: str) -> None:
        await self.request("GET", "/things", headers={"Idempotency-Key": header})

    async def read(self, path: str = "/things") -> str:
        return str((await self.request("GET", path)).json()["name"])

    async def pages(self) -> AsyncIterator[str]:
        for page in range(2):
            yield str((await self.request("GET", "/things", params={"page": page})).json()["name"])


def probe(answer: httpx.Response, seen: list[httpx.Request] | None = None) -> Probe:
    def handler(request: httpx.Request) -> httpx.Response:
        (seen if seen is not None else []).append(request)
        return answer

    settings = VendorSettings(base_url="http://vendor.test", token=SecretStr("t"))
    return Probe(settings, transport=httpx.MockTransport(handler))


async def test_a_header_value_q2c_cannot_encode_is_an_internal_error_naming_system_and_call():
    with pytest.raises(InternalError) as raised:
        await probe(httpx.Response(200, json={"name": "x"})).send("clé-ü")
    assert raised.value.system == "probe" and raised.value.call == "GET /things"
    assert "UnicodeEncodeError" in str(raised.value) and not raised.value.retryable


async def test_an_unsafe_correlation_id_is_not_sent_verbatim():
    seen: list[httpx.Request] = []
    token = correlation_id.set("Zürich " + "c" * 10_000)
    try:
        assert await probe(httpx.Response(200, json={"name": "x"}), seen).read() == "x"
    finally:
        correlation_id.reset(token)
    assert SAFE.fullmatch(seen[0].headers["X-Correlation-Id"])


@pytest.mark.parametrize(
    ("answer", "error", "problem"),
    [
        (httpx.Response(200, text="<html>gateway</html>"), ProtocolError, "JSONDecodeError"),
        (httpx.Response(200, content=b'{"name": "\xff"}'), ProtocolError, "UnicodeDecodeError"),
        (httpx.Response(200, json={"other": 1}), InternalError, "KeyError"),
    ],
    ids=["not-json", "not-utf8", "unexpected-shape"],
)
async def test_a_malformed_answer_is_classified_with_the_call_named(answer, error, problem):
    with pytest.raises(error) as raised:
        await probe(answer).read()
    assert raised.value.system == "probe" and raised.value.call == "Probe.read" and problem in str(raised.value)


async def test_a_malformed_page_of_a_paged_read_is_classified_too():
    with pytest.raises(ProtocolError) as raised:
        _ = [name async for name in probe(httpx.Response(200, text="<html>")).pages()]
    assert raised.value.call == "Probe.pages"


async def test_a_url_q2c_cannot_build_is_an_internal_error():
    with pytest.raises(InternalError, match="InvalidURL"):
        await probe(httpx.Response(200, json={"name": "x"})).read("http://[::1")


@pytest.mark.parametrize("connector", [HubSpotClient, NetSuiteClient, StripeClient, ZendeskClient])
def test_every_connector_call_is_a_classified_boundary(connector):
    calls = [
        name
        for name, member in vars(connector).items()
        if (inspect.iscoroutinefunction(member) or inspect.isasyncgenfunction(member)) and not name.startswith("__")
    ]
    assert calls and all(vars(connector)[name].__dict__.get("classified") for name in calls)
    assert issubclass(InternalError, ConnectorError) and issubclass(ProtocolError, ConnectorError)
