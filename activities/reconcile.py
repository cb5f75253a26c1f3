"""Reconciliation activities: read a page of deals and every system's records for them; repair an item."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal
from typing import Any

from temporalio import activity

from activities.errors import vendor_step
from connectors.hubspot.client import HubSpotClient
from connectors.netsuite.client import NetSuiteClient
from connectors.stripe.client import StripeClient
from connectors.zendesk.client import ZendeskClient
from models.deal import Deal
from models.money import Money
from models.reconcile import CheckDeals, DealsChecked, Drift, DriftItem, Repair, RepairInput
from models.saga import saga_id
from models.steps import StepInput

UNDONE = ("compensated", "cancelled", "failed")
LIVE_SUBSCRIPTION = ("active", "trialing", "past_due", "incomplete")


class ReconcileActivities:
    def __init__(
        self, hubspot: HubSpotClient, netsuite: NetSuiteClient, stripe: StripeClient, zendesk: ZendeskClient
    ) -> None:
        self.hubspot, self.netsuite, self.stripe, self.zendesk = hubspot, netsuite, stripe, zendesk

    @activity.defn(name="reconcile.check_deals")
    async def check_deals(self, page: CheckDeals) -> DealsChecked:
        """One page of closed-won deals against the ERP, billing and support; heartbeats per deal."""
        with vendor_step(StepInput()):
            ids, after = await self.hubspot.closed_won_page(page.after, page.limit, page.since, page.until)
            items: list[DriftItem] = []
            for n, deal_id in enumerate(ids):
                activity.heartbeat(n)
                items += await self.check(deal_id)
        return DealsChecked(checked=len(ids), items=items, next_after=after)

    async def check(self, deal_id: str) -> list[DriftItem]:
        deal = await self.hubspot.get_deal(deal_id)
        status, _ = await self.hubspot.deal_properties(deal_id, ["q2c_status", "payment_status", "entitlement_status"])
        outcome = status.get("q2c_status") or ""
        w = saga_id("hubspot", deal_id)
        orders = await self.netsuite.records_where("salesOrder", f'externalId START_WITH "{w}:"')
        subscriptions = await self.stripe.subscriptions_tagged("q2c_workflow_id", w)
        org = await self.zendesk.find_organization(deal.company.id) if deal.company else None
        found: list[DriftItem] = []

        def drift(kind: Drift, system: str, detail: str, repair: Repair | None = None) -> None:
            found.append(DriftItem(kind=kind, deal_id=deal_id, system=system, detail=detail, repair=repair))

        if not outcome:
            if not orders:
                drift(
                    Drift.MISSING_SAGA,
                    "q2c",
                    "closed-won, but no saga has taken it",
                    Repair(action="start_saga", ref=deal_id),
                )
            return found  # a saga without an outcome yet is still running
        if len(orders) > 1:
            drift(Drift.DUPLICATE_ORDER, "erp", f"{len(orders)} sales orders: {', '.join(o['tranId'] for o in orders)}")
        live = [s for s in subscriptions if s["status"] in LIVE_SUBSCRIPTION]
        if outcome == "completed":
            if not orders:
                drift(Drift.MISSING_ORDER, "erp", f"saga completed, but no sales order {w}:create_order")
            for order in orders:
                total = Money(amount=Decimal(order["total"]), currency=order["currency"]["refName"])
                if total != deal.amount:
                    drift(Drift.AMOUNT_MISMATCH, "erp", f"order {order['tranId']} is {total}, the deal {deal.amount}")
            found += self.billing_drift(deal, live)
            invoiced = await self.invoiced(w, subscriptions)
            expected = "pending" if status.get("entitlement_status") == "pending_payment" else "active"
            fields = org.model_dump(mode="json") if org else {}
            if org is None or fields.get("entitlement_status") != expected:
                drift(
                    Drift.SUPPORT_OUT_OF_DATE,
                    "support",
                    f"entitlement is {fields.get('entitlement_status')}, expected {expected}",
                    Repair(
                        action="update_support",
                        ref=deal.company.id if deal.company else "",
                        fields={"entitlement_status": expected},
                    ),
                )
            elif expected == "active" and not invoiced:
                drift(
                    Drift.ENTITLEMENT_UNBILLED, "support", "entitled, but no posted or paid invoice in ERP or billing"
                )
            paid = status.get("payment_status")
            if (
                org is not None
                and paid in ("paid", "payment_failed", "overdue")
                and fields.get("invoice_status") != paid
            ):
                drift(
                    Drift.SUPPORT_OUT_OF_DATE,
                    "support",
                    f"invoice status is {fields.get('invoice_status')}, the deal says {paid}",
                    Repair(action="update_support", ref=org.external_id, fields={"invoice_status": paid}),
                )
        elif outcome in UNDONE:
            for order in orders:
                if order["orderStatus"]["refName"] not in ("Cancelled", "Closed"):
                    drift(
                        Drift.LEFT_BEHIND,
                        "erp",
                        f"order {order['tranId']} is {order['orderStatus']['refName']} after the saga {outcome}",
                        Repair(action="close_order", ref=str(order["id"])),
                    )
            for subscription in live:
                drift(
                    Drift.LEFT_BEHIND,
                    "billing",
                    f"subscription {subscription['id']} is {subscription['status']} after the saga {outcome}",
                    Repair(action="cancel_subscription", ref=subscription["id"]),
                )
        return found

    def billing_drift(self, deal: Deal, live: list[dict[str, Any]]) -> list[DriftItem]:
        """Each interval's live subscriptions must bill what the deal's recurring lines say."""
        expected: dict[str, Money] = defaultdict(lambda: Money.zero(deal.currency))
        for line in deal.lines_by(recurring=True):
            expected[{"monthly": "month", "annually": "year"}[line.frequency.value]] += line.amount
        billed: dict[str, Money] = defaultdict(lambda: Money.zero(deal.currency))
        for subscription in live:
            for item in subscription["items"]["data"]:
                price = item["price"]
                minor = int(price["unit_amount"]) * int(item["quantity"])
                billed[price["recurring"]["interval"]] += Money.from_minor_units(minor, price["currency"].upper())
        return [
            DriftItem(
                kind=Drift.AMOUNT_MISMATCH,
                deal_id=deal.id,
                system="billing",
                detail=f"{interval}ly subscriptions bill {billed[interval]}, the deal {expected[interval]}",
            )
            for interval in sorted(set(expected) | set(billed))
            if billed[interval] != expected[interval]
        ]

    async def invoiced(self, w: str, subscriptions: list[dict[str, Any]]) -> bool:
        if await self.netsuite.find("invoice", f"eid:{w}:invoice_erp"):
            return True
        for subscription in subscriptions:
            if subscription.get("latest_invoice"):
                invoice = await self.stripe.get(f"/v1/invoices/{subscription['latest_invoice']}")
                if invoice["status"] in ("open", "paid"):
                    return True
        return False

    @activity.defn(name="reconcile.repair")
    async def repair(self, step: RepairInput) -> str:
        """Cancel, close or update: each keyed, so a repeated repair changes nothing more."""
        fix = step.item.repair
        assert fix is not None
        with vendor_step(StepInput(idempotency_key=step.idempotency_key)):
            if fix.action == "cancel_subscription":
                await self.stripe.cancel_subscription(fix.ref)
            elif fix.action == "close_order":
                await self.netsuite.cancel_or_close_order(fix.ref, "closed by q2c reconciliation")
            elif fix.action == "update_support":
                await self.zendesk.update_organization_fields(fix.ref, dict(fix.fields))
            else:
                raise ValueError(f"no repair activity for {fix.action}")
        return f"{fix.action} {fix.ref}"
