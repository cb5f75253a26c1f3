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


async def change(adapters, amounts: dict[str, str]) -> ChangeOrder:
    customer_id = await adapters.erp.upsert_customer(new_customer())
    items = (await adapters.erp.resolve_catalog(sorted(amounts))).items
    lines = [
        ContractLine(
            sku=sku,
            quantity=1,
            unit_price=Money(amount=Decimal(amount), currency="USD"),
            frequency=BillingFrequency.ANNUALLY,
        )
        for sku, amount in sorted(amounts.items())
    ]
    return ChangeOrder(
        idempotency_key=f"q2c-contract-test-{uuid.uuid4().hex[:8]}-change-2:credit_order",
        erp_customer_id=customer_id,
        order_date=date(2032, 6, 17),
        currency="USD",
        lines=lines,
        erp_items=items,
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
