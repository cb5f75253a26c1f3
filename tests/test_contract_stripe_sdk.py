"""The Stripe simulator's subscription changes, driven by Stripe's own SDK: an item update with
`proration_behavior=always_invoice` and a `proration_date` bills what models/proration.py computes, and a
subscription schedule made from a subscription takes the next term's prices (price_data) from a future date."""

# ruff: noqa: F811  (pytest fixtures are imported by name and then requested by parameter)
from __future__ import annotations

from typing import Any

from models.money import Money
from models.proration import Period, proration_lines
from tests.conformance.stripe_sdk.fixtures import (  # noqa: F401
    _no_faults_left,
    client,
    recorder,
    spec,
    stripe_sim,
    subscribe,
)


def test_an_item_update_bills_the_proration_by_the_second(client: Any, stripe_sim: Any) -> None:
    customer = client.v1.customers.create({"email": "prorate@q2c.example", "name": "Prorate Ltd"})
    sub = subscribe(client, customer.id, quantity=2)
    item = sub["items"]["data"][0]
    holder = item if "current_period_start" in item.to_dict() else sub  # on items from 2025-03-31 on
    start, end = int(holder["current_period_start"]), int(holder["current_period_end"])
    at = start + (end - start) // 3
    updated = client.v1.subscription_items.update(
        item.id, {"quantity": 5, "proration_behavior": "always_invoice", "proration_date": at}
    )
    assert updated.quantity == 5
    invoice = stripe_sim.app.state.apps["stripe"].state.stripe.store.get(
        "stripe", "invoice", client.v1.subscriptions.retrieve(sub.id).latest_invoice
    )
    unit = Money.from_minor_units(int(item["price"]["unit_amount"]), "USD")
    expected = proration_lines("PLAT-PRO", unit, 2, 5, Period(start=start, end=end), at)
    assert invoice["billing_reason"] == "subscription_update"
    assert [x["amount"] for x in invoice["_lines"]] == [line.amount.to_minor_units() for line in expected]
    assert invoice["total"] == sum(line.amount.to_minor_units() for line in expected) > 0


def test_a_schedule_changes_the_price_from_the_next_period_not_before(client: Any, stripe_sim: Any) -> None:
    customer = client.v1.customers.create({"email": "renew@q2c.example", "name": "Renew Ltd"})
    sub = subscribe(client, customer.id, quantity=3)
    price = sub["items"]["data"][0]["price"]
    schedule = client.v1.subscription_schedules.create({"from_subscription": sub.id})
    item = sub["items"]["data"][0]
    holder = item if "current_period_start" in item.to_dict() else sub
    start, end = int(holder["current_period_start"]), int(holder["current_period_end"])
    uplifted = {
        "currency": "usd",
        "product": price["product"],
        "unit_amount": 1890000,
        "recurring": {"interval": "year"},
    }
    phases = [
        {"start_date": start, "end_date": end, "items": [{"price": price.id, "quantity": 3}]},
        {"start_date": end, "items": [{"quantity": 3, "price_data": uplifted}]},
    ]
    client.v1.subscription_schedules.update(schedule.id, {"phases": phases})
    assert client.v1.subscriptions.retrieve(sub.id)["items"]["data"][0]["price"]["unit_amount"] == 1800000  # not yet
    client.v1.subscription_items.update(  # a change in the next period: the new term's price has begun
        item.id, {"quantity": 4, "proration_behavior": "none", "proration_date": end + 86400}
    )
    now = client.v1.subscriptions.retrieve(sub.id)["items"]["data"][0]
    assert (now["price"]["unit_amount"], now["quantity"]) == (1890000, 4)
