"""Configuration picks the adapter per role; saga ids carry the CRM's name and any deal id it uses."""

from __future__ import annotations

import pytest

from connectors.registry import Roles, make_adapter, webhooks_for
from models.saga import SagaInput, deal_of, parse_saga_id, saga_id
from ports import Billing, Crm, Erp, Support


def test_roles_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("Q2C_CRM", "salesforce")
    assert Roles().crm == "salesforce" and Roles().erp == "netsuite"


def test_an_unknown_adapter_name_is_refused_naming_the_setting_and_the_known_ones():
    with pytest.raises(ValueError, match=r"Q2C_ERP='sap' is not an adapter for erp; known: netsuite"):
        make_adapter("erp", "sap")


async def test_the_configured_adapters_implement_their_ports():
    for role, port in (("crm", Crm), ("erp", Erp), ("billing", Billing), ("support", Support)):
        async with make_adapter(role, getattr(Roles(), role), simulators="http://127.0.0.1:9") as adapter:
            assert isinstance(adapter, port) and adapter.name == getattr(Roles(), role)


def test_only_the_configured_vendors_webhooks_are_served():
    assert sorted(webhooks_for(Roles())) == ["billing", "crm", "support"]
    assert webhooks_for(Roles(crm="salesforce"))["crm"].NAME == "salesforce"


@pytest.mark.parametrize(
    ("workflow_id", "parsed"),
    [
        ("q2c-hubspot-1234", ("hubspot", "1234")),
        ("q2c-salesforce-0065g00000AbCdEAAZ", ("salesforce", "0065g00000AbCdEAAZ")),
        ("q2c-customer-1234", None),  # a CustomerSync entity, not a saga
        ("q2c-event-billing-evt_1", None),
        ("q2c-hubspot-12:create_order", None),  # an idempotency key, not a saga id
        ("q2c-Hubspot-12", None),
        ("hubspot-12", None),
        (None, None),
    ],
)
def test_saga_ids_parse_back_into_crm_and_deal(workflow_id, parsed):
    assert parse_saga_id(workflow_id) == parsed
    assert deal_of(workflow_id) == (parsed[1] if parsed else None)


def test_a_saga_of_another_crm_is_not_this_crms_deal():
    assert deal_of(saga_id("salesforce", "0065g00000AbCdEAAZ"), crm="hubspot") is None
    assert deal_of(saga_id("salesforce", "0065g00000AbCdEAAZ"), crm="salesforce") == "0065g00000AbCdEAAZ"


def test_a_saga_input_takes_any_crm_name_but_not_a_malformed_one():
    saga = SagaInput(deal_id="0065g00000AbCdEAAZ", crm="salesforce", correlation_id="c", triggered_by="test")
    assert saga.workflow_id == "q2c-salesforce-0065g00000AbCdEAAZ"
    with pytest.raises(ValueError, match="crm"):
        SagaInput(deal_id="1", crm="Sales Force", correlation_id="c", triggered_by="test")
