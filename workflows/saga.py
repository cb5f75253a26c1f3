"""The saga's mechanics: keyed, recorded steps; compensation on stop; parking for a person; stage searchable."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any

from temporalio import workflow
from temporalio.common import SearchAttributeUpdate
from temporalio.exceptions import ActivityError, ApplicationError

from workflows import kpis, search
from workflows.compensation import Compensations, Undo
from workflows.options import COMPENSATE, COMPENSATE_CAPPED, FORWARD

with workflow.unsafe.imports_passed_through():
    from activities.crm import CrmActivities
    from activities.erp import ErpActivities
    from models.saga import (
        CancelRequest,
        Compensation,
        Decision,
        ExceptionAction,
        OperatorDecision,
        ParkedStep,
        SagaError,
        SagaInput,
        SagaStatus,
        Stage,
        StepRecord,
        StepState,
    )
    from models.steps import StepInput, StepOutput, UpdateDeal

# Idempotent reads and CRM/support property writes: cheap to repeat, no need for their own task.
LOCAL_STEPS = frozenset(
    {
        "fetch_deal",
        "resolve_products",
        "resolve_prices",
        "check_credit",
        "note_hold",
        "milestone_invoiced",
        "milestone_support",
        "milestone_entitled",
    }
)
LOCAL_STEPS_PATCH = "local-reads-and-milestones"  # sagas started before this change replay without it
ERP_QUEUE_PATCH = "erp-task-queue"  # ERP calls, reads included, on their own rate-limited queue
WORKBENCH_PATCH = "exception-workbench"  # fixable refusals park the saga instead of ending it
TERMINAL = {Stage.COMPLETED, Stage.COMPENSATED, Stage.CANCELLED, Stage.FAILED}

# Refusals a person can fix in the data, by the vendor code the connector reports: the saga parks.
FIXABLE = {
    "UNKNOWN_PRODUCT": "missing_erp_mapping",
    "MISSING_TAX_REGISTRATION": "missing_tax_registration",
    "SchemaDrift": "schema_drift",  # a field q2c needs was renamed or retyped at the vendor: map it, then retry
}
COMPENSATION_FAILED = "compensation_failed"


class SagaStopped(Exception):
    """The saga must not go forward: a refusal, a rejection or a cancel. `stage` is where it ends."""

    def __init__(self, stage: Stage, error: SagaError) -> None:
        super().__init__(error.message)
        self.stage, self.error = stage, error


class Saga:
    """What every step of a saga needs; the subclass holds the business process."""

    def __init__(self, saga: SagaInput) -> None:
        self.saga = saga
        self.state = SagaStatus(
            workflow_id=workflow.info().workflow_id,
            deal_id=saga.deal_id,
            crm=saga.crm,
            correlation_id=saga.correlation_id,
        )
        self.undo = Compensations(stuck=self.compensation_stuck)
        self.cancelled_by_temporal = False
        self.resolution: tuple[ExceptionAction, OperatorDecision] | None = None

    async def step(
        self, name: str, activity: Any, arg: Any, *, external_id: Any = None, skippable: bool = False
    ) -> Any:
        """Run one forward step: keyed for idempotency, recorded for the `status` query.

        A refusal a person can fix parks the saga until an operator retries, skips (where `skippable`)
        or compensates; a skipped step returns None.
        """
        self.check_cancel()
        record = StepRecord(name=name, started_at=workflow.now())
        self.state.steps.append(record)
        arg.correlation_id, arg.idempotency_key = self.saga.correlation_id, f"{self.state.workflow_id}:{name}"
        while True:
            try:
                output: StepOutput = await self.shielded(name, activity, arg)
                break
            except (ActivityError, ApplicationError) as failure:  # a local activity raises its cause directly
                error = describe(name, failure)
                record.state, record.finished_at, record.error = StepState.FAILED, workflow.now(), error.message
                code = FIXABLE.get(error.type)
                if code is None or not workflow.patched(WORKBENCH_PATCH):
                    raise SagaStopped(Stage.COMPENSATED, error) from failure
                action = await self.park(code, name, error, ["retry", "skip", "compensate"] if skippable else None)
                if action == "compensate":
                    self.check_cancel()  # parked, then cancelled: it ends as cancelled
                    raise SagaStopped(Stage.COMPENSATED, error) from failure
                if action == "skip":
                    record.state, record.finished_at = StepState.SKIPPED, workflow.now()
                    return None
                record.state, record.error = StepState.RUNNING, None
        record.state, record.finished_at, record.attempts = StepState.COMPLETED, workflow.now(), output.attempt
        if external_id is not None:
            record.external_id = self.state.external_ids[name] = str(external_id(output))
        return output  # a cancel is honoured at the next step, once the caller has registered this one's undo

    async def shielded(self, name: str, activity: Any, arg: StepInput) -> Any:
        call = asyncio.ensure_future(self.execute(name, activity, arg))
        try:
            return await asyncio.shield(call)
        except asyncio.CancelledError:
            # Temporal cancel mid-step: the write may land anyway, so let it finish, undo it, then stop.
            self.cancelled_by_temporal = True
            self.state.cancel = self.state.cancel or CancelRequest(
                requested_by="temporal", reason="workflow cancellation requested"
            )
            return await call

    def execute(self, name: str, activity: Any, arg: StepInput, options: dict[str, Any] = FORWARD) -> Awaitable[Any]:
        """ERP calls go to the ERP's rate-limited queue; other reads and milestone writes run locally."""
        if self.erp(activity) and workflow.patched(ERP_QUEUE_PATCH):
            return workflow.execute_activity_method(activity, arg, task_queue=self.erp_queue, **options)
        if name in LOCAL_STEPS and workflow.patched(LOCAL_STEPS_PATCH):
            return workflow.execute_local_activity_method(activity, arg, **options)
        return workflow.execute_activity_method(activity, arg, **options)

    @property
    def erp_queue(self) -> str:
        return self.saga.erp_task_queue or f"{workflow.info().task_queue}-erp"

    @staticmethod
    def erp(activity: Any) -> bool:
        return str(getattr(activity, "__qualname__", "")).startswith(ErpActivities.__name__ + ".")

    async def compensate(self, name: str, activity: Any, arg: StepInput) -> str:
        arg.correlation_id, arg.idempotency_key = self.saga.correlation_id, f"{self.state.workflow_id}:{name}"
        capped = workflow.patched(WORKBENCH_PATCH)  # an undo that keeps failing is parked, not retried forever
        output = await self.execute(name, activity, arg, COMPENSATE_CAPPED if capped else COMPENSATE)
        return str(getattr(output, "result", "") or "done")

    async def compensation_stuck(self, undo: Undo, failure: ActivityError) -> ExceptionAction | None:
        """An undo that keeps failing goes to a person (retry or skip); None keeps the old endless retry."""
        if not workflow.patched(WORKBENCH_PATCH):
            return None
        return await self.park(COMPENSATION_FAILED, undo.step, describe(undo.step, failure), ["retry", "skip"])

    # ---- the exception workbench ----
    async def park(
        self, code: str, step: str, error: SagaError, actions: list[ExceptionAction] | None = None
    ) -> ExceptionAction:
        """Wait in `needs_attention` until an operator decides; a cancel counts as `compensate`."""
        before = self.state.stage
        self.state.exception = ParkedStep(
            code=code,
            step=step,
            error=error,
            since=workflow.now(),
            actions=actions or ["retry", "compensate"],
            context={k: v for k, v in self.exception_context().items() if v},
        )
        self.resolution = None
        self.set_stage(Stage.NEEDS_ATTENTION)
        kpis.parked(f"exception:{code}")
        workflow.logger.warning("saga parked: %s at %s", code, step, extra=self.log_context())
        await workflow.wait_condition(
            lambda: self.resolution is not None or (self.state.cancel is not None and before is not Stage.COMPENSATING)
        )
        if self.resolution is None:  # cancelled while parked
            action: ExceptionAction = "compensate"
        else:
            action = self.resolution[0]
        self.state.exception, self.resolution = None, None
        self.set_stage(before)
        return action

    def resolve(self, action: ExceptionAction, decision: OperatorDecision) -> None:
        """Record an operator's decision; one that does not apply is recorded as refused, with why."""
        parked = self.state.exception
        note = ""
        if parked is None:
            note = "nothing is parked"
        elif action not in parked.actions:
            note = f"{action} is not allowed at {parked.step}; allowed: {', '.join(parked.actions)}"
        elif self.resolution is not None:
            note = f"already resolved by {self.resolution[1].by}"
        self.state.decisions.append(
            Decision(
                action=action,
                step=parked.step if parked else "-",
                code=parked.code if parked else "-",
                by=decision.by,
                reason=decision.reason,
                at=workflow.now(),
                accepted=not note,
                note=note,
            )
        )
        if not note:
            self.resolution = (action, decision)

    def exception_context(self) -> dict[str, str | None]:
        return {
            "deal_id": self.saga.deal_id,
            "customer_id": self.state.customer_id,
            "erp_customer_id": self.state.external_ids.get("upsert_customer"),
            "erp_order_id": self.state.external_ids.get("create_order"),
            "erp_order_number": self.state.external_ids.get("erp_order_number"),
        }

    async def stop(self, stop: SagaStopped) -> None:
        self.state.error = stop.error
        done = bool(self.undo)
        if done:
            self.set_stage(Stage.COMPENSATING)
            await self.undo.unwind(self.compensated)
        final = stop.stage if stop.stage is not Stage.COMPENSATED or done else Stage.FAILED
        self.set_stage(final)
        await self.undo_safe_note(final, stop.error.message)

    def compensated(self, compensation: Compensation) -> None:
        self.state.compensations.append(compensation)
        for record in self.state.steps:
            if record.name == compensation.step and record.state is StepState.COMPLETED:
                record.state = StepState.COMPENSATED

    async def undo_safe_note(self, stage: Stage, reason: str) -> None:
        """Tell the deal how it ended; shielded like compensation, retried until it lands."""
        note = asyncio.ensure_future(
            self.compensate(
                "note_outcome",
                CrmActivities.update_deal,
                self.deal_update(q2c_status=stage.value, q2c_status_reason=reason[:1000]),
            )
        )
        while not note.done():
            try:
                await asyncio.shield(note)
            except asyncio.CancelledError:
                continue

    def check_cancel(self) -> None:
        if self.state.cancel is not None:
            request = self.state.cancel
            raise SagaStopped(
                Stage.CANCELLED,
                SagaError(
                    step=self.current_step(),
                    type="Cancelled",
                    message=f"cancelled by {request.requested_by}: {request.reason}",
                ),
            )

    def log_context(self) -> dict[str, str]:
        return {"correlation_id": self.saga.correlation_id, "deal_id": self.saga.deal_id}

    def current_step(self) -> str:
        return self.state.steps[-1].name if self.state.steps else "start"

    def reason(self) -> str:
        return self.state.error.message if self.state.error else "saga stopped"

    def deal_update(self, **properties: str | None) -> UpdateDeal:
        return UpdateDeal(deal_id=self.saga.deal_id, properties=properties)

    def set_stage(self, stage: Stage) -> None:
        if stage is not self.state.stage:  # replay-safe: Temporal's workflow logger is silent on replay
            workflow.logger.info("saga stage %s", stage.value, extra={"stage": stage.value, **self.log_context()})
        self.state.stage = stage
        hold = self.state.hold.reason if self.state.hold else ""
        if self.state.exception is not None:
            hold = f"exception:{self.state.exception.code}"
        updates: list[SearchAttributeUpdate[Any]] = [
            search.STAGE.value_set(stage.value),
            search.HOLD.value_set(hold),
        ]
        if self.state.customer_id:
            updates.append(search.CUSTOMER.value_set(self.state.customer_id))
        if self.state.amount is not None:
            updates.append(search.AMOUNT.value_set(float(self.state.amount.amount)))
        workflow.upsert_search_attributes(updates)


def describe(step: str, failure: ActivityError | ApplicationError) -> SagaError:
    cause = failure if isinstance(failure, ApplicationError) else failure.cause
    if isinstance(cause, ApplicationError):
        details = cause.details[0] if cause.details and isinstance(cause.details[0], dict) else {}
        return SagaError(
            step=step,
            type=cause.type or "ApplicationError",
            message=details.get("message") or cause.message,
            system=details.get("system"),
        )
    return SagaError(step=step, type=type(cause).__name__ if cause else "ActivityError", message=str(cause or failure))
