"""Schema drift in HubSpot parks the saga for an operator (`exception:schema_drift`) before anything is written."""

from __future__ import annotations

import httpx
import pytest

from models.saga import OperatorDecision, Stage, StepState
from tests.test_saga import FULL
from tests.test_workbench import parked

HS = {"Authorization": "Bearer pat-na1-q2c-dev"}


async def test_a_custom_property_deleted_in_hubspot_parks_the_saga_and_retry_after_the_fix_goes_on(sagas):
    """An admin archives q2c's `erp_order_number` through HubSpot's Properties API."""
    deal_id = sagas.new_deal(FULL)
    url = f"{sagas.sim.url}/hubspot/crm/v3/properties/deals"
    async with httpx.AsyncClient(headers=HS) as http:
        definition = (await http.get(f"{url}/erp_order_number")).json()
        assert (await http.delete(f"{url}/erp_order_number")).status_code == 204
        try:
            handle = await sagas.start(deal_id)
            status = await parked(sagas, handle, "schema_drift")
        finally:
            restored = {k: definition[k] for k in ("name", "label", "type", "fieldType", "groupName")}
            assert (await http.post(url, json=restored)).status_code == 201
    error = status.exception.error
    assert status.exception.step == "fetch_deal" and error.system == "hubspot"
    assert "deals.erp_order_number" in error.message and "does not exist" in error.message
    assert status.step("fetch_deal").state is StepState.FAILED
    assert not sagas.sim.store.find("netsuite", "salesOrder", "externalId", f"{handle.id}:create_order")

    await handle.signal("retry", OperatorDecision(by="crm-admin", reason="property restored"))
    moved = await sagas.wait_for(handle, lambda s: s.step("fetch_deal").state is StepState.COMPLETED)
    assert moved.exception is None and moved.stage is not Stage.NEEDS_ATTENTION
    await handle.terminate("the drift is what this test is about")


@pytest.mark.parametrize(
    ("object_type", "name", "changes"),
    [("deals", "amount", {"type": "string", "fieldType": "text"}), ("deals", "deal_currency_code", {"archived": True})],
)
async def test_a_retyped_or_removed_hubspot_defined_property_parks_the_saga(sagas, object_type, name, changes):
    schema = sagas.sim.app.state.apps["hubspot"].state.schema
    deal_id = sagas.new_deal(["PLAT-PRO"])
    schema.redefine(object_type, name, **changes)
    try:
        handle = await sagas.start(deal_id)
        status = await parked(sagas, handle, "schema_drift")
    finally:
        schema.restore(object_type, name)
    assert status.exception.step == "fetch_deal" and f"{object_type}.{name}" in status.exception.error.message
    await handle.terminate("the drift is what this test is about")
