"""The ingress refuses what it must, and starts exactly one saga per closed-won deal."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import httpx
import pytest
from temporalio.service import RPCError, RPCStatusCode

from connectors.hubspot import webhooks as hubspot_webhooks
from connectors.stripe import webhooks as stripe_webhooks
from infra.settings import Q2CSettings
from tests.conftest import HUBSPOT_APP_SECRET
from tests.test_billing_term_start import deal_starting
from tests.test_saga import BILLED_AT_SALE
from workers.ingress import create_ingress

SECRET = HUBSPOT_APP_SECRET
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
        "X-HubSpot-Signature-v3": hubspot_webhooks.sign(secret, "POST", URL, body, timestamp),
    }


@pytest.fixture
async def ingress(ts_env, sagas, hubspot_app_secret):
    settings = Q2CSettings(task_queue=sagas.task_queue, ingress_max_body_bytes=4096)
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
    assert first.json() == {"started": [f"q2c-hubspot-{deal_id}"], "joined": [], "customer_changes": 0, "ignored": 2}
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


# ---- Stripe ----

STRIPE_SECRET = "whsec_q2c_dev"  # the default in settings and in the simulator


def stripe_event(invoice: dict[str, Any], kind: str, **overrides: Any) -> dict[str, Any]:
    return {
        "id": f"evt_{uuid.uuid4().hex[:16]}",
        "object": "event",
        "type": kind,
        "created": int(time.time()),
        "data": {"object": invoice},
        **overrides,
    }


async def post_stripe(ingress, payload: Any, *, secret: str = STRIPE_SECRET, age_s: int = 0) -> httpx.Response:
    body = json.dumps(payload).encode()
    header = stripe_webhooks.sign(secret, body, int(time.time()) - age_s)
    return await ingress.post("/webhooks/stripe", content=body, headers={"Stripe-Signature": header})


async def test_stripe_webhooks_are_verified_validated_and_unhandled_types_ignored(ingress):
    invoice = {"id": "in_1", "currency": "usd", "amount_paid": 0}
    assert (await post_stripe(ingress, stripe_event(invoice, "invoice.paid"), secret="whsec_wrong")).status_code == 401
    stale = await post_stripe(ingress, stripe_event(invoice, "invoice.paid"), age_s=301)
    assert stale.status_code == 401 and "300 s" in stale.json()["error"]
    bad = await post_stripe(ingress, stripe_event({"id": "in_1"}, "invoice.paid"))
    assert bad.status_code == 400 and bad.json()["error"].startswith("data.object.currency: Field required")
    other = await post_stripe(ingress, stripe_event({"id": "cus_1"}, "customer.created"))
    assert other.status_code == 200 and other.json()["ignored"] == "customer.created"


async def test_a_payment_webhook_reaches_the_running_saga(ingress, sagas):
    from datetime import timedelta

    from models.saga import SagaPolicy, Stage

    deal_id = deal_starting(sagas, ["PLAT-PRO"], BILLED_AT_SALE)  # its subscription invoiced at the sale
    handle = await sagas.start(deal_id, policy=SagaPolicy(payment_deadline=timedelta(days=30)))
    status = await sagas.wait_for(handle, lambda s: s.stage is Stage.AWAITING_PAYMENT)
    [invoice_id] = status.invoices
    paid = sagas.sim.admin.post(f"/stripe/invoices/{invoice_id}/pay").json()
    event = stripe_event(paid, "invoice.paid")
    first = await post_stripe(ingress, event)
    assert first.json() == {"event": event["id"], "delivered_to": "saga", "workflow_id": handle.id}
    assert (await handle.result()).stage is Stage.COMPLETED
    final = await sagas.status(handle)
    assert final.payment == "paid" and final.invoices[invoice_id].amount_paid.amount == paid["amount_paid"] / 100


async def test_events_after_the_saga_are_applied_once_forward_only_and_unmatched_ones_kept(ingress, sagas):
    from models.saga import Stage

    deal_id = deal_starting(sagas, ["PLAT-PRO"], BILLED_AT_SALE)  # its subscription invoiced at the sale
    handle = await sagas.start(deal_id)  # no payment follow-up: the saga ends at invoicing
    assert (await handle.result()).stage is Stage.COMPLETED
    [subscription] = [
        s for s in sagas.sim.records("stripe", "subscription") if s["metadata"].get("q2c_workflow_id") == handle.id
    ]
    paid = sagas.sim.admin.post(f"/stripe/invoices/{subscription['latest_invoice']}/pay").json()
    event = stripe_event(paid, "invoice.paid")
    assert (await post_stripe(ingress, event)).json()["delivered_to"] == "late"
    assert (await post_stripe(ingress, event)).json()["delivered_to"] == "duplicate"
    late = sagas.client.get_workflow_handle(f"q2c-event-billing-{event['id']}")
    assert await late.result() == "applied"
    properties = sagas.sim.store.get("hubspot", "deals", deal_id)["properties"]
    assert properties["payment_status"] == "paid"
    org = sagas.sim.store.find("zendesk", "organization", "external_id", (await sagas.status(handle)).customer_id)[0]
    assert org["organization_fields"]["invoice_status"] == "paid"

    failed = stripe_event(paid, "invoice.payment_failed")
    await post_stripe(ingress, failed)
    assert await sagas.client.get_workflow_handle(f"q2c-event-billing-{failed['id']}").result() == (
        "stale (deal already paid)"
    )
    assert sagas.sim.store.get("hubspot", "deals", deal_id)["properties"]["payment_status"] == "paid"

    stranger = stripe_event({"id": "in_elsewhere", "currency": "usd", "amount_paid": 500}, "invoice.paid")
    assert (await post_stripe(ingress, stranger)).json()["delivered_to"] == "unmatched"
    assert await sagas.client.get_workflow_handle(f"q2c-event-billing-{stranger['id']}").result() == "unmatched"


async def test_temporal_unavailable_is_503_so_the_sender_retries(hubspot_app_secret):
    class Down:
        """A client whose server cannot be reached."""

        async def start_workflow(self, *args: Any, **kwargs: Any) -> None:
            raise RPCError("connection refused", RPCStatusCode.UNAVAILABLE, b"")

    app = create_ingress(Q2CSettings(), client=Down())  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://ingress.test") as web:
        response = await post(web, [event("10000")])
    assert response.status_code == 503 and "retry later" in response.json()["error"]
