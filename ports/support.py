"""The support tool: the customer's organization, its entitlement and milestones, and tickets."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol, runtime_checkable

from models.support import SupportOrganization


@runtime_checkable
class Support(Protocol):
    name: str

    async def upsert_organization(self, org: SupportOrganization) -> SupportOrganization:
        """Create or update by `org.external_id` (q2c's customer id)."""
        ...

    async def find_organization(self, customer_id: str) -> SupportOrganization | None: ...

    async def find_organizations(self, customer_ids: list[str]) -> dict[str, SupportOrganization]:
        """Many at once, by q2c customer id, in a few requests (reconciliation); one not found is left out."""
        ...

    async def update_organization(self, customer_id: str, fields: Mapping[str, str | None]) -> None:
        """Set SupportOrganization attributes (entitlement_status, invoice_status, ...), leaving the rest.

        NotFound if there is no such organization; ValueError naming an attribute it does not hold.
        """
        ...

    async def create_ticket(
        self, subject: str, body: str, customer_id: str, tags: list[str], idempotency_key: str
    ) -> str:
        """Open a ticket on the customer's organization (if it has one), once per key; returns its id."""
        ...

    async def read_organization_attribute(self, customer_id: str, attribute: str) -> str | None: ...

    async def write_organization_attribute(self, customer_id: str, attribute: str, value: str | None) -> None:
        """NotFound if support does not know the customer: it is not created nameless."""
        ...
