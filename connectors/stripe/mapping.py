"""Stripe records to and from canonical models: every field name of the vendor's, in one place."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from connectors.stripe import fields
from models.catalog import BillingFrequency, Price
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
    """Amounts are integer minor units; a missing or retyped field q2c reads is SchemaDrift (fields.py)."""
    due = fields.integer(record, "invoice", "due_date", nullable=True)
    return Invoice(
        id=fields.required_text(record, "invoice", "id"),
        system="billing",
        number=fields.text(record, "invoice", "number", nullable=True),
        status=fields.choice(record, "invoice", "status", InvoiceStatus),
        total=fields.money(record, "invoice", "total"),
        due_date=datetime.fromtimestamp(due, UTC).date() if due is not None else None,
    )


def price_from_stripe(record: dict[str, Any]) -> Price:
    recurring = record.get("recurring") or {}
    return Price(
        id=fields.required_text(record, "price", "id"),
        unit_amount=fields.money(record, "price", "unit_amount"),
        frequency=_INTERVAL.get(recurring.get("interval", ""), BillingFrequency.ONE_TIME),
    )


IN_FLIGHT_WAITS = (0.05, 0.1, 0.2, 0.4, 0.8)  # seconds: a customer create takes milliseconds
