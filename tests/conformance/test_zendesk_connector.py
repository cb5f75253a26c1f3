"""q2c's Zendesk connector against the simulator: documented `.json` paths, cursor paging to the end,
Retry-After honoured, and SchemaDrift naming a custom field an admin renamed, deleted or retyped."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from connectors.errors import RateLimited, SchemaDrift
from connectors.settings import ZendeskSettings
from connectors.zendesk import client as zendesk_client
from connectors.zendesk.client import ZendeskClient
from models.support import SupportOrganization
from simulators.app import create_app
from simulators.context import SimulatorSettings
from simulators.server import BackgroundServer, free_port
from simulators.store import Store

HEADERS = {"Authorization": "Bearer zendesk-token-dev"}


class Recording(httpx.AsyncBaseTransport):
    """The real transport, keeping each request's method and path."""

    def __init__(self) -> None:
        self.inner, self.sent = httpx.AsyncHTTPTransport(), list[tuple[str, str]]()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.sent.append((request.method, request.url.path))
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()


@pytest.fixture(scope="module")
def zsim() -> Iterator[tuple[str, Store]]:
    """A simulator of its own: these tests delete and retype the account's organization fields."""
    port = free_port()
    store = Store()
    with BackgroundServer(create_app(SimulatorSettings(port=port, seed=False), store), port=port) as server:
        yield server.url, store


@pytest.fixture
async def admin(zsim: tuple[str, Store]) -> AsyncIterator[httpx.AsyncClient]:
    """What a Zendesk admin does in the UI, through the API."""
    async with httpx.AsyncClient(base_url=f"{zsim[0]}/zendesk", headers=HEADERS) as client:
        yield client


@pytest.fixture
async def recorded(zsim: tuple[str, Store]) -> AsyncIterator[tuple[ZendeskClient, Recording]]:
    transport = Recording()
    client = ZendeskClient(ZendeskSettings(base_url=f"{zsim[0]}/zendesk", timeout_s=5.0), transport=transport)
    yield client, transport
    await client.aclose()


def customer(name: str = "Acme") -> SupportOrganization:
    tag = uuid.uuid4().hex[:8]
    return SupportOrganization(external_id=f"cust-{tag}", name=f"{name} {tag}", service_tier="gold")


async def field_id(admin: httpx.AsyncClient, key: str) -> int:
    fields = (await admin.get("/api/v2/organization_fields.json")).json()["organization_fields"]
    return next(int(f["id"]) for f in fields if f["key"] == key)


async def replace_field(admin: httpx.AsyncClient, key: str, kind: str, new_key: str | None = None) -> None:
    """Delete the field and make another: how a Zendesk admin renames a key or changes a type."""
    assert (await admin.delete(f"/api/v2/organization_fields/{await field_id(admin, key)}.json")).status_code == 204
    field = {"key": new_key or key, "title": key, "type": kind}
    assert (await admin.post("/api/v2/organization_fields.json", json={"organization_field": field})).status_code == 201


DOCUMENTED = re.compile(  # the endpoint paths of Zendesk's reference, bare or with `.json`
    r"^/zendesk/api/v2/(organizations(/create_or_update|/search|/\d+)?|organization_fields|tickets)(\.json)?$"
)


@pytest.mark.parametrize("suffix", ["", ".json"])
async def test_every_path_the_connector_calls_is_a_documented_endpoint(
    recorded: tuple[ZendeskClient, Recording], monkeypatch: pytest.MonkeyPatch, suffix: str
) -> None:
    """https://developer.zendesk.com/api-reference/ticketing/organizations/organizations/ (bare paths; `.json` in
    the curl examples): the connector works on either."""
    monkeypatch.setattr(zendesk_client, "SUFFIX", suffix)
    client, transport = recorded
    org = await client.upsert_organization(customer())
    await client.update_organization_fields(org.external_id, {"invoice_status": "paid"})
    assert (await client.find_organization(org.external_id)) is not None
    assert (await client.get_organization(org.id or "")).external_id == org.external_id
    await client.create_ticket("Hello", "Body", org.id, f"t-{org.id}", ["q2c"], f"key-{uuid.uuid4()}")
    await client.list_organizations()
    await client.list_tickets()
    await client.check_schema()
    assert transport.sent and all(DOCUMENTED.match(path) for _, path in transport.sent), transport.sent
    assert all(path.endswith(".json") == bool(suffix) for _, path in transport.sent)


async def test_list_organizations_pages_to_the_end_by_cursor(
    recorded: tuple[ZendeskClient, Recording], admin: httpx.AsyncClient, zsim: tuple[str, Store]
) -> None:
    client, transport = recorded
    while zsim[1].count("zendesk", "organization") <= 100:  # more than one page of 100
        await admin.post("/api/v2/organizations.json", json={"organization": {"name": f"Bulk {uuid.uuid4().hex[:8]}"}})
    listed = await client.list_organizations()
    assert sorted(int(o.id or 0) for o in listed) == sorted(o["id"] for o in zsim[1].all("zendesk", "organization"))
    assert len([p for m, p in transport.sent if m == "GET" and p.startswith("/zendesk/api/v2/organizations")]) >= 2


async def test_create_ticket_once_per_idempotency_key(recorded: tuple[ZendeskClient, Recording]) -> None:
    client, _ = recorded
    org = await client.upsert_organization(customer())
    key = f"key-{uuid.uuid4()}"
    first = await client.create_ticket("Finance", "Unpaid", org.id, "t-once", ["q2c"], key)
    again = await client.create_ticket("Finance", "Unpaid", org.id, "t-once", ["q2c"], key)
    assert first == again
    answer = await client.create_ticket_with_audit({"subject": "x", "comment": {"body": "y"}}, f"key-{uuid.uuid4()}")
    assert answer["audit"]["ticket_id"] == answer["ticket"]["id"]


async def test_a_spent_rate_limit_raises_rate_limited_with_zendesks_retry_after(
    recorded: tuple[ZendeskClient, Recording], zsim: tuple[str, Store]
) -> None:
    client, _ = recorded
    await client.check_schema()
    assert client.rate_limit is not None and client.rate_limit[0] == 700 and client.rate_limit[1] < 700
    zsim[1].set_setting("zendesk_rate_limit", 1)
    try:
        with pytest.raises(RateLimited) as limited:
            await client.find_organization("anyone")
    finally:
        zsim[1].set_setting("zendesk_rate_limit", None)
    assert limited.value.retry_after is not None and limited.value.retry_after >= 1
    assert client.rate_limit == (1, 0)


async def test_a_field_zendesk_adds_changes_nothing(
    recorded: tuple[ZendeskClient, Recording], admin: httpx.AsyncClient
) -> None:
    client, _ = recorded
    field = {"key": f"vip_{uuid.uuid4().hex[:6]}", "title": "VIP", "type": "checkbox"}
    await admin.post("/api/v2/organization_fields.json", json={"organization_field": field})
    org = await client.upsert_organization(customer())
    assert (await client.find_organization(org.external_id)) == org
    await client.check_schema()


async def test_a_renamed_field_key_is_schema_drift_naming_it(
    recorded: tuple[ZendeskClient, Recording], admin: httpx.AsyncClient
) -> None:
    client, _ = recorded
    org = await client.upsert_organization(customer())
    await replace_field(admin, "service_tier", "text", new_key="support_tier")
    try:
        with pytest.raises(SchemaDrift) as on_read:
            await client.find_organization(org.external_id)
        with pytest.raises(SchemaDrift) as on_write:
            await client.update_organization_fields(org.external_id, {"service_tier": "platinum"})
        with pytest.raises(SchemaDrift) as on_check:
            await client.check_schema()
    finally:
        await replace_field(admin, "support_tier", "text", new_key="service_tier")
    for drift in (on_read.value, on_write.value, on_check.value):
        assert (drift.system, drift.object, drift.field) == (
            "zendesk",
            "organization",
            "organization_fields.service_tier",
        )
        assert not drift.retryable


async def test_a_retyped_field_is_schema_drift_naming_it(
    recorded: tuple[ZendeskClient, Recording], admin: httpx.AsyncClient
) -> None:
    client, _ = recorded
    org = await client.upsert_organization(customer())
    await replace_field(admin, "contract_start", "text")
    body = {"organization": {"external_id": org.external_id, "organization_fields": {"contract_start": "next spring"}}}
    await admin.post("/api/v2/organizations/create_or_update.json", json=body)
    try:
        with pytest.raises(SchemaDrift, match="contract_start") as on_read:
            await client.find_organization(org.external_id)
        with pytest.raises(SchemaDrift, match="is a text field") as on_check:
            await client.check_schema()
    finally:
        await replace_field(admin, "contract_start", "date")
    assert on_read.value.field == on_check.value.field == "organization_fields.contract_start"
    assert "date" in on_read.value.problem


async def test_a_value_outside_the_options_q2c_knows_is_schema_drift(
    recorded: tuple[ZendeskClient, Recording], admin: httpx.AsyncClient
) -> None:
    client, _ = recorded
    org = await client.upsert_organization(customer())
    body = {"organization": {"external_id": org.external_id, "organization_fields": {"entitlement_status": "vip"}}}
    assert (await admin.post("/api/v2/organizations/create_or_update.json", json=body)).status_code == 200
    with pytest.raises(SchemaDrift, match="'vip' is none of") as drift:
        await client.find_organization(org.external_id)
    assert drift.value.field == "organization_fields.entitlement_status"
