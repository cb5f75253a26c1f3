"""The exception workbench: fixable refusals park the saga; `retry`, `skip` and `compensate` resolve it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from temporalio.testing import WorkflowEnvironment

from models.common import Region
from models.saga import CreditDecision, OperatorDecision, SagaPolicy, Stage, StepState
from tests.conftest import workflow_environment
from tests.test_saga import FULL, business, deal_properties, wid
from workflows import search


@pytest.fixture(scope="module")
async def env(request: pytest.FixtureRequest) -> AsyncIterator[WorkflowEnvironment]:
    """A server of this module's own: its waits on durable timers need time skipping, which any workflow
    another module leaves with work pending would hold back on a shared test server."""
    async with workflow_environment(request.config) as started:
        yield started


OPS = OperatorDecision(by="ops@q2c.example", reason="fixed the data")


def no_tax_company(sagas) -> str:
    """A fresh EMEA company without a tax registration (tests change it, so each gets its own)."""
    deal = sagas.sim.store.get("hubspot", "deals", sagas.sim.manifest["deals"]["no_tax"][0])
    seeded = sagas.sim.store.get("hubspot", "companies", str(deal["associations"]["companies"][0]))
    n = len(sagas.sim.records("hubspot", "companies"))
    properties = {
        **seeded["properties"],
        "name": f"{seeded['properties']['name']} {n}",
        "contact_email": f"c{n}@nw.example",
    }
    return str(sagas.sim.app.state.apps["hubspot"].state.create("companies", properties)["id"])


async def parked(sagas, handle, code: str):
    status = await sagas.wait_for(handle, lambda s: s.stage is Stage.NEEDS_ATTENTION)
    assert status.exception is not None and status.exception.code == code
    hold = (await handle.describe()).typed_search_attributes.get(search.HOLD)
    assert hold == f"exception:{code}"
    return status


async def test_a_missing_tax_registration_in_the_erp_parks_and_retry_after_the_fix_completes(sagas):
    deal_id = sagas.new_deal(["PLAT-PRO", "IMPL-STD"], company=no_tax_company(sagas))
    handle = await sagas.start(deal_id)
    status = await parked(sagas, handle, "missing_tax_registration")
    exception = status.exception
    assert exception.step == "create_order" and exception.error.system == "netsuite"
    assert "Tax registration" in exception.error.message and exception.actions == ["retry", "compensate"]
    assert exception.context["deal_id"] == deal_id and exception.context["erp_customer_id"]
    assert status.step("create_order").state is StepState.FAILED

    # Not allowed here, so refused and recorded; then the ERP owner fixes the customer and retries.
    await handle.signal("skip", OperatorDecision(by="intern", reason="just go on"))
    await handle.signal("approve_credit", CreditDecision(approver="sales", reason="please"))
    netsuite = sagas.sim.store
    customer = netsuite.get("netsuite", "customer", exception.context["erp_customer_id"])
    netsuite.put("netsuite", "customer", customer["id"], {**customer, "defaultTaxReg": "DE999999999"})
    await handle.signal("retry", OPS)
    result = await sagas.finish(handle, "workbench_retry_after_fix")
    assert result.stage is Stage.COMPLETED
    final = await sagas.status(handle)
    assert [(d.action, d.by, d.accepted) for d in final.decisions] == [
        ("skip", "intern", False),
        ("approve_credit", "sales", False),
        ("retry", "ops@q2c.example", True),
    ]
    assert "not allowed at create_order" in final.decisions[0].note and final.exception is None
    assert final.decisions[1].note == "nothing is on hold"
    assert deal_properties(sagas.sim, deal_id)["q2c_status"] == "completed"


async def test_a_region_that_requires_a_tax_registration_parks_before_any_write(sagas):
    company = no_tax_company(sagas)
    deal_id = sagas.new_deal(["PLAT-PRO"], company=company)
    policy = SagaPolicy(required_tax_fields=["tax_registration"])
    handle = await sagas.start(deal_id, policies={Region.EMEA: policy, Region.UK: policy})
    status = await parked(sagas, handle, "missing_tax_registration")
    assert status.exception.step == "validate" and "fix it in the CRM" in status.exception.error.message
    assert not sagas.sim.store.find("netsuite", "customer", "externalId", company)  # nothing written yet
    assert not [s for s in status.steps if s.name == "upsert_customer"]

    hubspot = sagas.sim.app.state.apps["hubspot"].state
    hubspot.update("companies", sagas.sim.store.get("hubspot", "companies", company), {"vat_number": "DE123456789"})
    await handle.signal("retry", OPS)
    assert (await sagas.finish(handle)).stage is Stage.COMPLETED
    erp_customer = sagas.sim.store.find("netsuite", "customer", "externalId", company)[0]
    assert erp_customer["defaultTaxReg"] == "DE123456789"


async def test_an_unknown_erp_product_parks_and_compensate_ends_it_with_who_and_why(sagas):
    deal_id = sagas.new_deal(["PLAT-PRO"])
    item = sagas.sim.store.find("netsuite", "nonInventorySaleItem", "externalId", "PLAT-PRO")[0]
    sagas.sim.store.put("netsuite", "nonInventorySaleItem", item["id"], {**item, "isInactive": True})
    try:
        handle = await sagas.start(deal_id)
        status = await parked(sagas, handle, "missing_erp_mapping")
        assert status.exception.step == "resolve_products"
        await handle.signal("compensate", OperatorDecision(by="finance", reason="product retired; deal is wrong"))
        result = await sagas.finish(handle, "workbench_compensate")
    finally:
        sagas.sim.store.put("netsuite", "nonInventorySaleItem", item["id"], item)
    assert result.stage is Stage.FAILED and result.error.type == "UNKNOWN_PRODUCT"
    decision = (await sagas.status(handle)).decisions[0]
    assert (decision.action, decision.by, decision.reason) == (
        "compensate",
        "finance",
        "product retired; deal is wrong",
    )
    assert deal_properties(sagas.sim, deal_id)["q2c_status"] == "failed"


async def test_cancel_while_parked_compensates(sagas):
    deal_id = sagas.new_deal(["PLAT-PRO", "IMPL-STD"], company=no_tax_company(sagas))
    handle = await sagas.start(deal_id)
    await parked(sagas, handle, "missing_tax_registration")
    from models.saga import CancelRequest

    await handle.signal("cancel", CancelRequest(requested_by="sales", reason="customer walked away"))
    result = await sagas.finish(handle)
    assert result.stage is Stage.CANCELLED


async def test_a_compensation_that_keeps_failing_parks_and_skip_records_the_manual_undo(sagas, env, time_skipping):
    deal_id = sagas.new_deal(FULL)
    w = wid(deal_id)
    sagas.sim.fault(**business("zendesk", "POST", "/api/v2/organizations/create_or_update", match="invoice_status"))
    stuck: dict[str, Any] = business("stripe", "DELETE", "/v1/subscriptions/*")
    sagas.sim.fault(**{**stuck, "count": 1000})
    handle = await sagas.start(deal_id)
    for _ in range(40):  # refusals back off 30 s, 60 s, ...: move the test server's clock along
        status = await sagas.status(handle)
        if status.stage is Stage.NEEDS_ATTENTION:
            break
        await env.sleep(timedelta(minutes=30))
    status = await parked(sagas, handle, "compensation_failed")
    assert status.exception.step.startswith("subscribe_") and status.exception.actions == ["retry", "skip"]
    sagas.sim.store.clear_faults()
    await handle.signal("skip", OperatorDecision(by="billing-ops", reason="cancelled in the Stripe dashboard"))
    result = await sagas.finish(handle)
    assert result.stage is Stage.COMPENSATED
    skipped = next(c for c in result.compensations if c.step == status.exception.step)
    assert skipped.result.startswith("skipped")
    others = [c for c in result.compensations if c.step != status.exception.step]
    assert others and all(not c.result.startswith("skipped") for c in others)
    assert sagas.sim.store.find("netsuite", "salesOrder", "externalId", f"{w}:create_order")[0]["orderStatus"][
        "refName"
    ] in ("Cancelled", "Closed")
