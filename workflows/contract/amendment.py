"""ContractAmendment: one change to a customer's contract as a saga on the kit, started by the contract entity.

Amend (expansion, contraction, co-termed: billing prorates to its period end and the ERP change order is priced
by the same rule), renew (a new term: its order, its prices from the term's start, support extended) or
cancel. Compensation undoes this change only, never the sale before it.
"""

from __future__ import annotations

from temporalio import workflow

from workflows import patches
from workflows.contract import steps
from workflows.contract.endings import Endings
from workflows.contract.terms import (
    erp_lines,
    highest_tier,
    item_changes,
    new_skus,
    owes_customer,
    sku_of,
    target_quantities,
)
from workflows.kit import Call, Config, Saga, SagaStopped

with workflow.unsafe.imports_passed_through():
    from models.amendments import (
        AmendmentInput,
        AmendmentResult,
        BilledItem,
        ChangeItems,
        ChangeOrder,
        ChangeOrderCreated,
        ItemChange,
        ReadSubscription,
    )
    from models.catalog import BillingFrequency
    from models.contract import AMENDMENT_WORKFLOW, ContractLine
    from models.crm import DealMilestones
    from models.deal import DealKind, DealLine
    from models.money import Money
    from models.proration import unix
    from models.saga import OperatorDecision, SagaError, SagaStatus, Stage
    from models.steps import (
        CloseOrder,
        CreditInvoice,
        InvoiceOrder,
        OrganizationFields,
        ResolveProducts,
        UpdateDeal,
    )


@workflow.defn(name=AMENDMENT_WORKFLOW)
class ContractAmendment(Endings):
    @workflow.init
    def __init__(self, change: AmendmentInput) -> None:
        self.input, self.contract = change, change.contract.model_copy(deep=True)
        request = change.request
        self.state = SagaStatus(
            workflow_id=workflow.info().workflow_id,
            deal_id=request.deal.id if request else "",
            crm=change.contract.crm,
            correlation_id=request.correlation_id if request else workflow.info().workflow_id,
        )
        self.saga = Saga(
            self.state,
            Config(
                correlation_id=self.state.correlation_id,
                queues={steps.ERP: change.erp_task_queue or f"{workflow.info().task_queue}-erp"},
                fixable=steps.FIXABLE,
                outcome=self.outcome if request else None,
            ),
        )
        self.billed: Money | None = None
        self.order: ChangeOrderCreated | None = None  # the ERP order this change made

    @workflow.query(name="status")
    def status(self) -> SagaStatus:
        return self.state

    @workflow.signal(name="retry")
    def retry(self, decision: OperatorDecision) -> None:
        self.saga.workbench.resolve("retry", decision)

    @workflow.signal(name="compensate")
    def compensate_now(self, decision: OperatorDecision) -> None:
        self.saga.workbench.resolve("compensate", decision)

    @workflow.run
    async def run(self, change: AmendmentInput) -> AmendmentResult:
        body = {"amend": self.amend, "renew": self.renew, "cancel": self.cancel}[change.action]
        stage = await self.saga.run(body)
        done = stage is Stage.COMPLETED
        return AmendmentResult(
            workflow_id=self.state.workflow_id,
            stage=stage.value,
            contract=self.contract if done else None,
            billing_amount=self.billed,
            erp_amount=self.order.total if self.order else None,
            erp_order_id=self.order.order_id if self.order and not self.order.return_order else None,
            erp_return_order_id=self.order.order_id if self.order and self.order.return_order else None,
            error=self.state.error.message if self.state.error else None,
        )

    # ---- expansion and contraction, co-termed ----
    async def link_items(self) -> None:
        """Lines handed over without their billing item ids get them, by price, from the subscription."""
        unlinked = {line.subscription_id for line in self.contract.lines if line.subscription_id and not line.item_id}
        for subscription in sorted(s for s in unlinked if s):
            read = ReadSubscription(subscription_id=subscription)
            detail = (await self.saga.step(steps.READ_SUBSCRIPTION.named(f"link_{subscription}"), read)).subscription
            items = {i.price_id: i.item_id for i in detail.items}
            for line in self.contract.lines:
                if line.subscription_id == subscription and not line.item_id:
                    line.item_id = items.get(line.price_id or "")

    async def amend(self) -> None:
        await self.link_items()
        request, contract, policy = self.input.request, self.contract, self.input.policy
        assert request is not None
        deal, at = request.deal, unix(self.input.at)
        skus = sorted({line.sku for line in deal.lines} | {line.sku for line in contract.lines})
        recurring = [line.sku for line in deal.lines_by(recurring=True)]
        resolve = ResolveProducts(skus=skus, currency=contract.currency, recurring_skus=recurring)
        erp = await self.saga.step(steps.RESOLVE_PRODUCTS, resolve)
        new = ResolveProducts(skus=new_skus(contract, deal), currency=contract.currency, recurring_skus=[])
        new.recurring_skus = new.skus
        prices = (await self.saga.step(steps.RESOLVE_PRICES, new)).prices if new.skus else {}
        expansion = deal.kind is DealKind.EXPANSION
        proration = (
            policy.expansion_proration if expansion else "always_invoice" if policy.contraction_refund else "none"
        )
        self.billed, lines = Money.zero(contract.currency), []
        for subscription, changes in item_changes(contract, deal, target_quantities(contract, deal), prices).items():
            read = ReadSubscription(subscription_id=subscription)
            before = (await self.saga.step(steps.READ_SUBSCRIPTION.named(f"read_{subscription}"), read)).subscription
            was = {i.item_id: i.quantity for i in before.items}

            def revert(
                output: object,
                _: str,
                sub: str = subscription,
                wanted: list[ItemChange] = changes,
                was: dict[str, int] = was,
            ) -> ChangeItems:
                made = output.changed.item_ids if output is not None else {}  # type: ignore[attr-defined]
                back = [
                    ItemChange(
                        item_id=c.item_id or made.get(c.price_id),
                        price_id=c.price_id,
                        quantity=was.get(c.item_id or "", 0),
                    )
                    for c in wanted
                    if c.item_id or c.price_id in made
                ]
                undo = "none" if proration == "none" else "always_invoice"
                return ChangeItems(subscription_id=sub, changes=back, proration=undo, proration_date=at)

            changed = await self.saga.step(
                steps.CHANGE_ITEMS.named(f"change_items_{subscription}"),
                ChangeItems(subscription_id=subscription, changes=changes, proration=proration, proration_date=at),
                undo=steps.REVERT_ITEMS.named(f"revert_items_{subscription}").using(revert),
            )
            self.billed = self.billed + changed.changed.proration_total
            if proration != "none":
                lines += erp_lines(before, changed.changed.subscription, at, contract)[0]
            self.take_items(changed.changed.subscription.items, subscription)
        await self.change_order(lines, deal.lines_by(recurring=False), erp.erp_items)
        tier = highest_tier([erp.tiers[line.sku] for line in self.contract.lines if line.sku in erp.tiers])
        await self.support({"service_tier": tier}, {"service_tier": contract.tier})
        self.contract.tier = tier
        await self.milestone()

    def take_items(self, items: list[BilledItem], subscription: str) -> None:
        """The contract's lines as billing now holds them (quantities, item and price ids, unit prices)."""
        kept = [line for line in self.contract.lines if line.subscription_id != subscription]
        for item in items:
            sku = sku_of(item, self.contract)
            kept.append(
                ContractLine(
                    sku=sku,
                    quantity=item.quantity,
                    unit_price=item.unit_amount,
                    frequency=item.frequency,
                    subscription_id=subscription,
                    item_id=item.item_id,
                    price_id=item.price_id,
                )
            )
        self.contract.lines = sorted(kept, key=lambda line: line.sku)

    async def change_order(
        self, prorated: list[ContractLine], one_time: list[DealLine], erp_items: dict[str, str]
    ) -> None:
        """The ERP's change order: prorated recurring lines, and one-time lines invoiced at once."""
        whole = [
            ContractLine(
                sku=x.sku, quantity=int(x.quantity), unit_price=x.unit_price, frequency=BillingFrequency.ONE_TIME
            )
            for x in one_time
        ]
        lines = [line for line in prorated if line.unit_price.amount != 0] + whole
        if not lines:
            return
        if self.billed is not None and prorated:
            erp_total = sum(
                (line.unit_price.amount for line in prorated), start=Money.zero(self.contract.currency).amount
            )
            if erp_total != self.billed.amount:
                error = SagaError(
                    step="change_order",
                    type="ProrationMismatch",
                    message=f"billing prorated {self.billed} but the ERP order would be {erp_total}",
                )
                raise SagaStopped(Stage.COMPENSATED, error)
        order = await self.saga.step(
            steps.CHANGE_ORDER,
            ChangeOrder(
                erp_customer_id=self.contract.erp_customer_id,
                order_date=self.input.at.date(),
                currency=self.contract.currency,
                lines=lines,
                erp_items=erp_items,
                return_order_if_owed=owes_customer(lines) and workflow.patched(patches.ERP_RETURN_ORDER),
            ),
            undo=steps.CANCEL_CHANGE_ORDER.using(
                lambda o, why: CloseOrder(order_id=o.order_id, reason=why, return_order=o.return_order)
            ),
        )
        self.order = order
        self.contract.add_erp_order(order.order_id, order.return_order)
        if whole and not order.return_order:  # a return never holds one-time lines (the activity refuses them)
            await self.saga.step(
                steps.INVOICE_CHANGE,
                InvoiceOrder(order_id=order.order_id, item_ids=[erp_items[line.sku] for line in whole]),
                undo=steps.CREDIT_CHANGE.using(lambda o, why: CreditInvoice(invoice_id=o.invoice.id, reason=why)),
            )

    async def support(self, fields: dict[str, str | None], before: dict[str, str | None]) -> None:
        customer = self.contract.customer.id
        await self.saga.step(
            steps.UPDATE_SUPPORT,
            OrganizationFields(external_id=customer, fields=fields),
            undo=steps.RESTORE_SUPPORT.using(lambda _, __: OrganizationFields(external_id=customer, fields=before)),
        )

    async def milestone(self) -> None:
        if self.input.request is None:
            return
        # the order's number, as the sale writes it (the CRM shows what the ERP's users see, not its internal id)
        order = self.order.order_number if self.order else None
        milestones = DealMilestones(status="completed", saga_id=self.state.workflow_id, order_number=order)
        await self.saga.step(
            steps.MILESTONE,
            UpdateDeal(deal_id=self.input.request.deal.id, milestones=milestones, crm=self.contract.crm),
        )

    def outcome(self, stage: Stage, why: str) -> Call:
        assert self.input.request is not None
        milestones = DealMilestones(status=stage.value, status_reason=why[:1000])
        return steps.NOTE_OUTCOME(
            UpdateDeal(deal_id=self.input.request.deal.id, milestones=milestones, crm=self.contract.crm)
        )
