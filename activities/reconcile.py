"""Reconciliation activities: read a page of deals and every system's records for them; repair an item."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.errors import vendor_step
from activities.reconcile_contracts import CONTRACTS, ContractBook, contract_page, worker_client
from connectors.errors import NotFound
from models.common import System
from models.crm import DealState
from models.customer_sync import FIELDS
from models.deal import Deal
from models.orders import Invoice, InvoiceStatus, SalesOrder
from models.postconditions import SagaRecords, drift
from models.reconcile import CheckDeals, DealsChecked, DriftItem, RepairInput
from models.records import BilledSubscription
from models.saga import Stage, saga_id
from models.steps import StepInput
from models.support import SupportOrganization
from ports import Billing, Crm, CrmBulkReads, Erp, ErpBulkReads, Support

POSTED = (InvoiceStatus.OPEN, InvoiceStatus.PAID)
CURSOR = "|"  # `<crm>|<that CRM's own cursor>`: the page cursor names the CRM it pages through


@dataclass
class Prefetched:
    """A page of deals' billing and support records, read in bulk once for the page (reconciliation at scale)."""

    subscriptions: dict[str, list[BilledSubscription]] = field(default_factory=dict)  # by saga id
    billing_customers: dict[str, list[str]] = field(default_factory=dict)  # by q2c customer id
    organizations: dict[str, SupportOrganization] = field(default_factory=dict)  # by q2c customer id
    # the ERP's side, when the ERP reads in bulk (ports.ErpBulkReads); None: read one saga at a time
    orders: dict[str, list[SalesOrder]] | None = None  # by saga id
    erp_invoices: dict[str, Invoice] | None = None  # by external id
    states: dict[str, DealState] = field(default_factory=dict)  # by deal id, when the CRM read them in bulk


async def prefetch(
    billing: Billing, support: Support, saga_ids: list[str], customer_ids: list[str], erp: Erp | None = None
) -> Prefetched:
    bulk = Prefetched(
        subscriptions=await billing.subscriptions_for_sagas(saga_ids),
        billing_customers=await billing.customers_for_many(customer_ids),
        organizations=await support.find_organizations(customer_ids),
    )
    if isinstance(erp, ErpBulkReads):
        bulk.orders = await erp.orders_for_sagas(saga_ids)
        bulk.erp_invoices = await erp.find_invoices([f"{w}:invoice_erp" for w in saga_ids])
    return bulk


async def read_deals(crm: Crm, deal_ids: list[str]) -> tuple[list[Deal], dict[str, DealState]]:
    """A page's deals, in bulk with their states when the CRM can (ports.CrmBulkReads), else one at a time;
    a deal the bulk read did not find is read alone, so it fails (NotFound) as it always did."""
    if not isinstance(crm, CrmBulkReads):
        read: list[Deal] = []
        for n, deal_id in enumerate(deal_ids):
            activity.heartbeat(n)
            read.append(await crm.get_deal(deal_id))
        return read, {}
    found = await crm.deals_with_states(deal_ids)
    deals = [found[d][0] if d in found else await crm.get_deal(d) for d in deal_ids]
    return deals, {deal_id: state for deal_id, (_, state) in found.items()}


async def saga_records(
    crm: Crm,
    erp: Erp,
    billing: Billing,
    support: Support,
    deal_id: str,
    master_data: bool = False,
    deal: Deal | None = None,
    prefetched: Prefetched | None = None,
) -> SagaRecords:
    """What every system holds for one deal's saga, read through the ports (for reconciliation and audits);
    with `master_data`, each synchronised attribute of a completed saga's customer as each system holds it.
    `deal` and `prefetched`: what the caller already read (in bulk), not read again."""
    deal = deal or await crm.get_deal(deal_id)
    known = prefetched.states.get(deal_id) if prefetched is not None else None
    state = known or await crm.deal_state(deal_id)
    w = saga_id(crm.name, deal_id)
    if prefetched is not None:
        subscriptions = prefetched.subscriptions.get(w, [])
    else:
        subscriptions = await billing.subscriptions_for(w)
    billing_invoices: dict[str, InvoiceStatus | None] = {}
    for subscription in subscriptions:
        if subscription.latest_invoice_id:
            try:
                invoice = await billing.get_invoice(subscription.latest_invoice_id)
                billing_invoices[invoice.id] = invoice.status
            except NotFound:  # a deleted draft
                billing_invoices[subscription.latest_invoice_id] = None
    if prefetched is not None and prefetched.erp_invoices is not None:
        erp_invoice = prefetched.erp_invoices.get(f"{w}:invoice_erp")
    else:
        erp_invoice = await erp.find_invoice(f"{w}:invoice_erp")
    held: dict[str, dict[System, str | None]] = {}
    if master_data and deal.company and state.milestones.status == Stage.COMPLETED.value:
        held = await customer_attributes(MasterData(crm, erp, support), deal.company.id)
    return SagaRecords(
        crm=crm.name,
        saga_id=w,
        deal=deal,
        state=state,
        orders=(
            prefetched.orders.get(w, [])
            if prefetched is not None and prefetched.orders is not None
            else await erp.orders_for(w)
        ),
        subscriptions=subscriptions,
        organization=await _organization(support, deal, prefetched),
        invoiced=(erp_invoice is not None) or any(s in POSTED for s in billing_invoices.values()),
        erp_invoice=erp_invoice.status if erp_invoice else None,
        billing_invoices=billing_invoices,
        billing_customers=await _billing_customers(billing, deal, prefetched),
        master_data=held,
    )


async def _organization(support: Support, deal: Deal, prefetched: Prefetched | None) -> SupportOrganization | None:
    if deal.company is None:
        return None
    if prefetched is not None:
        return prefetched.organizations.get(deal.company.id)
    return await support.find_organization(deal.company.id)


async def _billing_customers(billing: Billing, deal: Deal, prefetched: Prefetched | None) -> list[str]:
    if deal.company is None:
        return []
    if prefetched is not None:
        return prefetched.billing_customers.get(deal.company.id, [])
    return await billing.customers_for(deal.company.id)


class MasterData:
    """A customer attribute in whichever system holds it (models.customer_sync.FIELDS), through the ports."""

    def __init__(self, crm: Crm, erp: Erp, support: Support) -> None:
        self.crm, self.erp, self.support = crm, erp, support

    async def read(self, system: System, customer_id: str, attribute: str) -> str | None:
        if system is System.CRM:
            return await self.crm.read_company_attribute(customer_id, attribute)
        if system is System.ERP:
            return await self.erp.read_customer_attribute(customer_id, attribute)
        return await self.support.read_organization_attribute(customer_id, attribute)

    async def write(self, system: System, customer_id: str, attribute: str, value: str | None) -> None:
        if system is System.CRM:
            await self.crm.write_company_attribute(customer_id, attribute, value)
        elif system is System.ERP:
            await self.erp.write_customer_attribute(customer_id, attribute, value)
        else:
            await self.support.write_organization_attribute(customer_id, attribute, value)


async def customer_attributes(systems: MasterData, customer_id: str) -> dict[str, dict[System, str | None]]:
    """Each attribute more than one system holds, by system; a system that does not know the customer is left out."""
    found: dict[str, dict[System, str | None]] = {}
    for attribute, holders in FIELDS.items():
        if len(holders) < 2:
            continue
        for system in holders:
            try:
                found.setdefault(attribute, {})[system] = await systems.read(system, customer_id, attribute)
            except NotFound:
                continue
    return found


class ReconcileActivities:
    """Over the default CRM and every other CRM served (`Q2C_CRMS`): a run pages through each in turn."""

    def __init__(
        self, crm: Crm, erp: Erp, billing: Billing, support: Support, crms: Mapping[str, Crm] | None = None
    ) -> None:
        self.crm, self.erp, self.billing, self.support = crm, erp, billing, support
        self.crms = {crm.name: crm, **(crms or {})}

    def position(self, after: str | None) -> tuple[str, str | None]:
        """Which CRM a cursor pages through, and that CRM's own cursor (a bare one is the default CRM's)."""
        if after is None or CURSOR not in after:
            return self.crm.name, after
        name, _, inner = after.partition(CURSOR)
        if name not in self.crms:
            served = ", ".join(self.crms)
            raise ApplicationError(
                f"reconciliation cursor names CRM {name!r}, not served by this worker (Q2C_CRMS: {served})",
                type="CrmNotServed",
                non_retryable=True,
            )
        return name, inner or None

    @activity.defn(name="reconcile.check_deals")
    async def check_deals(self, page: CheckDeals) -> DealsChecked:
        """One page of one CRM's closed-won deals against the ERP, billing and support; heartbeats per deal.
        The cursor moves on to the next CRM served when this one's deals are done, then (`page.contracts`) to
        the running contracts: a page of them, each compared with billing (activities.reconcile_contracts)."""
        if page.after is not None and page.after.startswith(f"{CONTRACTS}{CURSOR}"):
            return await contract_page(self.billing, page.after.partition(CURSOR)[2], page.limit)
        name, after = self.position(page.after)
        crm = self.crms[name]
        with vendor_step(StepInput()):
            deals = await crm.closed_won_page(after, page.limit, page.since, page.until)
            items: list[DriftItem] = []
            read, states = await read_deals(crm, deals.deal_ids)
            sagas = [saga_id(crm.name, d.id) for d in read]
            customers = sorted({d.company.id for d in read if d.company})
            bulk = await prefetch(self.billing, self.support, sagas, customers, self.erp)  # a few requests a page
            bulk.states = states
            book = ContractBook(worker_client(), self.billing)  # the customers' contracts, read once a page
            await book.prepare(crm.name, read)
            for n, deal in enumerate(read):
                activity.heartbeat(n)
                records = await saga_records(
                    crm, self.erp, self.billing, self.support, deal.id, True, deal=deal, prefetched=bulk
                )
                await book.annotate(records)
                items += drift(records) + await book.drift(records)
        names = list(self.crms)
        if deals.next_after is not None:
            next_after: str | None = f"{name}{CURSOR}{deals.next_after}"
        elif names.index(name) + 1 < len(names):
            next_after = f"{names[names.index(name) + 1]}{CURSOR}"
        elif page.contracts:  # the last deal page goes on with the first page of contracts: one activity less
            return (await contract_page(self.billing, "", page.limit)).after_deals(len(deals.deal_ids), items)
        else:
            next_after = None
        return DealsChecked(checked=len(deals.deal_ids), items=items, next_after=next_after)

    @activity.defn(name="reconcile.repair")
    async def repair(self, step: RepairInput) -> str:
        """Cancel, close, update or bring an attribute back to its owner's value: each keyed or a plain set,
        so a repeated repair changes nothing more."""
        fix = step.item.repair
        assert fix is not None
        with vendor_step(StepInput(idempotency_key=step.idempotency_key)):
            if fix.action == "cancel_subscription":
                await self.billing.cancel_subscription(fix.ref)
            elif fix.action == "close_order":
                await self.erp.close_sales_order(fix.ref, "closed by q2c reconciliation")
            elif fix.action == "update_support":
                await self.support.update_organization(fix.ref, dict(fix.fields))
            elif fix.action == "sync_attribute":
                return await self.sync_attribute(step.item)
            else:
                raise ValueError(f"no repair activity for {fix.action}")
        return f"{fix.action} {fix.ref}"

    async def sync_attribute(self, item: DriftItem) -> str:
        """The owner's value as it is now (not as the report saw it), written where it differs."""
        fix = item.repair
        assert fix is not None
        crm = self.crms.get(item.crm or self.crm.name, self.crm)
        systems = MasterData(crm, self.erp, self.support)
        attribute, owner, target = fix.fields["attribute"], System(fix.fields["owner"]), System(fix.fields["system"])
        value = await systems.read(owner, fix.ref, attribute)
        await systems.write(target, fix.ref, attribute, value)
        return f"sync_attribute {fix.ref} {attribute} in {target.value} to {owner.value}'s value"
