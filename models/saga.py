"""The saga's public contract: its input, operator signals, the `status` query and its result."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, Field, model_validator

from models.common import Region
from models.contract import ContractPolicy
from models.money import Money

WORKFLOW_TYPE = "QuoteToCash"
LATE_EVENT_TYPE = "LateBillingEvent"
TASK_QUEUE = "q2c"


def saga_id(crm: str, deal_id: str) -> str:
    """`q2c-<crm>-<deal id>`: one saga per deal, whoever starts it and however often."""
    return f"q2c-{crm}-{deal_id}"


CRM_NAME = r"[a-z][a-z0-9_]*"
_SAGA_ID = re.compile(rf"q2c-(?P<crm>{CRM_NAME})-(?P<deal>[A-Za-z0-9][A-Za-z0-9_.-]*)")
NOT_A_CRM = frozenset({"customer", "event", "reconcile"})  # other q2c workflow ids: q2c-customer-<id>, ...


def parse_saga_id(workflow_id: str | None) -> tuple[str, str] | None:
    """(crm, deal id) of a saga id, or None when it is not one; deal ids need not be digits."""
    found = _SAGA_ID.fullmatch(workflow_id or "")
    if found is None or found["crm"] in NOT_A_CRM:
        return None
    return found["crm"], found["deal"]


def deal_of(workflow_id: str | None, crm: str | None = None) -> str | None:
    """The deal id in a saga id (of this CRM, when given), or None when it is not one of ours."""
    parsed = parse_saga_id(workflow_id)
    return parsed[1] if parsed and crm in (None, parsed[0]) else None


class Stage(StrEnum):
    RECEIVED = "received"
    VALIDATING = "validating"
    CREDIT_CHECK = "credit_check"
    ON_HOLD = "on_hold"
    ORDERING = "ordering"
    INVOICING = "invoicing"
    PROVISIONING = "provisioning"
    AWAITING_PAYMENT = "awaiting_payment"
    NEEDS_ATTENTION = "needs_attention"
    COMPLETED = "completed"
    COMPENSATING = "compensating"
    COMPENSATED = "compensated"
    CANCELLED = "cancelled"
    FAILED = "failed"


class EntitlementGate(StrEnum):
    """When support is switched on: once the order exists, once it is invoiced, or once it is paid."""

    ON_ORDER = "on_order"
    ON_INVOICE = "on_invoice"
    ON_PAYMENT = "on_payment"


TaxField = Literal["tax_registration", "billing_address"]


class SagaPolicy(BaseModel):
    """Per-region rules, from configuration, carried in the saga's input so the workflow stays deterministic."""

    credit_hold_deadline: timedelta = timedelta(hours=72)
    on_hold_expiry: Literal["reject", "approve"] = "reject"
    credit_limit_share: Decimal = Field(
        default=Decimal(1), gt=0, le=1, description="share of the ERP credit limit an order may use before review"
    )
    entitlement_gate: EntitlementGate = EntitlementGate.ON_INVOICE
    required_tax_fields: list[TaxField] = Field(
        default_factory=list, description="customer fields the deal's company must have before any write"
    )
    payment_deadline: timedelta | None = Field(
        default=None,
        description="follow the invoices until paid, up to this long; then flag support and open a finance ticket",
    )
    payment_poll_interval: timedelta = Field(default=timedelta(hours=1), description="how often the ERP is polled")
    step_attempts: int = Field(
        default=12, ge=1, description="a step failing for a retryable reason parks after this many attempts"
    )
    step_patience: timedelta = Field(
        default=timedelta(minutes=30), description="... or after this long, whichever comes first"
    )
    recheck_every: timedelta = Field(
        default=timedelta(minutes=15), description="a step parked for a cause outside q2c is tried again this often"
    )

    @model_validator(mode="after")
    def _payment_gate_needs_a_deadline(self) -> SagaPolicy:
        if self.entitlement_gate is EntitlementGate.ON_PAYMENT and self.payment_deadline is None:
            raise ValueError("entitlement_gate on_payment needs a payment_deadline")
        return self


class SagaInput(BaseModel):
    deal_id: str = Field(min_length=1)
    crm: str = Field(default="hubspot", pattern=f"^{CRM_NAME}$", description="the CRM adapter's name")
    correlation_id: str = Field(min_length=1)
    region: Region | None = Field(default=None, description="known at start, or taken from the company")
    triggered_by: str = Field(description="webhook:<event id>, cli:<user>, ...")
    erp_task_queue: str | None = Field(default=None, description="ERP calls' rate-limited queue; default <queue>-erp")
    policy: SagaPolicy = Field(default_factory=SagaPolicy, description="where no regional policy applies")
    policies: dict[Region, SagaPolicy] = Field(default_factory=dict, description="per-region policy, from config")
    contracts: ContractPolicy | None = Field(
        default=None,
        description="where contracts are kept: a completed sale opens the customer's Contract entity with this "
        "policy (per region: contract_policies) and deals of other types go to it; None: new business only",
    )
    contract_policies: dict[Region, ContractPolicy] = Field(default_factory=dict)

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


class OperatorDecision(BaseModel):
    """Payload of `retry`, `skip` and `compensate`: who resolved a parked step, and why."""

    by: str = Field(min_length=1)
    reason: str = ""


ExceptionAction = Literal["retry", "skip", "compensate"]


class ParkedStep(BaseModel):
    """A step a person can fix: the saga waits in `needs_attention` instead of failing."""

    code: str = Field(description="missing_erp_mapping, missing_tax_registration, compensation_failed, ...")
    step: str
    error: SagaError
    since: datetime
    actions: list[ExceptionAction]
    context: dict[str, str] = Field(default_factory=dict, description="deal, customer, order ids and the like")
    rechecks: int = Field(default=0, description="periodic re-tries of the step so far (it resumes when one works)")
    next_recheck: datetime | None = Field(default=None, description="when the step is tried again by itself")


class Decision(BaseModel):
    """An operator's decision, as recorded; one that does not apply is refused (accepted False), the reason in note."""

    action: str = Field(description="the signal: retry, skip, compensate, approve_credit, reject_credit, cancel")
    step: str
    code: str
    by: str
    reason: str
    at: datetime
    accepted: bool = True
    note: str = ""


class BillingEvent(BaseModel):
    """Payload of `billing_event`: a Stripe invoice event, or an ERP invoice's status seen by polling."""

    event_id: str = Field(min_length=1)
    type: Literal["invoice.finalized", "invoice.paid", "invoice.payment_failed"]
    system: Literal["billing", "erp"] = "billing"
    invoice_id: str = Field(min_length=1)
    created: datetime
    amount_paid: Money | None = None
    workflow_id: str | None = Field(default=None, description="from the invoice's subscription metadata")


class LateBillingEvent(BaseModel):
    """A billing event whose saga is no longer running (or never was): `deal_id` None if it matches none."""

    event: BillingEvent
    deal_id: str | None


def late_event_id(system: str, event_id: str) -> str:
    return f"q2c-event-{system}-{event_id}"


class InvoiceState(BaseModel):
    system: Literal["billing", "erp"]
    status: Literal["posted", "payment_failed", "paid"] = "posted"
    updated_at: datetime | None = None
    amount_paid: Money | None = None


class EventRecord(BaseModel):
    """Every billing event the saga received, applied or not, and why."""

    event_id: str
    type: str
    invoice_id: str
    received_at: datetime
    outcome: Literal["applied", "duplicate", "stale", "unknown_invoice"]


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
    exception: ParkedStep | None = Field(default=None, description="the step waiting for an operator, if any")
    decisions: list[Decision] = Field(
        default_factory=list, description="every retry, skip or compensate, with who and why"
    )
    invoices: dict[str, InvoiceState] = Field(default_factory=dict, description="invoice id -> payment status")
    payment: Literal["not_invoiced", "awaiting", "paid", "overdue"] = "not_invoiced"
    events: list[EventRecord] = Field(default_factory=list, description="billing events received")
    customer_id: str | None = None
    amount: Money | None = None
    cancel: CancelRequest | None = None

    def step(self, name: str) -> StepRecord | None:
        return next((s for s in reversed(self.steps) if s.name == name), None)


class FieldProblem(BaseModel):
    """Why a deal cannot become an order, at one field (`stage`, `lines[0].quantity`, ...)."""

    field: str
    problem: str


class Submission(BaseModel):
    """What `submit` (an update; the CRM's synchronous intake) answers: the deal checked, credit decided.

    `credit`: `clear`; `on_hold` (a person reviews it; `credit_reason` says why); `refused` (the saga stopped
    before a verdict: see `problems` or `exception`); `pending` (not decided yet: ask `status` later).
    """

    workflow_id: str
    stage: Stage
    valid: bool | None = Field(default=None, description="None while the deal is not read yet")
    problems: list[FieldProblem] = Field(default_factory=list)
    credit: Literal["clear", "on_hold", "refused", "pending"] = "pending"
    credit_reason: str = ""
    exception: ParkedStep | None = None


class SagaResult(BaseModel):
    workflow_id: str
    stage: Stage
    external_ids: dict[str, str]
    compensations: list[Compensation]
    error: SagaError | None = None
