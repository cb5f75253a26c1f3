"""The ingress refuses what it must, and starts exactly one saga per closed-won deal."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import httpx
import pytest
from pydantic import SecretStr
from temporalio.service import RPCError, RPCStatusCode

from models import signatures
from workers.config import Q2CSettings
from workers.ingress import create_ingress

SECRET = "ingress-test-secret"
URL = "http://ingress.test/webhooks/hubspot"


def event(deal_id: str, **overrides: Any) -> dict[str, Any]:
    return {
        "eventId": int(time.time() * 1000) % 10**9,
        "subscriptionId": 1,
        "portalId": 62515,
        "appId": 3,
        "occurredAt": int(time.time() * 1000),
        "subscriptionType": "deal.propertyChange",
        "attemptNumber": 0,
        "objectId": int(deal_id),
        "propertyName": "dealstage",
        "propertyValue": "closedwon",
        "changeSource": "CRM_UI",
        **overrides,
    }


def signed(body: bytes, *, secret: str = SECRET, age_ms: int = 0) -> dict[str, str]:
    timestamp = int(time.time() * 1000) - age_ms
    return {
        "Content-Type": "application/json",
        "X-HubSpot-Request-Timestamp": str(timestamp),
        "X-HubSpot-Signature-v3": signatures.hubspot_v3(secret, "POST", URL, body, timestamp),
    }


@pytest.fixture
async def ingress(ts_env, sagas):
    settings = Q2CSettings(
        hubspot_app_secret=SecretStr(SECRET), task_queue=sagas.task_queue, ingress_max_body_bytes=4096
    )
    app = create_ingress(settings, client=ts_env.client)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://ingress.test") as client:
        yield client


async def post(ingress, payload: Any, **sign: Any) -> httpx.Response:
    body = json.dumps(payload).encode()
    return await ingress.post("/webhooks/hubspot", content=body, headers=signed(body, **sign))


async def test_bad_signature_is_401_and_starts_nothing(ingress, sagas):
    deal_id = sagas.new_deal(["IMPL-STD"])
    response = await post(ingress, [event(deal_id)], secret="not-the-secret")
    assert response.status_code == 401 and "does not match" in response.json()["error"]
    missing = await ingress.post("/webhooks/hubspot", content=b"[]")
    assert missing.status_code == 401
    with pytest.raises(RPCError) as info:
        await sagas.client.get_workflow_handle(f"q2c-hubspot-{deal_id}").describe()
    assert info.value.status is RPCStatusCode.NOT_FOUND


async def test_a_stale_timestamp_is_refused(ingress, sagas):
    response = await post(ingress, [event(sagas.new_deal(["IMPL-STD"]))], age_ms=6 * 60 * 1000)
    assert response.status_code == 401 and "older than 5 minutes" in response.json()["error"]


@pytest.mark.parametrize(
    ("payload", "problem"),
    [
        ({"not": "a list"}, "body: Input should be a valid array"),
        ([{"eventId": 1}], "[0].subscriptionId: Field required"),
        ([{**event("1"), "objectId": "abc"}], "[0].objectId: Input should be a valid integer"),
    ],
)
async def test_a_malformed_batch_is_400_naming_the_problem(ingress, payload, problem):
    response = await post(ingress, payload)
    assert response.status_code == 400 and response.json()["error"].startswith(problem)


async def test_a_body_over_the_limit_is_413(ingress):
    response = await post(ingress, [event("1", padding="x" * 5000)])
    assert response.status_code == 413


async def test_unknown_routes_and_methods(ingress):
    assert (await ingress.post("/webhooks/salesforce", content=b"{}")).status_code == 404
    wrong_method = await ingress.get("/webhooks/hubspot")
    assert wrong_method.status_code == 405 and wrong_method.headers["allow"] == "POST"
    assert (await ingress.get("/healthz")).json() == {"status": "ok"}


async def test_closedwon_starts_one_saga_and_a_redelivery_joins_it(ingress, sagas):
    deal_id = sagas.new_deal(["IMPL-STD"])
    other = event(str(int(deal_id) + 10**6), propertyValue="appointmentscheduled")
    first = await post(ingress, [event(deal_id), event(deal_id), other])
    assert first.status_code == 200
    assert first.json() == {"started": [f"q2c-hubspot-{deal_id}"], "joined": [], "ignored": 2}
    again = await post(ingress, [event(deal_id, attemptNumber=1)])
    assert again.json()["joined"] == [f"q2c-hubspot-{deal_id}"]
    handle = sagas.client.get_workflow_handle(f"q2c-hubspot-{deal_id}")
    status = await sagas.wait_for(handle, lambda s: s.stage.value == "completed")
    assert status.correlation_id.startswith("hubspot-62515-")


async def test_correlation_id_is_taken_from_the_request_when_given(ingress, sagas):
    deal_id = sagas.new_deal(["IMPL-STD"])
    body = json.dumps([event(deal_id)]).encode()
    correlation = f"corr-{uuid.uuid4()}"
    response = await ingress.post(
        "/webhooks/hubspot", content=body, headers={**signed(body), "X-Correlation-Id": correlation}
    )
    assert response.status_code == 200
    handle = sagas.client.get_workflow_handle(f"q2c-hubspot-{deal_id}")
    assert (await sagas.wait_for(handle, lambda s: s.stage.value == "completed")).correlation_id == correlation
