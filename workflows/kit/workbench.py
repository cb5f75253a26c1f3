"""The exception workbench: a step parks for a person; every operator decision is recorded, refused ones
with the reason, so an operator always learns why a signal did nothing."""

from __future__ import annotations

from collections.abc import Callable

from temporalio import workflow

from workflows.kit.config import Config, Ledger

with workflow.unsafe.imports_passed_through():
    from models.saga import Decision, ExceptionAction, OperatorDecision, ParkedStep, SagaError, Stage


class Workbench:
    def __init__(self, ledger: Ledger, config: Config, set_stage: Callable[[Stage], None]) -> None:
        self.ledger, self.config, self.set_stage = ledger, config, set_stage
        self.resolution: tuple[ExceptionAction, OperatorDecision] | None = None

    async def park(
        self, code: str, step: str, error: SagaError, actions: list[ExceptionAction] | None = None
    ) -> ExceptionAction:
        """Wait in `needs_attention` until an operator decides; a cancel counts as `compensate`."""
        before = self.ledger.stage
        self.ledger.exception = ParkedStep(
            code=code,
            step=step,
            error=error,
            since=workflow.now(),
            actions=actions or ["retry", "compensate"],
            context={k: v for k, v in self.config.context().items() if v},
        )
        self.resolution = None
        self.set_stage(Stage.NEEDS_ATTENTION)
        self.config.on_park(f"exception:{code}")
        workflow.logger.warning("saga parked: %s at %s", code, step, extra=dict(self.config.log_context))
        await workflow.wait_condition(
            lambda: self.resolution is not None or (self.ledger.cancel is not None and before is not Stage.COMPENSATING)
        )
        action: ExceptionAction = "compensate" if self.resolution is None else self.resolution[0]  # None: cancelled
        self.ledger.exception, self.resolution = None, None
        self.set_stage(before)
        return action

    def resolve(self, action: ExceptionAction, decision: OperatorDecision) -> None:
        """`retry`, `skip` or `compensate` for the parked step."""
        parked = self.ledger.exception
        refused = ""
        if parked is None:
            refused = "nothing is parked"
        elif action not in parked.actions:
            refused = f"{action} is not allowed at {parked.step}; allowed: {', '.join(parked.actions)}"
        elif self.resolution is not None:
            refused = f"already resolved by {self.resolution[1].by}"
        step, code = (parked.step, parked.code) if parked else ("-", "-")
        if self.record(action, decision.by, decision.reason, step=step, code=code, refused=refused):
            self.resolution = (action, decision)

    def record(self, action: str, by: str, reason: str, *, step: str = "-", code: str = "-", refused: str = "") -> bool:
        """The one convention for an operator's decision: recorded always; `refused` says why it did not apply.

        Returns whether it applies.
        """
        self.ledger.decisions.append(
            Decision(
                action=action,
                step=step,
                code=code,
                by=by,
                reason=reason,
                at=workflow.now(),
                accepted=not refused,
                note=refused,
            )
        )
        if refused:
            workflow.logger.info("%s by %s refused: %s", action, by, refused, extra=dict(self.config.log_context))
        return not refused
