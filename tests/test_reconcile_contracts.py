"""Scheduled reconciliation of contracts: billing is compared with the customer's contract, not with its first deal.

After an expansion the first deal's quantities no longer hold in billing (the contract's do): no false drift.
A quantity changed in Stripe behind q2c's back is a `contract_mismatch` naming the contract, the SKU, the field
and both values, found by the Reconciliation workflow (its deal pages on the time-skipping server; its contract
pages, listed through Temporal visibility, on a real dev server: the test server does not implement
ListWorkflowExecutions).
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Replayer
from typer.testing import CliRunner, Result

from activities import reconcile_contracts
from cli.app import app
from cli.common import console
from client.operations import report_table
from models.amendments import BilledItem, SubscriptionDetail
from models.catalog import BillingFrequency
from models.common import Region
from models.contract import Contract, ContractInput, ContractLine, ContractState, contract_id
from models.money import Money
from models.party import Customer
from models.proration import Period
from models.reconcile import Drift, DriftItem, ReconcileInput, ReconciliationReport
from models.reconcile_contracts import contract_mismatches
from models.saga import SagaInput, saga_id
from tests.test_contract import env as env  # a server per test (the contract's timers are months away)
from tests.test_contract import history_until, item, settled
from tests.test_contract_handoff import completed, start, typed
from workflows.reconciliation import Reconciliation


def company(sagas: Any, n: int) -> str:
    """A US company of its own for each test (the simulators are shared by the session; other tests use the first)."""
    usd = [c for c in sagas.sim.records("hubspot", "companies")[4:] if c["properties"].get("currency") == "USD"]
    return str(usd[-n]["id"])


async def reconcile(sagas: Any, day: date) -> ReconciliationReport:
    return await sagas.client.execute_workflow(
        Reconciliation.run,
        ReconcileInput(since=day, until=day, task_queue=sagas.task_queue),
        id=f"q2c-reconcile-test-{uuid.uuid4().hex[:8]}",
        task_queue=sagas.task_queue,
    )


async def expanded_contract(sagas: Any, customer: str, day: date) -> Contract:
    """A sale of 2 PLAT-PRO seats, then an expansion of 3, both closed on `day`: the contract holds 5."""
    sale = sagas.new_deal(["PLAT-PRO"], company=customer, quantities={"PLAT-PRO": "2"}, close_date=day.isoformat())
    await completed(sagas, await start(sagas, sale))
    entity = sagas.client.get_workflow_handle(contract_id("hubspot", customer))
    sagas.started.append(entity)  # ended with the test: no later reconciliation on this server asks it alone
    await history_until(entity, settled(1))
    more = sagas.new_deal(["PLAT-PRO"], company=customer, quantities={"PLAT-PRO": "3"}, close_date=day.isoformat())
    await completed(sagas, await start(sagas, typed(sagas, more, "expansion")))
    record = (await history_until(entity, settled(2)))[-1]
    assert record.outcome == "applied", record
    contract = await entity.query("contract", result_type=Contract)
    line = contract.line("PLAT-PRO")
    assert line is not None and line.quantity == 5
    return contract


def seats_in_stripe(sagas: Any, contract: Contract, quantity: int) -> None:
    """Someone edits the subscription in Stripe's dashboard."""
    line = contract.line("PLAT-PRO")
    assert line is not None and line.subscription_id
    subscription = sagas.sim.store.get("stripe", "subscription", line.subscription_id)
    product = item(sagas.sim, line.subscription_id, "PLAT-PRO")["price"]["product"]
    held = next(i for i in subscription["items"]["data"] if i["price"]["product"] == product)
    held["quantity"] = quantity
    sagas.sim.store.put("stripe", "subscription", subscription["id"], subscription)
    assert item(sagas.sim, line.subscription_id, "PLAT-PRO")["quantity"] == quantity


def quantity_mismatch(report: ReconciliationReport, contract: Contract) -> list[DriftItem]:
    return [i for i in report.items if i.kind is Drift.CONTRACT_MISMATCH and i.contract_id == contract.contract_id]


async def test_an_expanded_contract_reconciles_clean_and_a_seat_change_in_stripe_is_a_contract_mismatch(sagas):
    day = date(2031, 2, 1)
    contract = await expanded_contract(sagas, company(sagas, 1), day)
    report = await reconcile(sagas, day)
    drifted = [(i.kind.value, i.deal_id, i.detail) for i in report.items]
    assert report.checked == 2 and report.clean, drifted  # neither the first deal nor the expansion drifts

    seats_in_stripe(sagas, contract, 4)
    report = await reconcile(sagas, day)
    [found] = report.items
    assert (found.kind, found.contract_id, found.line, found.field) == (
        Drift.CONTRACT_MISMATCH,
        contract.contract_id,
        "PLAT-PRO",
        "quantity",
    )
    assert (found.billing_value, found.contract_value, found.system) == ("4", "5", "billing")
    assert found.repair is None  # reported for a person, never set back by itself
    assert "PLAT-PRO" in found.detail and "4" in found.detail and "5" in found.detail
    table = report_table(report)  # what `q2c reconcile` prints
    assert "contract_mismatch" in table and "billing bills 4, the contract says 5" in table


async def q2c_reconcile(day: date) -> Result:
    """`q2c reconcile` as an operator runs it, in a thread of its own (the CLI runs its own event loop)."""
    options = ["reconcile", "--since", day.isoformat(), "--until", day.isoformat()]
    return await asyncio.to_thread(lambda: CliRunner().invoke(app, options))


class TestOnTheDevServer:
    @pytest.fixture
    def ts_env(self, dev_env: WorkflowEnvironment) -> WorkflowEnvironment:
        """`sagas` on the dev server: listing the running contracts needs Temporal's visibility."""
        return dev_env

    @pytest.fixture(autouse=True)
    def operator(self, dev_env: WorkflowEnvironment, sagas: Any, monkeypatch: pytest.MonkeyPatch) -> None:
        """The CLI pointed at this server and the test's worker queue, as `q2c` reads its settings."""
        for name in ("Q2C_CODEC_KEYS", "Q2C_CODEC_KEYS_FILE", "TEMPORAL_PROFILE", "TEMPORAL_API_KEY"):
            monkeypatch.delenv(name, raising=False)
        monkeypatch.setenv("TEMPORAL_ADDRESS", dev_env.client.service_client.config.target_host)
        monkeypatch.setenv("TEMPORAL_NAMESPACE", "default")
        monkeypatch.setenv("Q2C_TASK_QUEUE", sagas.task_queue)
        monkeypatch.setattr(console, "width", 200)

    async def test_the_scheduled_run_checks_every_running_contract_listed_by_visibility(self, sagas):
        """The contract's deals closed long before the window: only the contract pages can find its drift."""
        day, window = date(2031, 2, 2), date(2031, 3, 1)
        contract = await expanded_contract(sagas, company(sagas, 2), day)
        seats_in_stripe(sagas, contract, 7)
        report = await reconcile(sagas, window)
        assert report.checked == 0 and report.contracts_checked >= 1 and report.contracts_unlisted is None
        [found] = quantity_mismatch(report, contract)
        assert (found.line, found.field) == ("PLAT-PRO", "quantity")
        assert (found.billing_value, found.contract_value) == ("7", "5")
        assert "contract_mismatch" in report_table(report)

        both = await reconcile(sagas, day)  # its deals in the window too: found once, not once per way
        assert both.checked == 2 and len(quantity_mismatch(both, contract)) == 1, both.items
        assert both.counts == {Drift.CONTRACT_MISMATCH.value: 1}, both.items

        printed = await q2c_reconcile(window)  # what an operator sees
        assert printed.exit_code == 1, printed.output
        assert (
            "contract_mismatch" in printed.output and "PLAT-PRO: billing bills 7, the contract says 5" in printed.output
        )
        assert "running contracts checked against billing" in printed.output

        seats_in_stripe(sagas, contract, 5)
        assert not quantity_mismatch(await reconcile(sagas, window), contract)

    async def test_a_contract_that_does_not_answer_is_named_not_waited_for(self, sagas, monkeypatch):
        """A running contract whose worker is gone (here: on a queue no worker serves): the page goes on, and the
        report says which contract could not be checked (the query's deadline shortened from 10 s for the test)."""
        monkeypatch.setattr(reconcile_contracts, "QUERY_TIMEOUT", timedelta(seconds=2))
        entity = await sagas.client.start_workflow(
            "Contract",
            ContractInput(),
            id=f"q2c-contract-hubspot-gone-{uuid.uuid4().hex[:6]}",
            task_queue=f"no-worker-{uuid.uuid4().hex[:8]}",
        )
        try:
            while not [e async for e in sagas.client.list_workflows(f"WorkflowId = '{entity.id}'")]:  # noqa: ASYNC110
                await asyncio.sleep(0.1)  # visibility is eventually consistent
            report = await reconcile(sagas, date(2031, 3, 2))
        finally:
            await entity.terminate("the test is over")
        [found] = [i for i in report.items if i.contract_id == entity.id]
        assert (found.kind, found.field, found.system) == (Drift.CONTRACT_MISMATCH, "unanswered", "q2c")
        assert found.detail.startswith(f"not checked: {entity.id} did not answer its contract query")

    async def test_a_running_saga_listed_by_visibility_is_not_missing(self, sagas):
        await running_saga_is_not_missing(sagas, date(2031, 2, 5), listed=True)


async def test_the_reconciliation_history_replays(sagas):
    day = date(2031, 2, 3)
    handle = await sagas.client.start_workflow(
        Reconciliation.run,
        ReconcileInput(since=day, until=day, task_queue=sagas.task_queue),
        id=f"q2c-reconcile-test-{uuid.uuid4().hex[:8]}",
        task_queue=sagas.task_queue,
    )
    await handle.result()
    history: WorkflowHistory = await handle.fetch_history()
    replayer = Replayer(workflows=[Reconciliation], data_converter=pydantic_data_converter)
    await replayer.replay_workflow(history)


async def test_a_saga_running_before_its_first_milestone_is_not_a_missing_saga(sagas):
    """Asked one by one (the time-skipping server lists nothing)."""
    await running_saga_is_not_missing(sagas, date(2031, 2, 4))


async def running_saga_is_not_missing(sagas: Any, day: date, listed: bool = False) -> None:
    """Its workflow runs (here: on a queue no worker serves yet), nothing written: in progress, not missing."""
    waiting, lost = (sagas.new_deal(["PLAT-TEAM"], close_date=day.isoformat()) for _ in range(2))
    handle = await sagas.client.start_workflow(
        "QuoteToCash",
        SagaInput(deal_id=waiting, correlation_id=f"test-{waiting}", triggered_by="test"),
        id=saga_id("hubspot", waiting),
        task_queue=f"no-worker-{uuid.uuid4().hex[:8]}",
    )
    try:
        while listed and not [e async for e in sagas.client.list_workflows(f"WorkflowId = '{handle.id}'")]:  # noqa: ASYNC110
            await asyncio.sleep(0.1)  # visibility is eventually consistent
        report = await reconcile(sagas, day)
    finally:
        await handle.terminate("the test is over")
    assert report.checked == 2 and [(i.kind, i.deal_id) for i in report.items] == [(Drift.MISSING_SAGA, lost)]


def test_a_line_billed_at_another_price_or_interval_names_the_field_and_both_values():
    usd = Money(amount=Decimal("100.00"), currency="USD")
    contract = Contract(
        contract_id="q2c-contract-hubspot-1",
        crm="hubspot",
        customer=Customer(id="1", legal_name="Acme", currency="USD", region=Region.NA),
        currency="USD",
        term_start=date(2031, 1, 1),
        term_end=date(2031, 12, 31),
        lines=[
            ContractLine(
                sku="PLAT-PRO",
                quantity=3,
                unit_price=usd,
                frequency=BillingFrequency.ANNUALLY,
                subscription_id="sub_1",
                item_id="si_1",
                price_id="price_1",
            )
        ],
        erp_customer_id="c1",
        tier="premium",
    )
    billed = BilledItem(
        item_id="si_1",
        price_id="price_1",
        quantity=3,
        unit_amount=Money(amount=Decimal("90.00"), currency="USD"),
        frequency=BillingFrequency.MONTHLY,
    )
    extra = BilledItem(item_id="si_2", price_id="price_2", sku="ADDON", quantity=2, unit_amount=usd,
                       frequency=BillingFrequency.MONTHLY)  # fmt: skip
    subscription = SubscriptionDetail(id="sub_1", status="active", items=[billed, extra], period=Period(start=0, end=1))
    found = {
        (i.line, i.field): (i.contract_value, i.billing_value) for i in contract_mismatches(contract, [subscription])
    }
    assert found == {
        ("PLAT-PRO", "unit_price"): ("100.00 USD", "90.00 USD"),
        ("PLAT-PRO", "interval"): ("annually", "monthly"),
        ("ADDON", "billed"): (None, "2"),
    }
    assert contract_mismatches(contract.model_copy(update={"state": ContractState.ENDED}), [subscription]) == []
