"""Zendesk Support: organizations upserted on external_id, tickets created once per Idempotency-Key."""

from __future__ import annotations

from typing import Any

import httpx

from connectors.errors import BusinessRuleError
from connectors.http import VendorClient
from connectors.settings import ZendeskSettings
from connectors.zendesk.mapping import (
    disambiguated,
    organization_from_zendesk,
    organization_to_zendesk,
)
from models.support import SupportOrganization


class ZendeskClient(VendorClient):
    system = "zendesk"

    def __init__(
        self, settings: ZendeskSettings | None = None, transport: httpx.AsyncBaseTransport | None = None
    ) -> None:
        super().__init__(settings or ZendeskSettings(), transport)

    def vendor_error(self, response: httpx.Response) -> tuple[str | None, str]:
        body = self.body(response) or {}
        details = body.get("details") or {}
        for field, problems in details.items():
            if problems:
                return problems[0].get("error") or body.get("error"), f"{field}: {problems[0].get('description')}"
        description = body.get("description")
        return body.get("error"), description if isinstance(description, str) else response.text[:300]

    async def upsert_organization(self, org: SupportOrganization) -> SupportOrganization:
        """create_or_update matched on external_id: 201 the first time, 200 after.

        Zendesk names are unique but legal names are not: when another organization holds the name,
        this customer's is disambiguated with its id rather than failing the saga.
        """
        try:
            return await self._create_or_update(organization_to_zendesk(org))
        except BusinessRuleError as refused:
            if refused.code != "DuplicateValue" or "name" not in refused.message.lower():
                raise
            return await self._create_or_update(
                organization_to_zendesk(org.model_copy(update={"name": disambiguated(org.name, org.external_id)}))
            )

    async def _create_or_update(self, body: dict[str, Any]) -> SupportOrganization:
        response = await self.request("POST", "/api/v2/organizations/create_or_update", json={"organization": body})
        return organization_from_zendesk(response.json()["organization"])

    async def update_organization_fields(self, external_id: str, fields: dict[str, str | None]) -> None:
        """Set a few custom fields (milestones) of an existing organization, leaving the rest alone."""
        await self.request(
            "POST",
            "/api/v2/organizations/create_or_update",
            json={"organization": {"external_id": external_id, "organization_fields": fields}},
        )

    async def rename_organization(self, external_id: str, name: str) -> None:
        await self.request(
            "POST",
            "/api/v2/organizations/create_or_update",
            json={"organization": {"external_id": external_id, "name": name}},
        )

    async def find_organization(self, external_id: str) -> SupportOrganization | None:
        response = await self.request("GET", "/api/v2/organizations/search", params={"external_id": external_id})
        found = response.json()["organizations"]
        return organization_from_zendesk(found[0]) if found else None

    async def create_ticket(
        self,
        subject: str,
        body: str,
        organization_id: str | None,
        external_id: str,
        tags: list[str],
        idempotency_key: str,
    ) -> str:
        response = await self.request(
            "POST",
            "/api/v2/tickets",
            headers={"Idempotency-Key": idempotency_key},
            json={
                "ticket": {
                    "subject": subject,
                    "comment": {"body": body},
                    "external_id": external_id,
                    "tags": tags,
                    "organization_id": int(organization_id) if organization_id else None,
                }
            },
        )
        return str(response.json()["ticket"]["id"])
