"""Billing activities: prices, subscription and its first invoice, and their undoing."""

from __future__ import annotations

from temporalio import activity

from activities.errors import attempt, vendor_step
from connectors.stripe.client import StripeClient
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


class BillingActivities:
    def __init__(self, stripe: StripeClient) -> None:
        self.stripe = stripe

    @activity.defn(name="billing.resolve_prices")
    async def resolve_prices(self, step: ResolveProducts) -> BillingPrices:
        """Each recurring SKU needs a price in the deal's currency before anything is written."""
        with vendor_step(step):
            prices = {sku: await self.stripe.find_price(sku, step.currency) for sku in step.recurring_skus}
        return BillingPrices(prices={sku: str(price.id) for sku, price in prices.items()}, attempt=attempt())

    @activity.defn(name="billing.subscribe")
    async def subscribe(self, step: Subscribe) -> Subscribed:
        key = step.idempotency_key
        with vendor_step(step):
            customer_id = await self.stripe.ensure_customer(step.customer)
            items = [SubscriptionItem(price_id=price, quantity=quantity) for price, quantity in step.items.items()]
            metadata = {"q2c_workflow_id": key.rsplit(":", 1)[0], "q2c_deal_id": step.deal_id}
            subscription = await self.stripe.create_subscription(customer_id, items, metadata, key)
        return Subscribed(
            billing_customer_id=customer_id,
            subscription_id=subscription.id,
            invoice=subscription.latest_invoice,
            attempt=attempt(),
        )

    @activity.defn(name="billing.finalize_invoice")
    async def finalize_invoice(self, step: InvoiceRef) -> InvoiceCreated:
        with vendor_step(step):
            invoice = await self.stripe.finalize_invoice(step.invoice_id, step.idempotency_key)
        return InvoiceCreated(invoice=invoice, attempt=attempt())

    @activity.defn(name="billing.cancel_subscription")
    async def cancel_subscription(self, step: CancelSubscription) -> Done:
        """Cancel the subscription, then void its open invoice, delete its draft or credit it if paid."""
        with vendor_step(step):
            await self.stripe.cancel_subscription(step.subscription_id)
            outcome = "no invoice"
            if step.invoice_id:
                outcome = str(await self.stripe.withdraw_invoice(step.invoice_id, step.reason, step.idempotency_key))
        return Done(result=f"subscription canceled, invoice {outcome}", attempt=attempt())
