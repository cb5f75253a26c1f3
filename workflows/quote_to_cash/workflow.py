"""QuoteToCash: one durable saga per closed-won deal, from CRM deal to support entitlement.

Shaped as setup (state, the kit's saga configured, the parts; handlers) then `run`: the steps of
../shared/DESIGN.md's new-business saga, one short method each.
"""

from __future__ import annotations

from datetime import date
from functools import partial
from typing import Any

from temporalio import workflow

from workflows import kpis, patches
from workflows.contract.handoff import open_contract, queue_change, sale_of
from workflows.kit import Config, Patience, Saga, SagaStopped, ask_at_start
from workflows.quote_to_cash import steps, visibility
from workflows.quote_to_cash.collection import Collection
from workflows.quote_to_cash.credit import CreditReview
from workflows.quote_to_cash.handlers import Operators
from workflows.quote_to_cash.terms import contract_term, deal_problems, field_problems, highest_tier

with workflow.unsafe.imports_passed_through():
    from models.catalog import BillingFrequency
    from models.crm import DealMilestones
    from models.deal import Deal, DealKind
    from models.party import Customer
    from models.saga import (
        WORKFLOW_TYPE,
        EntitlementGate,
        FieldProblem,
        InvoiceState,
        SagaError,
        SagaInput,
        SagaResult,
        SagaStatus,
        Stage,
    )
    from models.steps import (
        CancelSubscription,
        CloseOrder,
        CreateOrder,
        CreditInvoice,
        ErpProducts,
        FetchDeal,
        InvoiceOrder,
        InvoiceRef,
        OrderCreated,
        Provision,
        ResolveProducts,
        Revoke,
        Subscribe,
        SupportMilestone,
        UpdateDeal,
        UpsertCustomer,
    )


@workflow.defn(name=WORKFLOW_TYPE)
class QuoteToCash(Operators):
    """The handlers (names are public API) are in `handlers.Operators`."""

    @workflow.init
    def __init__(self, saga: SagaInput) -> None:
        self.input, self.policy = saga, saga.policy
        self.state = SagaStatus(
            workflow_id=workflow.info().workflow_id,
            deal_id=saga.deal_id,
            crm=saga.crm,
            correlation_id=saga.correlation_id,
        )
        self.saga = Saga(
            self.state,
            Config(
                correlation_id=saga.correlation_id,
                queues={steps.ERP: saga.erp_task_queue or f"{workflow.info().task_queue}-erp"},
                fixable=steps.FIXABLE,
                unfixable=steps.UNFIXABLE,
                exhausted=steps.EXHAUSTED,
                patience=lambda: Patience(
                    self.policy.step_attempts, self.policy.step_patience, self.policy.recheck_every
                ),
                versions=steps.VERSIONS,
                outcome=lambda stage, why: steps.NOTE_OUTCOME(
                    self.deal_update(DealMilestones(status=stage.value, status_reason=why[:1000]))
                ),
                context=partial(visibility.exception_context, self.state),
                on_stage=partial(visibility.publish, self.state),
                on_park=kpis.parked,
                on_change=lambda: workflow.set_current_details(visibility.details(self.state)),
                summary=lambda step: f"{step} · deal {saga.crm}:{saga.deal_id}",
                log_context={"correlation_id": saga.correlation_id, "deal_id": saga.deal_id},
            ),
        )
        self.credit = CreditReview(self.saga, self.state)
        self.collection = Collection(self.saga, self.state, self.provision)
        self.provision_input: Provision | None = None
        self.problems: list[FieldProblem] | None = None  # the deal's, by field, once read (`submit` answers)
        self.billed_later = False  # a subscription bills from a term that starts after the sale

    # ---- the process ----
    @workflow.run
    async def run(self, saga: SagaInput) -> SagaResult:
        kpis.started()
        if workflow.patched(patches.PATCHES_AT_START):  # a run from before asks each where it first needs it
            ask_at_start(steps.ASKED_AT_START)
        await self.saga.run(self.new_business)
        kpis.finished(self.state.stage.value)
        self.saga.raise_if_cancelled()  # shows as Canceled in Temporal
        return SagaResult(
            workflow_id=self.state.workflow_id,
            stage=self.state.stage,
            external_ids=self.state.external_ids,
            compensations=self.state.compensations,
            error=self.state.error,
        )

    async def new_business(self) -> None:
        deal, customer = await self.fetch_and_validate()
        contracts = self.input.contracts is not None
        if contracts and deal.kind is not DealKind.NEW_BUSINESS and workflow.patched(patches.CONTRACT_ENTITY):
            crm, correlation = self.input.crm, self.input.correlation_id
            self.state.external_ids["contract"] = await queue_change(self.saga, crm, deal, customer, correlation)
            return  # the customer's contract applies it, after every change accepted before it
        products = ResolveProducts(
            skus=[line.sku for line in deal.lines],
            currency=deal.currency,
            recurring_skus=[line.sku for line in deal.lines_by(recurring=True)],
        )
        erp = await self.saga.step(steps.RESOLVE_PRODUCTS, products)
        prices = (await self.saga.step(steps.RESOLVE_PRICES, products)).prices
        self.saga.set_stage(Stage.CREDIT_CHECK)
        erp_customer = await self.upsert_customer(customer)
        await self.credit.check(deal, erp_customer, self.policy)  # 3. over the limit: a hold
        self.saga.set_stage(Stage.ORDERING)
        order = await self.create_order(deal, erp_customer, erp)
        await self.write_back(order, erp_customer)
        tier = highest_tier([erp.tiers[line.sku] for line in deal.lines if line.sku in erp.tiers])
        start, end = contract_term(deal, workflow.now().date())
        self.provision_input = Provision(
            customer=customer, tier=tier, start=start, end=end, erp_customer_id=erp_customer
        )
        if self.policy.entitlement_gate is EntitlementGate.ON_ORDER:
            await self.provision()
        self.saga.set_stage(Stage.INVOICING)
        await self.invoice(deal, order, erp, customer, prices)
        if self.policy.entitlement_gate is EntitlementGate.ON_INVOICE:
            await self.provision()
        await self.milestones(customer)
        if contracts and self.provision_input.end is not None and workflow.patched(patches.CONTRACT_ENTITY):
            ids, wid, correlation = self.state.external_ids, self.state.workflow_id, self.input.correlation_id
            sale = sale_of(self.input.crm, wid, correlation, deal, ids, self.provision_input, prices)
            ids["contract"] = await open_contract(sale, self.input)  # it lives on after this saga

    # 1. fetch the deal and validate it; an operator's `retry` after fixing the data reads it again
    async def fetch_and_validate(self) -> tuple[Deal, Customer]:
        self.saga.set_stage(Stage.VALIDATING)
        while True:
            deal = (await self.saga.step(steps.FETCH_DEAL, FetchDeal(deal_id=self.input.deal_id))).deal
            self.validate(deal)
            assert deal.company is not None
            customer = deal.company
            self.state.customer_id, self.state.amount = customer.id, deal.amount
            self.policy = self.input.policy_for(self.input.region or customer.region)
            self.saga.set_stage(Stage.VALIDATING)  # again: Q2CCustomer and Q2CAmount are searchable from here on
            missing = [f for f in self.policy.required_tax_fields if getattr(customer, f, None) in (None, "")]
            if not missing or not workflow.patched(patches.WORKBENCH):
                return deal, customer
            self.problems = [FieldProblem(field=f"company.{f}", problem="required in its region") for f in missing]
            error = SagaError(
                step="validate",
                type="MISSING_TAX_REGISTRATION",
                system=self.input.crm,
                message=f"company {customer.id} ({customer.region}) lacks {', '.join(missing)}, "
                "which its region requires; fix it in the CRM, then signal retry",
            )
            if await self.saga.workbench.park(steps.MISSING_TAX_REGISTRATION, "validate", error) == "compensate":
                self.saga.check_cancel()
                raise SagaStopped(Stage.FAILED, error)

    def validate(self, deal: Deal) -> None:
        self.problems = [FieldProblem(field=field, problem=problem) for field, problem in field_problems(deal)]
        if problems := deal_problems(deal):
            error = SagaError(step="validate", type="InvalidDeal", system=self.input.crm, message="; ".join(problems))
            raise SagaStopped(Stage.FAILED, error)

    # 2. the ERP customer, by external id (master data: not undone)
    async def upsert_customer(self, customer: Customer) -> str:
        return (await self.saga.step(steps.UPSERT_CUSTOMER, UpsertCustomer(customer=customer))).erp_customer_id

    # 4. the sales order [closed or cancelled]
    async def create_order(self, deal: Deal, erp_customer: str, erp: ErpProducts) -> OrderCreated:
        order = await self.saga.step(
            steps.CREATE_ORDER,
            CreateOrder(erp_customer_id=erp_customer, deal=deal, erp_items=erp.erp_items),
            undo=steps.CLOSE_ORDER.using(lambda order, why: CloseOrder(order_id=order.order_id, reason=why)),
        )
        self.state.external_ids["erp_order_number"] = order.order_number
        kpis.milestone("order_accepted")
        return order

    # 5. the order number on the deal [the deal's order marked cancelled]
    async def write_back(self, order: OrderCreated, erp_customer: str) -> None:
        await self.saga.step(
            steps.WRITE_BACK_ORDER,
            self.deal_update(
                DealMilestones(
                    order_number=order.order_number,
                    erp_customer=erp_customer,
                    status="order_accepted",
                    saga_id=self.state.workflow_id,
                )
            ),
            undo=steps.UNMARK_ORDER.using(
                lambda _, why: self.deal_update(DealMilestones(status="order_cancelled", status_reason=why))
            ),
        )

    # 6. one-time lines invoiced in the ERP [credit memo], recurring ones subscribed in billing [cancelled]
    async def invoice(
        self, deal: Deal, order: OrderCreated, erp: ErpProducts, customer: Customer, prices: dict[str, str]
    ) -> None:
        one_time = deal.lines_by(recurring=False)
        if one_time:
            invoiced = await self.saga.step(
                steps.INVOICE_ERP,
                InvoiceOrder(order_id=order.order_id, item_ids=[erp.erp_items[line.sku] for line in one_time]),
                undo=steps.CREDIT_ERP_INVOICE.using(lambda o, why: CreditInvoice(invoice_id=o.invoice.id, reason=why)),
            )
            self.state.invoices[invoiced.invoice.id] = InvoiceState(system="erp", updated_at=workflow.now())
        recurring = deal.lines_by(recurring=True)
        for frequency in (BillingFrequency.MONTHLY, BillingFrequency.ANNUALLY):
            lines = [line for line in recurring if line.frequency is frequency]
            if lines:
                await self.subscribe(
                    frequency.value, customer, {prices[line.sku]: int(line.quantity) for line in lines}
                )
        kpis.milestone("invoice_posted")
        posted = DealMilestones(status="invoiced", invoice="posted")
        await self.saga.step(steps.MILESTONE_INVOICED, self.deal_update(posted))

    async def subscribe(self, frequency: str, customer: Customer, items: dict[str, int]) -> None:
        def cancel(subscribed: Any, why: str) -> CancelSubscription:
            invoice_id = subscribed.invoice.id if subscribed.invoice else None
            return CancelSubscription(subscription_id=subscribed.subscription_id, invoice_id=invoice_id, reason=why)

        term_start = self.billed_from()
        subscribed = await self.saga.step(
            steps.SUBSCRIBE.named(f"subscribe_{frequency}"),
            Subscribe(customer=customer, deal_id=self.input.deal_id, items=items, term_start=term_start),
            undo=steps.CANCEL_SUBSCRIPTION.named(f"cancel_subscription_{frequency}").using(cancel),
        )
        self.state.external_ids["billing_customer"] = subscribed.billing_customer_id
        if subscribed.invoice:
            invoice_id = subscribed.invoice.id
            await self.saga.step(
                steps.FINALIZE_INVOICE.named(f"finalize_invoice_{frequency}"), InvoiceRef(invoice_id=invoice_id)
            )
            self.state.invoices[invoice_id] = InvoiceState(system="billing", updated_at=workflow.now())

    def billed_from(self) -> date | None:
        """The term's first day when it comes after today: billing starts then, nothing is charged before (the
        contract's term is the truth, so a renewal's new prices and an ending follow it). A term starting today
        or earlier is billed from now, as before."""
        start = self.provision_input.start if self.provision_input else None
        if start is None or start <= workflow.now().date() or not workflow.patched(patches.BILLED_FROM_TERM_START):
            return None
        self.billed_later = True
        return start

    # 7. the entitlement, gated by policy [revoked]
    async def provision(self) -> None:
        provision = self.provision_input
        assert provision is not None
        self.saga.set_stage(Stage.PROVISIONING)
        await self.saga.step(
            steps.PROVISION,
            provision,
            undo=steps.REVOKE.using(lambda _, why: Revoke(customer=provision.customer, reason=why)),
        )
        kpis.milestone("entitled")
        kpis.entitled(workflow.now() - workflow.info().start_time)

    # 8. milestones to CRM and support; payment followed where the region says so
    async def milestones(self, customer: Customer) -> None:
        invoiced = SupportMilestone(customer=customer, fields={"invoice_status": "posted"})
        await self.saga.step(steps.MILESTONE_SUPPORT, invoiced)
        if self.policy.payment_deadline is not None and self.state.invoices:
            await self.collection.collect(customer, self.policy)
        elif self.billed_later and self.policy.entitlement_gate is EntitlementGate.ON_PAYMENT:
            await self.provision()  # nothing is due before the term: its first invoice comes on its first day
        await self.collection.apply_billing_events(customer)
        entitled = "active" if self.state.step("provision_entitlement") else "pending_payment"
        await self.saga.step(
            steps.MILESTONE_ENTITLED, self.deal_update(DealMilestones(status="completed", entitlement=entitled))
        )
        if self.collection.inbox:  # events that came in during the last steps
            await self.collection.apply_billing_events(customer)

    def deal_update(self, milestones: DealMilestones) -> UpdateDeal:
        return UpdateDeal(deal_id=self.input.deal_id, milestones=milestones)
