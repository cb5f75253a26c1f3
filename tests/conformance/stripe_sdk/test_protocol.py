"""Stripe's protocol through its own Python SDK: idempotency, errors and their typed exceptions, request ids and
versions, rate limits and retries, signed webhooks. Fixtures in fixtures.py.
"""

from __future__ import annotations

import json
import threading
import uuid
from typing import Any

import httpx
import pytest
import stripe
from fastapi import FastAPI, Request

from simulators.server import BackgroundServer
from simulators.stripe_spec import StripeSpec
from tests.conformance.stripe_sdk.fixtures import KEY, VERSION, Recorder, StripeSim, sdk, subscribe


# https://docs.stripe.com/idempotency
def test_idempotency_replays_and_refuses_other_params(client: Any) -> None:
    key = f"sdk-{uuid.uuid4().hex}"
    first = client.v1.customers.create({"name": "Once"}, {"idempotency_key": key})
    again = client.v1.customers.create({"name": "Once"}, {"idempotency_key": key})
    assert again.id == first.id and again.last_response.headers.get("Idempotent-Replayed") == "true"
    assert "Idempotent-Replayed" not in first.last_response.headers
    with pytest.raises(stripe.IdempotencyError):
        client.v1.customers.create({"name": "Twice"}, {"idempotency_key": key})


# https://docs.stripe.com/error-handling, https://docs.stripe.com/api/errors
def test_unknown_routes_and_params_get_stripes_errors(client: Any, stripe_sim: StripeSim) -> None:
    with pytest.raises(stripe.InvalidRequestError) as unknown:
        client.v1.customers.create({"name": "A", "colour": "blue"})
    assert unknown.value.param == "colour" and unknown.value.code == "parameter_unknown"
    with httpx.Client(base_url=f"{stripe_sim.url}/stripe", headers={"Authorization": f"Bearer {KEY}"}) as web:
        for method, path in (("GET", "/v1/nothing_here"), ("PUT", "/v1/customers"), ("GET", "/v2/customers")):
            answer = web.request(method, path)
            assert answer.status_code == 404 and answer.headers["request-id"].startswith("req_")
            assert answer.json() == {
                "error": {
                    "type": "invalid_request_error",
                    "message": f"Unrecognized request URL ({method}: {path}). Please see https://stripe.com/docs "
                    "or we can help at https://support.stripe.com/.",
                }
            }
        as_json = web.post("/v1/customers", json={"name": "JSON Inc"})
        assert as_json.status_code == 400 and as_json.json()["error"]["type"] == "invalid_request_error"
        bad_version = web.get("/v1/customers", headers={"Stripe-Version": "yesterday"})
        assert bad_version.status_code == 400 and "version" in bad_version.json()["error"]["message"]
    with pytest.raises(stripe.AuthenticationError):
        stripe.StripeClient("sk_test_wrong", base_addresses={"api": f"{stripe_sim.url}/stripe"}).v1.customers.list()


def test_every_answer_names_its_request_and_version(client: Any) -> None:
    listed = client.v1.customers.list({"limit": 1})
    assert listed.last_response.request_id.startswith("req_")
    assert listed.last_response.headers["Stripe-Version"] == VERSION
    with pytest.raises(stripe.InvalidRequestError) as refused:
        client.v1.customers.retrieve("cus_missing")
    assert refused.value.request_id and refused.value.request_id.startswith("req_")


# https://docs.stripe.com/rate-limits, https://docs.stripe.com/error-low-level#should-retry
def test_rate_limits_raise_and_are_retried_as_stripe_says(stripe_sim: StripeSim, client: Any) -> None:
    stripe_sim.fault(kind="rate_limit", count=1, retry_after=0, path="/v1/customers")
    with pytest.raises(stripe.RateLimitError) as limited:
        client.v1.customers.list()
    assert limited.value.http_status == 429 and (limited.value.headers or {})["Stripe-Should-Retry"] == "true"
    stripe_sim.fault(kind="rate_limit", count=1, retry_after=0, path="/v1/customers")
    retrying = Recorder()
    assert sdk(stripe_sim, retrying, retries=2).v1.customers.list({"limit": 1}).object == "list"
    assert [seen[2] for seen in retrying.seen] == [429, 200]  # the SDK retried, as Stripe-Should-Retry said
    stripe_sim.fault(kind="error", status=500, count=1, path="/v1/customers")
    with pytest.raises(stripe.APIError):
        client.v1.customers.list()


# https://docs.stripe.com/webhooks#verify-official-libraries
def test_webhook_events_verify_with_construct_event(stripe_sim: StripeSim, client: Any, spec: StripeSpec) -> None:
    secret, got, arrived = "whsec_sdk_check", [], threading.Event()
    receiver = FastAPI()

    @receiver.post("/hook")
    async def hook(request: Request) -> dict[str, bool]:
        got.append((await request.body(), request.headers["stripe-signature"]))
        arrived.set()
        return {"ok": True}

    with BackgroundServer(receiver) as server:
        stripe_sim.admin.put(
            "/webhooks/stripe", json={"url": f"{server.url}/hook", "secret": secret}
        ).raise_for_status()
        try:
            customer = client.v1.customers.create({"name": "Hook Co"}).id
            invoice = client.v1.invoices.finalize_invoice(subscribe(client, customer).latest_invoice)
            assert arrived.wait(10)
        finally:
            stripe_sim.admin.put("/webhooks/stripe", json={"url": None}).raise_for_status()
    body, header = got[0]
    event = stripe.Webhook.construct_event(body, header, secret)
    assert event.type == "invoice.finalized" and event.data.object.id == invoice.id
    assert event.api_version == VERSION and not spec.object_errors(json.loads(body)["data"]["object"])
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.Webhook.construct_event(body.replace(b"open", b"paid"), header, secret)


def test_the_response_check_can_fail(spec: StripeSpec) -> None:
    """The strict check finds an invented field and a missing one, so a clean run means something."""
    customer = {"id": "cus_1", "object": "customer", "created": 1, "livemode": False, "colour": "blue"}
    assert any("colour" in e for e in spec.object_errors(customer))
    assert any("livemode" in e for e in spec.object_errors({"id": "cus_1", "object": "customer", "created": 1}))
