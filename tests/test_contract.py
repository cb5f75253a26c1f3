"""The contract entity and its amendment saga on the time-skipping server, against the simulators.

Money is checked to the minor unit in every system: Stripe's proration invoice, the ERP change order and the
contract's history must hold the same amount, computed by the rule in models/proration.py.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from temporalio.client import WorkflowHandle
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment

from models.contract import ChangeRecord, ChangeRequest, Contract, ContractInput, NewSale, contract_id
from models.deal import DealKind
from models.money import Money
from models.saga import Stage
from tests.conftest import workflow_environment

EXPANSION_FAULT = "/services/rest/record/v1/salesOrder"


@pytest.fixture
async def env(request: pytest.FixtureRequest) -> AsyncIterator[WorkflowEnvironment]:
    """A server per test: a contract's timers (months away) must not be skipped to by another test's waits, and
    the sale's term is the one its deal says (from 2026-12-01), so each test starts on today's clock."""
    async with workflow_environment(request.config) as started:
        yield started


async def first_sale(sagas: Any, adapters: Any, skus: list[str], quantities: dict[str, str]) -> NewSale:
    """A new-business saga run to completion; what QuoteToCash hands the contract."""
    deal_id = sagas.new_deal(skus, quantities=quantities)
    handle = await sagas.start(deal_id)
    result = await sagas.finish(handle)
    assert result.stage is Stage.COMPLETED, result.error
    deal = await adapters.crm.get_deal(deal_id)
    wid = f"q2c-hubspot-{deal_id}"
    subscriptions = [
        s["id"] for s in sagas.sim.records("stripe", "subscription") if s["metadata"].get("q2c_workflow_id") == wid
    ]
    return NewSale(
        saga_id=wid,
        crm="hubspot",
        deal=deal,
        customer=deal.company,
        erp_customer_id=result.external_ids["upsert_customer"],
        order_id=result.external_ids["create_order"],
        term_start=date(2026, 12, 1),
        term_end=date(2027, 11, 30),
        tier="premium",
        subscriptions=subscriptions,
        correlation_id=f"test-{deal_id}",
    )


async def open_contract(sagas: Any, sale: NewSale, start: ContractInput | None = None) -> WorkflowHandle[Any, Any]:
    # a fresh company id per test run would be better; each test makes its own deal, so the company is shared:
    # the contract id carries a suffix to keep tests apart
    workflow_id = f"{contract_id('hubspot', sale.customer.id)}-{uuid.uuid4().hex[:6]}"
    return await sagas.client.start_workflow(
        "Contract", start or ContractInput(sale=sale), id=workflow_id, task_queue=sagas.task_queue, result_type=Contract
    )


async def change_deal(sagas: Any, adapters: Any, kind: DealKind, sku: str, quantity: str) -> ChangeRequest:
    deal_id = sagas.new_deal([sku], quantities={sku: quantity})
    hs = sagas.sim.app.state.apps["hubspot"].state
    hs.update("deals", sagas.sim.store.get("hubspot", "deals", deal_id), {"dealtype": kind.value.replace("_", "")})
    deal = await adapters.crm.get_deal(deal_id)
    assert deal.kind is kind
    return ChangeRequest(kind=kind, deal=deal, saga_id=f"q2c-hubspot-{deal_id}", correlation_id=f"test-{deal_id}")


async def history_until(
    handle: WorkflowHandle[Any, Any], done: Callable[[list[ChangeRecord]], bool], within: float = 60
) -> list[ChangeRecord]:
    deadline, seen = asyncio.get_running_loop().time() + within, "nothing yet"
    while asyncio.get_running_loop().time() < deadline:
        try:
            history = await handle.query("history", result_type=list[ChangeRecord])
        except RPCError as slow:
            # a busy machine, or a query that lands while the entity continues as new (its new run has not had
            # its first task yet): the server answers "deadline exceeded", the client "Timeout expired"; ask again
            if "deadline" not in str(slow).lower() and "timeout" not in str(slow).lower():
                raise
            continue
        if done(history):
            return history
        seen = "; ".join(f"{r.kind} {r.outcome} {r.detail}" for r in history)
        await asyncio.sleep(0.1)
    raise AssertionError(f"the contract never got there: {seen}")


def settled(count: int) -> Callable[[list[ChangeRecord]], bool]:
    """At least `count` changes have ended (a renewal notice is a date, not a change)."""
    return lambda history: sum(r.outcome in ("applied", "compensated", "parked") for r in changes(history)) >= count


def changes(history: list[ChangeRecord]) -> list[ChangeRecord]:
    return [r for r in history if r.kind != "renewal_due"]


def item(sim: Any, subscription_id: str, sku: str) -> dict[str, Any]:
    """The subscription's item for a SKU, by the SKU's product (a renewal's price has no lookup key)."""
    sub = sim.store.get("stripe", "subscription", subscription_id)
    product = next(p["product"] for p in sim.records("stripe", "price") if p.get("lookup_key") == f"{sku.lower()}:usd")
    return next(i for i in sub["items"]["data"] if i["price"]["product"] == product)


async def test_an_expansion_prorates_the_same_in_billing_and_erp(sagas, adapters):
    sale = await first_sale(sagas, adapters, ["PLAT-PRO"], {"PLAT-PRO": "2"})
    handle = await open_contract(sagas, sale)
    expansion = await change_deal(sagas, adapters, DealKind.EXPANSION, "PLAT-PRO", "3")
    await handle.signal("change", expansion)
    history = await history_until(handle, settled(2))
    record = history[-1]
    assert record.outcome == "applied", record
    sim, annual = sagas.sim, sale.subscriptions[0]
    assert item(sim, annual, "PLAT-PRO")["quantity"] == 5
    invoice = sim.store.get("stripe", "invoice", sim.store.get("stripe", "subscription", annual)["latest_invoice"])
    assert invoice["billing_reason"] == "subscription_update"
    billed = Money.from_minor_units(int(invoice["total"]), "USD")
    order = sim.store.get("netsuite", "salesOrder", record.erp_order_id)
    erp_total = sum(Decimal(str(line["amount"])) for line in order["item"]["items"])
    assert billed.amount > 0 and record.billing_amount == billed and record.erp_amount == billed
    assert erp_total == billed.amount, (erp_total, billed)
    contract = await handle.query("contract", result_type=Contract)
    assert contract.line("PLAT-PRO").quantity == 5 and record.erp_order_id in contract.erp_orders


async def test_a_failed_change_order_undoes_the_amendment_only(sagas, adapters):
    sale = await first_sale(sagas, adapters, ["PLAT-PRO"], {"PLAT-PRO": "2"})
    handle = await open_contract(sagas, sale)
    expansion = await change_deal(sagas, adapters, DealKind.EXPANSION, "PLAT-PRO", "1")
    sagas.sim.fault(
        system="netsuite",
        kind="business",
        method="POST",
        path=EXPANSION_FAULT,
        match=":change_order",
        code="SCRIPTED_REFUSAL",
        message="refused by a scripted business rule",
    )
    await handle.signal("change", expansion)
    history = await history_until(handle, settled(2))
    assert (history[-1].outcome == "compensated" and "SCRIPTED_REFUSAL" in history[-1].detail) or history[-1].detail
    sim, annual = sagas.sim, sale.subscriptions[0]
    assert item(sim, annual, "PLAT-PRO")["quantity"] == 2  # back to what the sale made
    sub = sim.store.get("stripe", "subscription", annual)
    assert sub["status"] == "active"  # the earlier sale is untouched
    updates = [
        i
        for i in sim.records("stripe", "invoice")
        if i.get("subscription") == annual and i.get("billing_reason") == "subscription_update"
    ]
    assert len(updates) == 2 and sum(int(i["total"]) for i in updates) == 0  # charged, then credited exactly
    assert sim.store.get("netsuite", "salesOrder", sale.order_id)["orderStatus"]["refName"] != "Closed"
    contract = await handle.query("contract", result_type=Contract)
    assert contract.line("PLAT-PRO").quantity == 2
