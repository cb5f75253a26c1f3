"""What every Zendesk route shares: error bodies, the rate-limit window, paging, the account's custom fields."""

from __future__ import annotations

import base64
import json
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from starlette.responses import JSONResponse, Response

from simulators.store import Record

SYSTEM = "zendesk"
ACCOUNT_ID = 9732064
MAX_PAGE_SIZE = 100
OFFSET_LIMIT = 10_000  # offset paging past the first 10,000 records answers 400 since 2024
# The account's organization fields as q2c's Zendesk admin set them up: (key, type).
ORGANIZATION_FIELD_TYPES = (
    ("service_tier", "text"),
    ("contract_start", "date"),
    ("contract_end", "date"),
    ("entitlement_status", "text"),
    ("invoice_status", "text"),
    ("erp_customer_id", "text"),
    ("payment_status", "text"),
    ("support_contact_preferences", "text"),
)
ORGANIZATION_FIELDS = tuple(key for key, _ in ORGANIZATION_FIELD_TYPES)


class ZendeskError(Exception):
    """A refusal in Zendesk's words; `field` names the attribute for 422 `details`."""

    def __init__(self, status: int, code: str, message: str, field: str = "base") -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.field = status, code, message, field


def rate_headers(limit: int, remaining: int, reset_s: int) -> dict[str, str]:
    """The headers Zendesk puts on every Ticketing API response (old and IETF-draft names)."""
    left = str(max(remaining, 0))
    return {
        "X-Rate-Limit": str(limit),
        "X-Rate-Limit-Remaining": left,
        "ratelimit-limit": str(limit),
        "ratelimit-remaining": left,
        "ratelimit-reset": str(reset_s),
    }


def error(status: int, code: str, message: str, retry_after: float | None = None) -> Response:
    """Zendesk's error bodies; also the fault injector's renderer, so injected faults look the same."""
    headers = rate_headers(700, 0 if status == 429 else 699, 60)
    if status == 429:
        wait = max(1, int(retry_after or 1))
        return JSONResponse(
            {"error": "TooManyRequests", "description": "Rate limit exceeded"},
            status_code=429,
            headers={**headers, "Retry-After": str(wait)},
        )
    if status == 401:
        return JSONResponse({"error": "Couldn't authenticate you"}, status_code=401, headers=headers)
    if status >= 500:
        return JSONResponse({"error": "InternalError", "description": message}, status_code=status, headers=headers)
    if status == 422:
        body: Record = {
            "error": "RecordInvalid",
            "description": "Record validation errors",
            "details": {"base": [{"description": message, "error": code}]},
        }
        return JSONResponse(body, status_code=422, headers=headers)
    kinds = {404: "RecordNotFound", 403: "Forbidden"}
    return JSONResponse({"error": kinds.get(status, code), "description": message}, status_code=status, headers=headers)


def refusal(exc: ZendeskError) -> Response:
    if exc.status == 422:
        return JSONResponse(
            {
                "error": "RecordInvalid",
                "description": "Record validation errors",
                "details": {exc.field: [{"description": exc.message, "error": exc.code}]},
            },
            status_code=422,
        )
    if exc.status in (400, 404, 409):
        return JSONResponse({"error": exc.code, "description": exc.message}, status_code=exc.status)
    return error(exc.status, exc.code, exc.message)


@dataclass
class RateWindow:
    """Requests per minute for the whole account, as Zendesk counts them (700 on Enterprise)."""

    limit: int
    started: float = field(default_factory=time.monotonic)
    used: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def take(self) -> tuple[int, int]:
        """Count one request; (remaining after it, seconds until the window resets). Negative: over."""
        with self.lock:
            now = time.monotonic()
            if now - self.started >= 60:
                self.started, self.used = now, 0
            self.used += 1
            return self.limit - self.used, max(1, int(60 - (now - self.started)))


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def page_size(request: Request) -> int | None:
    raw = request.query_params.get("page[size]")
    if raw is None:
        return None
    if not raw.isdigit() or int(raw) < 1:
        raise ZendeskError(400, "InvalidPaginationParameter", "page[size] must be a positive integer")
    if int(raw) > MAX_PAGE_SIZE:
        raise ZendeskError(
            400, "InvalidPaginationParameter", f"page[size] is greater than the maximum allowed of {MAX_PAGE_SIZE}"
        )
    return int(raw)


def offset(request: Request) -> tuple[int, int]:
    """(`per_page`, `page`) of an offset-paged request: 100 and 1 unless given, `per_page` at most 100."""
    raw_size, raw_page = request.query_params.get("per_page") or "100", request.query_params.get("page") or "1"
    if not raw_size.isdigit() or not raw_page.isdigit() or int(raw_size) < 1 or int(raw_page) < 1:
        raise ZendeskError(400, "InvalidPaginationParameter", "page and per_page must be positive integers")
    return min(int(raw_size), MAX_PAGE_SIZE), int(raw_page)


def _cursor(record_id: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps({"o": "id", "v": record_id}).encode()).decode().rstrip("=")


def _uncursor(cursor: str) -> Any:
    try:
        return json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))["v"]
    except (ValueError, KeyError, TypeError):
        raise ZendeskError(400, "InvalidPaginationParameter", "page[after] is not a valid cursor") from None


def paged(request: Request, records: list[Record], root: str, url: str) -> Record:
    """One page of `records` (sorted by id): cursor paging when `page[size]` is given, offset paging otherwise."""
    records = sorted(records, key=lambda r: (str(type(r["id"])), r["id"]))
    size = page_size(request)
    other = {k: v for k, v in request.query_params.items() if not k.startswith("page") and k != "per_page"}
    if size is not None:
        after, before = request.query_params.get("page[after]"), request.query_params.get("page[before]")
        if after:
            start = _uncursor(after)
            records = [r for r in records if r["id"] > start]
        elif before:
            end = _uncursor(before)
            records = [r for r in records if r["id"] < end][-size:]
        chunk, more = records[:size], len(records) > size
        first, last = (_cursor(chunk[0]["id"]), _cursor(chunk[-1]["id"])) if chunk else (None, None)
        return {
            root: chunk,
            "meta": {"has_more": more, "after_cursor": last, "before_cursor": first},
            "links": {
                "next": f"{url}?{urlencode({**other, 'page[size]': size, 'page[after]': last})}" if more else None,
                "prev": f"{url}?{urlencode({**other, 'page[size]': size, 'page[before]': first})}" if first else None,
            },
        }
    per_page, number = offset(request)
    if number * per_page > OFFSET_LIMIT:
        raise ZendeskError(
            400,
            "InvalidPaginationParameter",
            "Offset pagination is limited to the first 10,000 records; use cursor pagination",
        )
    start = (number - 1) * per_page
    chunk = records[start : start + per_page]

    def link(n: int) -> str:
        return f"{url}?{urlencode({**other, 'page': n, 'per_page': per_page})}"

    return {
        root: chunk,
        "next_page": link(number + 1) if start + per_page < len(records) else None,
        "previous_page": link(number - 1) if number > 1 else None,
        "count": len(records),
    }


async def body_of(request: Request, root: str) -> Record:
    try:
        body = json.loads(await request.body() or b"{}")
    except ValueError:
        raise ZendeskError(400, "InvalidJSON", "The request body is not valid JSON") from None
    if not isinstance(body, dict) or not isinstance(body.get(root), dict):
        raise ZendeskError(422, "InvalidValue", f"Expected a JSON object under '{root}'", root)
    return dict(body[root])
