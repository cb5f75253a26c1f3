"""Associations v4: link records (default or labelled), list a record's links page by page, unlink.

Docs: https://developers.hubspot.com/docs/api-reference/latest/crm/associations/overview
(`PUT .../associations/default/{toObjectType}/{toObjectId}`, `PUT .../associations/{toObjectType}/{toObjectId}`
with association types in the body (201), `GET .../associations/{toObjectType}` paged with `after`, up to 500),
and the batch read `POST /crm/v4/associations/{fromObjectType}/{toObjectType}/batch/read` (up to 1,000 inputs,
each `{id, after?}`; `results[].from.id`, `results[].to[].toObjectId`, `paging` only when a record has more).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import JSONResponse, Response

from simulators.store import Record

from .crm import ASSOCIATION_TYPES, SINGULAR, Crm, now_iso
from .errors import HubSpotError
from .objects import batch_response
from .schema import OBJECT_TYPE_IDS, SYSTEM

LIST_MAX = 500
BATCH_READ_MAX = 1_000  # inputs per v4 batch read


def spec(from_type: str, to_type: str) -> Record:
    return {"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": ASSOCIATION_TYPES[(from_type, to_type)]}


def associations_router(crm: Crm) -> APIRouter:
    router = APIRouter()
    base = "/crm/v4/objects/{from_type}/{from_id}/associations"

    def check_pair(from_type: str, to_type: str) -> None:
        crm.schema.check_type(from_type)
        crm.schema.check_type(to_type)
        if (from_type, to_type) not in ASSOCIATION_TYPES:
            raise HubSpotError(400, "INVALID_ASSOCIATION", f"{from_type} cannot be associated with {to_type}")

    @router.put(base + "/default/{to_type}/{to_id}")
    async def associate_default(from_type: str, from_id: str, to_type: str, to_id: str) -> Record:
        check_pair(from_type, to_type)
        crm.associate(from_type, from_id, to_type, to_id)
        stamp = now_iso()
        link = {"from": {"id": from_id}, "to": {"id": to_id}, "associationSpec": spec(from_type, to_type)}
        return {"status": "COMPLETE", "results": [link], "startedAt": stamp, "completedAt": now_iso()}

    @router.put(base + "/{to_type}/{to_id}", status_code=201)
    async def associate_labelled(
        from_type: str, from_id: str, to_type: str, to_id: str, body: list[dict[str, Any]]
    ) -> Response:
        check_pair(from_type, to_type)
        wanted = {int(t.get("associationTypeId", 0)) for t in body}
        if not body or wanted - {ASSOCIATION_TYPES[(from_type, to_type)]}:
            raise HubSpotError(400, "INVALID_ASSOCIATION", f"association types {sorted(wanted)} are not defined here")
        crm.associate(from_type, from_id, to_type, to_id)
        pair = {
            "fromObjectTypeId": OBJECT_TYPE_IDS[from_type],
            "fromObjectId": int(from_id),
            "toObjectTypeId": OBJECT_TYPE_IDS[to_type],
            "toObjectId": int(to_id),
            "labels": [],
        }
        return JSONResponse(pair, status_code=201)

    @router.get(base + "/{to_type}")
    async def list_associations(request: Request, from_type: str, from_id: str, to_type: str) -> Record:
        check_pair(from_type, to_type)
        linked = crm.load(from_type, from_id).get("associations", {}).get(to_type, [])
        start = int(request.query_params.get("after") or 0)
        limit = min(int(request.query_params.get("limit") or LIST_MAX), LIST_MAX)
        page = linked[start : start + limit]
        types = [{"category": "HUBSPOT_DEFINED", "typeId": ASSOCIATION_TYPES[(from_type, to_type)], "label": None}]
        out: Record = {"results": [{"toObjectId": int(i), "associationTypes": types} for i in page]}
        if start + len(page) < len(linked):
            out["paging"] = {"next": {"after": str(start + len(page))}}
        return out

    @router.delete(base + "/{to_type}/{to_id}", status_code=204)
    async def unlink(from_type: str, from_id: str, to_type: str, to_id: str) -> Response:
        check_pair(from_type, to_type)
        for a_type, a_id, b_type, b_id in ((from_type, from_id, to_type, to_id), (to_type, to_id, from_type, from_id)):
            record = crm.load(a_type, a_id)
            linked = record.get("associations", {}).get(b_type, [])
            if b_id in linked:
                linked.remove(b_id)
                crm.store.put(SYSTEM, a_type, a_id, record)
        return Response(status_code=204)

    @router.post("/crm/v4/associations/{from_type}/{to_type}/batch/read")
    async def batch_read(from_type: str, to_type: str, body: dict[str, Any]) -> Response:
        """Each input's links to `to_type`, LIST_MAX a record (then its own `paging.next.after`); an id with none
        (or no such record) is an error entry of a 207, as HubSpot's batch endpoints report per-input failures."""
        check_pair(from_type, to_type)
        items = body.get("inputs")
        if not isinstance(items, list) or not all(isinstance(i, dict) and i.get("id") for i in items):
            raise HubSpotError(400, "VALIDATION_ERROR", "Invalid input JSON: inputs must be a list of {id, after?}")
        if len(items) > BATCH_READ_MAX:
            raise HubSpotError(400, "VALIDATION_ERROR", f"at most {BATCH_READ_MAX} inputs per batch read")
        types = [{"category": "HUBSPOT_DEFINED", "typeId": ASSOCIATION_TYPES[(from_type, to_type)], "label": None}]
        results: list[Record] = []
        errors: list[Record] = []
        for item in items:
            from_id, start = str(item["id"]), int(item.get("after") or 0)
            record = crm.store.get(SYSTEM, from_type, from_id)
            linked = (record or {}).get("associations", {}).get(to_type, []) if record else []
            if not linked or record is None or record.get("archived"):
                errors.append(_none_found(from_type, from_id, to_type))
                continue
            page = linked[start : start + LIST_MAX]
            result: Record = {
                "from": {"id": from_id},
                "to": [{"toObjectId": int(i), "associationTypes": types} for i in page],
            }
            if start + len(page) < len(linked):
                result["paging"] = {"next": {"after": str(start + len(page))}}
            results.append(result)
        return batch_response(results, errors, 200)

    return router


def _none_found(from_type: str, from_id: str, to_type: str) -> Record:
    return {
        "status": "error",
        "category": "OBJECT_NOT_FOUND",
        "subCategory": "crm.associations.NO_ASSOCIATIONS_FOUND",
        "message": f"No {SINGULAR[to_type]} is associated with {SINGULAR[from_type]} {from_id}.",
        "context": {"fromObjectId": [from_id]},
        "errors": [],
        "links": {},
    }
