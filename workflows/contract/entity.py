"""Contract: one long-running entity per customer contract, from the first sale to its end.

It holds what the customer has across systems, applies changes one at a time in the order they were accepted
(each a ContractAmendment saga, as a child), keeps the term's dates with durable timers (renewal notice, term
end, the end of service) and continues as new, carrying its state, before its history grows large.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError

from workflows import patches
from workflows.contract.amendment import ContractAmendment
from workflows.contract.terms import midnight, misfit, renewal_notice, service_ends

with workflow.unsafe.imports_passed_through():
    from activities.contract import ContractActivities
    from models.amendments import AmendmentInput, AmendmentResult, ReadSubscription, RenewalDeal
    from models.contract import (
        CONTRACT_WORKFLOW,
        CancelContract,
        ChangeRecord,
        ChangeRequest,
        Contract,
        ContractInput,
        ContractLine,
        ContractPolicy,
        ContractState,
        ContractStatus,
        NewSale,
    )
    from models.deal import DealKind

Change = ChangeRequest | CancelContract
READ: dict[str, Any] = {
    "start_to_close_timeout": timedelta(seconds=20),
    "retry_policy": RetryPolicy(maximum_interval=timedelta(minutes=1)),
}


@workflow.defn(name=CONTRACT_WORKFLOW)
class ContractEntity:
    @workflow.init
    def __init__(self, start: ContractInput) -> None:
        self.input, self.contract = start, start.contract
        self.history = list(start.history)
        queued = [i for i, record in enumerate(self.history) if record.outcome in ("queued", "applying")]
        self.queue: list[tuple[int, Change]] = list(zip(queued, start.pending, strict=False))
        self.applying: str | None = None
        self.applied = 0
        self.noticed = start.contract.terms if start.contract and start.contract.renewal_deal_id else 0
        self.next_timer: str | None = None

    # ---- queries and signals (names are public) ----
    @workflow.query(name="contract")
    def get_contract(self) -> Contract | None:
        return self.contract

    @workflow.query(name="history")
    def get_history(self) -> list[ChangeRecord]:
        return self.history

    @workflow.query(name="status")
    def status(self) -> ContractStatus:
        return ContractStatus(
            contract_id=workflow.info().workflow_id,
            state=self.contract.state if self.contract else ContractState.ACTIVE,
            applying=self.applying,
            waiting=[self.label(change) for _, change in self.queue],
            parked=[f"{r.deal_id or r.kind}: {r.detail}" for r in self.history if r.outcome == "parked"],
            next_timer=self.next_timer,
        )

    @workflow.signal(name="change")
    def change(self, request: ChangeRequest) -> None:
        """A deal for this customer: accepted now, applied after every change accepted before it."""
        if any(r.deal_id == request.deal.id and r.kind == request.kind.value for r in self.history):
            return  # the same deal twice (a redelivered webhook): once
        self.accept(request, request.kind.value, request.deal.id, request.requested_by, request.correlation_id)

    @workflow.signal(name="cancel_contract")
    def cancel_contract(self, request: CancelContract) -> None:
        self.accept(request, f"cancel_{request.at}", None, request.requested_by, workflow.info().workflow_id)

    @workflow.signal(name="sale")
    def sale(self, sale: NewSale) -> None:
        """Another new-business sale for a customer who has a contract: a person decides how it joins."""
        record = self.record("new_business", sale.deal.id, "crm", sale.correlation_id)
        record.outcome, record.detail = "parked", "a second new-business deal for a customer with a contract"
        self.history.append(record)

    def accept(self, change: Change, kind: str, deal_id: str | None, by: str, correlation_id: str) -> None:
        self.history.append(self.record(kind, deal_id, by, correlation_id))
        self.queue.append((len(self.history) - 1, change))

    def record(self, kind: str, deal_id: str | None, by: str, correlation_id: str) -> ChangeRecord:
        return ChangeRecord(
            kind=kind, deal_id=deal_id, requested_by=by, correlation_id=correlation_id, accepted_at=workflow.now()
        )

    @staticmethod
    def label(change: Change) -> str:
        return (
            f"{change.kind.value} deal {change.deal.id}" if isinstance(change, ChangeRequest) else f"cancel {change.at}"
        )

    # ---- the contract's life ----
    @workflow.run
    async def run(self, start: ContractInput) -> Contract | None:
        if self.contract is None:
            assert start.sale is not None
            self.contract = await self.open(start.sale)
        while self.contract.state not in (ContractState.ENDED, ContractState.CANCELLED):
            at, event = self.next_date()
            self.next_timer = f"{event} at {at.isoformat()}"
            wait = max((at - workflow.now()).total_seconds(), 0.0)
            try:
                await workflow.wait_condition(lambda: bool(self.queue), timeout=wait)
            except TimeoutError:
                await self.on_date(event)
            else:
                await self.apply(*self.queue.pop(0))  # off the queue: `status` shows it as applying
            if self.applied >= start.changes_before_continue or workflow.info().is_continue_as_new_suggested():
                await workflow.wait_condition(workflow.all_handlers_finished)
                workflow.continue_as_new(
                    start.model_copy(
                        update={
                            "sale": None,
                            "contract": self.contract,
                            "history": self.history,
                            "pending": [c for _, c in self.queue],
                        }
                    )
                )
        return self.contract

    async def open(self, sale: NewSale) -> Contract:
        """The contract from the first sale: its recurring lines, with the billing items that hold them."""
        lines = list(sale.lines)  # as QuoteToCash subscribed them; else as billing holds them
        for subscription in sale.subscriptions if not lines else []:
            read = ReadSubscription(subscription_id=subscription, correlation_id=sale.correlation_id)
            detail = (
                await workflow.execute_activity_method(ContractActivities.read_subscription, read, **READ)
            ).subscription
            lines += [
                ContractLine(
                    sku=item.sku or item.price_id,
                    quantity=item.quantity,
                    unit_price=item.unit_amount,
                    frequency=item.frequency,
                    subscription_id=subscription,
                    item_id=item.item_id,
                    price_id=item.price_id,
                )
                for item in detail.items
            ]
        assert sale.term_end is not None, "a contract has a term: the sale had no recurring line"
        contract = Contract(
            contract_id=workflow.info().workflow_id,
            crm=sale.crm,
            customer=sale.customer,
            region=sale.region,
            currency=sale.deal.currency,
            term_start=sale.term_start,
            term_end=sale.term_end,
            lines=sorted(lines, key=lambda line: line.sku),
            erp_customer_id=sale.erp_customer_id,
            erp_orders=[sale.order_id],
            tier=sale.tier,
            support_end=sale.term_end,
        )
        record = self.record("new_business", sale.deal.id, "crm", sale.correlation_id)
        record.outcome, record.applied_at, record.saga_id = "applied", workflow.now(), sale.saga_id
        self.history.insert(0, record)
        self.queue = [(i + 1, change) for i, change in self.queue]
        return contract

    def next_date(self) -> tuple[datetime, str]:
        assert self.contract is not None
        policy = self.input.policy_for(self.contract.region)
        if self.contract.state is ContractState.ENDING:
            return service_ends(self.contract), "service_end"
        if self.noticed < self.contract.terms:
            return renewal_notice(self.contract, policy), "renewal_notice"
        return midnight(self.contract.term_end), "term_end"

    async def on_date(self, event: str) -> None:
        """A durable timer fired: every date comes from the contract, none from a wall clock."""
        assert self.contract is not None
        policy = self.input.policy_for(self.contract.region)
        if event == "renewal_notice":
            self.noticed = self.contract.terms
            record = self.record("renewal_due", None, "renewal policy", workflow.info().workflow_id)
            record.outcome, record.applied_at = "applied", workflow.now()
            record.detail = f"term {self.contract.terms} ends {self.contract.term_end}: renewal due"
            self.history.append(record)
            if workflow.patched(patches.CONTRACT_RENEWAL_DEAL):
                record.detail += await self.open_renewal_deal(policy)
        elif event == "term_end" and policy.evergreen:
            await self.apply(*self.internal("renew", "evergreen renewal"))
        elif event == "term_end":
            await self.apply(
                *self.internal(CancelContract(at="term_end", requested_by="renewal policy", reason="not renewed"), None)
            )
        elif event == "service_end":
            await self.apply(
                *self.internal(CancelContract(at="now", requested_by="renewal policy", reason="term ended"), None)
            )

    async def open_renewal_deal(self, policy: ContractPolicy) -> str:
        """The CRM owns the pipeline: the renewal deal, with the current lines at the region's uplift."""
        assert self.contract is not None
        contract, uplift = self.contract, 1 + policy.uplift
        lines = [
            line.model_copy(update={"unit_price": (line.unit_price * uplift).rounded()}) for line in contract.lines
        ]
        deal = RenewalDeal(
            company_id=contract.customer.id,
            name=f"Renewal {contract.customer.legal_name} {contract.term_end + timedelta(days=1)}",
            close_date=contract.term_end,
            lines=lines,
            contract_id=contract.contract_id,
            idempotency_key=f"{workflow.info().workflow_id}:renewal_deal:{contract.terms}",
        )
        try:
            opened = await workflow.execute_activity_method(ContractActivities.open_renewal_deal, deal, **READ)
        except ActivityError as failure:
            return f"; the CRM did not open the renewal deal: {failure.cause or failure}"
        contract.renewal_deal_id = opened.deal_id
        return f"; renewal deal {opened.deal_id} opened"

    def internal(self, change: Change | str, why: str | None) -> tuple[int, Change | str]:
        kind = change if isinstance(change, str) else f"cancel_{getattr(change, 'at', '')}"
        by = why or (change.requested_by if isinstance(change, CancelContract) else "policy")
        self.history.append(self.record(kind, None, by, workflow.info().workflow_id))
        return len(self.history) - 1, change

    async def apply(self, index: int, change: Change | str) -> None:
        """One change, as a child saga; the next waits (visibly, in `status`) until it ends."""
        assert self.contract is not None
        record, policy = self.history[index], self.input.policy_for(self.contract.region)
        record.outcome, self.applying = "applying", self.label(change) if not isinstance(change, str) else change
        amendment = AmendmentInput(
            contract=self.contract, policy=policy, at=workflow.now(), erp_task_queue=self.input.erp_task_queue
        )
        if isinstance(change, CancelContract):
            amendment.action, amendment.cancel = "cancel", change
        elif isinstance(change, str):
            amendment.action = "renew"
        else:
            if problem := misfit(self.contract, change.deal, workflow.now().date()):
                record.outcome, record.detail, self.applying = "parked", problem, None
                return
            amendment.request = change
            if change.kind is DealKind.RENEWAL:
                amendment.action = "renew"
            elif change.kind is DealKind.CANCELLATION:
                amendment.action, amendment.cancel = (
                    "cancel",
                    CancelContract(at="term_end", requested_by="crm", reason=f"deal {change.deal.id}"),
                )
        child = f"{workflow.info().workflow_id}-change-{index}"
        result: AmendmentResult = await workflow.execute_child_workflow(ContractAmendment.run, amendment, id=child)
        record.saga_id, record.applied_at, self.applying = child, workflow.now(), None
        record.billing_amount, record.erp_amount, record.erp_order_id = (
            result.billing_amount,
            result.erp_amount,
            result.erp_order_id,
        )
        record.erp_return_order_id = result.erp_return_order_id
        if result.contract is not None:
            self.contract, record.outcome = result.contract, "applied"
        else:
            record.outcome, record.detail = "compensated", result.error or result.stage
        self.applied += 1
