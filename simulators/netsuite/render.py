"""How NetSuite shows records: amounts as JSON numbers, sublists as links unless expanded, pages with links.

The store keeps amounts as exact decimal strings; they become JSON numbers only on the wire, written
from the Decimal's own digits (never through a float).
"""

from __future__ import annotations

import json
import re
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from starlette.responses import Response

from simulators.netsuite.errors import MEDIA_TYPE, NetSuiteError

Record = dict[str, Any]

# Body fields each record type has (REST API Browser names); what a write may set.
FIELDS: dict[str, set[str]] = {
    "customer": {
        "companyName",
        "externalId",
        "entityId",
        "currency",
        "subsidiary",
        "defaultTaxReg",
        "defaultAddress",
        "email",
        "phone",
        "creditLimit",
        "terms",
        "isInactive",
        "comments",
    },
    "salesOrder": {
        "entity",
        "externalId",
        "tranDate",
        "currency",
        "item",
        "memo",
        "orderStatus",
        "subsidiary",
        "otherRefNum",
        "terms",
    },
    "nonInventorySaleItem": {"itemId", "externalId", "displayName", "basePrice", "isInactive", "subsidiary"},
    "invoice": {"externalId", "tranDate", "memo", "item"},
    "creditMemo": {"externalId", "tranDate", "memo", "item"},
    "returnAuthorization": {"entity", "externalId", "tranDate", "currency", "item", "memo", "orderStatus"},
}
LINE_FIELDS = {"item", "quantity", "rate", "amount", "description"}
CUSTOM_PREFIXES = ("custentity", "custbody", "custitem", "custcol", "custrecord")
SUBLISTS = ("item",)
NUMBERS = {
    "total",
    "subtotal",
    "rate",
    "amount",
    "quantity",
    "amountRemaining",
    "amountPaid",
    "creditLimit",
    "balance",
    "overdueBalance",
    "unbilledOrders",
    "basePrice",
}
_NUMBER_MARK = re.compile(r'"\\u0000n:(-?[0-9]+(?:\.[0-9]+)?(?:E[+-]?[0-9]+)?)"')


def _known(name: str, fields: set[str]) -> bool:
    return name in fields or name.startswith(CUSTOM_PREFIXES)


def check_names(record_type: str, body: Record, mode: str) -> Record:
    """`X-NetSuite-PropertyNameValidation`: Error refuses an unknown field; Warning (the default) and
    Ignore drop it. Sublist lines are checked as well."""
    strict = mode.strip().lower() == "error"
    fields = FIELDS.get(record_type, set())
    kept: Record = {}
    for name, value in body.items():
        if not _known(name, fields):
            if strict:
                raise NetSuiteError(
                    400, "INVALID_CONTENT", f"Invalid field name '{name}' for record type {record_type}.", name
                )
            continue
        kept[name] = value
    for sublist in SUBLISTS:
        lines = (kept.get(sublist) or {}).get("items") if isinstance(kept.get(sublist), dict) else None
        for index, line in enumerate(lines or []):
            for name in [n for n in line if not _known(n, LINE_FIELDS)]:
                if strict:
                    raise NetSuiteError(
                        400,
                        "INVALID_CONTENT",
                        f"Invalid field name '{name}' on the {sublist} sublist.",
                        f"{sublist}.items[{index}].{name}",
                    )
                del line[name]
    return kept


def _numbers(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: Decimal(str(v)) if k in NUMBERS and _is_number(v) else _numbers(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_numbers(v) for v in value]
    return value


def _is_number(value: Any) -> bool:
    if isinstance(value, bool) or value is None:
        return False
    try:
        Decimal(str(value))
    except ArithmeticError:
        return False
    return True


def dumps(data: Any) -> str:
    """JSON with Decimals written as numbers from their exact digits."""

    def mark(value: Any) -> Any:
        if isinstance(value, Decimal) and value.is_finite():
            return f"\u0000n:{value}"
        raise TypeError(f"{type(value).__name__} is not JSON serialisable")

    return _NUMBER_MARK.sub(r"\1", json.dumps(data, default=mark))


def respond(data: Any, status: int = 200) -> Response:
    return Response(dumps(_numbers(data)), status_code=status, media_type=MEDIA_TYPE)


def record_view(record: Record, self_href: str, expand: bool) -> Record:
    """A GET of one record: sublists are a link to themselves unless `expandSubResources=true`."""
    shown = dict(record)
    for sublist in SUBLISTS:
        if isinstance(shown.get(sublist), dict):
            lines = shown[sublist].get("items") or []
            links = [{"rel": "self", "href": f"{self_href}/{sublist}"}]
            if expand:
                items = [
                    {"links": [{"rel": "self", "href": f"{self_href}/{sublist}/{n}"}], **line}
                    for n, line in enumerate(lines, start=1)
                ]
                shown[sublist] = {"links": links, "items": items, "totalResults": len(items)}
            else:
                shown[sublist] = {"links": links}
    return shown


def page(items: list[Record], base: str, limit: int, offset: int, params: dict[str, str] | None = None) -> Record:
    """Collection paging: `limit` (1-1000) and `offset`, `count`, `hasMore`, `totalResults` and rel links."""
    if not 1 <= limit <= 1000:
        raise NetSuiteError(400, "INVALID_PARAMETER", "The limit must be between 1 and 1000.", errorQueryParam="limit")
    if offset < 0:
        raise NetSuiteError(400, "INVALID_PARAMETER", "The offset must not be negative.", errorQueryParam="offset")
    total, chunk = len(items), items[offset : offset + limit]
    extra = dict(params or {})

    def href(at: int) -> str:
        return f"{base}?{urlencode({**extra, 'limit': limit, 'offset': at})}"

    links = []
    if offset > 0:
        links += [{"rel": "first", "href": href(0)}, {"rel": "previous", "href": href(max(0, offset - limit))}]
    if offset + len(chunk) < total:
        links.append({"rel": "next", "href": href(offset + limit)})
    if total:
        links.append({"rel": "last", "href": href(((total - 1) // limit) * limit)})
    links.append({"rel": "self", "href": href(offset)})
    return {
        "links": links,
        "count": len(chunk),
        "hasMore": offset + len(chunk) < total,
        "items": chunk,
        "offset": offset,
        "totalResults": total,
    }
