"""The simulated account's currencies, and how a record names one: a reference by internal id.

A read answers `{"id": "1", "refName": "US Dollar"}`: `refName` is the field's display text, the currency's
name, which each account chooses (https://docs.oracle.com/en/cloud/saas/netsuite/ns-online-help/section_1545142037.html);
the names here are deliberately not ISO codes, so that a client reading the code from `refName` fails here
as it would on many real accounts. A write names the currency by `id`, as Oracle's examples set references
(the simulated currencies have no external ids). A write naming it by `refName` alone is refused: NetSuite's
handling of that is not documented where we looked, and q2c must not rely on it.
"""

from __future__ import annotations

from typing import Any

from simulators.netsuite.errors import NetSuiteError

# internal id, name, ISO code (`symbol`), display symbol; USD is the base currency
CURRENCIES = [
    ("1", "US Dollar", "USD", "$"),
    ("2", "British pound", "GBP", "£"),
    ("3", "Canadian Dollar", "CAD", "$"),
    ("4", "Euro", "EUR", "€"),
    ("5", "Australian Dollar", "AUD", "$"),
    ("6", "Japanese Yen", "JPY", "¥"),
]
CURRENCY_ID = {code: currency_id for currency_id, _, code, _ in CURRENCIES}
_NAME = {currency_id: name for currency_id, name, _, _ in CURRENCIES}
SUBSIDIARY_CURRENCY = {"1": "1", "2": "4", "3": "2"}  # NA: USD, EMEA: EUR, UK: GBP


def reference(code: str) -> dict[str, str]:
    """How a record shows the currency with this ISO code (seeding writes records directly)."""
    currency_id = CURRENCY_ID[code.upper()]
    return {"id": currency_id, "refName": _NAME[currency_id]}


def resolve(value: Any, field: str = "currency") -> dict[str, str]:
    """A written currency reference, as the record will show it; an unknown or unnamed one is refused."""
    if isinstance(value, dict) and "id" in value:
        currency_id = str(value["id"])
    else:  # `refName` alone, or an external id: the simulated currencies have none
        raise NetSuiteError(400, "INVALID_KEY_OR_REF", f"Invalid {field} reference key {value}.", field)
    if currency_id not in _NAME:
        raise NetSuiteError(400, "INVALID_KEY_OR_REF", f"Invalid {field} reference key {currency_id}.", field)
    return {"id": currency_id, "refName": _NAME[currency_id]}
