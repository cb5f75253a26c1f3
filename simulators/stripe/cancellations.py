"""Cancel a subscription now (DELETE /v1/subscriptions/{id}) as Stripe does, with `prorate` and `invoice_now`.

Stripe's documented parameters, both false by default:
- `prorate`: a proration invoice item per item credits the unused time, "Unused time on ..." from the moment of
  the cancellation to the period's end, by the second (the rule of amendments.prorated), to the minor unit;
- `invoice_now`: a final invoice at once for the new and pending proration items of the subscription; a negative
  total is not refunded, it is paid from a credit to the customer's balance (as `always_invoice` does);
- `prorate` without `invoice_now` leaves the credit pending for the customer's next invoice; neither removes
  the subscription's pending prorations.
The cancellation happens at this simulator's clock (Stripe takes no date for it); the credit lines carry it as
their period's start, so a caller knows the second Stripe used.
"""

from __future__ import annotations

import time

from fastapi import APIRouter, Request

from simulators.store import Record
from simulators.stripe.amendments import bill, price_of, prorated
from simulators.stripe.core import Stripe, StripeError, flag
from simulators.stripe.invoice_shapes import line


def unused_time(st: Stripe, sub: Record, at: int) -> list[Record]:
    """The credit for each item's unused time, from `at` to the period's end (no line for a zero credit)."""
    start, end = int(sub["current_period_start"]), int(sub["current_period_end"])
    lines = []
    for item in sub["items"]["data"]:
        price, quantity = price_of(st, item), int(item["quantity"])
        amount = -prorated(int(price["unit_amount"] or 0), quantity, start, end, at) if end > start else 0
        if amount:
            lines.append(
                line(
                    st,
                    price,
                    quantity,
                    amount,
                    sub["currency"],
                    type="invoiceitem",
                    subscription=sub["id"],
                    subscription_item=item["id"],
                    period={"start": at, "end": end},
                    description=f"Unused time on {quantity} x {price.get('nickname') or price['product']}",
                    proration=True,
                )
            )
    return lines


def pending_prorations(st: Stripe, sub: Record) -> list[Record]:
    return [
        i
        for i in st.live("invoiceitem")
        if i.get("subscription") == sub["id"] and not i.get("invoice") and i.get("proration")
    ]


def as_line(st: Stripe, item: Record) -> Record:
    return line(
        st,
        st.store.get("stripe", "price", item["price"]) if isinstance(item.get("price"), str) else None,
        int(item["quantity"]),
        int(item["amount"]),
        item["currency"],
        type="invoiceitem",
        invoice_item=item["id"],
        subscription=item.get("subscription"),
        period=item.get("period"),
        description=item.get("description"),
        proration=True,
    )


def router(st: Stripe) -> APIRouter:
    api = APIRouter()

    @api.delete("/v1/subscriptions/{subscription_id}")
    async def cancel(subscription_id: str, request: Request) -> Record:
        p = await st.params(request)
        sub = st.load("subscription", subscription_id)
        if sub["status"] == "canceled":
            raise StripeError(
                400,
                "resource_missing",
                f"No such subscription: '{subscription_id}'; it has already been canceled.",
                "id",
            )
        now = int(time.time())
        at = min(max(now, int(sub["current_period_start"])), int(sub["current_period_end"]))
        credits = unused_time(st, sub, at) if flag(p.get("prorate")) else []
        pending = pending_prorations(st, sub)
        if flag(p.get("invoice_now")):
            invoice = bill(st, sub, credits + [as_line(st, i) for i in pending], "always_invoice", at)
            for item in pending:
                st.save({**item, "invoice": invoice["id"] if invoice else None})
            if invoice is not None:
                sub["latest_invoice"] = invoice["id"]
        elif credits:
            bill(st, sub, credits, "create_prorations", at)
        else:
            for item in pending:
                st.store.delete("stripe", "invoiceitem", item["id"])
        details = {**sub["cancellation_details"], **(p.get("cancellation_details") or {})}
        sub.update(status="canceled", canceled_at=now, ended_at=now, cancellation_details=details)
        return st.one(st.save(sub), request, p.get("expand"))

    return api
