"""Stripe as q2c's billing system: subscriptions tagged with their saga, invoices undone in Stripe's terms."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

from connectors.adapter import Adapter
from connectors.stripe import changes as sub_changes
from connectors.stripe.client import StripeClient
from connectors.stripe.mapping import CUSTOMER_TAG, DEAL_TAG, SAGA_TAG, billed_subscription_from_stripe, tagged
from models.amendments import Cancellation, ItemChange, ItemsChanged, Proration, SubscriptionDetail
from models.catalog import Price
from models.money import Money
from models.orders import Invoice, Subscription, SubscriptionItem
from models.party import Customer
from models.records import BilledSubscription


class StripeBilling(Adapter[StripeClient]):
    name = "stripe"

    async def find_price(self, sku: str, currency: str) -> Price:
        return await self.client.find_price(sku, currency)

    async def ensure_customer(self, customer: Customer) -> str:
        return await self.client.ensure_customer(customer)

    async def subscribe(
        self,
        customer_id: str,
        items: list[SubscriptionItem],
        saga_id: str,
        deal_id: str,
        idempotency_key: str,
        bills_from: date | None = None,
    ) -> Subscription:
        tags = {SAGA_TAG: saga_id, DEAL_TAG: deal_id}
        anchor = int(datetime.combine(bills_from, time(), UTC).timestamp()) if bills_from else None
        return await self.client.create_subscription(customer_id, items, tags, idempotency_key, anchor)

    async def get_invoice(self, invoice_id: str) -> Invoice:
        return await self.client.get_invoice(invoice_id)

    async def finalize_invoice(self, invoice_id: str, idempotency_key: str) -> Invoice:
        return await self.client.finalize_invoice(invoice_id, idempotency_key)

    async def cancel_subscription(self, subscription_id: str) -> Subscription:
        return await self.client.cancel_subscription(subscription_id)

    async def withdraw_invoice(self, invoice_id: str, reason: str, idempotency_key: str) -> str:
        return str(await self.client.withdraw_invoice(invoice_id, reason, idempotency_key))

    async def subscriptions_for(self, saga_id: str) -> list[BilledSubscription]:
        return [billed_subscription_from_stripe(r) for r in await self.client.subscriptions_tagged(SAGA_TAG, saga_id)]

    async def subscriptions_for_sagas(self, saga_ids: list[str]) -> dict[str, list[BilledSubscription]]:
        found = await self.client.tagged_any("/v1/subscriptions/search", SAGA_TAG, saga_ids)
        return {saga: [billed_subscription_from_stripe(r) for r in records] for saga, records in found.items()}

    async def customers_for_many(self, customer_ids: list[str]) -> dict[str, list[str]]:
        found = await self.client.tagged_any("/v1/customers/search", CUSTOMER_TAG, customer_ids)
        return {customer: [str(r["id"]) for r in records] for customer, records in found.items()}

    async def customers_for(self, customer_id: str) -> list[str]:
        return [
            str(r["id"])
            async for r in self.client.search_all("/v1/customers/search", tagged(CUSTOMER_TAG, customer_id))
        ]

    async def subscription_detail(self, subscription_id: str) -> SubscriptionDetail:
        return await sub_changes.read(self.client, subscription_id)

    async def change_items(
        self, subscription_id: str, changes: list[ItemChange], proration: Proration, at: int, idempotency_key: str
    ) -> ItemsChanged:
        key = idempotency_key
        return await sub_changes.change_items(self.client, subscription_id, changes, proration, at, key)

    async def cancel_now(self, subscription_id: str, refund: bool) -> Cancellation:
        return await sub_changes.cancel_now(self.client, subscription_id, refund)

    async def end_at_period_end(self, subscription_id: str, end: bool, idempotency_key: str) -> SubscriptionDetail:
        return await sub_changes.end_at_period_end(self.client, subscription_id, end, idempotency_key)

    async def schedule_prices(
        self, subscription_id: str, start: int, items: list[ItemChange], amounts: dict[str, Money], idempotency_key: str
    ) -> str:
        key = idempotency_key
        return await sub_changes.schedule_prices(self.client, subscription_id, start, items, amounts, key)
