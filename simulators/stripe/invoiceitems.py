"""Invoice items: pending charges that the customer's next invoice picks up."""

from __future__ import annotations

import time

from fastapi import APIRouter, Request

from simulators.store import Record
from simulators.stripe.core import Stripe, flag, integer, metadata, version_of


def router(st: Stripe) -> APIRouter:
    api = APIRouter()
    # an invoice item has `date`, not `created` (kept internally for the list order)
    st.renderers["invoiceitem"] = lambda _, item, __: {k: v for k, v in item.items() if k != "created"}

    @api.post("/v1/invoiceitems")
    async def create_item(request: Request) -> Record:
        p = await st.params(request)
        st.load("customer", p["customer"], "customer", 400)
        price = st.load("price", p["price"], "price", 400) if p.get("price") else None
        quantity = int(p.get("quantity", 1))
        unit = int(price["unit_amount"]) if price else integer(p.get("unit_amount"), "unit_amount")
        amount = unit * quantity if unit is not None else int(p.get("amount", 0))
        currency = price["currency"] if price else str(p.get("currency", "usd")).lower()
        now = int(time.time())
        item = st.new(
            "invoiceitem",
            {
                "customer": p["customer"],
                "price": price,
                "quantity": quantity,
                "amount": amount,
                "unit_amount": unit,
                "unit_amount_decimal": None if unit is None else str(unit),
                "currency": currency,
                "date": now,
                "description": p.get("description"),
                "discountable": True,
                "discounts": [],
                "invoice": p.get("invoice"),
                "period": {"start": now, "end": now},
                "proration": False,
                "subscription": None,
                "tax_rates": [],
                "test_clock": None,
                "metadata": metadata(p),
            },
        )
        return st.one(item, request, p.get("expand"))

    @api.get("/v1/invoiceitems")
    async def list_items(request: Request) -> Record:
        p = await st.params(request)
        found = st.live("invoiceitem")
        for field in ("customer", "invoice"):
            if field in p:
                found = [i for i in found if i.get(field) == p[field]]
        if "pending" in p:
            found = [i for i in found if (i.get("invoice") is None) is flag(p["pending"])]
        return st.page(found, p, "/v1/invoiceitems", version_of(request))

    return api
