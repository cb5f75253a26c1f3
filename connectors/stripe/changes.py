"""Stripe subscription changes for the contract's sagas: items updated with prorations, cancel at period end or
now (the unused time credited), prices changed from a future date by a subscription schedule. Stripe's field
names stay in this module."""

from __future__ import annotations

from typing import Any

from connectors.stripe import fields
from connectors.stripe.client import StripeClient
from connectors.stripe.mapping import _INTERVAL
from models.amendments import BilledItem, Cancellation, ItemChange, ItemsChanged, Proration, SubscriptionDetail
from models.catalog import BillingFrequency
from models.money import Money
from models.proration import Period


def detail_from_stripe(record: dict[str, Any]) -> SubscriptionDetail:
    """Items with their prices, and the current period (on the subscription, or on items from 2025-03-31 on)."""
    items = fields.listed(record, "subscription", "items.data")
    holder = record if "current_period_start" in record else (items[0] if items else record)
    owner = "subscription" if holder is record else "subscription_item"
    period = Period(
        start=fields.integer(holder, owner, "current_period_start") or 0,
        end=fields.integer(holder, owner, "current_period_end") or 0,
    )
    billed = []
    for item in items:
        price = item["price"]
        interval = fields.required_text(price, "price", "recurring.interval")
        key = fields.text(price, "price", "lookup_key", nullable=True) if "lookup_key" in price else None
        billed.append(
            BilledItem(
                item_id=fields.required_text(item, "subscription_item", "id"),
                price_id=fields.required_text(price, "price", "id"),
                sku=key.split(":", 1)[0].upper() if key else None,
                quantity=fields.integer(item, "subscription_item", "quantity") or 0,
                unit_amount=fields.money(price, "price", "unit_amount"),
                frequency=_INTERVAL.get(interval, BillingFrequency.MONTHLY),
            )
        )
    schedule = record.get("schedule")
    return SubscriptionDetail(
        id=fields.required_text(record, "subscription", "id"),
        status=fields.required_text(record, "subscription", "status"),
        items=billed,
        period=period,
        cancel_at_period_end=record.get("cancel_at_period_end") is True,
        schedule_id=(schedule.get("id") if isinstance(schedule, dict) else schedule) or None,
    )


async def read(client: StripeClient, subscription_id: str) -> SubscriptionDetail:
    return detail_from_stripe(await client.get(f"/v1/subscriptions/{subscription_id}"))


async def change_items(
    client: StripeClient, subscription_id: str, changes: list[ItemChange], proration: Proration, at: int, key: str
) -> ItemsChanged:
    """One call per item (Stripe's subscription item endpoints), each keyed; then the subscription as it is now.

    The proration is what this change billed: the invoice always_invoice made, or the pending items it left.
    """
    before = await client.get(f"/v1/subscriptions/{subscription_id}")
    latest_before = before.get("latest_invoice")
    item_ids: dict[str, str] = {}
    for index, change in enumerate(changes):
        params: dict[str, Any] = {"proration_behavior": proration, "proration_date": at, "quantity": change.quantity}
        if change.item_id is None:
            made = await client.post(
                "/v1/subscription_items",
                {**params, "subscription": subscription_id, "price": change.price_id},
                f"{key}:{index}",
            )
        else:  # the item keeps its current price (a renewal's schedule may have changed it)
            made = await client.post(f"/v1/subscription_items/{change.item_id}", params, f"{key}:{index}")
        item_ids[change.price_id] = fields.required_text(made, "subscription_item", "id")
    after = await client.get(f"/v1/subscriptions/{subscription_id}")
    detail = detail_from_stripe(after)
    currency = fields.currency(after, "subscription")
    total, invoice_id = Money.zero(currency), None
    latest = after.get("latest_invoice")
    if proration == "always_invoice" and latest and latest != latest_before:
        invoice_id = str(latest)
        total = fields.money(await client.get(f"/v1/invoices/{invoice_id}"), "invoice", "total")
    elif proration == "create_prorations":
        async for item in client.list_all("/v1/invoiceitems", {"customer": after["customer"], "pending": True}):
            if item.get("subscription") == subscription_id and item.get("proration") and item.get("date") == at:
                total = total + fields.money(item, "invoiceitem", "amount")
    return ItemsChanged(subscription=detail, invoice_id=invoice_id, proration_total=total, item_ids=item_ids)


async def end_at_period_end(client: StripeClient, subscription_id: str, end: bool, key: str) -> SubscriptionDetail:
    return detail_from_stripe(
        await client.post(f"/v1/subscriptions/{subscription_id}", {"cancel_at_period_end": end}, key)
    )


async def schedule_prices(
    client: StripeClient, subscription_id: str, start: int, items: list[ItemChange], amounts: dict[str, Money], key: str
) -> str:
    """From `start` on the items bill at `amounts` (new prices made from price_data, as Stripe prices are fixed)."""
    current = await client.get(f"/v1/subscriptions/{subscription_id}")
    schedule = current.get("schedule")
    schedule_id = schedule.get("id") if isinstance(schedule, dict) else schedule
    if not schedule_id:
        made = await client.post("/v1/subscription_schedules", {"from_subscription": subscription_id}, f"{key}:make")
        schedule_id = made["id"]
    detail = detail_from_stripe(current)
    prices = {i.price_id: i for i in detail.items}
    now_phase = {
        "start_date": detail.period.start,
        "end_date": start,
        "items": [{"price": i.price_id, "quantity": i.quantity} for i in detail.items],
    }
    next_items = []
    for change in items:
        billed = prices[change.price_id]
        product = await client.get(f"/v1/prices/{change.price_id}")
        next_items.append(
            {
                "quantity": change.quantity,
                "price_data": {
                    "currency": amounts[change.price_id].currency.lower(),
                    "product": product["product"],
                    "unit_amount": fields.minor_units(amounts[change.price_id]),
                    "recurring": {"interval": "year" if billed.frequency is BillingFrequency.ANNUALLY else "month"},
                },
            }
        )
    phases = [now_phase, {"start_date": start, "items": next_items}]
    await client.post(f"/v1/subscription_schedules/{schedule_id}", {"phases": phases}, f"{key}:phases")
    return str(schedule_id)


async def cancel_now(client: StripeClient, subscription_id: str, refund: bool) -> Cancellation:
    """DELETE the subscription; with a refund Stripe prorates (`prorate`: the unused time credited, by the second)
    and bills the credit at once (`invoice_now`: a final invoice, a negative total going to the customer's
    balance). Stripe takes no idempotency key on DELETE: a subscription already cancelled is read, not
    cancelled again, so a retry finds the credit its first attempt made on the final invoice."""
    record = await client.get(f"/v1/subscriptions/{subscription_id}")
    if record.get("status") != "canceled":
        params = {"prorate": "true", "invoice_now": "true"} if refund else {}
        record = await client.delete(f"/v1/subscriptions/{subscription_id}", params)
    detail = detail_from_stripe(record)
    currency = fields.currency(record, "subscription")
    cancelled_at = fields.integer(record, "subscription", "canceled_at") or detail.period.start
    at = min(max(cancelled_at, detail.period.start), detail.period.end)
    credits: dict[str, Money] = {}
    invoice_id = record.get("latest_invoice")
    invoice_id = invoice_id.get("id") if isinstance(invoice_id, dict) else invoice_id
    if refund and invoice_id:
        items = {i.price_id: i.item_id for i in detail.items}
        async for line in client.list_all(f"/v1/invoices/{invoice_id}/lines"):
            price = _line_price(line)
            period = line.get("period") or {}
            if _is_proration(line) and period.get("start") == at and price in items:
                amount = fields.money(line, "line_item", "amount")
                credits[items[price]] = credits.get(items[price], Money.zero(currency)) + amount
    total = Money.zero(currency)
    for amount in credits.values():
        total = total + amount
    return Cancellation(
        subscription=detail, at=at, credit=total, credits=credits, invoice_id=str(invoice_id) if credits else None
    )


def _line_price(line: dict[str, Any]) -> str | None:
    """The line's price id: `price` until 2025-03-31, `pricing.price_details.price` from then on."""
    price = line.get("price")
    if isinstance(price, dict):
        return str(price.get("id"))
    details = (line.get("pricing") or {}).get("price_details") or {}
    return details.get("price") or (price if isinstance(price, str) else None)


def _is_proration(line: dict[str, Any]) -> bool:
    """`proration` on the line until 2025-03-31, under its `parent`'s details from then on."""
    if "proration" in line:
        return line["proration"] is True
    parent = line.get("parent") or {}
    details = parent.get("invoice_item_details") or parent.get("subscription_item_details") or {}
    return details.get("proration") is True
