"""Bulk credit decisions as an operator types them (`q2c` on the dev server): `--query` sends one Workflow
Update per saga and prints each answer, a refusal with its reason; `--batch` starts one Temporal batch job of
signals over the query, once for the same command, and `q2c batch status` follows it to completion."""

from __future__ import annotations

import pytest
from temporalio.api.workflowservice.v1 import ListBatchOperationsRequest

from client.batch import job_id, payload, running_sagas
from models.saga import CancelRequest, CreditDecision, OperatorDecision, Stage
from tests.conftest import Sagas
from tests.test_cli import live, q2c, until, worker
from tests.test_workbench import no_tax_company

__all__ = ["live", "worker"]  # the fixtures, shared with tests/test_cli.py


async def on_hold(live: Sagas) -> str:
    """A fresh deal of the over-credit customer, its saga waiting for a credit decision."""
    over = live.sim.store.require("hubspot", "deals", live.sim.manifest["deals"]["over_credit"][0])
    deal_id = live.new_deal(["PLAT-ENT"], company=over["associations"]["companies"][0])
    await live.start(deal_id)
    await until(live, deal_id, lambda s: s.stage is Stage.ON_HOLD)
    return deal_id


async def parked(live: Sagas) -> str:
    """A saga parked on an exception (no tax registration): a credit decision does not apply to it."""
    deal_id = live.new_deal(["PLAT-PRO"], company=no_tax_company(live))
    await live.start(deal_id)
    await until(live, deal_id, lambda s: s.stage is Stage.NEEDS_ATTENTION)
    return deal_id


def among(*deal_ids: str) -> str:
    return "WorkflowId IN (" + ", ".join(f"'q2c-hubspot-{d}'" for d in deal_ids) + ")"


def job_of(output: str) -> str:
    line = next(line for line in output.splitlines() if "batch job" in line)
    return line.split()[-1]


async def test_a_batch_approve_releases_every_hold_once_and_an_out_of_place_signal_is_recorded(live: Sagas) -> None:
    held = [await on_hold(live) for _ in range(3)]
    elsewhere = await parked(live)
    command = ["approve-credit", "--query", among(*held, elsewhere), "--batch", "--approver", "alice"]

    sent = await q2c(*command, "--reason", "month-end review")
    assert sent.exit_code == 0, sent.output
    job = job_of(sent.output)
    assert job.startswith("q2c-approve_credit-alice-") and "started" in sent.output
    assert f"q2c batch status {job}" in sent.output and f"temporal batch describe --job-id {job}" in sent.output

    followed = await q2c("batch", "status", job, "--wait")
    assert followed.exit_code == 0, followed.output
    assert f"batch {job}: completed; 4 of 4 signalled, 0 failed" in followed.output
    assert "reason: q2c approve_credit by alice: month-end review" in followed.output

    for deal_id in held:
        done = await until(live, deal_id, lambda s: s.stage is Stage.COMPLETED)
        assert [(h.decision, h.decided_by, h.note) for h in done.holds] == [("approved", "alice", "month-end review")]
        assert [(d.action, d.accepted) for d in done.decisions] == [("approve_credit", True)]
    ignored = await until(live, elsewhere, lambda s: len(s.decisions) == 1)
    assert ignored.stage is Stage.NEEDS_ATTENTION and ignored.exception is not None
    assert [(d.action, d.accepted, d.note) for d in ignored.decisions] == [
        ("approve_credit", False, "nothing is on hold")
    ]

    again = await q2c(*command, "--reason", "month-end review")
    assert again.exit_code == 0, again.output
    assert job_of(again.output) == job and "already started by the same decision" in again.output
    assert "completed; 4 of 4 signalled" in again.output
    listed = await live.client.workflow_service.list_batch_operations(
        ListBatchOperationsRequest(namespace=live.client.namespace)
    )
    assert [info.job_id for info in listed.operation_info if info.job_id.startswith("q2c-approve_credit-")] == [job]
    assert len((await until(live, elsewhere, lambda s: True)).decisions) == 1  # no second signal was sent


async def test_a_query_approve_prints_each_sagas_answer_and_a_refusal_writes_nothing(live: Sagas) -> None:
    held, elsewhere = await on_hold(live), await parked(live)
    sent = await q2c("approve-credit", "--query", among(held, elsewhere), "--approver", "bob", "--rate", "20")
    assert sent.exit_code == 1, sent.output  # one refused
    assert f"approve_credit q2c-hubspot-{held}: accepted" in sent.output
    assert f"approve_credit q2c-hubspot-{elsewhere}: refused: nothing is on hold" in sent.output
    assert "approve_credit: 1 accepted, 1 refused or failed" in sent.output
    done = await until(live, held, lambda s: s.stage is Stage.COMPLETED)
    assert [(h.decision, h.decided_by) for h in done.holds] == [("approved", "bob")]
    untouched = await until(live, elsewhere, lambda s: True)
    assert untouched.decisions == [] and untouched.stage is Stage.NEEDS_ATTENTION  # the validator refused


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["reject-credit", "hubspot:1", "--batch"], "--batch goes with --query"),
        (["approve-credit", "hubspot:1", "--query", "WorkflowId = 'x'"], "not both"),
    ],
)
async def test_a_batch_needs_a_query_and_one_saga_excludes_a_query(args: list[str], said: str) -> None:
    refused = await q2c(*args)
    assert refused.exit_code == 2 and said in refused.output, refused.output


async def test_the_status_of_a_job_that_does_not_exist_is_said_plainly(live: Sagas) -> None:
    missing = await q2c("batch", "status", "q2c-approve_credit-nobody-000000000000")
    assert missing.exit_code == 2 and "no batch job q2c-approve_credit-nobody-000000000000" in missing.output


def test_the_job_id_is_the_decision_and_each_signal_carries_its_handlers_payload() -> None:
    same = job_id("retry", "Q2CHold='exception:credentials'", "alice@example.com", "token renewed")
    assert same == job_id("retry", "Q2CHold='exception:credentials'", "alice@example.com", "token renewed")
    assert same.startswith("q2c-retry-alice_example.com-")
    others = {
        job_id("skip", "Q2CHold='exception:credentials'", "alice@example.com", "token renewed"),
        job_id("retry", "Q2CHold='exception:permission_denied'", "alice@example.com", "token renewed"),
        job_id("retry", "Q2CHold='exception:credentials'", "bob", "token renewed"),
        job_id("retry", "Q2CHold='exception:credentials'", "alice@example.com", "again"),
    }
    assert same not in others and len(others) == 4
    assert payload("approve_credit", "alice", "ok") == CreditDecision(approver="alice", reason="ok")
    assert payload("cancel", "alice", "") == CancelRequest(requested_by="alice")
    assert payload("compensate", "alice", "x") == OperatorDecision(by="alice", reason="x")
    with pytest.raises(ValueError, match="decision 'billing_event'"):
        payload("billing_event", "alice", "")
    assert running_sagas("Q2CHold='credit_review'") == (
        "WorkflowType = 'QuoteToCash' AND ExecutionStatus = 'Running' AND (Q2CHold='credit_review')"
    )
