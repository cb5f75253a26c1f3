from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from models.money import ISO_4217, CurrencyMismatch, Money, total

amounts = st.decimals(
    min_value=Decimal("-1e9"), max_value=Decimal("1e9"), allow_nan=False, allow_infinity=False, places=4
)
currencies = st.sampled_from(sorted(ISO_4217))


@given(amounts, amounts, amounts, currencies)
def test_addition_is_exact_commutative_and_associative(a, b, c, currency):
    x, y, z = (Money(amount=v, currency=currency) for v in (a, b, c))
    assert x + y == y + x
    assert (x + y) + z == x + (y + z)
    assert (x + y - y).amount == a


@given(st.integers(min_value=-(10**12), max_value=10**12), currencies)
def test_minor_units_round_trip(minor, currency):
    assert Money.from_minor_units(minor, currency).to_minor_units() == minor


@given(st.lists(amounts, max_size=20), st.integers(min_value=1, max_value=1000))
def test_total_of_quantities_matches_decimal_arithmetic(values, quantity):
    lines = [Money(amount=v, currency="EUR") * quantity for v in values]
    assert total(lines, "EUR").amount == sum((v * quantity for v in values), Decimal(0))


def test_minor_units_follow_the_currency_exponent():
    assert Money(amount=Decimal("12.345"), currency="USD").to_minor_units() == 1234  # half-even
    assert Money(amount=Decimal("1200"), currency="JPY").to_minor_units() == 1200
    assert Money(amount=Decimal("1.234"), currency="KWD").to_minor_units() == 1234


def test_float_is_refused_with_a_clear_message():
    with pytest.raises(ValidationError, match="never float"):
        Money(amount=0.1, currency="USD")


def test_unknown_currency_names_the_code():
    with pytest.raises(ValidationError, match="'XYZ' is not an ISO 4217 currency code"):
        Money(amount=Decimal(1), currency="XYZ")


def test_lower_case_currency_is_normalised():
    assert Money(amount=Decimal(1), currency="eur").currency == "EUR"


def test_mixing_currencies_is_refused():
    with pytest.raises(CurrencyMismatch, match="USD with EUR"):
        _ = Money(amount=Decimal(1), currency="USD") + Money(amount=Decimal(1), currency="EUR")


def test_money_serialises_without_float():
    assert Money(amount=Decimal("0.10"), currency="USD").model_dump(mode="json") == {
        "amount": "0.10",
        "currency": "USD",
    }
