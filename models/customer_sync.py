"""Customer master data across systems: a change, where each attribute lives, and the audit trail."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal

from pydantic import BaseModel, Field

from models.common import LifecycleStage, System

SYNC_TYPE = "CustomerSync"
AUDIT_KEPT = 500  # entries carried across continue-as-new; older ones stay in earlier runs' histories

# Which systems hold each synchronised customer attribute; each adapter maps it to its own field.
FIELDS: dict[str, tuple[System, ...]] = {
    "legal_name": (System.CRM, System.ERP, System.SUPPORT),
    "tax_registration": (System.CRM, System.ERP),
    "contacts": (System.CRM, System.ERP),
    "region": (System.CRM,),
    "support_contact_preferences": (System.SUPPORT,),
}


def sync_id(customer_id: str) -> str:
    return f"q2c-customer-{customer_id}"


LIFECYCLE = "lifecycle_stage"  # not synchronised itself: it moves the stage the ownership rules use


class Version(BaseModel, frozen=True):
    """A change's place on its source's clock: the one ordering rule for everything q2c applies from events.

    Changes are ordered by `(rank, at, sequence, change_id)`, never by arrival:
    - `rank`: for values that only move forward (payment status: posted < payment_failed < paid, a deal's
      milestones); it outranks time, so a late `payment_failed` never undoes `paid`. 0 for master data.
    - `at`: the source's own clock, when the change happened there (HubSpot's `occurredAt`, Zendesk's event
      time, a record's modification time); a naive time is taken as UTC.
    - `sequence`: a vendor's per-object sequence, where it has one; 0 otherwise.
    - `change_id`: the source's event id; the tie-break, compared as text, so two changes with one clock
      value settle the same way whatever order they arrive in.
    Versions are compared only between changes of one attribute from one source.
    """

    rank: int = 0
    at: datetime
    sequence: int = 0
    change_id: str

    def key(self) -> tuple[int, datetime, int, str]:
        at = self.at if self.at.tzinfo else self.at.replace(tzinfo=UTC)
        return self.rank, at, self.sequence, self.change_id


Order = Literal["newer", "same", "stale"]


def order(candidate: Version, held: Version | None) -> Order:
    """Apply `candidate` only when it is `newer` than what is `held`; `same` is a redelivery, `stale` older."""
    if held is None or candidate.key() > held.key():
        return "newer"
    return "same" if candidate.key() == held.key() else "stale"


class CustomerChange(BaseModel):
    """Payload of the `change` signal: one attribute changed in one system."""

    change_id: str = Field(min_length=1, description="the source's event id: a redelivery is recognised")
    customer_id: str = Field(min_length=1)
    source: System
    attribute: str
    value: str | None
    at: datetime = Field(description="the source's clock: when the change happened there, not when it arrived")
    correlation_id: str = ""
    lifecycle: LifecycleStage | None = Field(default=None, description="set when the change moves the stage")
    sequence: int = Field(default=0, description="the source's per-object sequence, where the vendor has one")
    crm: str | None = Field(default=None, description="the CRM adapter the change came from (`hubspot`, ...)")

    @property
    def version(self) -> Version:
        return Version(at=self.at, sequence=self.sequence, change_id=self.change_id)

    @property
    def version_key(self) -> str:
        """Where the entity keeps the newest version it applied: per attribute and per source."""
        return f"{self.source.value}:{self.attribute}"


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
    outcome: Literal["accepted", "refused", "redirected", "echo", "unchanged", "duplicate", "stale"]
    propagated_to: list[System] = Field(default_factory=list)


class CustomerRecord(BaseModel):
    """The entity's state, carried across continue-as-new."""

    customer_id: str
    crm: str | None = Field(default=None, description="the customer's CRM; unset, the worker's default CRM")
    stage: LifecycleStage = LifecycleStage.PROSPECT
    values: dict[str, str | None] = Field(default_factory=dict)
    expected_echoes: dict[str, str | None] = Field(
        default_factory=dict, description="'<system>:<attribute>' -> value q2c wrote there itself"
    )
    audit: list[AuditEntry] = Field(default_factory=list)
    seen: list[str] = Field(default_factory=list, description="recent change ids")
    versions: dict[str, Version] = Field(
        default_factory=dict, description="'<system>:<attribute>' -> newest version applied from that system"
    )
    continue_after: int = Field(default=1000, ge=1, description="changes per run before continuing as new")


class Propagate(BaseModel):
    customer_id: str
    attribute: str
    value: str | None
    targets: list[System]
    origin: str = Field(description="q2c:<change id>, for the record")
    crm: str | None = Field(default=None, description="the CRM to write to; unset, the worker's default CRM")


class ReadOwner(BaseModel):
    customer_id: str
    attribute: str
    system: System
    crm: str | None = Field(default=None, description="the CRM to read from; unset, the worker's default CRM")
