"""Invoice shapes: the fields Stripe always sends, lines with their price, and what each API version moves.

https://docs.stripe.com/changelog/basil/2025-03-31/adds-new-parent-field-to-invoicing-objects and
https://docs.stripe.com/changelog/basil/2025-03-31/invoice-pricing-configurations: from 2025-03-31 an invoice's
`subscription`/`subscription_details` live under `parent`, a line's `price` under `pricing.price_details`.
"""

from __future__ import annotations

import time
from typing import Any

from simulators.store import Record
from simulators.stripe.core import Stripe

PARENTS = "2025-03-31"
_MOVED_FROM_LINES = (
    "price",
    "plan",
    "type",
    "subscription",
    "subscription_item",
    "invoice_item",
    "proration",
    "proration_details",
)


def defaults(now: int) -> Record:
    nulls = (
        "account_country account_name application application_fee_amount charge custom_fields customer_address "
        "customer_email customer_name customer_phone customer_shipping customer_tax_exempt default_payment_method "
        "default_source description discount due_date effective_at ending_balance footer from_invoice "
        "hosted_invoice_url invoice_pdf last_finalization_error latest_revision next_payment_attempt number "
        "on_behalf_of payment_intent quote receipt_number rendering_options shipping_cost shipping_details "
        "statement_descriptor subscription subscription_details tax test_clock transfer_data webhooks_delivered_at"
    ).split()
    return {
        **dict.fromkeys(nulls),
        "account_tax_ids": None,
        "amount_shipping": 0,
        "attempt_count": 0,
        "attempted": False,
        "auto_advance": False,
        "automatic_tax": {"enabled": False, "status": None},
        "billing_reason": "manual",
        "collection_method": "send_invoice",
        "customer_tax_ids": [],
        "default_tax_rates": [],
        "discounts": [],
        "paid_out_of_band": False,
        "payment_settings": {"default_mandate": None, "payment_method_options": None, "payment_method_types": None},
        "period_end": now,
        "period_start": now,
        "post_payment_credit_notes_amount": 0,
        "pre_payment_credit_notes_amount": 0,
        "starting_balance": 0,
        "status": "draft",
        "status_transitions": {
            "finalized_at": None,
            "marked_uncollectible_at": None,
            "paid_at": None,
            "voided_at": None,
        },
        "total_discount_amounts": [],
        "total_tax_amounts": [],
        "metadata": {},
    }


def line(st: Stripe, price: Record | None, quantity: int, amount: int, currency: str, **fields: Any) -> Record:
    """An invoice line: `price` is kept as an id and rendered as the price object, as Stripe sends it."""
    now = int(time.time())
    return {
        "id": f"il_{st.store.next_id('stripe:line_item', 1):014d}",
        "object": "line_item",
        "amount": amount,
        "amount_excluding_tax": amount,
        "currency": currency,
        "description": fields.pop("description", None),
        "discount_amounts": [],
        "discountable": True,
        "discounts": [],
        "livemode": False,
        "metadata": {},
        "period": fields.pop("period", {"start": now, "end": now}),
        "price": price["id"] if price else None,
        "proration": False,
        "proration_details": {"credited_items": None},
        "quantity": quantity,
        "tax_amounts": [],
        "tax_rates": [],
        "unit_amount_excluding_tax": str(amount // quantity) if quantity else None,
        **fields,
    }


def draft(st: Stripe, customer: Record, currency: str, lines: list[Record], **fields: Any) -> Record:
    amount = sum(int(x["amount"]) for x in lines)
    days = fields.pop("days_until_due", None)
    due = int(time.time()) + 86400 * int(days) if days is not None else None
    return st.new(
        "invoice",
        {
            "customer": customer["id"],
            "customer_email": customer.get("email"),
            "customer_name": customer.get("name"),
            "currency": currency,
            "amount_due": amount,
            "amount_paid": 0,
            "amount_remaining": amount,
            "subtotal": amount,
            "subtotal_excluding_tax": amount,
            "total": amount,
            "total_excluding_tax": amount,
            "due_date": due,
            "_lines": lines,
            **fields,
        },
    )


def render(st: Stripe, invoice: Record, version: str) -> Record:
    """From 2025-03-31 on, what made the invoice moves under `parent`, a line's price under `pricing`."""
    lines = [render_line(st, x, version) for x in invoice.get("_lines") or []]
    shown = dict(invoice)
    if version >= PARENTS:
        details = {"metadata": (invoice.get("subscription_details") or {}).get("metadata") or {}}
        subscription = invoice.get("subscription")
        shown["parent"] = (
            {
                "type": "subscription_details",
                "quote_details": None,
                "subscription_details": {**details, "subscription": subscription},
            }
            if subscription
            else None
        )
        for moved in ("quote", "subscription", "subscription_details", "subscription_proration_date"):
            shown.pop(moved, None)
    return {
        **shown,
        "paid": invoice.get("status") == "paid",
        "lines": {
            "object": "list",
            "data": lines[:10],
            "has_more": len(lines) > 10,
            "url": f"/v1/invoices/{invoice['id']}/lines",
        },
    }


def render_line(st: Stripe, item: Record, version: str) -> Record:
    price = st.store.get("stripe", "price", item["price"]) if isinstance(item.get("price"), str) else None
    if version < PARENTS:
        return {**item, "price": st.render(price, version) if price else None}
    shown = {k: v for k, v in item.items() if k not in _MOVED_FROM_LINES}
    shown["pricing"] = (
        {
            "type": "price_details",
            "price_details": {"price": price["id"], "product": price["product"]},
            "unit_amount_decimal": item.get("unit_amount_excluding_tax"),
        }
        if price
        else None
    )
    origin = {
        "invoice_item": item.get("invoice_item"),
        "proration": item.get("proration", False),
        "proration_details": item.get("proration_details"),
        "subscription": item.get("subscription"),
    }
    if item.get("type") == "subscription":
        shown["parent"] = {
            "type": "subscription_item_details",
            "invoice_item_details": None,
            "subscription_item_details": {**origin, "subscription_item": item.get("subscription_item")},
        }
    else:
        shown["parent"] = {
            "type": "invoice_item_details",
            "invoice_item_details": origin,
            "subscription_item_details": None,
        }
    return shown
