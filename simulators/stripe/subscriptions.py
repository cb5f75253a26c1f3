"""Subscriptions: created with their first invoice (a draft), periods by interval, update, list, search (cancel:
cancellations.py)."""

from __future__ import annotations

import calendar
import time
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal

from fastapi import APIRouter, Request

from simulators.store import Record
from simulators.stripe.core import (
    PERIODS_ON_ITEMS,
    Stripe,
    StripeError,
    flag,
    integer,
    invalid,
    merge_metadata,
    metadata,
    version_of,
)
from simulators.stripe.invoice_shapes import draft, line
from simulators.stripe.search import search

_SEARCHABLE = {"created": lambda r: r.get("created"), "status": lambda r: r.get("status")}


def period_end(start: int, interval: str, count: int) -> int:
    """`start` plus `count` intervals, by the calendar (31 Jan + 1 month = 28/29 Feb), as Stripe bills."""
    moment = datetime.fromtimestamp(start, UTC)
    if interval in ("day", "week"):
        return start + count * (86400 if interval == "day" else 7 * 86400)
    months = count * (12 if interval == "year" else 1)
    year, month = divmod(moment.month - 1 + months, 12)
    year, month = moment.year + year, month + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return int(moment.replace(year=year, month=month, day=day).timestamp())


def anchored(p: Record, now: int, natural: int) -> tuple[int | None, str]:
    """A `billing_cycle_anchor` in the future (the first full invoice's date) and `proration_behavior` for the time
    until it. Stripe refuses an anchor in the past or later than the next natural billing date (one interval)."""
    behavior = str(p.get("proration_behavior") or "create_prorations")
    if behavior not in ("always_invoice", "create_prorations", "none"):
        message = "Invalid proration_behavior: must be one of always_invoice, create_prorations, or none"
        raise invalid(message, "proration_behavior")
    anchor = integer(p.get("billing_cycle_anchor"), "billing_cycle_anchor")
    if anchor is None or anchor == now:
        return None, behavior
    if anchor < now:
        raise invalid("billing_cycle_anchor cannot be in the past.", "billing_cycle_anchor")
    if anchor > natural:
        raise invalid(
            f"billing_cycle_anchor cannot be later than next natural billing date ({natural}) for plan",
            "billing_cycle_anchor",
        )
    return anchor, behavior


def stub_amount(unit: int, quantity: int, now: int, anchor: int, natural: int) -> int:
    """The time until the anchor as a share of a natural period, by the second, to the minor unit (halves up)."""
    exact = Decimal(unit * quantity) * Decimal(anchor - now) / Decimal(natural - now)
    return int(exact.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def defaults(now: int) -> Record:
    nulls = (
        "application application_fee_percent billing_thresholds cancel_at canceled_at default_payment_method "
        "default_source default_tax_rates description discount ended_at next_pending_invoice_item_invoice "
        "on_behalf_of pause_collection payment_settings pending_invoice_item_interval pending_setup_intent "
        "pending_update schedule test_clock transfer_data trial_end trial_start latest_invoice days_until_due"
    ).split()
    return {
        **dict.fromkeys(nulls),
        "automatic_tax": {"enabled": False},
        "billing_cycle_anchor": now,
        "cancel_at_period_end": False,
        "cancellation_details": {"comment": None, "feedback": None, "reason": None},
        "collection_method": "charge_automatically",
        "current_period_start": now,
        "current_period_end": now,
        "start_date": now,
        "status": "active",
        "metadata": {},
        "trial_settings": {"end_behavior": {"missing_payment_method": "create_invoice"}},
    }


def render(st: Stripe, sub: Record, version: str) -> Record:
    """Items carry their price object; from 2025-03-31 on the billing period moves from the subscription to items."""
    on_items = version >= PERIODS_ON_ITEMS
    items = []
    for item in sub["items"]["data"]:
        price = st.store.get("stripe", "price", item["price"]) if isinstance(item["price"], str) else item["price"]
        shown = {**item, "price": st.render(price or {}, version)}
        if on_items:
            shown.update(current_period_start=sub["current_period_start"], current_period_end=sub["current_period_end"])
        items.append(shown)
    rendered = {**sub, "items": {**sub["items"], "data": items}}
    if on_items:
        rendered.pop("current_period_start", None)
        rendered.pop("current_period_end", None)
    return rendered


def router(st: Stripe) -> APIRouter:
    api = APIRouter()
    st.defaults["subscription"] = defaults
    st.renderers["subscription"] = render

    @api.post("/v1/subscriptions")
    async def create(request: Request) -> Record:
        p = await st.params(request)
        customer = st.load("customer", p["customer"], "customer", 400)
        prices: list[tuple[Record, int]] = []
        for index, item in enumerate(p.get("items") or []):
            where = f"items[{index}][price]"
            price = st.store.get("stripe", "price", str(item.get("price", "")))
            if price is None:
                raise StripeError(400, "resource_missing", f"No such price: '{item.get('price')}'", where)
            if not price.get("recurring"):
                raise invalid(
                    "The price specified is set to `type=one_time` but this field only accepts prices with "
                    "`type=recurring`.",
                    where,
                )
            first = prices[0][0] if prices else price
            if first["recurring"].get("interval") != price["recurring"].get("interval"):
                raise invalid("Currency and interval fields must match across all plans on this subscription.", where)
            if first["currency"] != price["currency"]:
                raise invalid("All prices on a subscription must have the same currency.", where)
            prices.append((price, int(item.get("quantity", 1))))
        if not prices:
            raise invalid("Missing required param: items.", "items", "parameter_missing")
        method = p.get("collection_method", "charge_automatically")
        if method == "send_invoice" and p.get("days_until_due") is None:
            raise invalid("Missing required param: days_until_due.", "days_until_due", "parameter_missing")
        now = int(time.time())
        recurring = prices[0][0]["recurring"]
        natural = period_end(now, recurring["interval"], int(recurring.get("interval_count", 1)))
        anchor, behavior = anchored(p, now, natural)
        end = anchor or natural  # a future anchor: the first period is the time until it, then periods from it
        currency = prices[0][0]["currency"]
        sub = st.new(
            "subscription",
            {
                "customer": customer["id"],
                "currency": currency,
                "collection_method": method,
                "days_until_due": integer(p.get("days_until_due"), "days_until_due"),
                "description": p.get("description"),
                "metadata": metadata(p),
                "current_period_start": now,
                "current_period_end": end,
                "start_date": now,
                "billing_cycle_anchor": anchor or now,
            },
        )
        items = [
            {
                "id": f"si_{st.store.next_id('stripe:si', 1):014d}",
                "object": "subscription_item",
                "billing_thresholds": None,
                "created": now,
                "metadata": {},
                "price": price,  # a snapshot, as the store's readers (devstack checks, tests) expect
                "quantity": quantity,
                "subscription": sub["id"],
                "tax_rates": [],
            }
            for price, quantity in prices
        ]
        url = f"/v1/subscription_items?subscription={sub['id']}"
        sub.update(items={"object": "list", "data": items, "has_more": False, "url": url})
        if anchor is not None and behavior == "none":  # free until the anchor, and no 0 USD invoice (Stripe's docs)
            return st.one(st.save(sub), request, p.get("expand"))
        lines = [
            line(
                st,
                price,
                quantity,
                stub_amount(int(price["unit_amount"] or 0), quantity, now, anchor, natural)
                if anchor
                else int(price["unit_amount"] or 0) * quantity,
                currency,
                type="subscription",
                subscription=sub["id"],
                subscription_item=item["id"],
                period={"start": now, "end": end},
                proration=anchor is not None,
                description=f"{quantity} x {price.get('nickname') or price['product']}",
            )
            for (price, quantity), item in zip(prices, items, strict=True)
        ]
        invoice = draft(
            st,
            customer,
            currency,
            lines,
            subscription=sub["id"],
            collection_method=method,
            days_until_due=p.get("days_until_due"),
            billing_reason="subscription_create",
            period_start=now,
            period_end=now,
            # Stripe keeps a subscription's metadata on its invoices here, not in the invoice's own metadata.
            subscription_details={"metadata": metadata(p)},
        )
        sub.update(latest_invoice=invoice["id"])
        return st.one(st.save(sub), request, p.get("expand"))

    @api.get("/v1/subscriptions")
    async def listing(request: Request) -> Record:
        p = await st.params(request)
        found = st.live("subscription")
        for field in ("customer", "collection_method"):
            if field in p:
                found = [s for s in found if s.get(field) == p[field]]
        if price := p.get("price"):
            found = [s for s in found if any(i["price"]["id"] == price for i in s["items"]["data"])]
        status = p.get("status")
        if status == "ended":
            found = [s for s in found if s["status"] in ("canceled", "incomplete_expired")]
        elif status != "all":  # by default Stripe lists every subscription that is not canceled
            found = [s for s in found if s["status"] == status or (status is None and s["status"] != "canceled")]
        return st.page(found, p, "/v1/subscriptions", version_of(request))

    @api.get("/v1/subscriptions/search")
    async def find(request: Request) -> Record:
        p = await st.params(request, checked=False)
        return search(st, st.live("subscription"), _SEARCHABLE, p, "/v1/subscriptions/search", version_of(request))

    @api.get("/v1/subscriptions/{subscription_id}")
    async def retrieve(subscription_id: str, request: Request) -> Record:
        p = await st.params(request)
        return st.one(st.load("subscription", subscription_id), request, p.get("expand"))

    @api.post("/v1/subscriptions/{subscription_id}")
    async def update(subscription_id: str, request: Request) -> Record:
        sub, p = st.load("subscription", subscription_id), await st.params(request)
        if sub["status"] == "canceled":
            raise invalid("A canceled subscription can only update its cancellation_details and metadata.", "id")
        sub.update({k: p[k] for k in ("description", "days_until_due") if k in p})
        if "cancel_at_period_end" in p:
            sub["cancel_at_period_end"] = flag(p["cancel_at_period_end"])
        sub["cancel_at"] = sub["current_period_end"] if sub["cancel_at_period_end"] else None
        if "metadata" in p:
            sub["metadata"] = merge_metadata(sub.get("metadata") or {}, p["metadata"])
        return st.one(st.save(sub), request, p.get("expand"))

    return api
