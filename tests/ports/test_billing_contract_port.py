"""The Billing port's contract methods: every billing adapter reads a subscription's items and period, changes
items with prorations by the rule of models/proration.py, ends a term at period end, schedules a new term's
prices and cancels now with or without the unused time credited; each once, however often it is asked."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from connectors.errors import NotFound
from models.amendments import ItemChange, SubscriptionDetail
from models.catalog import BillingFrequency
from models.money import Money
from models.orders import SubscriptionItem
from models.proration import prorated_minor, proration_lines
from tests.ports.conftest import new_customer, new_saga_id


async def subscribed(billing: Any, sku: str = "PLAT-PRO", quantity: int = 2) -> SubscriptionDetail:
    """A new customer's subscription to `quantity` x `sku`, as the port reads it back."""
    customer_id = await billing.ensure_customer(new_customer())
    price = await billing.find_price(sku, "USD")
    saga = new_saga_id()
    items = [SubscriptionItem(price_id=str(price.id), quantity=quantity)]
    made = await billing.subscribe(customer_id, items, saga, uuid.uuid4().hex[:6], f"{saga}:subscribe")
    return await billing.subscription_detail(made.id)


def a_third_in(detail: SubscriptionDetail) -> int:
    """A second a third of the way into the period: inside it, and not on a day boundary."""
    return detail.period.start + (detail.period.end - detail.period.start) // 3 + 7


async def test_a_subscription_reads_as_its_items_prices_and_period(billing):
    detail = await subscribed(billing, "PLAT-PRO", 2)
    price = await billing.find_price("PLAT-PRO", "USD")
    [item] = detail.items
    assert item.price_id == price.id and item.quantity == 2 and item.unit_amount == price.unit_amount
    assert item.sku == "PLAT-PRO" and item.frequency is BillingFrequency.ANNUALLY
    assert detail.period.end > detail.period.start and not detail.cancel_at_period_end and detail.schedule_id is None
    with pytest.raises(NotFound):
        await billing.subscription_detail("sub_no_such_subscription")


@pytest.mark.parametrize("proration", ["always_invoice", "create_prorations"])
async def test_an_item_change_is_prorated_by_the_rule_once_per_key(billing, proration):
    detail = await subscribed(billing)
    [item] = detail.items
    at, key = a_third_in(detail), f"{new_saga_id()}:change_items"
    change = [ItemChange(item_id=item.item_id, price_id=item.price_id, quantity=5)]
    changed = await billing.change_items(detail.id, change, proration, at, key)
    rule = proration_lines("PLAT-PRO", item.unit_amount, 2, 5, detail.period, at)
    expected = Money.from_minor_units(sum(x.amount.to_minor_units() for x in rule), "USD")
    assert expected.amount > 0 and changed.proration_total == expected  # to the minor unit
    assert [i.quantity for i in changed.subscription.items] == [5] and changed.item_ids == {item.price_id: item.item_id}
    assert (changed.invoice_id is not None) is (proration == "always_invoice")
    again = await billing.change_items(detail.id, change, proration, at, key)
    assert [i.quantity for i in again.subscription.items] == [5]  # the same key: not applied twice


async def test_an_item_change_without_proration_bills_nothing_and_a_new_price_joins_as_an_item(billing):
    detail = await subscribed(billing)
    [item] = detail.items
    support = await billing.find_price("SUP-PREM", "USD")
    changes = [
        ItemChange(item_id=item.item_id, price_id=item.price_id, quantity=1),
        ItemChange(item_id=None, price_id=str(support.id), quantity=1),
    ]
    changed = await billing.change_items(detail.id, changes, "none", a_third_in(detail), f"{new_saga_id()}:c")
    assert changed.proration_total == Money.zero("USD") and changed.invoice_id is None
    assert {i.price_id: i.quantity for i in changed.subscription.items} == {item.price_id: 1, str(support.id): 1}
    assert changed.item_ids[str(support.id)] not in ("", item.item_id)


async def test_a_term_ends_at_period_end_and_can_be_taken_back(billing):
    detail = await subscribed(billing)
    key = new_saga_id()
    assert (await billing.end_at_period_end(detail.id, True, f"{key}:end")).cancel_at_period_end
    assert (await billing.subscription_detail(detail.id)).cancel_at_period_end
    assert not (await billing.end_at_period_end(detail.id, False, f"{key}:keep")).cancel_at_period_end


async def test_a_new_terms_prices_are_scheduled_from_its_start_not_before(billing):
    detail = await subscribed(billing)
    [item] = detail.items
    uplifted = Money.from_minor_units(item.unit_amount.to_minor_units() * 105 // 100, "USD")
    items = [ItemChange(item_id=item.item_id, price_id=item.price_id, quantity=item.quantity)]
    key = f"{new_saga_id()}:renewal_prices"
    schedule = await billing.schedule_prices(detail.id, detail.period.end, items, {item.price_id: uplifted}, key)
    assert schedule and (await billing.subscription_detail(detail.id)).schedule_id == schedule
    now = await billing.subscription_detail(detail.id)
    assert [i.unit_amount for i in now.items] == [item.unit_amount]  # the new price waits for the new term


async def test_a_cancellation_now_with_a_refund_credits_the_unused_time_by_the_rule_once(billing):
    detail = await subscribed(billing)
    [item] = detail.items
    done = await billing.cancel_now(detail.id, True)
    assert done.subscription.status == "canceled" and done.subscription.period == detail.period
    assert detail.period.start <= done.at <= detail.period.end
    owed = -prorated_minor(item.unit_amount.to_minor_units(), item.quantity, detail.period, done.at)
    assert owed < 0 and done.credit == Money.from_minor_units(owed, "USD") == done.credits[item.item_id]
    assert done.invoice_id is not None
    again = await billing.cancel_now(detail.id, True)  # a retry reads the cancellation back, credits nothing more
    assert again.credit == done.credit and again.invoice_id == done.invoice_id and again.at == done.at


async def test_a_cancellation_now_without_a_refund_credits_nothing(billing):
    detail = await subscribed(billing)
    done = await billing.cancel_now(detail.id, False)
    assert done.subscription.status == "canceled"
    assert done.credit == Money.zero("USD") and done.credits == {} and done.invoice_id is None
