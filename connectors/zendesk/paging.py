"""Zendesk cursor paging: `page[size]` up to 100, then `page[after]` = `meta.after_cursor` while `meta.has_more`."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Mapping
from decimal import Decimal
from typing import Any, Protocol

import httpx

from connectors.errors import SchemaDrift

PAGE_SIZE = 100  # the most Zendesk serves per page


class Requester(Protocol):
    @property
    def system(self) -> str: ...

    async def request(self, method: str, path: str, *, params: Any = None) -> httpx.Response: ...


def body(response: httpx.Response) -> dict[str, Any]:
    """A Zendesk answer with numbers kept exact (decimal custom fields)."""
    parsed = json.loads(response.content or b"{}", parse_float=Decimal)
    if not isinstance(parsed, dict):
        raise SchemaDrift("zendesk", "response", "body", f"expected a JSON object, got {type(parsed).__name__}")
    return parsed


async def cursor_pages(
    client: Requester, path: str, root: str, params: Mapping[str, str] | None = None, size: int = PAGE_SIZE
) -> AsyncIterator[list[dict[str, Any]]]:
    """Every page of a list, to the end; by cursor, not the absolute `links.next`, so a proxy changes nothing."""
    query: dict[str, Any] = {**(params or {}), "page[size]": size}
    while True:
        page = body(await client.request("GET", path, params=query))
        records = page.get(root)
        if not isinstance(records, list):
            raise SchemaDrift(client.system, root, root, "the list is missing from the page")
        yield records
        meta = page.get("meta") or {}
        if not meta.get("has_more"):
            return
        cursor = meta.get("after_cursor")
        if not cursor:
            raise SchemaDrift(client.system, root, "meta.after_cursor", "has_more is true but no cursor was given")
        query = {**query, "page[after]": cursor}
