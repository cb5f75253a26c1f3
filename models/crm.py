"""What q2c writes to and reads from a deal, in its own words: each CRM adapter maps them to its fields."""

from __future__ import annotations

from collections.abc import Mapping
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

    @classmethod
    def named(cls, values: Mapping[str, str | None], names: Mapping[str, str]) -> DealMilestones:
        """Milestones given in a CRM's own names (`names`: its name -> milestone), e.g. an update recorded before
        the ports; a name that is no milestone is refused (ValueError naming it), never dropped."""
        unknown = sorted(set(values) - set(names))
        if unknown:
            raise ValueError(f"deal update names fields q2c does not write: {', '.join(unknown)}")
        return cls.model_validate({names[k]: v for k, v in values.items()})

    @classmethod
    def held(cls, record: Mapping[str, Any], names: Mapping[str, str]) -> DealMilestones:
        """The milestones a CRM record holds (`names`: its field -> milestone); a blank field is unset."""
        return cls.model_validate({names[k]: v for k, v in record.items() if k in names and v not in (None, "")})


class DealState(BaseModel):
    """What the CRM shows of q2c's work on a deal: for writes that must not go backwards, and for audits."""

    deal_id: str
    company_id: str | None = None
    milestones: DealMilestones = Field(default_factory=DealMilestones)


class DealPage(BaseModel):
    """One page of deal ids, and the cursor of the next page (None on the last)."""

    deal_ids: list[str]
    next_after: str | None = None
