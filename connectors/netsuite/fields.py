"""The record fields q2c reads, checked before mapping: a missing or retyped one is schema drift.

Fields NetSuite adds change nothing. Amounts must be JSON numbers (read as exact Decimals): a string where
NetSuite sends a number is a retyped field, not something to coerce. A SuiteQL row (`item`) is the other
dialect: lower-case column names, every value a string, a checkbox "T"/"F", a null column left out.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from connectors.errors import SchemaDrift

SYSTEM = "netsuite"
# (dotted path, kind, required) per record type; `item.items[].x` applies to every sublist line
_NEEDS: dict[str, list[tuple[str, str, bool]]] = {
    "salesOrder": [
        ("id", "id", True),
        ("tranDate", "text", True),
        ("currency.id", "id", True),
        ("entity.id", "id", True),
        ("orderStatus.id", "text", True),
        ("total", "number", True),
        ("item.items", "list", True),
        ("item.items[].item.id", "id", True),
        ("item.items[].item.refName", "text", True),
        ("item.items[].quantity", "number", True),
        ("item.items[].rate", "number", True),
    ],
    "invoice": [
        ("id", "id", True),
        ("status.id", "text", True),
        ("currency.id", "id", True),
        ("total", "number", True),
    ],
    "item": [  # a SuiteQL row of the item table, not a REST record
        ("id", "id", True),
        ("externalid", "text", True),
        ("isinactive", "checkbox", False),
        ("custitem_q2c_service_tier", "text", False),
    ],
    "customer": [
        ("id", "id", True),
        ("currency.id", "id", True),
        ("creditLimit", "number", False),
        ("balance", "number", False),
        ("unbilledOrders", "number", False),
    ],
}
_NEEDS["returnAuthorization"] = _NEEDS["salesOrder"]  # NetSuite names a return's fields as an order's
_KINDS: dict[str, tuple[type, ...]] = {
    "text": (str,),
    "id": (str, int),
    "number": (Decimal, int),
    "list": (list,),
    "flag": (bool,),
    "checkbox": (str,),
}
_VALUES: dict[str, set[str]] = {"checkbox": {"T", "F"}}  # SuiteQL answers a checkbox as "T" or "F"


def _walk(value: Any, parts: list[str]) -> list[tuple[str, Any]]:
    """(path, value) for every value a dotted path reaches; `[]` fans out over a list."""
    if not parts:
        return [("", value)]
    head, rest = parts[0], parts[1:]
    many = head.endswith("[]")
    key = head.removesuffix("[]")
    if not isinstance(value, dict) or key not in value:
        return [(key, _MISSING)]
    found = value[key]
    if not many:
        return [(f"{key}.{p}".rstrip("."), v) for p, v in _walk(found, rest)]
    if not isinstance(found, list):
        return [(key, found)]
    return [(f"{key}[{i}].{p}".rstrip("."), v) for i, line in enumerate(found) for p, v in _walk(line, rest)]


_MISSING = object()


def check(record_type: str, record: dict[str, Any]) -> dict[str, Any]:
    """The record, once every field q2c reads from it is present with the JSON type q2c expects."""
    for path, kind, required in _NEEDS.get(record_type, []):
        for where, value in _walk(record, path.split(".")):
            if value is _MISSING or value is None:
                if required:
                    raise SchemaDrift(SYSTEM, record_type, where, "missing (renamed or removed in NetSuite?)")
                continue
            if (isinstance(value, bool) and kind != "flag") or not isinstance(value, _KINDS[kind]):
                raise SchemaDrift(SYSTEM, record_type, where, f"expected a {kind}, got {type(value).__name__}")
            if kind in _VALUES and value not in _VALUES[kind]:
                raise SchemaDrift(SYSTEM, record_type, where, f"expected one of {sorted(_VALUES[kind])}, got {value!r}")
    return record


def amount(record_type: str, record: dict[str, Any], field: str) -> Decimal | None:
    """An optional amount field as an exact Decimal."""
    value = record.get(field)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, Decimal | int):
        raise SchemaDrift(SYSTEM, record_type, field, f"expected a number, got {type(value).__name__}")
    return Decimal(value)
