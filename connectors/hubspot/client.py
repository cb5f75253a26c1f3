"""HubSpot CRM v3: deals with line items and company in, milestones out, idProperty upserts."""

from __future__ import annotations

from typing import Any

import httpx
from pydantic import ValidationError

from connectors.errors import BusinessRuleError
from connectors.http import VendorClient
from connectors.hubspot.mapping import (
    COMPANY_PROPERTIES,
    DEAL_PROPERTIES,
    LINE_PROPERTIES,
    company_from_hubspot,
    line_from_hubspot,
)
from connectors.settings import HubSpotSettings
from models.deal import Deal
from models.party import Customer


class HubSpotClient(VendorClient):
    system = "hubspot"

    def __init__(
        self, settings: HubSpotSettings | None = None, transport: httpx.AsyncBaseTransport | None = None
    ) -> None:
        super().__init__(settings or HubSpotSettings(), transport)

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

    async def get_deal(self, deal_id: str) -> Deal:
        """The deal with its line items and company, in canonical form."""
        response = await self.request(
            "GET",
            f"/crm/v3/objects/deals/{deal_id}",
            params={"properties": ",".join(DEAL_PROPERTIES), "associations": "line_items,companies"},
        )
        record = response.json()
        links = record.get("associations", {})
        line_ids = [r["id"] for r in links.get("line_items", {}).get("results", [])]
        company_ids = [r["id"] for r in links.get("companies", {}).get("results", [])]
        lines = await self.read_batch("line_items", line_ids, LINE_PROPERTIES) if line_ids else []
        company = await self.get_company(company_ids[0]) if company_ids else None
        p = record["properties"]
        try:
            currency = (p.get("deal_currency_code") or (company.currency if company else "USD")).upper()
            return Deal(
                id=record["id"],
                name=p.get("dealname") or "",
                stage=p.get("dealstage") or "",
                currency=currency,
                close_date=(p.get("closedate") or "")[:10] or None,
                company=company,
                lines=[line_from_hubspot(line, currency) for line in lines],
                properties={k: v for k, v in p.items() if k not in DEAL_PROPERTIES[:6]},
            )
        except (ValidationError, ValueError) as exc:
            raise BusinessRuleError(self.system, f"deal {deal_id} is not valid: {exc}", code="INVALID_DEAL") from exc

    async def get_company(self, company_id: str) -> Customer:
        response = await self.request(
            "GET", f"/crm/v3/objects/companies/{company_id}", params={"properties": ",".join(COMPANY_PROPERTIES)}
        )
        try:
            return company_from_hubspot(response.json())
        except (ValidationError, ValueError) as exc:
            raise BusinessRuleError(
                self.system, f"company {company_id} is not valid: {exc}", code="INVALID_COMPANY"
            ) from exc

    async def read_batch(self, object_type: str, ids: list[str], properties: list[str]) -> list[dict[str, Any]]:
        response = await self.request(
            "POST",
            f"/crm/v3/objects/{object_type}/batch/read",
            json={"inputs": [{"id": i} for i in ids], "properties": properties},
        )
        body = response.json()
        if response.status_code == 207:
            raise BusinessRuleError(
                self.system,
                f"some {object_type} are missing: {body.get('errors')}",
                code="OBJECT_NOT_FOUND",
                status=207,
            )
        by_id = {r["id"]: r for r in body["results"]}
        return [by_id[i] for i in ids if i in by_id]

    async def deal_properties(self, deal_id: str, names: list[str]) -> tuple[dict[str, Any], str | None]:
        """A few of the deal's properties and its company id: for writes that must not go backwards."""
        response = await self.request(
            "GET",
            f"/crm/v3/objects/deals/{deal_id}",
            params={"properties": ",".join(names), "associations": "companies"},
        )
        record = response.json()
        companies = record.get("associations", {}).get("companies", {}).get("results", [])
        return record["properties"], (str(companies[0]["id"]) if companies else None)

    async def company_property(self, company_id: str, name: str) -> str | None:
        response = await self.request("GET", f"/crm/v3/objects/companies/{company_id}", params={"properties": name})
        value = response.json()["properties"].get(name)
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
        response = await self.request(
            "POST",
            f"/crm/v3/objects/{object_type}/batch/upsert",
            json={"inputs": [{"idProperty": id_property, "id": key, "properties": properties}]},
        )
        result = response.json()["results"][0]
        return str(result["id"]), bool(result.get("new"))

    async def search_ids(self, object_type: str, property_name: str, value: str, limit: int = 100) -> list[str]:
        ids, after = [], None
        while True:
            body: dict[str, Any] = {
                "filterGroups": [{"filters": [{"propertyName": property_name, "operator": "EQ", "value": value}]}],
                "limit": limit,
            }
            if after:
                body["after"] = after
            page = (await self.request("POST", f"/crm/v3/objects/{object_type}/search", json=body)).json()
            ids += [r["id"] for r in page["results"]]
            after = page.get("paging", {}).get("next", {}).get("after")
            if not after:
                return ids

    async def closed_won_page(
        self, after: str | None, limit: int, since: str | None, until: str | None
    ) -> tuple[list[str], str | None]:
        """One page of closed-won deal ids, closed within [since, until]; and where the next page starts."""
        filters: list[dict[str, Any]] = [{"propertyName": "dealstage", "operator": "EQ", "value": "closedwon"}]
        if since:
            filters.append({"propertyName": "closedate", "operator": "GTE", "value": since})
        if until:
            filters.append({"propertyName": "closedate", "operator": "LTE", "value": until})
        body: dict[str, Any] = {"filterGroups": [{"filters": filters}], "limit": limit, "properties": ["dealstage"]}
        if after:
            body["after"] = after
        page = (await self.request("POST", "/crm/v3/objects/deals/search", json=body)).json()
        return [r["id"] for r in page["results"]], page.get("paging", {}).get("next", {}).get("after")

    async def associate(self, from_type: str, from_id: str, to_type: str, to_id: str) -> None:
        await self.request("PUT", f"/crm/v4/objects/{from_type}/{from_id}/associations/default/{to_type}/{to_id}")
