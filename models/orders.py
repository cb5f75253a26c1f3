"""What the ERP and billing system hold: orders, invoices, subscriptions, payments."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from pydantic import BaseModel, Field

from models.catalog import BillingFrequency
from models.money import Amount, Money


class OrderStatus(StrEnum):
    PENDING_APPROVAL = "pending_approval"
    PENDING_FULFILLMENT = "pending_fulfillment"
    BILLED = "billed"
    CLOSED = "closed"
    CANCELLED = "cancelled"


class OrderLine(BaseModel):
    sku: str
    item_id: str | None = None
    quantity: Amount = Field(gt=0)
    rate: Money

    @property
    def amount(self) -> Money:
        return self.rate * self.quantity


class ErpOrder(BaseModel):
    """An order the ERP records and posts nothing for: a sale, or what goes back."""

    id: str | None = Field(default=None, description="ERP internal id")
    number: str | None = Field(default=None, description="ERP document number shown to people")
    external_id: str
    customer_id: str = Field(description="ERP customer internal id")
    order_date: date
    currency: str
    lines: list[OrderLine]
    status: OrderStatus = OrderStatus.PENDING_FULFILLMENT
    total: Money | None = None


class SalesOrder(ErpOrder):
    """What the customer bought, as the ERP's order holds it (one-time lines are invoiced from it)."""


class ReturnOrder(ErpOrder):
    """What the business owes a customer back (unused time, a contraction), recorded as the ERP records a sale
    (NetSuite: a return authorization), its lines what goes back, so positive. An ERP keeps no sales order with a
    negative total ("The total cannot be negative"), and a credit memo would post a credit the ERP never billed:
    the recurring charges it reverses were billed by the billing system."""


class InvoiceStatus(StrEnum):
    DRAFT = "draft"
    OPEN = "open"
    PAID = "paid"
    UNCOLLECTIBLE = "uncollectible"
    VOID = "void"
    CREDITED = "credited"


class Invoice(BaseModel):
    id: str
    system: str = Field(description="erp or billing")
    number: str | None = None
    external_id: str | None = None
    status: InvoiceStatus
    total: Money
    due_date: date | None = None


class SubscriptionStatus(StrEnum):
    INCOMPLETE = "incomplete"
    ACTIVE = "active"
    PAST_DUE = "past_due"
    CANCELED = "canceled"
    TRIALING = "trialing"
    UNPAID = "unpaid"


class SubscriptionItem(BaseModel):
    price_id: str
    quantity: int = Field(gt=0)


class Subscription(BaseModel):
    id: str
    customer_id: str = Field(description="billing customer id")
    status: SubscriptionStatus
    frequency: BillingFrequency
    items: list[SubscriptionItem]
    latest_invoice: Invoice | None = None
    metadata: dict[str, str] = Field(default_factory=dict)


class Payment(BaseModel):
    id: str
    invoice_id: str
    amount: Money
    received_at: datetime
