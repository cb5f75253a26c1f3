"""Webhook signatures as each vendor computes them; shared by the simulators and the ingress."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from datetime import datetime

HUBSPOT_MAX_AGE_MS = 5 * 60 * 1000
STRIPE_TOLERANCE_S = 300
ZENDESK_TOLERANCE_S = 300


class SignatureError(ValueError):
    """The request is not signed by whom it claims, or the signature is stale."""


def _hmac(secret: str, message: bytes) -> bytes:
    return hmac.new(secret.encode(), message, hashlib.sha256).digest()


def hubspot_v3(secret: str, method: str, uri: str, body: bytes, timestamp_ms: int) -> str:
    message = method.upper().encode() + uri.encode() + body + str(timestamp_ms).encode()
    return base64.b64encode(_hmac(secret, message)).decode()


def verify_hubspot_v3(
    secret: str,
    method: str,
    uri: str,
    body: bytes,
    signature: str | None,
    timestamp: str | None,
    now_ms: int | None = None,
) -> None:
    if not signature or not timestamp:
        raise SignatureError("missing X-HubSpot-Signature-v3 or X-HubSpot-Request-Timestamp")
    try:
        timestamp_ms = int(timestamp)
    except ValueError:
        raise SignatureError("X-HubSpot-Request-Timestamp is not an integer") from None
    now_ms = int(time.time() * 1000) if now_ms is None else now_ms
    if now_ms - timestamp_ms > HUBSPOT_MAX_AGE_MS:
        raise SignatureError("X-HubSpot-Request-Timestamp is older than 5 minutes")
    expected = hubspot_v3(secret, method, uri, body, timestamp_ms)
    if not hmac.compare_digest(expected, signature):
        raise SignatureError("X-HubSpot-Signature-v3 does not match")


def stripe_header(secret: str, body: bytes, timestamp: int) -> str:
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def verify_stripe(secret: str, body: bytes, header: str | None, now: int | None = None) -> None:
    if not header:
        raise SignatureError("missing Stripe-Signature")
    parts = [item.split("=", 1) for item in header.split(",") if "=" in item]
    timestamps = [value for key, value in parts if key == "t"]
    candidates = [value for key, value in parts if key == "v1"]
    if not timestamps or not candidates or not timestamps[0].isdigit():
        raise SignatureError("Stripe-Signature has no t= or v1=")
    timestamp = int(timestamps[0])
    now = int(time.time()) if now is None else now
    if abs(now - timestamp) > STRIPE_TOLERANCE_S:
        raise SignatureError("Stripe-Signature timestamp is outside the 300 s tolerance")
    expected = stripe_header(secret, body, timestamp).split("v1=", 1)[1]
    if not any(hmac.compare_digest(expected, candidate) for candidate in candidates):
        raise SignatureError("no v1 signature in Stripe-Signature matches")


def zendesk(secret: str, body: bytes, timestamp: str) -> str:
    return base64.b64encode(_hmac(secret, timestamp.encode() + body)).decode()


def verify_zendesk(
    secret: str, body: bytes, signature: str | None, timestamp: str | None, now: float | None = None
) -> None:
    """Zendesk signs timestamp + body; the ISO 8601 timestamp must also be within the replay window."""
    if not signature or not timestamp:
        raise SignatureError("missing X-Zendesk-Webhook-Signature or its timestamp")
    if not hmac.compare_digest(zendesk(secret, body, timestamp), signature):
        raise SignatureError("X-Zendesk-Webhook-Signature does not match")
    try:
        sent = datetime.fromisoformat(timestamp.replace("Z", "+00:00")).timestamp()
    except ValueError:
        raise SignatureError("X-Zendesk-Webhook-Signature-Timestamp is not an ISO 8601 time") from None
    if abs((time.time() if now is None else now) - sent) > ZENDESK_TOLERANCE_S:
        raise SignatureError("X-Zendesk-Webhook-Signature-Timestamp is outside the 300 s window")
