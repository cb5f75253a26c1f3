from datetime import date
from decimal import Decimal

import pytest
from pydantic import ValidationError

from models.common import LifecycleStage, System
from models.deal import Deal, DealLine
from models.money import Money
from models.ownership import RULES, UnknownAttribute, may_write, owner_of
from models.party import Contact, CreditPosition
from models.support import Entitlement


def line(**overrides):
    fields = {
        "id": "1",
        "sku": "PLAT-PRO",
        "name": "Pro",
        "quantity": Decimal(1),
        "unit_price": Money(amount=Decimal(100), currency="USD"),
    }
    return {**fields, **overrides}


def test_negative_quantity_names_the_field():
    with pytest.raises(ValidationError) as info:
        Deal(id="1", name="d", stage="closedwon", currency="USD", lines=[line(), line(quantity=Decimal(-2))])
    assert info.value.errors()[0]["loc"] == ("lines", 1, "quantity")
    assert "greater than 0" in str(info.value)


def test_mixed_currencies_on_one_deal_are_refused_naming_the_line():
    eur = line(unit_price=Money(amount=Decimal(5), currency="EUR"))
    with pytest.raises(ValidationError, match=r"lines\[1\]\.unit_price\.currency is EUR but the deal is in USD"):
        Deal(id="1", name="d", stage="closedwon", currency="USD", lines=[line(), eur])


def test_unknown_currency_on_a_deal():
    with pytest.raises(ValidationError) as info:
        Deal(id="1", name="d", stage="closedwon", currency="DOGE")
    assert info.value.errors()[0]["loc"] == ("currency",)


def test_missing_field_is_named():
    with pytest.raises(ValidationError) as info:
        DealLine.model_validate(
            {"id": "1", "name": "x", "quantity": "1", "unit_price": {"amount": "1", "currency": "USD"}}
        )
    assert info.value.errors()[0]["loc"] == ("sku",)


def test_bad_email_is_refused():
    with pytest.raises(ValidationError) as info:
        Contact(first_name="a", last_name="b", email="not-an-email")
    assert info.value.errors()[0]["loc"] == ("email",)


def test_deal_problems_explain_why_it_cannot_become_an_order():
    deal = Deal(id="1", name="d", stage="contractsent", currency="USD")
    assert deal.problems() == [
        "the deal's stage is 'contractsent', not 'closedwon'",
        "the deal has no line items",
        "the deal has no associated company",
    ]


def test_deal_amount_sums_lines_exactly():
    deal = Deal(
        id="1",
        name="d",
        stage="closedwon",
        currency="USD",
        lines=[
            line(quantity=Decimal(3), unit_price=Money(amount=Decimal("0.10"), currency="USD")),
            line(unit_price=Money(amount=Decimal("0.20"), currency="USD")),
        ],
    )
    assert deal.amount == Money(amount=Decimal("0.50"), currency="USD")


def test_entitlement_end_before_start_is_refused():
    with pytest.raises(ValidationError, match="before start"):
        Entitlement(customer_id="c", tier="premium", start=date(2026, 2, 1), end=date(2026, 1, 1))


def test_credit_position_compares_exposure_to_limit():
    usd = lambda v: Money(amount=Decimal(v), currency="USD")  # noqa: E731
    position = CreditPosition(customer_id="1", limit=usd(100), balance=usd(60), unbilled_orders=usd(20))
    assert position.allows(usd(20)) and not position.allows(usd("20.01"))
    assert CreditPosition(customer_id="1", limit=None, balance=usd(60), unbilled_orders=usd(0)).allows(usd(10**9))


@pytest.mark.parametrize(
    ("system", "obj", "attribute", "stage", "allowed"),
    [
        (System.CRM, "customer", "billing_address", LifecycleStage.PROSPECT, True),
        (System.CRM, "customer", "billing_address", LifecycleStage.CUSTOMER, False),
        (System.ERP, "customer", "billing_address", LifecycleStage.CUSTOMER, True),
        (System.ERP, "customer", "tax_registration", LifecycleStage.CUSTOMER, True),
        (System.ERP, "customer", "credit_limit", LifecycleStage.CUSTOMER, True),
        (System.SUPPORT, "customer", "support_contact_preferences", LifecycleStage.CUSTOMER, True),
        (System.CRM, "customer", "support_contact_preferences", LifecycleStage.CUSTOMER, False),
        (System.ERP, "order", "total", LifecycleStage.CUSTOMER, True),
        (System.BILLING, "invoice", "payment_status", LifecycleStage.CUSTOMER, True),
        (System.SUPPORT, "entitlement", "status", LifecycleStage.CUSTOMER, True),
        (System.SUPPORT, "entitlement", "tier", LifecycleStage.CUSTOMER, False),
    ],
)
def test_ownership(system, obj, attribute, stage, allowed):
    assert may_write(system, obj, attribute, stage) is allowed


def test_ownership_gap_is_an_error_not_a_silent_yes():
    with pytest.raises(UnknownAttribute, match=r"customer\.favourite_colour"):
        owner_of("customer", "favourite_colour", LifecycleStage.CUSTOMER)


def test_every_customer_attribute_has_exactly_one_owner_per_stage():
    for stage in LifecycleStage:
        owned = [a for r in RULES if r.object == "customer" and r.stage == stage for a in r.attributes]
        assert len(owned) == len(set(owned))
        assert {"billing_address", "tax_registration", "credit_limit"} <= set(owned)
