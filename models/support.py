"""What the support tool holds: the organization and the customer's entitlement."""

from __future__ import annotations

from datetime import date
from enum import StrEnum

from pydantic import BaseModel, Field, model_validator


class EntitlementStatus(StrEnum):
    PENDING = "pending"
    ACTIVE = "active"
    SUSPENDED = "suspended"
    REVOKED = "revoked"


class Entitlement(BaseModel):
    """Which support a customer has bought, and for how long."""

    customer_id: str
    tier: str = Field(min_length=1)
    start: date
    end: date | None = None
    status: EntitlementStatus = EntitlementStatus.ACTIVE

    @model_validator(mode="after")
    def _ordered(self) -> Entitlement:
        if self.end is not None and self.end < self.start:
            raise ValueError(f"end {self.end} is before start {self.start}")
        return self


class SupportOrganization(BaseModel):
    id: str | None = Field(default=None, description="the support tool's organization id")
    external_id: str = Field(description="q2c customer id")
    name: str
    service_tier: str | None = None
    contract_start: date | None = None
    contract_end: date | None = None
    entitlement_status: EntitlementStatus | None = None
    invoice_status: str | None = None
    erp_customer_id: str | None = None
