"""The part of a Stripe webhook event q2c reads: the invoice and the saga its subscription belongs to."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, Field

HANDLED = frozenset({"invoice.finalized", "invoice.paid", "invoice.payment_failed"})


class StripeInvoice(BaseModel):
    id: str = Field(min_length=1)
    currency: str = Field(min_length=3, max_length=3)
    amount_paid: int = 0
    metadata: dict[str, str] = Field(default_factory=dict)
    subscription_details: dict[str, Any] | None = None

    @property
    def q2c_workflow_id(self) -> str | None:
        """Subscription invoices carry their subscription's metadata; one-off invoices their own."""
        details = (self.subscription_details or {}).get("metadata") or {}
        return details.get("q2c_workflow_id") or self.metadata.get("q2c_workflow_id")


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
