"""HubSpot CRM v3 objects, v4 associations and signed v3 webhooks."""

from __future__ import annotations

import json
import time
import uuid
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.responses import JSONResponse, Response

from models import signatures
from simulators.context import SimContext
from simulators.store import Record
from simulators.webhooks import deliver

SYSTEM = "hubspot"
OBJECT_TYPES = ("deals", "line_items", "companies", "contacts")
KNOWN_PROPERTIES: dict[str, set[str]] = {
    "deals": {
        "dealname",
        "amount",
        "dealstage",
        "closedate",
        "pipeline",
        "deal_currency_code",
        "erp_order_number",
        "erp_customer_id",
        "q2c_status",
        "q2c_status_reason",
        "q2c_saga_id",
        "invoice_status",
        "entitlement_status",
        "payment_status",
        "hubspot_owner_id",
        "q2c_deal_key",
    },
    "line_items": {
        "name",
        "quantity",
        "price",
        "hs_sku",
        "hs_product_id",
        "recurringbillingfrequency",
        "hs_recurring_billing_start_date",
        "amount",
        "currency",
    },
    "companies": {
        "name",
        "domain",
        "address",
        "address2",
        "city",
        "zip",
        "state",
        "country",
        "q2c_region",
        "vat_number",
        "legal_entity",
        "currency",
        "erp_customer_id",
        "lifecyclestage",
        "q2c_company_key",
        "contact_email",
        "contact_firstname",
        "contact_lastname",
    },
    "contacts": {"email", "firstname", "lastname", "phone", "jobtitle", "company_id"},
}
# v4 association type ids (HUBSPOT_DEFINED) and their v3 labels.
ASSOCIATION_TYPES = {
    ("deals", "line_items"): 19,
    ("line_items", "deals"): 20,
    ("deals", "companies"): 5,
    ("companies", "deals"): 6,
    ("contacts", "companies"): 1,
    ("companies", "contacts"): 2,
}
_SINGULAR = {"deals": "deal", "line_items": "line_item", "companies": "company", "contacts": "contact"}


def error(status: int, code: str, message: str, retry_after: float | None = None) -> Response:
    correlation = str(uuid.uuid4())
    body: dict[str, object]
    if status == 429:
        body = {
            "status": "error",
            "message": "You have reached your secondly limit.",
            "errorType": "RATE_LIMIT",
            "correlationId": correlation,
            "policyName": "SECONDLY",
            "requestId": str(uuid.uuid4()),
        }
        headers = {
            "X-HubSpot-RateLimit-Max": "190",
            "X-HubSpot-RateLimit-Remaining": "0",
            "X-HubSpot-RateLimit-Interval-Milliseconds": "10000",
            "X-HubSpot-RateLimit-Daily": "1000000",
            "X-HubSpot-RateLimit-Daily-Remaining": "999000",
        }
        if retry_after is not None:
            headers["Retry-After"] = f"{retry_after:g}"
        return JSONResponse(body, status_code=429, headers=headers)
    category = {401: "INVALID_AUTHENTICATION", 404: "OBJECT_NOT_FOUND", 409: "CONFLICT"}.get(
        status, "VALIDATION_ERROR" if status < 500 else "INTERNAL_ERROR"
    )
    body = {
        "status": "error",
        "message": message,
        "correlationId": correlation,
        "category": category,
        "errors": [{"message": message, "code": code, "in": None, "context": {}}],
        "context": {},
        "links": {},
    }
    return JSONResponse(body, status_code=status)


class HubSpotError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def create_app(ctx: SimContext) -> FastAPI:
    app = FastAPI(title="HubSpot CRM simulator", openapi_url=None)
    store = ctx.store

    @app.exception_handler(HubSpotError)
    async def _hubspot_error(_: Request, exc: HubSpotError) -> Response:
        return error(exc.status, exc.code, exc.message)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> Response:
        return error(400, "INVALID_INPUT", f"Invalid input JSON: {exc.errors()[0]['msg']}")

    def auth(request: Request) -> None:
        if request.headers.get("authorization") != f"Bearer {ctx.settings.hubspot_token}":
            raise HubSpotError(
                401,
                "INVALID_AUTHENTICATION",
                "Authentication credentials not found. This API supports OAuth 2.0 "
                "authentication and you can find more details at "
                "https://developers.hubspot.com/docs/methods/auth/oauth-overview",
            )

    router = APIRouter(dependencies=[Depends(auth)])

    def check_type(object_type: str) -> None:
        if object_type not in OBJECT_TYPES:
            raise HubSpotError(400, "INVALID_OBJECT_TYPE", f"Unable to infer object type from: {object_type}")

    def check_properties(object_type: str, properties: dict[str, Any]) -> dict[str, str | None]:
        unknown = sorted(set(properties) - KNOWN_PROPERTIES[object_type])
        if unknown:
            raise HubSpotError(
                400,
                "PROPERTY_DOESNT_EXIST",
                f'Property values were not valid: [{{"name":"{unknown[0]}",'
                f'"message":"Property \\"{unknown[0]}\\" does not exist"}}]',
            )
        return {k: None if v is None else str(v) for k, v in properties.items()}

    def load(object_type: str, object_id: str) -> Record:
        record = store.get(SYSTEM, object_type, object_id)
        if record is None or record.get("archived"):
            raise HubSpotError(404, "OBJECT_NOT_FOUND", f"resource not found: {_SINGULAR[object_type]} {object_id}")
        return record

    def render(
        object_type: str, record: Record, properties: list[str] | None, associations: list[str] | None
    ) -> Record:
        props = record["properties"]
        shown = {k: props.get(k) for k in properties} if properties else dict(props)
        shown.update(
            {
                "hs_object_id": record["id"],
                "createdate": record["createdAt"],
                "hs_lastmodifieddate": record["updatedAt"],
            }
        )
        out: Record = {
            "id": record["id"],
            "properties": shown,
            "createdAt": record["createdAt"],
            "updatedAt": record["updatedAt"],
            "archived": False,
        }
        if associations:
            out["associations"] = {
                to: {
                    "results": [
                        {"id": i, "type": f"{_SINGULAR[object_type]}_to_{_SINGULAR[to]}"}
                        for i in record.get("associations", {}).get(to, [])
                    ]
                }
                for to in associations
                if record.get("associations", {}).get(to)
            }
        return out

    def create(object_type: str, properties: dict[str, Any], associations: list[Record] | None = None) -> Record:
        now = _now()
        record_id = str(store.next_id(f"hubspot:{object_type}", 10000 if object_type == "deals" else 50000))
        record: Record = {
            "id": record_id,
            "properties": check_properties(object_type, properties),
            "createdAt": now,
            "updatedAt": now,
            "archived": False,
            "associations": {},
        }
        store.put(SYSTEM, object_type, record_id, record)
        for association in associations or []:
            to_type = _TYPE_BY_ID.get(association["types"][0]["associationTypeId"], (object_type, ""))[1]
            associate(object_type, record_id, to_type, str(association["to"]["id"]))
        return store.get(SYSTEM, object_type, record_id) or record

    def update(object_type: str, record: Record, properties: dict[str, Any]) -> Record:
        before = record["properties"].get("dealstage")
        record["properties"].update(check_properties(object_type, properties))
        record["updatedAt"] = _now()
        store.put(SYSTEM, object_type, record["id"], record)
        if object_type == "deals" and before != "closedwon" and record["properties"].get("dealstage") == "closedwon":
            notify_stage_change(record)
        return record

    def associate(from_type: str, from_id: str, to_type: str, to_id: str) -> None:
        for a_type, a_id, b_type, b_id in ((from_type, from_id, to_type, to_id), (to_type, to_id, from_type, from_id)):
            record = load(a_type, a_id)
            linked = record.setdefault("associations", {}).setdefault(b_type, [])
            if b_id not in linked:
                linked.append(b_id)
                store.put(SYSTEM, a_type, a_id, record)

    def notify_stage_change(deal: Record) -> None:
        url = store.setting("hubspot_webhook_url", ctx.settings.hubspot_webhook_url)
        if not url:
            return
        secret = store.setting("hubspot_app_secret", ctx.settings.hubspot_app_secret)
        event_id = store.next_id("hubspot:event", 1)
        event = {
            "eventId": event_id,
            "subscriptionId": 2001,
            "portalId": 62515,
            "appId": 3001,
            "occurredAt": int(time.time() * 1000),
            "subscriptionType": "deal.propertyChange",
            "attemptNumber": 0,
            "objectId": int(deal["id"]),
            "propertyName": "dealstage",
            "propertyValue": "closedwon",
            "changeSource": "CRM_UI",
        }
        body = json.dumps([event]).encode()

        def sign(payload: bytes) -> dict[str, str]:
            timestamp = int(time.time() * 1000)
            return {
                "X-HubSpot-Signature-v3": signatures.hubspot_v3(secret, "POST", url, payload, timestamp),
                "X-HubSpot-Request-Timestamp": str(timestamp),
                "X-HubSpot-Signature-Version": "v3",
            }

        async def send() -> None:
            await deliver(ctx, SYSTEM, str(event_id), url, body, sign)

        for _ in range(int(store.setting("hubspot_webhook_copies", ctx.settings.webhook_copies))):
            ctx.background(send)  # at least once, and with copies > 1 several times at once

    def split(value: str | None) -> list[str] | None:
        return [v for v in value.split(",") if v] if value else None

    @router.get("/crm/v3/objects/{object_type}")
    async def list_objects(
        object_type: str,
        limit: int = 10,
        after: str | None = None,
        properties: str | None = None,
        associations: str | None = None,
    ) -> Record:
        check_type(object_type)
        records = [r for r in store.all(SYSTEM, object_type) if not r.get("archived")]
        start = int(after or 0)
        page = records[start : start + min(limit, 100)]
        out: Record = {"results": [render(object_type, r, split(properties), split(associations)) for r in page]}
        if start + len(page) < len(records):
            out["paging"] = {"next": {"after": str(start + len(page))}}
        return out

    @router.get("/crm/v3/objects/{object_type}/{object_id}")
    async def read(
        object_type: str, object_id: str, properties: str | None = None, associations: str | None = None
    ) -> Record:
        check_type(object_type)
        return render(object_type, load(object_type, object_id), split(properties), split(associations))

    @router.post("/crm/v3/objects/{object_type}", status_code=201)
    async def create_one(object_type: str, body: dict[str, Any]) -> Record:
        check_type(object_type)
        return render(
            object_type, create(object_type, body.get("properties", {}), body.get("associations")), None, None
        )

    @router.patch("/crm/v3/objects/{object_type}/{object_id}")
    async def update_one(object_type: str, object_id: str, body: dict[str, Any]) -> Record:
        check_type(object_type)
        return render(
            object_type, update(object_type, load(object_type, object_id), body.get("properties", {})), None, None
        )

    @router.delete("/crm/v3/objects/{object_type}/{object_id}", status_code=204)
    async def archive(object_type: str, object_id: str) -> Response:
        check_type(object_type)
        record = load(object_type, object_id)
        record["archived"] = True
        store.put(SYSTEM, object_type, object_id, record)
        return Response(status_code=204)

    def batch_result(results: list[Record], errors: list[Record], ok_status: int) -> Response:
        body: Record = {"status": "COMPLETE", "results": results, "startedAt": _now(), "completedAt": _now()}
        if errors:
            body["errors"], body["numErrors"] = errors, len(errors)
        return JSONResponse(body, status_code=207 if errors else ok_status)

    @router.post("/crm/v3/objects/{object_type}/batch/read")
    async def batch_read(object_type: str, body: dict[str, Any]) -> Response:
        check_type(object_type)
        results, errors = [], []
        for item in body.get("inputs", []):
            try:
                results.append(render(object_type, load(object_type, str(item["id"])), body.get("properties"), None))
            except HubSpotError as exc:
                errors.append(
                    {
                        "status": "error",
                        "category": "OBJECT_NOT_FOUND",
                        "message": exc.message,
                        "context": {"ids": [str(item["id"])]},
                    }
                )
        return batch_result(results, errors, 200)

    @router.post("/crm/v3/objects/{object_type}/batch/create")
    async def batch_create(object_type: str, body: dict[str, Any]) -> Response:
        check_type(object_type)
        results = [
            render(object_type, create(object_type, i.get("properties", {}), i.get("associations")), None, None)
            for i in body.get("inputs", [])
        ]
        return batch_result(results, [], 201)

    @router.post("/crm/v3/objects/{object_type}/batch/update")
    async def batch_update(object_type: str, body: dict[str, Any]) -> Response:
        check_type(object_type)
        results, errors = [], []
        for item in body.get("inputs", []):
            try:
                record = update(object_type, load(object_type, str(item["id"])), item.get("properties", {}))
                results.append(render(object_type, record, None, None))
            except HubSpotError as exc:
                errors.append(
                    {
                        "status": "error",
                        "category": "OBJECT_NOT_FOUND",
                        "message": exc.message,
                        "context": {"ids": [str(item["id"])]},
                    }
                )
        return batch_result(results, errors, 200)

    @router.post("/crm/v3/objects/{object_type}/batch/upsert")
    async def batch_upsert(object_type: str, body: dict[str, Any]) -> Response:
        """Idempotent writes: match on a unique property (`idProperty`) instead of the record id."""
        check_type(object_type)
        results = []
        for item in body.get("inputs", []):
            id_property, key = item.get("idProperty"), item.get("id")
            if not id_property or key is None:
                raise HubSpotError(400, "VALIDATION_ERROR", "batch/upsert inputs need idProperty and id")
            properties = {**item.get("properties", {}), id_property: key}
            found = store.find(SYSTEM, object_type, f"properties.{id_property}", str(key))
            if found:
                results.append(
                    {**render(object_type, update(object_type, found[0], properties), None, None), "new": False}
                )
            else:
                results.append({**render(object_type, create(object_type, properties), None, None), "new": True})
        return batch_result(results, [], 200)

    @router.post("/crm/v3/objects/{object_type}/search")
    async def search(object_type: str, body: dict[str, Any]) -> Record:
        check_type(object_type)
        records = [r for r in store.all(SYSTEM, object_type) if not r.get("archived")]

        def matches(record: Record, group: Record) -> bool:
            for f in group.get("filters", []):
                value = record["properties"].get(f["propertyName"])
                if f.get("operator", "EQ") == "EQ" and value != str(f.get("value")):
                    return False
                if f.get("operator") == "HAS_PROPERTY" and value in (None, ""):
                    return False
                if f.get("operator") == "GTE" and (value is None or value < str(f.get("value"))):
                    return False
                if f.get("operator") == "LTE" and (value is None or value > str(f.get("value"))):
                    return False
            return True

        groups = body.get("filterGroups") or [{}]
        hits = [r for r in records if any(matches(r, g) for g in groups)]
        start, limit = int(body.get("after") or 0), min(int(body.get("limit") or 10), 200)
        page = hits[start : start + limit]
        out: Record = {
            "total": len(hits),
            "results": [render(object_type, r, body.get("properties"), None) for r in page],
        }
        if start + len(page) < len(hits):
            out["paging"] = {"next": {"after": str(start + len(page))}}
        return out

    @router.put("/crm/v4/objects/{from_type}/{from_id}/associations/default/{to_type}/{to_id}")
    async def associate_default(from_type: str, from_id: str, to_type: str, to_id: str) -> Record:
        check_type(from_type)
        check_type(to_type)
        associate(from_type, from_id, to_type, to_id)
        type_id = ASSOCIATION_TYPES.get((from_type, to_type), 0)
        return {
            "status": "COMPLETE",
            "results": [
                {
                    "from": {"id": from_id},
                    "to": {"id": to_id},
                    "associationSpec": {"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": type_id},
                }
            ],
        }

    app.include_router(router)
    app.state.create = create
    app.state.update = update
    app.state.load = load
    app.state.associate = associate
    return app


_TYPE_BY_ID = {type_id: pair for pair, type_id in ASSOCIATION_TYPES.items()}
