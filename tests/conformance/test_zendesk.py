"""The Zendesk simulator driven by `zenpy`, and by httpx shaped as Zendesk's docs show where zenpy has no call.

zenpy builds `https://{subdomain}.zendesk.com/api/v2/...json`; a transport adapter on its requests session sends
those requests to the simulator's `/zendesk` prefix unchanged otherwise (path, query, Basic or Bearer auth).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from functools import partial
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
import requests
from fastapi import FastAPI, Request
from requests.adapters import HTTPAdapter
from zenpy import Zenpy
from zenpy.lib.api_objects import Organization, OrganizationField, Ticket, Webhook
from zenpy.lib.exception import APIException, RecordNotFoundException

from connectors.zendesk import webhooks as zendesk_webhooks
from models.signatures import SignatureError
from simulators.app import create_app
from simulators.context import SimulatorSettings
from simulators.server import BackgroundServer, free_port
from simulators.store import Store

try:  # the ingress's event model, wherever this session's layout keeps it
    from connectors.zendesk.webhooks import ZendeskEvent
except ImportError:  # pragma: no cover - the layout before connectors/<vendor>/webhooks.py
    from models.zendesk_events import ZendeskEvent  # type: ignore[no-redef,import-not-found,unused-ignore]

EMAIL, TOKEN = "agent@q2c.example", "zendesk-token-dev"


class ToSimulator(HTTPAdapter):
    """Sends zenpy's `https://q2c.zendesk.com/...` requests to `<simulator>/zendesk/...`; the response keeps the
    vendor URL, which zenpy checks, also when it follows a `links.next` the simulator wrote with its own address."""

    VENDOR = "https://q2c.zendesk.com"

    def __init__(self, base: str) -> None:
        super().__init__()
        self.base = base

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> requests.Response:
        parts = urlsplit(str(request.url))
        path = parts.path.removeprefix(urlsplit(self.base).path)
        query = f"?{parts.query}" if parts.query else ""
        request.url = f"{self.base}{path}{query}"
        response = super().send(request, *args, **kwargs)
        response.request.url = response.url = f"{self.VENDOR}{path}{query}"
        return response


class Receiver:
    """A webhook endpoint on a real port that keeps what it was sent, headers and raw body."""

    def __init__(self) -> None:
        self.received: list[tuple[dict[str, str], bytes]] = []
        self.app = FastAPI()
        self.lock = threading.Lock()

        @self.app.post("/hook")
        async def hook(request: Request) -> dict[str, bool]:
            raw = await request.body()
            with self.lock:
                self.received.append((dict(request.headers), raw))
            return {"ok": True}

    def events(
        self, event_type: str, where: Callable[[dict[str, Any]], bool] = lambda _: True, deadline_s: float = 10.0
    ) -> list[tuple[dict[str, str], bytes]]:
        """Wait (up to a generous deadline, not a measured one) for a delivery of `event_type` that fits `where`."""
        end = time.monotonic() + deadline_s
        while True:
            with self.lock:
                found = [
                    (h, b) for h, b in self.received if json.loads(b)["type"] == event_type and where(json.loads(b))
                ]
            if found or time.monotonic() > end:
                return found
            time.sleep(0.02)


@pytest.fixture(scope="module")
def zsim() -> Iterator[tuple[str, Store]]:
    """A simulator of its own, so that changing the account's fields or its rate limit touches no other test."""
    port = free_port()
    store = Store()
    app = create_app(SimulatorSettings(port=port, webhook_backoff_s=0.05, seed=False), store)
    with BackgroundServer(app, port=port) as server:
        yield server.url, store


@pytest.fixture(scope="module")
def receiver() -> Iterator[tuple[Receiver, str]]:
    hooks, port = Receiver(), free_port()
    with BackgroundServer(hooks.app, port=port) as server:
        yield hooks, f"{server.url}/hook"


def zenpy_client(base: str, **auth: str) -> Zenpy:
    session = requests.Session()
    adapter = ToSimulator(f"{base}/zendesk")
    session.mount(ToSimulator.VENDOR, adapter)
    session.mount(f"{base}/zendesk", adapter)
    return Zenpy(subdomain="q2c", session=session, disable_cache=True, **(auth or {"email": EMAIL, "token": TOKEN}))


@pytest.fixture
def zenpy(zsim: tuple[str, Store]) -> Zenpy:
    return zenpy_client(zsim[0])


@pytest.fixture
def http(zsim: tuple[str, Store]) -> Iterator[httpx.Client]:
    basic = base64.b64encode(f"{EMAIL}/token:{TOKEN}".encode()).decode()
    with httpx.Client(base_url=f"{zsim[0]}/zendesk", headers={"Authorization": f"Basic {basic}"}) as client:
        yield client


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


# ---- organizations ----
def test_zenpy_creates_shows_updates_and_deletes_an_organization(zenpy: Zenpy) -> None:
    """https://developer.zendesk.com/api-reference/ticketing/organizations/organizations/"""
    made = zenpy.organizations.create(
        Organization(name=unique("Acme"), external_id=unique("cust"), organization_fields={"service_tier": "gold"})
    )
    shown = zenpy.organizations(id=made.id)
    assert shown.organization_fields["service_tier"] == "gold"
    assert shown.organization_fields["contract_start"] is None  # every active field is shown, unset ones as null
    shown.organization_fields = {"contract_start": "2026-01-31"}
    updated = zenpy.organizations.update(shown)
    assert (updated.organization_fields["contract_start"], updated.organization_fields["service_tier"]) == (
        "2026-01-31",
        "gold",
    )
    zenpy.organizations.delete(updated)
    with pytest.raises(RecordNotFoundException):
        zenpy.organizations(id=made.id)


def test_zenpy_create_or_update_matches_by_external_id_and_by_id(zenpy: Zenpy, http: httpx.Client) -> None:
    """https://developer.zendesk.com/api-reference/ticketing/organizations/organizations/#create-or-update-organization"""
    external_id = unique("cust")
    first = zenpy.organizations.create_or_update(Organization(name=unique("Upsert"), external_id=external_id))
    again = zenpy.organizations.create_or_update(
        Organization(external_id=external_id, organization_fields={"invoice_status": "paid"})
    )
    renamed_name = unique("Renamed")
    by_id = zenpy.organizations.create_or_update(Organization(id=first.id, name=renamed_name))
    assert first.id == again.id == by_id.id
    assert (by_id.name, by_id.organization_fields["invoice_status"]) == (renamed_name, "paid")
    statuses = [
        http.post("/api/v2/organizations/create_or_update.json", json={"organization": body}).status_code
        for body in ({"name": unique("Fresh"), "external_id": unique("new")}, {"id": first.id, "notes": "x"})
    ]
    assert statuses == [201, 200]


def test_bare_paths_are_served_as_well_as_json_ones(http: httpx.Client) -> None:
    """https://developer.zendesk.com/api-reference/introduction/

    The reference lists bare paths, its curl examples `.json` ones: Zendesk serves both.
    """
    bare, suffixed = http.get("/api/v2/organization_fields"), http.get("/api/v2/organization_fields.json")
    assert bare.status_code == suffixed.status_code == 200
    assert bare.json()["organization_fields"] == suffixed.json()["organization_fields"]


def test_zenpy_lists_organizations_by_cursor_to_the_end(zenpy: Zenpy, zsim: tuple[str, Store]) -> None:
    """https://developer.zendesk.com/api-reference/introduction/pagination/#using-cursor-pagination"""
    for _ in range(7):
        zenpy.organizations.create(Organization(name=unique("Paged")))
    listed = [org.id for org in zenpy.organizations(cursor_pagination=3)]
    assert sorted(listed) == sorted(o["id"] for o in zsim[1].all("zendesk", "organization"))
    assert len(listed) == len(set(listed))


def test_cursor_page_shape_and_its_limit(http: httpx.Client) -> None:
    """https://developer.zendesk.com/api-reference/introduction/pagination/#using-cursor-pagination"""
    for _ in range(3):
        http.post("/api/v2/organizations.json", json={"organization": {"name": unique("Shape")}})
    first = http.get("/api/v2/organizations.json", params={"page[size]": 2}).json()
    assert first["meta"]["has_more"] is True and first["meta"]["after_cursor"]
    assert "page%5Bafter%5D=" in first["links"]["next"] or "page[after]=" in first["links"]["next"]
    second = http.get(
        "/api/v2/organizations.json", params={"page[size]": 2, "page[after]": first["meta"]["after_cursor"]}
    ).json()
    assert not {o["id"] for o in first["organizations"]} & {o["id"] for o in second["organizations"]}
    too_big = http.get("/api/v2/organizations.json", params={"page[size]": 101})
    assert too_big.status_code == 400 and too_big.json()["error"] == "InvalidPaginationParameter"


def test_offset_paging_where_zendesk_still_offers_it(http: httpx.Client) -> None:
    """https://developer.zendesk.com/api-reference/introduction/pagination/#using-offset-pagination"""
    for _ in range(3):
        http.post("/api/v2/organizations.json", json={"organization": {"name": unique("Offset")}})
    page = http.get("/api/v2/organizations.json", params={"per_page": 2}).json()
    assert page["count"] >= 3 and len(page["organizations"]) == 2
    assert page["next_page"] and page["previous_page"] is None
    last = http.get("/api/v2/organizations.json", params={"per_page": 2, "page": (page["count"] + 1) // 2}).json()
    assert last["next_page"] is None
    assert http.get("/api/v2/organizations.json", params={"per_page": 100, "page": 101}).status_code == 400
    junk = http.get("/api/v2/organizations.json", params={"per_page": "many"})
    assert (junk.status_code, junk.json()["error"]) == (400, "InvalidPaginationParameter")


def test_search_by_external_id_and_show_many(zenpy: Zenpy, http: httpx.Client) -> None:
    """https://developer.zendesk.com/api-reference/ticketing/organizations/organizations/#search-organizations-by-external-id

    zenpy 2.0.57's `organizations.external()` appends `?page[size]=100` to a path that already has a query, so
    Zendesk (and the simulator, reading the query the same way) searches for `<id>?page[size]=100`: httpx here.
    """
    external_id = unique("ext")
    made = zenpy.organizations.create(Organization(name=unique("Findable"), external_id=external_id))
    found = http.get("/api/v2/organizations/search.json", params={"external_id": external_id}).json()
    assert [o["id"] for o in found["organizations"]] == [made.id]
    assert list(zenpy.organizations.external(external_id)) == []  # the malformed query, as on Zendesk
    many = http.get("/api/v2/organizations/show_many.json", params={"external_ids": external_id}).json()
    assert [o["id"] for o in many["organizations"]] == [made.id]


def test_zenpy_search_finds_organizations_and_tickets_and_stops_at_1000_results(
    zenpy: Zenpy, http: httpx.Client
) -> None:
    """https://developer.zendesk.com/api-reference/ticketing/ticket-management/search/#list-search-results"""
    external_id, name = unique("searched"), unique("Searchable")
    org = zenpy.organizations.create(Organization(name=name, external_id=external_id))
    zenpy.tickets.create(Ticket(subject=f"About {name}", description="hi", organization_id=org.id))
    by_id = list(zenpy.search(type="organization", external_id=external_id))
    assert [(o.id, o.name) for o in by_id] == [(org.id, name)]
    tickets = list(zenpy.search(name.lower(), type="ticket"))
    assert [t.organization_id for t in tickets] == [org.id]
    past = http.get("/api/v2/search.json", params={"query": "type:organization", "page": 11, "per_page": 100})
    assert (past.status_code, past.json()["error"]) == (422, "invalid")  # zenpy's SearchResponseLimitExceeded


def test_zenpy_search_export_pages_by_cursor(zenpy: Zenpy) -> None:
    """https://developer.zendesk.com/api-reference/ticketing/ticket-management/search/#export-search-results"""
    tag = unique("export")
    for n in range(3):
        zenpy.organizations.create(Organization(name=f"{tag} {n}", notes=tag))
    exported = list(zenpy.search_export(tag, type="organization", cursor_pagination=2))
    assert sorted(o.name for o in exported) == [f"{tag} {n}" for n in range(3)]


def test_zenpy_reads_and_adds_organization_fields(zenpy: Zenpy) -> None:
    """https://developer.zendesk.com/api-reference/ticketing/organizations/organization_fields/"""
    keys = {f.key: f.type for f in zenpy.organization_fields()}
    assert keys["contract_start"] == "date" and keys["service_tier"] == "text"
    added = zenpy.organization_fields.create(OrganizationField(key=unique("vip"), title="VIP", type="checkbox"))
    assert added.key in {f.key for f in zenpy.organization_fields()}


def test_validation_errors_are_record_invalid_with_details(zenpy: Zenpy, http: httpx.Client) -> None:
    """https://developer.zendesk.com/api-reference/introduction/#response-format (422 RecordInvalid)"""
    with pytest.raises(APIException) as refused:
        zenpy.organizations.create(Organization(name=""))
    assert refused.value.response.status_code == 422
    answer = http.post(
        "/api/v2/organizations.json",
        json={"organization": {"name": unique("Dated"), "organization_fields": {"contract_start": "soon"}}},
    )
    assert answer.status_code == 422
    assert answer.json()["error"] == "RecordInvalid" and "contract_start" in answer.json()["details"]


def test_unknown_routes_missing_records_and_bad_credentials_answer_in_zendesk_words(
    zenpy: Zenpy, zsim: tuple[str, Store], http: httpx.Client
) -> None:
    """https://developer.zendesk.com/api-reference/introduction/ (InvalidEndpoint, RecordNotFound, 401)"""
    unknown = http.get("/api/v2/no_such_things.json")
    assert (unknown.status_code, unknown.json()) == (404, {"error": "InvalidEndpoint", "description": "Not found"})
    missing = http.get("/api/v2/organizations/999999999.json")
    assert missing.json()["error"] == "RecordNotFound"
    with pytest.raises(APIException) as refused:
        zenpy_client(zsim[0], email=EMAIL, token="wrong").organizations(id=1)
    assert refused.value.response.status_code == 401
    assert refused.value.response.json() == {"error": "Couldn't authenticate you"}
    oauth = zenpy_client(zsim[0], oauth_token=TOKEN)  # Bearer
    assert isinstance(list(oauth.organization_fields()), list)


def test_rate_limit_headers_on_every_response_and_429_when_spent(http: httpx.Client, zsim: tuple[str, Store]) -> None:
    """https://developer.zendesk.com/api-reference/introduction/rate-limits/"""
    answers = [
        http.get("/api/v2/organization_fields.json"),
        http.get("/api/v2/nothing"),
        http.get("/api/v2/x", headers={"Authorization": "Bearer no"}),
    ]
    for answer in answers:
        assert int(answer.headers["X-Rate-Limit"]) == 700 and int(answer.headers["X-Rate-Limit-Remaining"]) < 700
    zsim[1].set_setting("zendesk_rate_limit", 1)  # already spent this minute
    try:
        limited = http.get("/api/v2/organization_fields.json")
    finally:
        zsim[1].set_setting("zendesk_rate_limit", None)
    assert limited.status_code == 429 and int(limited.headers["Retry-After"]) >= 1
    assert limited.headers["X-Rate-Limit-Remaining"] == "0"


# ---- tickets ----
def test_zenpy_ticket_create_answers_the_ticket_and_its_audit(zenpy: Zenpy) -> None:
    """https://developer.zendesk.com/api-reference/ticketing/tickets/tickets/#create-ticket"""
    org = zenpy.organizations.create(Organization(name=unique("Ticketed")))
    created = zenpy.tickets.create(Ticket(subject="Unpaid invoice", description="Please pay", organization_id=org.id))
    assert created.ticket.id and created.ticket.organization_id == org.id
    kinds = [e["type"] for e in created.audit.events]
    assert kinds[0] == "Comment" and "Create" in kinds
    assert zenpy.tickets(id=created.ticket.id).subject == "Unpaid invoice"
    assert created.ticket.id in [t.id for t in zenpy.tickets()]


def test_idempotency_key_is_honoured_on_ticket_create_only(http: httpx.Client) -> None:
    """https://developer.zendesk.com/api-reference/ticketing/introduction/#idempotency"""
    key, ticket = unique("key"), {"ticket": {"subject": "Once", "comment": {"body": "only once"}}}
    first = http.post("/api/v2/tickets.json", json=ticket, headers={"Idempotency-Key": key})
    again = http.post("/api/v2/tickets.json", json=ticket, headers={"Idempotency-Key": key})
    assert (first.status_code, first.headers["x-idempotency-lookup"]) == (201, "miss")
    assert (again.headers["x-idempotency-lookup"], again.json()["ticket"]["id"]) == (
        "hit",
        first.json()["ticket"]["id"],
    )
    other = http.post(
        "/api/v2/tickets.json", json={"ticket": {"comment": {"body": "else"}}}, headers={"Idempotency-Key": key}
    )
    assert (other.status_code, other.json()["error"]) == (400, "IdempotentRequestError")
    org = {"organization": {"name": unique("NoKey")}}
    made = http.post("/api/v2/organizations.json", json=org, headers={"Idempotency-Key": key})
    assert "x-idempotency-lookup" not in made.headers


# ---- webhooks ----
def about(subject: str, event: dict[str, Any]) -> bool:
    return bool(event["subject"] == subject)


def test_signed_organization_and_ticket_webhooks_verify_and_parse_as_q2c_ingress_expects(
    zenpy: Zenpy, receiver: tuple[Receiver, str]
) -> None:
    """https://developer.zendesk.com/api-reference/webhooks/webhooks-api/webhooks/ ; https://developer.zendesk.com/documentation/webhooks/verifying/"""
    hooks, endpoint = receiver
    webhook = zenpy.webhooks.create(
        Webhook(
            name="q2c",
            endpoint=endpoint,
            http_method="POST",
            request_format="json",
            status="active",
            subscriptions=[
                "zen:event-type:organization.created",
                "zen:event-type:organization.name_changed",
                "zen:event-type:organization.custom_field_changed",
                "zen:event-type:ticket.created",
            ],
        )
    )
    secret = zenpy.webhooks.show_secret(webhook).secret
    external_id = unique("hooked")
    org = zenpy.organizations.create(Organization(name=unique("Hooked"), external_id=external_id))
    org.name, org.organization_fields = unique("Rehooked"), {"service_tier": "platinum"}
    zenpy.organizations.update(org)
    ticket = zenpy.tickets.create(Ticket(subject="Hello", description="hi", organization_id=org.id))
    for event_type in (
        "organization.created",
        "organization.name_changed",
        "organization.custom_field_changed",
        "ticket.created",
    ):
        subject = f"zen:ticket:{ticket.ticket.id}" if "ticket" in event_type else f"zen:organization:{org.id}"
        delivered = hooks.events(f"zen:event-type:{event_type}", partial(about, subject))
        assert delivered, f"no {event_type} webhook"
        headers, raw = delivered[-1]
        signature, stamp = headers["x-zendesk-webhook-signature"], headers["x-zendesk-webhook-signature-timestamp"]
        expected = hmac.new(secret.encode(), stamp.encode() + raw, hashlib.sha256).digest()  # the doc's recipe
        assert base64.b64decode(signature) == expected
        zendesk_webhooks.verify(secret, raw, signature, stamp)  # and q2c's ingress check
        event = ZendeskEvent.model_validate_json(raw)
        if event_type == "organization.custom_field_changed":
            assert event.event.current == "platinum" and (event.event.field or {}).get("key") == "service_tier"
        if event_type == "organization.name_changed":
            change = event.customer_change()
            assert change is not None and (change.customer_id, change.value) == (external_id, org.name)


def test_the_configured_webhook_gets_every_organization_event_signed_with_q2cs_secret(
    receiver: tuple[Receiver, str],
) -> None:
    """https://developer.zendesk.com/documentation/webhooks/verifying/ (the target q2c's settings name)."""
    hooks, endpoint = receiver
    port, secret = free_port(), "configured-secret"
    settings = SimulatorSettings(port=port, seed=False, zendesk_webhook_url=endpoint, zendesk_webhook_secret=secret)
    with BackgroundServer(create_app(settings, Store()), port=port) as server:
        external_id = unique("configured")
        zenpy_client(server.url).organizations.create(Organization(name=unique("Configured"), external_id=external_id))
        delivered = hooks.events(
            "zen:event-type:organization.created", lambda e: bool(e["detail"]["external_id"] == external_id)
        )
    assert len(delivered) == 1
    headers, raw = delivered[0]
    zendesk_webhooks.verify(
        secret, raw, headers["x-zendesk-webhook-signature"], headers["x-zendesk-webhook-signature-timestamp"]
    )
    with pytest.raises(SignatureError):
        zendesk_webhooks.verify(
            "another", raw, headers["x-zendesk-webhook-signature"], headers["x-zendesk-webhook-signature-timestamp"]
        )
