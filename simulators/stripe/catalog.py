"""Products and prices: the catalog q2c resolves SKUs against, by `lookup_keys[]`."""

from __future__ import annotations

from fastapi import APIRouter, Request

from simulators.store import Record
from simulators.stripe.core import Stripe, StripeError, flag, integer, metadata, version_of
from simulators.stripe.search import search


def product_defaults(now: int) -> Record:
    return {
        "active": True,
        "default_price": None,
        "description": None,
        "features": [],
        "images": [],
        "metadata": {},
        "package_dimensions": None,
        "shippable": None,
        "statement_descriptor": None,
        "tax_code": None,
        "unit_label": None,
        "updated": now,
        "url": None,
    }


def price_defaults(now: int) -> Record:
    return {
        "active": True,
        "billing_scheme": "per_unit",
        "custom_unit_amount": None,
        "lookup_key": None,
        "metadata": {},
        "nickname": None,
        "recurring": None,
        "tax_behavior": "unspecified",
        "tiers_mode": None,
        "transform_quantity": None,
        "type": "one_time",
        "unit_amount": None,
        "unit_amount_decimal": None,
    }


def render_price(st: Stripe, price: Record, version: str) -> Record:
    """Older records (and seeds) may lack the derived fields; Stripe always sends them."""
    recurring = price.get("recurring")
    if recurring is not None:
        recurring = {"aggregate_usage": None, "interval_count": 1, "usage_type": "licensed", **recurring}
    amount = price.get("unit_amount")
    return {
        **price,
        "recurring": recurring,
        "type": "recurring" if recurring else "one_time",
        "unit_amount_decimal": None if amount is None else str(amount),
    }


def router(st: Stripe) -> APIRouter:
    api = APIRouter()
    st.defaults["product"], st.defaults["price"] = product_defaults, price_defaults
    st.renderers["price"] = render_price

    @api.post("/v1/products")
    async def create_product(request: Request) -> Record:
        p = await st.params(request)
        fields: Record = {k: p[k] for k in ("name", "active", "description", "unit_label", "url") if k in p}
        return st.one(st.new("product", {**fields, "metadata": metadata(p)}), request, p.get("expand"))

    @api.get("/v1/products")
    async def list_products(request: Request) -> Record:
        p = await st.params(request)
        found = st.live("product")
        if "active" in p:
            found = [x for x in found if x["active"] is flag(p["active"])]
        return st.page(found, p, "/v1/products", version_of(request))

    @api.post("/v1/prices")
    async def create_price(request: Request) -> Record:
        p = await st.params(request)
        st.load("product", p["product"], "product", 400)
        if p.get("lookup_key") and any(x.get("lookup_key") == p["lookup_key"] for x in st.live("price")):
            if not p.get("transfer_lookup_key"):
                raise StripeError(
                    400, "lookup_key_in_use", f"A price with lookup key {p['lookup_key']} already exists.", "lookup_key"
                )
            for old in st.live("price"):
                if old.get("lookup_key") == p["lookup_key"]:
                    st.save({**old, "lookup_key": None})
        fields: Record = {k: p[k] for k in ("lookup_key", "nickname", "active", "tax_behavior") if k in p}
        return st.one(
            st.new(
                "price",
                {
                    **fields,
                    "product": p["product"],
                    "currency": p["currency"].lower(),
                    "unit_amount": integer(p.get("unit_amount"), "unit_amount"),
                    "recurring": p.get("recurring"),
                    "type": "recurring" if p.get("recurring") else "one_time",
                    "metadata": metadata(p),
                },
            ),
            request,
            p.get("expand"),
        )

    @api.get("/v1/prices")
    async def list_prices(request: Request) -> Record:
        p = await st.params(request)
        found = st.live("price")
        if keys := p.get("lookup_keys"):
            found = [x for x in found if x.get("lookup_key") in keys]
        for field in ("product", "currency", "type"):
            if field in p:
                found = [x for x in found if x.get(field) == p[field]]
        if "active" in p:
            found = [x for x in found if x["active"] is flag(p["active"])]
        return st.page(found, p, "/v1/prices", version_of(request))

    @api.get("/v1/prices/search")
    async def search_prices(request: Request) -> Record:
        p = await st.params(request, checked=False)
        fields = {
            "active": lambda r: str(r.get("active")).lower(),
            "currency": lambda r: r.get("currency"),
            "lookup_key": lambda r: r.get("lookup_key"),
            "product": lambda r: r.get("product"),
            "type": lambda r: r.get("type"),
            "created": lambda r: r.get("created"),
        }
        return search(st, st.live("price"), fields, p, "/v1/prices/search", version_of(request))

    @api.get("/v1/prices/{price_id}")
    async def retrieve_price(price_id: str, request: Request) -> Record:
        p = await st.params(request)
        return st.one(st.load("price", price_id), request, p.get("expand"))

    @api.get("/v1/products/{product_id}")
    async def retrieve_product(product_id: str, request: Request) -> Record:
        p = await st.params(request)
        return st.one(st.load("product", product_id), request, p.get("expand"))

    return api
