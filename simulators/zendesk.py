"""Zendesk Support: organizations with custom fields, create_or_update, idempotent ticket creation."""

from __future__ import annotations

import base64
import hashlib
import json
import time
from datetime import UTC, datetime
from typing import Any

from fastapi import FastAPI, Request
from starlette.responses import JSONResponse, Response

from simulators.context import SimContext
from simulators.store import Record

SYSTEM = "zendesk"
ORGANIZATION_FIELDS = (
    "service_tier",
    "contract_start",
    "contract_end",
    "entitlement_status",
    "invoice_status",
    "erp_customer_id",
    "payment_status",
)


def error(status: int, code: str, message: str, retry_after: float | None = None) -> Response:
    if status == 429:
        return JSONResponse(
            {"error": "TooManyRequests", "description": "Rate limit exceeded"},
            status_code=429,
            headers={"Retry-After": f"{int(retry_after or 1)}", "X-Rate-Limit": "700", "X-Rate-Limit-Remaining": "0"},
        )
    kinds = {401: "Couldn't authenticate you", 404: "RecordNotFound", 422: "RecordInvalid"}
    if status == 401:
        return JSONResponse({"error": kinds[401]}, status_code=401)
    if status >= 500:
        return JSONResponse({"error": "InternalError", "description": message}, status_code=status)
    body: Record = {"error": kinds.get(status, code), "description": message}
    if status == 422:
        body["details"] = {code: [{"description": message, "error": "InvalidValue"}]}
    return JSONResponse(body, status_code=status)


class ZendeskError(Exception):
    def __init__(self, status: int, code: str, message: str, field: str = "base") -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.field = status, code, message, field


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def create_app(ctx: SimContext) -> FastAPI:
    app = FastAPI(title="Zendesk Support simulator", openapi_url=None)
    store = ctx.store

    @app.exception_handler(ZendeskError)
    async def _zendesk_error(_: Request, exc: ZendeskError) -> Response:
        if exc.status == 422:
            return JSONResponse(
                {
                    "error": "RecordInvalid",
                    "description": "Record validation errors",
                    "details": {exc.field: [{"description": exc.message, "error": exc.code}]},
                },
                status_code=422,
            )
        return error(exc.status, exc.code, exc.message)

    def authorised(request: Request) -> bool:
        header = request.headers.get("authorization", "")
        if header == f"Bearer {ctx.settings.zendesk_token}":
            return True
        if header.startswith("Basic "):
            try:
                decoded = base64.b64decode(header[6:]).decode()
            except ValueError:
                return False
            return decoded == f"{ctx.settings.zendesk_email}/token:{ctx.settings.zendesk_token}"
        return False

    @app.middleware("http")
    async def auth(request: Request, call_next: Any) -> Response:
        if not authorised(request):
            return error(401, "Unauthorized", "Couldn't authenticate you")
        response: Response = await call_next(request)
        return response

    async def body_of(request: Request, root: str) -> Record:
        try:
            body = json.loads(await request.body() or b"{}")
        except ValueError:
            raise ZendeskError(400, "InvalidJSON", "The request body is not valid JSON") from None
        if not isinstance(body, dict) or not isinstance(body.get(root), dict):
            raise ZendeskError(422, "InvalidValue", f"Expected a JSON object under '{root}'", root)
        return body[root]

    def load(kind: str, record_id: str) -> Record:
        record = store.get(SYSTEM, kind, record_id)
        if record is None:
            raise ZendeskError(404, "RecordNotFound", "Not found")
        return record

    def url(kind: str, record_id: int | str) -> str:
        return f"{ctx.base_url(SYSTEM)}/api/v2/{kind}s/{record_id}.json"

    def apply_org(record: Record, fields: Record) -> Record:
        name = fields.get("name", record.get("name"))
        if not name:
            raise ZendeskError(422, "BlankValue", "Name: cannot be blank", "name")
        for other in store.find(SYSTEM, "organization", "name", name):
            if other["id"] != record.get("id"):
                raise ZendeskError(422, "DuplicateValue", f"Name: {name} has already been taken", "name")
        custom = {k: v for k, v in (fields.get("organization_fields") or {}).items() if k in ORGANIZATION_FIELDS}
        record.update(
            {
                k: v
                for k, v in fields.items()
                if k in ("name", "external_id", "details", "notes", "tags", "domain_names")
            }
        )
        record["organization_fields"] = {
            **{f: None for f in ORGANIZATION_FIELDS},
            **record.get("organization_fields", {}),
            **custom,
        }
        record["updated_at"] = _now()
        return record

    def new_org(fields: Record) -> Record:
        org_id = store.next_id("zendesk:organization", 360000)
        record = apply_org(
            {"id": org_id, "url": url("organization", org_id), "created_at": _now(), "tags": [], "domain_names": []},
            fields,
        )
        return store.put(SYSTEM, "organization", str(org_id), record)

    @app.get("/api/v2/organization_fields")
    async def organization_fields() -> Record:
        return {
            "organization_fields": [
                {"id": 100 + i, "key": key, "type": "text", "active": True, "title": key.replace("_", " ").title()}
                for i, key in enumerate(ORGANIZATION_FIELDS)
            ]
        }

    @app.post("/api/v2/organizations", status_code=201)
    async def create_org(request: Request) -> Record:
        fields = await body_of(request, "organization")
        if fields.get("external_id") and store.find(SYSTEM, "organization", "external_id", fields["external_id"]):
            raise ZendeskError(422, "DuplicateValue", "External ID has already been taken", "external_id")
        return {"organization": new_org(fields)}

    @app.post("/api/v2/organizations/create_or_update")
    async def create_or_update(request: Request) -> Response:
        fields = await body_of(request, "organization")
        match = (
            store.find(SYSTEM, "organization", "external_id", fields["external_id"])
            if fields.get("external_id")
            else []
        )
        if match:
            record = store.put(SYSTEM, "organization", str(match[0]["id"]), apply_org(match[0], fields))
            return JSONResponse({"organization": record}, status_code=200)
        return JSONResponse({"organization": new_org(fields)}, status_code=201)

    @app.get("/api/v2/organizations/search")
    async def search_orgs(external_id: str | None = None, name: str | None = None) -> Record:
        found = (
            store.find(SYSTEM, "organization", "external_id", external_id)
            if external_id
            else store.find(SYSTEM, "organization", "name", name)
            if name
            else []
        )
        return {"organizations": found, "count": len(found), "next_page": None, "previous_page": None}

    @app.get("/api/v2/organizations")
    async def list_orgs() -> Record:
        orgs = store.all(SYSTEM, "organization")
        return {"organizations": orgs, "count": len(orgs), "next_page": None, "previous_page": None}

    @app.get("/api/v2/organizations/{org_id}")
    async def get_org(org_id: str) -> Record:
        return {"organization": load("organization", org_id.removesuffix(".json"))}

    @app.put("/api/v2/organizations/{org_id}")
    async def update_org(org_id: str, request: Request) -> Record:
        record = load("organization", org_id.removesuffix(".json"))
        fields = await body_of(request, "organization")
        return {"organization": store.put(SYSTEM, "organization", str(record["id"]), apply_org(record, fields))}

    @app.post("/api/v2/tickets", status_code=201)
    async def create_ticket(request: Request) -> Response:
        """Idempotency-Key honoured here only: same key and body -> the same ticket, `hit`."""
        raw = await request.body()
        key = request.headers.get("idempotency-key")
        fingerprint = hashlib.sha256(raw).hexdigest()
        if key and (saved := store.saved_response(SYSTEM, key)) is not None:
            if saved[0] != fingerprint:
                return JSONResponse(
                    {
                        "error": "IdempotentRequestError",
                        "description": "The idempotency key was already used with a different request payload.",
                    },
                    status_code=400,
                    headers={"x-idempotency-lookup": "hit"},
                )
            return Response(
                saved[2], status_code=saved[1], media_type="application/json", headers={"x-idempotency-lookup": "hit"}
            )
        fields = await body_of(request, "ticket")
        if not (fields.get("comment") or {}).get("body"):
            raise ZendeskError(422, "BlankValue", "Description: cannot be blank", "description")
        if fields.get("organization_id") is not None:
            load("organization", str(fields["organization_id"]))
        ticket_id = store.next_id("zendesk:ticket", 1)
        ticket = {
            "id": ticket_id,
            "url": url("ticket", ticket_id),
            "subject": fields.get("subject"),
            "description": fields["comment"]["body"],
            "organization_id": fields.get("organization_id"),
            "external_id": fields.get("external_id"),
            "tags": fields.get("tags", []),
            "custom_fields": fields.get("custom_fields", []),
            "status": "new",
            "priority": fields.get("priority"),
            "created_at": _now(),
            "updated_at": _now(),
            "created": time.time(),
        }
        store.put(SYSTEM, "ticket", str(ticket_id), ticket)
        content = json.dumps({"ticket": ticket})
        if key:
            store.save_response(SYSTEM, key, fingerprint, 201, content)
        return Response(
            content,
            status_code=201,
            media_type="application/json",
            headers={"x-idempotency-lookup": "miss"} if key else {},
        )

    @app.get("/api/v2/tickets/{ticket_id}")
    async def get_ticket(ticket_id: str) -> Record:
        return {"ticket": load("ticket", ticket_id.removesuffix(".json"))}

    @app.get("/api/v2/tickets")
    async def list_tickets() -> Record:
        tickets = store.all(SYSTEM, "ticket")
        return {"tickets": tickets, "count": len(tickets), "next_page": None}

    return app
