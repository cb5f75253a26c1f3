"""Billing: customers, prices, subscriptions and their invoices."""

from __future__ import annotations

from datetime import date
from typing import Protocol, runtime_checkable

from models.amendments import Cancellation, ItemChange, ItemsChanged, Proration, SubscriptionDetail
from models.catalog import Price
from models.money import Money
from models.orders import Invoice, Subscription, SubscriptionItem
from models.party import Customer
from models.records import BilledSubscription


@runtime_checkable
class Billing(Protocol):
    name: str

    async def find_price(self, sku: str, currency: str) -> Price:
        """The SKU's active price in this currency; NotFound if there is none."""
        ...

    async def ensure_customer(self, customer: Customer) -> str:
        """The billing customer for a q2c customer: one, however many sagas ask at once."""
        ...

    async def subscribe(
        self,
        customer_id: str,
        items: list[SubscriptionItem],
        saga_id: str,
        deal_id: str,
        idempotency_key: str,
        bills_from: date | None = None,
    ) -> Subscription:
        """Create a subscription tagged with its saga and deal, once per key. With `bills_from` (a term starting
        after today) its billing periods start on that day at 00:00 UTC and nothing is charged before it: the
        subscription exists now, its first invoice comes then (so `latest_invoice` may be None)."""
        ...

    async def get_invoice(self, invoice_id: str) -> Invoice: ...

    async def finalize_invoice(self, invoice_id: str, idempotency_key: str) -> Invoice:
        """Draft -> open; an invoice already finalized is returned as it is."""
        ...

    async def cancel_subscription(self, subscription_id: str) -> Subscription:
        """Cancel now; a cancelled subscription is left as it is."""
        ...

    async def withdraw_invoice(self, invoice_id: str, reason: str, idempotency_key: str) -> str:
        """Undo an invoice in the billing system's terms (void, delete, credit); says which was done."""
        ...

    async def subscriptions_for(self, saga_id: str) -> list[BilledSubscription]:
        """Every subscription tagged with this saga, for reconciliation."""
        ...

    async def customers_for(self, customer_id: str) -> list[str]:
        """The billing customers made for a q2c customer: one, unless something went wrong."""
        ...

    async def subscriptions_for_sagas(self, saga_ids: list[str]) -> dict[str, list[BilledSubscription]]:
        """`subscriptions_for` for many sagas in a few requests (reconciliation); a saga with none is left out."""
        ...

    async def customers_for_many(self, customer_ids: list[str]) -> dict[str, list[str]]:
        """`customers_for` for many q2c customers in a few requests; a customer with none is left out."""
        ...

    async def subscription_detail(self, subscription_id: str) -> SubscriptionDetail:
        """Its items with prices and its current billing period (what prorations are computed against)."""
        ...

    async def change_items(
        self, subscription_id: str, changes: list[ItemChange], proration: Proration, at: int, idempotency_key: str
    ) -> ItemsChanged:
        """Set item quantities or add items from Unix second `at`, prorated as `proration` says, once per key."""
        ...

    async def cancel_now(self, subscription_id: str, refund: bool) -> Cancellation:
        """Cancel now; `refund` credits the unused time to the customer. Once: a cancelled one is read back."""
        ...

    async def end_at_period_end(self, subscription_id: str, end: bool, idempotency_key: str) -> SubscriptionDetail:
        """Cancel at the period's end (or no longer)."""
        ...

    async def schedule_prices(
        self,
        subscription_id: str,
        start: int,
        items: list[ItemChange],
        amounts: dict[str, Money],
        idempotency_key: str,
    ) -> str:
        """From Unix second `start` on, bill these items at these unit amounts (not before); the schedule's id."""
        ...
