"""Stripe records to and from canonical models: every field name of the vendor's, in one place."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from connectors.stripe import fields
from models.catalog import BillingFrequency, Price
from models.money import Money
from models.orders import Invoice, InvoiceStatus, SubscriptionStatus
from models.records import BilledSubscription

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

SAGA_TAG, DEAL_TAG = "q2c_workflow_id", "q2c_deal_id"  # subscription metadata keys q2c sets and searches
CUSTOMER_TAG = "q2c_customer_id"  # the customer metadata key ensure_customer sets


def tagged(key: str, value: str) -> str:
    """A search query for records whose metadata has key = value."""
    return f"metadata['{key}']:'{value}'"


def billed_subscription_from_stripe(record: dict[str, Any]) -> BilledSubscription:
    """What a subscription charges each period: every item's unit amount times its quantity."""
    items = record["items"]["data"]
    currency = (items[0]["price"]["currency"] if items else record.get("currency") or "usd").upper()
    minor = sum(int(i["price"]["unit_amount"]) * int(i["quantity"]) for i in items)
    interval = (items[0]["price"].get("recurring") or {}).get("interval", "") if items else ""
    latest = record.get("latest_invoice")
    anchor = record.get("billing_cycle_anchor")
    later = int(anchor) if not latest and isinstance(anchor, int) and anchor > time.time() else None  # a later term
    return BilledSubscription(
        id=record["id"],
        status=SubscriptionStatus(record["status"]),
        frequency=_INTERVAL.get(interval, BillingFrequency.MONTHLY),
        amount=Money.from_minor_units(minor, currency),
        latest_invoice_id=(latest.get("id") if isinstance(latest, dict) else latest) or None,
        saga_id=(record.get("metadata") or {}).get(SAGA_TAG),
        bills_from=later,
    )
