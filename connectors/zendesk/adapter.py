"""Zendesk as q2c's support tool: organizations by q2c customer id, custom fields by canonical attribute."""

from __future__ import annotations

from collections.abc import Mapping

from connectors.adapter import Adapter
from connectors.errors import BusinessRuleError, NotFound
from connectors.zendesk.client import ZendeskClient
from connectors.zendesk.mapping import ORGANIZATION_ATTRIBUTES, disambiguated, organization_fields
from models.support import SupportOrganization

LEGAL_NAME = "legal_name"


class ZendeskSupport(Adapter[ZendeskClient]):
    name = "zendesk"

    async def upsert_organization(self, org: SupportOrganization) -> SupportOrganization:
        return await self.client.upsert_organization(org)

    async def find_organization(self, customer_id: str) -> SupportOrganization | None:
        return await self.client.find_organization(customer_id)

    async def find_organizations(self, customer_ids: list[str]) -> dict[str, SupportOrganization]:
        return await self.client.organizations_by_external_id(customer_ids)

    async def update_organization(self, customer_id: str, fields: Mapping[str, str | None]) -> None:
        try:
            await self.client.update_organization_fields(customer_id, organization_fields(dict(fields)))
        except BusinessRuleError as refused:
            if refused.code != "BlankValue":  # create_or_update without a name: there is no such organization
                raise
            raise NotFound(
                self.name, f"no organization {customer_id}", code=refused.code, status=refused.status
            ) from refused

    async def create_ticket(
        self, subject: str, body: str, customer_id: str, tags: list[str], idempotency_key: str
    ) -> str:
        org = await self.client.find_organization(customer_id)
        return await self.client.create_ticket(
            subject=subject,
            body=body,
            organization_id=org.id if org else None,
            external_id=idempotency_key,
            tags=tags,
            idempotency_key=idempotency_key,
        )

    async def read_organization_attribute(self, customer_id: str, attribute: str) -> str | None:
        org = await self.client.find_organization(customer_id)
        if org is None:
            return None
        if attribute == LEGAL_NAME:  # the name as the customer's, without the suffix a name clash made q2c add
            return org.name.removesuffix(disambiguated("", customer_id))
        return None  # custom fields other than the canonical ones are not read back

    async def write_organization_attribute(self, customer_id: str, attribute: str, value: str | None) -> None:
        # create_or_update would make a nameless organization for a customer support does not know yet
        if await self.client.find_organization(customer_id) is None:
            raise NotFound(self.name, f"no organization {customer_id}")
        if attribute == LEGAL_NAME:
            if value:  # an organization cannot be nameless: a blanked legal name is not copied
                await self.client.rename_organization(customer_id, value)
        elif attribute in ORGANIZATION_ATTRIBUTES:
            await self.client.update_organization_fields(customer_id, {ORGANIZATION_ATTRIBUTES[attribute]: value})
        else:
            raise ValueError(f"zendesk organizations hold no attribute {attribute!r}")
