"""HubSpot's webhooks: a signed JSON array of property-change events, delivered at least once."""

from __future__ import annotations

import base64
import hmac
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr, TypeAdapter

from connectors.hubspot.mapping import COMPANY_ATTRIBUTES, LIFECYCLE_PROPERTY
from connectors.settings import HubSpotSettings
from models.common import LifecycleStage, System
from models.customer_sync import LIFECYCLE, CustomerChange
from models.events import DealClosedWonV1
from models.notices import CrmNotice
from models.signatures import SignatureError, hmac_sha256

NAME = "hubspot"
SIGNATURE, TIMESTAMP = "X-HubSpot-Signature-v3", "X-HubSpot-Request-Timestamp"
SIGNATURE_HEADERS = (SIGNATURE, TIMESTAMP)
MAX_AGE_MS = 5 * 60 * 1000
_ATTRIBUTE_OF = {prop: attribute for attribute, prop in COMPANY_ATTRIBUTES.items()}


def signing_secret() -> SecretStr:
    """The app's client secret (`Q2C_HUBSPOT_APP_SECRET`), from the connector's settings."""
    return HubSpotSettings().app_secret


class HubSpotEvent(BaseModel):
    model_config = ConfigDict(extra="allow")

    eventId: int  # HubSpot's field names, kept as sent
    subscriptionId: int
    portalId: int
    occurredAt: int = Field(description="ms since epoch")
    subscriptionType: str = Field(min_length=1)
    attemptNumber: int = 0
    objectId: int
    propertyName: str | None = None
    propertyValue: str | None = None
    changeSource: str | None = None

    @property
    def closes_a_deal(self) -> bool:
        return (
            self.subscriptionType == "deal.propertyChange"
            and self.propertyName == "dealstage"
            and self.propertyValue == "closedwon"
        )

    @property
    def occurred(self) -> datetime:
        return datetime.fromtimestamp(self.occurredAt / 1000, UTC)

    @property
    def correlation_id(self) -> str:
        return f"{NAME}-{self.portalId}-{self.eventId}"


HubSpotBatch = TypeAdapter(list[HubSpotEvent])


def sign(secret: str, method: str, uri: str, body: bytes, timestamp_ms: int) -> str:
    """Signature v3: HMAC-SHA256 of method + URI + body + timestamp, base64."""
    message = method.upper().encode() + uri.encode() + body + str(timestamp_ms).encode()
    return base64.b64encode(hmac_sha256(secret, message)).decode()


def verify(
    secret: str,
    method: str,
    uri: str,
    body: bytes,
    signature: str | None,
    timestamp: str | None,
    now_ms: int | None = None,
) -> None:
    if not signature or not timestamp:
        raise SignatureError(f"missing {SIGNATURE} or {TIMESTAMP}")
    try:
        timestamp_ms = int(timestamp)
    except ValueError:
        raise SignatureError(f"{TIMESTAMP} is not an integer") from None
    now_ms = int(time.time() * 1000) if now_ms is None else now_ms
    if now_ms - timestamp_ms > MAX_AGE_MS:
        raise SignatureError(f"{TIMESTAMP} is older than 5 minutes")
    if not hmac.compare_digest(sign(secret, method, uri, body, timestamp_ms), signature):
        raise SignatureError(f"{SIGNATURE} does not match")


def verify_request(secret: str, method: str, uri: str, body: bytes, headers: Mapping[str, str]) -> None:
    """Check a delivery as HubSpot signed it; `uri` is the URL HubSpot called."""
    verify(secret, method, uri, body, headers.get(SIGNATURE.lower()), headers.get(TIMESTAMP.lower()))


def body_schema() -> dict[str, Any]:
    return HubSpotBatch.json_schema()


def company_change(event: HubSpotEvent) -> CustomerChange | None:
    """A `company.propertyChange` of a synchronised property (or the lifecycle stage), as a CustomerChange."""
    if event.subscriptionType != "company.propertyChange" or not event.propertyName:
        return None
    lifecycle = None
    if event.propertyName == LIFECYCLE_PROPERTY:
        attribute = LIFECYCLE
        lifecycle = LifecycleStage.CUSTOMER if event.propertyValue == "customer" else LifecycleStage.PROSPECT
    else:
        attribute = _ATTRIBUTE_OF.get(event.propertyName, "")
    if not attribute:
        return None
    return CustomerChange(
        change_id=f"{NAME}-{event.eventId}",
        customer_id=str(event.objectId),
        source=System.CRM,
        attribute=attribute,
        value=event.propertyValue,
        at=event.occurred,
        correlation_id=event.correlation_id,
        lifecycle=lifecycle,
        crm=NAME,
    )


def notice(events: list[HubSpotEvent]) -> CrmNotice:
    """The deals a delivery closes (the first event per deal) and its customer changes."""
    closed: dict[str, DealClosedWonV1] = {}
    for event in events:
        if event.closes_a_deal and str(event.objectId) not in closed:
            closed[str(event.objectId)] = DealClosedWonV1(
                event_id=str(event.eventId),
                occurred_at=event.occurred,
                correlation_id=event.correlation_id,
                deal_id=str(event.objectId),
                source=NAME,
            )
    changes = [change for event in events if (change := company_change(event)) is not None]
    return CrmNotice(received=len(events), closed=list(closed.values()), changes=changes)


def parse(body: bytes) -> CrmNotice:
    """Raises pydantic's ValidationError naming the field that is wrong."""
    return notice(HubSpotBatch.validate_json(body))
