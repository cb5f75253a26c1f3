"""A change that owes the customer is a credit memo in the ERP, not an order with a negative total.

NetSuite refuses a transaction whose total is negative ("The total cannot be negative"; docs/conformance/
netsuite.md), so `contract.create_change_order` writes a change whose total is below zero (a cancellation's
unused time, a refunded contraction) as a credit memo of its own, and `erp.close_sales_order` undoes it by
deleting the memo. The same activities, names and inputs as before: histories recorded earlier replay.
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
from models.amendments import ChangeOrder
from models.catalog import BillingFrequency
from models.contract import Contract, ContractInput, ContractLine, ContractPolicy
from models.deal import DealKind
from models.money import Money
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
        credit_memo_if_owed=True,
    )


async def test_a_negative_change_is_a_credit_memo_once_per_key_and_its_undo_deletes_it(sim, adapters):
    contract, run = ContractActivities(adapters.erp, adapters.billing), ActivityEnvironment().run
    step = await change(adapters, {"PLAT-PRO": "-24657.53", "API-ADDON": "-4109.59"})
    made = await run(contract.create_change_order, step)
    assert made.credit_memo and made.total == Money(amount=Decimal("-28767.12"), currency="USD")
    assert (await run(contract.create_change_order, step)).order_id == made.order_id  # a retry: the same memo
    memo = sim.store.get("netsuite", "creditMemo", made.order_id)
    assert Decimal(memo["total"]) == Decimal("28767.12") and memo["tranId"] == made.order_number
    assert not sim.store.find("netsuite", "salesOrder", "externalId", step.idempotency_key)
    undo = CloseOrder(order_id=made.order_id, reason="amendment compensated", credit_memo=True)
    erp = ErpActivities(adapters.erp)
    assert (await run(erp.close_sales_order, undo)).result == "deleted"
    assert (await run(erp.close_sales_order, undo)).result == "deleted"  # a retried undo: already gone
    assert sim.store.get("netsuite", "creditMemo", made.order_id) is None


async def test_a_one_time_charge_in_a_change_that_owes_is_netted_in_the_memo(sim, adapters):
    contract = ContractActivities(adapters.erp, adapters.billing)
    step = await change(adapters, {"PLAT-PRO": "-1000.00"}, one_time={"IMPL-STD": "250.00"})
    made = await ActivityEnvironment().run(contract.create_change_order, step)
    assert made.credit_memo and made.total == Money(amount=Decimal("-750.00"), currency="USD")
    memo = sim.store.get("netsuite", "creditMemo", made.order_id)
    assert sorted(Decimal(line["amount"]) for line in memo["item"]["items"]) == [Decimal("-250.00"), Decimal("1000.00")]


async def test_a_saga_on_older_code_gets_an_order_as_it_expects_and_the_erp_refuses_it(sim, adapters):
    """A saga recorded before credit memos does not ask for one: it would take the memo's id for an order's."""
    contract = ContractActivities(adapters.erp, adapters.billing)
    step = (await change(adapters, {"PLAT-PRO": "-10.00"})).model_copy(update={"credit_memo_if_owed": False})
    with pytest.raises(ApplicationError, match="total cannot be negative"):
        await ActivityEnvironment().run(contract.create_change_order, step)
    assert not sim.store.find("netsuite", "creditMemo", "externalId", step.idempotency_key)


async def test_a_change_that_still_charges_is_an_order_even_with_a_credited_line(sim, adapters):
    contract = ContractActivities(adapters.erp, adapters.billing)
    step = await change(adapters, {"PLAT-PRO": "1200.00", "API-ADDON": "-200.00"})
    made = await ActivityEnvironment().run(contract.create_change_order, step)
    assert not made.credit_memo and made.total == Money(amount=Decimal("1000.00"), currency="USD")
    assert sim.store.get("netsuite", "salesOrder", made.order_id)["externalId"] == step.idempotency_key


async def test_a_refunded_contraction_is_a_credit_memo_for_what_billing_credits(sagas, adapters):
    sale = await first_sale(sagas, adapters, ["PLAT-PRO"], {"PLAT-PRO": "2"})
    handle = await open_contract(sagas, sale, ContractInput(sale=sale, policy=ContractPolicy(contraction_refund=True)))
    contraction = await change_deal(sagas, adapters, DealKind.CONTRACTION, "PLAT-PRO", "1")
    await handle.signal("change", contraction)
    record = (await history_until(handle, settled(2)))[-1]
    assert record.outcome == "applied", record
    assert record.billing_amount is not None and record.billing_amount.amount < 0
    assert record.erp_amount == record.billing_amount and record.erp_credit_memo_id and not record.erp_order_id
    memo = sagas.sim.store.get("netsuite", "creditMemo", record.erp_credit_memo_id)
    assert Decimal(str(memo["total"])) == -record.billing_amount.amount  # NetSuite keeps no order below zero
    contract = await handle.query("contract", result_type=Contract)
    assert contract.line("PLAT-PRO").quantity == 1 and contract.erp_credit_memos == [record.erp_credit_memo_id]
    await keep(sagas.client.get_workflow_handle(record.saga_id), "contraction_refund_credit_memo")


async def test_a_refunded_contraction_undone_after_its_credit_memo_deletes_the_memo(sagas, adapters):
    sim = sagas.sim
    sale = await first_sale(sagas, adapters, ["PLAT-PRO"], {"PLAT-PRO": "2"})
    handle = await open_contract(sagas, sale, ContractInput(sale=sale, policy=ContractPolicy(contraction_refund=True)))
    contraction = await change_deal(sagas, adapters, DealKind.CONTRACTION, "PLAT-PRO", "1")
    memos_before = {m["id"] for m in sim.records("netsuite", "creditMemo")}
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
    assert record.erp_amount is not None and record.erp_amount.amount < 0 and record.erp_credit_memo_id
    assert {m["id"] for m in sim.records("netsuite", "creditMemo")} == memos_before  # posted, then deleted
    contract = await handle.query("contract", result_type=Contract)
    assert contract.line("PLAT-PRO").quantity == 2 and contract.erp_credit_memos == []
    await keep(sagas.client.get_workflow_handle(record.saga_id), "contraction_refund_credit_memo_undone")
