"""The customer's contract after the first sale: its term, lines and the record of every change to it.

One `Contract` entity workflow per customer holds this (id `q2c-contract-<crm>-<company id>`); amendments,
renewals and cancellations are sagas against it, applied one at a time in the order they were accepted.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, Field

from models.catalog import BillingFrequency
from models.common import Region
from models.deal import Deal, DealKind
from models.money import Currency, Money
from models.party import Customer

CONTRACT_WORKFLOW = "Contract"
AMENDMENT_WORKFLOW = "ContractAmendment"


def contract_id(crm: str, company_id: str) -> str:
    """`q2c-contract-<crm>-<company id>`: one contract entity per customer."""
    return f"q2c-contract-{crm}-{company_id}"


def crm_of_contract(workflow_id: str) -> str | None:
    """The CRM a contract id names (`q2c-contract-<crm>-...`; CRM names hold no dash), None for another id."""
    prefix, _, rest = workflow_id.partition("q2c-contract-")
    crm = rest.split("-", 1)[0]
    return crm if not prefix and rest and crm else None


class ContractState(StrEnum):
    ACTIVE = "active"
    ENDING = "ending"  # will end at term end (not renewed, or cancelled at term end)
    ENDED = "ended"
    CANCELLED = "cancelled"


class ContractLine(BaseModel):
    """What the customer has of one SKU, and where billing holds it."""

    sku: str
    quantity: int = Field(ge=0)
    unit_price: Money
    frequency: BillingFrequency
    subscription_id: str | None = None
    item_id: str | None = Field(default=None, description="the billing system's subscription item")
    price_id: str | None = None


class ContractPolicy(BaseModel):
    """Per-region rules for the contract's life, from configuration, carried in the entity's input."""

    renewal_notice_days: int = Field(default=90, ge=0, description="open the renewal deal this long before term end")
    uplift: Decimal = Field(default=Decimal(0), ge=0, description="price increase at renewal, 0.05 = 5 %")
    evergreen: bool = Field(default=False, description="an unrenewed contract renews by itself instead of ending")
    expansion_proration: Literal["always_invoice", "create_prorations"] = "always_invoice"
    contraction_refund: bool = Field(default=False, description="credit the unused time when seats go down")
    cancel_refund: bool = Field(default=False, description="credit the unused time on a cancellation now")


class NewSale(BaseModel):
    """What QuoteToCash hands the contract entity when a new-business saga completes."""

    saga_id: str
    crm: str
    deal: Deal
    customer: Customer
    region: Region | None = None
    erp_customer_id: str
    order_id: str
    term_start: date
    term_end: date | None
    tier: str
    subscriptions: list[str] = Field(default_factory=list)
    lines: list[ContractLine] = Field(
        default_factory=list, description="the recurring lines as subscribed; empty: the contract reads billing"
    )
    correlation_id: str


class ChangeRequest(BaseModel):
    """A deal for an existing customer (expansion, contraction, renewal, cancellation), queued on its contract."""

    kind: DealKind
    deal: Deal
    saga_id: str = Field(description="the QuoteToCash saga that read the deal")
    correlation_id: str
    requested_by: str = "crm"


class CancelContract(BaseModel):
    """`q2c contract cancel`: end the contract at term end, or now (with the region's refund rule)."""

    at: Literal["term_end", "now"] = "term_end"
    requested_by: str = Field(min_length=1)
    reason: str = ""


class ChangeRecord(BaseModel):
    """One change as the `history` query shows it: who, when, from which deal, what it did to money."""

    kind: str
    deal_id: str | None = None
    requested_by: str
    correlation_id: str
    accepted_at: datetime
    applied_at: datetime | None = None
    outcome: Literal["queued", "applying", "applied", "compensated", "refused", "parked"] = "queued"
    detail: str = ""
    saga_id: str | None = None
    billing_amount: Money | None = Field(default=None, description="what billing charged (credit if negative)")
    erp_amount: Money | None = Field(default=None, description="the ERP's total: an order's, or minus a return order's")
    erp_order_id: str | None = None
    erp_return_order_id: str | None = Field(default=None, description="where the change owed the customer")


class Contract(BaseModel):
    """What the `contract` query answers: what the customer has, across systems, now."""

    contract_id: str
    crm: str
    customer: Customer
    region: Region | None = None
    currency: Currency
    state: ContractState = ContractState.ACTIVE
    term_start: date
    term_end: date
    terms: int = Field(default=1, description="the term this is: 1 for the first, 2 after one renewal, ...")
    lines: list[ContractLine]
    erp_customer_id: str
    erp_orders: list[str] = Field(default_factory=list)
    erp_return_orders: list[str] = Field(default_factory=list, description="what was owed back: refunds, contractions")
    tier: str
    support_end: date | None = None
    renewal_deal_id: str | None = None
    ends_on: date | None = Field(default=None, description="the day service ends, once it is decided")

    def add_erp_order(self, order_id: str, return_order: bool) -> None:
        (self.erp_return_orders if return_order else self.erp_orders).append(order_id)

    def line(self, sku: str) -> ContractLine | None:
        return next((line for line in self.lines if line.sku == sku), None)

    @property
    def recurring_total(self) -> Money:
        total = Money.zero(self.currency)
        for line in self.lines:
            total = total + line.unit_price * line.quantity
        return total


class ContractStatus(BaseModel):
    """What the `status` query answers: where the entity is, and what waits behind the change being applied."""

    contract_id: str
    state: ContractState
    applying: str | None = Field(default=None, description="the change being applied (its deal or request)")
    waiting: list[str] = Field(default_factory=list, description="changes accepted, in the order they will run")
    parked: list[str] = Field(default_factory=list, description="changes that did not fit, with the reason")
    next_timer: str | None = None


class ContractInput(BaseModel):
    """The entity's input: the first sale, or (continued as new) the contract and its history so far."""

    sale: NewSale | None = None
    contract: Contract | None = None
    history: list[ChangeRecord] = Field(default_factory=list)
    pending: list[ChangeRequest | CancelContract] = Field(default_factory=list)
    policy: ContractPolicy = Field(default_factory=ContractPolicy)
    policies: dict[Region, ContractPolicy] = Field(default_factory=dict)
    erp_task_queue: str | None = None
    changes_before_continue: int = Field(default=50, gt=0, description="continue as new after this many changes")

    def policy_for(self, region: Region | None) -> ContractPolicy:
        return self.policies.get(region, self.policy) if region else self.policy
