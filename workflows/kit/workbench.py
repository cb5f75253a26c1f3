"""The exception workbench: a step parks for a person; every operator decision is recorded, refused ones
with the reason, so an operator always learns why a signal did nothing (an update hears it at once)."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from datetime import timedelta
from typing import Literal

from temporalio import workflow

from workflows.kit.config import Config, Ledger

with workflow.unsafe.imports_passed_through():
    from models.saga import Decision, ExceptionAction, OperatorDecision, ParkedStep, SagaError, Stage

# park's answer when the periodic re-try is due: the step runs once, still parked
RECHECK: Literal["recheck"] = "recheck"
Parked = ExceptionAction | Literal["recheck"]


class Workbench:
    def __init__(self, ledger: Ledger, config: Config, set_stage: Callable[[Stage], None]) -> None:
        self.ledger, self.config, self.set_stage = ledger, config, set_stage
        self.resolution: tuple[ExceptionAction, OperatorDecision] | None = None
        self.before = Stage.RECEIVED  # the stage a parked saga returns to

    async def park(
        self,
        code: str,
        step: str,
        error: SagaError,
        actions: list[ExceptionAction] | None = None,
        recheck: timedelta | None = None,
    ) -> Parked:
        """Wait in `needs_attention` until an operator decides; a cancel counts as `compensate`.

        With `recheck`, answer `recheck` when it is due: the caller tries the step once and parks again
        (`since` kept, the metric not counted twice) or, when it works, calls `resumed`.
        """
        again = self.ledger.exception is not None and self.ledger.exception.step == step
        if again and self.ledger.exception is not None:
            parked = self.ledger.exception
            parked.error, parked.rechecks = error, parked.rechecks + 1
        else:
            self.before = self.ledger.stage
            parked = ParkedStep(
                code=code,
                step=step,
                error=error,
                since=workflow.now(),
                actions=actions or ["retry", "compensate"],
                context={k: v for k, v in self.config.context().items() if v},
            )
            self.ledger.exception, self.resolution = parked, None
            self.set_stage(Stage.NEEDS_ATTENTION)
            self.config.on_park(f"exception:{code}")
            workflow.logger.warning("saga parked: %s at %s", code, step, extra=dict(self.config.log_context))
        parked.next_recheck = workflow.now() + recheck if recheck else None
        self.config.on_change()
        if parked.code != code:  # e.g. a 403 after a 401: what an operator must fix now
            parked.code = code
            self.set_stage(Stage.NEEDS_ATTENTION)
        with contextlib.suppress(TimeoutError):
            await workflow.wait_condition(self.decided, timeout=recheck)
        if not self.decided():
            return RECHECK
        action: ExceptionAction = "compensate" if self.resolution is None else self.resolution[0]  # None: cancelled
        self.resumed()
        return action

    def decided(self) -> bool:
        cancelled = self.ledger.cancel is not None and self.before is not Stage.COMPENSATING
        return self.resolution is not None or cancelled

    def resumed(self) -> None:
        """The parked step goes on: by a decision, or because a periodic re-try worked."""
        self.ledger.exception, self.resolution = None, None
        self.set_stage(self.before)

    def refusal(self, action: ExceptionAction) -> str:
        """Why `retry`, `skip` or `compensate` cannot apply now; empty when it can."""
        parked = self.ledger.exception
        if parked is None:
            return "nothing is parked"
        if action not in parked.actions:
            return f"{action} is not allowed at {parked.step}; allowed: {', '.join(parked.actions)}"
        if self.resolution is not None:
            return f"already resolved by {self.resolution[1].by}"
        return ""

    def resolve(self, action: ExceptionAction, decision: OperatorDecision) -> Decision:
        """`retry`, `skip` or `compensate` for the parked step; the recorded decision."""
        parked = self.ledger.exception
        step, code = (parked.step, parked.code) if parked else ("-", "-")
        recorded = self.record(action, decision.by, decision.reason, step=step, code=code, refused=self.refusal(action))
        if recorded.accepted:
            self.resolution = (action, decision)
        return recorded

    def record(
        self, action: str, by: str, reason: str, *, step: str = "-", code: str = "-", refused: str = ""
    ) -> Decision:
        """The one convention for an operator's decision: recorded always; `refused` says why it did not apply."""
        decision = Decision(
            action=action,
            step=step,
            code=code,
            by=by,
            reason=reason,
            at=workflow.now(),
            accepted=not refused,
            note=refused,
        )
        self.ledger.decisions.append(decision)
        if refused:
            workflow.logger.info("%s by %s refused: %s", action, by, refused, extra=dict(self.config.log_context))
        return decision
