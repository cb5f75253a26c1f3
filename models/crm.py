"""What q2c writes to and reads from a deal, in its own words: each CRM adapter maps them to its fields."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field, SerializerFunctionWrapHandler, model_serializer


class DealMilestones(BaseModel):
    """Milestones and outcomes the saga reports on a deal; only the fields set are written.

    A field set to None clears it in the CRM; a field left unset is not touched. Serialized, the unset
    fields are left out, so "unset" survives a payload converter that dumps models whole (Temporal's
    pydantic converter does): otherwise a write of one field would clear the seven others.
    """

    status: str | None = Field(default=None, description="order_accepted, invoiced, completed, on_hold, a final stage")
    status_reason: str | None = None
    saga_id: str | None = Field(default=None, description="the saga's workflow id")
    order_number: str | None = Field(default=None, description="the ERP's sales order number")
    erp_customer: str | None = Field(default=None, description="the ERP's customer id")
    invoice: str | None = Field(default=None, description="posted, payment_failed, overdue or paid")
    payment: str | None = Field(default=None, description="posted, payment_failed, overdue or paid")
    entitlement: str | None = Field(default=None, description="active, or pending_payment")

    @model_serializer(mode="wrap")
    def _set_fields_only(self, dump: SerializerFunctionWrapHandler) -> dict[str, Any]:
        return {name: value for name, value in dump(self).items() if name in self.model_fields_set}

    def changes(self) -> dict[str, str | None]:
        """The fields set, by canonical name: what an adapter writes."""
        return self.model_dump(exclude_unset=True)


class DealState(BaseModel):
    """What the CRM shows of q2c's work on a deal: for writes that must not go backwards, and for audits."""

    deal_id: str
    company_id: str | None = None
    milestones: DealMilestones = Field(default_factory=DealMilestones)


class DealPage(BaseModel):
    """One page of deal ids, and the cursor of the next page (None on the last)."""

    deal_ids: list[str]
    next_after: str | None = None
