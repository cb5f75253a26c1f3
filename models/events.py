"""Versioned event contracts. A breaking change gets a new version, never an edit in place."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from models.money import Money


class Event(BaseModel):
    model_config = ConfigDict(extra="forbid")

    event_id: str = Field(min_length=1, description="unique per event; consumers dedupe on it")
    occurred_at: datetime
    correlation_id: str = Field(min_length=1)
    deal_id: str = Field(min_length=1)
    source: str = Field(description="crm name, e.g. hubspot")


class DealClosedWonV1(Event):
    event_type: Literal["deal.closed_won"] = "deal.closed_won"
    version: Literal[1] = 1
    amount: Money | None = None


class OrderAcceptedV1(Event):
    event_type: Literal["order.accepted"] = "order.accepted"
    version: Literal[1] = 1
    order_id: str
    order_number: str
    customer_id: str
    total: Money


class InvoicePostedV1(Event):
    event_type: Literal["invoice.posted"] = "invoice.posted"
    version: Literal[1] = 1
    invoice_id: str
    system: str
    total: Money
    due_date: date | None = None


class PaymentReceivedV1(Event):
    event_type: Literal["payment.received"] = "payment.received"
    version: Literal[1] = 1
    invoice_id: str
    amount: Money


class EntitlementProvisionedV1(Event):
    event_type: Literal["entitlement.provisioned"] = "entitlement.provisioned"
    version: Literal[1] = 1
    organization_id: str
    tier: str
    start: date
    end: date | None = None


CONTRACTS: dict[str, type[Event]] = {
    "deal.closed_won.v1": DealClosedWonV1,
    "order.accepted.v1": OrderAcceptedV1,
    "invoice.posted.v1": InvoicePostedV1,
    "payment.received.v1": PaymentReceivedV1,
    "entitlement.provisioned.v1": EntitlementProvisionedV1,
}
