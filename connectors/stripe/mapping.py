"""Stripe records to and from canonical models: every field name of the vendor's, in one place."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urlencode

from models.catalog import BillingFrequency, Price
from models.money import Money
from models.orders import Invoice, InvoiceStatus

_INTERVAL = {"month": BillingFrequency.MONTHLY, "year": BillingFrequency.ANNUALLY}


def encode_form(params: Mapping[str, Any]) -> str:
    """{"items": [{"price": "p"}], "metadata": {"k": "v"}} -> items[0][price]=p&metadata[k]=v."""
    pairs: list[tuple[str, str]] = []

    def walk(prefix: str, value: Any) -> None:
        if value is None:
            return
        if isinstance(value, Mapping):
            for key, inner in value.items():
                walk(f"{prefix}[{key}]" if prefix else str(key), inner)
        elif isinstance(value, Sequence) and not isinstance(value, str):
            for index, inner in enumerate(value):
                walk(f"{prefix}[{index}]", inner)
        elif isinstance(value, bool):
            pairs.append((prefix, "true" if value else "false"))
        else:
            pairs.append((prefix, str(value)))

    walk("", params)
    return urlencode(pairs)


def lookup_key(sku: str, currency: str) -> str:
    return f"{sku}:{currency}".lower()


def invoice_from_stripe(record: dict[str, Any]) -> Invoice:
    return Invoice(
        id=record["id"],
        system="billing",
        number=record.get("number"),
        status=InvoiceStatus(record["status"]),
        total=Money.from_minor_units(int(record["total"]), record["currency"].upper()),
    )


def price_from_stripe(record: dict[str, Any]) -> Price:
    recurring = record.get("recurring") or {}
    return Price(
        id=record["id"],
        unit_amount=Money.from_minor_units(int(record["unit_amount"]), record["currency"].upper()),
        frequency=_INTERVAL.get(recurring.get("interval", ""), BillingFrequency.ONE_TIME),
    )


IN_FLIGHT_WAITS = (0.05, 0.1, 0.2, 0.4, 0.8)  # seconds: a customer create takes milliseconds
