"""One saga per deal, addressed by its workflow id: typed starts, operator signals and the `status` query.

The CLI, the ingress and the demo go through here, so workflow ids and signal names are built in one place.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel
from temporalio.api.enums.v1 import PendingActivityState
from temporalio.api.workflow.v1 import PendingActivityInfo
from temporalio.client import Client, WorkflowHandle, WorkflowUpdateFailedError
from temporalio.exceptions import FailureError
from temporalio.service import RPCError, RPCStatusCode

from client.operations import parked_groups
from client.starter import Started, start_saga
from connectors.roles import Roles
from models.common import Region
from models.contract import ContractPolicy
from models.saga import (
    CRM_NAME,
    TASK_QUEUE,
    CancelRequest,
    CreditDecision,
    Decision,
    OperatorDecision,
    SagaPolicy,
    SagaStatus,
    parse_saga_id,
    saga_id,
)

PREFIX = "q2c-"

# The saga's public handler names (workflow `QuoteToCash`): in-flight sagas depend on them.
STATUS = "status"
APPROVE_CREDIT, REJECT_CREDIT, CANCEL = "approve_credit", "reject_credit", "cancel"
RETRY, SKIP, COMPENSATE = "retry", "skip", "compensate"


class SagaNotFound(LookupError):
    """No saga with this id on the cluster (wrong deal, wrong CRM, or its history is past retention)."""

    def __init__(self, workflow_id: str, detail: str = "") -> None:
        super().__init__(f"no saga {workflow_id}" + (f": {detail}" if detail else ""))
        self.workflow_id = workflow_id


@dataclass(frozen=True)
class SagaRef:
    """Which deal's saga: the CRM that holds the deal and the deal's id there (not always digits)."""

    crm: str
    deal_id: str

    def __post_init__(self) -> None:
        if not re.fullmatch(CRM_NAME, self.crm):
            raise ValueError(f"CRM {self.crm!r}: a lowercase name such as hubspot or salesforce")
        if parse_saga_id(self.workflow_id) != (self.crm, self.deal_id):
            raise ValueError(
                f"deal id {self.deal_id!r}: letters, digits, '_', '.' and '-', starting with one of the first two"
            )

    @property
    def workflow_id(self) -> str:
        return saga_id(self.crm, self.deal_id)

    @classmethod
    def parse(cls, text: str, default_crm: str | None = None) -> SagaRef:
        """`1234` (a deal of `default_crm`, else of the configured CRM, `Q2C_CRM`), `hubspot:1234`, or the
        workflow id `q2c-hubspot-1234`."""
        text = text.strip()
        if text.startswith(PREFIX):
            parsed = parse_saga_id(text)
            if parsed is None:
                raise ValueError(f"{text!r} is not a saga id: expected q2c-<crm>-<deal id>")
            return cls(*parsed)
        crm, colon, deal_id = text.partition(":")
        return cls(crm, deal_id) if colon else cls(default_crm or Roles().crm, text)


SagaLike = str | SagaRef


class SagaClient:
    """A Temporal client seen as q2c's sagas: start one for a deal, read it, and act on it as an operator."""

    def __init__(
        self,
        client: Client,
        *,
        crm: str | None = None,
        task_queue: str = TASK_QUEUE,
        policies: dict[Region, SagaPolicy] | None = None,
        contracts: ContractPolicy | None = None,
        contract_policies: dict[Region, ContractPolicy] | None = None,
    ) -> None:
        self.client, self.task_queue, self.policies = client, task_queue, policies or {}
        self.contracts, self.contract_policies = contracts, contract_policies or {}
        self.crm = crm or Roles().crm  # whose deal a bare deal id is

    def ref(self, saga: SagaLike) -> SagaRef:
        return saga if isinstance(saga, SagaRef) else SagaRef.parse(saga, self.crm)

    def handle(self, saga: SagaLike) -> WorkflowHandle[Any, Any]:
        return self.client.get_workflow_handle(self.ref(saga).workflow_id)

    async def start(
        self,
        deal_id: str,
        *,
        triggered_by: str,
        correlation_id: str,
        region: Region | None = None,
        policy: SagaPolicy | None = None,
        crm: str | None = None,
    ) -> Started:
        """Start the deal's saga, or join the one already there (never a second one for a deal)."""
        return await start_saga(
            self.client,
            deal_id,
            triggered_by=triggered_by,
            correlation_id=correlation_id,
            task_queue=self.task_queue,
            region=region,
            policy=policy,
            policies=self.policies,
            crm=crm or self.crm,
            contracts=self.contracts,
            contract_policies=self.contract_policies,
        )

    async def status(self, saga: SagaLike) -> SagaStatus:
        """The saga's business status (query `status`), as the canonical model."""
        handle = self.handle(saga)
        try:
            return await handle.query(STATUS, result_type=SagaStatus)
        except RPCError as error:
            raise _not_found(handle.id, error) from None

    async def progress(self, saga: SagaLike) -> list[Attempt]:
        """The saga's running activities as Temporal sees them (describe): attempt, last error, next try.

        A local activity does not show here (the worker retries it); its step's `attempts` in `status` do.
        """
        handle = self.handle(saga)
        try:
            described = await handle.describe()
        except RPCError as error:
            raise _not_found(handle.id, error) from None
        return [attempt_of(pending) for pending in described.raw_description.pending_activities]

    async def approve_credit(self, saga: SagaLike, approver: str, reason: str = "") -> Answer:
        """Release a credit-review hold."""
        return await self._decide(saga, APPROVE_CREDIT, CreditDecision(approver=approver, reason=reason))

    async def reject_credit(self, saga: SagaLike, approver: str, reason: str = "") -> Answer:
        """Reject a credit-review hold: the saga compensates and ends."""
        return await self._decide(saga, REJECT_CREDIT, CreditDecision(approver=approver, reason=reason))

    async def cancel(self, saga: SagaLike, by: str, reason: str = "") -> Answer:
        """Cancel: completed steps are undone in reverse order."""
        return await self._decide(saga, CANCEL, CancelRequest(requested_by=by, reason=reason))

    async def retry(self, saga: SagaLike, by: str, reason: str = "") -> Answer:
        """Run a parked step again, once its data (or credential, or permission) is fixed."""
        return await self._decide(saga, RETRY, OperatorDecision(by=by, reason=reason))

    async def skip(self, saga: SagaLike, by: str, reason: str = "") -> Answer:
        """Go on without a parked step, where the step allows it."""
        return await self._decide(saga, SKIP, OperatorDecision(by=by, reason=reason))

    async def compensate(self, saga: SagaLike, by: str, reason: str = "") -> Answer:
        """Give up on a parked step: undo what the saga did and end it."""
        return await self._decide(saga, COMPENSATE, OperatorDecision(by=by, reason=reason))

    async def decide(self, saga: SagaLike, action: str, by: str, reason: str = "") -> Answer:
        """`retry`, `skip`, `compensate` or `cancel` by name (what the bulk commands send)."""
        payload: BaseModel = OperatorDecision(by=by, reason=reason)
        if action == CANCEL:
            payload = CancelRequest(requested_by=by, reason=reason)
        return await self._decide(saga, action, payload)

    async def parked(self, query: str | None = None) -> dict[tuple[str, str], list[SagaStatus]]:
        """Sagas waiting for an operator, by exception code and system, oldest first."""
        return await parked_groups(self.client, query)

    async def _decide(self, saga: SagaLike, name: str, payload: BaseModel) -> Answer:
        """The decision as a Workflow Update: accepted (as recorded) or refused with the saga's reason.

        A refusal comes from the update's validator, so nothing was written to the saga's history.
        """
        handle = self.handle(saga)
        try:
            decision = await handle.execute_update(name, payload, result_type=Decision)
        except WorkflowUpdateFailedError as failed:
            cause = failed.cause
            reason = cause.message if isinstance(cause, FailureError) else str(cause or failed)
            return Answer(handle.id, name, accepted=False, reason=reason)
        except RPCError as error:
            if error.status is RPCStatusCode.NOT_FOUND and "completed" in error.message.lower():
                return Answer(handle.id, name, accepted=False, reason="the saga has ended")
            raise _not_found(handle.id, error) from None
        return Answer(handle.id, name, accepted=decision.accepted, reason=decision.note, decision=decision)

    async def _signal(self, saga: SagaLike, name: str, payload: BaseModel) -> str:
        """The same decision as a signal (fire and forget; a refusal is only recorded in `decisions`)."""
        handle = self.handle(saga)
        try:
            await handle.signal(name, payload)
        except RPCError as error:
            raise _not_found(handle.id, error) from None
        return handle.id


@dataclass(frozen=True)
class Answer:
    """A saga's answer to an operator's decision."""

    workflow_id: str
    action: str
    accepted: bool
    reason: str = ""
    decision: Decision | None = None

    def __str__(self) -> str:
        if self.accepted:
            return f"{self.workflow_id}: {self.action} accepted"
        return f"{self.workflow_id}: {self.action} refused: {self.reason}"


@dataclass(frozen=True)
class Attempt:
    """A running activity as Temporal's describe shows it: what `status` adds to the saga's own record."""

    activity: str
    state: str
    attempt: int
    last_error: str
    next_try: datetime | None


def attempt_of(pending: PendingActivityInfo) -> Attempt:
    failure = pending.last_failure
    message = failure.message if failure.message else ""
    if failure.HasField("cause") and failure.cause.message:
        message = failure.cause.message
    return Attempt(
        activity=pending.activity_type.name,
        state=PendingActivityState.Name(pending.state).removeprefix("PENDING_ACTIVITY_STATE_").lower(),
        attempt=pending.attempt,
        last_error=message,
        next_try=(
            pending.next_attempt_schedule_time.ToDatetime(tzinfo=UTC)
            if pending.HasField("next_attempt_schedule_time")
            else None
        ),
    )


def _not_found(workflow_id: str, error: RPCError) -> Exception:
    return SagaNotFound(workflow_id, error.message) if error.status is RPCStatusCode.NOT_FOUND else error
