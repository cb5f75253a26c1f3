"""Zendesk's event webhooks: organization changes, signed over timestamp + body."""

from __future__ import annotations

import base64
import hmac
import time
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field, SecretStr

from connectors.settings import ZendeskSettings
from connectors.zendesk.mapping import ORGANIZATION_ATTRIBUTES
from models.common import System
from models.customer_sync import CustomerChange
from models.notices import ChangeNotice, IgnoredEvent
from models.signatures import SignatureError, hmac_sha256

NAME = "zendesk"
SIGNATURE, TIMESTAMP = "X-Zendesk-Webhook-Signature", "X-Zendesk-Webhook-Signature-Timestamp"
SIGNATURE_HEADERS = (SIGNATURE, TIMESTAMP)
TOLERANCE_S = 300
NAME_CHANGED = "zen:event-type:organization.name_changed"
FIELD_CHANGED = "zen:event-type:organization.custom_field_changed"
_ATTRIBUTE_OF = {field: attribute for attribute, field in ORGANIZATION_ATTRIBUTES.items()}


def signing_secret() -> SecretStr:
    """The webhook's signing secret (`Q2C_ZENDESK_WEBHOOK_SECRET`), from the connector's settings."""
    return ZendeskSettings().webhook_secret


class ZendeskOrganization(BaseModel):
    id: str
    external_id: str | None = None


class ZendeskChange(BaseModel):
    current: Any = None
    previous: Any = None
    field: dict[str, Any] | None = Field(default=None, description="for custom fields: {'key': ...}")


class ZendeskEvent(BaseModel):
    id: str = Field(min_length=1)
    type: str
    time: datetime
    detail: ZendeskOrganization
    event: ZendeskChange

    def customer_change(self) -> CustomerChange | None:
        """The change to a synchronised attribute of a q2c customer, if this event is one."""
        if not self.detail.external_id:
            return None
        if self.type == NAME_CHANGED:
            attribute: str | None = "legal_name"
        elif self.type == FIELD_CHANGED:
            attribute = _ATTRIBUTE_OF.get(str((self.event.field or {}).get("key")))
        else:
            attribute = None
        if attribute is None:
            return None
        return CustomerChange(
            change_id=f"{NAME}-{self.id}",
            customer_id=self.detail.external_id,
            source=System.SUPPORT,
            attribute=attribute,
            value=None if self.event.current is None else str(self.event.current),
            at=self.time,
            correlation_id=f"{NAME}-{self.id}",
        )


def sign(secret: str, body: bytes, timestamp: str) -> str:
    return base64.b64encode(hmac_sha256(secret, timestamp.encode() + body)).decode()


def verify(secret: str, body: bytes, signature: str | None, timestamp: str | None, now: float | None = None) -> None:
    """Zendesk signs timestamp + body; the ISO 8601 timestamp must also be within the replay window."""
    if not signature or not timestamp:
        raise SignatureError(f"missing {SIGNATURE} or its timestamp")
    if not hmac.compare_digest(sign(secret, body, timestamp), signature):
        raise SignatureError(f"{SIGNATURE} does not match")
    try:
        sent = datetime.fromisoformat(timestamp.replace("Z", "+00:00")).timestamp()
    except ValueError:
        raise SignatureError(f"{TIMESTAMP} is not an ISO 8601 time") from None
    if abs((time.time() if now is None else now) - sent) > TOLERANCE_S:
        raise SignatureError(f"{TIMESTAMP} is outside the 300 s window")


def verify_request(secret: str, method: str, uri: str, body: bytes, headers: Mapping[str, str]) -> None:
    verify(secret, body, headers.get(SIGNATURE.lower()), headers.get(TIMESTAMP.lower()))


def body_schema() -> dict[str, Any]:
    return ZendeskEvent.model_json_schema()


def parse(body: bytes) -> ChangeNotice | IgnoredEvent:
    """The customer change an organization event makes, or the event ignored; ValidationError if malformed."""
    event = ZendeskEvent.model_validate_json(body)
    change = event.customer_change()
    if change is None:
        return IgnoredEvent(event_id=event.id, type=event.type)
    return ChangeNotice(event_id=event.id, change=change)
