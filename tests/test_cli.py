"""The `q2c` command as an operator runs it, against Temporal's real dev server and a worker on the rig.

Commands run through typer's CliRunner on a thread of their own (each opens its own event loop and Temporal
connection, as the installed `q2c` does), configured by the environment alone.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable

import pytest
from typer.testing import CliRunner, Result

from cli.app import app
from cli.common import console
from client.sagas import SagaClient, SagaRef
from devstack.rig import simulated_worker
from models.saga import SagaStatus, Stage
from tests.conftest import Sagas
from tests.test_workbench import no_tax_company

RUNNER = CliRunner()


async def q2c(*args: str) -> Result:
    """`q2c <args>` in a thread, as a separate process would run it."""
    return await asyncio.to_thread(lambda: RUNNER.invoke(app, list(args)))


def test_a_saga_is_named_by_its_deal_crm_and_deal_or_workflow_id(monkeypatch):
    monkeypatch.delenv("Q2C_CRM", raising=False)
    assert SagaRef.parse("10004") == SagaRef("hubspot", "10004")
    assert SagaRef.parse("10004", default_crm="salesforce").workflow_id == "q2c-salesforce-10004"
    monkeypatch.setenv("Q2C_CRM", "salesforce")
    assert SagaRef.parse("0065g00000AbCdEAAZ") == SagaRef("salesforce", "0065g00000AbCdEAAZ")
    monkeypatch.delenv("Q2C_CRM")
    assert SagaRef.parse("salesforce:0065g00000AbCdEAAZ").workflow_id == "q2c-salesforce-0065g00000AbCdEAAZ"
    assert SagaRef.parse(" q2c-hubspot-10004 ") == SagaRef("hubspot", "10004")
    for wrong, named in (
        ("hubspot:", "deal id ''"),
        ("Hub Spot:1", "CRM 'Hub Spot'"),
        ("two words", "deal id 'two words'"),
        ("q2c-customer-77", "not a saga id"),
        ("q2c-hubspot", "not a saga id"),
    ):
        with pytest.raises(ValueError, match=named):
            SagaRef.parse(wrong)


def test_help_groups_the_commands_by_audience():
    console.width = 200
    shown = RUNNER.invoke(app, ["--help"])
    assert shown.exit_code == 0, shown.output
    for audience, commands in (
        ("Services", ["worker", "ingress", "codec-server", "simulators", "dev", "demo"]),
        ("Operators", ["start", "status", "approve-credit", "reject-credit", "cancel", "retry", "exceptions"]),
        ("Admin", ["schedules", "schemas", "codec-keys"]),
    ):
        panel = shown.output.split(f"─ {audience} ", 1)[1].split("╰", 1)[0]
        for command in commands:
            assert f"│ {command} " in panel, f"{command} is not under {audience}"


def test_a_malformed_saga_argument_is_refused_before_anything_is_sent():
    refused = RUNNER.invoke(app, ["retry", "hubspot:", "--by", "alice"])
    assert refused.exit_code == 2
    assert "Invalid value for 'SAGA'" in refused.output and "deal id ''" in refused.output


@pytest.fixture(scope="module")
async def worker(dev_env, sim) -> AsyncIterator[str]:
    """One worker for the module, so a saga a test leaves parked can still answer `q2c exceptions`."""
    task_queue = f"q2c-cli-{uuid.uuid4().hex[:8]}"
    async with simulated_worker(dev_env.client, sim.url, task_queue):
        yield task_queue


@pytest.fixture
def live(dev_env, sim, worker, monkeypatch) -> Sagas:
    """The CLI's environment, pointing at the dev server and the worker's queue."""
    for name in ("Q2C_CODEC_KEYS", "Q2C_CODEC_KEYS_FILE", "Q2C_CRM", "TEMPORAL_PROFILE", "TEMPORAL_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("TEMPORAL_ADDRESS", dev_env.client.service_client.config.target_host)
    monkeypatch.setenv("TEMPORAL_NAMESPACE", "default")
    monkeypatch.setenv("Q2C_TASK_QUEUE", worker)
    monkeypatch.setattr(console, "width", 200)
    return Sagas(dev_env.client, worker, sim)


async def until(live: Sagas, deal_id: str, done: Callable[[SagaStatus], bool]) -> SagaStatus:
    sagas = SagaClient(live.client, task_queue=live.task_queue)
    for _ in range(400):
        try:
            status = await sagas.status(deal_id)
            if done(status):
                return status
        except Exception:  # the start may not be visible to a query yet
            pass
        await asyncio.sleep(0.05)
    raise AssertionError(f"saga of deal {deal_id} never got there")


async def test_start_then_status_of_a_parked_saga_in_every_id_form(live):
    deal_id = live.new_deal(["PLAT-PRO", "IMPL-STD"], company=no_tax_company(live))
    first = await q2c("start", deal_id, "--by", "alice")
    assert first.exit_code == 0, first.output
    assert f"started q2c-hubspot-{deal_id}" in first.output
    again = await q2c("start", f"hubspot:{deal_id}")
    assert f"already there: q2c-hubspot-{deal_id}" in again.output
    await until(live, deal_id, lambda s: s.stage is Stage.NEEDS_ATTENTION)

    for named in (deal_id, f"hubspot:{deal_id}", f"q2c-hubspot-{deal_id}"):
        shown = await q2c("status", named)
        assert shown.exit_code == 0, shown.output
        assert f"q2c-hubspot-{deal_id}  stage needs_attention" in shown.output, named
        assert "upsert_customer" in shown.output
    raw = await q2c("status", f"q2c-hubspot-{deal_id}", "--json")
    status = SagaStatus.model_validate_json(raw.output)
    assert status.deal_id == deal_id and status.workflow_id == f"q2c-hubspot-{deal_id}"
    assert status.exception is not None and status.exception.code == "missing_tax_registration"


async def test_exceptions_lists_the_parked_saga_and_compensate_ends_it_with_who_and_why(live):
    deal_id = live.new_deal(["PLAT-PRO", "IMPL-STD"], company=no_tax_company(live))
    await live.start(deal_id)
    parked = await until(live, deal_id, lambda s: s.stage is Stage.NEEDS_ATTENTION)
    assert parked.exception is not None
    for _ in range(100):  # visibility is eventually consistent
        listed = await q2c("exceptions")
        assert listed.exit_code == 0, listed.output
        if deal_id in listed.output:
            break
        await asyncio.sleep(0.1)
    table = listed.output.split("missing_tax_registration", 1)[1]
    row = next(line for line in table.splitlines() if f" {deal_id} " in line)
    assert f" {parked.exception.step} " in row and f" {', '.join(parked.exception.actions)} " in row

    sent = await q2c("compensate", f"q2c-hubspot-{deal_id}", "--by", "alice", "--reason", "customer withdrew")
    assert sent.exit_code == 0, sent.output
    assert f"sent compensate to q2c-hubspot-{deal_id}" in sent.output
    ended = await until(live, deal_id, lambda s: s.stage is Stage.FAILED)
    decision = ended.decisions[-1]
    assert (decision.action, decision.by, decision.reason) == ("compensate", "alice", "customer withdrew")


async def test_a_credit_hold_is_approved_from_the_cli(live):
    over = live.sim.store.require("hubspot", "deals", live.sim.manifest["deals"]["over_credit"][0])
    deal_id = live.new_deal(["PLAT-ENT"], company=over["associations"]["companies"][0])
    await live.start(deal_id)
    await until(live, deal_id, lambda s: s.stage is Stage.ON_HOLD)
    sent = await q2c("approve-credit", f"hubspot:{deal_id}", "--approver", "controller", "--reason", "prepaid")
    assert sent.exit_code == 0, sent.output
    done = await until(live, deal_id, lambda s: s.stage is Stage.COMPLETED)
    assert [(h.decision, h.decided_by) for h in done.holds] == [("approved", "controller")]


async def test_a_deal_without_a_saga_is_said_plainly(live):
    missing = f"nosuch{uuid.uuid4().hex[:6]}"
    for command in (["status", missing], ["retry", f"hubspot:{missing}", "--by", "alice"]):
        answered = await q2c(*command)
        assert answered.exit_code == 2, answered.output
        assert f"no saga q2c-hubspot-{missing}" in answered.output
