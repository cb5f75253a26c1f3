"""What must hold across the systems once a saga has ended: written once, for reconciliation and audits.

The rules read canonical records (gathered through the ports), never a vendor's JSON.
"""

from __future__ import annotations

from collections import defaultdict

from pydantic import BaseModel, Field

from models.catalog import BillingFrequency
from models.crm import DealState
from models.deal import Deal
from models.money import Money
from models.orders import InvoiceStatus, OrderStatus, SalesOrder
from models.reconcile import Drift, DriftItem, Repair
from models.records import BilledSubscription
from models.saga import Stage
from models.support import EntitlementStatus, SupportOrganization

UNDONE = (Stage.COMPENSATED.value, Stage.CANCELLED.value, Stage.FAILED.value)
FINISHED_ORDER = (OrderStatus.CANCELLED, OrderStatus.CLOSED)
PAYMENT_NEWS = ("paid", "payment_failed", "overdue")


class SagaRecords(BaseModel):
    """Everything the systems hold for one deal's saga, in canonical form."""

    crm: str = Field(description="the CRM adapter's name, for the saga id and a repair's new saga")
    saga_id: str
    deal: Deal
    state: DealState
    orders: list[SalesOrder] = Field(default_factory=list)
    subscriptions: list[BilledSubscription] = Field(default_factory=list)
    organization: SupportOrganization | None = None
    invoiced: bool = Field(default=False, description="an ERP or billing invoice of the saga is posted or paid")
    erp_invoice: InvoiceStatus | None = Field(default=None, description="the saga's one-time lines' ERP invoice")
    credited: bool = Field(default=False, description="that invoice has its credit memo")
    billing_invoices: dict[str, InvoiceStatus | None] = Field(
        default_factory=dict, description="each subscription's latest invoice; None when deleted"
    )

    @property
    def outcome(self) -> str:
        return self.state.milestones.status or ""

    @property
    def live(self) -> list[BilledSubscription]:
        return [s for s in self.subscriptions if s.live]


def drift(records: SagaRecords) -> list[DriftItem]:
    """What reconciliation reports for a deal, and what it can repair."""
    deal, outcome, orders = records.deal, records.outcome, records.orders
    found: list[DriftItem] = []

    def add(kind: Drift, system: str, detail: str, repair: Repair | None = None) -> None:
        found.append(DriftItem(kind=kind, deal_id=deal.id, system=system, detail=detail, repair=repair))

    if not outcome:
        if not orders:
            add(
                Drift.MISSING_SAGA,
                "q2c",
                "closed-won, but no saga has taken it",
                Repair(action="start_saga", ref=deal.id, fields={"crm": records.crm}),
            )
        return found  # a saga without an outcome yet is still running
    if len(orders) > 1:
        add(Drift.DUPLICATE_ORDER, "erp", f"{len(orders)} sales orders: {', '.join(_number(o) for o in orders)}")
    if outcome == Stage.COMPLETED.value:
        if not orders:
            add(Drift.MISSING_ORDER, "erp", f"saga completed, but no sales order {records.saga_id}:create_order")
        for order in orders:
            if order.total != deal.amount:
                add(Drift.AMOUNT_MISMATCH, "erp", f"order {_number(order)} is {order.total}, the deal {deal.amount}")
        found += billing_drift(deal, records.live)
        found += support_drift(records)
    elif outcome in UNDONE:
        for order in orders:
            if order.status not in FINISHED_ORDER:
                add(
                    Drift.LEFT_BEHIND,
                    "erp",
                    f"order {_number(order)} is {order.status.value} after the saga {outcome}",
                    Repair(action="close_order", ref=str(order.id)),
                )
        for subscription in records.live:
            add(
                Drift.LEFT_BEHIND,
                "billing",
                f"subscription {subscription.id} is {subscription.status.value} after the saga {outcome}",
                Repair(action="cancel_subscription", ref=subscription.id),
            )
    return found


def billing_drift(deal: Deal, live: list[BilledSubscription]) -> list[DriftItem]:
    """Each interval's live subscriptions must bill what the deal's recurring lines say."""
    expected: dict[BillingFrequency, Money] = defaultdict(lambda: Money.zero(deal.currency))
    for line in deal.lines_by(recurring=True):
        expected[line.frequency] += line.amount
    billed: dict[BillingFrequency, Money] = defaultdict(lambda: Money.zero(deal.currency))
    for subscription in live:
        billed[subscription.frequency] += subscription.amount
    return [
        DriftItem(
            kind=Drift.AMOUNT_MISMATCH,
            deal_id=deal.id,
            system="billing",
            detail=f"{frequency.value} subscriptions bill {billed[frequency]}, the deal {expected[frequency]}",
        )
        for frequency in sorted(set(expected) | set(billed))
        if billed[frequency] != expected[frequency]
    ]


def support_drift(records: SagaRecords) -> list[DriftItem]:
    """The organization must show the entitlement the deal says, and the deal's latest payment news."""
    org, milestones, deal = records.organization, records.state.milestones, records.deal
    found: list[DriftItem] = []
    expected = EntitlementStatus.PENDING if milestones.entitlement == "pending_payment" else EntitlementStatus.ACTIVE
    held = org.entitlement_status if org else None
    if held is not expected:
        found.append(
            DriftItem(
                kind=Drift.SUPPORT_OUT_OF_DATE,
                deal_id=deal.id,
                system="support",
                detail=f"entitlement is {held.value if held else None}, expected {expected.value}",
                repair=Repair(
                    action="update_support",
                    ref=deal.company.id if deal.company else "",
                    fields={"entitlement_status": expected.value},
                ),
            )
        )
    elif expected is EntitlementStatus.ACTIVE and not records.invoiced:
        found.append(
            DriftItem(
                kind=Drift.ENTITLEMENT_UNBILLED,
                deal_id=deal.id,
                system="support",
                detail="entitled, but no posted or paid invoice in ERP or billing",
            )
        )
    paid = milestones.payment
    if org is not None and paid in PAYMENT_NEWS and org.invoice_status != paid:
        found.append(
            DriftItem(
                kind=Drift.SUPPORT_OUT_OF_DATE,
                deal_id=deal.id,
                system="support",
                detail=f"invoice status is {org.invoice_status}, the deal says {paid}",
                repair=Repair(action="update_support", ref=org.external_id, fields={"invoice_status": paid}),
            )
        )
    return found


def _number(order: SalesOrder) -> str:
    return order.number or str(order.id)
