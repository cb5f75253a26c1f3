"""The simulators answer in each vendor's dialect, over real HTTP."""

import asyncio
import json
import threading
import time
import uuid

import httpx
import pytest
from fastapi import FastAPI, Request, Response

from connectors.hubspot import webhooks as hubspot_webhooks
from connectors.netsuite.auth import TokenBasedAuth
from connectors.settings import NetSuiteSettings
from connectors.stripe import webhooks as stripe_webhooks
from connectors.zendesk import webhooks as zendesk_webhooks
from models.signatures import SignatureError
from simulators.app import create_app
from simulators.context import SimulatorSettings
from simulators.server import BackgroundServer, free_port
from simulators.store import Store

HS = {"Authorization": "Bearer pat-na1-q2c-dev"}
NS = TokenBasedAuth(NetSuiteSettings())  # OAuth 1.0a signed with the simulator's default dev credentials
ST = {"Authorization": "Bearer sk_test_q2c_dev"}
ZD = {"Authorization": "Bearer zendesk-token-dev"}
FORM = {**ST, "Content-Type": "application/x-www-form-urlencoded"}


@pytest.fixture
def http(sim):
    with httpx.Client(base_url=sim.url, timeout=10) as client:
        yield client


def first_ns_customer(sim):
    return sim.records("netsuite", "customer")[0]


@pytest.mark.parametrize(
    ("path", "shape"),
    [
        ("/hubspot/crm/v3/objects/deals/10000", lambda b: b["category"] == "INVALID_AUTHENTICATION"),
        (
            "/netsuite/services/rest/record/v1/customer/100",
            lambda b: b["o:errorDetails"][0]["o:errorCode"] == "INVALID_LOGIN",
        ),
        ("/stripe/v1/customers", lambda b: b["error"]["type"] == "invalid_request_error"),
        ("/zendesk/api/v2/organizations", lambda b: b["error"] == "Couldn't authenticate you"),
    ],
)
def test_missing_or_wrong_credentials_get_the_vendors_401(http, path, shape):
    for headers in ({}, {"Authorization": "Bearer wrong"}):
        response = http.get(path, headers=headers)
        assert response.status_code == 401
        assert shape(response.json())


def test_netsuite_create_answers_204_with_location_and_no_body(http, sim):
    customer = first_ns_customer(sim)
    response = http.post(
        "/netsuite/services/rest/record/v1/salesOrder",
        auth=NS,
        json={
            "entity": {"id": customer["id"]},
            "externalId": "curl-so-1",
            "item": {"items": [{"item": {"externalId": "IMPL-STD"}, "quantity": 1, "rate": "100"}]},
        },
    )
    assert response.status_code == 204 and response.content == b""
    order_id = response.headers["location"].rsplit("/", 1)[1]
    assert response.headers["location"] == f"{sim.url}/netsuite/services/rest/record/v1/salesOrder/{order_id}"
    by_eid = http.get("/netsuite/services/rest/record/v1/salesOrder/eid:curl-so-1", auth=NS).json()
    assert by_eid["id"] == order_id and by_eid["total"] == 100  # amounts are JSON numbers


def test_netsuite_upsert_by_external_id_keeps_one_record(http, sim):
    before = len(sim.records("netsuite", "customer"))
    for name in ("Upsert Co", "Upsert Co Renamed"):
        response = http.put(
            "/netsuite/services/rest/record/v1/customer/eid:upsert-1", auth=NS, json={"companyName": name}
        )
        assert response.status_code == 204
    assert len(sim.records("netsuite", "customer")) == before + 1
    assert (
        http.get("/netsuite/services/rest/record/v1/customer/eid:upsert-1", auth=NS).json()["companyName"]
        == "Upsert Co Renamed"
    )


def test_netsuite_errors_have_o_error_details(http):
    response = http.get("/netsuite/services/rest/record/v1/customer/999999", auth=NS)
    assert response.status_code == 404
    assert response.json()["o:errorDetails"][0]["o:errorCode"] == "RCRD_DSNT_EXIST"
    response = http.post("/netsuite/services/rest/record/v1/salesOrder", auth=NS, json={"entity": {"id": "nope"}})
    assert response.status_code == 400
    assert response.json()["o:errorDetails"][0]["o:errorPath"] == "entity"


def test_netsuite_async_job_and_idempotency_error(http):
    headers = {"Prefer": "respond-async", "X-NetSuite-Idempotency-Key": "job-key-1"}
    response = http.put(
        "/netsuite/services/rest/record/v1/customer/eid:async-1",
        headers=headers,
        auth=NS,
        json={"companyName": "Async Co"},
    )
    assert response.status_code == 202 and response.headers["preference-applied"] == "respond-async"
    job_path = response.headers["location"].split("/netsuite", 1)[1]
    assert http.get(f"/netsuite{job_path}", auth=NS).json()["progress"] == "succeeded"
    again = http.put(
        "/netsuite/services/rest/record/v1/customer/eid:async-1",
        headers=headers,
        auth=NS,
        json={"companyName": "Async Co"},
    )
    assert again.status_code == 400
    assert again.json()["o:errorDetails"][0]["o:errorCode"] == "IDEMPOTENCY_ERROR"
    assert again.headers["location"] == response.headers["location"]


def test_netsuite_concurrency_limit_is_429(sim, http):
    sim.fault(system="netsuite", kind="latency", latency_ms=400, path="/services/rest/record/v1/customer/*")
    statuses = []

    def call():
        with httpx.Client(base_url=sim.url, timeout=10) as client:
            statuses.append(client.get("/netsuite/services/rest/record/v1/customer/100", auth=NS))

    threads = [threading.Thread(target=call) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    limited = [r for r in statuses if r.status_code == 429]
    assert limited, [r.status_code for r in statuses]
    assert limited[0].json()["o:errorDetails"][0]["o:errorCode"] == "CONCURRENCY_LIMIT_EXCEEDED"


def test_stripe_refuses_json_bodies_like_stripe(http):
    response = http.post("/stripe/v1/customers", headers=ST, json={"name": "JSON Inc"})
    assert response.status_code == 400
    assert response.json()["error"]["type"] == "invalid_request_error"
    assert "x-www-form-urlencoded" in response.json()["error"]["message"]


def test_stripe_validates_params_against_its_spec(http, sim):
    if sim.app.state.apps["stripe"].state.spec_path is None:
        pytest.skip("../shared/vendor-specs/stripe/openapi-subset.yaml is absent")
    response = http.post("/stripe/v1/customers", headers=FORM, content="name=A&colour=blue")
    assert response.status_code == 400
    assert response.json()["error"] | {"doc_url": None} == {
        "type": "invalid_request_error",
        "code": "parameter_unknown",
        "param": "colour",
        "doc_url": None,
        "message": "Received unknown parameter: colour",
    }
    response = http.post("/stripe/v1/subscriptions", headers=FORM, content="customer=cus_1&items[0][quantity]=x")
    assert response.json()["error"]["param"] == "items[0][quantity]"


def test_stripe_idempotency_replays_and_refuses_a_changed_request(http, sim):
    before = len(sim.records("stripe", "customer"))
    headers = {**FORM, "Idempotency-Key": "idem-customer-1"}
    first = http.post("/stripe/v1/customers", headers=headers, content="name=Once+Inc")
    again = http.post("/stripe/v1/customers", headers=headers, content="name=Once+Inc")
    assert first.status_code == again.status_code == 200
    assert again.headers["idempotent-replayed"] == "true" and again.json() == first.json()
    changed = http.post("/stripe/v1/customers", headers=headers, content="name=Twice+Inc")
    assert changed.status_code == 400 and changed.json()["error"]["type"] == "idempotency_error"
    assert len(sim.records("stripe", "customer")) == before + 1


def test_stripe_failed_validation_saves_nothing_for_the_key(http, sim):
    if sim.app.state.apps["stripe"].state.spec_path is None:
        pytest.skip("../shared/vendor-specs/stripe/openapi-subset.yaml is absent")
    headers = {**FORM, "Idempotency-Key": "idem-invalid-1"}
    assert http.post("/stripe/v1/customers", headers=headers, content="bogus=1").status_code == 400
    assert http.post("/stripe/v1/customers", headers=headers, content="name=Fine").status_code == 200


def test_stripe_void_only_open_invoices(http, sim):
    customer = http.post("/stripe/v1/customers", headers=FORM, content="name=Void+Co").json()["id"]
    price = next(p for p in sim.records("stripe", "price") if p["lookup_key"] == "plat-team:usd")
    sub = http.post(
        "/stripe/v1/subscriptions",
        headers=FORM,
        content=(
            f"customer={customer}&items[0][price]={price['id']}&items[0][quantity]=2&collection_method=send_invoice"
            "&days_until_due=30"
        ),
    ).json()
    invoice = sub["latest_invoice"]
    draft_void = http.post(f"/stripe/v1/invoices/{invoice}/void", headers=FORM)
    assert draft_void.status_code == 400 and "only pass in open invoices" in draft_void.json()["error"]["message"]
    assert http.post(f"/stripe/v1/invoices/{invoice}/finalize", headers=FORM).json()["status"] == "open"
    assert http.post(f"/stripe/v1/invoices/{invoice}/void", headers=FORM).json()["status"] == "void"


def test_hubspot_create_is_201_and_partial_batch_is_207(http):
    created = http.post("/hubspot/crm/v3/objects/companies", headers=HS, json={"properties": {"name": "New Co"}})
    assert created.status_code == 201
    batch = http.post(
        "/hubspot/crm/v3/objects/companies/batch/read",
        headers=HS,
        json={"inputs": [{"id": created.json()["id"]}, {"id": "404404"}]},
    )
    assert batch.status_code == 207 and batch.json()["numErrors"] == 1


def test_hubspot_unknown_property_is_refused(http):
    response = http.patch("/hubspot/crm/v3/objects/deals/10000", headers=HS, json={"properties": {"nope": "1"}})
    assert response.status_code == 400 and response.json()["errors"][0]["code"] == "PROPERTY_DOESNT_EXIST"


def test_hubspot_rate_limit_fault_has_headers_and_body(http, sim):
    sim.fault(system="hubspot", kind="rate_limit", count=1, retry_after=2)
    response = http.get("/hubspot/crm/v3/objects/deals/10000", headers=HS)
    assert response.status_code == 429 and response.headers["retry-after"] == "2"
    assert response.headers["x-hubspot-ratelimit-remaining"] == "0"
    assert response.json()["errorType"] == "RATE_LIMIT" and response.json()["policyName"] == "SECONDLY"
    assert http.get("/hubspot/crm/v3/objects/deals/10000", headers=HS).status_code == 200


def test_zendesk_create_or_update_201_then_200_and_ticket_idempotency(http):
    org = {"organization": {"name": "ZD Co", "external_id": "zd-1", "organization_fields": {"service_tier": "gold"}}}
    assert http.post("/zendesk/api/v2/organizations/create_or_update", headers=ZD, json=org).status_code == 201
    assert http.post("/zendesk/api/v2/organizations/create_or_update", headers=ZD, json=org).status_code == 200
    ticket = {"ticket": {"subject": "Welcome", "comment": {"body": "hello"}}}
    headers = {**ZD, "Idempotency-Key": "ticket-1"}
    first = http.post("/zendesk/api/v2/tickets", headers=headers, json=ticket)
    again = http.post("/zendesk/api/v2/tickets", headers=headers, json=ticket)
    assert (first.status_code, first.headers["x-idempotency-lookup"]) == (201, "miss")
    assert (again.status_code, again.headers["x-idempotency-lookup"]) == (201, "hit")
    assert again.json()["ticket"]["id"] == first.json()["ticket"]["id"]
    invalid = http.post("/zendesk/api/v2/tickets", headers=ZD, json={"ticket": {"subject": "x"}})
    assert invalid.status_code == 422 and invalid.json()["error"] == "RecordInvalid"


def test_request_counts_per_endpoint(http, sim):
    before = {(r["method"], r["path"], r["status"]): r["count"] for r in sim.store.request_counts("zendesk")}
    http.get("/zendesk/api/v2/organizations/1", headers=ZD)
    http.get("/zendesk/api/v2/organizations/2", headers=ZD)
    counts = {
        (r["method"], r["path"], r["status"]): r["count"]
        for r in http.get("/_sim/requests", params={"system": "zendesk"}).json()["requests"]
    }
    key = ("GET", "/api/v2/organizations/{id}", 404)
    assert counts[key] == before.get(key, 0) + 2


def test_seed_looks_like_a_b2b_saas_company(sim):
    companies = sim.records("hubspot", "companies")
    assert len(companies) >= 50
    assert {c["properties"].get("currency") for c in companies} >= {"USD", "EUR", "GBP"}
    assert len(sim.records("netsuite", "nonInventorySaleItem")) >= 10
    frequencies = {p["recurring"]["interval"] for p in sim.records("stripe", "price")}
    assert frequencies == {"month", "year"}
    stories = sim.manifest["deals"]
    assert all(stories[k] for k in ("over_credit", "no_tax", "inactive", "existing"))


class Receiver:
    """A webhook endpoint that fails the first `failures` deliveries."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.received: list[tuple[dict[str, str], bytes, str]] = []
        app = FastAPI()

        @app.post("/hook")
        async def hook(request: Request) -> Response:
            self.received.append((dict(request.headers), await request.body(), str(request.url)))
            return Response(status_code=503 if len(self.received) <= self.failures else 204)

        self.server = BackgroundServer(app)

    @property
    def url(self) -> str:
        return f"{self.server.url}/hook"


def test_hubspot_closedwon_sends_a_signed_v3_webhook_and_retries_non_2xx(http, sim):
    receiver = Receiver(failures=2)
    with receiver.server:
        http.put("/_sim/webhooks/hubspot", json={"url": receiver.url, "secret": "s3cret"})
        deal = sim.manifest["deals"]["ordinary"][-1]
        assert http.post(f"/_sim/hubspot/deals/{deal}/close").json()["dealstage"] == "closedwon"
        deadline = time.monotonic() + 10
        while len(receiver.received) < 3 and time.monotonic() < deadline:
            time.sleep(0.05)
        http.put("/_sim/webhooks/hubspot", json={"url": None})
    assert len(receiver.received) == 3
    headers, body, url = receiver.received[-1]
    hubspot_webhooks.verify(
        "s3cret", "POST", url, body, headers["x-hubspot-signature-v3"], headers["x-hubspot-request-timestamp"]
    )
    events = json.loads(body)
    assert events[0]["objectId"] == int(deal) and events[0]["propertyValue"] == "closedwon"
    assert events[0]["subscriptionType"] == "deal.propertyChange"
    with pytest.raises(SignatureError):
        hubspot_webhooks.verify(
            "other", "POST", url, body, headers["x-hubspot-signature-v3"], headers["x-hubspot-request-timestamp"]
        )


def test_stripe_invoice_events_are_signed(http, sim):
    receiver = Receiver(failures=0)
    with receiver.server:
        http.put("/_sim/webhooks/stripe", json={"url": receiver.url, "secret": "whsec_test"})
        customer = http.post("/stripe/v1/customers", headers=FORM, content="name=Hook+Co").json()["id"]
        price = next(p for p in sim.records("stripe", "price") if p["lookup_key"] == "plat-pro:eur")
        sub = http.post(
            "/stripe/v1/subscriptions",
            headers=FORM,
            content=(
                f"customer={customer}&items[0][price]={price['id']}&collection_method=send_invoice&days_until_due=14"
            ),
        )
        http.post(f"/stripe/v1/invoices/{sub.json()['latest_invoice']}/finalize", headers=FORM)
        deadline = time.monotonic() + 10
        while not receiver.received and time.monotonic() < deadline:
            time.sleep(0.05)
        http.put("/_sim/webhooks/stripe", json={"url": None})
    headers, body, _ = receiver.received[0]
    stripe_webhooks.verify("whsec_test", body, headers["stripe-signature"])
    assert json.loads(body)["type"] == "invoice.finalized"


def test_state_survives_a_restart_with_a_file_database(tmp_path):
    db = str(tmp_path / "sim.sqlite")
    port = free_port()
    for attempt in range(2):
        app = create_app(SimulatorSettings(port=port, db=db), Store(db))
        with BackgroundServer(app, port=port) as server, httpx.Client(base_url=server.url) as client:
            if attempt == 0:
                client.put(
                    "/netsuite/services/rest/record/v1/customer/eid:persist-1",
                    auth=NS,
                    json={"companyName": "Persisted"},
                )
            else:
                found = client.get("/netsuite/services/rest/record/v1/customer/eid:persist-1", auth=NS)
                assert found.json()["companyName"] == "Persisted"
                counts = client.get("/_sim/requests", params={"system": "netsuite"}).json()["requests"]
                assert any(r["method"] == "PUT" and r["count"] == 1 for r in counts)


def test_a_retry_before_retry_after_is_recorded(http, sim):
    sim.fault(system="zendesk", kind="rate_limit", retry_after=1, count=1, path="/api/v2/organizations/77")
    headers = {**ZD, "X-Correlation-Id": "early-1"}
    assert http.get("/zendesk/api/v2/organizations/77", headers=headers).status_code == 429
    http.get("/zendesk/api/v2/organizations/77", headers=headers)  # at once: too early
    early = [e for e in http.get("/_sim/requests").json()["early_retries"] if e["correlation_id"] == "early-1"]
    assert len(early) == 1 and early[0]["early_by_s"] > 0.5


def test_zendesk_webhook_signature_verifies_and_refuses_tampering():
    body, stamp = b'{"type":"ticket.created"}', "2026-11-25T15:00:00Z"
    signature = zendesk_webhooks.sign("zd-secret", body, stamp)
    sent = 1795618800.0  # 2026-11-25T15:00:00Z
    zendesk_webhooks.verify("zd-secret", body, signature, stamp, now=sent + 60)
    for payload, given, at in (
        (b'{"type":"x"}', signature, stamp),
        (body, signature, "2026-11-25T15:00:01Z"),
        (body, None, stamp),
    ):
        with pytest.raises(SignatureError):
            zendesk_webhooks.verify("zd-secret", payload, given, at, now=sent)
    with pytest.raises(SignatureError, match="outside the 300 s window"):
        zendesk_webhooks.verify("zd-secret", body, signature, stamp, now=sent + 301)


async def test_stripe_concurrent_requests_with_one_key_make_one_record(sim):
    """A key reused while its first request is in flight gets Stripe's retryable 409, never a second record."""
    key = f"race-{uuid.uuid4()}"
    form = {"name": "Race Co", "email": f"{key}@race.example"}
    async with httpx.AsyncClient(base_url=f"{sim.url}/stripe", headers=ST) as web:
        answers = await asyncio.gather(
            *(web.post("/v1/customers", data=form, headers={"Idempotency-Key": key}) for _ in range(8))
        )
    statuses = sorted(a.status_code for a in answers)
    assert set(statuses) <= {200, 409} and 200 in statuses, statuses
    for refused in (a for a in answers if a.status_code == 409):
        assert refused.headers["stripe-should-retry"] == "true"
        assert refused.json()["error"]["type"] == "idempotency_error"
    assert len({a.json()["id"] for a in answers if a.status_code == 200}) == 1
    assert len(sim.store.find("stripe", "customer", "email", form["email"])) == 1
