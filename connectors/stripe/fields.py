"""Reading the Stripe fields q2c needs, strictly: a field missing or of another type is SchemaDrift, not a KeyError.

Fields Stripe adds are ignored; only what q2c reads is checked, and the error names the object and the field.
Amounts are integers in the currency's minor unit (cents, or yen for zero-decimal JPY): they become exact
Money by the currency's ISO 4217 exponent, never through a float.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import Enum
from typing import Any, TypeVar

from connectors.errors import SchemaDrift
from models.money import ISO_4217, Money

SYSTEM = "stripe"
E = TypeVar("E", bound=Enum)
_MISSING = object()


def _lookup(record: Mapping[str, Any], obj: str, field: str) -> Any:
    value: Any = record
    for part in field.split("."):
        if not isinstance(value, Mapping):
            raise SchemaDrift(SYSTEM, obj, field, f"expected an object at {part!r}, got {type(value).__name__}")
        value = value.get(part, _MISSING)
        if value is _MISSING:
            return _MISSING
    return value


def text(record: Mapping[str, Any], obj: str, field: str, *, nullable: bool = False) -> str | None:
    value = _lookup(record, obj, field)
    if value is _MISSING:
        raise SchemaDrift(SYSTEM, obj, field, "missing")
    if value is None and nullable:
        return None
    if not isinstance(value, str):
        raise SchemaDrift(SYSTEM, obj, field, f"expected a string, got {type(value).__name__}")
    return value


def required_text(record: Mapping[str, Any], obj: str, field: str) -> str:
    value = text(record, obj, field)
    assert value is not None
    return value


def integer(record: Mapping[str, Any], obj: str, field: str, *, nullable: bool = False) -> int | None:
    value = _lookup(record, obj, field)
    if value is _MISSING:
        raise SchemaDrift(SYSTEM, obj, field, "missing")
    if value is None and nullable:
        return None
    if isinstance(value, bool) or not isinstance(value, int):  # 12.5 (a Decimal from parse_float) is not minor units
        raise SchemaDrift(SYSTEM, obj, field, f"expected an integer, got {type(value).__name__} {value!r}")
    return value


def listed(record: Mapping[str, Any], obj: str, field: str) -> list[Any]:
    value = _lookup(record, obj, field)
    if not isinstance(value, list):
        raise SchemaDrift(SYSTEM, obj, field, "missing" if value is _MISSING else f"expected a list, got {value!r}")
    return value


def choice(record: Mapping[str, Any], obj: str, field: str, kind: type[E]) -> E:
    value = required_text(record, obj, field)
    try:
        return kind(value)
    except ValueError:
        allowed = ", ".join(str(m.value) for m in kind)
        raise SchemaDrift(SYSTEM, obj, field, f"unexpected value {value!r} (q2c knows {allowed})") from None


def currency(record: Mapping[str, Any], obj: str, field: str = "currency") -> str:
    code = required_text(record, obj, field).upper()
    if code not in ISO_4217:
        raise SchemaDrift(SYSTEM, obj, field, f"{code!r} is not an ISO 4217 currency")
    return code


def money(record: Mapping[str, Any], obj: str, field: str, currency_field: str = "currency") -> Money:
    minor = integer(record, obj, field)
    assert minor is not None
    return Money.from_minor_units(minor, currency(record, obj, currency_field))


def minor_units(amount: Money) -> int:
    """Money -> Stripe's integer amount; refuses a fraction of the minor unit instead of rounding it away."""
    exponent = ISO_4217[amount.currency]
    scaled = amount.amount.scaleb(exponent)
    if scaled != scaled.to_integral_value():
        raise ValueError(
            f"{amount.amount} {amount.currency} has more than {exponent} decimals: Stripe takes minor units"
        )
    return int(scaled.to_integral_value())
