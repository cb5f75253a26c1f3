"""Invoices and invoice items: drafts, finalize, void, pay, delete (one-off drafts only), lines, list and search."""

from __future__ import annotations

import time
from typing import Any

from fastapi import APIRouter, Request

from simulators.store import Record
from simulators.stripe.core import Stripe, StripeError, flag, invalid, limit_of, merge_metadata, metadata, version_of
from simulators.stripe.events import emit
from simulators.stripe.invoice_shapes import defaults, draft, line, render, render_line
from simulators.stripe.search import search

_SEARCHABLE = {
    "created": lambda r: r.get("created"),
    "currency": lambda r: r.get("currency"),
    "customer": lambda r: r.get("customer"),
    "number": lambda r: r.get("number"),
    "receipt_number": lambda r: r.get("receipt_number"),
    "status": lambda r: r.get("status"),
    "subscription": lambda r: r.get("subscription"),
    "total": lambda r: r.get("total"),
}


def transition(st: Stripe, invoice_id: str, allowed: str, message: str, **fields: Any) -> Record:
    invoice = st.load("invoice", invoice_id)
    if invoice["status"] != allowed:
        raise StripeError(400, "invoice_unexpected_state", message, "invoice")
    invoice.update(fields)
    return st.save(invoice)


def router(st: Stripe) -> APIRouter:
    api = APIRouter()
    st.defaults["invoice"] = defaults
    st.renderers["invoice"] = render

    @api.post("/v1/invoices")
    async def create(request: Request) -> Record:
        p = await st.params(request)
        customer = st.load("customer", p["customer"], "customer", 400)
        pending = [i for i in st.live("invoiceitem") if i["customer"] == customer["id"] and not i.get("invoice")]
        if p.get("pending_invoice_items_behavior") == "exclude":
            pending = []
        lines = [
            line(
                st, i.get("price"), i["quantity"], i["amount"], i["currency"], type="invoiceitem", invoice_item=i["id"]
            )
            for i in pending
        ]
        currency = str(p.get("currency") or (pending[0]["currency"] if pending else "usd")).lower()
        if (
            p.get("collection_method", "charge_automatically") == "send_invoice"
            and p.get("days_until_due") is None
            and p.get("due_date") is None
        ):
            raise invalid("Missing required param: days_until_due.", "days_until_due", "parameter_missing")
        invoice = draft(
            st,
            customer,
            currency,
            lines,
            collection_method=p.get("collection_method", "charge_automatically"),
            days_until_due=p.get("days_until_due"),
            description=p.get("description"),
            auto_advance=flag(p.get("auto_advance")),
            metadata=metadata(p),
        )
        for item in pending:
            st.save({**item, "invoice": invoice["id"]})
        return st.one(invoice, request, p.get("expand"))

    @api.get("/v1/invoices")
    async def listing(request: Request) -> Record:
        p = await st.params(request)
        found = st.live("invoice")
        for field in ("customer", "subscription", "status", "collection_method"):
            if field in p:
                found = [i for i in found if i.get(field) == p[field]]
        return st.page(found, p, "/v1/invoices", version_of(request))

    @api.get("/v1/invoices/search")
    async def find(request: Request) -> Record:
        p = await st.params(request, checked=False)
        return search(st, st.live("invoice"), _SEARCHABLE, p, "/v1/invoices/search", version_of(request))

    @api.get("/v1/invoices/{invoice_id}")
    async def retrieve(invoice_id: str, request: Request) -> Record:
        p = await st.params(request)
        return st.one(st.load("invoice", invoice_id), request, p.get("expand"))

    @api.get("/v1/invoices/{invoice_id}/lines")
    async def lines(invoice_id: str, request: Request) -> Record:
        """Lines keep the invoice's order; the cursor is a line id."""
        p = await st.params(request, checked=False)
        version = version_of(request)
        stored = st.load("invoice", invoice_id).get("_lines") or []
        ids = [x["id"] for x in stored]
        limit, start, end = limit_of(p), 0, len(stored)
        for param in ("starting_after", "ending_before"):
            if p.get(param) and p[param] not in ids:
                raise StripeError(400, "resource_missing", f"No such line item: '{p[param]}'", param)
        if p.get("starting_after"):
            start = ids.index(p["starting_after"]) + 1
        elif p.get("ending_before"):
            end = ids.index(p["ending_before"])
            start = max(0, end - limit)
        chosen = stored[start : min(end, start + limit)]
        more = (start + limit < end) if not p.get("ending_before") else start > 0
        data = [render_line(st, x, version) for x in chosen]
        return {"object": "list", "data": data, "has_more": more, "url": f"/v1/invoices/{invoice_id}/lines"}

    @api.post("/v1/invoices/{invoice_id}")
    async def update(invoice_id: str, request: Request) -> Record:
        invoice, p = st.load("invoice", invoice_id), await st.params(request)
        if invoice["status"] != "draft" and set(p) - {"metadata", "description", "footer", "expand"}:
            raise StripeError(400, "invoice_not_editable", "You can only update metadata of a finalized invoice.", "id")
        invoice.update({k: p[k] for k in ("description", "footer", "auto_advance") if k in p})
        if "metadata" in p:
            invoice["metadata"] = merge_metadata(invoice.get("metadata") or {}, p["metadata"])
        return st.one(st.save(invoice), request, p.get("expand"))

    @api.delete("/v1/invoices/{invoice_id}")
    async def delete(invoice_id: str, request: Request) -> Record:
        await st.params(request)
        invoice = st.load("invoice", invoice_id)
        if invoice["status"] != "draft":
            raise StripeError(400, "invoice_not_editable", "You can only delete draft invoices.", "id")
        if invoice.get("subscription"):  # Stripe: an invoice for a subscription must be voided instead
            raise StripeError(
                400,
                "invoice_not_editable",
                "You can't delete invoices created by subscriptions. Finalize and void the invoice instead.",
                "id",
            )
        st.save({**invoice, "_deleted": True})
        return {"id": invoice_id, "object": "invoice", "deleted": True}

    @api.post("/v1/invoices/{invoice_id}/finalize")
    async def finalize(invoice_id: str, request: Request) -> Record:
        p = await st.params(request)
        now = int(time.time())
        current = st.load("invoice", invoice_id)
        invoice = transition(
            st,
            invoice_id,
            "draft",
            "This invoice is already finalized, you can't re-finalize a non-draft invoice.",
            status="open",
            number=f"Q2C-{st.store.next_id('stripe:invoice_number', 1):04d}",
            effective_at=now,
            hosted_invoice_url=f"https://invoice.stripe.com/i/sim/{invoice_id}",
            invoice_pdf=f"https://pay.stripe.com/invoice/sim/{invoice_id}/pdf",
            status_transitions={**current["status_transitions"], "finalized_at": now},
        )
        if invoice["amount_due"] == 0:  # Stripe marks a zero-amount invoice paid on finalization
            invoice = st.save(
                {**invoice, "status": "paid", "status_transitions": {**invoice["status_transitions"], "paid_at": now}}
            )
        emit(st, "invoice.finalized", invoice)
        return st.one(invoice, request, p.get("expand"))

    @api.post("/v1/invoices/{invoice_id}/void")
    async def void(invoice_id: str, request: Request) -> Record:
        p = await st.params(request)
        current = st.load("invoice", invoice_id)
        invoice = transition(
            st,
            invoice_id,
            "open",
            "You can only pass in open invoices. This invoice isn't open.",
            status="void",
            status_transitions={**current["status_transitions"], "voided_at": int(time.time())},
        )
        emit(st, "invoice.voided", invoice)
        return st.one(invoice, request, p.get("expand"))

    @api.post("/v1/invoices/{invoice_id}/pay")
    async def pay(invoice_id: str, request: Request) -> Record:
        p = await st.params(request)
        current = st.load("invoice", invoice_id)
        invoice = transition(
            st,
            invoice_id,
            "open",
            "Invoice is already paid or not open.",
            status="paid",
            attempted=True,
            attempt_count=current["attempt_count"] + 1,
            paid_out_of_band=flag(p.get("paid_out_of_band")),
            amount_paid=current["amount_paid"] + current["amount_remaining"],
            amount_remaining=0,
            status_transitions={**current["status_transitions"], "paid_at": int(time.time())},
        )
        emit(st, "invoice.paid", invoice)
        return st.one(invoice, request, p.get("expand"))

    return api
