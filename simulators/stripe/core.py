"""What every Stripe resource shares: Stripe's error body, typed params, ids, cursor paging, expansion, versions."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import Any

from fastapi import Request
from starlette.responses import JSONResponse, Response

from simulators.context import SimContext
from simulators.store import Record
from simulators.stripe_spec import RequestInvalid, StripeSpec, decode_form

SYSTEM = "stripe"
API_VERSION = "2023-08-16"  # the account's default version, and the one Stripe's spec subset describes
PERIODS_ON_ITEMS = "2025-03-31"  # from basil on, current_period_* live on subscription items only
_VERSION = re.compile(r"^\d{4}-\d{2}-\d{2}(\.[a-z]+)?$")
PREFIX = {
    "customer": "cus",
    "product": "prod",
    "price": "price",
    "subscription": "sub",
    "subscription_item": "si",
    "invoice": "in",
    "invoiceitem": "ii",
    "line_item": "il",
    "credit_note": "cn",
    "credit_note_line_item": "cnli",
    "event": "evt",
}
KIND_OF_PREFIX = {prefix: kind for kind, prefix in PREFIX.items()}
# Which fields of which object `expand[]` may replace by the object they name (Stripe's x-expandableFields).
EXPANDABLE = {
    "customer": set[str](),
    "product": {"default_price"},
    "price": {"product"},
    "subscription": {"customer", "latest_invoice"},
    "subscription_item": set[str](),
    "invoice": {"customer", "subscription"},
    "line_item": {"subscription", "invoice_item"},
    "invoiceitem": {"customer", "invoice", "subscription"},
    "credit_note": {"customer", "invoice"},
}


def error(
    status: int,
    code: str | None,
    message: str,
    retry_after: float | None = None,
    param: str | None = None,
    kind: str | None = None,
) -> Response:
    """Stripe's error body and headers; `Stripe-Should-Retry` says whether the same request can succeed."""
    if kind is None:
        kind = "api_error" if status >= 500 else "invalid_request_error"
    body: Record = {"type": kind, "message": message}
    if code:
        body["code"] = code
        body["doc_url"] = f"https://stripe.com/docs/error-codes/{code.replace('_', '-')}"
    if param:
        body["param"] = param
    should_retry = status >= 500 or status in (409, 429) or code == "lock_timeout"
    headers = {"Stripe-Should-Retry": "true" if should_retry else "false", "Request-Id": request_id()}
    if retry_after is not None:
        headers["Retry-After"] = f"{retry_after:g}"
    return JSONResponse({"error": body}, status_code=status, headers=headers)


def request_id() -> str:
    return f"req_{time.time_ns():x}"


class StripeError(Exception):
    def __init__(
        self, status: int, code: str | None, message: str, param: str | None = None, kind: str | None = None
    ) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.param, self.kind = status, code, message, param, kind


def invalid(message: str, param: str | None = None, code: str = "parameter_invalid") -> StripeError:
    return StripeError(400, code, message, param)


def version_of(request: Request) -> str:
    requested = request.headers.get("stripe-version")
    if requested is None:
        return API_VERSION
    if not _VERSION.match(requested):
        raise StripeError(400, None, f"Invalid Stripe API version: {requested}")
    return requested


Renderer = Callable[["Stripe", Record, str], Record]


class Stripe:
    """The simulator's state and the verbs every resource router uses."""

    def __init__(self, ctx: SimContext, spec: StripeSpec | None) -> None:
        self.ctx, self.store, self.spec = ctx, ctx.store, spec
        self.renderers: dict[str, Renderer] = {}
        self.defaults: dict[str, Callable[[int], Record]] = {}

    # ---- params ----
    async def params(self, request: Request, checked: bool = True) -> dict[str, Any]:
        """Query (GET, DELETE) or form body (POST, DELETE), typed and checked against Stripe's spec.

        `checked=False` for paths the spec subset does not describe (search, invoice lines). Without the spec
        values stay strings: routes read them through `flag` and `integer`.
        """
        raw = decode_form(str(request.url.query))
        if request.method in ("POST", "DELETE"):
            raw = {**raw, **decode_form(await request.body())}
        path = request.url.path.removeprefix(request.scope.get("root_path", ""))
        if self.spec is not None and checked:
            try:
                raw = self.spec.validate(request.method, path, raw)
            except RequestInvalid as exc:
                code = "parameter_unknown" if "unknown" in str(exc) else "parameter_invalid"
                if str(exc).startswith("Missing"):
                    code = "parameter_missing"
                raise StripeError(400, code, str(exc), exc.param) from None
        return raw

    # ---- records ----
    def new(self, kind: str, fields: Record) -> Record:
        """A record with every field Stripe always sends, then the caller's fields."""
        now = int(time.time())
        number = self.store.next_id(f"stripe:{kind}", 1)
        record: Record = {"id": f"{PREFIX[kind]}_{number:014d}", "object": kind, "created": now, "livemode": False}
        if kind in self.defaults:
            record.update(self.defaults[kind](now))
        record.update(fields)
        return self.store.put(SYSTEM, kind, record["id"], record)

    def load(self, kind: str, record_id: str, param: str = "id", status: int = 404) -> Record:
        record = self.store.get(SYSTEM, kind, record_id)
        if record is None or record.get("_deleted"):
            raise StripeError(status, "resource_missing", f"No such {kind}: '{record_id}'", param)
        return record

    def save(self, record: Record) -> Record:
        return self.store.put(SYSTEM, record["object"], record["id"], record)

    def live(self, kind: str) -> list[Record]:
        return [r for r in self.store.all(SYSTEM, kind) if not r.get("_deleted")]

    # ---- responses ----
    def render(self, record: Record, version: str = API_VERSION) -> Record:
        """The object as the API version asks; internal fields (leading `_`) never leave."""
        renderer = self.renderers.get(str(record.get("object")))
        shown = renderer(self, record, version) if renderer else record
        return {k: v for k, v in shown.items() if not k.startswith("_")}

    def one(self, record: Record, request: Request, expand: list[str] | None) -> Record:
        version = version_of(request)
        return self.expand(self.render(record, version), list(expand or []), version)

    def expand(self, obj: Record, paths: list[str], version: str) -> Record:
        for path in paths:
            obj = self._expand_path(obj, path.split("."), version, path)
        return obj

    def _expand_path(self, obj: Record, parts: list[str], version: str, whole: str) -> Record:
        if len(whole.split(".")) > 4:
            raise invalid(f"You cannot expand more than 4 levels of a property. Property: {whole}", "expand")
        head, rest = parts[0], parts[1:]
        if obj.get("object") in ("list", "search_result") and head == "data":
            data = [self._expand_path(item, rest, version, whole) if rest else item for item in obj["data"]]
            return {**obj, "data": data}
        if head not in EXPANDABLE.get(str(obj.get("object")), set()):
            raise invalid(f"This property cannot be expanded ({whole}).", "expand")
        value = obj.get(head)
        if isinstance(value, str):
            kind = KIND_OF_PREFIX.get(value.split("_", 1)[0], "")
            value = self.render(self.load(kind, value), version)
        if isinstance(value, dict) and rest:
            value = self._expand_path(value, rest, version, whole)
        return {**obj, head: value}

    def page(self, records: list[Record], query: Record, url: str, version: str) -> Record:
        """Stripe's cursor paging: newest first, `limit` 1-100 (10 by default), `starting_after`/`ending_before`."""
        limit = limit_of(query)
        ordered = sorted(created_in(records, query.get("created")), key=_order, reverse=True)
        after, before = query.get("starting_after"), query.get("ending_before")
        if after and before:
            raise invalid("You may only specify one of these parameters: ending_before, starting_after.")
        if after:
            cursor = _order(self._cursor(after, "starting_after"))
            rest = [r for r in ordered if _order(r) < cursor]
            data, more = rest[:limit], len(rest) > limit
        elif before:
            cursor = _order(self._cursor(before, "ending_before"))
            newer = [r for r in ordered if _order(r) > cursor]
            data, more = newer[-limit:], len(newer) > limit
        else:
            data, more = ordered[:limit], len(ordered) > limit
        shown = [self.render(r, version) for r in data]
        listed = {"object": "list", "data": shown, "has_more": more, "url": url}
        return self.expand(listed, list(query.get("expand") or []), version)

    def _cursor(self, record_id: str, param: str) -> Record:
        kind = KIND_OF_PREFIX.get(str(record_id).split("_", 1)[0], "object")
        record = self.store.get(SYSTEM, kind, str(record_id))
        if record is None:
            raise StripeError(400, "resource_missing", f"No such {kind}: '{record_id}'", param)
        return record


def limit_of(query: Record) -> int:
    raw = query.get("limit", 10)
    try:
        limit = int(raw)
    except (TypeError, ValueError):
        raise invalid(f"Invalid integer: {raw}", "limit", "parameter_invalid_integer") from None
    if limit < 1:
        raise invalid("This value must be greater than or equal to 1.", "limit", "parameter_invalid_integer")
    if limit > 100:
        raise invalid("This value must be less than or equal to 100.", "limit", "parameter_invalid_integer")
    return limit


def created_in(records: list[Record], created: Any) -> list[Record]:
    """The `created` filter: an exact timestamp or a range (gt, gte, lt, lte)."""
    if created is None:
        return records
    if not isinstance(created, dict):
        return [r for r in records if r["created"] == int(created)]
    checks = {"gt": int.__gt__, "gte": int.__ge__, "lt": int.__lt__, "lte": int.__le__}
    return [r for r in records if all(checks[op](r["created"], int(v)) for op, v in created.items() if op in checks)]


def _order(record: Record) -> tuple[int, str]:
    return int(record["created"]), str(record["id"])


def flag(value: Any) -> bool:
    """A boolean param, typed by the spec or still the form's "true"/"false" (no spec at hand)."""
    return value is True or value == "true"


def integer(value: Any, param: str = "amount") -> int | None:
    """An integer param (amounts are whole minor units): "12.50" is refused as Stripe refuses it."""
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not re.fullmatch(r"-?\d+", str(value)):
        raise invalid(f"Invalid integer: {value}", param, "parameter_invalid_integer")
    return int(value)


def metadata(p: Record) -> dict[str, str]:
    """Stripe keeps metadata values as strings; an empty value unsets the key."""
    return {k: str(v) for k, v in (p.get("metadata") or {}).items()}


def merge_metadata(current: dict[str, str], update: Any) -> dict[str, str]:
    if update == "":  # metadata= clears every key
        return {}
    merged = {**current, **{k: str(v) for k, v in (update or {}).items()}}
    return {k: v for k, v in merged.items() if v != ""}
