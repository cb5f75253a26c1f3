"""Search attributes cost a billable action per upsert: a saga upserts only on what operators filter on."""

from __future__ import annotations

import json
from typing import Any

from models.saga import CreditDecision, Stage
from workflows import patches, search

FULL = ["PLAT-PRO", "IMPL-STD", "PLAT-TEAM"]


VERSIONS = "TemporalChangeVersion"  # the SDK's own upsert on a patch: not a billable action


def upserts(history: Any) -> list[dict[str, Any]]:
    """Each upsert the saga made, as the q2c attributes it set (decoded from the history's payloads)."""
    found: list[dict[str, Any]] = []
    for event in history.events:
        if event.HasField("upsert_workflow_search_attributes_event_attributes"):
            fields = event.upsert_workflow_search_attributes_event_attributes.search_attributes.indexed_fields
            found.append({name: json.loads(payload.data) for name, payload in fields.items() if name != VERSIONS})
    return [attributes for attributes in found if attributes]


def patch_markers(history: Any) -> list[str]:
    return [
        json.loads(payload.data)["id"]
        for event in history.events
        if event.HasField("marker_recorded_event_attributes")
        and event.marker_recorded_event_attributes.marker_name == "core_patch"
        for details in event.marker_recorded_event_attributes.details.values()
        for payload in details.payloads
    ]


async def test_a_straight_through_saga_upserts_once_at_its_end(sagas):
    handle = await sagas.start(sagas.new_deal(FULL))
    result = await sagas.finish(handle, "fewer_upserts/straight_through")  # kept for the replay gate
    assert result.stage is Stage.COMPLETED
    history = await handle.fetch_history()
    assert patches.FEWER_UPSERTS in patch_markers(history)
    [end] = upserts(history)
    status = await sagas.status(handle)
    assert end[search.STAGE.name] == "completed" and end[search.HOLD.name] == ""
    assert end[search.CUSTOMER.name] == status.customer_id
    described = (await handle.describe()).typed_search_attributes
    assert described.get(search.STAGE) == "completed" and described.get(search.CUSTOMER) == status.customer_id


async def test_a_credit_hold_upserts_when_held_when_released_and_at_the_end(sagas):
    company = sagas.sim.store.get("hubspot", "deals", sagas.sim.manifest["deals"]["over_credit"][0])
    handle = await sagas.start(sagas.new_deal(["PLAT-PRO"], company=company["associations"]["companies"][0]))
    await sagas.wait_for(handle, lambda s: s.stage is Stage.ON_HOLD)
    held = (await handle.describe()).typed_search_attributes
    assert (held.get(search.STAGE), held.get(search.HOLD)) == ("on_hold", "credit_review")
    assert held.get(search.CUSTOMER)  # a held saga is found by its customer
    await handle.signal("approve_credit", CreditDecision(approver="cfo@q2c.example", reason="strategic account"))
    assert (await sagas.finish(handle, "fewer_upserts/credit_hold_released")).stage is Stage.COMPLETED
    seen = [(u[search.STAGE.name], u[search.HOLD.name]) for u in upserts(await handle.fetch_history())]
    assert seen == [("on_hold", "credit_review"), ("ordering", ""), ("completed", "")]
