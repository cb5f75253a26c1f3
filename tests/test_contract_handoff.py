"""QuoteToCash hands the deal to the contract: a completed sale opens the customer's Contract entity; a deal of
another type (HubSpot `dealtype`) is queued on it; one for a customer without a contract parks for an operator,
as an expansion does while the customer's first sale waits on a credit hold."""

from __future__ import annotations

from typing import Any

from temporalio.client import WorkflowHandle

from models.contract import Contract, ContractPolicy, contract_id
from models.saga import CreditDecision, OperatorDecision, SagaInput, SagaResult, SagaStatus, Stage
from tests.test_contract import changes, history_until, item, settled
from tests.test_contract import env as env  # a server per test


async def start(sagas: Any, deal_id: str) -> WorkflowHandle[Any, SagaResult]:
    """A saga where contracts are kept (SagaInput.contracts): the sale opens one, other deals go to it."""
    saga = SagaInput(deal_id=deal_id, correlation_id=f"test-{deal_id}", triggered_by="test", contracts=ContractPolicy())
    return await sagas.client.start_workflow(
        "QuoteToCash", saga, id=f"q2c-hubspot-{deal_id}", task_queue=sagas.task_queue, result_type=SagaResult
    )


async def completed(sagas: Any, handle: WorkflowHandle[Any, SagaResult]) -> SagaStatus:
    """Watched by query, not by awaiting the result: a result wait lets the test server skip to the contract's
    timers (its renewal notice is months away)."""
    return await sagas.wait_for(handle, lambda s: s.stage is Stage.COMPLETED, within=60)


def typed(sagas: Any, deal_id: str, dealtype: str) -> str:
    hs = sagas.sim.app.state.apps["hubspot"].state
    hs.update("deals", sagas.sim.store.get("hubspot", "deals", deal_id), {"dealtype": dealtype})
    return deal_id


def company_of(sagas: Any, deal_id: str) -> str:
    return str(sagas.sim.store.get("hubspot", "deals", deal_id)["associations"]["companies"][0])


async def test_a_sale_opens_the_contract_and_an_expansion_deal_changes_it(sagas):
    sale_id = sagas.new_deal(["PLAT-PRO"], quantities={"PLAT-PRO": "2"})
    sale = await completed(sagas, await start(sagas, sale_id))
    company = company_of(sagas, sale_id)
    assert sale.stage is Stage.COMPLETED and sale.external_ids["contract"] == contract_id("hubspot", company)
    entity = sagas.client.get_workflow_handle(sale.external_ids["contract"])
    await history_until(entity, settled(1))
    contract = await entity.query("contract", result_type=Contract)
    assert contract.line("PLAT-PRO").quantity == 2 and contract.erp_orders == [sale.external_ids["create_order"]]

    expansion_id = typed(
        sagas, sagas.new_deal(["PLAT-PRO"], company=company, quantities={"PLAT-PRO": "3"}), "expansion"
    )
    routed = await completed(sagas, await start(sagas, expansion_id))
    assert routed.stage is Stage.COMPLETED and routed.external_ids == {"contract": contract.contract_id}
    assert "create_order" not in routed.external_ids  # no second sale: the contract applies the change
    record = changes(await history_until(entity, settled(2)))[-1]
    assert (record.deal_id, record.outcome) == (expansion_id, "applied") and record.billing_amount == record.erp_amount
    subscription = contract.lines[0].subscription_id
    assert item(sagas.sim, subscription, "PLAT-PRO")["quantity"] == 5
    assert sagas.sim.store.get("hubspot", "deals", expansion_id)["properties"]["q2c_status"] == "completed"


async def test_an_expansion_during_the_first_sales_credit_hold_waits_for_the_contract(sagas):
    over = sagas.sim.store.get("hubspot", "deals", sagas.sim.manifest["deals"]["over_credit"][0])
    company = over["associations"]["companies"][0]
    first = await start(sagas, sagas.new_deal(["PLAT-PRO"], company=company))
    await sagas.wait_for(first, lambda s: s.stage is Stage.ON_HOLD)
    expansion_id = typed(sagas, sagas.new_deal(["PLAT-PRO"], company=company), "expansion")
    expansion = await start(sagas, expansion_id)
    parked = await sagas.wait_for(expansion, lambda s: s.stage is Stage.NEEDS_ATTENTION)
    assert parked.exception.code == "no_contract" and "no running contract" in parked.exception.error.message
    await first.signal("approve_credit", CreditDecision(approver="cfo@q2c.example", reason="strategic account"))
    await completed(sagas, first)
    await expansion.signal("retry", OperatorDecision(by="ops@q2c.example", reason="the sale completed"))
    await completed(sagas, expansion)
    entity = sagas.client.get_workflow_handle(contract_id("hubspot", company))
    history = changes(await history_until(entity, settled(2)))
    assert [(r.kind, r.outcome) for r in history] == [("new_business", "applied"), ("expansion", "applied")]
    assert history[1].deal_id == expansion_id and history[1].billing_amount == history[1].erp_amount
