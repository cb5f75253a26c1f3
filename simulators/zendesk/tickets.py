"""Tickets: create (answering with the ticket and its audit, idempotent by `Idempotency-Key`), show, list, update."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import JSONResponse, Response

from simulators.store import Record
from simulators.zendesk.account import Account, ticket_detail
from simulators.zendesk.common import SYSTEM, ZendeskError, body_of, now, paged

API_USER_ID = 1900000001  # the agent whose token q2c uses
STATUSES = ("new", "open", "pending", "hold", "solved", "closed")
_SET_ON_CREATE = ("subject", "priority", "type", "status", "external_id", "organization_id", "tags", "custom_fields")


def router(account: Account) -> APIRouter:
    api = APIRouter()
    store = account.store

    def audit(ticket: Record, changes: list[tuple[str, Any]], comment: str | None, kind: str) -> Record:
        """The audit Zendesk records for one write: its comment and one event per field set or changed."""
        audit_id = store.next_id("zendesk:audit", 2127301000)
        events: list[Record] = []
        if comment:
            events.append(
                {
                    "id": store.next_id("zendesk:event", 1564245000),
                    "type": "Comment",
                    "author_id": API_USER_ID,
                    "body": comment,
                    "html_body": f'<div class="zd-comment"><p>{comment}</p></div>',
                    "plain_body": comment,
                    "public": True,
                    "attachments": [],
                    "audit_id": audit_id,
                }
            )
        for field_name, value in changes:
            event = {
                "id": store.next_id("zendesk:event", 1564245000),
                "type": kind,
                "value": value,
                "field_name": field_name,
            }
            events.append(event)
        return {
            "id": audit_id,
            "ticket_id": ticket["id"],
            "created_at": ticket["updated_at"],
            "author_id": API_USER_ID,
            "metadata": {"system": {"client": "q2c"}, "custom": {}},
            "via": {"channel": "api", "source": {"from": {}, "to": {}, "rel": None}},
            "events": events,
        }

    def create(fields: Record) -> Record:
        comment = (fields.get("comment") or {}).get("body") or fields.get("description")
        if not comment:
            raise ZendeskError(422, "BlankValue", "Description: cannot be blank", "description")
        if fields.get("organization_id") is not None:
            account.load("organization", str(fields["organization_id"]))
        if fields.get("status", "new") not in STATUSES:
            raise ZendeskError(422, "InvalidValue", f"Status: is not one of {', '.join(STATUSES)}", "status")
        ticket_id = store.next_id("zendesk:ticket", 1)
        stamp = now()
        ticket = {
            "id": ticket_id,
            "url": account.url(f"tickets/{ticket_id}.json"),
            "external_id": fields.get("external_id"),
            "type": fields.get("type"),
            "subject": fields.get("subject"),
            "raw_subject": fields.get("subject"),
            "description": comment,
            "priority": fields.get("priority"),
            "status": fields.get("status", "new"),
            "requester_id": fields.get("requester_id", API_USER_ID),
            "submitter_id": API_USER_ID,
            "assignee_id": fields.get("assignee_id"),
            "organization_id": fields.get("organization_id"),
            "group_id": fields.get("group_id"),
            "tags": sorted(set(fields.get("tags") or [])),
            "custom_fields": fields.get("custom_fields", []),
            "via": {"channel": "api", "source": {"from": {}, "to": {}, "rel": None}},
            "is_public": True,
            "created_at": stamp,
            "updated_at": stamp,
        }
        store.put(SYSTEM, "ticket", str(ticket_id), ticket)
        changes = [(name, ticket[name]) for name in _SET_ON_CREATE if ticket.get(name) not in (None, [], "")]
        account.emit("zen:event-type:ticket.created", f"zen:ticket:{ticket_id}", ticket_detail(ticket), {})
        return {"ticket": ticket, "audit": audit(ticket, changes, comment, "Create")}

    @api.post("/api/v2/tickets", status_code=201)
    async def create_ticket(request: Request) -> Response:
        """`Idempotency-Key` is honoured here only: the same key and body answer the same ticket, `hit`."""
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
        answer = create(await body_of(request, "ticket"))
        content = json.dumps(answer)
        if key:
            store.save_response(SYSTEM, key, fingerprint, 201, content)
        headers = {"Location": answer["ticket"]["url"], **({"x-idempotency-lookup": "miss"} if key else {})}
        return Response(content, status_code=201, media_type="application/json", headers=headers)

    @api.get("/api/v2/tickets")
    async def list_tickets(request: Request) -> Record:
        return paged(request, store.all(SYSTEM, "ticket"), "tickets", account.url("tickets.json"))

    @api.get("/api/v2/tickets/show_many")
    async def show_many(ids: str = "") -> Record:
        found = [store.get(SYSTEM, "ticket", i.strip()) for i in ids.split(",")[:100] if i.strip()]
        return {"tickets": [t for t in found if t is not None]}

    @api.get("/api/v2/tickets/{ticket_id}")
    async def show_ticket(ticket_id: str) -> Record:
        return {"ticket": account.load("ticket", ticket_id)}

    @api.put("/api/v2/tickets/{ticket_id}")
    async def update_ticket(ticket_id: str, request: Request) -> Record:
        ticket, given = account.load("ticket", ticket_id), await body_of(request, "ticket")
        if given.get("status", ticket["status"]) not in STATUSES:
            raise ZendeskError(422, "InvalidValue", f"Status: is not one of {', '.join(STATUSES)}", "status")
        if ticket["status"] == "closed":
            raise ZendeskError(422, "InvalidValue", "Status: closed prevents ticket update", "status")
        changes = [
            (k, v) for k, v in given.items() if k in ("subject", "priority", "status", "tags") and ticket.get(k) != v
        ]
        before = dict(ticket)
        ticket.update(dict(changes))
        ticket["updated_at"] = now()
        store.put(SYSTEM, "ticket", ticket_id, ticket)
        for name, value in changes:
            if name in ("status", "priority", "subject", "tags"):
                current, previous = value, before.get(name)
                if name in ("status", "priority"):
                    current, previous = str(value).upper(), (str(previous).upper() if previous else None)
                event_type = f"zen:event-type:ticket.{name}_changed"
                account.emit(
                    event_type,
                    f"zen:ticket:{ticket_id}",
                    ticket_detail(ticket),
                    {"current": current, "previous": previous},
                )
        comment = (given.get("comment") or {}).get("body")
        return {"ticket": ticket, "audit": audit(ticket, changes, comment, "Change")}

    return api
