"""HubSpot's error bodies and rate-limit headers, on every answer the simulator gives.

Error model: https://developers.hubspot.com/docs/api-reference/error-handling (status, message,
correlationId, category, errors[], context, links; clients must treat every field as optional).
Rate-limit headers: https://developers.hubspot.com/docs/api/usage-details
"""

from __future__ import annotations

import json
import time
import uuid
from collections import deque

from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

# A private app on a Professional account: 190 requests per 10 s, and a daily allowance.
BURST_MAX, BURST_INTERVAL_MS, DAILY_MAX = 190, 10_000, 1_000_000
_CATEGORY = {
    401: "INVALID_AUTHENTICATION",
    403: "MISSING_SCOPES",
    404: "OBJECT_NOT_FOUND",
    405: "VALIDATION_ERROR",
    409: "CONFLICT",
}


class HubSpotError(Exception):
    """Raised anywhere in the simulator; rendered as HubSpot's error body."""

    def __init__(self, status: int, code: str, message: str, context: dict[str, list[str]] | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.context = status, code, message, context or {}


def category(status: int) -> str:
    return _CATEGORY.get(status, "VALIDATION_ERROR" if status < 500 else "INTERNAL_ERROR")


def error(
    status: int,
    code: str,
    message: str,
    retry_after: float | None = None,
    context: dict[str, list[str]] | None = None,
) -> Response:
    """HubSpot's error body and rate-limit headers (also when a fault renders it, outside the app)."""
    correlation = str(uuid.uuid4())
    if status == 429:
        body: dict[str, object] = {
            "status": "error",
            "message": "You have reached your secondly limit.",
            "errorType": "RATE_LIMIT",
            "correlationId": correlation,
            "policyName": "SECONDLY",
            "requestId": str(uuid.uuid4()),
        }
        headers = {**limit_headers(0), **({"Retry-After": f"{retry_after:g}"} if retry_after is not None else {})}
        return JSONResponse(body, status_code=429, headers=headers)
    body = {
        "status": "error",
        "message": message,
        "correlationId": correlation,
        "category": category(status),
        "errors": [{"message": message, "code": code, "context": context or {}}],
        "context": context or {},
        "links": {},
    }
    return JSONResponse(body, status_code=status, headers=limit_headers(BURST_MAX - 1))


def property_error(name: str, problem: str, code: str) -> HubSpotError:
    """A refused property value: HubSpot puts a JSON list of the invalid properties in the message."""
    detail = [{"isValid": False, "message": problem, "error": code, "name": name, "localizedErrorMessage": problem}]
    return HubSpotError(400, code, f"Property values were not valid: {json.dumps(detail)}", {"propertyName": [name]})


def limit_headers(remaining: int) -> dict[str, str]:
    return {
        "X-HubSpot-RateLimit-Max": str(BURST_MAX),
        "X-HubSpot-RateLimit-Remaining": str(max(0, remaining)),
        "X-HubSpot-RateLimit-Interval-Milliseconds": str(BURST_INTERVAL_MS),
        "X-HubSpot-RateLimit-Daily": str(DAILY_MAX),
        "X-HubSpot-RateLimit-Daily-Remaining": str(DAILY_MAX - 1000),
    }


class RateLimitHeaders:
    """Every response carries the burst allowance left in the rolling 10-second window, not only a 429."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.recent: deque[float] = deque()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        now = time.monotonic()
        self.recent.append(now)
        while self.recent and self.recent[0] < now - BURST_INTERVAL_MS / 1000:
            self.recent.popleft()
        remaining = BURST_MAX - len(self.recent)

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":  # this window's figures replace any default
                ours = {k.lower().encode(): v.encode() for k, v in limit_headers(remaining).items()}
                kept = [(k, v) for k, v in message.get("headers", []) if k.lower() not in ours]
                message = {**message, "headers": [*kept, *ours.items()]}
            await send(message)

        await self.app(scope, receive, with_headers)
