"""NetSuite SuiteTalk REST record API: 204 + Location creates, eid: upserts, transforms, async jobs."""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from fastapi import FastAPI, Request
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from simulators.context import SimContext
from simulators.store import Record

SYSTEM = "netsuite"
RECORD_TYPES = ("customer", "salesOrder", "invoice", "creditMemo", "nonInventorySaleItem")
TAX_REGISTRATION_REQUIRED = {"2", "3"}  # EMEA and UK subsidiaries
ORDER_STATUS = {
    "A": "Pending Approval",
    "B": "Pending Fulfillment",
    "C": "Cancelled",
    "F": "Pending Billing",
    "G": "Billed",
    "H": "Closed",
}
_TITLES = {
    400: "Bad Request",
    401: "Unauthorized",
    404: "Not Found",
    429: "Too Many Requests",
    500: "Internal Server Error",
    503: "Service Unavailable",
}


def error(status: int, code: str, message: str, retry_after: float | None = None) -> Response:
    if status == 429 and code == "rate_limit":
        code, message = "CONCURRENCY_LIMIT_EXCEEDED", "Concurrent request limit exceeded. Request blocked."
    body = {
        "type": f"https://www.rfc-editor.org/rfc/rfc9110.html#section-15.{5 if status < 500 else 6}",
        "title": _TITLES.get(status, "Error"),
        "status": status,
        "o:errorDetails": [{"detail": message, "o:errorCode": code}],
    }
    headers = {"Retry-After": f"{retry_after:g}"} if retry_after is not None else {}
    return JSONResponse(body, status_code=status, headers=headers, media_type="application/vnd.oracle.resource+json")


class NetSuiteError(Exception):
    def __init__(self, status: int, code: str, message: str, path: str | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.path = status, code, message, path


class ConcurrencyLimit:
    """NetSuite's per-account limit on requests in flight: over it, 429 at once. Sits outermost, so
    injected latency counts as time in flight, as a slow NetSuite would."""

    def __init__(self, app: ASGIApp, ctx: SimContext) -> None:
        self.app, self.ctx, self.in_flight = app, ctx, 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(f"/{SYSTEM}/"):
            await self.app(scope, receive, send)
            return
        if self.in_flight >= self.ctx.settings.netsuite_concurrency:
            from simulators.faults import endpoint

            self.ctx.store.count_request(SYSTEM, scope["method"], endpoint(scope["path"][len(SYSTEM) + 1 :]), 429)
            reject = error(429, "CONCURRENCY_LIMIT_EXCEEDED", "Concurrent request limit exceeded. Request blocked.")
            await reject(scope, receive, send)
            return
        self.in_flight += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.in_flight -= 1


def _money(value: Any) -> Decimal:
    return Decimal(str(value or 0))


def create_app(ctx: SimContext) -> FastAPI:
    app = FastAPI(title="NetSuite REST simulator", openapi_url=None)
    store = ctx.store
    prefix = "/services/rest/record/v1"

    @app.exception_handler(NetSuiteError)
    async def _netsuite_error(_: Request, exc: NetSuiteError) -> Response:
        response = error(exc.status, exc.code, exc.message)
        if exc.path:
            body = json.loads(bytes(response.body))
            body["o:errorDetails"][0]["o:errorPath"] = exc.path
            response = JSONResponse(body, status_code=exc.status, media_type="application/vnd.oracle.resource+json")
        return response

    @app.middleware("http")
    async def auth(request: Request, call_next: Any) -> Response:
        if request.headers.get("authorization") != f"Bearer {ctx.settings.netsuite_token}":
            return error(
                401,
                "INVALID_LOGIN",
                "Invalid login attempt. For more details, see the Login Audit "
                "Trail in the NetSuite UI at Setup > Users/Roles > User Management "
                "> View Login Audit Trail.",
            )
        response: Response = await call_next(request)
        return response

    def location(record_type: str, record_id: str) -> str:
        return f"{ctx.base_url(SYSTEM)}{prefix}/{record_type}/{record_id}"

    def created(record_type: str, record_id: str) -> Response:
        return Response(status_code=204, headers={"Location": location(record_type, record_id)})

    def check_type(record_type: str) -> None:
        if record_type not in RECORD_TYPES:
            raise NetSuiteError(404, "INVALID_RCRD_TYPE", f"Record type '{record_type}' does not exist.")

    def find(record_type: str, ref: str) -> Record | None:
        if ref.startswith("eid:"):
            hits = store.find(SYSTEM, record_type, "externalId", ref.removeprefix("eid:"))
            return hits[0] if hits else None
        return store.get(SYSTEM, record_type, ref)

    def load(record_type: str, ref: str) -> Record:
        record = find(record_type, ref)
        if record is None:
            raise NetSuiteError(404, "RCRD_DSNT_EXIST", f"Record {record_type} with ID {ref} does not exist.")
        return record

    def ref_id(value: Any, field: str) -> str:
        if isinstance(value, dict) and ("id" in value or "externalId" in value):
            return str(value["id"]) if "id" in value else f"eid:{value['externalId']}"
        if isinstance(value, str | int):
            return str(value)
        raise NetSuiteError(400, "INVALID_CONTENT", f"Invalid value for {field}: expected a reference", field)

    def save(record_type: str, record: Record) -> Record:
        record["links"] = [{"rel": "self", "href": location(record_type, record["id"])}]
        record["lastModifiedDate"] = datetime.now(UTC).isoformat(timespec="seconds")
        return store.put(SYSTEM, record_type, record["id"], record)

    def new_id(record_type: str) -> str:
        return str(store.next_id(f"netsuite:{record_type}", 100))

    def check_external_id(record_type: str, external_id: str | None, own_id: str | None = None) -> None:
        if external_id:
            for other in store.find(SYSTEM, record_type, "externalId", external_id):
                if other["id"] != own_id:
                    raise NetSuiteError(
                        400,
                        "DUP_RCRD",
                        f"A {record_type} record with external ID {external_id} already exists.",
                        "externalId",
                    )

    # ---- business rules per record type ----
    def apply_customer(record: Record, body: Record) -> Record:
        record.update({k: v for k, v in body.items() if k not in ("id", "links", "balance", "unbilledOrders")})
        if not record.get("companyName"):
            raise NetSuiteError(400, "USER_ERROR", "Please enter value(s) for: Company Name", "companyName")
        record.setdefault("balance", 0.0)
        record.setdefault("overdueBalance", 0.0)
        record.setdefault("unbilledOrders", 0.0)
        record.setdefault("isInactive", False)
        record.setdefault("subsidiary", {"id": "1"})
        record.setdefault("entityId", f"CUST{record['id']}")
        return record

    def apply_sales_order(record: Record, body: Record) -> Record:
        customer = find("customer", ref_id(body.get("entity"), "entity")) if body.get("entity") else None
        if customer is None:
            raise NetSuiteError(
                400, "INVALID_KEY_OR_REF", f"Invalid entity reference key {body.get('entity')}.", "entity"
            )
        if customer.get("isInactive"):
            raise NetSuiteError(400, "USER_ERROR", f"Customer {customer['entityId']} is inactive.", "entity")
        subsidiary = str((customer.get("subsidiary") or {}).get("id", "1"))
        if subsidiary in TAX_REGISTRATION_REQUIRED and not customer.get("defaultTaxReg"):
            raise NetSuiteError(
                400,
                "USER_ERROR",
                "Tax registration number is required for customers of this subsidiary.",
                "entity.defaultTaxReg",
            )
        currency = (body.get("currency") or {}).get("refName") or (customer.get("currency") or {}).get("refName")
        lines, order_total = [], Decimal(0)
        items = (body.get("item") or {}).get("items") or []
        if not items:
            raise NetSuiteError(
                400, "USER_ERROR", "You must enter at least one line item for this transaction.", "item"
            )
        for index, line in enumerate(items):
            item = find("nonInventorySaleItem", ref_id(line.get("item"), f"item.items[{index}].item"))
            if item is None:
                raise NetSuiteError(
                    400,
                    "INVALID_KEY_OR_REF",
                    f"Invalid item reference key {line.get('item')}.",
                    f"item.items[{index}].item",
                )
            quantity, rate = _money(line.get("quantity", 1)), _money(line.get("rate"))
            amount = (quantity * rate).quantize(Decimal("0.01"))
            order_total += amount
            lines.append(
                {
                    "item": {"id": item["id"], "refName": item["itemId"]},
                    "quantity": float(quantity),
                    "rate": str(rate),
                    "amount": str(amount),
                    "description": line.get("description"),
                }
            )
        record.update(
            {
                "entity": {"id": customer["id"], "refName": customer["companyName"]},
                "externalId": body.get("externalId", record.get("externalId")),
                "tranDate": body.get("tranDate") or date.today().isoformat(),
                "currency": {"refName": currency},
                "item": {"items": lines},
                "total": str(order_total),
                "memo": body.get("memo"),
            }
        )
        record.setdefault("tranId", f"SO{record['id']}")
        if "orderStatus" not in record:
            record["orderStatus"] = {"id": "B", "refName": ORDER_STATUS["B"]}
            customer["unbilledOrders"] = float(_money(customer.get("unbilledOrders")) + order_total)
            save("customer", customer)
        return record

    def change_order_status(record: Record, status_id: str) -> None:
        current = record["orderStatus"]["id"]
        if status_id == current:
            return
        if status_id == "C" and current not in ("A", "B"):
            raise NetSuiteError(
                400,
                "USER_ERROR",
                "You cannot cancel a sales order that has been billed or fulfilled. Close it instead.",
                "orderStatus",
            )
        if status_id not in ("C", "H"):
            raise NetSuiteError(400, "INVALID_FLD_VALUE", f"Invalid orderStatus {status_id}.", "orderStatus")
        if current in ("A", "B"):
            customer = load("customer", record["entity"]["id"])
            customer["unbilledOrders"] = float(_money(customer["unbilledOrders"]) - _money(record["total"]))
            save("customer", customer)
        record["orderStatus"] = {"id": status_id, "refName": ORDER_STATUS[status_id]}

    def write(record_type: str, record: Record, body: Record) -> Record:
        if record_type == "customer":
            return apply_customer(record, body)
        if record_type == "salesOrder":
            status = (body.pop("orderStatus", None) or {}).get("id")
            if body.get("item") or "orderStatus" not in record:
                record = apply_sales_order(record, body)
            else:
                record.update({k: v for k, v in body.items() if k in ("memo", "externalId")})
            if status:
                change_order_status(record, status)
            return record
        if record_type == "nonInventorySaleItem":
            record.update(body)
            return record
        raise NetSuiteError(400, "USER_ERROR", f"{record_type} records are created by transforming another record.")

    async def json_body(request: Request) -> Record:
        raw = await request.body()
        if not raw:
            return {}
        try:
            body = json.loads(raw)
        except ValueError:
            raise NetSuiteError(400, "INVALID_CONTENT", "The request body is not valid JSON.") from None
        if not isinstance(body, dict):
            raise NetSuiteError(400, "INVALID_CONTENT", "The request body must be a JSON object.")
        return body

    async def maybe_async(request: Request, run: Any) -> Response:
        """`Prefer: respond-async` -> 202 and a job; the idempotency key only applies here."""
        if "respond-async" not in request.headers.get("prefer", ""):
            result: Response = await run()
            return result
        key = request.headers.get("x-netsuite-idempotency-key")
        if key:
            earlier = store.find(SYSTEM, "job", "idempotencyKey", key)
            if earlier:
                body = {
                    "type": "https://www.rfc-editor.org/rfc/rfc9110.html#section-15.5.1",
                    "title": "Bad Request",
                    "status": 400,
                    "o:errorDetails": [
                        {
                            "detail": "A request with this idempotency key was already submitted.",
                            "o:errorCode": "IDEMPOTENCY_ERROR",
                        }
                    ],
                }
                return JSONResponse(
                    body,
                    status_code=400,
                    headers={"Location": f"{ctx.base_url(SYSTEM)}/services/rest/async/v1/job/{earlier[0]['id']}"},
                )
        job_id = str(store.next_id("netsuite:job", 1))
        try:
            outcome = await run()
            job = {
                "id": job_id,
                "completed": True,
                "progress": "succeeded",
                "idempotencyKey": key,
                "status": outcome.status_code,
                "location": outcome.headers.get("location"),
            }
        except NetSuiteError as exc:
            job = {
                "id": job_id,
                "completed": True,
                "progress": "failed",
                "idempotencyKey": key,
                "status": exc.status,
                "error": {"o:errorCode": exc.code, "detail": exc.message},
            }
        store.put(SYSTEM, "job", job_id, job)
        return Response(
            status_code=202,
            headers={
                "Preference-Applied": "respond-async",
                "Location": f"{ctx.base_url(SYSTEM)}/services/rest/async/v1/job/{job_id}",
            },
        )

    @app.get("/services/rest/async/v1/job/{job_id}")
    async def job(job_id: str) -> Record:
        found = store.get(SYSTEM, "job", job_id)
        if found is None:
            raise NetSuiteError(404, "RCRD_DSNT_EXIST", f"Job {job_id} does not exist.")
        return found

    @app.get(prefix + "/{record_type}")
    async def list_records(record_type: str, limit: int = 1000, offset: int = 0, q: str | None = None) -> Record:
        check_type(record_type)
        records = store.all(SYSTEM, record_type)
        if q:  # NetSuite's record-list query: `field IS "v"` or `field START_WITH "v"`
            match = re.fullmatch(r'\s*(\w+)\s+(IS|START_WITH)\s+"([^"]*)"\s*', q)
            if match is None:
                raise NetSuiteError(400, "INVALID_PARAMETER", f"Invalid query: {q}", "q")
            field, op, value = match.groups()
            records = [
                r
                for r in records
                if (str(r.get(field) or "") == value if op == "IS" else str(r.get(field) or "").startswith(value))
            ]
        page = records[offset : offset + limit]
        return {
            "links": [],
            "count": len(page),
            "hasMore": offset + len(page) < len(records),
            "offset": offset,
            "totalResults": len(records),
            "items": [{"id": r["id"], "links": r.get("links", [])} for r in page],
        }

    @app.get(prefix + "/{record_type}/{ref}")
    async def read(record_type: str, ref: str) -> Response:
        check_type(record_type)
        return JSONResponse(load(record_type, ref), media_type="application/vnd.oracle.resource+json")

    @app.post(prefix + "/{record_type}")
    async def create(record_type: str, request: Request) -> Response:
        check_type(record_type)
        body = await json_body(request)

        async def run() -> Response:
            check_external_id(record_type, body.get("externalId"))
            record = save(record_type, write(record_type, {"id": new_id(record_type)}, body))
            return created(record_type, record["id"])

        return await maybe_async(request, run)

    @app.put(prefix + "/{record_type}/{ref}")
    async def upsert(record_type: str, ref: str, request: Request) -> Response:
        check_type(record_type)
        if not ref.startswith("eid:"):
            raise NetSuiteError(400, "INVALID_REQUEST", "Upsert requires an external ID: PUT .../eid:{externalId}.")
        body = await json_body(request)

        async def run() -> Response:
            existing = find(record_type, ref)
            record = existing or {"id": new_id(record_type), "externalId": ref.removeprefix("eid:")}
            body.pop("externalId", None)
            record = save(record_type, write(record_type, record, body))
            return created(record_type, record["id"])

        return await maybe_async(request, run)

    @app.patch(prefix + "/{record_type}/{ref}")
    async def update(record_type: str, ref: str, request: Request) -> Response:
        check_type(record_type)
        body = await json_body(request)

        async def run() -> Response:
            record = load(record_type, ref)
            check_external_id(record_type, body.get("externalId"), record["id"])
            save(record_type, write(record_type, record, body))
            return Response(status_code=204)

        return await maybe_async(request, run)

    @app.post(prefix + "/salesOrder/{ref}/!transform/invoice")
    async def invoice_order(ref: str, request: Request) -> Response:
        body = await json_body(request)

        async def run() -> Response:
            order = load("salesOrder", ref)
            check_external_id("invoice", body.get("externalId"))
            if order["orderStatus"]["id"] not in ("B", "F"):
                raise NetSuiteError(
                    400,
                    "USER_ERROR",
                    f"Sales order {order['tranId']} is {order['orderStatus']['refName']} and cannot be billed.",
                )
            wanted = body.get("item", {}).get("items")
            lines = order["item"]["items"]
            if wanted is not None:
                keep = {ref_id(line.get("item"), "item") for line in wanted}
                lines = [line for line in lines if line["item"]["id"] in keep]
            amount = sum((_money(line["amount"]) for line in lines), Decimal(0))
            invoice_id = new_id("invoice")
            invoice = {
                "id": invoice_id,
                "tranId": f"INV{invoice_id}",
                "externalId": body.get("externalId"),
                "entity": order["entity"],
                "createdFrom": {"id": order["id"], "refName": order["tranId"]},
                "currency": order["currency"],
                "tranDate": date.today().isoformat(),
                "item": {"items": lines},
                "total": str(amount),
                "amountRemaining": str(amount),
                "status": {"id": "A", "refName": "Open"},
            }
            save("invoice", invoice)
            customer = load("customer", order["entity"]["id"])
            customer["balance"] = float(_money(customer["balance"]) + amount)
            customer["unbilledOrders"] = float(_money(customer["unbilledOrders"]) - _money(order["total"]))
            save("customer", customer)
            order["orderStatus"] = {"id": "G", "refName": ORDER_STATUS["G"]}
            save("salesOrder", order)
            return created("invoice", invoice_id)

        return await maybe_async(request, run)

    @app.post(prefix + "/invoice/{ref}/!transform/creditMemo")
    async def credit_invoice(ref: str, request: Request) -> Response:
        body = await json_body(request)

        async def run() -> Response:
            invoice = load("invoice", ref)
            check_external_id("creditMemo", body.get("externalId"))
            if invoice["status"]["id"] != "A":
                raise NetSuiteError(
                    400,
                    "USER_ERROR",
                    f"Invoice {invoice['tranId']} is "
                    f"{invoice['status']['refName']}; only open invoices can be credited.",
                )
            memo_id = new_id("creditMemo")
            memo = {
                "id": memo_id,
                "tranId": f"CM{memo_id}",
                "externalId": body.get("externalId"),
                "entity": invoice["entity"],
                "createdFrom": {"id": invoice["id"], "refName": invoice["tranId"]},
                "currency": invoice["currency"],
                "tranDate": date.today().isoformat(),
                "total": invoice["amountRemaining"],
                "memo": body.get("memo"),
            }
            save("creditMemo", memo)
            customer = load("customer", invoice["entity"]["id"])
            customer["balance"] = float(_money(customer["balance"]) - _money(invoice["amountRemaining"]))
            save("customer", customer)
            invoice.update({"amountRemaining": "0.00", "status": {"id": "B", "refName": "Paid In Full"}})
            save("invoice", invoice)
            return created("creditMemo", memo_id)

        return await maybe_async(request, run)

    return app
