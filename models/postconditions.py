"""What must hold across the systems once a saga has ended: written once, for reconciliation and audits.

The rules read canonical records (gathered through the ports), never a vendor's JSON.
"""

from __future__ import annotations

from collections import defaultdict

from pydantic import BaseModel, Field

from models.catalog import BillingFrequency
from models.common import LifecycleStage, System
from models.contract import Contract, ContractState
from models.crm import DealState
from models.deal import Deal, DealKind
from models.money import Money
from models.orders import InvoiceStatus, OrderStatus, SalesOrder, SubscriptionStatus
from models.ownership import owner_of
from models.reconcile import Drift, DriftItem, Repair
from models.records import BilledSubscription
from models.saga import Stage
from models.support import EntitlementStatus, SupportOrganization

UNDONE = (Stage.COMPENSATED.value, Stage.CANCELLED.value, Stage.FAILED.value)
FINISHED_ORDER = (OrderStatus.CANCELLED, OrderStatus.CLOSED)
PAYMENT_NEWS = ("paid", "payment_failed", "overdue")
ACTIVE, CANCELED = SubscriptionStatus.ACTIVE, SubscriptionStatus.CANCELED


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
    billing_invoices: dict[str, InvoiceStatus | None] = Field(
        default_factory=dict, description="each subscription's latest invoice; None when deleted"
    )
    billing_customers: list[str] = Field(default_factory=list, description="made for the deal's company")
    master_data: dict[str, dict[System, str | None]] = Field(
        default_factory=dict, description="attribute -> system -> the value it holds for the deal's customer"
    )
    contract_id: str | None = Field(default=None, description="the customer's Contract entity, when there is one")
    contract: Contract | None = Field(default=None, description="its `contract` query (None until it has opened)")
    saga_running: bool = Field(default=False, description="the deal's saga runs, before its first milestone")

    @property
    def outcome(self) -> str:
        return self.state.milestones.status or ""

    @property
    def live(self) -> list[BilledSubscription]:
        return [s for s in self.subscriptions if s.live]


def drift(records: SagaRecords) -> list[DriftItem]:
    """What reconciliation reports for a deal, and what it can repair; each item names the deal's CRM."""
    found = saga_drift(records) + master_data_drift(records)
    for item in found:
        item.crm = records.crm
    return found


def saga_drift(records: SagaRecords) -> list[DriftItem]:
    """What the saga's records say went wrong.

    Where the deal's customer has a contract (`records.contract_id`), billing is the contract's, not the deal's:
    an expansion, contraction or renewal since the sale changed the subscription's quantities and prices, so the
    sale's billing post-condition (`billing_drift`) no longer holds and is not checked; the customer's billing is
    compared with the contract instead (models.reconcile_contracts, `contract_mismatch`). A deal that changed the
    contract (any kind but new business) made no order, subscription or entitlement of its own: its records are
    the contract's, checked there. Once the contract has ended or been cancelled, so has the entitlement.
    """
    deal, outcome, orders = records.deal, records.outcome, records.orders
    found: list[DriftItem] = []

    def add(kind: Drift, system: str, detail: str, repair: Repair | None = None) -> None:
        found.append(DriftItem(kind=kind, deal_id=deal.id, system=system, detail=detail, repair=repair))

    under_contract = records.contract_id is not None
    if under_contract and deal.kind is not DealKind.NEW_BUSINESS:
        return found
    if not outcome:
        if not orders and not records.saga_running:  # a saga running before its first milestone is not missing
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
        if not under_contract:
            found += billing_drift(deal, records.live)
        contract = records.contract
        if contract is None or contract.state not in (ContractState.ENDED, ContractState.CANCELLED):
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


def master_data_drift(records: SagaRecords) -> list[DriftItem]:
    """Each synchronised attribute must read the same wherever it is held; a system whose value differs from the
    attribute's owner (models.ownership, the deal's customer being a customer) is brought back to it."""
    company = records.deal.company.id if records.deal.company else ""
    found: list[DriftItem] = []
    for attribute, read in sorted(records.master_data.items()):
        # A system with no value has not been given one (the saga fills what the ERP needs, CustomerSync the
        # rest as it changes): a gap, not a contradiction. Two values that differ are.
        held = {system: value for system, value in read.items() if value not in (None, "")}
        if len(set(held.values())) < 2:
            continue
        owner = owner_of("customer", attribute, LifecycleStage.CUSTOMER)
        values = ", ".join(f"{system.value} {value!r}" for system, value in sorted(held.items()))
        if owner not in held:  # the owner does not know the customer: nothing to repair toward
            detail = f"customer {company} {attribute} differs: {values}; {owner.value}, its owner, does not know it"
            found.append(
                DriftItem(kind=Drift.MASTER_DATA_MISMATCH, deal_id=records.deal.id, system=owner.value, detail=detail)
            )
            continue
        for system in sorted(s for s in held if held[s] != held[owner]):
            found.append(
                DriftItem(
                    kind=Drift.MASTER_DATA_MISMATCH,
                    deal_id=records.deal.id,
                    system=system.value,
                    detail=f"customer {company} {attribute} differs: {values}; {owner.value} owns it",
                    repair=Repair(
                        action="sync_attribute",
                        ref=company,
                        fields={"attribute": attribute, "system": system.value, "owner": owner.value},
                    ),
                )
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
    elif expected is EntitlementStatus.ACTIVE and not records.invoiced and not any(s.bills_from for s in records.live):
        # a term starting after the sale is billed from its first day: nothing is invoiced before it, rightly
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


def problems(records: SagaRecords, expected: Stage) -> list[str]:
    """What an audit finds wrong after a saga that should have ended `expected`: one of everything, nothing
    left behind once undone, no record past the step it stopped at (empty when all is well)."""
    found: list[str] = []
    if records.outcome != expected.value:
        found.append(f"deal status is {records.outcome or None}, expected {expected.value}")
    orders, subscriptions, org = records.orders, records.subscriptions, records.organization
    if len(orders) > 1:
        found.append(f"duplicates: {len(orders)} orders")
    if len({s.frequency for s in subscriptions}) != len(subscriptions):
        found.append(f"duplicate subscriptions: {len(subscriptions)}")
    if len(records.billing_customers) > 1:
        customer = records.deal.company.id if records.deal.company else "?"
        found.append(f"{len(records.billing_customers)} billing customers for customer {customer}")
    if expected is Stage.COMPLETED:
        if len(orders) != 1 or not subscriptions:
            found.append(f"{len(orders)} orders and {len(subscriptions)} subscriptions for a completed saga")
        found += [f"subscription {s.id} is {s.status.value}" for s in subscriptions if s.status is not ACTIVE]
        if org is None or org.entitlement_status is not EntitlementStatus.ACTIVE:
            found.append("no active entitlement")
    elif expected.value in UNDONE:
        found += [f"order {o.id} left {o.status.value}" for o in orders if o.status not in FINISHED_ORDER]
        if records.erp_invoice is InvoiceStatus.OPEN:
            found.append("ERP invoice left open")
        found += [f"subscription {s.id} left {s.status.value}" for s in subscriptions if s.status is not CANCELED]
        found += [
            f"billing invoice {invoice} left {status.value}"
            for invoice, status in records.billing_invoices.items()
            if status not in (None, InvoiceStatus.VOID)
        ]
    elif orders:
        found.append("an order exists for a saga that stopped before ordering")
    return found


def _number(order: SalesOrder) -> str:
    return order.number or str(order.id)
