"""The Stripe simulator's cancellation now, driven by Stripe's own SDK, for each of its documented parameter
combinations (`prorate`, `invoice_now`, both false by default): the unused time credited by the second as
models/proration.py computes it, billed at once onto the customer's balance, left pending, or nothing (the
subscription's pending prorations removed). Every response is held to Stripe's spec (the `recorder`)."""

# ruff: noqa: F811  (pytest fixtures are imported by name and then requested by parameter)
from __future__ import annotations

from typing import Any

from models.proration import Period, prorated_minor
from tests.conformance.stripe_sdk.fixtures import (  # noqa: F401
    _no_faults_left,
    client,
    recorder,
    spec,
    stripe_sim,
    subscribe,
)


def store(stripe_sim: Any) -> Any:
    return stripe_sim.app.state.apps["stripe"].state.stripe.store


def period_of(sub: Any) -> Period:
    item = sub["items"]["data"][0]
    holder = item if "current_period_start" in item.to_dict() else sub  # on items from 2025-03-31 on
    return Period(start=int(holder["current_period_start"]), end=int(holder["current_period_end"]))


def pending(stripe_sim: Any, subscription_id: str) -> list[dict[str, Any]]:
    return [
        i
        for i in store(stripe_sim).all("stripe", "invoiceitem")
        if i.get("subscription") == subscription_id and not i.get("invoice")
    ]


def test_prorate_and_invoice_now_bill_the_unused_time_at_once_onto_the_balance(client: Any, stripe_sim: Any) -> None:
    customer = client.v1.customers.create({"email": "cancel-refund@q2c.example", "name": "Cancel Refund Ltd"})
    sub = subscribe(client, customer.id, quantity=3)
    period, unit = period_of(sub), int(sub["items"]["data"][0]["price"]["unit_amount"])
    cancelled = client.v1.subscriptions.cancel(sub.id, {"prorate": True, "invoice_now": True})
    assert cancelled.status == "canceled" and cancelled.latest_invoice != sub.latest_invoice
    final = store(stripe_sim).get("stripe", "invoice", cancelled.latest_invoice)
    [credit] = final["_lines"]
    at = int(credit["period"]["start"])
    assert credit["proration"] and credit["description"].startswith("Unused time on 3 x")
    assert credit["period"]["end"] == period.end and period.start <= at <= period.end
    owed = -prorated_minor(unit, 3, period, at)
    assert owed < 0 and credit["amount"] == final["total"] == owed
    assert final["status"] == "paid" and final["amount_due"] == 0  # a credit is not charged, nor paid out
    assert client.v1.customers.retrieve(customer.id).balance == owed


def test_prorate_alone_leaves_the_credit_pending_for_the_next_invoice(client: Any, stripe_sim: Any) -> None:
    customer = client.v1.customers.create({"email": "cancel-pending@q2c.example", "name": "Cancel Pending Ltd"})
    sub = subscribe(client, customer.id, quantity=1)
    cancelled = client.v1.subscriptions.cancel(sub.id, {"prorate": True})
    assert cancelled.latest_invoice == sub.latest_invoice  # no final invoice
    [item] = pending(stripe_sim, sub.id)
    assert item["proration"] and item["amount"] < 0 and item["customer"] == customer.id
    assert client.v1.customers.retrieve(customer.id).balance == 0


def test_a_plain_cancellation_credits_nothing_and_drops_pending_prorations(client: Any, stripe_sim: Any) -> None:
    customer = client.v1.customers.create({"email": "cancel-plain@q2c.example", "name": "Cancel Plain Ltd"})
    sub = subscribe(client, customer.id, quantity=2)
    period, item = period_of(sub), sub["items"]["data"][0]
    at = period.start + (period.end - period.start) // 2
    client.v1.subscription_items.update(
        item.id, {"quantity": 4, "proration_behavior": "create_prorations", "proration_date": at}
    )
    assert len(pending(stripe_sim, sub.id)) == 2  # the update's credit and charge wait for the next invoice
    cancelled = client.v1.subscriptions.cancel(sub.id)
    assert cancelled.status == "canceled" and cancelled.latest_invoice == sub.latest_invoice
    assert pending(stripe_sim, sub.id) == []
    assert client.v1.customers.retrieve(customer.id).balance == 0
