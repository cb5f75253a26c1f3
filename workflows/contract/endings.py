"""The contract's endings and new terms, as steps of the ContractAmendment saga: a renewal (its order, its
prices from the new term's start, support extended) and a cancellation (at term end, or now, with the region's
refund rule: billing credits the unused time and the ERP records the same credit, to the minor unit)."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from temporalio import workflow

from workflows import patches
from workflows.contract import steps
from workflows.contract.terms import add_years, owes_customer, sku_of
from workflows.kit import Saga, SagaStopped

with workflow.unsafe.imports_passed_through():
    from models.amendments import (
        AmendmentInput,
        Cancellation,
        CancelNow,
        ChangeOrder,
        ChangeOrderCreated,
        EndOfTerm,
        ItemChange,
        ReadSubscription,
        RenewalPrices,
    )
    from models.contract import Contract, ContractLine, ContractState
    from models.money import Money
    from models.proration import prorated_minor
    from models.saga import SagaError, Stage
    from models.steps import CancelSubscription, CloseOrder, OrganizationFields, ResolveProducts


class Endings:
    """Mixed into ContractAmendment, which sets these and runs the steps through its saga."""

    input: AmendmentInput
    contract: Contract
    saga: Saga
    order: ChangeOrderCreated | None
    billed: Money | None

    if TYPE_CHECKING:

        async def link_items(self) -> None: ...

        async def support(self, fields: dict[str, str | None], before: dict[str, str | None]) -> None: ...

        async def milestone(self) -> None: ...

    # ---- renewal: a new term, its order, its prices from the term's start, support extended ----
    async def renew(self) -> None:
        await self.link_items()
        contract, uplift = self.contract, 1 + self.input.policy.uplift
        start = contract.term_end + timedelta(days=1)
        end = add_years(start, 1) - timedelta(days=1)
        skus = sorted({line.sku for line in contract.lines})
        resolve = ResolveProducts(skus=skus, currency=contract.currency, recurring_skus=skus)
        erp = await self.saga.step(steps.RESOLVE_PRODUCTS, resolve)
        priced = [
            line.model_copy(update={"unit_price": (line.unit_price * uplift).rounded()}) for line in contract.lines
        ]
        order = await self.saga.step(
            steps.RENEWAL_ORDER,
            ChangeOrder(
                erp_customer_id=contract.erp_customer_id,
                order_date=start,
                currency=contract.currency,
                lines=[line for line in priced if line.quantity],
                erp_items=erp.erp_items,
            ),
            undo=steps.CANCEL_CHANGE_ORDER.using(lambda o, why: CloseOrder(order_id=o.order_id, reason=why)),
        )
        self.order = order
        for subscription in sorted({line.subscription_id for line in priced if line.subscription_id}):
            read = ReadSubscription(subscription_id=subscription)
            detail = (await self.saga.step(steps.READ_SUBSCRIPTION.named(f"read_{subscription}"), read)).subscription
            mine = [line for line in priced if line.subscription_id == subscription]
            items = [
                ItemChange(item_id=line.item_id, price_id=line.price_id or "", quantity=line.quantity) for line in mine
            ]
            amounts = {line.price_id or "": line.unit_price for line in mine}
            prices = RenewalPrices(
                subscription_id=subscription, start=detail.period.end, items=items, unit_amounts=amounts
            )
            await self.saga.step(steps.RENEWAL_PRICES.named(f"renewal_prices_{subscription}"), prices)
        await self.support({"contract_end": end.isoformat()}, {"contract_end": contract.term_end.isoformat()})
        self.contract = contract.model_copy(
            update={"term_start": start, "term_end": end, "terms": contract.terms + 1, "lines": priced}
        )
        self.contract.add_erp_order(order.order_id, order.return_order)
        self.contract.support_end, self.contract.state = end, ContractState.ACTIVE
        await self.milestone()

    # ---- cancellation: at term end (billing cancels at period end) or now (service ends today) ----
    async def cancel(self) -> None:
        request, contract = self.input.cancel, self.contract
        assert request is not None
        subscriptions = sorted({line.subscription_id for line in contract.lines if line.subscription_id})
        if request.at == "term_end":
            for subscription in subscriptions:
                end = EndOfTerm(subscription_id=subscription)
                await self.saga.step(steps.END_AT_PERIOD_END.named(f"end_at_period_end_{subscription}"), end)
            self.contract.state, self.contract.ends_on = ContractState.ENDING, contract.term_end
            return
        today = self.input.at.date()
        ended = contract.state is ContractState.ENDING and today > contract.term_end
        if not ended and self.input.policy.cancel_refund and workflow.patched(patches.CONTRACT_CANCEL_REFUND):
            await self.cancel_with_credit(subscriptions, request.reason)
        else:
            for subscription in subscriptions:
                stop = CancelSubscription(subscription_id=subscription, invoice_id=None, reason=request.reason)
                await self.saga.step(steps.CANCEL_NOW.named(f"cancel_{subscription}"), stop)
        last_day = contract.term_end if ended else today  # an ending term's last day; a cancel now's today
        fields: dict[str, str | None] = {"entitlement_status": "revoked", "contract_end": last_day.isoformat()}
        await self.saga.step(steps.END_SERVICE, OrganizationFields(external_id=contract.customer.id, fields=fields))
        self.contract.state = ContractState.ENDED if ended else ContractState.CANCELLED
        self.contract.ends_on = self.contract.support_end = last_day

    async def cancel_with_credit(self, subscriptions: list[str], reason: str) -> None:
        """The region's refund rule: billing cancels now and credits each item's unused time from the second it
        cancelled; the ERP records the same credit (the change-order step, which records a negative change as a
        return order), one line per SKU, priced by the rule of models/proration.py over the period and second
        billing reports. They must agree to the minor unit."""
        contract = self.contract
        skus = sorted({line.sku for line in contract.lines})
        resolve = ResolveProducts(skus=skus, currency=contract.currency, recurring_skus=skus)
        erp = await self.saga.step(steps.RESOLVE_PRODUCTS, resolve)  # before billing: a missing mapping parks first
        self.billed = Money.zero(contract.currency)
        lines: list[ContractLine] = []
        mismatched: list[str] = []
        for subscription in subscriptions:
            stop = CancelNow(subscription_id=subscription, refund=True, reason=reason)
            step = steps.CANCEL_WITH_CREDIT.named(f"cancel_with_credit_{subscription}")
            cancellation = (await self.saga.step(step, stop)).cancellation
            self.billed = self.billed + cancellation.credit
            made, off = credit_lines(cancellation, contract)
            lines, mismatched = lines + made, mismatched + off
        if mismatched:
            error = SagaError(
                step=steps.CREDIT_ORDER.name,
                type="ProrationMismatch",
                message="billing's credit is not the rule's figure for " + "; ".join(mismatched),
            )
            raise SagaStopped(Stage.COMPENSATED, error)
        if not lines:
            return
        order = await self.saga.step(
            steps.CREDIT_ORDER,
            ChangeOrder(
                erp_customer_id=contract.erp_customer_id,
                order_date=self.input.at.date(),
                currency=contract.currency,
                lines=lines,
                erp_items=erp.erp_items,
                return_order_if_owed=owes_customer(lines) and workflow.patched(patches.ERP_RETURN_ORDER),
            ),
        )  # no undo: billing's cancellation and credit cannot be taken back, so the ERP's credit stands with them
        self.order = order
        self.contract.add_erp_order(order.order_id, order.return_order)


def credit_lines(cancellation: Cancellation, contract: Contract) -> tuple[list[ContractLine], list[str]]:
    """The ERP credit's lines (quantity 1 at minus the unused time, by the rule) and the items whose billing
    credit differs from the rule's figure by so much as a minor unit."""
    detail = cancellation.subscription
    lines: list[ContractLine] = []
    mismatched: list[str] = []
    for item in detail.items:
        unit = item.unit_amount
        owed = Money.from_minor_units(
            -prorated_minor(unit.to_minor_units(), item.quantity, detail.period, cancellation.at), unit.currency
        )
        credited = cancellation.credits.get(item.item_id, Money.zero(unit.currency))
        if credited != owed:
            mismatched.append(f"{item.quantity} x {sku_of(item, contract)}: billed {credited}, rule {owed}")
        if owed.amount:
            sku = sku_of(item, contract)
            lines.append(ContractLine(sku=sku, quantity=1, unit_price=owed, frequency=item.frequency))
    return lines, mismatched
