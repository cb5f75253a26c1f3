"""The step runner: keyed, recorded steps with their undo beside them; compensation on a stop or a cancel."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError

from workflows.kit.compensation import Compensations, Undo
from workflows.kit.config import Config, Ledger
from workflows.kit.options import Retry, bounded, options
from workflows.kit.shield import shielded
from workflows.kit.step import Call, In, Later, Out, Step, describe, refused
from workflows.kit.workbench import RECHECK, Workbench

with workflow.unsafe.imports_passed_through():
    from models.saga import (
        CancelRequest,
        Compensation,
        Decision,
        ExceptionAction,
        SagaError,
        Stage,
        StepRecord,
        StepState,
    )

TERMINAL = frozenset({Stage.COMPLETED, Stage.COMPENSATED, Stage.CANCELLED, Stage.FAILED})
COMPENSATION_FAILED = "compensation_failed"
RETRIES_EXHAUSTED = "retries_exhausted"
LOCAL_RETRY_THRESHOLD = timedelta(seconds=5)  # longer local backoffs wait on a durable timer


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
        self.config.on_change()
        self.keyed(step.name, arg)
        retry: dict[str, Any] | None = None  # a periodic re-try of a parked step: one attempt
        while True:
            try:
                output: Any = await shielded(self.execute(step, arg, retry), self.heard_cancel)
                if retry is not None:
                    self.workbench.resumed()  # the cause went away (a credential fixed): on by itself
                break
            except (ActivityError, ApplicationError) as failure:  # a local activity raises its cause directly
                error = describe(step.name, failure)
                record.state, record.finished_at, record.error = StepState.FAILED, workflow.now(), error.message
                self.config.on_change()
                code, recheck = self.parking(error, failure)
                if code is None:
                    raise SagaStopped(Stage.COMPENSATED, error) from failure
                actions: list[ExceptionAction] | None = ["retry", "skip", "compensate"] if step.skippable else None
                action = await self.workbench.park(code, step.name, error, actions, recheck)
                retry = self.once() if action == RECHECK else None
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
        self.config.on_change()
        if undo is not None:
            self.undo.push(step.name, undo.step.action, lambda: self.compensate(undo.call(output, self.reason())))
        return output  # a cancel is honoured at the next step, its undo registered

    def parking(
        self, error: SagaError, failure: ActivityError | ApplicationError
    ) -> tuple[str | None, timedelta | None]:
        """Where a failed forward step parks (None: it stops and compensates), and how often it is re-tried.

        A refusal a person fixes in the data waits for them; a cause outside q2c's data (credentials, a
        permission, a route, a defect) or a retryable error past the patience waits too, re-tried by timer.
        """
        config = self.config
        if code := config.fixable.get(error.type):
            return (code, None) if self.since(config.versions.workbench) else (None, None)
        if not self.bounded() or refused(failure):
            return None, None
        code = config.unfixable.get(error.type) or config.exhausted.get(error.type) or RETRIES_EXHAUSTED
        return code, config.patience().recheck

    def bounded(self) -> bool:
        """Forward steps give up and park (not retry for ever): a saga that names its `unfixable` errors opts in."""
        return bool(self.config.unfixable) and self.since(self.config.versions.unfixable)

    def once(self) -> dict[str, Any]:
        return bounded(self.config.patience(), self.config.unfixable, attempts=1)

    def keyed(self, name: str, arg: Any) -> None:
        arg.correlation_id, arg.idempotency_key = self.config.correlation_id, f"{workflow.info().workflow_id}:{name}"

    def execute(self, step: Step[Any, Any], arg: Any, retry: dict[str, Any] | None = None) -> Awaitable[Any]:
        """On the step's own queue, locally, or as an ordinary activity: each as of its version."""
        versions, opts = self.config.versions, retry or options(step.retry)
        if retry is None and step.retry is Retry.FORWARD and self.bounded():
            opts = bounded(self.config.patience(), self.config.unfixable)  # gives up and parks, not for ever
        opts = {**opts, "summary": self.config.summary(step.name)}  # what the Temporal UI shows on the event
        if step.queue is not None and self.since(versions.queues):
            queue = self.config.queues[step.queue]
            return workflow.execute_activity_method(step.activity, arg, task_queue=queue, **opts)
        if step.local and self.since(versions.local):
            # past a few seconds of backoff a local step's retries go through a durable timer, not the worker's
            # memory, so a worker asked to stop drains instead of retrying inside itself (sdk-core keeps
            # retrying local activities after shutdown is requested)
            # a local step's patience is its attempts only: the SDK measures a local activity's schedule-to-close
            # on the worker's clock, which a time-skipping server does not move (it timed out at once after a skip)
            local = {k: v for k, v in opts.items() if k != "schedule_to_close_timeout"}
            return workflow.execute_local_activity_method(
                step.activity, arg, local_retry_threshold=LOCAL_RETRY_THRESHOLD, **local
            )
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
        action = await self.workbench.park(COMPENSATION_FAILED, undo.step, error, ["retry", "skip"])
        return None if action == RECHECK else action

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

    def cancel_refusal(self) -> str:
        """Why a cancel cannot apply now (already cancelled, or the saga is ending); empty when it can."""
        stage = self.ledger.stage
        if self.ledger.cancel is not None:
            return f"already cancelled by {self.ledger.cancel.requested_by}"
        if stage in TERMINAL | {Stage.COMPENSATING}:
            return f"the saga is {stage.value}"
        return ""

    def request_cancel(self, request: CancelRequest) -> Decision:
        """`cancel`: honoured at the next step; refused (and recorded) once the saga is ending."""
        by, step = request.requested_by, self.current_step()
        decision = self.workbench.record("cancel", by, request.reason, step=step, refused=self.cancel_refusal())
        if decision.accepted:
            self.ledger.cancel = request
        return decision

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
        self.config.on_change()
