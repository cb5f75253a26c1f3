"""Customer master data across systems: a change, where each attribute lives, and the audit trail."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from models.common import LifecycleStage, System

SYNC_TYPE = "CustomerSync"
AUDIT_KEPT = 500  # entries carried across continue-as-new; older ones stay in earlier runs' histories

# Where each synchronised customer attribute lives in each system (field or property name).
FIELDS: dict[str, dict[System, str]] = {
    "legal_name": {System.CRM: "name", System.ERP: "companyName", System.SUPPORT: "name"},
    "tax_registration": {System.CRM: "vat_number", System.ERP: "defaultTaxReg"},
    "contacts": {System.CRM: "contact_email", System.ERP: "email"},
    "region": {System.CRM: "q2c_region"},
    "support_contact_preferences": {System.SUPPORT: "support_contact_preferences"},
}


def sync_id(customer_id: str) -> str:
    return f"q2c-customer-{customer_id}"


LIFECYCLE = "lifecycle_stage"  # not synchronised itself: it moves the stage the ownership rules use


def attribute_of(system: System, field: str) -> str | None:
    """The canonical attribute a system's field holds, if q2c synchronises it."""
    return next((a for a, where in FIELDS.items() if where.get(system) == field), None)


class CustomerChange(BaseModel):
    """Payload of the `change` signal: one attribute changed in one system."""

    change_id: str = Field(min_length=1, description="the source's event id: a redelivery is recognised")
    customer_id: str = Field(min_length=1)
    source: System
    attribute: str
    value: str | None
    at: datetime
    correlation_id: str = ""
    lifecycle: LifecycleStage | None = Field(default=None, description="set when the change moves the stage")


class AuditEntry(BaseModel):
    change_id: str
    source: System
    attribute: str
    before: str | None
    after: str | None
    at: datetime
    correlation_id: str
    stage: LifecycleStage
    rule: str = Field(description="which ownership rule decided, in words")
    outcome: Literal["accepted", "refused", "redirected", "echo", "unchanged", "duplicate"]
    propagated_to: list[System] = Field(default_factory=list)


class CustomerRecord(BaseModel):
    """The entity's state, carried across continue-as-new."""

    customer_id: str
    stage: LifecycleStage = LifecycleStage.PROSPECT
    values: dict[str, str | None] = Field(default_factory=dict)
    expected_echoes: dict[str, str | None] = Field(
        default_factory=dict, description="'<system>:<attribute>' -> value q2c wrote there itself"
    )
    audit: list[AuditEntry] = Field(default_factory=list)
    seen: list[str] = Field(default_factory=list, description="recent change ids")
    continue_after: int = Field(default=1000, ge=1, description="changes per run before continuing as new")


class Propagate(BaseModel):
    customer_id: str
    attribute: str
    value: str | None
    targets: list[System]
    origin: str = Field(description="q2c:<change id>, for the record")


class ReadOwner(BaseModel):
    customer_id: str
    attribute: str
    system: System
