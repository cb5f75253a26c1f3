"""HubSpot's own Python client (`hubspot-api-client`) drives the simulator: the calls a real integration makes.

Each test names the HubSpot doc it checks. The client raises on any status or body shape HubSpot would
not send, so a test passing means the official client accepted the simulator's answers.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from hubspot import HubSpot
from hubspot.crm.associations.v4 import AssociationSpec
from hubspot.crm.companies import ApiException as CompanyApiException
from hubspot.crm.deals import (
    ApiException,
    BatchInputSimplePublicObjectBatchInput,
    BatchInputSimplePublicObjectBatchInputForCreate,
    BatchInputSimplePublicObjectBatchInputUpsert,
    BatchInputSimplePublicObjectId,
    BatchReadInputSimplePublicObjectId,
    PublicObjectSearchRequest,
    SimplePublicObjectInput,
    SimplePublicObjectInputForCreate,
)
from hubspot.crm.properties import PropertyCreate

TOKEN = "pat-na1-q2c-dev"


@pytest.fixture
def client(sim) -> Iterator[HubSpot]:
    yield HubSpot(access_token=TOKEN, host=f"{sim.url}/hubspot")


def a_company(client: HubSpot) -> str:
    key = f"conf-{uuid.uuid4().hex[:8]}"
    created = client.crm.companies.basic_api.create(
        SimplePublicObjectInputForCreate(properties={"name": f"Conformance {key}", "q2c_company_key": key})
    )
    return str(created.id)


def test_create_is_201_and_read_takes_properties_as_a_list(client, sim):
    """https://developers.hubspot.com/docs/api/crm/deals (create; read with properties)."""
    created = client.crm.deals.basic_api.create(
        SimplePublicObjectInputForCreate(properties={"dealname": "Conformance", "amount": "1234.56"})
    )
    assert created.id and created.properties["amount"] == "1234.56" and created.created_at is not None
    # The client sends properties=dealname&properties=amount (repeated): both must come back.
    read = client.crm.deals.basic_api.get_by_id(created.id, properties=["dealname", "amount", "pipeline"])
    assert read.properties["dealname"] == "Conformance" and read.properties["amount"] == "1234.56"
    assert "pipeline" in read.properties and read.properties["pipeline"] is None  # asked for, empty: null
    assert read.properties["hs_object_id"] == created.id


def test_read_with_associations_and_by_id_property(client):
    """idProperty: https://developers.hubspot.com/docs/api-reference/legacy/crm/objects/deals/batch/get-deals;
    associations: https://developers.hubspot.com/docs/api/crm/deals."""
    key = f"conf-{uuid.uuid4().hex[:8]}"
    company = client.crm.companies.basic_api.create(
        SimplePublicObjectInputForCreate(properties={"name": "By key", "q2c_company_key": key})
    )
    by_key = client.crm.companies.basic_api.get_by_id(key, id_property="q2c_company_key", properties=["name"])
    assert by_key.id == company.id and by_key.properties["name"] == "By key"
    deal = client.crm.deals.basic_api.create(SimplePublicObjectInputForCreate(properties={"dealname": "Linked"}))
    client.crm.associations.v4.basic_api.create_default("deals", deal.id, "companies", company.id)
    read = client.crm.deals.basic_api.get_by_id(deal.id, associations=["companies"])
    assert [a.id for a in read.associations["companies"].results] == [company.id]
    with pytest.raises(CompanyApiException) as refused:  # not a unique property: HubSpot refuses idProperty
        client.crm.companies.basic_api.get_by_id("Linked", id_property="name")
    assert refused.value.status == 400


def test_labelled_association_put_and_v4_list(client):
    """https://developers.hubspot.com/docs/api-reference/latest/crm/associations/overview."""
    company = a_company(client)
    deal = client.crm.deals.basic_api.create(SimplePublicObjectInputForCreate(properties={"dealname": "v4"}))
    spec = [AssociationSpec(association_category="HUBSPOT_DEFINED", association_type_id=5)]
    pair = client.crm.associations.v4.basic_api.create("deals", deal.id, "companies", company, spec)
    assert str(pair.from_object_id) == deal.id and str(pair.to_object_id) == company
    listed = client.crm.associations.v4.basic_api.get_page("companies", company, "deals")
    assert deal.id in [str(r.to_object_id) for r in listed.results]


def test_list_pages_with_limit_and_after_to_the_end(client, sim):
    """https://developers.hubspot.com/docs/guides/crm/using-object-apis (limit default 10, max 100)."""
    first = client.crm.companies.basic_api.get_page()
    assert len(first.results) == 10 and first.paging.next.after
    assert len(sim.records("hubspot", "line_items")) > 100
    big = client.crm.line_items.basic_api.get_page(limit=500)
    assert len(big.results) == 100 and big.paging.next.after  # HubSpot's page is 100 at most
    everything = client.crm.companies.get_all()  # follows paging.next.after until it is absent
    expected = [c for c in sim.records("hubspot", "companies") if not c.get("archived")]
    assert len(everything) == len(expected) and len({c.id for c in everything}) == len(expected)


def test_update_archive_and_404_in_hubspots_error_shape(client):
    """https://developers.hubspot.com/docs/api-reference/error-handling."""
    deal = client.crm.deals.basic_api.create(SimplePublicObjectInputForCreate(properties={"dealname": "Temp"}))
    updated = client.crm.deals.basic_api.update(deal.id, SimplePublicObjectInput(properties={"amount": "10"}))
    assert updated.properties["amount"] == "10"
    client.crm.deals.basic_api.archive(deal.id)
    with pytest.raises(ApiException) as missing:
        client.crm.deals.basic_api.get_by_id(deal.id)
    assert missing.value.status == 404
    body = json.loads(missing.value.body)
    assert body["status"] == "error" and body["category"] == "OBJECT_NOT_FOUND" and body["correlationId"]
    assert client.crm.deals.basic_api.get_by_id(deal.id, archived=True).archived is True


def test_unknown_and_mistyped_properties_are_refused_with_the_property_named(client):
    """https://developers.hubspot.com/docs/api/crm/properties (property types)."""
    with pytest.raises(ApiException) as unknown:
        client.crm.deals.basic_api.create(SimplePublicObjectInputForCreate(properties={"no_such_property": "x"}))
    assert unknown.value.status == 400 and "PROPERTY_DOESNT_EXIST" in unknown.value.body
    assert "no_such_property" in unknown.value.body
    with pytest.raises(ApiException) as not_a_number:
        client.crm.deals.basic_api.create(SimplePublicObjectInputForCreate(properties={"amount": "ten"}))
    assert not_a_number.value.status == 400 and "INVALID_FLOAT" in not_a_number.value.body


def test_batch_create_with_one_invalid_input_creates_nothing(client, sim):
    """https://developers.hubspot.com/docs/api-reference/error-handling (multi-status only when traced)."""
    before = len(sim.records("hubspot", "deals"))
    batch = BatchInputSimplePublicObjectBatchInputForCreate(
        inputs=[{"properties": {"dealname": "good"}}, {"properties": {"dealname": "bad", "nope": "1"}}]
    )
    with pytest.raises(ApiException) as refused:
        client.crm.deals.batch_api.create(batch)
    assert refused.value.status == 400 and len(sim.records("hubspot", "deals")) == before
    traced = BatchInputSimplePublicObjectBatchInputForCreate(
        inputs=[
            {"properties": {"dealname": "good"}, "objectWriteTraceId": "t1"},
            {"properties": {"nope": "1"}, "objectWriteTraceId": "t2"},
        ]
    )
    partial = client.crm.deals.batch_api.create(traced)
    assert [r.properties["dealname"] for r in partial.results] == ["good"] and partial.num_errors == 1
    assert len(sim.records("hubspot", "deals")) == before + 1


def test_batch_read_update_upsert_archive(client):
    """https://developers.hubspot.com/docs/guides/crm/using-object-apis (batch endpoints; 207)."""
    made = client.crm.deals.batch_api.create(
        BatchInputSimplePublicObjectBatchInputForCreate(
            inputs=[{"properties": {"dealname": f"b{i}"}} for i in range(3)]
        )
    )
    ids = sorted(r.id for r in made.results)
    read = client.crm.deals.batch_api.read(
        BatchReadInputSimplePublicObjectId(inputs=[{"id": i} for i in ids], properties=["dealname"])
    )
    assert sorted(r.id for r in read.results) == ids
    partial = client.crm.deals.batch_api.read(
        BatchReadInputSimplePublicObjectId(inputs=[{"id": ids[0]}, {"id": "404404"}], properties=["dealname"])
    )
    assert partial.num_errors == 1 and partial.errors[0].context["ids"] == ["404404"]  # 207 multi-status
    updated = client.crm.deals.batch_api.update(
        BatchInputSimplePublicObjectBatchInput(inputs=[{"id": i, "properties": {"amount": "5"}} for i in ids])
    )
    assert {r.properties["amount"] for r in updated.results} == {"5"}
    key = f"deal-{uuid.uuid4().hex[:8]}"
    upsert = BatchInputSimplePublicObjectBatchInputUpsert(
        inputs=[{"idProperty": "q2c_deal_key", "id": key, "properties": {"dealname": "upserted"}}]
    )
    first, again = client.crm.deals.batch_api.upsert(upsert), client.crm.deals.batch_api.upsert(upsert)
    assert first.results[0].new is True and again.results[0].new is False
    assert first.results[0].id == again.results[0].id
    client.crm.deals.batch_api.archive(BatchInputSimplePublicObjectId(inputs=[{"id": i} for i in ids]))
    gone = client.crm.deals.batch_api.read(BatchReadInputSimplePublicObjectId(inputs=[{"id": ids[0]}]))
    assert gone.num_errors == 1


def search(client: HubSpot, *filters: dict, **options) -> list:
    request = PublicObjectSearchRequest(filter_groups=[{"filters": list(filters)}], limit=200, **options)
    return client.crm.deals.search_api.do_search(request).results


def test_search_operators_on_numbers_dates_and_text(client):
    """https://developers.hubspot.com/docs/api/crm/search (filter operators)."""
    tag = uuid.uuid4().hex[:8]
    amounts = ["900", "1000", "25000.50"]
    made = client.crm.deals.batch_api.create(
        BatchInputSimplePublicObjectBatchInputForCreate(
            inputs=[
                {"properties": {"dealname": f"Search {tag} n{i}", "amount": a, "closedate": f"2031-0{i + 1}-15"}}
                for i, a in enumerate(amounts)
            ]
        )
    )
    ids = {r.properties["amount"]: r.id for r in made.results}
    mine = {"propertyName": "dealname", "operator": "CONTAINS_TOKEN", "value": tag}

    def amounts_of(*filters: dict, **options) -> list[str]:
        return [r.properties["amount"] for r in search(client, mine, *filters, properties=["amount"], **options)]

    by_amount = [{"propertyName": "amount", "direction": "ASCENDING"}]
    assert amounts_of(sorts=by_amount) == amounts
    # Numeric, not textual: "900" < "1000" as numbers although not as strings.
    assert amounts_of({"propertyName": "amount", "operator": "GT", "value": "950"}, sorts=by_amount) == amounts[1:]
    assert amounts_of({"propertyName": "amount", "operator": "LTE", "value": "1000"}, sorts=by_amount) == amounts[:2]
    assert amounts_of({"propertyName": "amount", "operator": "LT", "value": "1000"}) == ["900"]
    assert amounts_of({"propertyName": "amount", "operator": "GTE", "value": "25000.5"}) == ["25000.50"]
    assert amounts_of({"propertyName": "amount", "operator": "EQ", "value": "1000"}) == ["1000"]
    assert sorted(amounts_of({"propertyName": "amount", "operator": "NEQ", "value": "1000"})) == ["25000.50", "900"]
    between = {"propertyName": "amount", "operator": "BETWEEN", "value": "901", "highValue": "30000"}
    assert amounts_of(between, sorts=by_amount) == amounts[1:]
    assert amounts_of({"propertyName": "amount", "operator": "IN", "values": ["900", "25000.50"]}, sorts=by_amount) == [
        "900",
        "25000.50",
    ]
    assert amounts_of({"propertyName": "amount", "operator": "NOT_IN", "values": ["900", "25000.50"]}) == ["1000"]
    # Dates: a millisecond timestamp or an ISO date, compared as instants.
    feb = str(int(datetime(2031, 2, 1, tzinfo=UTC).timestamp() * 1000))
    assert sorted(amounts_of({"propertyName": "closedate", "operator": "GTE", "value": feb})) == ["1000", "25000.50"]
    assert amounts_of({"propertyName": "closedate", "operator": "LT", "value": "2031-02-01"}) == ["900"]
    window = {"propertyName": "closedate", "operator": "BETWEEN", "value": "2031-02-01", "highValue": "2031-02-28"}
    assert amounts_of(window) == ["1000"]
    descending = amounts_of(sorts=[{"propertyName": "closedate", "direction": "DESCENDING"}])
    assert descending == list(reversed(amounts))
    assert ids["900"] in [
        r.id for r in search(client, {"propertyName": "hs_object_id", "operator": "EQ", "value": ids["900"]})
    ]


def test_search_has_property_query_and_unknown_property(client):
    """https://developers.hubspot.com/docs/api/crm/search (HAS_PROPERTY, query, errors)."""
    tag = uuid.uuid4().hex[:8]
    client.crm.deals.batch_api.create(
        BatchInputSimplePublicObjectBatchInputForCreate(
            inputs=[
                {"properties": {"dealname": f"Query {tag} alpha", "erp_order_number": "SO-1"}},
                {"properties": {"dealname": f"Query {tag} beta"}},
            ]
        )
    )
    mine = {"propertyName": "dealname", "operator": "CONTAINS_TOKEN", "value": tag}
    has = search(
        client, mine, {"propertyName": "erp_order_number", "operator": "HAS_PROPERTY"}, properties=["dealname"]
    )
    lacks = search(client, mine, {"propertyName": "erp_order_number", "operator": "NOT_HAS_PROPERTY"})
    assert [r.properties["dealname"] for r in has] == [f"Query {tag} alpha"] and len(lacks) == 1
    found = client.crm.deals.search_api.do_search(PublicObjectSearchRequest(query=f"{tag} bet", limit=10))
    assert found.total == 1 and found.results[0].properties["dealname"] == f"Query {tag} beta"
    with pytest.raises(ApiException) as unknown:
        search(client, {"propertyName": "no_such_property", "operator": "EQ", "value": "1"})
    assert unknown.value.status == 400
    with pytest.raises(ApiException) as too_big:
        client.crm.deals.search_api.do_search(PublicObjectSearchRequest(limit=201))
    assert too_big.value.status == 400


def test_properties_api_lists_creates_and_archives_definitions(client):
    """https://developers.hubspot.com/docs/api/crm/properties."""
    names = {p.name: p for p in client.crm.properties.core_api.get_all("deals").results}
    assert names["amount"].type == "number" and names["closedate"].type == "datetime"
    name = f"conf_{uuid.uuid4().hex[:8]}"
    client.crm.properties.core_api.create(
        "deals", PropertyCreate(name=name, label="Conf", type="string", field_type="text", group_name="dealinformation")
    )
    assert client.crm.properties.core_api.get_by_name("deals", name).type == "string"
    client.crm.properties.core_api.archive("deals", name)
    assert name not in {p.name for p in client.crm.properties.core_api.get_all("deals").results}
