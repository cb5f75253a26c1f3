"""Reconciliation activities: read a page of deals and every system's records for them; repair an item."""

from __future__ import annotations

from temporalio import activity

from activities.errors import vendor_step
from connectors.errors import NotFound
from models.orders import InvoiceStatus
from models.postconditions import SagaRecords, drift
from models.reconcile import CheckDeals, DealsChecked, DriftItem, RepairInput
from models.saga import saga_id
from models.steps import StepInput
from ports import Billing, Crm, Erp, Support

POSTED = (InvoiceStatus.OPEN, InvoiceStatus.PAID)


async def saga_records(crm: Crm, erp: Erp, billing: Billing, support: Support, deal_id: str) -> SagaRecords:
    """What every system holds for one deal's saga, read through the ports (for reconciliation and audits)."""
    deal = await crm.get_deal(deal_id)
    state = await crm.deal_state(deal_id)
    w = saga_id(crm.name, deal_id)
    subscriptions = await billing.subscriptions_for(w)
    billing_invoices: dict[str, InvoiceStatus | None] = {}
    for subscription in subscriptions:
        if subscription.latest_invoice_id:
            try:
                invoice = await billing.get_invoice(subscription.latest_invoice_id)
                billing_invoices[invoice.id] = invoice.status
            except NotFound:  # a deleted draft
                billing_invoices[subscription.latest_invoice_id] = None
    erp_invoice = await erp.find_invoice(f"{w}:invoice_erp")
    return SagaRecords(
        crm=crm.name,
        saga_id=w,
        deal=deal,
        state=state,
        orders=await erp.orders_for(w),
        subscriptions=subscriptions,
        organization=await support.find_organization(deal.company.id) if deal.company else None,
        invoiced=(erp_invoice is not None) or any(s in POSTED for s in billing_invoices.values()),
        erp_invoice=erp_invoice.status if erp_invoice else None,
        billing_invoices=billing_invoices,
        billing_customers=await billing.customers_for(deal.company.id) if deal.company else [],
    )


class ReconcileActivities:
    def __init__(self, crm: Crm, erp: Erp, billing: Billing, support: Support) -> None:
        self.crm, self.erp, self.billing, self.support = crm, erp, billing, support

    @activity.defn(name="reconcile.check_deals")
    async def check_deals(self, page: CheckDeals) -> DealsChecked:
        """One page of closed-won deals against the ERP, billing and support; heartbeats per deal."""
        with vendor_step(StepInput()):
            deals = await self.crm.closed_won_page(page.after, page.limit, page.since, page.until)
            items: list[DriftItem] = []
            for n, deal_id in enumerate(deals.deal_ids):
                activity.heartbeat(n)
                items += drift(await saga_records(self.crm, self.erp, self.billing, self.support, deal_id))
        return DealsChecked(checked=len(deals.deal_ids), items=items, next_after=deals.next_after)

    @activity.defn(name="reconcile.repair")
    async def repair(self, step: RepairInput) -> str:
        """Cancel, close or update: each keyed, so a repeated repair changes nothing more."""
        fix = step.item.repair
        assert fix is not None
        with vendor_step(StepInput(idempotency_key=step.idempotency_key)):
            if fix.action == "cancel_subscription":
                await self.billing.cancel_subscription(fix.ref)
            elif fix.action == "close_order":
                await self.erp.close_sales_order(fix.ref, "closed by q2c reconciliation")
            elif fix.action == "update_support":
                await self.support.update_organization(fix.ref, dict(fix.fields))
            else:
                raise ValueError(f"no repair activity for {fix.action}")
        return f"{fix.action} {fix.ref}"
