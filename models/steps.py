"""One input and one output model per saga step: fields can be added later without breaking history."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from pydantic import BaseModel, Field

from models.crm import DealMilestones
from models.customer_sync import Version
from models.deal import Deal
from models.money import Money
from models.orders import Invoice
from models.party import Customer


class StepInput(BaseModel):
    correlation_id: str = ""
    idempotency_key: str = Field(default="", description="workflow id + step: the same on every retry")


class StepOutput(BaseModel):
    attempt: int = 1


class FetchDeal(StepInput):
    deal_id: str


class DealFetched(StepOutput):
    deal: Deal


class ResolveProducts(StepInput):
    skus: list[str]
    recurring_skus: list[str]
    currency: str


class ErpProducts(StepOutput):
    erp_items: dict[str, str] = Field(description="sku -> ERP item id")
    tiers: dict[str, str] = Field(default_factory=dict, description="sku -> support tier it entitles")


class BillingPrices(StepOutput):
    prices: dict[str, str] = Field(description="recurring sku -> billing price id")


class UpsertCustomer(StepInput):
    customer: Customer


class CustomerUpserted(StepOutput):
    erp_customer_id: str


class CheckCredit(StepInput):
    erp_customer_id: str
    order_total: Money
    limit_share: Decimal = Decimal(1)


class CreditChecked(StepOutput):
    allowed: bool
    limit: Money | None
    exposure: Money


class CreateOrder(StepInput):
    erp_customer_id: str
    deal: Deal
    erp_items: dict[str, str]


class OrderCreated(StepOutput):
    order_id: str
    order_number: str
    total: Money


class CloseOrder(StepInput):
    """`return_order`: the change was recorded as a return order (`ChangeOrderCreated.return_order`), cancelled as
    the ERP cancels one."""

    order_id: str
    reason: str
    return_order: bool = False


class UpdateDeal(StepInput):
    deal_id: str
    milestones: DealMilestones | None = None
    crm: str | None = Field(default=None, description="the deal's CRM where the workflow id does not say (contracts)")
    properties: dict[str, str | None] = Field(
        default_factory=dict, description="before ports: milestones in the CRM's own names, from recorded histories"
    )


class InvoiceOrder(StepInput):
    order_id: str
    item_ids: list[str]


class InvoiceCreated(StepOutput):
    invoice: Invoice


class CreditInvoice(StepInput):
    invoice_id: str
    reason: str


class InvoiceRef(StepInput):
    invoice_id: str


class Subscribe(StepInput):
    customer: Customer
    deal_id: str
    items: dict[str, int] = Field(description="billing price id -> quantity")
    term_start: date | None = Field(
        default=None, description="a term that starts after the sale: billing starts then (00:00 UTC), nothing before"
    )


class Subscribed(StepOutput):
    billing_customer_id: str
    subscription_id: str
    invoice: Invoice | None


class CancelSubscription(StepInput):
    subscription_id: str
    invoice_id: str | None
    reason: str


class Provision(StepInput):
    customer: Customer
    tier: str
    start: date
    end: date | None
    erp_customer_id: str | None


class Provisioned(StepOutput):
    organization_id: str


class Revoke(StepInput):
    customer: Customer
    reason: str


class SupportMilestone(StepInput):
    customer: Customer
    fields: dict[str, str | None]


class AwaitErpPayment(StepInput):
    invoice_id: str
    poll_seconds: float


class ErpPaid(StepOutput):
    invoice_id: str
    amount_paid: Money | None = None


class FinanceReview(StepInput):
    customer: Customer
    deal_id: str
    invoice_ids: list[str]
    detail: str


class TicketOpened(StepOutput):
    ticket_id: str


class RecordPayment(StepInput):
    deal_id: str
    status: str = Field(description="posted, payment_failed or paid")
    version: Version | None = Field(default=None, description="the event's place on its source's clock")
    crm: str | None = Field(default=None, description="the CRM holding the deal; None: the saga id's, or the default")


class PaymentRecorded(StepOutput):
    applied: bool
    previous: str | None
    company_id: str | None


class OrganizationFields(StepInput):
    external_id: str
    fields: dict[str, str | None]


class Done(StepOutput):
    result: str = ""
