"""Following a saga's invoices to payment: billing events applied once and in order, the ERP polled."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from datetime import timedelta
from functools import partial
from typing import Any, Literal

from temporalio import workflow

from workflows import kpis
from workflows.kit import Saga
from workflows.quote_to_cash import steps

with workflow.unsafe.imports_passed_through():
    from activities.erp import ErpActivities
    from models.crm import DealMilestones
    from models.party import Customer
    from models.saga import BillingEvent, EntitlementGate, EventRecord, SagaPolicy, SagaStatus, Stage
    from models.steps import AwaitErpPayment, FinanceReview, SupportMilestone, UpdateDeal


class Collection:
    """The payment part of QuoteToCash: its events arrive as signals into `inbox`, whenever they come."""

    def __init__(self, saga: Saga, state: SagaStatus, entitle: Callable[[], Awaitable[None]]) -> None:
        self.saga, self.state, self.entitle = saga, state, entitle
        self.inbox: list[BillingEvent] = []

    async def collect(self, customer: Customer, policy: SagaPolicy) -> None:
        """Wait for every invoice to be paid (Stripe by webhook signal, the ERP by polling) or the deadline.

        Paid: entitle if the region gates on payment. Deadline passed: flag the support organization and
        open a finance review ticket; the saga then ends, and later payments still reach the deal.
        """
        assert policy.payment_deadline is not None
        self.saga.set_stage(Stage.AWAITING_PAYMENT)
        self.state.payment = "awaiting"
        deadline = workflow.now() + policy.payment_deadline
        poller = None
        erp_invoice = self.state.external_ids.get("invoice_erp")
        if erp_invoice:
            poll = AwaitErpPayment(invoice_id=erp_invoice, poll_seconds=policy.payment_poll_interval.total_seconds())
            self.saga.keyed("await_erp_payment", poll)
            poller = workflow.start_activity_method(
                ErpActivities.await_invoice_payment,
                poll,
                task_queue=self.saga.config.queues[steps.ERP],
                start_to_close_timeout=policy.payment_deadline + timedelta(minutes=5),
                heartbeat_timeout=timedelta(minutes=1),
            )
        while not self.paid():
            left = (deadline - workflow.now()).total_seconds()
            if left <= 0:
                break
            with contextlib.suppress(TimeoutError):
                await workflow.wait_condition(partial(self.news, poller), timeout=timedelta(seconds=left))
            self.saga.check_cancel()
            if poller is not None and poller.done():
                paid = poller.result()
                self.inbox.append(
                    BillingEvent(
                        event_id=f"erp-poll-{paid.invoice_id}",
                        type="invoice.paid",
                        system="erp",
                        invoice_id=paid.invoice_id,
                        created=workflow.now(),
                        amount_paid=paid.amount_paid,
                    )
                )
                poller = None
            await self.apply_billing_events(customer)
        if poller is not None:
            poller.cancel()
        if self.paid():
            self.state.payment = "paid"
            if policy.entitlement_gate is EntitlementGate.ON_PAYMENT:
                await self.entitle()
            return
        self.state.payment = "overdue"
        await self.overdue(customer, policy.payment_deadline)

    async def overdue(self, customer: Customer, after: timedelta) -> None:
        unpaid = sorted(i for i, state in self.state.invoices.items() if state.status != "paid")
        step = self.saga.step
        await step(steps.FLAG_OVERDUE, SupportMilestone(customer=customer, fields={"invoice_status": "overdue"}))
        review = FinanceReview(
            customer=customer, deal_id=self.state.deal_id, invoice_ids=unpaid, detail=f"unpaid {after} after invoicing"
        )
        await step(steps.FINANCE_REVIEW, review)
        await step(steps.NOTE_OVERDUE, self.deal_update(DealMilestones(payment="overdue")))

    def news(self, poller: asyncio.Future[Any] | None) -> bool:
        return bool(self.inbox) or (poller is not None and poller.done()) or self.state.cancel is not None

    def paid(self) -> bool:
        return bool(self.state.invoices) and all(i.status == "paid" for i in self.state.invoices.values())

    async def apply_billing_events(self, customer: Customer) -> None:
        """Record every event; apply each once, and never let an older status overwrite a newer one."""
        while self.inbox:
            event = self.inbox.pop(0)
            outcome = self.receive(event)
            self.state.events.append(
                EventRecord(
                    event_id=event.event_id,
                    type=event.type,
                    invoice_id=event.invoice_id,
                    received_at=workflow.now(),
                    outcome=outcome,
                )
            )
            if outcome != "applied" or event.type == "invoice.finalized":
                continue  # the saga wrote `posted` itself when it finalized the invoice
            status = "paid" if event.type == "invoice.paid" else "payment_failed"
            kpis.milestone(status)
            deal = self.deal_update(DealMilestones(payment=status, invoice=status))
            await self.saga.step(steps.MILESTONE_PAYMENT.named(f"milestone_{status}_{event.invoice_id}"), deal)
            await self.saga.step(
                steps.MILESTONE_SUPPORT_PAYMENT.named(f"milestone_support_{status}_{event.invoice_id}"),
                SupportMilestone(customer=customer, fields={"invoice_status": status}),
            )

    def receive(self, event: BillingEvent) -> Literal["applied", "duplicate", "stale", "unknown_invoice"]:
        if any(e.event_id == event.event_id for e in self.state.events):
            return "duplicate"
        invoice = self.state.invoices.get(event.invoice_id)
        if invoice is None:
            return "unknown_invoice"
        status: Literal["posted", "payment_failed", "paid"] = {
            "invoice.finalized": "posted",
            "invoice.payment_failed": "payment_failed",
            "invoice.paid": "paid",
        }[event.type]  # type: ignore[assignment]
        rank = {"posted": 0, "payment_failed": 1, "paid": 2}
        if invoice.status == "paid" or rank[status] < rank[invoice.status]:
            return "stale"  # e.g. a late payment_failed after paid, or finalized after a failure
        if invoice.updated_at and event.created < invoice.updated_at and rank[status] == rank[invoice.status]:
            return "stale"
        invoice.status, invoice.updated_at = status, event.created
        if event.amount_paid is not None:
            invoice.amount_paid = event.amount_paid
        return "applied"

    def deal_update(self, milestones: DealMilestones) -> UpdateDeal:
        return UpdateDeal(deal_id=self.state.deal_id, milestones=milestones)
