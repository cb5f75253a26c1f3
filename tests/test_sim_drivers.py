"""The simulator drivers the demo, the benchmarks and the chaos suite use: what they make is what q2c reads."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import httpx

from connectors.registry import make_adapter
from simulators.hubspot import drive as hubspot_sim
from simulators.netsuite import drive as netsuite_sim
from simulators.seed import BY_SKU
from simulators.stripe import drive as stripe_sim
from tests.conftest import Sim


async def test_deals_imported_in_the_crm_simulator_are_closed_won_deals_q2c_can_order(sim: Sim):
    made = await asyncio.to_thread(hubspot_sim.make_deals, sim.url, 2, ["PLAT-PRO", "IMPL-STD"])
    open_one = (await asyncio.to_thread(hubspot_sim.make_deals, sim.url, 1, ["PLAT-TEAM"], None, "contractsent"))[0]
    async with make_adapter("crm", hubspot_sim.NAME, sim.url) as crm:
        deals = [await crm.get_deal(deal_id) for deal_id in made]
        still_open = await crm.get_deal(open_one)
    for deal in deals:
        assert deal.closed_won and not deal.problems()
        assert sorted(line.sku for line in deal.lines) == ["IMPL-STD", "PLAT-PRO"]
        assert deal.amount.amount == BY_SKU["PLAT-PRO"].price("USD") + BY_SKU["IMPL-STD"].price("USD")
        assert deal.company is not None and deal.currency == "USD"
    assert not still_open.closed_won and still_open.amount.amount == Decimal(990)
    assert hubspot_sim.has_one_time_lines(sim.store, made[0]) and not hubspot_sim.has_one_time_lines(
        sim.store, open_one
    )


async def test_closing_a_deal_moves_it_to_closed_won(sim: Sim):
    deal_id = (await asyncio.to_thread(hubspot_sim.make_deals, sim.url, 1, ["PLAT-TEAM"], None, "contractsent"))[0]
    async with httpx.AsyncClient(base_url=f"{sim.url}/_sim") as admin:
        await hubspot_sim.close_deal(admin, deal_id)
    async with make_adapter("crm", hubspot_sim.NAME, sim.url) as crm:
        assert (await crm.get_deal(deal_id)).closed_won


def test_the_demo_faults_are_faults_the_simulators_accept(sim: Sim):
    refused = sim.fault(**stripe_sim.refuse_subscriptions("q2c-none-0&", "No such price"))
    slow = sim.fault(**netsuite_sim.slow_invoicing("q2c-none-0:invoice_erp", 10))
    assert {refused, slow} <= {f["id"] for f in sim.store.faults()}
    for fault in (refused, slow):
        sim.admin.delete(f"/faults/{fault}").raise_for_status()


def test_seats_added_behind_q2cs_back_land_on_the_sagas_subscription(sim: Sim):
    workflow_id = "q2c-hubspot-drivers-1"
    item = {"id": "si_drivers", "quantity": 3, "price": {"id": "price_x"}}
    sim.store.put(
        "stripe",
        "subscription",
        "sub_drivers",
        {"id": "sub_drivers", "metadata": {"q2c_workflow_id": workflow_id}, "items": {"data": [item]}},
    )
    assert stripe_sim.add_seats(sim.store, workflow_id, 5) == "sub_drivers"
    assert sim.store.require("stripe", "subscription", "sub_drivers")["items"]["data"][0]["quantity"] == 8
