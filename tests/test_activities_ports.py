"""Activities over the ports: canonical milestones reach the CRM, and inputs recorded before the ports still do."""

from __future__ import annotations

import pytest
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.crm import CrmActivities
from models.crm import DealMilestones
from models.steps import RecordPayment, UpdateDeal
from tests.ports.seeds import DEALS


@pytest.fixture
def deal_id(sim, adapters) -> str:
    return DEALS[adapters.crm.name](sim, ["IMPL-STD"], "won", "2032-02-02")


async def test_canonical_milestones_and_recorded_property_updates_land_alike(adapters, deal_id):
    crm, run = CrmActivities(adapters.crm), ActivityEnvironment().run
    await run(
        crm.update_deal, UpdateDeal(deal_id=deal_id, milestones=DealMilestones(status="invoiced", invoice="posted"))
    )
    assert (await adapters.crm.deal_state(deal_id)).milestones == DealMilestones(status="invoiced", invoice="posted")
    # as histories recorded before the ports carry it: the CRM's own property names
    recorded = {"q2c_status": "order_accepted", "erp_order_number": "SO-9", "q2c_saga_id": f"q2c-hubspot-{deal_id}"}
    await run(crm.update_deal, UpdateDeal(deal_id=deal_id, properties=recorded))
    state = await adapters.crm.deal_state(deal_id)
    assert state.milestones.status == "order_accepted" and state.milestones.order_number == "SO-9"
    assert state.milestones.saga_id == f"q2c-hubspot-{deal_id}" and state.milestones.invoice == "posted"


async def test_payment_status_moves_forward_only(adapters, deal_id):
    crm, run = CrmActivities(adapters.crm), ActivityEnvironment().run
    paid = await run(crm.record_payment, RecordPayment(deal_id=deal_id, status="paid"))
    assert paid.applied and paid.previous is None and paid.company_id
    late = await run(crm.record_payment, RecordPayment(deal_id=deal_id, status="payment_failed"))
    assert not late.applied and late.previous == "paid"
    assert (await adapters.crm.deal_state(deal_id)).milestones.payment == "paid"


async def test_a_recorded_update_naming_a_property_q2c_never_writes_fails_without_retrying(adapters, deal_id):
    with pytest.raises(ApplicationError, match="not_a_q2c_property") as failed:
        await ActivityEnvironment().run(
            CrmActivities(adapters.crm).update_deal, UpdateDeal(deal_id=deal_id, properties={"not_a_q2c_property": "x"})
        )
    assert failed.value.non_retryable and failed.value.type == "UnknownMilestone"
