"""HubSpot CRM v3: deals with line items and company in, milestones out, idProperty upserts.

Every list and search read pages to the end (searches windowed past HubSpot's 10,000-result limit, see
paging.py); numbers are parsed exactly; a property q2c needs that HubSpot no longer has, or has with
another type, is `SchemaDrift` (schema.py), while properties HubSpot adds change nothing.
"""

from __future__ import annotations

import time
from typing import Any

import httpx
from pydantic import ValidationError

from connectors.errors import BusinessRuleError, ConnectorError, SchemaDrift
from connectors.http import VendorClient
from connectors.hubspot import paging
from connectors.hubspot.bulk import build_deal
from connectors.hubspot.mapping import (
    COMPANY_PROPERTIES,
    DEAL_PROPERTIES,
    LINE_PROPERTIES,
    company_from_hubspot,
)
from connectors.hubspot.schema import check_definitions, check_values, drift_from_refusal
from connectors.settings import HubSpotSettings
from models.deal import Deal
from models.party import Customer

SCHEMA_TTL_S = 300.0  # how long property definitions are trusted before they are read again
BATCH_READ_MAX = 100


class HubSpotClient(VendorClient):
    system = "hubspot"
    search_cap = paging.SEARCH_CAP  # results one search query can reach (HubSpot: 10,000)

    def __init__(
        self, settings: HubSpotSettings | None = None, transport: httpx.AsyncBaseTransport | None = None
    ) -> None:
        super().__init__(settings or HubSpotSettings(), transport)
        self._definitions: dict[str, tuple[float, dict[str, dict[str, Any]]]] = {}

    # ---- the dialect: errors, rate limits, exact numbers
    def vendor_error(self, response: httpx.Response) -> tuple[str | None, str]:
        body = self.body(response) or {}
        errors = body.get("errors") or []
        code = (errors[0].get("code") if errors else None) or body.get("errorType") or body.get("category")
        return code, body.get("message") or response.text[:300]

    def rate_limit_delay(self, response: httpx.Response) -> float | None:
        delay = super().rate_limit_delay(response)
        if delay is None and (interval := response.headers.get("x-hubspot-ratelimit-interval-milliseconds")):
            delay = int(interval) / 1000
        return delay

    def business_error(self, response: httpx.Response, code: str | None, message: str) -> ConnectorError:
        body = self.body(response)
        if response.status_code == 400 and isinstance(body, dict):
            drift = drift_from_refusal(response.request.url.path, body, response.status_code)
            if drift is not None:
                return drift
        return super().business_error(response, code, message)

    def json(self, response: httpx.Response) -> Any:
        """The body with every JSON number as an exact Decimal, never through a float."""
        return self.decoded(response)

    async def call(self, method: str, path: str, **kwargs: Any) -> Any:
        return self.json(await self.request(method, path, **kwargs))

    # ---- schema
    async def property_definitions(self, object_type: str) -> dict[str, dict[str, Any]]:
        """The account's property definitions for an object type, read at most every SCHEMA_TTL_S."""
        cached = self._definitions.get(object_type)
        if cached and time.monotonic() - cached[0] < SCHEMA_TTL_S:
            return cached[1]
        body = await self.call("GET", f"/crm/v3/properties/{object_type}")
        definitions = {d["name"]: d for d in body.get("results", [])}
        self._definitions[object_type] = (time.monotonic(), definitions)
        return definitions

    async def check_schema(self, object_type: str) -> None:
        """SchemaDrift when a property q2c reads or writes on `object_type` is gone or retyped.

        Drift seen in cached definitions is confirmed on a fresh read, so an operator's fix counts at once.
        """
        try:
            check_definitions(object_type, await self.property_definitions(object_type))
        except SchemaDrift:
            self._definitions.pop(object_type, None)
            check_definitions(object_type, await self.property_definitions(object_type))

    # ---- deals
    async def get_deal(self, deal_id: str) -> Deal:
        """The deal with its line items and company, in canonical form."""
        for object_type in ("deals", "line_items", "companies"):
            await self.check_schema(object_type)
        record = await self.call(
            "GET",
            f"/crm/v3/objects/deals/{deal_id}",
            params={"properties": DEAL_PROPERTIES, "associations": ["line_items", "companies"]},
        )
        check_values("deals", record)
        line_ids = await self._linked(record, "deals", deal_id, "line_items")
        company_ids = await self._linked(record, "deals", deal_id, "companies")
        lines = await self.read_batch("line_items", line_ids, LINE_PROPERTIES) if line_ids else []
        for line in lines:
            check_values("line_items", line)
        company = await self.get_company(company_ids[0]) if company_ids else None
        return build_deal(record, lines, company, self.system)

    async def _linked(self, record: dict[str, Any], object_type: str, object_id: str, to_type: str) -> list[str]:
        """Associated ids from a v3 read; when HubSpot pages them, the rest from the v4 associations list."""
        links = record.get("associations", {}).get(to_type, {})
        ids = list(dict.fromkeys(str(r["id"]) for r in links.get("results", [])))
        if paging.next_after(links) is None:
            return ids
        return await self.associated_ids(object_type, object_id, to_type)

    async def associated_ids(self, object_type: str, object_id: str, to_type: str) -> list[str]:
        """Every record associated with one record (v4 list, paged to the end)."""
        ids: list[str] = []
        params: dict[str, Any] = {"limit": 500}
        while True:
            page = await self.call(
                "GET", f"/crm/v4/objects/{object_type}/{object_id}/associations/{to_type}", params=params
            )
            ids += [str(r["toObjectId"]) for r in page.get("results", [])]
            after = paging.next_after(page)
            if after is None:
                return list(dict.fromkeys(ids))
            params = {**params, "after": after}

    async def get_company(self, company_id: str) -> Customer:
        await self.check_schema("companies")
        record = await self.call(
            "GET", f"/crm/v3/objects/companies/{company_id}", params={"properties": COMPANY_PROPERTIES}
        )
        try:
            return company_from_hubspot(record)
        except (ValidationError, ValueError) as exc:
            raise BusinessRuleError(
                self.system, f"company {company_id} is not valid: {exc}", code="INVALID_COMPANY"
            ) from exc

    async def read_batch(
        self, object_type: str, ids: list[str], properties: list[str], missing_ok: bool = False
    ) -> list[dict[str, Any]]:
        """Records by id, in the order asked, 100 per request (HubSpot's batch size). An id HubSpot does not
        find (its 207 answer) is an error, or, with `missing_ok`, left out."""
        by_id: dict[str, dict[str, Any]] = {}
        for start in range(0, len(ids), BATCH_READ_MAX):
            chunk = ids[start : start + BATCH_READ_MAX]
            response = await self.request(
                "POST",
                f"/crm/v3/objects/{object_type}/batch/read",
                json={"inputs": [{"id": i} for i in chunk], "properties": properties},
                ok=(200, 207),
            )
            body = self.json(response)
            if response.status_code == 207 and not missing_ok:
                raise BusinessRuleError(
                    self.system,
                    f"some {object_type} are missing: {body.get('errors')}",
                    code="OBJECT_NOT_FOUND",
                    status=207,
                )
            by_id |= {str(r["id"]): r for r in body.get("results", [])}
        return [by_id[i] for i in ids if i in by_id]

    async def deal_properties(self, deal_id: str, names: list[str]) -> tuple[dict[str, Any], str | None]:
        """A few of the deal's properties and its company id: for writes that must not go backwards."""
        record = await self.call(
            "GET", f"/crm/v3/objects/deals/{deal_id}", params={"properties": names, "associations": ["companies"]}
        )
        companies = record.get("associations", {}).get("companies", {}).get("results", [])
        return record["properties"], (str(companies[0]["id"]) if companies else None)

    async def company_property(self, company_id: str, name: str) -> str | None:
        record = await self.call("GET", f"/crm/v3/objects/companies/{company_id}", params={"properties": [name]})
        value = record["properties"].get(name)
        return None if value is None else str(value)

    async def update_company(self, company_id: str, properties: dict[str, str | None]) -> None:
        await self.request("PATCH", f"/crm/v3/objects/companies/{company_id}", json={"properties": properties})

    async def update_deal(self, deal_id: str, properties: dict[str, str | None]) -> None:
        """Write properties back to the deal: a PATCH of the same values is naturally idempotent."""
        await self.request("PATCH", f"/crm/v3/objects/deals/{deal_id}", json={"properties": properties})

    async def upsert(
        self, object_type: str, id_property: str, key: str, properties: dict[str, str | None]
    ) -> tuple[str, bool]:
        """Create or update by a unique property; returns (id, created)."""
        body = await self.call(
            "POST",
            f"/crm/v3/objects/{object_type}/batch/upsert",
            json={"inputs": [{"idProperty": id_property, "id": key, "properties": properties}]},
        )
        result = body["results"][0]
        return str(result["id"]), bool(result.get("new"))

    # ---- lists and searches, paged to the end
    async def search_page(self, object_type: str, body: dict[str, Any]) -> dict[str, Any]:
        page: dict[str, Any] = await self.call("POST", f"/crm/v3/objects/{object_type}/search", json=body)
        return page

    async def search_all(
        self,
        object_type: str,
        filters: list[dict[str, Any]],
        properties: list[str] | None = None,
        window: str = "hs_lastmodifieddate",
        page_size: int = paging.SEARCH_PAGE,
    ) -> list[dict[str, Any]]:
        """Every record matching all `filters`, however many: windowed on `window` past the 10,000 limit."""

        async def search(body: dict[str, Any]) -> dict[str, Any]:
            return await self.search_page(object_type, body)

        size = min(page_size, paging.SEARCH_PAGE)
        return await paging.search_all(search, filters, properties or [], window, self.search_cap, size)

    async def list_all(self, object_type: str, properties: list[str]) -> list[dict[str, Any]]:
        """Every record of an object type (the list endpoint, `after` to the end)."""

        async def get(params: dict[str, Any]) -> dict[str, Any]:
            page: dict[str, Any] = await self.call("GET", f"/crm/v3/objects/{object_type}", params=params)
            return page

        return await paging.list_all(get, properties)

    async def search_ids(self, object_type: str, property_name: str, value: str, limit: int = 100) -> list[str]:
        """Ids of every record whose property equals `value`; `limit` is the page size."""
        records = await self.search_all(
            object_type, [{"propertyName": property_name, "operator": "EQ", "value": value}], page_size=limit
        )
        return sorted((str(r["id"]) for r in records), key=lambda i: (len(i), i))

    async def closed_won_page(
        self,
        after: str | None,
        limit: int,
        since: str | None,
        until: str | None,
        *,
        by: str | tuple[str, ...] = "closedate",
    ) -> tuple[list[str], str | None]:
        """One page of closed-won deal ids whose `by` date is within [since, until]; and where the next starts.

        Pages by id (`hs_object_id` GT the last one seen, sorted by it), so no query pages past HubSpot's
        10,000-result limit however many deals there are. `since`/`until` may be dates (whole days) or
        date-times; `by` may be `closedate`, `hs_date_entered_closedwon` or `hs_lastmodifieddate`, or several
        of them: a deal matches when any one is in the window (one filter group each; HubSpot ORs the groups).
        """
        groups: list[dict[str, Any]] = []
        body: dict[str, Any] = {
            "filterGroups": groups,
            "sorts": [{"propertyName": "hs_object_id", "direction": "ASCENDING"}],
            "limit": max(1, min(limit, paging.SEARCH_PAGE)),
            "properties": ["dealstage"],
        }
        for date_property in (by,) if isinstance(by, str) else by:
            filters: list[dict[str, Any]] = [{"propertyName": "dealstage", "operator": "EQ", "value": "closedwon"}]
            if since:
                filters.append({"propertyName": date_property, "operator": "GTE", "value": str(paging.millis(since))})
            if until:
                filters.append(
                    {"propertyName": date_property, "operator": "LTE", "value": str(paging.millis(until, True))}
                )
            if after and after.startswith("id:"):
                filters.append({"propertyName": "hs_object_id", "operator": "GT", "value": after[3:]})
            groups.append({"filters": filters})
        if after and not after.startswith("id:"):
            body["after"] = after  # a cursor from before keyset paging: HubSpot's own offset
        page = await self.search_page("deals", body)
        ids = [str(r["id"]) for r in page.get("results", [])]
        more = paging.next_after(page) is not None and bool(ids)
        return ids, (f"id:{ids[-1]}" if more else None)

    async def associate(self, from_type: str, from_id: str, to_type: str, to_id: str) -> None:
        await self.request("PUT", f"/crm/v4/objects/{from_type}/{from_id}/associations/default/{to_type}/{to_id}")
