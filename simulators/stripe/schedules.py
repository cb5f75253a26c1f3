"""Subscription schedules: a price change from a future date (a renewal's uplift from the new term's start).

Made `from_subscription` (one phase: what it bills now), then updated with the phases to come; an item may name
a `price` or give `price_data` (a new price is made, as Stripe does). A phase begins when the subscription's
period rolls to its `start_date` (simulators/stripe/amendments.roll).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from simulators.store import Record
from simulators.stripe.core import KIND_OF_PREFIX, PREFIX, Stripe, integer, invalid
from simulators.stripe.subscriptions import period_end

PREFIX.setdefault("subscription_schedule", "sub_sched")  # Stripe's own prefix; the id's first part is "sub"


def phase(start: int, end: int, items: list[Record], currency: str) -> Record:
    """A phase as Stripe renders it (subscription_schedule_phase_configuration)."""
    return {
        "add_invoice_items": [],
        "currency": currency,
        "start_date": start,
        "end_date": end,
        "items": items,
        "proration_behavior": "create_prorations",
    }


def phase_items(st: Stripe, phase: dict[str, Any], where: str, currency: str) -> list[Record]:
    items = []
    for index, wanted in enumerate(phase.get("items") or []):
        if wanted.get("price"):
            price = st.load("price", str(wanted["price"]), f"{where}[items][{index}][price]", 400)
        elif data := wanted.get("price_data"):
            recurring = data.get("recurring") or {}
            price = st.new(
                "price",
                {
                    "active": True,
                    "currency": str(data.get("currency") or currency).lower(),
                    "product": data.get("product"),
                    "unit_amount": integer(
                        data.get("unit_amount"), f"{where}[items][{index}][price_data][unit_amount]"
                    ),
                    "recurring": {"interval": recurring.get("interval", "year"), "interval_count": 1},
                    "type": "recurring",
                    "lookup_key": None,
                    "nickname": None,
                    "metadata": {},
                },
            )
        else:
            raise invalid("Each phase item needs a price or price_data.", f"{where}[items][{index}]")
        items.append({"price": price["id"], "quantity": int(wanted.get("quantity", 1))})
    return items


def router(st: Stripe) -> APIRouter:
    api = APIRouter()
    KIND_OF_PREFIX.setdefault("sub_sched", "subscription_schedule")

    @api.post("/v1/subscription_schedules")
    async def create(request: Request) -> Record:
        p = await st.params(request, checked=False)
        sub = st.load("subscription", str(p.get("from_subscription", "")), "from_subscription", 400)
        if sub.get("schedule"):
            raise invalid(f"Subscription {sub['id']} is already attached to a schedule.", "from_subscription")
        items = [{"price": i["price"]["id"], "quantity": i["quantity"]} for i in sub["items"]["data"]]
        now = phase(sub["current_period_start"], sub["current_period_end"], items, sub["currency"])
        schedule = st.new(
            "subscription_schedule",
            {
                "subscription": sub["id"],
                "customer": sub["customer"],
                "status": "active",
                "end_behavior": "release",
                "default_settings": {"billing_cycle_anchor": "automatic"},
                "phases": [now],
                "current_phase": {"start_date": now["start_date"], "end_date": now["end_date"]},
                "metadata": {},
            },
        )
        sub["schedule"] = schedule["id"]
        st.save(sub)
        return schedule

    @api.post("/v1/subscription_schedules/{schedule_id}")
    async def update(schedule_id: str, request: Request) -> Record:
        p = await st.params(request, checked=False)
        schedule = st.load("subscription_schedule", schedule_id)
        sub = st.load("subscription", schedule["subscription"])
        if "phases" in p:
            phases: list[dict[str, Any]] = []
            for index, wanted in enumerate(p["phases"]):
                where = f"phases[{index}]"
                start = integer(wanted.get("start_date"), f"{where}[start_date]")
                if start is None and phases:
                    start = int(phases[-1]["end_date"])
                if start is None:
                    raise invalid("The first phase needs a start_date.", f"{where}[start_date]")
                items = phase_items(st, wanted, where, sub["currency"])
                end = integer(wanted.get("end_date"), f"{where}[end_date]")
                if end is None:  # one iteration of the first item's interval, as Stripe defaults it
                    recurring = st.load("price", items[0]["price"])["recurring"]
                    end = period_end(start, recurring["interval"], int(recurring.get("interval_count", 1)))
                phases.append(phase(start, end, items, sub["currency"]))
            schedule["phases"] = phases
        if "end_behavior" in p:
            schedule["end_behavior"] = p["end_behavior"]
        return st.save(schedule)

    @api.get("/v1/subscription_schedules/{schedule_id}")
    async def retrieve(schedule_id: str) -> Record:
        return st.load("subscription_schedule", schedule_id)

    return api
