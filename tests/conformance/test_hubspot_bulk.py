"""HubSpot's own client reads associations in bulk from the simulator: the v4 batch read reconciliation uses.

https://developers.hubspot.com/docs/api-reference/latest/crm/associations/association-details/batch-read-associations
(`POST /crm/v4/associations/{fromObjectType}/{toObjectType}/batch/read`, inputs `{id, after?}`, each result
`from`, `to[].toObjectId`, `to[].associationTypes`, and `paging` only when that record has more).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from hubspot import HubSpot
from hubspot.crm.associations.v4 import (
    BatchInputPublicFetchAssociationsBatchRequest,
    PublicFetchAssociationsBatchRequest,
)
from hubspot.crm.associations.v4.exceptions import ApiException

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
