"""Billing: customers, prices, subscriptions and their invoices."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from models.catalog import Price
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
        self, customer_id: str, items: list[SubscriptionItem], saga_id: str, deal_id: str, idempotency_key: str
    ) -> Subscription:
        """Create a subscription tagged with its saga and deal, once per key."""
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
