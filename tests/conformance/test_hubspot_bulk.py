"""HubSpot's own client reads associations in bulk from the simulator: the v4 batch read reconciliation uses.

https://developers.hubspot.com/docs/api-reference/latest/crm/associations/association-details/batch-read-associations
(`POST /crm/v4/associations/{fromObjectType}/{toObjectType}/batch/read`, inputs `{id, after?}`, each result
`from`, `to[].toObjectId`, `to[].associationTypes`, and `paging` only when that record has more).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from hubspot import HubSpot
from hubspot.crm.associations.v4 import (
    BatchInputPublicFetchAssociationsBatchRequest,
    PublicFetchAssociationsBatchRequest,
)
from hubspot.crm.associations.v4.exceptions import ApiException
from hubspot.crm.deals import Filter, FilterGroup, PublicObjectSearchRequest

TOKEN = "pat-na1-q2c-dev"


@pytest.fixture
def client(sim) -> Iterator[HubSpot]:
    yield HubSpot(access_token=TOKEN, host=f"{sim.url}/hubspot")


def fetch(client: HubSpot, ids: list[tuple[str, str | None]], to_type: str = "line_items"):
    inputs = [PublicFetchAssociationsBatchRequest(id=i, after=after) for i, after in ids]
    return client.crm.associations.v4.batch_api.get_page(
        "deals", to_type, BatchInputPublicFetchAssociationsBatchRequest(inputs=inputs)
    )


def test_batch_read_gives_each_records_links_and_pages_a_record_past_500(client, sim):
    hs = sim.app.state.apps["hubspot"].state
    big, small, alone = (hs.create("deals", {"dealname": f"bulk {n}"}) for n in range(3))
    lines = [hs.create("line_items", {"name": f"l{n}", "quantity": "1", "price": "1"}) for n in range(503)]
    for line in lines[:501]:
        hs.associate("deals", big["id"], "line_items", line["id"])
    for line in lines[501:]:
        hs.associate("deals", small["id"], "line_items", line["id"])
    page = fetch(client, [(big["id"], None), (small["id"], None), (alone["id"], None)])
    by_deal = {r._from.id: r for r in page.results}
    assert set(by_deal) == {big["id"], small["id"]}  # a deal with none is an error entry, not a result
    assert [str(t.to_object_id) for t in by_deal[small["id"]].to] == [lines[501]["id"], lines[502]["id"]]
    assert by_deal[small["id"]].paging is None and by_deal[small["id"]].to[0].association_types[0].type_id == 19
    first = by_deal[big["id"]]
    assert len(first.to) == 500 and first.paging.next.after
    rest = fetch(client, [(big["id"], first.paging.next.after)])
    assert [str(t.to_object_id) for t in first.to + rest.results[0].to] == [line["id"] for line in lines[:501]]
    assert page.errors[0].context["fromObjectId"] == [alone["id"]]  # the 207's error entry names it


def test_batch_read_of_a_pair_hubspot_does_not_associate_is_refused(client, sim):
    deal = sim.app.state.apps["hubspot"].state.create("deals", {"dealname": "no pair"})
    with pytest.raises(ApiException) as refused:
        fetch(client, [(deal["id"], None)], to_type="products")
    assert refused.value.status in (400, 404)


def test_keyset_pages_by_id_see_every_write_between_them(client, sim):
    """Paging by `hs_object_id GT <last>` (what HubSpot's docs suggest past 10,000 results) gives the
    matches a full scan gives, and a record changed between two pages is seen as it is now."""
    hs = sim.app.state.apps["hubspot"].state
    tag = uuid.uuid4().hex[:8]
    made = [hs.create("deals", {"dealname": f"keyset {tag}", "dealstage": "closedwon"}) for _ in range(5)]

    def page(after: str | None) -> PublicObjectSearchRequest:
        group = [
            Filter(property_name="dealname", operator="CONTAINS_TOKEN", value=tag),
            Filter(property_name="dealstage", operator="EQ", value="closedwon"),
        ]
        if after is not None:  # the first page has no bound
            group.append(Filter(property_name="hs_object_id", operator="GT", value=after))
        sorts = [{"propertyName": "hs_object_id", "direction": "ASCENDING"}]
        return PublicObjectSearchRequest(filter_groups=[FilterGroup(filters=group)], sorts=sorts, limit=2)

    first = client.crm.deals.search_api.do_search(page(None))
    assert first.total == 5 and [d.id for d in first.results] == [made[0]["id"], made[1]["id"]]
    hs.update("deals", hs.load("deals", made[3]["id"]), {"dealstage": "contractsent"})  # no longer matches
    second = client.crm.deals.search_api.do_search(page(made[1]["id"]))
    assert second.total == 2 and [d.id for d in second.results] == [made[2]["id"], made[4]["id"]]
    again = client.crm.deals.search_api.do_search(page(made[1]["id"]))  # the kept answer, nothing changed
    assert [d.id for d in again.results] == [d.id for d in second.results] and again.paging is None
