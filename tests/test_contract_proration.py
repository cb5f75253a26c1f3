"""The proration rule: q2c's (models/proration.py, which prices the ERP change order) and the Stripe simulator's
agree to the minor unit on any change, and the rule holds Stripe's documented shape (by the second)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from models.money import Money
from models.proration import Period, prorated_minor, proration_lines
from simulators.stripe.amendments import prorated as stripe_prorated

YEAR = 365 * 86400


@given(
    unit=st.integers(min_value=1, max_value=10_000_000),
    before=st.integers(min_value=0, max_value=500),
    after=st.integers(min_value=0, max_value=500),
    length=st.integers(min_value=1, max_value=YEAR),
    share=st.floats(min_value=0, max_value=1),
    currency=st.sampled_from(["USD", "JPY", "KWD"]),
)
def test_erp_and_billing_prorate_to_the_same_minor_unit(unit, before, after, length, share, currency):
    start = 1_800_000_000
    period, at = Period(start=start, end=start + length), start + int(length * share)
    lines = proration_lines("PLAT-PRO", Money.from_minor_units(unit, currency), before, after, period, at)
    ours = sum(line.amount.to_minor_units() for line in lines)
    theirs = -stripe_prorated(unit, before, start, period.end, at) + stripe_prorated(unit, after, start, period.end, at)
    assert ours == theirs


def test_half_a_period_of_a_plan_doubled_is_half_its_price():
    period = Period(start=0, end=30 * 86400)
    lines = proration_lines("PLAT-TEAM", Money(amount=Decimal("10.00"), currency="USD"), 1, 2, period, 15 * 86400)
    assert [line.amount.amount for line in lines] == [Decimal("-5.00"), Decimal("10.00")]  # Stripe's own example


def test_an_exact_half_rounds_away_from_zero_however_long_the_share():
    """Found by the property above: the share 61,398/463,896 does not end, the amount is exactly ...274.5."""
    period = Period(start=0, end=463_896)
    assert prorated_minor(7_269_234, 261, period, 402_498) == 251_109_275
    assert stripe_prorated(7_269_234, 261, 0, 463_896, 402_498) == 251_109_275


def test_by_the_second_and_halves_away_from_zero():
    period = Period(start=0, end=3)
    assert prorated_minor(1, 1, period, 1) == 1  # 2/3 of a cent rounds up
    assert prorated_minor(1, 1, period, 2) == 0  # 1/3 of a cent rounds down
    assert prorated_minor(3, 1, Period(start=0, end=2), 1) == 2  # 1.5 cents: half away from zero


def test_a_proration_date_outside_the_period_is_refused():
    with pytest.raises(ValueError, match="outside the period"):
        Period(start=10, end=20).fraction_left(21)
