"""Credit: the ERP's check, and the review hold (a decision signal raced against the region's deadline)."""

from __future__ import annotations

import contextlib
from typing import Literal

from temporalio import workflow

from workflows import kpis
from workflows.kit import Saga, SagaStopped
from workflows.quote_to_cash.steps import CHECK_CREDIT, NOTE_HOLD

with workflow.unsafe.imports_passed_through():
    from models.crm import DealMilestones
    from models.deal import Deal
    from models.saga import CreditDecision, Decision, Hold, SagaError, SagaPolicy, SagaStatus, Stage
    from models.steps import CheckCredit, UpdateDeal

Verdict = Literal["approved", "rejected"]


class CreditReview:
    """Holds the saga until an operator approves or rejects, a cancel comes, or the deadline passes."""

    def __init__(self, saga: Saga, state: SagaStatus) -> None:
        self.saga, self.state = saga, state
        self.decision: tuple[Verdict, CreditDecision] | None = None

    def refusal(self) -> str:
        """Why a credit decision cannot apply now; empty when a hold waits for one."""
        if self.state.hold is None:
            return "nothing is on hold"
        if self.decision is not None:
            return f"already {self.decision[0]} by {self.decision[1].approver}"
        return ""

    def decide(self, verdict: Verdict, decision: CreditDecision) -> Decision:
        """`approve_credit` / `reject_credit`: recorded always; refused when nothing waits for it."""
        hold = self.state.hold
        action = "approve_credit" if verdict == "approved" else "reject_credit"
        code = hold.reason if hold else "-"
        step = "credit_review" if hold else "-"
        recorded = self.saga.workbench.record(
            action, decision.approver, decision.reason, step=step, code=code, refused=self.refusal()
        )
        if recorded.accepted:
            self.decision = (verdict, decision)
        return recorded

    async def check(self, deal: Deal, erp_customer: str, policy: SagaPolicy) -> None:
        """The ERP's credit position; an order over the (policy's share of the) limit is held for review."""
        share = policy.credit_limit_share
        check = CheckCredit(erp_customer_id=erp_customer, order_total=deal.amount, limit_share=share)
        credit = await self.saga.step(CHECK_CREDIT, check)
        if not credit.allowed:
            await self.hold(policy, f"exposure {credit.exposure} + order {deal.amount} exceeds limit {credit.limit}")

    async def hold(self, policy: SagaPolicy, detail: str) -> None:
        """Park the saga until an operator decides, or the regional deadline passes."""
        now = workflow.now()
        hold = Hold(reason="credit_review", since=now, deadline=now + policy.credit_hold_deadline, detail=detail)
        self.state.hold = hold
        self.state.holds.append(hold)
        self.saga.set_stage(Stage.ON_HOLD)
        kpis.parked(hold.reason)
        on_hold = DealMilestones(status="on_hold", status_reason=f"credit review: {detail}")
        await self.saga.step(NOTE_HOLD, UpdateDeal(deal_id=self.state.deal_id, milestones=on_hold))
        with contextlib.suppress(TimeoutError):  # the deadline passing is an outcome, not an error
            await workflow.wait_condition(
                lambda: self.decision is not None or self.state.cancel is not None, timeout=policy.credit_hold_deadline
            )
        verdict: Literal["approved", "rejected", "expired", "cancelled"]
        if self.decision is not None:
            verdict, by, note = self.decision[0], self.decision[1].approver, self.decision[1].reason
        elif self.state.cancel is not None:
            verdict, by, note = "cancelled", self.state.cancel.requested_by, self.state.cancel.reason
        else:
            verdict, by, note = "expired", "policy", f"no decision by the deadline; policy: {policy.on_hold_expiry}"
        hold.decision, hold.decided_by, hold.decided_at, hold.note = verdict, by, workflow.now(), note
        kpis.hold_decided(hold.reason, verdict, workflow.now() - hold.since)
        self.state.hold = None
        self.saga.check_cancel()
        if verdict == "rejected" or (verdict == "expired" and policy.on_hold_expiry == "reject"):
            raise SagaStopped(
                Stage.COMPENSATED,
                SagaError(
                    step="credit_review",
                    type=f"Credit{verdict.title()}",
                    message=f"credit review {verdict} by {by}: {note}",
                ),
            )
