"""Reading every record of a HubSpot list or search, past the search's 10,000-result limit.

HubSpot's search returns at most 10,000 results for one query and refuses to page further
(https://developers.hubspot.com/docs/api/crm/search, "Limitations"). So a search that matches more
is cut into windows of a date property (sorted by it), each window halved until it holds no more than the
limit; records without a value for that property are read by one more query. Results are deduplicated by id.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, time
from typing import Any

from connectors.errors import BusinessRuleError

SEARCH_CAP, SEARCH_PAGE, LIST_PAGE = 10_000, 200, 100
Page = Callable[[dict[str, Any]], Awaitable[dict[str, Any]]]


def millis(value: str, end_of_day: bool = False) -> int:
    """A date (the whole day when `end_of_day`), an ISO date-time or a millisecond timestamp, as ms."""
    if value.isdigit():
        return int(value)
    if len(value) == 10:
        day = date.fromisoformat(value)
        moment = datetime.combine(day, time.max if end_of_day else time.min, UTC)
        return int(moment.timestamp() * 1000)
    moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return int((moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp() * 1000)


def next_after(page: dict[str, Any]) -> str | None:
    after = (page.get("paging") or {}).get("next", {}).get("after")
    return str(after) if after else None


async def search_all(
    search: Page,
    filters: list[dict[str, Any]],
    properties: list[str],
    window: str = "hs_lastmodifieddate",
    cap: int = SEARCH_CAP,
    page_size: int = SEARCH_PAGE,
) -> list[dict[str, Any]]:
    """Every record matching all `filters`, in windows of `window` that each stay within `cap` results."""
    found: dict[str, dict[str, Any]] = {}
    pending: list[tuple[int | None, int | None, bool]] = [(None, None, False)]
    while pending:
        low, high, missing = pending.pop()
        bounded = list(filters)
        if missing:
            bounded.append({"propertyName": window, "operator": "NOT_HAS_PROPERTY"})
        if low is not None:
            bounded.append({"propertyName": window, "operator": "GTE", "value": str(low)})
        if high is not None:
            bounded.append({"propertyName": window, "operator": "LTE", "value": str(high)})
        body: dict[str, Any] = {
            "filterGroups": [{"filters": bounded}],
            "sorts": [{"propertyName": window, "direction": "ASCENDING"}],
            "properties": list(dict.fromkeys([*properties, window])),
            "limit": page_size,
        }
        page = await search(body)
        if int(page.get("total", 0)) > cap:
            if missing:
                raise BusinessRuleError(
                    "hubspot", f"more than {cap} records have no {window}: cannot window them", code="SEARCH_LIMIT"
                )
            if low is None and high is None:
                pending.append((None, None, True))  # the records without a value for `window`
            low = low if low is not None else await _edge(search, body, window, "ASCENDING")
            high = high if high is not None else await _edge(search, body, window, "DESCENDING")
            if low >= high:
                raise BusinessRuleError(
                    "hubspot", f"more than {cap} records share {window}={low}: cannot narrow", code="SEARCH_LIMIT"
                )
            middle = (low + high) // 2
            pending += [(middle + 1, high, False), (low, middle, False)]
            continue
        while True:
            for record in page.get("results", []):
                found[str(record["id"])] = record
            after = next_after(page)
            if after is None:
                break
            page = await search({**body, "after": after})
    return list(found.values())


async def _edge(search: Page, body: dict[str, Any], window: str, direction: str) -> int:
    """The smallest (ASCENDING) or largest (DESCENDING) value of `window` among the matches, in ms."""
    having = [*body["filterGroups"][0]["filters"], {"propertyName": window, "operator": "HAS_PROPERTY"}]
    sorts = [{"propertyName": window, "direction": direction}]
    first = await search({**body, "filterGroups": [{"filters": having}], "sorts": sorts, "limit": 1})
    value = (first.get("results") or [{}])[0].get("properties", {}).get(window)
    if not value:
        raise BusinessRuleError("hubspot", f"cannot window the search by {window}: no values", code="SEARCH_LIMIT")
    return millis(str(value))


async def list_all(get: Page, properties: list[str], page_size: int = LIST_PAGE) -> list[dict[str, Any]]:
    """Every record of a list endpoint, following `paging.next.after` to the end."""
    records: list[dict[str, Any]] = []
    params: dict[str, Any] = {"limit": page_size, "properties": ",".join(properties)}
    while True:
        page = await get(params)
        records += page.get("results", [])
        after = next_after(page)
        if after is None:
            return records
        params = {**params, "after": after}
