"""The step runner: keyed, recorded steps with their undo beside them; compensation on a stop or a cancel."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError

from workflows.kit.compensation import Compensations, Undo
from workflows.kit.config import Config, Ledger
from workflows.kit.options import options
from workflows.kit.shield import shielded
from workflows.kit.step import Call, In, Later, Out, Step, describe
from workflows.kit.workbench import Workbench

with workflow.unsafe.imports_passed_through():
    from models.saga import CancelRequest, Compensation, ExceptionAction, SagaError, Stage, StepRecord, StepState

TERMINAL = frozenset({Stage.COMPLETED, Stage.COMPENSATED, Stage.CANCELLED, Stage.FAILED})
COMPENSATION_FAILED = "compensation_failed"


class SagaStopped(Exception):
    """The saga must not go forward: a refusal, a rejection or a cancel. `stage` is where it ends."""

    def __init__(self, stage: Stage, error: SagaError) -> None:
        super().__init__(error.message)
        self.stage, self.error = stage, error


class Saga:
    """Runs a business saga's steps. The business saga has one (composition) and names the steps."""

    def __init__(self, ledger: Ledger, config: Config) -> None:
        self.ledger, self.config = ledger, config
        self.undo = Compensations(stuck=self.compensation_stuck)
        self.workbench = Workbench(ledger, config, self.set_stage)
        self.cancelled_by_temporal = False

    async def run(self, body: Callable[[], Awaitable[None]]) -> Stage:
        """Run the business steps; on a stop or a cancel, undo what was done. Returns the final stage."""
        try:
            await body()
            self.set_stage(Stage.COMPLETED)
        except SagaStopped as stop:
            await self.stop(stop)
        except asyncio.CancelledError:
            self.cancelled_by_temporal = True
            error = SagaError(step=self.current_step(), type="WorkflowCancelled", message="the workflow was cancelled")
            await self.stop(SagaStopped(Stage.CANCELLED, error))
        return self.ledger.stage

    def raise_if_cancelled(self) -> None:
        """After the undo: a saga cancelled through Temporal ends as Canceled there too."""
        if self.cancelled_by_temporal:
            raise asyncio.CancelledError("cancelled after compensating")

    async def step(self, step: Step[In, Out], arg: In, *, undo: Later | None = None) -> Out:
        """Run one forward step: keyed for idempotency, recorded for the status, its undo registered.

        A refusal a person can fix parks the saga until an operator retries, skips (a `skippable` step:
        it returns None, and its undo still counts, as a person did it by hand) or compensates.
        """
        self.check_cancel()
        record = StepRecord(name=step.name, started_at=workflow.now())
        self.ledger.steps.append(record)
        self.keyed(step.name, arg)
        while True:
            try:
                output: Any = await shielded(self.execute(step, arg), self.heard_cancel)
                break
            except (ActivityError, ApplicationError) as failure:  # a local activity raises its cause directly
                error = describe(step.name, failure)
                record.state, record.finished_at, record.error = StepState.FAILED, workflow.now(), error.message
                code = self.config.fixable.get(error.type)
                if code is None or not self.since(self.config.versions.workbench):
                    raise SagaStopped(Stage.COMPENSATED, error) from failure
                actions: list[ExceptionAction] | None = ["retry", "skip", "compensate"] if step.skippable else None
                action = await self.workbench.park(code, step.name, error, actions)
                if action == "compensate":
                    self.check_cancel()  # parked, then cancelled: it ends as cancelled
                    raise SagaStopped(Stage.COMPENSATED, error) from failure
                if action == "skip":
                    record.state, record.finished_at = StepState.SKIPPED, workflow.now()
                    output = None
                    break
                record.state, record.error = StepState.RUNNING, None
        if output is not None:
            attempts = getattr(output, "attempt", 1)  # an output that reports its attempt is counted
            record.state, record.finished_at, record.attempts = StepState.COMPLETED, workflow.now(), attempts
            if step.external_id is not None:
                record.external_id = self.ledger.external_ids[step.name] = str(step.external_id(output))
        if undo is not None:
            self.undo.push(step.name, undo.step.action, lambda: self.compensate(undo.call(output, self.reason())))
        return output  # a cancel is honoured at the next step, its undo registered

    def keyed(self, name: str, arg: Any) -> None:
        arg.correlation_id, arg.idempotency_key = self.config.correlation_id, f"{workflow.info().workflow_id}:{name}"

    def execute(self, step: Step[Any, Any], arg: Any, retry: dict[str, Any] | None = None) -> Awaitable[Any]:
        """On the step's own queue, locally, or as an ordinary activity: each as of its version."""
        versions, opts = self.config.versions, retry or options(step.retry)
        if step.queue is not None and self.since(versions.queues):
            queue = self.config.queues[step.queue]
            return workflow.execute_activity_method(step.activity, arg, task_queue=queue, **opts)
        if step.local and self.since(versions.local):
            return workflow.execute_local_activity_method(step.activity, arg, **opts)
        return workflow.execute_activity_method(step.activity, arg, **opts)

    @staticmethod
    def since(patch: str | None) -> bool:
        """A feature the saga always had, or one this run has (started after its patch)."""
        return patch is None or workflow.patched(patch)

    def heard_cancel(self) -> None:
        """Temporal cancel mid-step: the write may land anyway, so it finishes, is undone, then the saga stops."""
        self.cancelled_by_temporal = True
        self.ledger.cancel = self.ledger.cancel or CancelRequest(
            requested_by="temporal", reason="workflow cancellation requested"
        )

    async def compensate(self, call: Call) -> str:
        self.keyed(call.step.name, call.arg)
        capped = self.since(self.config.versions.workbench)  # a failing undo is parked, not retried for ever
        output = await self.execute(call.step, call.arg, options(call.step.retry, capped=capped))
        return str(getattr(output, "result", "") or "done")

    async def compensation_stuck(self, undo: Undo, failure: ActivityError) -> ExceptionAction | None:
        """An undo that keeps failing goes to a person (retry or skip); None keeps the old endless retry."""
        if not self.since(self.config.versions.workbench):
            return None
        error = describe(undo.step, failure)
        return await self.workbench.park(COMPENSATION_FAILED, undo.step, error, ["retry", "skip"])

    async def stop(self, stop: SagaStopped) -> None:
        """Undo what was done, newest first; end as `stop.stage` (failed if nothing needed undoing)."""
        self.ledger.error = stop.error
        done = bool(self.undo)
        if done:
            self.set_stage(Stage.COMPENSATING)
            await self.undo.unwind(self.compensated)
        final = stop.stage if stop.stage is not Stage.COMPENSATED or done else Stage.FAILED
        self.set_stage(final)
        if self.config.outcome is not None:  # tell the outside world how it ended, whatever else happens
            await shielded(self.compensate(self.config.outcome(final, stop.error.message)))

    def compensated(self, compensation: Compensation) -> None:
        self.ledger.compensations.append(compensation)
        for record in self.ledger.steps:
            if record.name == compensation.step and record.state is StepState.COMPLETED:
                record.state = StepState.COMPENSATED

    def request_cancel(self, request: CancelRequest) -> None:
        """The `cancel` signal: honoured at the next step; refused (and recorded) once the saga is ending."""
        stage = self.ledger.stage
        refused = ""
        if self.ledger.cancel is not None:
            refused = f"already cancelled by {self.ledger.cancel.requested_by}"
        elif stage in TERMINAL | {Stage.COMPENSATING}:
            refused = f"the saga is {stage.value}"
        by, step = request.requested_by, self.current_step()
        if self.workbench.record("cancel", by, request.reason, step=step, refused=refused):
            self.ledger.cancel = request

    def check_cancel(self) -> None:
        if self.ledger.cancel is not None:
            request = self.ledger.cancel
            raise SagaStopped(
                Stage.CANCELLED,
                SagaError(
                    step=self.current_step(),
                    type="Cancelled",
                    message=f"cancelled by {request.requested_by}: {request.reason}",
                ),
            )

    def current_step(self) -> str:
        return self.ledger.steps[-1].name if self.ledger.steps else "start"

    def reason(self) -> str:
        return self.ledger.error.message if self.ledger.error else "saga stopped"

    def set_stage(self, stage: Stage) -> None:
        if stage is not self.ledger.stage:  # replay-safe: Temporal's workflow logger is silent on replay
            workflow.logger.info("saga stage %s", stage.value, extra={"stage": stage.value, **self.config.log_context})
        self.ledger.stage = stage
        self.config.on_stage(stage)
