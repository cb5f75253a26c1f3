"""Organizations and organization fields: create, show, update, create_or_update, search, show_many, delete."""

from __future__ import annotations

import re
from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import JSONResponse, Response

from simulators.store import Record
from simulators.zendesk.account import Account, organization_detail
from simulators.zendesk.common import SYSTEM, ZendeskError, body_of, now, paged

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_FIELD_TYPES = ("text", "textarea", "checkbox", "date", "integer", "decimal", "regexp", "dropdown", "lookup")
_STANDARD = (
    "name",
    "external_id",
    "details",
    "notes",
    "tags",
    "domain_names",
    "group_id",
    "shared_tickets",
    "shared_comments",
)


def _value(definition: Record, value: Any) -> Any:
    """A custom field value checked against its field's type, as Zendesk validates it."""
    key, kind, title = definition["key"], definition["type"], definition["title"] or definition["key"]
    if value is None or value == "":
        return None
    number = not isinstance(value, bool) and isinstance(value, int | float)
    numeric = isinstance(value, str) and bool(re.match(r"^-?\d+(\.\d+)?$", value))
    ok = {
        "date": isinstance(value, str) and bool(_DATE.match(value)),
        "integer": (number and float(value).is_integer()) or (numeric and "." not in str(value)),
        "decimal": number or numeric,
        "checkbox": isinstance(value, bool),
        "dropdown": value in [o.get("value") for o in definition.get("custom_field_options") or []],
    }.get(kind, number or isinstance(value, str))
    if not ok:
        raise ZendeskError(422, "InvalidValue", f"{title} is invalid", key)
    if kind == "integer":
        return int(value)
    return value if kind in ("checkbox", "decimal", "date") else str(value)


def router(account: Account) -> APIRouter:
    api = APIRouter()
    store = account.store

    def write(record: Record, given: Record, created: bool) -> Record:
        """Apply `given` to `record`, validated as Zendesk does; store it and send the events it causes."""
        before = dict(record)
        name = given.get("name", record.get("name"))
        if not name:
            raise ZendeskError(422, "BlankValue", "Name: cannot be blank", "name")
        for other in store.find(SYSTEM, "organization", "name", name):
            if other["id"] != record.get("id"):
                raise ZendeskError(422, "DuplicateValue", f"Name: {name} has already been taken", "name")
        external_id = given.get("external_id", record.get("external_id"))
        if external_id and any(
            o["id"] != record.get("id") for o in store.find(SYSTEM, "organization", "external_id", external_id)
        ):
            raise ZendeskError(422, "DuplicateValue", "External ID has already been taken", "external_id")
        definitions = {f["key"]: f for f in account.fields()}
        custom = {  # keys that are no field of this account are ignored, as Zendesk does
            key: _value(definitions[key], value)
            for key, value in (given.get("organization_fields") or {}).items()
            if key in definitions
        }
        record.update({k: v for k, v in given.items() if k in _STANDARD})
        previous_fields = dict(record.get("organization_fields") or {})
        record["organization_fields"] = {**previous_fields, **custom}
        record["updated_at"] = now()
        store.put(SYSTEM, "organization", str(record["id"]), record)
        detail, subject = organization_detail(record), f"zen:organization:{record['id']}"
        if created:
            account.emit("zen:event-type:organization.created", subject, detail, {})
            return record
        for attribute in ("name", "external_id"):
            if before.get(attribute) != record.get(attribute):
                change = {"current": record.get(attribute), "previous": before.get(attribute)}
                account.emit(f"zen:event-type:organization.{attribute}_changed", subject, detail, change)
        if sorted(before.get("tags") or []) != sorted(record.get("tags") or []):
            tags = {"current": record.get("tags"), "previous": before.get("tags")}
            account.emit("zen:event-type:organization.tags_changed", subject, detail, tags)
        for key, value in custom.items():
            if previous_fields.get(key) != value:
                definition = definitions[key]
                field = {
                    "id": str(definition["id"]),
                    "key": key,
                    "title": definition["title"],
                    "type": definition["type"],
                }
                change = {"current": value, "previous": previous_fields.get(key), "field": field}
                account.emit("zen:event-type:organization.custom_field_changed", subject, detail, change)
        return record

    def create(given: Record) -> Record:
        org_id = store.next_id("zendesk:organization", 360000)
        blank = {
            "id": org_id,
            "url": account.url(f"organizations/{org_id}.json"),
            "name": None,
            "external_id": None,
            "details": None,
            "notes": None,
            "group_id": None,
            "shared_tickets": False,
            "shared_comments": False,
            "tags": [],
            "domain_names": [],
            "created_at": now(),
        }
        return write(blank, given, created=True)

    # ---- organization fields ----
    @api.get("/api/v2/organization_fields")
    async def list_fields(request: Request) -> Record:
        return paged(
            request, account.fields(active_only=False), "organization_fields", account.url("organization_fields.json")
        )

    @api.post("/api/v2/organization_fields", status_code=201)
    async def create_field(request: Request) -> Record:
        given = await body_of(request, "organization_field")
        if not given.get("key") or not given.get("title"):
            raise ZendeskError(422, "BlankValue", "Key and Title: cannot be blank", "key")
        if given.get("type") not in _FIELD_TYPES:
            raise ZendeskError(422, "InvalidValue", f"Type: is not one of {', '.join(_FIELD_TYPES)}", "type")
        if any(f["key"] == given["key"] for f in account.fields(active_only=False)):
            raise ZendeskError(422, "DuplicateValue", f"Key: {given['key']} has already been taken", "key")
        return {"organization_field": account.new_field(given)}

    @api.get("/api/v2/organization_fields/{field_id}")
    async def show_field(field_id: str) -> Record:
        account.fields()
        return {"organization_field": account.load("organization_field", field_id)}

    @api.put("/api/v2/organization_fields/{field_id}")
    async def update_field(field_id: str, request: Request) -> Record:
        account.fields()
        record, given = account.load("organization_field", field_id), await body_of(request, "organization_field")
        if "type" in given and given["type"] != record["type"]:
            raise ZendeskError(422, "InvalidValue", "Type: cannot be changed", "type")
        for attribute in (
            "title",
            "description",
            "position",
            "active",
            "regexp_for_validation",
            "custom_field_options",
        ):
            if attribute in given:
                record[attribute] = given[attribute]
        record.update({"raw_title": record["title"], "updated_at": now()})
        return {"organization_field": store.put(SYSTEM, "organization_field", field_id, record)}

    @api.delete("/api/v2/organization_fields/{field_id}", status_code=204)
    async def delete_field(field_id: str) -> Response:
        account.fields()
        store.delete(SYSTEM, "organization_field", str(account.load("organization_field", field_id)["id"]))
        return Response(status_code=204)

    # ---- organizations ----
    @api.get("/api/v2/organizations")
    async def list_orgs(request: Request) -> Record:
        orgs = [account.present(o) for o in store.all(SYSTEM, "organization")]
        return paged(request, orgs, "organizations", account.url("organizations.json"))

    @api.post("/api/v2/organizations", status_code=201)
    async def create_org(request: Request) -> Response:
        org = create(await body_of(request, "organization"))
        return JSONResponse({"organization": account.present(org)}, status_code=201, headers={"Location": org["url"]})

    @api.post("/api/v2/organizations/create_or_update")
    async def create_or_update(request: Request) -> Response:
        """Matched by `id`, else by `external_id`: 200 with the updated record, or 201 with a new one."""
        given = await body_of(request, "organization")
        match: Record | None = None
        if given.get("id") is not None:
            match = account.load("organization", str(given["id"]))
        elif given.get("external_id"):
            found = store.find(SYSTEM, "organization", "external_id", given["external_id"])
            match = found[0] if found else None
        if match is not None:
            return JSONResponse({"organization": account.present(write(match, given, created=False))}, status_code=200)
        return JSONResponse({"organization": account.present(create(given))}, status_code=201)

    @api.get("/api/v2/organizations/search")
    async def search_orgs(request: Request) -> Record:
        external_id, name = request.query_params.get("external_id"), request.query_params.get("name")
        if not external_id and not name:
            raise ZendeskError(400, "InvalidParameter", "external_id or name is required")
        attribute, value = ("external_id", external_id) if external_id else ("name", name)
        found = [account.present(o) for o in store.find(SYSTEM, "organization", attribute, value)]
        return paged(request, found, "organizations", account.url("organizations/search.json"))

    @api.get("/api/v2/organizations/show_many")
    async def show_many(ids: str | None = None, external_ids: str | None = None) -> Record:
        if ids:
            wanted = [store.get(SYSTEM, "organization", i.strip()) for i in ids.split(",")[:100]]
        elif external_ids:
            wanted = [
                o
                for e in external_ids.split(",")[:100]
                for o in store.find(SYSTEM, "organization", "external_id", e.strip())
            ]
        else:
            raise ZendeskError(400, "InvalidParameter", "ids or external_ids is required")
        return {"organizations": [account.present(o) for o in wanted if o is not None]}

    @api.get("/api/v2/organizations/{org_id}")
    async def show_org(org_id: str) -> Record:
        return {"organization": account.present(account.load("organization", org_id))}

    @api.put("/api/v2/organizations/{org_id}")
    async def update_org(org_id: str, request: Request) -> Record:
        record = account.load("organization", org_id)
        return {"organization": account.present(write(record, await body_of(request, "organization"), created=False))}

    @api.delete("/api/v2/organizations/{org_id}", status_code=204)
    async def delete_org(org_id: str) -> Response:
        record = account.load("organization", org_id)
        store.delete(SYSTEM, "organization", org_id)
        account.emit(
            "zen:event-type:organization.deleted", f"zen:organization:{org_id}", organization_detail(record), {}
        )
        return Response(status_code=204)

    return api
