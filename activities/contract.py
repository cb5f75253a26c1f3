"""Contract activities: a subscription's items and period, item changes with prorations, the ERP change order,
the end of a term, a cancellation now with its credit and a renewal's prices. Ports only; one input model each."""

from __future__ import annotations

from collections.abc import Mapping

from temporalio import activity

from activities.crms import ServedCrms
from activities.errors import attempt, vendor_step
from connectors.errors import BusinessRuleError
from models.amendments import (
    Cancelled,
    CancelNow,
    ChangeItems,
    ChangeOrder,
    ChangeOrderCreated,
    DealOpened,
    EndOfTerm,
    ItemsChangedOutput,
    ReadSubscription,
    RenewalDeal,
    RenewalPrices,
    RenewalScheduled,
    SubscriptionRead,
)
from models.catalog import BillingFrequency
from models.contract import Contract, crm_of_contract
from models.deal import DealLine
from models.money import Money
from models.orders import OrderLine, ReturnOrder, SalesOrder
from models.reconcile import DriftItem
from models.reconcile_contracts import contract_mismatches
from models.steps import Done
from ports import Billing, Crm, Erp


class ContractActivities:
    """Over the ERP and billing, and every CRM served: a renewal deal opens in its contract's CRM."""

    def __init__(self, erp: Erp, billing: Billing, crm: Crm | None = None, crms: Mapping[str, Crm] | None = None):
        self.erp, self.billing = erp, billing
        self.served = ServedCrms(crm, crms) if crm is not None else None

    def crm_of(self, step: RenewalDeal) -> Crm:
        """The CRM its contract id names (`q2c-contract-<crm>-...`), else the default one."""
        assert self.served is not None, "ContractActivities needs the CRM port to open renewal deals"
        return self.served.named(crm_of_contract(step.contract_id))

    @activity.defn(name="contract.open_renewal_deal")
    async def open_renewal_deal(self, step: RenewalDeal) -> DealOpened:
        """The CRM owns the pipeline: q2c opens the renewal deal with the current lines at the new term's prices."""
        crm = self.crm_of(step)
        lines = [
            DealLine(
                id=line.sku,
                sku=line.sku,
                name=line.sku,
                quantity=line.quantity,
                unit_price=line.unit_price,
                frequency=line.frequency,
                start_date=step.close_date,
            )
            for line in step.lines
            if line.quantity
        ]
        currency = lines[0].unit_price.currency if lines else "USD"
        with vendor_step(step):
            deal_id = await crm.open_renewal_deal(
                step.company_id, step.name, step.close_date, currency, lines, step.idempotency_key
            )
        return DealOpened(deal_id=deal_id, attempt=attempt())

    @activity.defn(name="contract.read_subscription")
    async def read_subscription(self, step: ReadSubscription) -> SubscriptionRead:
        with vendor_step(step):
            detail = await self.billing.subscription_detail(step.subscription_id)
        return SubscriptionRead(subscription=detail, attempt=attempt())

    @activity.defn(name="contract.change_items")
    async def change_items(self, step: ChangeItems) -> ItemsChangedOutput:
        """Quantities set (or items added) as of the workflow's time, prorated as the region says; once per key."""
        with vendor_step(step):
            changed = await self.billing.change_items(
                step.subscription_id, step.changes, step.proration, step.proration_date, step.idempotency_key
            )
        return ItemsChangedOutput(changed=changed, attempt=attempt())

    @activity.defn(name="contract.create_change_order")
    async def create_change_order(self, step: ChangeOrder) -> ChangeOrderCreated:
        """The ERP's record of a change: one line per SKU at the amount billing prorated (or the whole line).

        A change that owes the customer (its total below zero: a cancellation's unused time, a contraction) is a
        return order, its lines what goes back, where the saga asks for that (`return_order_if_owed`: a saga on
        older code would take it for a sales order); an ERP keeps no sales order with a negative total."""
        lines = [
            OrderLine(sku=line.sku, item_id=step.erp_items[line.sku], quantity=line.quantity, rate=line.unit_price)
            for line in step.lines
        ]
        total = sum((line.amount for line in lines), start=Money.zero(step.currency))
        if total.amount < 0 and step.return_order_if_owed:
            return await self._return_order(step, lines)
        order = SalesOrder(
            external_id=step.idempotency_key,
            customer_id=step.erp_customer_id,
            order_date=step.order_date,
            currency=step.currency,
            lines=lines,
        )
        with vendor_step(step):
            created = await self.erp.create_sales_order(order)
        assert created.id and created.total is not None
        return ChangeOrderCreated(
            order_id=created.id, order_number=created.number or created.id, total=created.total, attempt=attempt()
        )

    async def _return_order(self, step: ChangeOrder, lines: list[OrderLine]) -> ChangeOrderCreated:
        """Only what goes back: one-time lines are charged by the ERP's invoice, which a return never gets, so a
        change that owes the customer and also charges one is refused (no deal makes one: a contraction carries
        no one-time lines), not netted into a return where nothing would bill it."""
        charged = [line.sku for line in step.lines if line.frequency is BillingFrequency.ONE_TIME]
        order = ReturnOrder(
            external_id=step.idempotency_key,
            customer_id=step.erp_customer_id,
            order_date=step.order_date,
            currency=step.currency,
            lines=[line.model_copy(update={"rate": -line.rate}) for line in lines],
        )
        with vendor_step(step):
            if charged:
                message = f"a change that owes the customer also charges one-time lines {charged}: split the deal"
                raise BusinessRuleError("erp", message, code="CREDIT_WITH_CHARGES")
            made = await self.erp.create_return_order(order)
        assert made.id and made.total is not None
        return ChangeOrderCreated(
            order_id=made.id,
            order_number=made.number or made.id,
            total=-made.total,
            return_order=True,
            attempt=attempt(),
        )

    @activity.defn(name="contract.cancel_now")
    async def cancel_now(self, step: CancelNow) -> Cancelled:
        """Service ends today; with the region's refund rule billing credits the unused time (once: a retry
        reads the cancelled subscription and its final invoice back)."""
        with vendor_step(step):
            cancellation = await self.billing.cancel_now(step.subscription_id, step.refund)
        return Cancelled(cancellation=cancellation, attempt=attempt())

    @activity.defn(name="contract.end_at_period_end")
    async def end_at_period_end(self, step: EndOfTerm) -> Done:
        with vendor_step(step):
            await self.billing.end_at_period_end(step.subscription_id, step.cancel_at_period_end, step.idempotency_key)
        return Done(result=f"cancel_at_period_end={step.cancel_at_period_end}", attempt=attempt())

    @activity.defn(name="contract.schedule_renewal_prices")
    async def schedule_renewal_prices(self, step: RenewalPrices) -> RenewalScheduled:
        with vendor_step(step):
            schedule = await self.billing.schedule_prices(
                step.subscription_id, step.start, step.items, step.unit_amounts, step.idempotency_key
            )
        return RenewalScheduled(schedule_id=schedule, attempt=attempt())


async def check_contract(billing: Billing, contract: Contract) -> list[DriftItem]:
    """Reconciliation of a contract: its subscriptions as billing holds them, against its lines."""
    subscriptions = sorted({line.subscription_id for line in contract.lines if line.subscription_id})
    return contract_mismatches(contract, [await billing.subscription_detail(s) for s in subscriptions])
