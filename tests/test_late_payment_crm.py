"""A payment after a Salesforce saga has ended goes to the Salesforce opportunity, not the default CRM."""

from __future__ import annotations

from typing import Any

from activities.crm import CrmActivities
from models.steps import RecordPayment
from workflows.billing_events import crm_of


class Named:
    def __init__(self, name: str) -> None:
        self.name = name


def test_the_late_events_saga_names_its_crm():
    assert crm_of("q2c-salesforce-0065g00000AbCdEAAZ") == "salesforce"
    assert crm_of("q2c-hubspot-1234") == "hubspot"
    assert crm_of(None) is None and crm_of("q2c-event-billing-evt_1") is None


def test_the_payment_step_is_routed_to_that_crm_whatever_the_default():
    crms: dict[str, Any] = {"hubspot": Named("hubspot"), "salesforce": Named("salesforce")}
    activities = CrmActivities(crms["hubspot"], crms=crms)
    step = RecordPayment(deal_id="0065g00000AbCdEAAZ", status="paid", crm=crm_of("q2c-salesforce-0065g00000AbCdEAAZ"))
    assert activities.crm_for(step).name == "salesforce"
    assert activities.crm_for(RecordPayment(deal_id="1", status="paid")).name == "hubspot"
