"""The Billing port: every billing adapter subscribes once per key, tags the saga and undoes it the same way."""

from __future__ import annotations

import uuid

import pytest

from connectors.errors import NotFound
from models.catalog import BillingFrequency
from models.money import Money
from models.orders import InvoiceStatus, SubscriptionItem, SubscriptionStatus
from simulators.seed import BY_SKU
from tests.ports.conftest import new_customer, new_saga_id


async def test_a_price_is_found_per_sku_and_currency_and_a_missing_one_is_not_found(billing):
    price = await billing.find_price("PLAT-TEAM", "EUR")
    assert price.unit_amount == Money(amount=BY_SKU["PLAT-TEAM"].price("EUR"), currency="EUR")
    assert price.frequency is BillingFrequency.MONTHLY
    with pytest.raises(NotFound):
        await billing.find_price("NO-SUCH-SKU", "USD")


async def test_one_billing_customer_per_customer(billing):
    customer = new_customer()
    first = await billing.ensure_customer(customer)
    assert await billing.ensure_customer(customer) == first
    assert await billing.ensure_customer(new_customer()) != first


async def test_a_subscription_is_made_once_per_key_tagged_with_its_saga_and_undone(billing):
    customer_id = await billing.ensure_customer(new_customer())
    price = await billing.find_price("PLAT-TEAM", "USD")
    saga, deal = new_saga_id(), uuid.uuid4().hex[:6]
    items = [SubscriptionItem(price_id=str(price.id), quantity=3)]
    key = f"{saga}:subscribe_monthly"
    subscription = await billing.subscribe(customer_id, items, saga, deal, key)
    assert (await billing.subscribe(customer_id, items, saga, deal, key)).id == subscription.id
    assert subscription.customer_id == customer_id and subscription.latest_invoice is not None
    [billed] = await billing.subscriptions_for(saga)
    assert billed.id == subscription.id and billed.live and billed.saga_id == saga
    assert billed.frequency is BillingFrequency.MONTHLY and billed.amount == price.unit_amount * 3
    assert await billing.subscriptions_for(new_saga_id()) == []

    invoice = subscription.latest_invoice
    opened = await billing.finalize_invoice(invoice.id, f"{saga}:finalize_invoice_monthly")
    assert opened.status is InvoiceStatus.OPEN and opened.total == price.unit_amount * 3
    again = await billing.finalize_invoice(invoice.id, f"{saga}:finalize_invoice_monthly-again")
    assert again.status is InvoiceStatus.OPEN  # finalized already: returned as it is
    cancelled = await billing.cancel_subscription(subscription.id)
    assert cancelled.status is SubscriptionStatus.CANCELED
    assert (await billing.cancel_subscription(subscription.id)).status is SubscriptionStatus.CANCELED
    assert await billing.withdraw_invoice(invoice.id, "port test", f"{saga}:cancel") == "void"
    assert (await billing.get_invoice(invoice.id)).status is InvoiceStatus.VOID
    [after] = await billing.subscriptions_for(saga)
    assert not after.live


async def test_an_invoice_that_does_not_exist_is_not_found(billing):
    with pytest.raises(NotFound):
        await billing.get_invoice("in_no_such_invoice")
