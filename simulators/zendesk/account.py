"""The simulated Zendesk account: its records, its custom field definitions, and the signed events it sends."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import uuid
from typing import Any

from simulators.context import SimContext
from simulators.store import Record
from simulators.webhooks import deliver
from simulators.zendesk.common import ACCOUNT_ID, ORGANIZATION_FIELD_TYPES, SYSTEM, RateWindow, ZendeskError, now

EVENT_VERSION = "2022-06-20"
DEFAULT_RATE_LIMIT = 700  # Enterprise plan, requests a minute
CONFIGURED_HOOK = "01HQ2CCONFIGUREDWEBHOOK0000"  # the webhook q2c's own settings point at


class Account:
    def __init__(self, ctx: SimContext) -> None:
        self.ctx, self.store = ctx, ctx.store
        self.window = RateWindow(limit=DEFAULT_RATE_LIMIT)

    @property
    def rate_limit(self) -> tuple[int, bool]:
        """(requests a minute, whether a spent budget is refused): refused only when a limit is configured,
        so that suites and benchmarks sharing one simulator are not slowed by a limit they did not ask for."""
        configured = self.store.setting("zendesk_rate_limit", getattr(self.ctx.settings, "zendesk_rate_limit", None))
        return (DEFAULT_RATE_LIMIT, False) if configured is None else (int(configured), True)

    def url(self, path: str) -> str:
        return f"{self.ctx.base_url(SYSTEM)}/api/v2/{path}"

    def load(self, kind: str, record_id: str) -> Record:
        record = self.store.get(SYSTEM, kind, record_id) if record_id.isdigit() else None
        if record is None:
            raise ZendeskError(404, "RecordNotFound", "Not found")
        return record

    # ---- organization fields ----
    def fields(self, active_only: bool = True) -> list[Record]:
        """The account's organization field definitions, created as an admin would on first use."""
        if not self.store.setting("zendesk_fields_seeded"):
            self.store.set_setting("zendesk_fields_seeded", True)
            for position, (key, kind) in enumerate(ORGANIZATION_FIELD_TYPES):
                self.new_field({"key": key, "type": kind, "title": key.replace("_", " ").capitalize()}, position)
        found = sorted(self.store.all(SYSTEM, "organization_field"), key=lambda f: (f["position"], f["id"]))
        return [f for f in found if f["active"] or not active_only]

    def new_field(self, given: Record, position: int | None = None) -> Record:
        field_id = self.store.next_id("zendesk:organization_field", 360001000)
        title = given.get("title") or ""
        record = {
            "id": field_id,
            "url": self.url(f"organization_fields/{field_id}.json"),
            "key": given["key"],
            "type": given["type"],
            "title": title,
            "raw_title": title,
            "description": given.get("description", ""),
            "raw_description": given.get("description", ""),
            "position": given.get("position", position if position is not None else 9999),
            "active": given.get("active", True),
            "system": False,
            "regexp_for_validation": given.get("regexp_for_validation"),
            "custom_field_options": given.get("custom_field_options") or [],
            "created_at": now(),
            "updated_at": now(),
        }
        return self.store.put(SYSTEM, "organization_field", str(field_id), record)

    def present(self, org: Record) -> Record:
        """An organization as the API shows it: every active field's key, unset ones as null, deleted ones gone."""
        values = org.get("organization_fields") or {}
        shown = {k: v for k, v in org.items() if not k.startswith("_")}
        shown["organization_fields"] = {f["key"]: values.get(f["key"]) for f in self.fields()}
        return shown

    # ---- events ----
    def emit(self, event_type: str, subject: str, detail: Record, event: Record) -> None:
        """Send a Zendesk event webhook to every active webhook subscribed to it, and to q2c's configured one."""
        targets = [
            (hook["endpoint"], hook["signing_secret"]["secret"], hook["id"])
            for hook in self.store.all(SYSTEM, "webhook")
            if hook["status"] == "active" and event_type in hook["subscriptions"]
        ]
        configured = self.store.setting("zendesk_webhook_url", getattr(self.ctx.settings, "zendesk_webhook_url", None))
        if configured:
            secret = self.store.setting(
                "zendesk_webhook_secret",
                getattr(self.ctx.settings, "zendesk_webhook_secret", "zendesk-webhook-secret-dev"),
            )
            targets.append((configured, secret, CONFIGURED_HOOK))
        if not targets:
            return
        payload = {
            "type": event_type,
            "account_id": ACCOUNT_ID,
            "id": str(uuid.uuid4()),
            "time": now(),
            "zendesk_event_version": EVENT_VERSION,
            "subject": subject,
            "detail": detail,
            "event": event,
        }
        body = json.dumps(payload).encode()
        for url, secret, hook_id in targets:
            self.ctx.background(self._sender(str(payload["id"]), url, body, secret, hook_id))

    def _sender(self, event_id: str, url: str, body: bytes, secret: str, hook_id: str) -> Any:
        def sign(payload: bytes) -> dict[str, str]:
            stamp = now()
            return {
                "X-Zendesk-Webhook-Signature": signature(secret, payload, stamp),
                "X-Zendesk-Webhook-Signature-Timestamp": stamp,
                "X-Zendesk-Webhook-Id": hook_id,
                "User-Agent": "Zendesk Webhook",
            }

        async def send() -> None:
            await deliver(self.ctx, SYSTEM, event_id, url, body, sign)

        return send


def signature(secret: str, body: bytes, timestamp: str) -> str:
    """base64(HMAC-SHA256(secret, timestamp + body)), as Zendesk signs; written here, not borrowed from q2c."""
    return base64.b64encode(hmac.new(secret.encode(), timestamp.encode() + body, hashlib.sha256).digest()).decode()


def organization_detail(org: Record) -> Record:
    """The `detail` of an organization event: a few attributes, ids as strings."""
    group = org.get("group_id")
    return {
        "created_at": org.get("created_at"),
        "external_id": org.get("external_id"),
        "group_id": None if group is None else str(group),
        "id": str(org["id"]),
        "name": org.get("name"),
        "shared_comments": org.get("shared_comments", False),
        "shared_tickets": org.get("shared_tickets", False),
        "updated_at": org.get("updated_at"),
    }


def ticket_detail(ticket: Record) -> Record:
    """The `detail` of a ticket event: ids as strings, as Zendesk sends them."""

    def text(value: Any) -> str | None:
        return None if value is None else str(value)

    return {
        "actor_id": "-1",
        "assignee_id": text(ticket.get("assignee_id")),
        "brand_id": text(ticket.get("brand_id")),
        "created_at": ticket["created_at"],
        "custom_status": text(ticket.get("custom_status_id")),
        "description": ticket.get("description"),
        "external_id": text(ticket.get("external_id")),
        "form_id": text(ticket.get("ticket_form_id")),
        "group_id": text(ticket.get("group_id")),
        "id": str(ticket["id"]),
        "is_public": ticket.get("is_public", True),
        "organization_id": text(ticket.get("organization_id")),
        "priority": (ticket.get("priority") or "").upper() or None,
        "requester_id": text(ticket.get("requester_id")),
        "status": (ticket.get("status") or "").upper(),
        "subject": ticket.get("subject"),
        "submitter_id": text(ticket.get("submitter_id")),
        "tags": ticket.get("tags", []),
        "type": (ticket.get("type") or "").upper() or None,
        "updated_at": ticket["updated_at"],
        "via": {"channel": ticket.get("via", {}).get("channel", "api")},
    }
