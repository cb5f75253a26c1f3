"""Customers: create, retrieve, update, delete, list (by email) and search."""

from __future__ import annotations

from fastapi import APIRouter, Request

from simulators.store import Record
from simulators.stripe.core import Stripe, merge_metadata, metadata, version_of
from simulators.stripe.search import search

_UPDATABLE = ("name", "email", "address", "description", "phone", "preferred_locales", "shipping")
_SEARCHABLE = {
    "created": lambda r: r.get("created"),
    "email": lambda r: r.get("email"),
    "name": lambda r: r.get("name"),
    "phone": lambda r: r.get("phone"),
}


def defaults(now: int) -> Record:
    return {
        "address": None,
        "balance": 0,
        "currency": None,
        "default_source": None,
        "delinquent": False,
        "description": None,
        "discount": None,
        "email": None,
        "invoice_prefix": None,
        "invoice_settings": {
            "custom_fields": None,
            "default_payment_method": None,
            "footer": None,
            "rendering_options": None,
        },
        "metadata": {},
        "name": None,
        "next_invoice_sequence": 1,
        "phone": None,
        "preferred_locales": [],
        "shipping": None,
        "tax_exempt": "none",
        "test_clock": None,
    }


def router(st: Stripe) -> APIRouter:
    api = APIRouter()
    st.defaults["customer"] = defaults

    @api.post("/v1/customers")
    async def create(request: Request) -> Record:
        p = await st.params(request)
        fields = {k: p[k] for k in _UPDATABLE if k in p}
        return st.one(st.new("customer", {**fields, "metadata": metadata(p)}), request, p.get("expand"))

    @api.get("/v1/customers")
    async def listing(request: Request) -> Record:
        p = await st.params(request)
        found = st.live("customer")
        if email := p.get("email"):
            found = [c for c in found if c.get("email") == email]  # case-sensitive, as Stripe documents
        return st.page(found, p, "/v1/customers", version_of(request))

    @api.get("/v1/customers/search")
    async def find(request: Request) -> Record:
        p = await st.params(request, checked=False)
        return search(st, st.live("customer"), _SEARCHABLE, p, "/v1/customers/search", version_of(request))

    @api.get("/v1/customers/{customer_id}")
    async def retrieve(customer_id: str, request: Request) -> Record:
        p = await st.params(request)
        record = st.store.get("stripe", "customer", customer_id)
        if record is not None and record.get("_deleted"):  # Stripe still answers for a deleted customer
            return {"id": customer_id, "object": "customer", "deleted": True}
        return st.one(st.load("customer", customer_id), request, p.get("expand"))

    @api.post("/v1/customers/{customer_id}")
    async def update(customer_id: str, request: Request) -> Record:
        record, p = st.load("customer", customer_id), await st.params(request)
        record.update({k: p[k] for k in _UPDATABLE if k in p})
        if "metadata" in p:
            record["metadata"] = merge_metadata(record.get("metadata") or {}, p["metadata"])
        return st.one(st.save(record), request, p.get("expand"))

    @api.delete("/v1/customers/{customer_id}")
    async def delete(customer_id: str, request: Request) -> Record:
        record = st.load("customer", customer_id)
        await st.params(request)
        st.save({**record, "_deleted": True})
        return {"id": customer_id, "object": "customer", "deleted": True}

    return api
