"""The saga's public contract: its input, operator signals, the `status` query and its result."""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, Field

from models.common import Region
from models.money import Money

WORKFLOW_TYPE = "QuoteToCash"
TASK_QUEUE = "q2c"


def saga_id(crm: str, deal_id: str) -> str:
    """`q2c-<crm>-<deal id>`: one saga per deal, whoever starts it and however often."""
    return f"q2c-{crm}-{deal_id}"


class Stage(StrEnum):
    RECEIVED = "received"
    VALIDATING = "validating"
    CREDIT_CHECK = "credit_check"
    ON_HOLD = "on_hold"
    ORDERING = "ordering"
    INVOICING = "invoicing"
    PROVISIONING = "provisioning"
    COMPLETED = "completed"
    COMPENSATING = "compensating"
    COMPENSATED = "compensated"
    CANCELLED = "cancelled"
    FAILED = "failed"


class EntitlementGate(StrEnum):
    """When support is switched on: as soon as the order exists, or once it is invoiced."""

    ON_ORDER = "on_order"
    ON_INVOICE = "on_invoice"


class SagaPolicy(BaseModel):
    """Per-region rules, resolved by whoever starts the saga so the workflow stays deterministic."""

    credit_hold_deadline: timedelta = timedelta(hours=72)
    on_hold_expiry: Literal["reject", "approve"] = "reject"
    entitlement_gate: EntitlementGate = EntitlementGate.ON_INVOICE


class SagaInput(BaseModel):
    deal_id: str = Field(min_length=1)
    crm: Literal["hubspot"] = "hubspot"
    correlation_id: str = Field(min_length=1)
    region: Region | None = Field(default=None, description="known at start, or taken from the company")
    triggered_by: str = Field(description="webhook:<event id>, cli:<user>, ...")
    policy: SagaPolicy = Field(default_factory=SagaPolicy, description="where no regional policy applies")
    policies: dict[Region, SagaPolicy] = Field(default_factory=dict, description="per-region policy, from config")

    def policy_for(self, region: Region | None) -> SagaPolicy:
        """The region's policy: the region is often known only once the deal's company is read."""
        return self.policies.get(region, self.policy) if region else self.policy

    @property
    def workflow_id(self) -> str:
        return saga_id(self.crm, self.deal_id)


class CreditDecision(BaseModel):
    """Payload of `approve_credit` / `reject_credit`."""

    approver: str = Field(min_length=1)
    reason: str = ""


class CancelRequest(BaseModel):
    """Payload of `cancel`."""

    requested_by: str = Field(min_length=1)
    reason: str = ""


class StepState(StrEnum):
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    COMPENSATED = "compensated"
    SKIPPED = "skipped"


class StepRecord(BaseModel):
    name: str
    state: StepState = StepState.RUNNING
    attempts: int = 0
    started_at: datetime
    finished_at: datetime | None = None
    external_id: str | None = None
    error: str | None = None


class Hold(BaseModel):
    reason: str
    since: datetime
    deadline: datetime
    detail: str = ""
    decision: Literal["approved", "rejected", "expired", "cancelled"] | None = None
    decided_by: str | None = None
    decided_at: datetime | None = None
    note: str | None = None


class Compensation(BaseModel):
    step: str
    action: str
    at: datetime
    result: str = ""


class SagaError(BaseModel):
    step: str
    type: str = Field(description="vendor code or error class, e.g. USER_ERROR, resource_missing")
    message: str
    system: str | None = None


class SagaStatus(BaseModel):
    """What the `status` query answers: enough for an operator to act without opening a vendor UI."""

    workflow_id: str
    deal_id: str
    crm: str
    correlation_id: str
    stage: Stage = Stage.RECEIVED
    hold: Hold | None = None
    holds: list[Hold] = Field(default_factory=list, description="every hold, decided or not")
    steps: list[StepRecord] = Field(default_factory=list)
    external_ids: dict[str, str] = Field(default_factory=dict)
    compensations: list[Compensation] = Field(default_factory=list)
    error: SagaError | None = None
    customer_id: str | None = None
    amount: Money | None = None
    cancel: CancelRequest | None = None

    def step(self, name: str) -> StepRecord | None:
        return next((s for s in reversed(self.steps) if s.name == name), None)


class SagaResult(BaseModel):
    workflow_id: str
    stage: Stage
    external_ids: dict[str, str]
    compensations: list[Compensation]
    error: SagaError | None = None
