"""`POST /crm/v3/objects/{objectType}/search`: filter groups, sorts, free-text query, capped paging.

Docs: https://developers.hubspot.com/docs/api/crm/search (operators, `query`, `sorts`, `limit` up
to 200, and "the search endpoints are limited to 10,000 total results for any given query": paging past
it is refused with a 400); filter limits from
https://developers.hubspot.com/changelog/breaking-change-expanded-filtering-capabilities-and-error-messaging-in-hubspots-search-api
(5 groups, 10 filters per group, 25 in all). Filter groups are OR-ed, filters in a group AND-ed.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Any

from fastapi import APIRouter

from simulators.store import Record

from .crm import ALWAYS, DEFAULT_PROPERTIES, Crm
from .errors import HubSpotError
from .index import KEYSET, MatchIndex, after, keyset, live_records
from .schema import parse_moment

RESULT_CAP, LIMIT_MAX = 10_000, 200
MAX_GROUPS, MAX_PER_GROUP, MAX_FILTERS = 5, 10, 25
SEARCHABLE = {
    "deals": ["dealname", "pipeline", "dealstage", "description", "dealtype"],
    "companies": ["name", "website", "domain", "phone"],
    "contacts": ["firstname", "lastname", "email", "phone", "company"],
    "line_items": ["name", "hs_sku"],
}
OPERATORS = {"EQ", "NEQ", "LT", "LTE", "GT", "GTE", "BETWEEN", "IN", "NOT_IN", "HAS_PROPERTY", "NOT_HAS_PROPERTY"}
OPERATORS |= {"CONTAINS_TOKEN", "NOT_CONTAINS_TOKEN"}
Key = Callable[[str], Any]


def key_for(kind: str | None) -> Key:
    """How values of a property type compare: numbers as numbers, dates as instants, text case-blind."""
    if kind == "number":
        return lambda v: Decimal(v)
    if kind in ("date", "datetime"):

        def instant(v: str) -> Any:
            moment = parse_moment(v)
            if moment is None:
                raise InvalidOperation(v)
            return moment.timestamp()

        return instant
    return lambda v: v.lower()


def token_match(value: str, pattern: str) -> bool:
    """CONTAINS_TOKEN: a whole word of the value, `*` as a wildcard."""
    regex = re.compile("^" + ".*".join(re.escape(p) for p in pattern.lower().split("*")) + "$")
    return any(regex.match(word) for word in re.split(r"[^\w@.*-]+", value.lower()) if word)


def matches(f: Record, raw: str | None, key: Key) -> bool:
    op = f["operator"]
    if op == "HAS_PROPERTY":
        return raw not in (None, "")
    if op == "NOT_HAS_PROPERTY":
        return raw in (None, "")
    if raw in (None, ""):
        return op in ("NEQ", "NOT_IN", "NOT_CONTAINS_TOKEN")
    assert raw is not None
    if op in ("CONTAINS_TOKEN", "NOT_CONTAINS_TOKEN"):
        return token_match(raw, str(f.get("value", ""))) == (op == "CONTAINS_TOKEN")
    try:
        value = key(raw)
        if op in ("IN", "NOT_IN"):
            return (value in {key(str(v)) for v in f.get("values") or []}) == (op == "IN")
        if op == "BETWEEN":
            return bool(key(str(f.get("value"))) <= value <= key(str(f.get("highValue"))))
        operand = key(str(f.get("value")))
    except (InvalidOperation, ValueError, TypeError):
        return False
    return {
        "EQ": value == operand,
        "NEQ": value != operand,
        "LT": value < operand,
        "LTE": value <= operand,
        "GT": value > operand,
        "GTE": value >= operand,
    }[op]


def search_router(crm: Crm) -> APIRouter:
    router = APIRouter()
    schema = crm.schema
    index = MatchIndex(crm.store)

    def check(object_type: str, body: dict[str, Any]) -> tuple[list[Record], int, int, int]:
        groups = body.get("filterGroups") or []
        if len(groups) > MAX_GROUPS or any(len(g.get("filters") or []) > MAX_PER_GROUP for g in groups):
            raise HubSpotError(400, "VALIDATION_ERROR", f"at most {MAX_GROUPS} filterGroups of {MAX_PER_GROUP}")
        if sum(len(g.get("filters") or []) for g in groups) > MAX_FILTERS:
            raise HubSpotError(400, "VALIDATION_ERROR", f"at most {MAX_FILTERS} filters in all")
        known = schema.definitions(object_type)
        names = [f.get("propertyName") for g in groups for f in g.get("filters") or []]
        names += [s.get("propertyName") for s in body.get("sorts") or [] if isinstance(s, dict)]
        for name in names:
            if name not in known:
                message = f"Property {name!r} does not exist on {object_type}"
                raise HubSpotError(400, "PROPERTY_DOESNT_EXIST", message, {"propertyName": [str(name)]})
        for f in (f for g in groups for f in g.get("filters") or []):
            if f.get("operator") not in OPERATORS:
                raise HubSpotError(400, "VALIDATION_ERROR", f"operator {f.get('operator')!r} is not one of OPERATORS")
        limit = int(body.get("limit") or 10)
        if not 1 <= limit <= LIMIT_MAX:
            raise HubSpotError(400, "VALIDATION_ERROR", f"limit must be between 1 and {LIMIT_MAX}, got {limit}")
        after = str(body.get("after") or "0")
        if not after.isdigit():
            raise HubSpotError(400, "VALIDATION_ERROR", f"after must be the offset HubSpot returned, not {after!r}")
        cap = int(crm.store.setting("hubspot_search_cap", RESULT_CAP))
        if int(after) >= cap:
            raise HubSpotError(
                400,
                "VALIDATION_ERROR",
                f"The search endpoints are limited to {cap} total results for any given query: "
                f"after {after} is past it; narrow the query",
            )
        return groups, limit, int(after), cap

    @router.post("/crm/v3/objects/{object_type}/search")
    async def search(object_type: str, body: dict[str, Any]) -> Record:
        schema.check_type(object_type)
        groups, limit, start, cap = check(object_type, body)
        keys = {name: key_for(str(d["type"])) for name, d in schema.definitions(object_type).items()}
        words = str(body.get("query") or "").lower().split()

        def hit(values: dict[str, str | None]) -> bool:
            if groups and not any(
                all(matches(f, values.get(f["propertyName"]), keys[f["propertyName"]]) for f in g.get("filters") or [])
                for g in groups
            ):
                return False
            text = " ".join(str(values.get(p) or "") for p in SEARCHABLE[object_type]).lower()
            return all(any(w.startswith(word) for w in re.split(r"\W+", text)) for word in words)

        paged_by_id = keyset(object_type, body)
        if paged_by_id is not None:  # the same question each page, a higher id: bisect what was matched
            question, bound, inclusive = paged_by_id
            ids = index.kept(question)
            if ids is None:
                version = index.version()
                groups = [  # `hit` reads these: the question without its keyset bound
                    {"filters": [f for f in g.get("filters") or [] if f.get("propertyName") != KEYSET]} for g in groups
                ]
                ids = [int(r["id"]) for r in live_records(crm.store, object_type) if hit(crm.view(r))]
                index.keep(question, ids, version)
            past = after(ids, bound, inclusive)
            end = min(start + limit, cap, len(past))
            records = [crm.load(object_type, str(i)) for i in past[start:end]]
            return page_of(object_type, body, records, len(past), end < min(cap, len(past)), end)
        found = [(r, crm.view(r)) for r in crm.live(object_type)]
        hits = [(r, v) for r, v in found if hit(v)]
        hits.sort(key=lambda pair: int(pair[0]["id"]))
        for order in reversed(body.get("sorts") or []):
            name = order["propertyName"] if isinstance(order, dict) else str(order)
            descending = isinstance(order, dict) and order.get("direction") == "DESCENDING"
            key = keys.get(name, key_for(None))

            def sort_key(
                pair: tuple[Record, dict[str, str | None]],
                name: str = name,
                key: Key = key,
                descending: bool = descending,
            ) -> Any:
                raw = pair[1].get(name)
                try:
                    return (raw in (None, "")) != descending, key(raw) if raw not in (None, "") else 0
                except (InvalidOperation, ValueError):
                    return not descending, 0  # unparseable values sort with the empty ones

            hits.sort(key=sort_key, reverse=descending)
        end = min(start + limit, cap, len(hits))  # nothing past the cap: the rest is out of reach
        page = [r for r, _ in hits[start:end]]
        return page_of(object_type, body, page, len(hits), end < min(cap, len(hits)), end)

    def page_of(object_type: str, body: Record, page: list[Record], total: int, more: bool, end: int) -> Record:
        properties = body.get("properties") or DEFAULT_PROPERTIES[object_type]
        out: Record = {
            "total": total,
            "results": [crm.render(object_type, r, [*properties, *ALWAYS]) for r in page],
        }
        if more:
            out["paging"] = {"next": {"after": str(end)}}
        return out

    return router
