"""Driving the Stripe simulator from outside: what a person does in Stripe's dashboard behind q2c's back, and
the refusals the demo sets up. For the demo and the chaos suite."""

from __future__ import annotations

from typing import Any

from simulators.store import Store

NAME = "stripe"


def add_seats(store: Store, workflow_id: str, seats: int) -> str:
    """Someone raises the quantity of a saga's subscription in the dashboard; returns the subscription id."""
    subscription = next(
        x for x in store.all(NAME, "subscription") if x["metadata"].get("q2c_workflow_id") == workflow_id
    )
    subscription["items"]["data"][0]["quantity"] += seats
    store.put(NAME, "subscription", subscription["id"], subscription)
    return str(subscription["id"])


def refuse_subscriptions(match: str, message: str) -> dict[str, Any]:
    """A fault (for the simulators' POST /_sim/faults): creating a subscription whose request carries `match`
    is refused as Stripe refuses a price that no longer exists."""
    return {
        "system": NAME,
        "kind": "business",
        "method": "POST",
        "path": "/v1/subscriptions",
        "match": match,
        "code": "resource_missing",
        "message": message,
    }
