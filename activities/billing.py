"""Billing activities: prices, subscription and its first invoice, and their undoing."""

from __future__ import annotations

from temporalio import activity

from activities.errors import attempt, vendor_step
from models.orders import SubscriptionItem
from models.steps import (
    BillingPrices,
    CancelSubscription,
    Done,
    InvoiceCreated,
    InvoiceRef,
    ResolveProducts,
    Subscribe,
    Subscribed,
)
from ports import Billing


class BillingActivities:
    def __init__(self, billing: Billing) -> None:
        self.billing = billing

    @activity.defn(name="billing.resolve_prices")
    async def resolve_prices(self, step: ResolveProducts) -> BillingPrices:
        """Each recurring SKU needs a price in the deal's currency before anything is written."""
        with vendor_step(step):
            prices = {sku: await self.billing.find_price(sku, step.currency) for sku in step.recurring_skus}
        return BillingPrices(prices={sku: str(price.id) for sku, price in prices.items()}, attempt=attempt())

    @activity.defn(name="billing.subscribe")
    async def subscribe(self, step: Subscribe) -> Subscribed:
        """The subscription and its first invoice; a term starting later has none yet (billed from its start)."""
        key = step.idempotency_key
        with vendor_step(step):
            customer_id = await self.billing.ensure_customer(step.customer)
            items = [SubscriptionItem(price_id=price, quantity=quantity) for price, quantity in step.items.items()]
            saga_id = key.rsplit(":", 1)[0]
            subscription = await self.billing.subscribe(
                customer_id, items, saga_id, step.deal_id, key, bills_from=step.term_start
            )
        return Subscribed(
            billing_customer_id=customer_id,
            subscription_id=subscription.id,
            invoice=subscription.latest_invoice,
            attempt=attempt(),
        )

    @activity.defn(name="billing.finalize_invoice")
    async def finalize_invoice(self, step: InvoiceRef) -> InvoiceCreated:
        with vendor_step(step):
            invoice = await self.billing.finalize_invoice(step.invoice_id, step.idempotency_key)
        return InvoiceCreated(invoice=invoice, attempt=attempt())

    @activity.defn(name="billing.cancel_subscription")
    async def cancel_subscription(self, step: CancelSubscription) -> Done:
        """Cancel the subscription, then void its open invoice, delete its draft or credit it if paid."""
        with vendor_step(step):
            await self.billing.cancel_subscription(step.subscription_id)
            outcome = "no invoice"
            if step.invoice_id:
                outcome = await self.billing.withdraw_invoice(step.invoice_id, step.reason, step.idempotency_key)
        return Done(result=f"subscription canceled, invoice {outcome}", attempt=attempt())
