"""The demo's contract chapter (`q2c demo --story contract`), run as the demo runs it but without make: its own
time-skipping server and fresh simulators. It fails when any system's record disagrees with the contract."""

from __future__ import annotations

from datetime import timedelta

from devstack.contract_checks import Checker
from devstack.contract_rig import rig
from devstack.contract_story import story
from models.contract import Contract, contract_id


async def test_every_system_agrees_with_the_contract_through_its_life():
    told: list[str] = []
    async with rig() as r:
        checks = await story(r, told.append)
        disagree = [c for c in checks if c.failed]
        assert not disagree, "\n".join(
            f"{c.customer} {c.system} {c.record}: {c.expected} != {c.found}" for c in disagree
        )
        assert {c.system for c in checks} == {"ERP", "billing", "support", "CRM", "contract"}
        assert all(c.ok for c in checks)  # no known gap either: billing follows the term
        assert len(told) == 6 and "loses support" in told[-1]

        # the checks can fail: support holding another contract end than the contract's is named
        renewing = checks[0].customer
        handle = r.sagas.client.get_workflow_handle(contract_id("hubspot", renewing))
        contract = await handle.query("contract", result_type=Contract)
        before, after = Checker(r.store).at("now", renewing), Checker(r.store).at("tampered", renewing)
        before.support(contract, "active")
        org = next(o for o in r.store.all("zendesk", "organization") if o["external_id"] == renewing)
        org["organization_fields"]["contract_end"] = str(contract.term_end - timedelta(days=1))
        r.store.put("zendesk", "organization", str(org["id"]), org)
        after.support(contract, "active")
        assert [c.failed for c in before.checks] == [False, False]
        assert [c.failed for c in after.checks] == [False, True], after.checks
