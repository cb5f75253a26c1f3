"""The saga's mechanics: keyed, recorded steps; compensation on stop; stage kept searchable."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any

from temporalio import workflow
from temporalio.common import SearchAttributeUpdate
from temporalio.exceptions import ActivityError, ApplicationError

from workflows import search
from workflows.compensation import Compensations
from workflows.options import COMPENSATE, FORWARD

with workflow.unsafe.imports_passed_through():
    from activities.crm import CrmActivities
    from models.saga import (
        CancelRequest,
        Compensation,
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
TERMINAL = {Stage.COMPLETED, Stage.COMPENSATED, Stage.CANCELLED, Stage.FAILED}


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
        self.undo = Compensations()
        self.cancelled_by_temporal = False

    async def step(self, name: str, activity: Any, arg: Any, *, external_id: Any = None) -> Any:
        """Run one forward step: keyed for idempotency, recorded for the `status` query."""
        self.check_cancel()
        record = StepRecord(name=name, started_at=workflow.now())
        self.state.steps.append(record)
        arg.correlation_id, arg.idempotency_key = self.saga.correlation_id, f"{self.state.workflow_id}:{name}"
        call = asyncio.ensure_future(self.execute(name, activity, arg))
        try:
            try:
                output: StepOutput = await asyncio.shield(call)
            except asyncio.CancelledError:
                # Temporal cancel mid-step: the write may land anyway, so let it finish, undo it, then stop.
                self.cancelled_by_temporal = True
                self.state.cancel = self.state.cancel or CancelRequest(
                    requested_by="temporal", reason="workflow cancellation requested"
                )
                output = await call
        except (ActivityError, ApplicationError) as failure:  # a local activity raises its cause directly
            error = describe(name, failure)
            record.state, record.finished_at, record.error = StepState.FAILED, workflow.now(), error.message
            raise SagaStopped(Stage.COMPENSATED, error) from failure
        record.state, record.finished_at, record.attempts = StepState.COMPLETED, workflow.now(), output.attempt
        if external_id is not None:
            record.external_id = self.state.external_ids[name] = str(external_id(output))
        return output  # a cancel is honoured at the next step, once the caller has registered this one's undo

    def execute(self, name: str, activity: Any, arg: StepInput) -> Awaitable[Any]:
        """Reads and milestone writes run as local activities: no server round trip of their own."""
        if name in LOCAL_STEPS and workflow.patched(LOCAL_STEPS_PATCH):
            return workflow.execute_local_activity_method(activity, arg, **FORWARD)
        return workflow.execute_activity_method(activity, arg, **FORWARD)

    async def compensate(self, name: str, activity: Any, arg: StepInput) -> str:
        arg.correlation_id, arg.idempotency_key = self.saga.correlation_id, f"{self.state.workflow_id}:{name}"
        output = await workflow.execute_activity_method(activity, arg, **COMPENSATE)
        return str(getattr(output, "result", "") or "done")

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
        updates: list[SearchAttributeUpdate[Any]] = [
            search.STAGE.value_set(stage.value),
            search.HOLD.value_set(self.state.hold.reason if self.state.hold else ""),
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
