"""`/crm/v3/objects/{objectType}`: basic reads and writes, the paged list, and the batch endpoints.

Docs: https://developers.hubspot.com/docs/api/crm/deals (create 201, read by id or by a
unique `idProperty`, `properties`/`associations` as lists), https://developers.hubspot.com/docs/guides/crm/using-object-apis
(list paging: `limit` up to 100, `after` from `paging.next.after`; batch create/read/update/upsert/archive),
https://developers.hubspot.com/docs/api-reference/error-handling (207 multi-status; a batch create is
refused whole unless each input carries an `objectWriteTraceId`).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import JSONResponse, Response

from simulators.store import Record

from .crm import Crm, now_iso
from .errors import HubSpotError, category

PAGE_MAX = 100


def listed(request: Request, name: str) -> list[str] | None:
    """A list parameter sent either way: `a,b` or repeated (`name=a&name=b`, what HubSpot's clients send)."""
    values = [v for raw in request.query_params.getlist(name) for v in raw.split(",") if v]
    return values or None


def flag(request: Request, name: str) -> bool:
    return request.query_params.get(name, "false").lower() == "true"


def batch_response(results: list[Record], errors: list[Record], ok: int) -> Response:
    stamp = now_iso()
    body: Record = {"status": "COMPLETE", "results": results, "requestedAt": stamp, "startedAt": stamp}
    body["completedAt"] = now_iso()
    if errors:
        body["errors"], body["numErrors"] = errors, len(errors)
    return JSONResponse(body, status_code=207 if errors else ok)


def batch_error(exc: HubSpotError, ids: list[str] | None = None) -> Record:
    context = {"ids": ids} if ids else exc.context
    return {
        "status": "error",
        "category": category(exc.status),
        "message": exc.message,
        "context": context,
        "errors": [],
        "links": {},
    }


def inputs(body: dict[str, Any], need_id: bool = True) -> list[Record]:
    items = body.get("inputs")
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        raise HubSpotError(400, "VALIDATION_ERROR", "Invalid input JSON: inputs must be a list of objects")
    if need_id and (missing := [n for n, i in enumerate(items) if i.get("id") in (None, "")]):
        raise HubSpotError(400, "VALIDATION_ERROR", f"Invalid input JSON: inputs[{missing[0]}].id is required")
    return items


def objects_router(crm: Crm) -> APIRouter:
    router = APIRouter()
    schema = crm.schema

    @router.get("/crm/v3/objects/{object_type}")
    async def list_page(request: Request, object_type: str, limit: int = 10, after: str | None = None) -> Record:
        """Ordered by id; `after` is the id the next page starts at, so inserts do not shift pages."""
        schema.check_type(object_type)
        if limit < 1:
            raise HubSpotError(400, "VALIDATION_ERROR", f"limit must be at least 1, got {limit}")
        start = int(after) if after and after.isdigit() else 0
        records = [r for r in crm.live(object_type, flag(request, "archived")) if int(r["id"]) >= start]
        page = records[: min(limit, PAGE_MAX)]
        properties, associations = listed(request, "properties"), listed(request, "associations")
        out: Record = {"results": [crm.render(object_type, r, properties, associations) for r in page]}
        if len(records) > len(page):
            next_id = records[len(page)]["id"]
            out["paging"] = {"next": {"after": next_id, "link": f"?after={next_id}"}}
        return out

    @router.get("/crm/v3/objects/{object_type}/{object_id}")
    async def read(request: Request, object_type: str, object_id: str) -> Record:
        schema.check_type(object_type)
        record = crm.load(object_type, object_id, request.query_params.get("idProperty"), flag(request, "archived"))
        return crm.render(object_type, record, listed(request, "properties"), listed(request, "associations"))

    @router.post("/crm/v3/objects/{object_type}", status_code=201)
    async def create(object_type: str, body: dict[str, Any]) -> Record:
        schema.check_type(object_type)
        record = crm.create(object_type, body.get("properties") or {}, body.get("associations"))
        return crm.render(object_type, record, list(record["properties"]))

    @router.patch("/crm/v3/objects/{object_type}/{object_id}")
    async def update(request: Request, object_type: str, object_id: str, body: dict[str, Any]) -> Record:
        schema.check_type(object_type)
        record = crm.load(object_type, object_id, request.query_params.get("idProperty"))
        record = crm.update(object_type, record, body.get("properties") or {})
        return crm.render(object_type, record, list(record["properties"]))

    @router.delete("/crm/v3/objects/{object_type}/{object_id}", status_code=204)
    async def archive(object_type: str, object_id: str) -> Response:
        schema.check_type(object_type)
        crm.archive(object_type, crm.load(object_type, object_id))
        return Response(status_code=204)

    @router.post("/crm/v3/objects/{object_type}/batch/read")
    async def batch_read(request: Request, object_type: str, body: dict[str, Any]) -> Response:
        schema.check_type(object_type)
        results, errors = [], []
        id_property, archived = body.get("idProperty"), flag(request, "archived")
        for item in inputs(body):
            try:
                record = crm.load(object_type, str(item["id"]), id_property, archived)
                results.append(crm.render(object_type, record, body.get("properties")))
            except HubSpotError as exc:
                errors.append(batch_error(exc, [str(item["id"])]))
        return batch_response(results, errors, 200)

    @router.post("/crm/v3/objects/{object_type}/batch/create")
    async def batch_create(object_type: str, body: dict[str, Any]) -> Response:
        """All or nothing, unless every input carries an `objectWriteTraceId` (then 207 with partial results)."""
        schema.check_type(object_type)
        items = inputs(body, need_id=False)
        traced = bool(items) and all(i.get("objectWriteTraceId") for i in items)
        results, errors = [], []
        if not traced:
            for item in items:  # refuse the whole batch before writing anything
                schema.clean(object_type, item.get("properties") or {})
                for association in item.get("associations") or []:
                    crm.association_target(object_type, association)
        for item in items:
            try:
                record = crm.create(object_type, item.get("properties") or {}, item.get("associations"))
            except HubSpotError as exc:
                errors.append({**batch_error(exc), "id": item.get("objectWriteTraceId")})
                continue
            shown = crm.render(object_type, record, list(record["properties"]))
            results.append({**shown, **({"objectWriteTraceId": item["objectWriteTraceId"]} if traced else {})})
        return batch_response(results, errors, 201)

    @router.post("/crm/v3/objects/{object_type}/batch/update")
    async def batch_update(object_type: str, body: dict[str, Any]) -> Response:
        """Invalid values refuse the whole batch; inputs whose record is missing come back as errors (207)."""
        schema.check_type(object_type)
        items = inputs(body)
        for item in items:
            schema.clean(object_type, item.get("properties") or {})
        results, errors = [], []
        for item in items:
            try:
                record = crm.load(object_type, str(item["id"]), item.get("idProperty"))
            except HubSpotError as exc:
                errors.append(batch_error(exc, [str(item["id"])]))
                continue
            record = crm.update(object_type, record, item.get("properties") or {})
            results.append(crm.render(object_type, record, list(record["properties"])))
        return batch_response(results, errors, 200)

    @router.post("/crm/v3/objects/{object_type}/batch/upsert")
    async def batch_upsert(object_type: str, body: dict[str, Any]) -> Response:
        """Create or update by a unique property (`idProperty`); `new` says which happened."""
        schema.check_type(object_type)
        items = inputs(body, need_id=False)
        plans = []
        for item in items:
            id_property, key = item.get("idProperty"), item.get("id")
            if not id_property or key is None:
                raise HubSpotError(400, "VALIDATION_ERROR", "batch/upsert inputs need idProperty and id")
            properties = {**(item.get("properties") or {}), id_property: str(key)}
            schema.clean(object_type, properties)
            plans.append((id_property, str(key), properties))
        results = []
        for id_property, key, properties in plans:
            found = crm.find_unique(object_type, id_property, key)
            if found is not None:
                record, new = crm.update(object_type, found, properties), False
            else:
                record, new = crm.create(object_type, properties), True
            results.append({**crm.render(object_type, record, list(record["properties"])), "new": new})
        return batch_response(results, [], 200)

    @router.post("/crm/v3/objects/{object_type}/batch/archive", status_code=204)
    async def batch_archive(object_type: str, body: dict[str, Any]) -> Response:
        schema.check_type(object_type)
        for item in inputs(body):
            try:
                crm.archive(object_type, crm.load(object_type, str(item["id"])))
            except HubSpotError:
                continue  # archiving what is not there is not an error
        return Response(status_code=204)

    return router
