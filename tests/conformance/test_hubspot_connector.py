"""q2c's HubSpot connector against the simulator: paging to the end, the search limit, exact numbers, drift."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import httpx
import pytest

from connectors.errors import BusinessRuleError, SchemaDrift
from connectors.hubspot.client import HubSpotClient
from connectors.settings import HubSpotSettings
from simulators.app import create_app
from simulators.context import SimulatorSettings
from simulators.server import BackgroundServer, free_port
from simulators.store import Store

CAP, DEALS = 50, 130  # a small search limit, so windowing is exercised with few records


def deal_on(sim, deal_id: str) -> dict:
    return sim.store.get("hubspot", "deals", deal_id)


@pytest.fixture
def schema(sim):
    """The simulator's property definitions; every change a test makes is undone after it."""
    changed: list[tuple[str, str]] = []
    state = sim.app.state.apps["hubspot"].state.schema

    class Drill:
        def redefine(self, object_type: str, name: str, **changes) -> None:
            changed.append((object_type, name))
            state.redefine(object_type, name, **changes)

    yield Drill()
    for object_type, name in changed:
        state.restore(object_type, name)


async def test_amounts_are_exact_from_strings_and_from_json_numbers(hubspot, sim):
    deal = await hubspot.get_deal(sim.manifest["deals"]["existing"][0])
    stored = {
        line_id: sim.store.get("hubspot", "line_items", line_id)["properties"]
        for line_id in deal_on(sim, deal.id)["associations"]["line_items"]
    }
    for line in deal.lines:
        assert line.unit_price.amount == Decimal(stored[line.id]["price"])
        assert line.quantity == Decimal(stored[line.id]["quantity"])

    def answer(request: httpx.Request) -> httpx.Response:
        body = {"id": "1", "properties": {"amount": 1234567.891, "price": 0.1}}
        return httpx.Response(200, content=json.dumps(body).replace("1234567.891", "1234567.8910000001"))

    async with HubSpotClient(HubSpotSettings(base_url="http://hubspot.test"), httpx.MockTransport(answer)) as mock:
        record = await mock.call("GET", "/crm/v3/objects/deals/1")
    assert record["properties"]["amount"] == Decimal("1234567.8910000001")  # a float would lose the tail
    assert record["properties"]["price"] == Decimal("0.1")


async def test_properties_hubspot_adds_change_nothing(hubspot, sim):
    deal_id = sim.manifest["deals"]["ordinary"][2]
    before = await hubspot.get_deal(deal_id)
    async with httpx.AsyncClient(
        base_url=f"{sim.url}/hubspot", headers={"Authorization": "Bearer pat-na1-q2c-dev"}
    ) as http:
        response = await http.post(
            "/crm/v3/properties/deals",
            json={"name": "shiny_new_field", "label": "Shiny", "type": "string", "fieldType": "text"},
        )
    assert response.status_code in (201, 409)
    sim.app.state.apps["hubspot"].state.update("deals", deal_on(sim, deal_id), {"shiny_new_field": "x"})
    fresh = HubSpotClient(hubspot.settings)
    try:
        after = await fresh.get_deal(deal_id)
    finally:
        await fresh.aclose()
    assert after.properties.pop("hs_lastmodifieddate") > before.properties.pop("hs_lastmodifieddate")  # it was written
    assert after.model_dump() == before.model_dump()


@pytest.mark.parametrize(
    ("object_type", "name", "changes", "problem"),
    [
        ("deals", "deal_currency_code", {"archived": True}, "does not exist"),
        ("deals", "erp_order_number", {"archived": True}, "does not exist"),
        ("deals", "amount", {"type": "string", "fieldType": "text"}, "of type string"),
        ("line_items", "price", {"type": "string", "fieldType": "text"}, "of type string"),
        ("companies", "vat_number", {"archived": True}, "does not exist"),
    ],
)
async def test_a_property_q2c_needs_gone_or_retyped_is_schema_drift(
    hubspot, sim, schema, object_type, name, changes, problem
):
    schema.redefine(object_type, name, **changes)
    with pytest.raises(SchemaDrift) as drift:
        await hubspot.get_deal(sim.manifest["deals"]["ordinary"][3])
    assert (drift.value.system, drift.value.object, drift.value.field) == ("hubspot", object_type, name)
    assert problem in drift.value.problem and drift.value.code == "SCHEMA_DRIFT"


async def test_a_number_that_is_no_number_is_schema_drift(hubspot, sim):
    deal_id = sim.manifest["deals"]["ordinary"][4]
    record = deal_on(sim, deal_id)
    sim.store.put("hubspot", "deals", deal_id, {**record, "properties": {**record["properties"], "amount": "lots"}})
    try:
        with pytest.raises(SchemaDrift) as drift:
            await hubspot.get_deal(deal_id)
    finally:
        sim.store.put("hubspot", "deals", deal_id, record)
    assert (drift.value.object, drift.value.field) == ("deals", "amount") and "lots" in drift.value.problem


async def test_a_write_hubspot_refuses_for_a_missing_property_is_schema_drift(hubspot, sim, schema):
    schema.redefine("deals", "erp_order_number", archived=True)
    with pytest.raises(SchemaDrift) as drift:
        await hubspot.update_deal(sim.manifest["deals"]["ordinary"][5], {"erp_order_number": "SO-9"})
    assert (drift.value.object, drift.value.field, drift.value.status) == ("deals", "erp_order_number", 400)
    assert "PROPERTY_DOESNT_EXIST" in drift.value.problem
    with pytest.raises(BusinessRuleError) as other:  # a refusal that names no property stays a business error
        await hubspot.update_deal("404404", {"q2c_status": "x"})
    assert not isinstance(other.value, SchemaDrift)


async def test_closed_won_page_includes_the_whole_until_day(hubspot, sim):
    hs = sim.app.state.apps["hubspot"].state
    deal = hs.create("deals", {"dealname": "late", "dealstage": "closedwon", "closedate": "2029-03-03T23:30:00Z"})
    ids, _ = await hubspot.closed_won_page(None, 100, "2029-03-03", "2029-03-03")
    assert ids == [deal["id"]]


@pytest.fixture(scope="module")
def crowded() -> Iterator[tuple[str, Store]]:
    """A simulator of its own, its search limit lowered to CAP, holding DEALS closed-won deals."""
    port, store = free_port(), Store()
    app = create_app(SimulatorSettings(port=port, seed=False), store)
    store.set_setting("hubspot_search_cap", CAP)
    start = datetime(2026, 10, 1, tzinfo=UTC)
    for n in range(DEALS):
        stamp = (start + timedelta(hours=n)).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        record_id = str(20_000 + n)
        properties = {"dealname": f"crowd {n}", "dealstage": "closedwon", "closedate": stamp, "amount": f"{n}.10"}
        properties["hs_date_entered_closedwon"] = stamp
        record = {"id": record_id, "properties": properties, "createdAt": stamp, "updatedAt": stamp, "archived": False}
        store.put("hubspot", "deals", record_id, record)
    for n in range(CAP + 10):
        stamp, record_id = "2026-10-01T00:00:00.000Z", str(90_000 + n)
        record = {"id": record_id, "properties": {"email": f"s{n}@x.example"}, "createdAt": stamp, "updatedAt": stamp}
        store.put("hubspot", "contacts", record_id, record)
    with BackgroundServer(app, port=port) as server:
        yield server.url, store


@pytest.fixture
async def crowd_client(crowded) -> AsyncIterator[HubSpotClient]:
    async with HubSpotClient(HubSpotSettings(base_url=f"{crowded[0]}/hubspot")) as client:
        client.search_cap = CAP  # what this simulator was told
        yield client


def won() -> list[dict]:
    return [{"propertyName": "dealstage", "operator": "EQ", "value": "closedwon"}]


async def test_search_past_the_result_limit_reads_every_record_in_windows(crowd_client, crowded):
    found = await crowd_client.search_all("deals", won(), ["amount"])
    assert sorted(int(r["id"]) for r in found) == list(range(20_000, 20_000 + DEALS))
    assert {r["properties"]["amount"] for r in found} == {f"{n}.10" for n in range(DEALS)}
    assert len(await crowd_client.search_ids("deals", "dealstage", "closedwon")) == DEALS
    by_close = await crowd_client.search_all("deals", won(), [], window="closedate")
    assert len(by_close) == DEALS
    counts = crowded[1].request_counts("hubspot")
    assert not [c for c in counts if c["status"] == 400]  # no query ever paged past the limit


async def test_a_window_that_cannot_be_narrowed_is_a_clear_error(crowd_client):
    with pytest.raises(BusinessRuleError) as stuck:  # CAP + 10 contacts modified in the same millisecond
        await crowd_client.search_all("contacts", [], [], window="hs_lastmodifieddate")
    assert stuck.value.code == "SEARCH_LIMIT" and "hs_lastmodifieddate" in stuck.value.message
    with pytest.raises(SchemaDrift) as unknown:  # a property HubSpot does not know is drift, named
        await crowd_client.search_all("deals", won(), [], window="no_such_date")
    assert (unknown.value.object, unknown.value.field, unknown.value.status) == ("deals", "no_such_date", 400)


async def test_closed_won_pages_by_id_past_the_limit_with_no_repeats(crowd_client):
    for by in ("closedate", "hs_date_entered_closedwon", "hs_lastmodifieddate"):
        seen, after = [], None
        while True:
            ids, after = await crowd_client.closed_won_page(after, 20, "2026-10-01", "2026-12-31", by=by)
            seen += ids
            if after is None:
                break
        assert seen == [str(20_000 + n) for n in range(DEALS)], by
    first_day, _ = await crowd_client.closed_won_page(None, 200, "2026-10-01", "2026-10-01")
    assert len(first_day) == 24  # one deal an hour, the whole day included


async def test_list_reads_page_to_the_end(crowd_client):
    records = await crowd_client.list_all("deals", ["dealname"])
    assert len(records) == DEALS and len({r["id"] for r in records}) == DEALS


async def test_associations_are_read_page_by_page_to_the_end(hubspot, sim):
    """v4 lists at most 500 links a page (https://developers.hubspot.com/docs/api-reference/latest/crm/associations/overview)."""
    hs = sim.app.state.apps["hubspot"].state
    company = hs.create("companies", {"name": "Many deals"})
    linked = [str(900_000 + n) for n in range(510)]
    sim.store.put("hubspot", "companies", company["id"], {**company, "associations": {"deals": linked}})
    assert await hubspot.associated_ids("companies", company["id"], "deals") == linked
