"""The Webhooks API: create a webhook subscribed to event types, read and reset its signing secret."""

from __future__ import annotations

import secrets
import uuid

from fastapi import APIRouter, Request
from starlette.responses import JSONResponse, Response

from simulators.store import Record
from simulators.zendesk.account import Account
from simulators.zendesk.common import SYSTEM, body_of, now, paged

_REQUIRED = ("name", "endpoint", "http_method", "request_format", "status", "subscriptions")


def _errors(status: int, code: str, detail: str) -> JSONResponse:
    """The Webhooks API answers in its own, JSON:API-like, error shape."""
    return JSONResponse({"errors": [{"code": code, "title": code, "detail": detail}]}, status_code=status)


def router(account: Account) -> APIRouter:
    api = APIRouter()
    store = account.store

    def load(webhook_id: str) -> Record | None:
        return store.get(SYSTEM, "webhook", webhook_id)

    @api.post("/api/v2/webhooks", status_code=201)
    async def create_webhook(request: Request) -> Response:
        given = await body_of(request, "webhook")
        missing = [name for name in _REQUIRED if not given.get(name)]
        if missing:
            return _errors(400, "InvalidInput", f"missing required fields: {', '.join(missing)}")
        if given["status"] not in ("active", "inactive") or given["request_format"] not in (
            "json",
            "xml",
            "form_encoded",
        ):
            return _errors(400, "InvalidInput", "status or request_format has an invalid value")
        hook_id = "01" + uuid.uuid4().hex[:24].upper()
        secret = (given.get("signing_secret") or {}).get("secret") or secrets.token_urlsafe(32)
        hook = {
            "id": hook_id,
            "name": given["name"],
            "description": given.get("description"),
            "status": given["status"],
            "subscriptions": list(given["subscriptions"]),
            "endpoint": given["endpoint"],
            "http_method": given["http_method"],
            "request_format": given["request_format"],
            "created_at": now(),
            "created_by": "1900000001",
            "updated_at": now(),
            "updated_by": "1900000001",
            "signing_secret": {"algorithm": "SHA256", "secret": secret},
        }
        store.put(SYSTEM, "webhook", hook_id, hook)
        return JSONResponse({"webhook": _public(hook)}, status_code=201)

    @api.get("/api/v2/webhooks")
    async def list_webhooks(request: Request) -> Record:
        hooks = [_public(h) for h in store.all(SYSTEM, "webhook")]
        return paged(request, hooks, "webhooks", account.url("webhooks"))

    @api.get("/api/v2/webhooks/{webhook_id}")
    async def show_webhook(webhook_id: str) -> Response:
        hook = load(webhook_id)
        if hook is None:
            return _errors(404, "WebhookNotFound", f"webhook {webhook_id} not found")
        return JSONResponse({"webhook": _public(hook)})

    @api.delete("/api/v2/webhooks/{webhook_id}", status_code=204)
    async def delete_webhook(webhook_id: str) -> Response:
        if not store.delete(SYSTEM, "webhook", webhook_id):
            return _errors(404, "WebhookNotFound", f"webhook {webhook_id} not found")
        return Response(status_code=204)

    @api.get("/api/v2/webhooks/{webhook_id}/signing_secret")
    async def signing_secret(webhook_id: str) -> Response:
        hook = load(webhook_id)
        if hook is None:
            return _errors(404, "WebhookNotFound", f"webhook {webhook_id} not found")
        return JSONResponse({"signing_secret": hook["signing_secret"]})

    @api.post("/api/v2/webhooks/{webhook_id}/signing_secret")
    async def reset_secret(webhook_id: str) -> Response:
        hook = load(webhook_id)
        if hook is None:
            return _errors(404, "WebhookNotFound", f"webhook {webhook_id} not found")
        hook["signing_secret"] = {"algorithm": "SHA256", "secret": secrets.token_urlsafe(32)}
        store.put(SYSTEM, "webhook", webhook_id, hook)
        return JSONResponse({"signing_secret": hook["signing_secret"]})

    return api


def _public(hook: Record) -> Record:
    """A webhook as the API shows it: never with its secret."""
    return {k: v for k, v in hook.items() if k != "signing_secret"}
