"""Step inputs and outputs for the contract's sagas, and how billing reports a subscription's items and period."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, Field

from models.catalog import BillingFrequency
from models.contract import CancelContract, ChangeRequest, Contract, ContractLine, ContractPolicy
from models.money import Money
from models.proration import Period
from models.steps import StepInput, StepOutput

Proration = Literal["always_invoice", "create_prorations", "none"]


class BilledItem(BaseModel):
    """One subscription item as billing holds it."""

    item_id: str
    price_id: str
    sku: str | None = Field(default=None, description="from the price's lookup key, when it has one")
    quantity: int = Field(ge=0)
    unit_amount: Money
    frequency: BillingFrequency


class SubscriptionDetail(BaseModel):
    """A subscription's items and current period: what a proration is computed against."""

    id: str
    status: str
    items: list[BilledItem]
    period: Period
    cancel_at_period_end: bool = False
    schedule_id: str | None = None


class ItemChange(BaseModel):
    """Set one item's quantity (0 removes it), or add a price as a new item (`item_id` None)."""

    item_id: str | None = None
    price_id: str
    quantity: int = Field(ge=0)


class ItemsChanged(BaseModel):
    """What billing did: the items now, the proration it invoiced or queued, and the period it used."""

    subscription: SubscriptionDetail
    invoice_id: str | None = None
    proration_total: Money
    item_ids: dict[str, str] = Field(default_factory=dict, description="price id -> item id, new items included")


# ---- step inputs and outputs (one model each, so fields can be added later) ----


class ReadSubscription(StepInput):
    subscription_id: str


class SubscriptionRead(StepOutput):
    subscription: SubscriptionDetail


class ChangeItems(StepInput):
    subscription_id: str
    changes: list[ItemChange]
    proration: Proration
    proration_date: int = Field(description="Unix second the change takes effect: the workflow's now")


class ItemsChangedOutput(StepOutput):
    changed: ItemsChanged


class ChangeOrder(StepInput):
    """An ERP sales order for a change: one line per SKU, priced at the prorated amount."""

    erp_customer_id: str
    order_date: date
    currency: str
    lines: list[ContractLine] = Field(description="quantity 1 at the line's prorated amount, or whole lines")
    erp_items: dict[str, str]
    return_order_if_owed: bool = Field(
        default=False, description="a total below zero is a return order (unset by sagas older than that)"
    )


class ChangeOrderCreated(StepOutput):
    """`return_order`: the change owes the customer (its total is negative), so the ERP holds it as a return order
    whose id and number these are; `total` keeps the change's sign."""

    order_id: str
    order_number: str
    total: Money
    return_order: bool = False


class EndOfTerm(StepInput):
    subscription_id: str
    cancel_at_period_end: bool = True


class RenewalPrices(StepInput):
    """From `start` on, the subscription bills these prices (a new term, its uplift applied)."""

    subscription_id: str
    start: int
    items: list[ItemChange]
    unit_amounts: dict[str, Money] = Field(description="price id -> the new term's unit amount")


class RenewalScheduled(StepOutput):
    schedule_id: str


class RenewalDeal(StepInput):
    company_id: str
    name: str
    close_date: date
    lines: list[ContractLine]
    contract_id: str


class DealOpened(StepOutput):
    deal_id: str


class Cancellation(BaseModel):
    """A subscription cancelled now: its items and period as they were, the second billing cancelled at, and
    the unused time it credited (negative; zero without a refund), which the ERP's credit must match."""

    subscription: SubscriptionDetail
    at: int = Field(description="the Unix second billing cancelled at: the credit runs from it to the period end")
    credit: Money
    credits: dict[str, Money] = Field(default_factory=dict, description="item id -> its unused time credited")
    invoice_id: str | None = Field(default=None, description="the final invoice that carried the credit")


class CancelNow(StepInput):
    """Cancel now; `refund`: credit the unused time (Stripe: prorate, and a final invoice at once)."""

    subscription_id: str
    refund: bool
    reason: str = ""


class Cancelled(StepOutput):
    cancellation: Cancellation


class AmendmentInput(BaseModel):
    """The change saga's input: the contract as it stands, the change, and the region's policy."""

    contract: Contract
    action: Literal["amend", "renew", "cancel"] = "amend"
    request: ChangeRequest | None = Field(default=None, description="the deal behind it, if a deal asked")
    cancel: CancelContract | None = None
    policy: ContractPolicy
    at: datetime = Field(description="when the change takes effect: the entity's now when it starts the change")
    erp_task_queue: str | None = None


class AmendmentResult(BaseModel):
    """How the change ended; on success the contract as it is now, with what each system was charged."""

    workflow_id: str
    stage: str
    contract: Contract | None = None
    billing_amount: Money | None = None
    erp_amount: Money | None = None
    erp_order_id: str | None = None
    erp_return_order_id: str | None = None
    error: str | None = None
