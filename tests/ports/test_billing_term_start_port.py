"""The Billing port's `bills_from`: every billing adapter bills a term that starts after today from its first day
(00:00 UTC), charging nothing before it, and a subscription without it is billed from now."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, time, timedelta

from models.amendments import SubscriptionDetail
from models.orders import Subscription, SubscriptionItem, SubscriptionStatus
from ports import Billing
from tests.ports.conftest import new_customer, new_saga_id


async def subscribed(billing: Billing, bills_from: date | None) -> tuple[Subscription, SubscriptionDetail]:
    customer_id = await billing.ensure_customer(new_customer())
    price = await billing.find_price("PLAT-TEAM", "USD")
    saga = new_saga_id()
    items = [SubscriptionItem(price_id=str(price.id), quantity=2)]
    key, deal = f"{saga}:subscribe_monthly", uuid.uuid4().hex[:6]
    made = await billing.subscribe(customer_id, items, saga, deal, key, bills_from=bills_from)
    again = await billing.subscribe(customer_id, items, saga, deal, key, bills_from=bills_from)
    assert again.id == made.id  # once per key
    return made, await billing.subscription_detail(made.id)


async def test_a_term_starting_later_is_billed_from_its_first_day_and_nothing_before(billing):
    start = datetime.now(UTC).date() + timedelta(days=3)
    made, detail = await subscribed(billing, start)
    assert made.status is SubscriptionStatus.ACTIVE and made.latest_invoice is None  # no charge, no 0 invoice
    assert detail.period.end == int(datetime.combine(start, time(), UTC).timestamp())  # the first full period


async def test_without_a_later_term_it_is_billed_from_now(billing):
    made, detail = await subscribed(billing, None)
    assert made.latest_invoice is not None and made.latest_invoice.total.amount > 0
    assert detail.period.end - detail.period.start >= 28 * 86400


async def test_a_term_already_begun_is_billed_from_now(billing):
    """A subscribe step retried after its term began (parked for days): billing cannot start in the past."""
    made, detail = await subscribed(billing, datetime.now(UTC).date())  # today's 00:00 UTC has passed
    assert made.latest_invoice is not None and made.latest_invoice.total.amount > 0
    assert detail.period.end - detail.period.start >= 28 * 86400
