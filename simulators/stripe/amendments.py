"""Subscription changes as Stripe computes them: item quantity and price updates with prorations, items added
or removed, `proration_behavior` (create_prorations, always_invoice, none) and `proration_date`.

Stripe prorates by the second: a change at t in the period [start, end) credits "Unused time on" the old
item (unit x quantity x (end - t) / (end - start)) and charges "Remaining time on" the new one, each rounded to
the minor unit. always_invoice bills the prorations at once (a credit goes to the customer's balance);
create_prorations leaves them as pending invoice items for the next invoice; none makes no proration.

This simulator has no test clock: a `proration_date` past the period end is taken as "Stripe's clock got
there", so the period rolls forward first (applying a subscription schedule's phase that has begun, and
ending a subscription set to cancel at period end), as it would have in real time.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from fastapi import APIRouter, Request

from simulators.store import Record
from simulators.stripe.core import Stripe, StripeError, integer, invalid
from simulators.stripe.invoice_shapes import draft, line
from simulators.stripe.subscriptions import period_end

BEHAVIORS = ("create_prorations", "always_invoice", "none")


def prorated(unit: int, quantity: int, start: int, end: int, at: int) -> int:
    """Stripe's share of the period left, by the second, to the minor unit."""
    exact = Decimal(unit * quantity) * Decimal(end - at) / Decimal(end - start)
    return int(exact.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def price_of(st: Stripe, item: Record) -> Record:
    price = item["price"]
    found = st.store.get("stripe", "price", price) if isinstance(price, str) else price
    if found is None:
        raise StripeError(400, "resource_missing", f"No such price: '{price}'", "price")
    return found


def roll(st: Stripe, sub: Record, at: int) -> None:
    """Move the period forward until it holds `at`, as Stripe's clock would have (see the module note)."""
    while at >= int(sub["current_period_end"]) and sub["status"] != "canceled":
        start = int(sub["current_period_end"])
        if sub.get("cancel_at_period_end"):
            sub.update(status="canceled", canceled_at=start, ended_at=start)
            break
        recurring = price_of(st, sub["items"]["data"][0])["recurring"]
        sub["current_period_start"] = start
        sub["current_period_end"] = period_end(start, recurring["interval"], int(recurring.get("interval_count", 1)))
        schedule = st.store.get("stripe", "subscription_schedule", sub.get("schedule") or "")
        if schedule:
            for phase in schedule["phases"]:
                if int(phase["start_date"]) == start:
                    apply_phase(st, sub, phase)
                    schedule["current_phase"] = {"start_date": start, "end_date": phase.get("end_date")}
            st.save(schedule)


def apply_phase(st: Stripe, sub: Record, phase: Record) -> None:
    """A schedule phase begins: the subscription's items become the phase's (prices made from price_data)."""
    items = []
    for index, wanted in enumerate(phase["items"]):
        price = st.load("price", wanted["price"], f"phases[1][items][{index}][price]", 400)
        current = next((i for i in sub["items"]["data"] if price_of(st, i)["product"] == price["product"]), None)
        item_id = current["id"] if current else f"si_{st.store.next_id('stripe:si', 1):014d}"
        items.append(
            {
                **(current or {"object": "subscription_item", "metadata": {}, "tax_rates": []}),
                "id": item_id,
                "price": price,
                "quantity": int(wanted.get("quantity", 1)),
                "subscription": sub["id"],
            }
        )
    sub["items"] = {**sub["items"], "data": items}


def prorate(
    st: Stripe, sub: Record, item: Record, price: Record, before: int, after: int, at: int, old: Record
) -> list[Record]:
    start, end = int(sub["current_period_start"]), int(sub["current_period_end"])
    if not start <= at <= end:
        raise invalid("proration_date must be within the subscription's current period.", "proration_date")
    lines = []
    period = {"start": at, "end": end}
    for unit_price, quantity, sign, label in (
        (old, before, -1, "Unused time on"),
        (price, after, 1, "Remaining time on"),
    ):
        if quantity:
            amount = sign * prorated(int(unit_price["unit_amount"] or 0), quantity, start, end, at)
            described = f"{label} {quantity} x {unit_price.get('nickname') or unit_price['product']}"
            lines.append(
                line(
                    st,
                    unit_price,
                    quantity,
                    amount,
                    sub["currency"],
                    type="invoiceitem",
                    subscription=sub["id"],
                    subscription_item=item["id"],
                    period=period,
                    description=described,
                    proration=True,
                )
            )
    return lines


def bill(st: Stripe, sub: Record, lines: list[Record], behavior: str, at: int) -> Record | None:
    """always_invoice: an invoice now (open if owed, paid from a credit to the balance if not);
    create_prorations: pending invoice items for the next invoice."""
    if not lines or behavior == "none":
        return None
    customer = st.load("customer", sub["customer"], "customer", 400)
    if behavior == "create_prorations":
        for x in lines:
            st.new(
                "invoiceitem",
                {
                    "customer": customer["id"],
                    "amount": x["amount"],
                    "currency": sub["currency"],
                    "date": at,
                    "description": x["description"],
                    "invoice": None,
                    "period": x["period"],
                    "price": x["price"],
                    "proration": True,
                    "quantity": x["quantity"],
                    "subscription": sub["id"],
                    "subscription_item": x["subscription_item"],
                    "metadata": {},
                },
            )
        return None
    invoice = draft(
        st,
        customer,
        sub["currency"],
        lines,
        subscription=sub["id"],
        collection_method=sub.get("collection_method", "charge_automatically"),
        days_until_due=sub.get("days_until_due"),
        billing_reason="subscription_update",
        subscription_proration_date=at,
        subscription_details={"metadata": sub.get("metadata") or {}},
    )
    total = int(invoice["total"])
    if total <= 0:  # a credit: the customer's balance carries it to the next invoice
        customer["balance"] = int(customer.get("balance") or 0) + total
        st.save(customer)
        invoice.update(status="paid", amount_due=0, amount_remaining=0, starting_balance=0, ending_balance=total)
    else:
        invoice.update(status="open")
    invoice["status_transitions"] = {**invoice["status_transitions"], "finalized_at": at}
    return st.save(invoice)


async def change(st: Stripe, sub: Record, item: Record | None, p: dict[str, Any]) -> Record:
    """One item's price or quantity set (a new item when `item` is None; quantity 0 removes it)."""
    behavior = str(p.get("proration_behavior") or "create_prorations")
    if behavior not in BEHAVIORS:
        raise invalid(f"Invalid proration_behavior: must be one of {', '.join(BEHAVIORS)}", "proration_behavior")
    if sub["status"] == "canceled":
        raise invalid("A canceled subscription's items cannot be updated.", "subscription")
    at = integer(p.get("proration_date"), "proration_date") or int(sub["current_period_start"])
    roll(st, sub, at)
    if item is not None:  # the roll may have replaced the item (a schedule's phase began): the current one
        item = next((i for i in sub["items"]["data"] if i["id"] == item["id"]), item)
    old = price_of(st, item) if item else None
    price = st.load("price", p["price"], "price", 400) if p.get("price") else old
    if price is None:
        raise invalid("Missing required param: price.", "price", "parameter_missing")
    if not price.get("recurring") or price["currency"] != sub["currency"]:
        raise invalid("The price must be recurring and in the subscription's currency.", "price")
    before = int(item["quantity"]) if item else 0
    after = integer(p.get("quantity"), "quantity")
    after = before if after is None else after
    if after == 0 and not item:
        raise invalid("quantity must be positive for a new item.", "quantity")
    if item is None:
        item = {
            "id": f"si_{st.store.next_id('stripe:si', 1):014d}",
            "object": "subscription_item",
            "created": at,
            "metadata": {},
            "tax_rates": [],
            "subscription": sub["id"],
        }
        sub["items"]["data"].append(item)
    lines = prorate(st, sub, item, price, before, after, at, old or price)
    item.update(price=price, quantity=after)
    if after == 0:
        sub["items"]["data"] = [i for i in sub["items"]["data"] if i["id"] != item["id"]]
    invoice = bill(st, sub, lines, behavior, at)
    if invoice is not None:
        sub["latest_invoice"] = invoice["id"]
    st.save(sub)
    return {**item, "price": st.render(price)}


def router(st: Stripe) -> APIRouter:
    api = APIRouter()

    @api.post("/v1/subscription_items/{item_id}")
    async def update_item(item_id: str, request: Request) -> Record:
        p = await st.params(request, checked=False)
        sub = next((s for s in st.live("subscription") if any(i["id"] == item_id for i in s["items"]["data"])), None)
        if sub is None:
            raise StripeError(404, "resource_missing", f"No such subscription_item: '{item_id}'", "id")
        item = next(i for i in sub["items"]["data"] if i["id"] == item_id)
        return await change(st, sub, item, p)

    @api.post("/v1/subscription_items")
    async def add_item(request: Request) -> Record:
        p = await st.params(request, checked=False)
        if not p.get("subscription"):
            raise invalid("Missing required param: subscription.", "subscription", "parameter_missing")
        sub = st.load("subscription", str(p["subscription"]), "subscription", 400)
        return await change(st, sub, None, p)

    @api.delete("/v1/subscription_items/{item_id}")
    async def remove_item(item_id: str, request: Request) -> Record:
        p = await st.params(request, checked=False)
        sub = next((s for s in st.live("subscription") if any(i["id"] == item_id for i in s["items"]["data"])), None)
        if sub is None:
            raise StripeError(404, "resource_missing", f"No such subscription_item: '{item_id}'", "id")
        item = next(i for i in sub["items"]["data"] if i["id"] == item_id)
        await change(st, sub, item, {**p, "quantity": "0"})
        return {"id": item_id, "object": "subscription_item", "deleted": True}

    return api
