"""The demo's parts played by Salesforce's seeded opportunities, alone or beside HubSpot's."""

from __future__ import annotations

from collections import Counter

from connectors.registry import make_adapter
from devstack.scenarios import DRIVERS, FIRST_PARTS, SECOND_PARTS, plan, plan_side_by_side
from models.saga import Stage
from tests.conftest import Sim


def test_salesforce_plays_every_part_of_the_demo(sim: Sim) -> None:
    hubspot = plan(sim.store, sim.manifest, "hubspot")
    salesforce = plan(sim.store, sim.manifest, "salesforce")
    assert [s.name for s in salesforce] == [s.name for s in hubspot] and len(salesforce) == 28
    assert {s.crm for s in salesforce} == {"salesforce"}
    assert all(s.workflow_id == f"q2c-salesforce-{s.deal_id}" for s in salesforce)
    assert len({s.deal_id for s in salesforce}) == 28
    for s in salesforce:  # every one a seeded opportunity, not yet won
        assert sim.store.require("salesforce", "Opportunity", s.deal_id)["StageName"] != "Closed Won"
    cancelled = [s for s in salesforce if s.expected is Stage.CANCELLED]
    assert cancelled and all(DRIVERS["salesforce"].has_one_time_lines(sim.store, s.deal_id) for s in cancelled)


async def test_side_by_side_shares_the_parts_and_no_customer_completes_in_both_crms(sim: Sim) -> None:
    scenarios = plan_side_by_side(sim.store, sim.manifest, ("hubspot", "salesforce"))
    by_crm = {crm: Counter(s.name for s in scenarios if s.crm == crm) for crm in ("hubspot", "salesforce")}
    assert by_crm == {"hubspot": Counter(FIRST_PARTS), "salesforce": Counter(SECOND_PARTS)}
    provisioned: dict[str, set[str]] = {}
    for crm in ("hubspot", "salesforce"):
        async with make_adapter("crm", crm, simulators=sim.url, timeout_s=5.0) as port:
            for s in scenarios:
                if s.crm == crm and s.expected is Stage.COMPLETED:
                    company = (await port.get_deal(s.deal_id)).company
                    assert company is not None
                    provisioned.setdefault(crm, set()).add(company.legal_name)
    # support names organizations uniquely: the same name from both CRMs would be two organizations
    assert provisioned["hubspot"] and provisioned["salesforce"]
    assert not provisioned["hubspot"] & provisioned["salesforce"]
