"""Credit notes: an open invoice's `amount_due` goes down (never below zero); a paid one's credit is accounted for."""

from __future__ import annotations

from fastapi import APIRouter, Request

from simulators.store import Record
from simulators.stripe.core import Stripe, StripeError, integer, invalid, metadata, version_of


def router(st: Stripe) -> APIRouter:
    api = APIRouter()

    @api.post("/v1/credit_notes")
    async def create(request: Request) -> Record:
        p = await st.params(request)
        invoice = st.load("invoice", p["invoice"], "invoice", 400)
        if invoice["status"] not in ("open", "paid"):
            raise StripeError(
                400, "invoice_unexpected_state", "Credit notes can only be issued for open or paid invoices.", "invoice"
            )
        if p.get("amount") is None and not p.get("lines"):
            raise invalid(
                "One of `amount`, `lines`, or `shipping_cost` must be provided.", "amount", "parameter_missing"
            )
        amount = integer(p.get("amount")) or sum(integer(x.get("amount"), "lines") or 0 for x in p.get("lines") or [])
        if amount <= 0:
            raise invalid("The credit note amount must be greater than zero.", "amount")
        out_of_band = integer(p.get("out_of_band_amount"), "out_of_band_amount")
        if invoice["status"] == "open":
            kind = "pre_payment"
            if amount > invoice["amount_remaining"]:
                raise invalid(
                    f"The credit note amount ({amount}) cannot exceed the invoice's amount remaining "
                    f"({invoice['amount_remaining']}).",
                    "amount",
                )
            invoice.update(
                amount_due=invoice["amount_due"] - amount,
                amount_remaining=invoice["amount_remaining"] - amount,
                pre_payment_credit_notes_amount=invoice["pre_payment_credit_notes_amount"] + amount,
            )
        else:
            kind = "post_payment"
            creditable = invoice["amount_paid"] - invoice["post_payment_credit_notes_amount"]
            if amount > creditable:
                raise invalid(
                    f"The credit note amount ({amount}) cannot exceed the amount paid not yet credited ({creditable}).",
                    "amount",
                )
            accounted = sum(integer(p.get(k), k) or 0 for k in ("refund_amount", "credit_amount", "out_of_band_amount"))
            if accounted != amount:
                raise invalid(
                    f"The sum of credit amount, refund amount and out of band amount ({accounted}) must equal the "
                    f"credit note amount ({amount}).",
                    "amount",
                )
            invoice["post_payment_credit_notes_amount"] += amount
        st.save(invoice)
        number = st.store.next_id("stripe:credit_note_number", 1)
        note = st.new(
            "credit_note",
            {
                "invoice": invoice["id"],
                "customer": invoice["customer"],
                "amount": amount,
                "amount_shipping": 0,
                "currency": invoice["currency"],
                "customer_balance_transaction": None,
                "discount_amount": 0,
                "discount_amounts": [],
                "effective_at": None,
                "memo": p.get("memo"),
                "number": f"{invoice.get('number') or 'Q2C'}-CN-{number:02d}",
                "out_of_band_amount": out_of_band,
                "pdf": f"https://pay.stripe.com/credit_notes/sim/{number}/pdf",
                "reason": p.get("reason"),
                "refund": None,
                "shipping_cost": None,
                "status": "issued",
                "subtotal": amount,
                "subtotal_excluding_tax": amount,
                "tax_amounts": [],
                "total": amount,
                "total_excluding_tax": amount,
                "type": kind,
                "voided_at": None,
                "metadata": metadata(p),
            },
        )
        note["lines"] = {
            "object": "list",
            "data": [
                {
                    "id": f"cnli_{number:014d}",
                    "object": "credit_note_line_item",
                    "amount": amount,
                    "amount_excluding_tax": amount,
                    "description": p.get("memo"),
                    "discount_amount": 0,
                    "discount_amounts": [],
                    "livemode": False,
                    "quantity": 1,
                    "tax_amounts": [],
                    "tax_rates": [],
                    "type": "custom_line_item",
                    "unit_amount": amount,
                    "unit_amount_decimal": str(amount),
                    "unit_amount_excluding_tax": str(amount),
                }
            ],
            "has_more": False,
            "url": f"/v1/credit_notes/{note['id']}/lines",
        }
        return st.one(st.save(note), request, p.get("expand"))

    @api.get("/v1/credit_notes")
    async def listing(request: Request) -> Record:
        p = await st.params(request)
        found = st.live("credit_note")
        for field in ("customer", "invoice"):
            if field in p:
                found = [c for c in found if c.get(field) == p[field]]
        return st.page(found, p, "/v1/credit_notes", version_of(request))

    @api.get("/v1/credit_notes/{credit_note_id}")
    async def retrieve(credit_note_id: str, request: Request) -> Record:
        p = await st.params(request)
        return st.one(st.load("credit_note", credit_note_id), request, p.get("expand"))

    return api
