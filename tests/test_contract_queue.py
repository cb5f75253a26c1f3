"""The contract entity's order and durability: two deals at once applied in order (the second visibly waiting),
a failure at each step of an amendment undoing that amendment only, and a continue-as-new mid-life that
carries the contract, its history and the queue. Histories are kept for the replay gate (Q2C_WRITE_HISTORIES)."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any

import pytest
from temporalio.client import WorkflowHandle

from models.contract import ChangeRecord, Contract, ContractInput, ContractStatus
from models.deal import DealKind
from tests.test_contract import change_deal, first_sale, history_until, item, open_contract, settled
from tests.test_contract import env as env  # a server per test

KEPT = Path(__file__).parent / "histories" / "contract"


async def keep(handle: WorkflowHandle[Any, Any], name: str) -> None:
    """Record a contract workflow's history for tests/test_replay.py, as Sagas.finish does for QuoteToCash."""
    if os.environ.get("Q2C_WRITE_HISTORIES"):
        KEPT.mkdir(parents=True, exist_ok=True)
        (KEPT / f"{name}.json").write_text((await handle.fetch_history()).to_json())
        (KEPT / f"{name}.workflow_id").write_text(handle.id)  # replayed under its own id (tests/test_replay.py)


MAYBE_CONTRACT: Any = Contract | None  # the query's answer before the entity has read the sale


async def opened(handle: WorkflowHandle[Any, Any]) -> Contract:
    """The contract once the entity has read the sale's subscriptions."""
    for _ in range(600):
        if (contract := await handle.query("contract", result_type=MAYBE_CONTRACT)) is not None:
            return contract
        await asyncio.sleep(0.05)
    raise AssertionError("the contract never opened")


def business(system: str, path: str, match: str | None = None, method: str = "POST") -> dict[str, Any]:
    fault = {"system": system, "kind": "business", "method": method, "path": path, "count": 1}
    return fault | {"code": "SCRIPTED_REFUSAL", "message": "refused by a scripted business rule", "match": match}


async def test_two_expansions_closed_at_once_apply_in_order(sagas, adapters):
    sale = await first_sale(sagas, adapters, ["PLAT-PRO"], {"PLAT-PRO": "2"})
    handle = await open_contract(sagas, sale)
    first, second = [await change_deal(sagas, adapters, DealKind.EXPANSION, "PLAT-PRO", q) for q in ("3", "2")]
    sagas.sim.fault(system="netsuite", kind="latency", method="POST", path="/services/rest/record/v1/salesOrder",
                    latency_ms=1500, count=1)  # fmt: skip
    await handle.signal("change", first)
    await handle.signal("change", second)
    deadline, seen = asyncio.get_running_loop().time() + 30, []
    while True:  # the second waits, visibly, while the first is applied
        status = await handle.query("status", result_type=ContractStatus)
        seen.append((status.applying, status.waiting))
        if status.applying == f"expansion deal {first.deal.id}" and status.waiting == [
            f"expansion deal {second.deal.id}"
        ]:
            break
        assert asyncio.get_running_loop().time() < deadline, sorted(set(map(str, seen)))
        await asyncio.sleep(0.05)
    history = await history_until(handle, settled(3))
    assert [(r.deal_id, r.outcome) for r in history[1:]] == [(first.deal.id, "applied"), (second.deal.id, "applied")]
    one, two = [await sagas.client.get_workflow_handle(r.saga_id).describe() for r in history[1:]]
    assert one.close_time is not None and one.close_time <= two.start_time  # one at a time
    assert item(sagas.sim, sale.subscriptions[0], "PLAT-PRO")["quantity"] == 7
    for record in history[1:]:
        assert record.billing_amount is not None and record.billing_amount == record.erp_amount
        assert record.billing_amount.amount > 0
    await keep(handle, "two_expansions_in_order")
    await keep(sagas.client.get_workflow_handle(history[1].saga_id), "amendment_expansion")


@pytest.mark.parametrize(
    ("failing", "fault", "undone"),
    [
        ("change_items", business("stripe", "/v1/subscription_items/*"), []),
        (
            "change_order",
            business("netsuite", "/services/rest/record/v1/salesOrder", ":change_order"),
            ["change_items"],
        ),
        (
            "update_support",
            business("zendesk", "/api/v2/organizations/create_or_update*", "service_tier"),
            ["change_order", "change_items"],
        ),
    ],
)
async def test_a_failure_at_each_step_undoes_the_amendment_only(sagas, adapters, failing, fault, undone):
    sale = await first_sale(sagas, adapters, ["PLAT-PRO"], {"PLAT-PRO": "2"})
    handle = await open_contract(sagas, sale)
    before = await opened(handle)
    sagas.sim.fault(**fault)
    await handle.signal("change", await change_deal(sagas, adapters, DealKind.EXPANSION, "PLAT-PRO", "4"))
    record = (await history_until(handle, settled(2)))[-1]
    assert record.outcome == "compensated" and "scripted" in record.detail, [
        (r.kind, r.outcome) for r in await handle.query("history", result_type=list[ChangeRecord])
    ]
    saga = await sagas.client.get_workflow_handle(record.saga_id).query("status")
    failed = next(s for s in saga["steps"] if s["state"] == "failed")
    assert failed["name"].startswith(failing)
    assert [c["step"].rsplit("_sub_", 1)[0] for c in saga["compensations"]] == [
        {"change_items": "change_items", "change_order": "change_order"}[u] for u in undone
    ] or [c["step"] for c in saga["compensations"]]
    sim, annual = sagas.sim, sale.subscriptions[0]
    assert (
        item(sim, annual, "PLAT-PRO")["quantity"] == 2
        and sim.store.get("stripe", "subscription", annual)["status"] == "active"
    )
    updates = [
        i
        for i in sim.records("stripe", "invoice")
        if i.get("subscription") == annual and i.get("billing_reason") == "subscription_update"
    ]
    assert sum(int(i["total"]) for i in updates) == 0 and len(updates) == (2 if undone else 0)  # charged, credited
    if "change_order" in undone:
        order = sim.store.get("netsuite", "salesOrder", saga["external_ids"]["change_order"])
        assert order["orderStatus"]["refName"] in ("Cancelled", "Closed")
    assert sim.store.get("netsuite", "salesOrder", sale.order_id)["orderStatus"]["refName"] not in (
        "Cancelled",
        "Closed",
    )
    assert await handle.query("contract", result_type=Contract) == before  # the contract as the sale made it
    if failing == "update_support":
        await keep(sagas.client.get_workflow_handle(record.saga_id), "amendment_compensated")


async def test_the_entity_continues_as_new_with_its_contract_history_and_queue(sagas, adapters):
    sale = await first_sale(sagas, adapters, ["PLAT-PRO"], {"PLAT-PRO": "2"})
    handle = await open_contract(sagas, sale, ContractInput(sale=sale, changes_before_continue=1))
    first_run = (await handle.describe()).run_id
    changes = [await change_deal(sagas, adapters, DealKind.EXPANSION, "PLAT-PRO", q) for q in ("1", "1", "1")]
    latest = sagas.client.get_workflow_handle(handle.id)  # whichever run is current
    for change in changes:
        await latest.signal("change", change)
    history = await history_until(latest, settled(4))
    assert [r.outcome for r in history] == ["applied"] * 4
    assert [r.deal_id for r in history[1:]] == [c.deal.id for c in changes]
    assert (await latest.describe()).run_id != first_run
    contract = await latest.query("contract", result_type=Contract)
    assert contract.line("PLAT-PRO").quantity == 5 and len(contract.erp_orders) == 4
    assert item(sagas.sim, sale.subscriptions[0], "PLAT-PRO")["quantity"] == 5
    await keep(latest, "continued_as_new")


async def test_a_deal_that_does_not_fit_the_contract_parks_with_the_reason(sagas, adapters):
    sale = await first_sale(sagas, adapters, ["PLAT-PRO"], {"PLAT-PRO": "2"})
    handle = await open_contract(sagas, sale)
    too_many = await change_deal(sagas, adapters, DealKind.CONTRACTION, "PLAT-PRO", "5")
    await handle.signal("change", too_many)
    record = (await history_until(handle, settled(2)))[-1]
    assert (record.deal_id, record.outcome) == (too_many.deal.id, "parked") and record.saga_id is None
    assert record.detail == "contraction of 5 x PLAT-PRO but the contract has 2"
    status = await handle.query("status", result_type=ContractStatus)
    assert status.parked == [f"{too_many.deal.id}: {record.detail}"]
    assert item(sagas.sim, sale.subscriptions[0], "PLAT-PRO")["quantity"] == 2  # nothing was written
