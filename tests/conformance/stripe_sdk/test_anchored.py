"""A subscription whose billing starts at a future contract term, through Stripe's own SDK: `billing_cycle_anchor`
in the future with `proration_behavior=none` (what q2c's connector sends for a term starting after the sale).
Every response is checked against Stripe's spec (fixtures.py); docs/conformance/stripe.md has the table.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

import pytest
import stripe

from tests.conformance.stripe_sdk.fixtures import StripeSim, price_id, subscribe

DAY = 86400


def stored(stripe_sim: StripeSim, kind: str, record_id: str) -> Any:
    return stripe_sim.state.store.get("stripe", kind, record_id)


def invoices_of(client: Any, subscription_id: str) -> list[Any]:
    return list(client.v1.invoices.list({"subscription": subscription_id}).auto_paging_iter())


# https://docs.stripe.com/billing/subscriptions/billing-cycle ("If proration_behavior is none, the initial period up
# to the billing cycle anchor will be free ... Unlike a trial, there is no 0 USD invoice")
# https://docs.stripe.com/api/subscriptions/create?api-version=2023-08-16 (billing_cycle_anchor, proration_behavior)
def test_a_future_anchor_without_proration_bills_nothing_before_it(client: Any) -> None:
    customer = client.v1.customers.create({"name": "Anchor Co"}).id
    anchor = int(time.time()) + 3 * DAY
    sub = subscribe(client, customer, billing_cycle_anchor=anchor, proration_behavior="none", expand=["latest_invoice"])
    assert sub.status == "active" and sub.billing_cycle_anchor == anchor
    assert sub.current_period_start == sub.start_date < anchor == sub.current_period_end  # free until the anchor
    assert sub.latest_invoice is None and invoices_of(client, sub.id) == []
    again = client.v1.subscriptions.retrieve(sub.id, {"expand": ["latest_invoice"]})
    assert again.latest_invoice is None and again.current_period_end == anchor


# https://docs.stripe.com/billing/subscriptions/billing-cycle (full periods follow the anchor, by the calendar)
def test_the_first_full_period_starts_at_the_anchor(client: Any, stripe_sim: StripeSim) -> None:
    customer = client.v1.customers.create({"name": "Term Co"}).id
    anchor = int(datetime(*time.gmtime(time.time() + 5 * DAY)[:3], tzinfo=UTC).timestamp())  # a day's 00:00 UTC
    sub = subscribe(client, customer, billing_cycle_anchor=anchor, proration_behavior="none")
    item = sub["items"].data[0]
    # The simulator has no test clock: a change dated after the anchor is "Stripe's clock got there".
    client.v1.subscription_items.update(
        item.id, {"quantity": 2, "proration_behavior": "none", "proration_date": anchor + DAY}
    )
    rolled = client.v1.subscriptions.retrieve(sub.id)
    start = datetime.fromtimestamp(rolled.current_period_start, UTC)
    end = datetime.fromtimestamp(rolled.current_period_end, UTC)
    assert rolled.current_period_start == anchor and (end.year, end.month, end.day) == (
        start.year + 1,
        start.month,
        start.day,
    )


# https://docs.stripe.com/billing/subscriptions/billing-cycle (the default prorates the time until the anchor)
def test_a_future_anchor_with_prorations_invoices_the_time_until_it(client: Any, stripe_sim: StripeSim) -> None:
    customer = client.v1.customers.create({"name": "Stub Co"}).id
    now = int(time.time())
    anchor = now + 30 * DAY
    sub = subscribe(client, customer, billing_cycle_anchor=anchor)
    invoice = stored(stripe_sim, "invoice", sub.latest_invoice)
    [line] = invoice["_lines"]
    full = client.v1.prices.retrieve(price_id(client, "plat-pro:usd")).unit_amount * 2
    assert line["period"] == {"start": sub.current_period_start, "end": anchor} and line["proration"] is True
    assert 0 < invoice["total"] == line["amount"] < full  # about 30/365 of a year's price
    assert abs(line["amount"] - full * 30 / 365) <= full / 365


# Stripe refuses an anchor past the next natural billing date ("billing_cycle_anchor cannot be later than next
# natural billing date (...) for plan", as seen in github.com/stripe/stripe-java/issues/454) and one in the past.
@pytest.mark.parametrize(("days", "says"), [(40, "cannot be later than next natural billing date"), (-1, "past")])
def test_an_anchor_outside_the_first_period_is_refused(client: Any, days: int, says: str) -> None:
    customer = client.v1.customers.create({"name": "Far Co"}).id
    anchor = int(time.time()) + days * DAY
    with pytest.raises(stripe.InvalidRequestError) as refused:
        subscribe(client, customer, "plat-team:usd", 1, billing_cycle_anchor=anchor, proration_behavior="none")
    assert says in str(refused.value.user_message) and refused.value.param == "billing_cycle_anchor"
