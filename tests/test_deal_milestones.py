"""Deal milestones through Temporal's payload converter: "unset" stays unset, "clear" stays a clear."""

from __future__ import annotations

from typing import TypeVar

import pytest
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import ActivityEnvironment

from activities.crm import CrmActivities
from models.crm import DealMilestones, DealState
from models.steps import UpdateDeal
from tests.ports.seeds import DEALS

T = TypeVar("T")


def through_temporal(value: T) -> T:
    """What an activity receives: the value as Temporal's pydantic converter writes and reads it."""
    converter = pydantic_data_converter.payload_converter
    return converter.from_payloads(converter.to_payloads([value]), [type(value)])[0]


def test_only_the_fields_set_survive_the_round_trip_and_a_clear_is_one_of_them():
    sent = UpdateDeal(deal_id="0065g00000AbCdEAAZ", milestones=DealMilestones(payment="paid", status_reason=None))
    received = through_temporal(sent)
    assert received.milestones is not None
    assert received.milestones.changes() == {"payment": "paid", "status_reason": None}


def test_a_deal_state_read_from_the_crm_keeps_its_cleared_fields():
    state = DealState(deal_id="1", milestones=DealMilestones.model_validate({"status": "invoiced", "payment": None}))
    assert through_temporal(state).milestones.changes() == {"status": "invoiced", "payment": None}
    assert through_temporal(DealState(deal_id="1")).milestones.changes() == {}


async def test_a_payment_write_sent_through_temporal_leaves_the_other_milestones(sim, adapters):
    deal_id = DEALS[adapters.crm.name](sim, ["IMPL-STD"], "won", "2032-02-02")
    crm, run = CrmActivities(adapters.crm), ActivityEnvironment().run
    accepted = DealMilestones(status="order_accepted", order_number="SO-41", saga_id=f"q2c-x-{deal_id}")
    await run(crm.update_deal, through_temporal(UpdateDeal(deal_id=deal_id, milestones=accepted)))
    await run(crm.update_deal, through_temporal(UpdateDeal(deal_id=deal_id, milestones=DealMilestones(payment="paid"))))
    after = (await adapters.crm.deal_state(deal_id)).milestones
    assert (after.status, after.order_number, after.payment) == ("order_accepted", "SO-41", "paid")


def test_milestones_in_a_crms_own_names_map_to_canonical_ones_and_an_unknown_name_is_refused():
    names = {"Q2C_Status__c": "status", "Payment_Status__c": "payment"}
    assert DealMilestones.named({"Q2C_Status__c": "invoiced"}, names).changes() == {"status": "invoiced"}
    assert DealMilestones.named({"Payment_Status__c": None}, names).changes() == {"payment": None}  # a clear
    with pytest.raises(ValueError, match="Stage__c"):
        DealMilestones.named({"Q2C_Status__c": "x", "Stage__c": "y"}, names)


def test_a_crm_record_holds_the_milestones_it_has_values_for():
    record = {"Id": "006", "Q2C_Status__c": "completed", "Payment_Status__c": "", "Other__c": "x"}
    held = DealMilestones.held(record, {"Q2C_Status__c": "status", "Payment_Status__c": "payment"})
    assert held.changes() == {"status": "completed"}
