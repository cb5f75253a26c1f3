"""The audit reads every system through the ports and applies the rules reconciliation uses."""

from __future__ import annotations

from devstack.audit import audit_sagas
from models.saga import Stage
from tests.test_saga import FULL, business, wid


async def test_honest_runs_audit_clean_and_what_is_left_behind_is_named(sagas, adapters):
    done = sagas.new_deal(FULL)
    undone = sagas.new_deal(FULL)
    sagas.sim.fault(**business("netsuite", "POST", "*/!transform/invoice", match=f"{wid(undone)}:invoice_erp"))
    assert (await (await sagas.start(done)).result()).stage is Stage.COMPLETED
    assert (await (await sagas.start(undone)).result()).stage is Stage.COMPENSATED
    expected = {done: Stage.COMPLETED, undone: Stage.COMPENSATED}
    assert await audit_sagas(adapters, expected) == {"*": [], done: [], undone: []}

    store = sagas.sim.store
    order = store.find("netsuite", "salesOrder", "externalId", f"{wid(undone)}:create_order")[0]
    store.put(
        "netsuite", "salesOrder", order["id"], {**order, "orderStatus": {"id": "B", "refName": "Pending Fulfillment"}}
    )
    problems = await audit_sagas(adapters, {**expected, "99999999": Stage.COMPLETED})
    assert problems[done] == [] and problems["99999999"] == ["no such deal"]
    assert problems[undone] == [f"order {order['id']} left pending_fulfillment"]
    assert await audit_sagas(adapters, {done: Stage.COMPENSATED}) != {"*": [], done: []}
