"""QuoteToCash: one durable saga per closed-won deal, from CRM deal to support entitlement."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any, Literal

from temporalio import workflow

from workflows import kpis
from workflows.collection import Collection
from workflows.saga import TERMINAL, WORKBENCH_PATCH, SagaStopped
from workflows.terms import contract_term, highest_tier

with workflow.unsafe.imports_passed_through():
    from activities.billing import BillingActivities
    from activities.crm import CrmActivities
    from activities.erp import ErpActivities
    from activities.support import SupportActivities
    from models.catalog import BillingFrequency
    from models.deal import Deal
    from models.saga import (
        WORKFLOW_TYPE,
        BillingEvent,
        CancelRequest,
        CreditDecision,
        EntitlementGate,
        Hold,
        InvoiceState,
        OperatorDecision,
        SagaError,
        SagaInput,
        SagaResult,
        SagaStatus,
        Stage,
    )
    from models.steps import (
        CancelSubscription,
        CheckCredit,
        CloseOrder,
        CreateOrder,
        CreditInvoice,
        FetchDeal,
        InvoiceOrder,
        InvoiceRef,
        Provision,
        ResolveProducts,
        Revoke,
        Subscribe,
        SupportMilestone,
        UpsertCustomer,
    )


@workflow.defn(name=WORKFLOW_TYPE)
class QuoteToCash(Collection):
    @workflow.init
    def __init__(self, saga: SagaInput) -> None:
        super().__init__(saga)
        self.policy = saga.policy
        self.decision: tuple[Literal["approved", "rejected"], CreditDecision] | None = None
        self.customer: Any = None

    # ---- operator interface ----
    @workflow.query(name="status")
    def status(self) -> SagaStatus:
        return self.state

    @workflow.signal(name="approve_credit")
    def approve_credit(self, decision: CreditDecision) -> None:
        if self.state.hold is not None and self.decision is None:
            self.decision = ("approved", decision)

    @workflow.signal(name="reject_credit")
    def reject_credit(self, decision: CreditDecision) -> None:
        if self.state.hold is not None and self.decision is None:
            self.decision = ("rejected", decision)

    @workflow.signal(name="cancel")
    def cancel(self, request: CancelRequest) -> None:
        if self.state.cancel is None and self.state.stage not in TERMINAL | {Stage.COMPENSATING}:
            self.state.cancel = request

    @workflow.signal(name="retry")
    def retry(self, decision: OperatorDecision) -> None:
        """The data was fixed: run the parked step again."""
        self.resolve("retry", decision)

    @workflow.signal(name="skip")
    def skip(self, decision: OperatorDecision) -> None:
        """Go on without the parked step (only where the step allows it, e.g. it was done by hand)."""
        self.resolve("skip", decision)

    @workflow.signal(name="compensate")
    def compensate_now(self, decision: OperatorDecision) -> None:
        """Give up on the parked step: undo what was done and end."""
        self.resolve("compensate", decision)

    @workflow.signal(name="billing_event")
    def billing_event(self, event: BillingEvent) -> None:
        """A Stripe webhook (through the ingress) or the ERP poller: applied once, in order, never lost."""
        self.inbox.append(event)

    # ---- the process ----
    @workflow.run
    async def run(self, saga: SagaInput) -> SagaResult:
        kpis.started()
        try:
            await self.fulfil()
            if self.inbox and self.customer is not None:  # events that came in during the last steps
                await self.apply_billing_events(self.customer)
            self.set_stage(Stage.COMPLETED)
        except SagaStopped as stop:
            await self.stop(stop)
        except asyncio.CancelledError:
            self.cancelled_by_temporal = True
            await self.stop(
                SagaStopped(
                    Stage.CANCELLED,
                    SagaError(step=self.current_step(), type="WorkflowCancelled", message="the workflow was cancelled"),
                )
            )
        kpis.finished(self.state.stage.value)
        if self.cancelled_by_temporal:
            raise asyncio.CancelledError("cancelled after compensating")  # shows as Canceled in Temporal
        return SagaResult(
            workflow_id=self.state.workflow_id,
            stage=self.state.stage,
            external_ids=self.state.external_ids,
            compensations=self.state.compensations,
            error=self.state.error,
        )

    async def fulfil(self) -> None:
        self.set_stage(Stage.VALIDATING)
        while True:  # an operator's `retry` after fixing the deal's data reads it again
            deal = (await self.step("fetch_deal", CrmActivities.fetch_deal, FetchDeal(deal_id=self.saga.deal_id))).deal
            self.validate(deal)
            assert deal.company is not None
            customer = self.customer = deal.company
            self.state.customer_id, self.state.amount = customer.id, deal.amount
            self.policy = self.saga.policy_for(self.saga.region or customer.region)
            self.set_stage(Stage.VALIDATING)  # again: Q2CCustomer and Q2CAmount are searchable from here on
            missing = [f for f in self.policy.required_tax_fields if getattr(customer, f, None) in (None, "")]
            if not missing or not workflow.patched(WORKBENCH_PATCH):
                break
            error = SagaError(
                step="validate",
                type="MISSING_TAX_REGISTRATION",
                system=self.saga.crm,
                message=f"company {customer.id} ({customer.region}) lacks {', '.join(missing)}, "
                "which its region requires; fix it in the CRM, then signal retry",
            )
            if await self.park("missing_tax_registration", "validate", error) == "compensate":
                self.check_cancel()
                raise SagaStopped(Stage.FAILED, error)
        recurring = deal.lines_by(recurring=True)
        products = ResolveProducts(
            skus=[line.sku for line in deal.lines],
            currency=deal.currency,
            recurring_skus=[line.sku for line in recurring],
        )
        erp = await self.step("resolve_products", ErpActivities.resolve_products, products)
        prices = (await self.step("resolve_prices", BillingActivities.resolve_prices, products)).prices

        self.set_stage(Stage.CREDIT_CHECK)
        erp_customer = (
            await self.step(
                "upsert_customer",
                ErpActivities.upsert_customer,
                UpsertCustomer(customer=customer),
                external_id=lambda o: o.erp_customer_id,
            )
        ).erp_customer_id
        credit = await self.step(
            "check_credit",
            ErpActivities.check_credit,
            CheckCredit(
                erp_customer_id=erp_customer, order_total=deal.amount, limit_share=self.policy.credit_limit_share
            ),
        )
        if not credit.allowed:
            await self.credit_review(f"exposure {credit.exposure} + order {deal.amount} exceeds limit {credit.limit}")

        self.set_stage(Stage.ORDERING)
        order = await self.step(
            "create_order",
            ErpActivities.create_sales_order,
            CreateOrder(erp_customer_id=erp_customer, deal=deal, erp_items=erp.erp_items),
            external_id=lambda o: o.order_id,
        )
        self.undo.push(
            "create_order",
            "close or cancel the sales order",
            lambda: self.compensate(
                "close_order",
                ErpActivities.close_sales_order,
                CloseOrder(order_id=order.order_id, reason=self.reason()),
            ),
        )
        self.state.external_ids["erp_order_number"] = order.order_number
        kpis.milestone("order_accepted")
        await self.step(
            "write_back_order",
            CrmActivities.update_deal,
            self.deal_update(
                erp_order_number=order.order_number,
                erp_customer_id=erp_customer,
                q2c_status="order_accepted",
                q2c_saga_id=self.state.workflow_id,
            ),
        )
        self.undo.push(
            "write_back_order",
            "mark the deal's order as cancelled",
            lambda: self.compensate(
                "unmark_order",
                CrmActivities.update_deal,
                self.deal_update(q2c_status="order_cancelled", q2c_status_reason=self.reason()),
            ),
        )

        tier = highest_tier([erp.tiers[line.sku] for line in deal.lines if line.sku in erp.tiers])
        start, end = contract_term(deal, workflow.now().date())
        provision = Provision(customer=customer, tier=tier, start=start, end=end, erp_customer_id=erp_customer)
        if self.policy.entitlement_gate is EntitlementGate.ON_ORDER:
            await self.provision(provision)

        self.set_stage(Stage.INVOICING)
        one_time = deal.lines_by(recurring=False)
        if one_time:
            invoice = (
                await self.step(
                    "invoice_erp",
                    ErpActivities.invoice_order,
                    InvoiceOrder(order_id=order.order_id, item_ids=[erp.erp_items[line.sku] for line in one_time]),
                    external_id=lambda o: o.invoice.id,
                )
            ).invoice
            self.state.invoices[invoice.id] = InvoiceState(system="erp", updated_at=workflow.now())
            self.undo.push(
                "invoice_erp",
                "credit-memo the ERP invoice",
                lambda: self.compensate(
                    "credit_erp_invoice",
                    ErpActivities.credit_invoice,
                    CreditInvoice(invoice_id=invoice.id, reason=self.reason()),
                ),
            )
        for frequency in (BillingFrequency.MONTHLY, BillingFrequency.ANNUALLY):
            lines = [line for line in recurring if line.frequency is frequency]
            if lines:
                await self.subscribe(
                    frequency.value, customer, {prices[line.sku]: int(line.quantity) for line in lines}
                )
        kpis.milestone("invoice_posted")
        await self.step(
            "milestone_invoiced",
            CrmActivities.update_deal,
            self.deal_update(q2c_status="invoiced", invoice_status="posted"),
        )

        if self.policy.entitlement_gate is EntitlementGate.ON_INVOICE:
            await self.provision(provision)
        await self.step(
            "milestone_support",
            SupportActivities.record_milestone,
            SupportMilestone(customer=customer, fields={"invoice_status": "posted"}),
            skippable=True,
        )
        if self.policy.payment_deadline is not None and self.state.invoices:
            await self.collect(customer, provision)
        await self.apply_billing_events(customer)
        await self.step(
            "milestone_entitled",
            CrmActivities.update_deal,
            self.deal_update(
                q2c_status="completed",
                entitlement_status="active" if self.state.step("provision_entitlement") else "pending_payment",
            ),
            skippable=True,
        )

    async def subscribe(self, frequency: str, customer: Any, items: dict[str, int]) -> None:
        subscribed = await self.step(
            f"subscribe_{frequency}",
            BillingActivities.subscribe,
            Subscribe(customer=customer, deal_id=self.saga.deal_id, items=items),
            external_id=lambda o: o.subscription_id,
        )
        self.state.external_ids["billing_customer"] = subscribed.billing_customer_id
        invoice_id = subscribed.invoice.id if subscribed.invoice else None
        self.undo.push(
            f"subscribe_{frequency}",
            "cancel the subscription and withdraw its invoice",
            lambda: self.compensate(
                f"cancel_subscription_{frequency}",
                BillingActivities.cancel_subscription,
                CancelSubscription(
                    subscription_id=subscribed.subscription_id, invoice_id=invoice_id, reason=self.reason()
                ),
            ),
        )
        if invoice_id:
            await self.step(
                f"finalize_invoice_{frequency}",
                BillingActivities.finalize_invoice,
                InvoiceRef(invoice_id=invoice_id),
                external_id=lambda o: o.invoice.id,
            )
            self.state.invoices[invoice_id] = InvoiceState(system="billing", updated_at=workflow.now())

    async def provision(self, provision: Provision) -> None:
        self.set_stage(Stage.PROVISIONING)
        await self.step(
            "provision_entitlement",
            SupportActivities.provision_entitlement,
            provision,
            external_id=lambda o: o.organization_id,
            skippable=True,
        )
        kpis.milestone("entitled")
        kpis.entitled(workflow.now() - workflow.info().start_time)
        self.undo.push(
            "provision_entitlement",
            "revoke the entitlement",
            lambda: self.compensate(
                "revoke_entitlement",
                SupportActivities.revoke_entitlement,
                Revoke(customer=provision.customer, reason=self.reason()),
            ),
        )

    def validate(self, deal: Deal) -> None:
        problems = deal.problems()
        problems += [
            f"lines[{i}].quantity {line.quantity} must be whole for a subscription"
            for i, line in enumerate(deal.lines)
            if line.frequency.recurring and line.quantity % 1
        ]
        if problems:
            raise SagaStopped(
                Stage.FAILED,
                SagaError(step="validate", type="InvalidDeal", system=self.saga.crm, message="; ".join(problems)),
            )

    async def credit_review(self, detail: str) -> None:
        """Park the saga until an operator decides, or the regional deadline passes."""
        now, policy = workflow.now(), self.policy
        hold = Hold(reason="credit_review", since=now, deadline=now + policy.credit_hold_deadline, detail=detail)
        self.state.hold = hold
        self.state.holds.append(hold)
        self.set_stage(Stage.ON_HOLD)
        kpis.parked(hold.reason)
        await self.step(
            "note_hold",
            CrmActivities.update_deal,
            self.deal_update(q2c_status="on_hold", q2c_status_reason=f"credit review: {detail}"),
        )
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
        self.check_cancel()
        if verdict == "rejected" or (verdict == "expired" and policy.on_hold_expiry == "reject"):
            raise SagaStopped(
                Stage.COMPENSATED,
                SagaError(
                    step="credit_review",
                    type=f"Credit{verdict.title()}",
                    message=f"credit review {verdict} by {by}: {note}",
                ),
            )
