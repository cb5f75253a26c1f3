"""QuoteToCash's operator interface: the `status` query, the decisions as signals (kept: public API) and as
updates of the same names (the caller hears accepted or refused, with the reason, before anything is
written: a validator refuses), and `submit`, the CRM's synchronous intake (Update-with-Start).
"""

from __future__ import annotations

import contextlib
from datetime import timedelta
from typing import Literal

from temporalio import workflow

from workflows.kit import TERMINAL, Saga
from workflows.quote_to_cash.collection import Collection
from workflows.quote_to_cash.credit import CreditReview

with workflow.unsafe.imports_passed_through():
    from models.saga import (
        BillingEvent,
        CancelRequest,
        CreditDecision,
        Decision,
        FieldProblem,
        OperatorDecision,
        SagaStatus,
        Stage,
        StepState,
        Submission,
    )


SUBMIT_WAIT = timedelta(seconds=10)


class Refused(ValueError):
    """An operator update that does not apply now; its message is the reason the caller reads."""


def _refuse(reason: str) -> None:
    if reason:
        raise Refused(reason)


class Operators:
    """Mixed into QuoteToCash: the handlers, each one line into the part that owns the decision."""

    saga: Saga
    state: SagaStatus
    credit: CreditReview
    collection: Collection
    problems: list[FieldProblem] | None

    @workflow.query(name="status")
    def status(self) -> SagaStatus:
        return self.state

    # ---- signals: fire and forget; a refusal is recorded in `decisions` ----
    @workflow.signal(name="approve_credit")
    def approve_credit(self, decision: CreditDecision) -> None:
        self.credit.decide("approved", decision)

    @workflow.signal(name="reject_credit")
    def reject_credit(self, decision: CreditDecision) -> None:
        self.credit.decide("rejected", decision)

    @workflow.signal(name="cancel")
    def cancel(self, request: CancelRequest) -> None:
        self.saga.request_cancel(request)

    @workflow.signal(name="retry")
    def retry(self, decision: OperatorDecision) -> None:
        """The data (or the credential, the permission) was fixed: run the parked step again."""
        self.saga.workbench.resolve("retry", decision)

    @workflow.signal(name="skip")
    def skip(self, decision: OperatorDecision) -> None:
        """Go on without the parked step (only where the step allows it, e.g. it was done by hand)."""
        self.saga.workbench.resolve("skip", decision)

    @workflow.signal(name="compensate")
    def compensate_now(self, decision: OperatorDecision) -> None:
        """Give up on the parked step: undo what was done and end."""
        self.saga.workbench.resolve("compensate", decision)

    @workflow.signal(name="billing_event")
    def billing_event(self, event: BillingEvent) -> None:
        """A Stripe webhook (through the ingress) or the ERP poller: applied once, in order, never lost."""
        self.collection.inbox.append(event)

    # ---- the same decisions as updates: the answer is the decision as recorded ----
    @workflow.update(name="approve_credit")
    def approve_credit_update(self, decision: CreditDecision) -> Decision:
        return self.credit.decide("approved", decision)

    @approve_credit_update.validator
    def _approve_credit_applies(self, decision: CreditDecision) -> None:
        _refuse(self.credit.refusal())

    @workflow.update(name="reject_credit")
    def reject_credit_update(self, decision: CreditDecision) -> Decision:
        return self.credit.decide("rejected", decision)

    @reject_credit_update.validator
    def _reject_credit_applies(self, decision: CreditDecision) -> None:
        _refuse(self.credit.refusal())

    @workflow.update(name="cancel")
    def cancel_update(self, request: CancelRequest) -> Decision:
        return self.saga.request_cancel(request)

    @cancel_update.validator
    def _cancel_applies(self, request: CancelRequest) -> None:
        _refuse(self.saga.cancel_refusal())

    @workflow.update(name="retry")
    def retry_update(self, decision: OperatorDecision) -> Decision:
        return self.saga.workbench.resolve("retry", decision)

    @retry_update.validator
    def _retry_applies(self, decision: OperatorDecision) -> None:
        _refuse(self.saga.workbench.refusal("retry"))

    @workflow.update(name="skip")
    def skip_update(self, decision: OperatorDecision) -> Decision:
        return self.saga.workbench.resolve("skip", decision)

    @skip_update.validator
    def _skip_applies(self, decision: OperatorDecision) -> None:
        _refuse(self.saga.workbench.refusal("skip"))

    @workflow.update(name="compensate")
    def compensate_update(self, decision: OperatorDecision) -> Decision:
        return self.saga.workbench.resolve("compensate", decision)

    @compensate_update.validator
    def _compensate_applies(self, decision: OperatorDecision) -> None:
        _refuse(self.saga.workbench.refusal("compensate"))

    # ---- the CRM's synchronous intake ----
    @workflow.update(name="submit")
    async def submit(self) -> Submission:
        """Answer once the deal is checked and credit decided (or the saga parked or stopped before that);
        after SUBMIT_WAIT, what is known (`pending`): Temporal caps the updates in flight on one saga."""
        with contextlib.suppress(TimeoutError):
            await workflow.wait_condition(self.submission_known, timeout=SUBMIT_WAIT)
        return self.submission()

    def submission_known(self) -> bool:
        given = answer(self.state, self.problems)
        return given.credit != "pending" or given.valid is False or given.exception is not None

    def submission(self) -> Submission:
        return answer(self.state, self.problems)


def answer(state: SagaStatus, problems: list[FieldProblem] | None) -> Submission:
    """`submit`'s answer from the saga's status (also for a finished saga, whose problems are not kept)."""
    reason = ""
    credit: Literal["clear", "on_hold", "refused", "pending"] = "pending"
    hold = state.hold or next((h for h in state.holds if h.reason == "credit_review"), None)
    checked = state.step("check_credit")
    if hold is not None and hold.decision is None:
        credit, reason = "on_hold", hold.detail
    elif hold is not None:
        credit = "clear" if hold.decision == "approved" else "refused"
        reason = f"{hold.decision} by {hold.decided_by}: {hold.note}"
    elif checked is not None and checked.state is StepState.COMPLETED:
        credit = "clear"
    elif problems:
        credit, reason = "refused", "the deal cannot become an order: see problems"
    elif state.stage in TERMINAL or state.stage is Stage.COMPENSATING:
        credit, reason = "refused", state.error.message if state.error else state.stage.value
    return Submission(
        workflow_id=state.workflow_id,
        stage=state.stage,
        valid=None if problems is None else not problems,
        problems=problems or [],
        credit=credit,
        credit_reason=reason,
        exception=state.exception,
    )
