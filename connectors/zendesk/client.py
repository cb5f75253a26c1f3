"""Zendesk Support: organizations upserted on external_id, tickets created once per Idempotency-Key.

Paths are the reference's endpoint paths (`POST /api/v2/organizations/create_or_update`); Zendesk serves
each with `.json` too, as its curl examples write them (SUFFIX). Lists page to the end by cursor; a 429's
`Retry-After` becomes the RateLimited error's delay, and the last `X-Rate-Limit-Remaining` seen is kept; a
custom field q2c needs that was renamed, deleted or retyped raises SchemaDrift naming it.
"""

from __future__ import annotations

from typing import Any

import httpx

from connectors.errors import BusinessRuleError
from connectors.http import VendorClient
from connectors.settings import ZendeskSettings
from connectors.zendesk.mapping import disambiguated, organization_from_zendesk, organization_to_zendesk
from connectors.zendesk.paging import body, cursor_pages
from connectors.zendesk.schema import READ_FIELDS, check_definitions, check_organization
from models.support import SupportOrganization

SHOW_MANY = 100  # external ids per show_many request (developer.zendesk.com: Show Many Organizations)
SUFFIX = ".json"  # the documented form; Zendesk (and the simulator, faults included) answers the bare one too


def api(path: str) -> str:
    return f"/api/v2/{path}{SUFFIX}"


class ZendeskClient(VendorClient):
    system = "zendesk"

    def __init__(
        self, settings: ZendeskSettings | None = None, transport: httpx.AsyncBaseTransport | None = None
    ) -> None:
        super().__init__(settings or ZendeskSettings(), transport)
        self.rate_limit: tuple[int, int] | None = None  # (X-Rate-Limit, X-Rate-Limit-Remaining) last seen
        self._http.event_hooks["response"].append(self._note_rate_limit)

    async def _note_rate_limit(self, response: httpx.Response) -> None:
        limit, remaining = response.headers.get("x-rate-limit"), response.headers.get("x-rate-limit-remaining")
        if limit and remaining and limit.isdigit() and remaining.isdigit():
            self.rate_limit = (int(limit), int(remaining))

    def vendor_error(self, response: httpx.Response) -> tuple[str | None, str]:
        answer = self.body(response) or {}
        if not isinstance(answer, dict):
            return None, response.text[:300]
        if isinstance(answer.get("errors"), list) and answer["errors"]:  # the Webhooks API's shape
            first = answer["errors"][0]
            return first.get("code"), str(first.get("detail") or first.get("title"))
        details = answer.get("details") or {}
        for field, problems in details.items():
            if problems:
                return problems[0].get("error") or answer.get("error"), f"{field}: {problems[0].get('description')}"
        description = answer.get("description")
        return answer.get("error"), description if isinstance(description, str) else response.text[:300]

    # ---- organizations ----
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

    async def _create_or_update(self, fields: dict[str, Any]) -> SupportOrganization:
        record = await self.create_or_update_organization(fields)
        return organization_from_zendesk(check_organization(record, READ_FIELDS))

    async def create_or_update_organization(self, fields: dict[str, Any]) -> dict[str, Any]:
        """The raw create_or_update (matched by `id`, else `external_id`); each custom field sent must come back."""
        response = await self.request("POST", api("organizations/create_or_update"), json={"organization": fields})
        return check_organization(body(response).get("organization"), fields.get("organization_fields") or {})

    async def update_organization_fields(self, external_id: str, fields: dict[str, str | None]) -> None:
        """Set a few custom fields (milestones) of an existing organization, leaving the rest alone."""
        await self.create_or_update_organization({"external_id": external_id, "organization_fields": fields})

    async def rename_organization(self, external_id: str, name: str) -> None:
        await self.create_or_update_organization({"external_id": external_id, "name": name})

    async def find_organization(self, external_id: str) -> SupportOrganization | None:
        async for page in cursor_pages(
            self, api("organizations/search"), "organizations", {"external_id": external_id}
        ):
            for record in page:
                if record.get("external_id") == external_id:
                    return organization_from_zendesk(check_organization(record))
        return None

    async def organizations_by_external_id(self, external_ids: list[str]) -> dict[str, SupportOrganization]:
        """Many organizations at once: `show_many` takes up to SHOW_MANY external ids a request. One that
        is not there is left out; an external id with a comma cannot be asked this way (ValueError)."""
        found: dict[str, SupportOrganization] = {}
        wanted = list(dict.fromkeys(external_ids))
        for bad in (e for e in wanted if "," in e):
            raise ValueError(f"zendesk show_many: external id {bad!r} holds a comma, its list separator")
        for start in range(0, len(wanted), SHOW_MANY):
            chunk = wanted[start : start + SHOW_MANY]
            response = await self.request(
                "GET", api("organizations/show_many"), params={"external_ids": ",".join(chunk)}
            )
            for record in body(response).get("organizations") or []:
                if record.get("external_id") in chunk:
                    found[record["external_id"]] = organization_from_zendesk(check_organization(record))
        return found

    async def get_organization(self, organization_id: str) -> SupportOrganization:
        response = await self.request("GET", api(f"organizations/{organization_id}"))
        return organization_from_zendesk(check_organization(body(response).get("organization")))

    async def list_organizations(self) -> list[SupportOrganization]:
        """Every organization, paged to the end by cursor."""
        found: list[SupportOrganization] = []
        async for page in cursor_pages(self, api("organizations"), "organizations"):
            found.extend(organization_from_zendesk(check_organization(record)) for record in page)
        return found

    async def check_schema(self) -> None:
        """The account's organization fields still hold every key q2c needs, of a fitting type; else SchemaDrift."""
        definitions: list[dict[str, Any]] = []
        async for page in cursor_pages(self, api("organization_fields"), "organization_fields"):
            definitions.extend(page)
        check_definitions(definitions)

    # ---- tickets ----
    async def create_ticket(
        self,
        subject: str,
        body: str,
        organization_id: str | None,
        external_id: str,
        tags: list[str],
        idempotency_key: str,
    ) -> str:
        """One ticket per `idempotency_key`: a retry gets the first ticket back (`x-idempotency-lookup: hit`)."""
        ticket = await self.create_ticket_with_audit(
            {
                "subject": subject,
                "comment": {"body": body},
                "external_id": external_id,
                "tags": tags,
                "organization_id": int(organization_id) if organization_id else None,
            },
            idempotency_key,
        )
        return str(ticket["ticket"]["id"])

    async def create_ticket_with_audit(self, ticket: dict[str, Any], idempotency_key: str) -> dict[str, Any]:
        """The raw answer to a ticket create: `{"ticket": ..., "audit": ...}`."""
        response = await self.request(
            "POST", api("tickets"), headers={"Idempotency-Key": idempotency_key}, json={"ticket": ticket}
        )
        return body(response)

    async def list_tickets(self) -> list[dict[str, Any]]:
        """Every ticket, paged to the end by cursor."""
        found: list[dict[str, Any]] = []
        async for page in cursor_pages(self, api("tickets"), "tickets"):
            found.extend(page)
        return found
