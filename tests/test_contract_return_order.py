"""A change that owes the customer is a return order in the ERP, not a sales order with a negative total.

NetSuite refuses a transaction whose total is negative ("The total cannot be negative"; docs/conformance/
netsuite.md), so `contract.create_change_order` writes a change whose total is below zero (a cancellation's
unused time, a refunded contraction) as a return authorization, which posts nothing as a sales order posts
nothing, and `erp.close_sales_order` undoes it by cancelling the return. The same activities and step names as
before, and one input field more, which only a saga on today's code sets: histories recorded earlier replay.
"""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal

import pytest
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.contract import ContractActivities
from activities.erp import ErpActivities
from connectors.errors import BusinessRuleError
from models.amendments import ChangeOrder
from models.catalog import BillingFrequency
from models.contract import Contract, ContractInput, ContractLine, ContractPolicy
from models.deal import DealKind
from models.money import Money
from models.orders import OrderStatus
from models.steps import CloseOrder
from tests.ports.conftest import new_customer
from tests.test_contract import change_deal, first_sale, history_until, open_contract, settled
from tests.test_contract import env as env  # a server per test
from tests.test_contract_queue import keep


async def change(adapters, amounts: dict[str, str], one_time: dict[str, str] | None = None) -> ChangeOrder:
    customer_id = await adapters.erp.upsert_customer(new_customer())
    items = (await adapters.erp.resolve_catalog(sorted({*amounts, *(one_time or {})}))).items
    lines = [
        ContractLine(
            sku=sku,
            quantity=1,
            unit_price=Money(amount=Decimal(amount), currency="USD"),
            frequency=BillingFrequency.ANNUALLY,
        )
        for sku, amount in sorted(amounts.items())
    ] + [
        ContractLine(
            sku=sku,
            quantity=1,
            unit_price=Money(amount=Decimal(a), currency="USD"),
            frequency=BillingFrequency.ONE_TIME,
        )
        for sku, a in sorted((one_time or {}).items())
    ]
    return ChangeOrder(
        idempotency_key=f"q2c-contract-test-{uuid.uuid4().hex[:8]}-change-2:credit_order",
        erp_customer_id=customer_id,
        order_date=date(2032, 6, 17),
        currency="USD",
        lines=lines,
        erp_items=items,
        return_order_if_owed=True,
    )


async def test_a_negative_change_is_a_return_order_once_per_key_and_its_undo_cancels_it(sim, adapters):
    contract, run = ContractActivities(adapters.erp, adapters.billing), ActivityEnvironment().run
    step = await change(adapters, {"PLAT-PRO": "-24657.53", "API-ADDON": "-4109.59"})
    made = await run(contract.create_change_order, step)
    assert made.return_order and made.total == Money(amount=Decimal("-28767.12"), currency="USD")
    assert (await run(contract.create_change_order, step)).order_id == made.order_id  # a retry: the same return
    returned = sim.store.get("netsuite", "returnAuthorization", made.order_id)
    assert Decimal(returned["total"]) == Decimal("28767.12") and returned["tranId"] == made.order_number
    assert not sim.store.find("netsuite", "salesOrder", "externalId", step.idempotency_key)
    undo = CloseOrder(order_id=made.order_id, reason="amendment compensated", return_order=True)
    erp = ErpActivities(adapters.erp)
    assert (await run(erp.close_sales_order, undo)).result == "cancelled"
    assert (await run(erp.close_sales_order, undo)).result == "cancelled"  # a retried undo: already cancelled
    assert sim.store.get("netsuite", "returnAuthorization", made.order_id)["orderStatus"]["refName"] == "Cancelled"


async def test_a_change_that_owes_and_charges_a_one_time_line_is_refused_before_the_erp(sim, adapters):
    """The ERP bills one-time lines by invoicing an order; a return is never invoiced, so netting one in would
    leave it billed nowhere."""
    contract = ContractActivities(adapters.erp, adapters.billing)
    step = await change(adapters, {"PLAT-PRO": "-1000.00"}, one_time={"IMPL-STD": "250.00"})
    with pytest.raises(ApplicationError, match="also charges one-time lines") as refused:
        await ActivityEnvironment().run(contract.create_change_order, step)
    assert refused.value.non_retryable and "IMPL-STD" in str(refused.value)
    assert not sim.store.find("netsuite", "returnAuthorization", "externalId", step.idempotency_key)


async def test_a_return_in_progress_is_closed_and_a_refunded_one_is_left_for_a_person(sim, adapters):
    """NetSuite's letters decide: Pending Refund (F) can no longer be cancelled, so the undo closes it (H);
    Refunded (G) means the money went back, which the undo must not paper over."""
    contract, erp = ContractActivities(adapters.erp, adapters.billing), adapters.erp
    made = await ActivityEnvironment().run(contract.create_change_order, await change(adapters, {"PLAT-PRO": "-5.00"}))
    record = sim.store.get("netsuite", "returnAuthorization", made.order_id)
    sim.store.put("netsuite", "returnAuthorization", made.order_id, record | {"orderStatus": {"id": "F"}})
    assert (await erp.cancel_return_order(made.order_id, "undo")).status is OrderStatus.CLOSED
    record = sim.store.get("netsuite", "returnAuthorization", made.order_id)
    sim.store.put("netsuite", "returnAuthorization", made.order_id, record | {"orderStatus": {"id": "G"}})
    with pytest.raises(BusinessRuleError, match="refunded") as refused:
        await erp.cancel_return_order(made.order_id, "undo")
    assert refused.value.code == "RETURN_REFUNDED"


async def test_a_saga_on_older_code_gets_an_order_as_it_expects_and_the_erp_refuses_it(sim, adapters):
    """A saga recorded before return orders does not ask for one: it would take the return for a sales order."""
    contract = ContractActivities(adapters.erp, adapters.billing)
    step = (await change(adapters, {"PLAT-PRO": "-10.00"})).model_copy(update={"return_order_if_owed": False})
    with pytest.raises(ApplicationError, match="total cannot be negative"):
        await ActivityEnvironment().run(contract.create_change_order, step)
    assert not sim.store.find("netsuite", "returnAuthorization", "externalId", step.idempotency_key)


async def test_a_change_that_still_charges_is_an_order_even_with_a_credited_line(sim, adapters):
    contract = ContractActivities(adapters.erp, adapters.billing)
    step = await change(adapters, {"PLAT-PRO": "1200.00", "API-ADDON": "-200.00"})
    made = await ActivityEnvironment().run(contract.create_change_order, step)
    assert not made.return_order and made.total == Money(amount=Decimal("1000.00"), currency="USD")
    assert sim.store.get("netsuite", "salesOrder", made.order_id)["externalId"] == step.idempotency_key


async def test_a_refunded_contraction_is_a_return_order_for_what_billing_credits(sagas, adapters):
    sale = await first_sale(sagas, adapters, ["PLAT-PRO"], {"PLAT-PRO": "2"})
    handle = await open_contract(sagas, sale, ContractInput(sale=sale, policy=ContractPolicy(contraction_refund=True)))
    contraction = await change_deal(sagas, adapters, DealKind.CONTRACTION, "PLAT-PRO", "1")
    await handle.signal("change", contraction)
    record = (await history_until(handle, settled(2)))[-1]
    assert record.outcome == "applied", record
    assert record.billing_amount is not None and record.billing_amount.amount < 0
    assert record.erp_amount == record.billing_amount and record.erp_return_order_id and not record.erp_order_id
    returned = sagas.sim.store.get("netsuite", "returnAuthorization", record.erp_return_order_id)
    assert Decimal(str(returned["total"])) == -record.billing_amount.amount  # NetSuite keeps no order below zero
    contract = await handle.query("contract", result_type=Contract)
    assert contract.line("PLAT-PRO").quantity == 1 and contract.erp_return_orders == [record.erp_return_order_id]
    await keep(sagas.client.get_workflow_handle(record.saga_id), "contraction_refund_return_order")


async def test_a_refunded_contraction_undone_after_its_return_order_cancels_the_return(sagas, adapters):
    sim = sagas.sim
    sale = await first_sale(sagas, adapters, ["PLAT-PRO"], {"PLAT-PRO": "2"})
    handle = await open_contract(sagas, sale, ContractInput(sale=sale, policy=ContractPolicy(contraction_refund=True)))
    contraction = await change_deal(sagas, adapters, DealKind.CONTRACTION, "PLAT-PRO", "1")
    sim.fault(  # the support step after the ERP's credit: refused, so the amendment compensates
        system="zendesk",
        kind="business",
        method="POST",
        path="/api/v2/organizations/create_or_update*",
        match="service_tier",
        code="RecordInvalid",
        message="refused",
        count=1,
    )
    await handle.signal("change", contraction)
    record = (await history_until(handle, settled(2)))[-1]
    assert record.outcome == "compensated" and "refused" in record.detail, record
    history = await sagas.client.get_workflow_handle(record.saga_id).fetch_history()
    undone = [
        e.activity_task_scheduled_event_attributes.activity_type.name
        for e in history.events
        if e.HasField("activity_task_scheduled_event_attributes")
    ]
    assert "contract.create_change_order" in undone and "erp.close_sales_order" in undone
    assert record.erp_amount is not None and record.erp_amount.amount < 0 and record.erp_return_order_id
    returned = sim.store.get("netsuite", "returnAuthorization", record.erp_return_order_id)
    assert returned["orderStatus"]["refName"] == "Cancelled"  # made, then cancelled by the undo
    contract = await handle.query("contract", result_type=Contract)
    assert contract.line("PLAT-PRO").quantity == 2 and contract.erp_return_orders == []
    await keep(sagas.client.get_workflow_handle(record.saga_id), "contraction_refund_return_order_undone")


async def test_a_partially_fulfilled_sales_order_is_read_and_closed_by_the_same_letters(sim, adapters):
    """Orders and returns share NetSuite's `orderStatus` letters: Partially Fulfilled (D) is read, not a KeyError,
    and the undo closes it (H), since an order with something fulfilled can no longer be cancelled."""
    contract = ContractActivities(adapters.erp, adapters.billing)
    made = await ActivityEnvironment().run(contract.create_change_order, await change(adapters, {"PLAT-PRO": "5.00"}))
    record = sim.store.get("netsuite", "salesOrder", made.order_id)
    sim.store.put("netsuite", "salesOrder", made.order_id, record | {"orderStatus": {"id": "D"}})
    assert (await adapters.erp.get_sales_order(made.order_id)).status is OrderStatus.PENDING_FULFILLMENT
    assert (await adapters.erp.close_sales_order(made.order_id, "undo")).status is OrderStatus.CLOSED
