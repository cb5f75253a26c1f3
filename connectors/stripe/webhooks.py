"""Stripe's webhooks: signed events; q2c reads invoice events and the saga their subscription belongs to."""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, Field, SecretStr

from connectors.settings import StripeSettings
from connectors.stripe.mapping import SAGA_TAG
from models.money import Money
from models.notices import IgnoredEvent
from models.saga import BillingEvent
from models.signatures import SignatureError

NAME = "stripe"
SIGNATURE = "Stripe-Signature"
SIGNATURE_HEADERS = (SIGNATURE,)
TOLERANCE_S = 300
HANDLED = frozenset({"invoice.finalized", "invoice.paid", "invoice.payment_failed"})


def signing_secret() -> SecretStr:
    """The endpoint's signing secret (`Q2C_STRIPE_WEBHOOK_SECRET`), from the connector's settings."""
    return StripeSettings().webhook_secret


class StripeInvoice(BaseModel):
    id: str = Field(min_length=1)
    currency: str = Field(min_length=3, max_length=3)
    amount_paid: int = 0
    metadata: dict[str, str] = Field(default_factory=dict)
    subscription_details: dict[str, Any] | None = None

    @property
    def saga_id(self) -> str | None:
        """Subscription invoices carry their subscription's metadata; one-off invoices their own."""
        details = (self.subscription_details or {}).get("metadata") or {}
        return details.get(SAGA_TAG) or self.metadata.get(SAGA_TAG)


class StripeEventData(BaseModel):
    object: StripeInvoice


class StripeEventHeader(BaseModel):
    """Every event has these; only the types q2c handles are read further."""

    id: str = Field(min_length=1)
    type: str
    created: int = Field(description="unix seconds")


class StripeEvent(StripeEventHeader):
    data: StripeEventData

    @property
    def created_at(self) -> datetime:
        return datetime.fromtimestamp(self.created, UTC)


def sign(secret: str, body: bytes, timestamp: int) -> str:
    """The `Stripe-Signature` header value: t=<unix seconds>,v1=<HMAC-SHA256 of "t." + body, hex>."""
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def verify(secret: str, body: bytes, header: str | None, now: int | None = None) -> None:
    if not header:
        raise SignatureError(f"missing {SIGNATURE}")
    parts = [item.split("=", 1) for item in header.split(",") if "=" in item]
    timestamps = [value for key, value in parts if key == "t"]
    candidates = [value for key, value in parts if key == "v1"]
    if not timestamps or not candidates or not timestamps[0].isdigit():
        raise SignatureError(f"{SIGNATURE} has no t= or v1=")
    timestamp = int(timestamps[0])
    now = int(time.time()) if now is None else now
    if abs(now - timestamp) > TOLERANCE_S:
        raise SignatureError(f"{SIGNATURE} timestamp is outside the 300 s tolerance")
    expected = sign(secret, body, timestamp).split("v1=", 1)[1]
    if not any(hmac.compare_digest(expected, candidate) for candidate in candidates):
        raise SignatureError(f"no v1 signature in {SIGNATURE} matches")


def verify_request(secret: str, method: str, uri: str, body: bytes, headers: Mapping[str, str]) -> None:
    verify(secret, body, headers.get(SIGNATURE.lower()))


def body_schema() -> dict[str, Any]:
    return StripeEvent.model_json_schema()


def billing_event(event: StripeEvent) -> BillingEvent:
    invoice = event.data.object
    return BillingEvent(
        event_id=event.id,
        type=event.type,  # one of HANDLED: BillingEvent validates it
        invoice_id=invoice.id,
        created=event.created_at,
        amount_paid=Money.from_minor_units(invoice.amount_paid, invoice.currency) if invoice.amount_paid else None,
        workflow_id=invoice.saga_id,
    )


def parse(body: bytes) -> BillingEvent | IgnoredEvent:
    """An invoice event q2c handles, or the type it ignores; ValidationError naming a wrong field."""
    header = StripeEventHeader.model_validate_json(body)
    if header.type not in HANDLED:
        return IgnoredEvent(event_id=header.id, type=header.type)
    return billing_event(StripeEvent.model_validate_json(body))
