"""Stripe: form-encoded bodies checked against Stripe's spec, Idempotency-Key replay, signed invoice events."""

from __future__ import annotations

import base64
import hashlib
import json
import re
import time
from typing import Any

from fastapi import FastAPI, Request
from starlette.responses import JSONResponse, Response

from models import signatures
from simulators.context import SimContext
from simulators.store import Record
from simulators.stripe_spec import RequestInvalid, decode_form, find_spec, load_spec
from simulators.webhooks import deliver

SYSTEM = "stripe"
API_VERSION = "2023-08-16"
_PREFIX = {
    "customer": "cus",
    "product": "prod",
    "price": "price",
    "subscription": "sub",
    "invoice": "in",
    "invoiceitem": "ii",
    "credit_note": "cn",
    "event": "evt",
}


def error(
    status: int,
    code: str,
    message: str,
    retry_after: float | None = None,
    param: str | None = None,
    kind: str | None = None,
) -> Response:
    if kind is None:
        kind = "api_error" if status >= 500 else "invalid_request_error"
    body: Record = {
        "type": kind,
        "message": message,
        "code": code,
        "doc_url": f"https://stripe.com/docs/error-codes/{code.replace('_', '-')}",
    }
    if param:
        body["param"] = param
    should_retry = status >= 500 or status in (409, 429) or code == "lock_timeout"
    headers = {"Stripe-Should-Retry": "true" if should_retry else "false", "Request-Id": f"req_{time.time_ns()}"}
    if retry_after is not None:
        headers["Retry-After"] = f"{retry_after:g}"
    return JSONResponse({"error": body}, status_code=status, headers=headers)


class StripeError(Exception):
    def __init__(self, status: int, code: str, message: str, param: str | None = None, kind: str | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.param, self.kind = status, code, message, param, kind


def create_app(ctx: SimContext) -> FastAPI:
    app = FastAPI(title="Stripe simulator", openapi_url=None)
    store = ctx.store
    spec_path = find_spec(ctx.settings.stripe_spec)
    spec = load_spec(str(spec_path)) if spec_path else None
    app.state.spec_path = spec_path

    @app.exception_handler(StripeError)
    async def _stripe_error(_: Request, exc: StripeError) -> Response:
        return error(exc.status, exc.code, exc.message, param=exc.param, kind=exc.kind)

    def authorised(request: Request) -> bool:
        header = request.headers.get("authorization", "")
        if header == f"Bearer {ctx.settings.stripe_key}":
            return True
        if header.startswith("Basic "):
            try:
                user = base64.b64decode(header[6:]).decode().split(":", 1)[0]
            except ValueError:
                return False
            return user == ctx.settings.stripe_key
        return False

    in_flight: set[str] = set()

    @app.middleware("http")
    async def gate(request: Request, call_next: Any) -> Response:
        """Auth, form-only bodies, then Stripe's idempotency layer."""
        if not authorised(request):
            return error(
                401, "api_key_invalid", "Invalid API Key provided: " + _redact(request.headers.get("authorization", ""))
            )
        body = await request.body()
        if request.method not in ("POST", "DELETE"):
            return await call_next(request)
        if body and "application/x-www-form-urlencoded" not in request.headers.get("content-type", ""):
            return error(
                400,
                "parameter_invalid_string",
                "Invalid request: the Stripe API only accepts application/x-www-form-urlencoded request "
                "bodies, with nested parameters in bracket notation (e.g. items[0][price]=...).",
            )
        key = request.headers.get("idempotency-key")
        if request.method != "POST" or not key:
            return await call_next(request)
        if len(key) > 255:
            return error(
                400,
                "idempotency_key_too_long",
                "Idempotency keys may be at most 255 characters long.",
                param="Idempotency-Key",
                kind="invalid_request_error",
            )
        fingerprint = hashlib.sha256(request.url.path.encode() + b"?" + _canonical(body)).hexdigest()
        saved = store.saved_response(SYSTEM, key)
        if saved is not None:
            if saved[0] != fingerprint:
                return error(
                    400,
                    "idempotency_key_in_use",
                    f"Keys for idempotent requests can only be used with the same parameters they were "
                    f"first used with. Try using a key other than '{key}' if you meant to execute a "
                    "different request.",
                    kind="idempotency_error",
                )
            return Response(
                saved[2],
                status_code=saved[1],
                media_type="application/json",
                headers={"Idempotent-Replayed": "true", "Idempotency-Key": key},
            )
        if key in in_flight:  # Stripe answers a concurrent reuse of a key with 409; retrying is right
            return error(
                409,
                "idempotency_key_in_use",
                "There is currently another in-progress request using this Idempotency Key (that probably means "
                f"you submitted twice, and the other request is still going through): {key}. Please try again later.",
                kind="idempotency_error",
            )
        in_flight.add(key)
        try:
            response = await call_next(request)
            chunks = [chunk async for chunk in response.body_iterator]
            content = b"".join(c if isinstance(c, bytes) else c.encode() for c in chunks)
            if 200 <= response.status_code < 300 or response.status_code >= 500:
                store.save_response(SYSTEM, key, fingerprint, response.status_code, content.decode())
        finally:
            in_flight.discard(key)
        headers = {k: v for k, v in response.headers.items() if k.lower() != "content-length"}
        return Response(content, status_code=response.status_code, headers={**headers, "Idempotency-Key": key})

    async def params(request: Request) -> dict[str, Any]:
        raw = (
            decode_form(await request.body())
            if request.method in ("POST", "DELETE")
            else decode_form(str(request.url.query))
        )
        if spec is None:
            return raw
        try:
            return spec.validate(request.method, request.url.path.removeprefix(request.scope.get("root_path", "")), raw)
        except RequestInvalid as exc:
            raise StripeError(
                400, "parameter_unknown" if "unknown" in str(exc) else "parameter_invalid", str(exc), exc.param
            ) from None

    def new(kind: str, fields: Record) -> Record:
        number = store.next_id(f"stripe:{kind}", 1)
        record = {
            "id": f"{_PREFIX[kind]}_{number:014d}",
            "object": kind,
            "created": int(time.time()),
            "livemode": False,
            **fields,
        }
        return store.put(SYSTEM, kind, record["id"], record)

    def load(kind: str, record_id: str, param: str = "id") -> Record:
        record = store.get(SYSTEM, kind, record_id)
        if record is None or record.get("deleted"):
            raise StripeError(404, "resource_missing", f"No such {kind}: '{record_id}'", param)
        return record

    def listing(records: list[Record], url: str, limit: int = 10) -> Record:
        return {"object": "list", "data": records[:limit], "has_more": len(records) > limit, "url": url}

    def metadata(p: Record) -> dict[str, str]:
        return {k: str(v) for k, v in (p.get("metadata") or {}).items()}

    def emit(event_type: str, obj: Record) -> None:
        event = new(
            "event",
            {
                "type": event_type,
                "api_version": API_VERSION,
                "data": {"object": obj},
                "pending_webhooks": 1,
                "request": {"id": None, "idempotency_key": None},
            },
        )
        url = store.setting("stripe_webhook_url", ctx.settings.stripe_webhook_url)
        if not url:
            return
        secret = store.setting("stripe_webhook_secret", ctx.settings.stripe_webhook_secret)
        body = json.dumps(event).encode()

        async def send() -> None:
            await deliver(
                ctx,
                SYSTEM,
                event["id"],
                url,
                body,
                lambda payload: {"Stripe-Signature": signatures.stripe_header(secret, payload, int(time.time()))},
            )

        ctx.background(send)

    # ---- customers ----
    @app.post("/v1/customers")
    async def create_customer(request: Request) -> Record:
        p = await params(request)
        return new(
            "customer",
            {
                "name": p.get("name"),
                "email": p.get("email"),
                "address": p.get("address"),
                "currency": None,
                "metadata": metadata(p),
                "description": p.get("description"),
            },
        )

    @app.get("/v1/customers")
    async def list_customers(request: Request, email: str | None = None, limit: int = 10) -> Record:
        found = store.find(SYSTEM, "customer", "email", email) if email else store.all(SYSTEM, "customer")
        return listing([c for c in found if not c.get("deleted")], "/v1/customers", limit)

    @app.get("/v1/customers/{customer_id}")
    async def get_customer(customer_id: str) -> Record:
        return load("customer", customer_id)

    @app.post("/v1/customers/{customer_id}")
    async def update_customer(customer_id: str, request: Request) -> Record:
        record, p = load("customer", customer_id), await params(request)
        record.update({k: v for k, v in p.items() if k in ("name", "email", "address", "description")})
        record["metadata"] = {**record.get("metadata", {}), **metadata(p)}
        return store.put(SYSTEM, "customer", customer_id, record)

    # ---- products and prices ----
    @app.post("/v1/products")
    async def create_product(request: Request) -> Record:
        p = await params(request)
        return new(
            "product",
            {
                "name": p["name"],
                "active": p.get("active", True),
                "metadata": metadata(p),
                "description": p.get("description"),
            },
        )

    @app.get("/v1/products")
    async def list_products(limit: int = 100) -> Record:
        return listing(store.all(SYSTEM, "product"), "/v1/products", limit)

    @app.post("/v1/prices")
    async def create_price(request: Request) -> Record:
        p = await params(request)
        load("product", p["product"], "product")
        if p.get("lookup_key") and store.find(SYSTEM, "price", "lookup_key", p["lookup_key"]):
            raise StripeError(
                400, "lookup_key_in_use", f"A price with lookup key {p['lookup_key']} already exists.", "lookup_key"
            )
        return new(
            "price",
            {
                "product": p["product"],
                "currency": p["currency"].lower(),
                "unit_amount": int(p["unit_amount"]) if p.get("unit_amount") is not None else None,
                "lookup_key": p.get("lookup_key"),
                "recurring": p.get("recurring"),
                "active": True,
                "type": "recurring" if p.get("recurring") else "one_time",
                "metadata": metadata(p),
            },
        )

    @app.get("/v1/prices")
    async def list_prices(request: Request) -> Record:
        query = decode_form(str(request.url.query))
        prices = store.all(SYSTEM, "price")
        if keys := query.get("lookup_keys"):
            prices = [p for p in prices if p.get("lookup_key") in keys]
        if product := query.get("product"):
            prices = [p for p in prices if p["product"] == product]
        return listing(prices, "/v1/prices", int(query.get("limit", 100)))

    # ---- subscriptions and their invoices ----
    def draft_invoice(
        customer: str,
        currency: str,
        lines: list[Record],
        subscription: str | None,
        days_until_due: int | None,
        meta: dict[str, str],
    ) -> Record:
        amount = sum(line["amount"] for line in lines)
        return new(
            "invoice",
            {
                "customer": customer,
                "subscription": subscription,
                "status": "draft",
                "currency": currency,
                "collection_method": "send_invoice",
                "amount_due": amount,
                "amount_paid": 0,
                "amount_remaining": amount,
                "subtotal": amount,
                "total": amount,
                "number": None,
                "due_date": int(time.time()) + 86400 * int(days_until_due or 30),
                # Stripe keeps a subscription's metadata on its invoices here, not in the invoice's own metadata.
                "metadata": {} if subscription else meta,
                "subscription_details": {"metadata": meta} if subscription else None,
                "lines": {"object": "list", "data": lines, "has_more": False},
            },
        )

    @app.post("/v1/subscriptions")
    async def create_subscription(request: Request) -> Record:
        p = await params(request)
        load("customer", p["customer"], "customer")
        items: list[Record] = []
        lines: list[Record] = []
        currency = None
        for index, item in enumerate(p.get("items") or []):
            price = store.get(SYSTEM, "price", item.get("price", ""))
            if price is None:
                raise StripeError(
                    400, "resource_missing", f"No such price: '{item.get('price')}'", f"items[{index}][price]"
                )
            if not price.get("recurring"):
                raise StripeError(
                    400,
                    "parameter_invalid",
                    "The price specified is set to `type=one_time` but "
                    "this field only accepts prices with `type=recurring`.",
                    f"items[{index}][price]",
                )
            interval = price["recurring"].get("interval")
            if items and items[0]["price"]["recurring"].get("interval") != interval:
                raise StripeError(
                    400,
                    "parameter_invalid",
                    "Currency and interval fields must match across all plans on this subscription.",
                    f"items[{index}][price]",
                )
            if currency and price["currency"] != currency:
                raise StripeError(
                    400,
                    "parameter_invalid",
                    "All prices on a subscription must have the same currency.",
                    f"items[{index}][price]",
                )
            currency, quantity = price["currency"], int(item.get("quantity", 1))
            items.append(
                {
                    "id": f"si_{store.next_id('stripe:si', 1):014d}",
                    "object": "subscription_item",
                    "price": price,
                    "quantity": quantity,
                }
            )
            lines.append(
                {
                    "price": price["id"],
                    "quantity": quantity,
                    "amount": int(price["unit_amount"] or 0) * quantity,
                    "currency": currency,
                }
            )
        if not items:
            raise StripeError(400, "parameter_missing", "Missing required param: items.", "items")
        if p.get("collection_method") == "send_invoice" and p.get("days_until_due") is None:
            raise StripeError(400, "parameter_missing", "Missing required param: days_until_due.", "days_until_due")
        subscription = new(
            "subscription",
            {
                "customer": p["customer"],
                "status": "active",
                "currency": currency,
                "collection_method": p.get("collection_method", "charge_automatically"),
                "days_until_due": p.get("days_until_due"),
                "metadata": metadata(p),
                "items": {"object": "list", "data": items, "has_more": False},
                "canceled_at": None,
            },
        )
        invoice = draft_invoice(
            p["customer"], currency or "usd", lines, subscription["id"], p.get("days_until_due"), metadata(p)
        )
        subscription["latest_invoice"] = invoice["id"]
        store.put(SYSTEM, "subscription", subscription["id"], subscription)
        if "latest_invoice" in (p.get("expand") or []):
            return {**subscription, "latest_invoice": invoice}
        return subscription

    @app.get("/v1/subscriptions/search")
    async def search_subscriptions(query: str, limit: int = 100) -> Record:
        """Stripe's search language, the one clause q2c uses: metadata['key']:'value'."""
        match = re.fullmatch(r"\s*metadata\['([^']+)'\]:'([^']*)'\s*", query)
        if match is None:
            raise StripeError(400, "parameter_invalid_string", f"Unsupported search query: {query}", "query")
        key, value = match.groups()
        found = [s for s in store.all(SYSTEM, "subscription") if s.get("metadata", {}).get(key) == value]
        return {
            "object": "search_result",
            "data": found[:limit],
            "has_more": len(found) > limit,
            "url": "/v1/subscriptions/search",
        }

    @app.get("/v1/subscriptions/{subscription_id}")
    async def get_subscription(subscription_id: str) -> Record:
        return load("subscription", subscription_id)

    @app.get("/v1/subscriptions")
    async def list_subscriptions(customer: str | None = None, status: str | None = None, limit: int = 100) -> Record:
        subs = (
            store.find(SYSTEM, "subscription", "customer", customer) if customer else store.all(SYSTEM, "subscription")
        )
        if status != "all":
            subs = [s for s in subs if s["status"] == (status or s["status"]) and (status or s["status"] != "canceled")]
        return listing(subs, "/v1/subscriptions", limit)

    @app.delete("/v1/subscriptions/{subscription_id}")
    async def cancel_subscription(subscription_id: str) -> Record:
        subscription = load("subscription", subscription_id)
        if subscription["status"] == "canceled":
            raise StripeError(
                400,
                "resource_missing",
                f"No such subscription: '{subscription_id}'; it has already been canceled.",
                "id",
            )
        subscription.update({"status": "canceled", "canceled_at": int(time.time())})
        return store.put(SYSTEM, "subscription", subscription_id, subscription)

    # ---- invoices ----
    @app.get("/v1/invoices")
    async def list_invoices(
        customer: str | None = None, subscription: str | None = None, status: str | None = None, limit: int = 100
    ) -> Record:
        invoices = store.all(SYSTEM, "invoice")
        invoices = [
            i
            for i in invoices
            if not i.get("deleted")
            and (not customer or i["customer"] == customer)
            and (not subscription or i["subscription"] == subscription)
            and (not status or i["status"] == status)
        ]
        return listing(invoices, "/v1/invoices", limit)

    @app.post("/v1/invoices")
    async def create_invoice(request: Request) -> Record:
        p = await params(request)
        load("customer", p["customer"], "customer")
        pending = [i for i in store.find(SYSTEM, "invoiceitem", "customer", p["customer"]) if not i.get("invoice")]
        lines = [
            {"price": i.get("price"), "quantity": i["quantity"], "amount": i["amount"], "currency": i["currency"]}
            for i in pending
        ]
        currency = p.get("currency") or (lines[0]["currency"] if lines else "usd")
        invoice = draft_invoice(p["customer"], currency, lines, None, p.get("days_until_due"), metadata(p))
        for item in pending:
            store.put(SYSTEM, "invoiceitem", item["id"], {**item, "invoice": invoice["id"]})
        return invoice

    @app.get("/v1/invoices/{invoice_id}")
    async def get_invoice(invoice_id: str) -> Record:
        return load("invoice", invoice_id)

    @app.delete("/v1/invoices/{invoice_id}")
    async def delete_invoice(invoice_id: str) -> Record:
        invoice = load("invoice", invoice_id)
        if invoice["status"] != "draft":
            raise StripeError(400, "invoice_not_editable", "You can only delete draft invoices.", "id")
        store.put(SYSTEM, "invoice", invoice_id, {**invoice, "deleted": True})
        return {"id": invoice_id, "object": "invoice", "deleted": True}

    def transition(
        invoice_id: str, allowed: str, status: str, message: str, event: str | None, **fields: Any
    ) -> Record:
        invoice = load("invoice", invoice_id)
        if invoice["status"] != allowed:
            raise StripeError(400, "invoice_unexpected_state", message, "invoice")
        invoice.update({"status": status, **fields})
        store.put(SYSTEM, "invoice", invoice_id, invoice)
        if event:
            emit(event, invoice)
        return invoice

    @app.post("/v1/invoices/{invoice_id}/finalize")
    async def finalize(invoice_id: str, request: Request) -> Record:
        await params(request)
        number = f"Q2C-{store.next_id('stripe:invoice_number', 1):04d}"
        return transition(
            invoice_id,
            "draft",
            "open",
            "This invoice is already finalized, you can't re-finalize a non-draft invoice.",
            "invoice.finalized",
            number=number,
            status_transitions={"finalized_at": int(time.time())},
        )

    @app.post("/v1/invoices/{invoice_id}/void")
    async def void(invoice_id: str, request: Request) -> Record:
        await params(request)
        return transition(
            invoice_id, "open", "void", "You can only pass in open invoices. This invoice isn't open.", "invoice.voided"
        )

    @app.post("/v1/invoices/{invoice_id}/pay")
    async def pay(invoice_id: str, request: Request) -> Record:
        await params(request)
        invoice = load("invoice", invoice_id)
        return transition(
            invoice_id,
            "open",
            "paid",
            "Invoice is already paid or not open.",
            "invoice.paid",
            amount_paid=invoice["amount_due"],
            amount_remaining=0,
        )

    @app.post("/v1/invoiceitems")
    async def create_invoice_item(request: Request) -> Record:
        p = await params(request)
        load("customer", p["customer"], "customer")
        price = load("price", p["price"], "price") if p.get("price") else None
        quantity = int(p.get("quantity", 1))
        amount = int(price["unit_amount"]) * quantity if price else int(p.get("amount", 0))
        currency = price["currency"] if price else str(p.get("currency", "usd")).lower()
        return new(
            "invoiceitem",
            {
                "customer": p["customer"],
                "price": p.get("price"),
                "quantity": quantity,
                "amount": amount,
                "currency": currency,
                "invoice": p.get("invoice"),
                "metadata": metadata(p),
            },
        )

    @app.post("/v1/credit_notes")
    async def create_credit_note(request: Request) -> Record:
        p = await params(request)
        invoice = load("invoice", p["invoice"], "invoice")
        if invoice["status"] not in ("open", "paid"):
            raise StripeError(
                400, "invoice_unexpected_state", "Credit notes can only be issued for open or paid invoices.", "invoice"
            )
        amount = int(p.get("amount") or invoice["amount_due"])
        return new(
            "credit_note",
            {
                "invoice": invoice["id"],
                "customer": invoice["customer"],
                "amount": amount,
                "currency": invoice["currency"],
                "status": "issued",
                "reason": p.get("reason"),
                "metadata": metadata(p),
            },
        )

    app.state.emit = emit
    app.state.new = new
    return app


def _canonical(body: bytes) -> bytes:
    return "&".join(sorted(body.decode().split("&"))).encode()


def _redact(header: str) -> str:
    token = header.split(" ", 1)[-1]
    return (token[:8] + "*" * 8 + token[-4:]) if len(token) > 12 else "****"
