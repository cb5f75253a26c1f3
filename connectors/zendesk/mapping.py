"""Zendesk records to and from canonical models: every field name of the vendor's, in one place."""

from __future__ import annotations

from datetime import date
from typing import Any

from models.support import EntitlementStatus, SupportOrganization

_FIELDS = ("service_tier", "contract_start", "contract_end", "entitlement_status", "invoice_status", "erp_customer_id")


def organization_to_zendesk(org: SupportOrganization) -> dict[str, Any]:
    values = org.model_dump(mode="json", include=set(_FIELDS), exclude_none=True)
    return {"name": org.name, "external_id": org.external_id, "organization_fields": values}


def organization_from_zendesk(record: dict[str, Any]) -> SupportOrganization:
    fields = record.get("organization_fields") or {}
    start, end = fields.get("contract_start"), fields.get("contract_end")
    return SupportOrganization(
        id=str(record["id"]),
        external_id=record.get("external_id") or "",
        name=record["name"],
        service_tier=fields.get("service_tier"),
        contract_start=date.fromisoformat(start) if start else None,
        contract_end=date.fromisoformat(end) if end else None,
        entitlement_status=EntitlementStatus(fields["entitlement_status"])
        if fields.get("entitlement_status")
        else None,
        invoice_status=fields.get("invoice_status"),
        erp_customer_id=fields.get("erp_customer_id"),
    )


def disambiguated(name: str, external_id: str) -> str:
    return f"{name} [{external_id}]"


# synchronised customer attributes (models.customer_sync.FIELDS) -> organization custom fields; the
# legal name is the organization's own name, not a custom field
ORGANIZATION_ATTRIBUTES = {"support_contact_preferences": "support_contact_preferences"}


def organization_fields(fields: dict[str, str | None]) -> dict[str, str | None]:
    """SupportOrganization attributes -> custom organization fields; an attribute it does not hold is an error."""
    unknown = sorted(set(fields) - set(_FIELDS) - set(ORGANIZATION_ATTRIBUTES))
    if unknown:
        raise ValueError(f"support organization has no field {', '.join(unknown)}")
    return {ORGANIZATION_ATTRIBUTES.get(k, k): v for k, v in fields.items()}
