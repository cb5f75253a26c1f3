"""`POST /api/v1/deals/{crm}/{deal_id}/submit` on Temporal's dev server: Update-with-Start answers with the
deal's problems by field, the credit verdict and the saga id; the saga runs on; API keys required."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from temporalio.testing import WorkflowEnvironment

from infra.settings import Q2CSettings
from models.saga import SagaResult, Stage
from tests.conftest import Sagas
from workers.ingress import create_ingress
from workers.ingress.submit import caller_of

KEY = "test-key-0123456789"


@pytest.fixture
def ts_env(dev_env: WorkflowEnvironment) -> WorkflowEnvironment:
    return dev_env  # Update-with-Start needs a real server


@pytest.fixture
def app(sagas: Sagas, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("Q2C_SUBMIT_API_KEYS", json.dumps({"crm-button": KEY}))
    return create_ingress(Q2CSettings(task_queue=sagas.task_queue), client=sagas.client)


@pytest.fixture
async def api(app: Any) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://ingress.test", timeout=30) as client:
        yield client


async def submit(api: httpx.AsyncClient, deal_id: str, key: str | None = KEY, crm: str = "hubspot") -> httpx.Response:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    return await api.post(f"/api/v1/deals/{crm}/{deal_id}/submit", headers=headers)


async def test_a_good_deal_is_validated_and_cleared_and_a_second_submit_joins_the_same_saga(api, sagas):
    deal_id = sagas.new_deal(["PLAT-PRO", "IMPL-STD"])
    answered = await submit(api, deal_id)
    assert answered.status_code == 200, answered.text
    body = answered.json()
    assert body["saga_id"] == f"q2c-hubspot-{deal_id}" and body["status"] == "answered"
    assert body["submission"]["valid"] is True and body["submission"]["problems"] == []
    assert body["submission"]["credit"] == "clear"
    again = await submit(api, deal_id)
    assert again.status_code == 200 and again.json()["saga_id"] == body["saga_id"]
    handle = sagas.client.get_workflow_handle(body["saga_id"], result_type=SagaResult)
    assert (await sagas.finish(handle, "at_start/submitted")).stage is Stage.COMPLETED  # kept: Update-with-Start
    one_order = sagas.sim.store.find("netsuite", "salesOrder", "externalId", f"{body['saga_id']}:create_order")
    assert len(one_order) == 1
    description = await handle.describe()
    assert description.raw_description.execution_config.user_metadata.HasField("summary")  # the UI's summary


async def test_an_order_over_the_credit_limit_is_answered_on_hold_with_the_reason(api, sagas):
    over = sagas.sim.store.require("hubspot", "deals", sagas.sim.manifest["deals"]["over_credit"][0])
    deal_id = sagas.new_deal(["PLAT-ENT"], company=over["associations"]["companies"][0])
    body = (await submit(api, deal_id)).json()
    assert body["submission"]["credit"] == "on_hold" and "exceeds limit" in body["submission"]["credit_reason"]
    assert body["submission"]["stage"] == "on_hold"
    await sagas.client.get_workflow_handle(body["saga_id"]).cancel()


async def test_a_deal_that_cannot_become_an_order_is_answered_with_its_problems_by_field(api, sagas):
    deal_id = sagas.new_deal(["PLAT-PRO"], stage="appointmentscheduled")
    body = (await submit(api, deal_id)).json()
    submission = body["submission"]
    assert submission["valid"] is False and submission["credit"] == "refused"
    assert [p["field"] for p in submission["problems"]] == ["stage"]
    assert "appointmentscheduled" in submission["problems"][0]["problem"]


async def test_without_a_valid_key_nothing_starts(api, sagas):
    deal_id = sagas.new_deal(["PLAT-PRO"])
    for key in (None, "wrong-key"):
        refused = await submit(api, deal_id, key=key)
        assert refused.status_code == 401 and "API key" in refused.json()["error"]
    assert [e async for e in sagas.client.list_workflows(f"WorkflowId = 'q2c-hubspot-{deal_id}'")] == []
    assert (await submit(api, deal_id, crm="Not-A-Crm")).status_code == 422
    assert (await submit(api, deal_id, crm="event")).status_code == 404  # not a CRM served (q2c-event-* are events)


def test_the_callers_keys_are_q2c_settings_and_each_key_names_its_caller(monkeypatch):
    monkeypatch.setenv("Q2C_SUBMIT_API_KEYS", json.dumps({"crm-button": KEY, "portal": "portal-key-42"}))
    keys = Q2CSettings().submit_api_keys
    assert caller_of("portal-key-42", keys) == "portal" and caller_of(KEY, keys) == "crm-button"
    assert caller_of("portal-key-4", keys) is None  # a prefix of a key is no key
    monkeypatch.delenv("Q2C_SUBMIT_API_KEYS")
    assert Q2CSettings().submit_api_keys == {}  # none configured: every call refused


async def test_the_submit_api_is_published_and_schemathesis_finds_no_server_error(app):
    """In a thread: the worker (on this test's event loop) answers the sagas schemathesis starts."""
    await asyncio.to_thread(schemathesis_run, app)


def schemathesis_run(app: Any) -> None:
    import schemathesis

    operations = [o for o in app.openapi()["paths"] if o.startswith("/api/v1/deals/")]
    assert operations == ["/api/v1/deals/{crm}/{deal_id}/submit"]
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    seen: list[int] = []
    for found in schema.get_all_operations():
        operation = found.ok()  # type: ignore[union-attr]  # as tests/test_chaos.py: an invalid schema raises here
        if operation is None or not operation.path.startswith("/api/v1/deals/"):
            continue
        for headers in ({}, {"Authorization": f"Bearer {KEY}"}):
            explore(operation, headers, seen)
    assert seen and max(seen) < 500 and 401 in seen


def explore(operation: Any, headers: dict[str, str], seen: list[int]) -> None:
    from hypothesis import HealthCheck, given, settings

    @settings(max_examples=10, deadline=None, suppress_health_check=list(HealthCheck))
    @given(case=operation.as_strategy())
    def call(case: Any) -> None:
        response = case.call(headers=headers)
        seen.append(response.status_code)
        assert response.status_code < 500, response.text

    call()
