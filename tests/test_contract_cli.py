"""`q2c contract cancel`: an operator ends a contract now (service ends today) or at term end (billing cancels at
period end), queued behind the changes accepted before it."""

from __future__ import annotations

import pytest
import typer
from typer.testing import CliRunner

from activities.contract import check_contract
from cli.app import app
from cli.contract import At, cancel, contract_ref, read
from models.contract import ContractState
from models.deal import DealKind
from models.reconcile import Drift
from tests.test_contract import change_deal, first_sale, history_until, open_contract, settled
from tests.test_contract import env as env  # a server per test


def test_a_contract_is_named_by_its_customer():
    assert contract_ref("hubspot:50004") == "q2c-contract-hubspot-50004"
    assert contract_ref("q2c-contract-salesforce-001X") == "q2c-contract-salesforce-001X"
    with pytest.raises(typer.BadParameter, match="names no contract"):
        contract_ref("hubspot:")


def test_cancel_refuses_an_unknown_moment():
    result = CliRunner().invoke(app, ["contract", "cancel", "hubspot:50004", "--at", "tomorrow"])
    assert result.exit_code == 2 and "tomorrow" in result.output


@pytest.mark.parametrize(("at", "state"), [(At.NOW, ContractState.CANCELLED), (At.TERM_END, ContractState.ENDING)])
async def test_an_operator_cancels_a_contract(sagas, adapters, at, state):
    sale = await first_sale(sagas, adapters, ["PLAT-PRO"], {"PLAT-PRO": "2"})
    handle = await open_contract(sagas, sale)
    await history_until(handle, settled(1))
    await cancel(sagas.client, handle.id, at, "ops@q2c.example", "customer asked")
    record = (await history_until(handle, settled(2)))[-1]
    assert (record.kind, record.requested_by, record.outcome) == (f"cancel_{at.value}", "ops@q2c.example", "applied")
    contract, status, _ = await read(sagas.client, handle.id)
    assert contract is not None and contract.state is state and status.state is state
    subscription = sagas.sim.store.get("stripe", "subscription", sale.subscriptions[0])
    org = next(o for o in sagas.sim.records("zendesk", "organization") if o["external_id"] == sale.customer.id)
    if at is At.NOW:
        assert subscription["status"] == "canceled" and org["organization_fields"]["entitlement_status"] == "revoked"
    else:  # billing stops at period end; support runs to the term's last day
        assert subscription["status"] == "active" and subscription["cancel_at_period_end"] is True
        assert contract.ends_on == contract.term_end and org["organization_fields"]["entitlement_status"] == "active"


async def test_reconciliation_compares_billing_with_the_contract_not_the_first_deal(sagas, adapters):
    sale = await first_sale(sagas, adapters, ["PLAT-PRO"], {"PLAT-PRO": "2"})
    handle = await open_contract(sagas, sale)
    await handle.signal("change", await change_deal(sagas, adapters, DealKind.EXPANSION, "PLAT-PRO", "3"))
    await history_until(handle, settled(2))
    contract = (await read(sagas.client, handle.id))[0]
    assert contract is not None and await check_contract(adapters.billing, contract) == []  # 5 seats, as billed
    sub = sagas.sim.store.get("stripe", "subscription", sale.subscriptions[0])
    sub["items"]["data"][0]["quantity"] = 4  # someone changed billing by hand
    sagas.sim.store.put("stripe", "subscription", sub["id"], sub)
    [found] = await check_contract(adapters.billing, contract)
    assert found.kind is Drift.CONTRACT_MISMATCH and found.deal_id == handle.id
    assert found.detail == "PLAT-PRO: billing bills 4, the contract says 5"
