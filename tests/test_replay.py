"""The replay gate: every kept history must replay on today's workflow code, or in-flight sagas break."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from temporalio import workflow
from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer

from models.saga import SagaInput
from workflows.contract import ContractAmendment, ContractEntity
from workflows.quote_to_cash import QuoteToCash
from workflows.reconciliation import Reconciliation

HISTORIES = sorted((Path(__file__).parent / "histories").rglob("*.json"))


def history(path: Path) -> WorkflowHistory:
    """A kept history, under the id it ran with where a `.workflow_id` file says (contract child ids derive from it)."""
    recorded = path.with_suffix(".workflow_id")
    workflow_id = recorded.read_text().strip() if recorded.exists() else f"replay-{path.stem}"
    return WorkflowHistory.from_json(workflow_id, path.read_text())


def test_every_saga_path_has_a_kept_history():
    names = {p.stem for p in HISTORIES}
    assert {
        "happy_path",
        "credit_hold_approved",
        "credit_hold_rejected",
        "cancel_on_hold",
        "rate_limited",
        "business_failure_at_milestone_support",
        "cancel_during_invoice_erp",
        "billed_from_term_start",  # a term starting after the sale: billed from its first day
        # the contract entity and its change saga (tests/histories/contract/)
        "three_years",
        "two_expansions_in_order",
        "continued_as_new",
        "amendment_expansion",
        "amendment_compensated",
        "cancel_refund",  # the ERP's credit as a sales order with negative lines (before 2026-11-29)
        "cancel_refund_return_order",  # ... and as a return order, which NetSuite takes
        "contraction_refund_return_order",
        "contraction_refund_return_order_undone",
        # the scheduled reconciliation, before and after its contract checks (tests/histories/reconciliation/)
        "before_contracts_drift_repaired",
        "drift_repaired",
    } <= names


@pytest.mark.parametrize("path", HISTORIES, ids=[p.stem for p in HISTORIES])
async def test_history_replays_on_current_code(path):
    replayer = Replayer(
        workflows=[QuoteToCash, ContractEntity, ContractAmendment, Reconciliation],
        data_converter=pydantic_data_converter,
    )
    await replayer.replay_workflow(history(path))


@workflow.defn(name="QuoteToCash")
class ReorderedQuoteToCash:
    """A careless change: a timer before the first step. In-flight sagas would break on it."""

    @workflow.run
    async def run(self, saga: SagaInput) -> None:
        await workflow.sleep(timedelta(seconds=1))


async def test_the_gate_catches_an_incompatible_change():
    replayer = Replayer(workflows=[ReorderedQuoteToCash], data_converter=pydantic_data_converter)
    result = await replayer.replay_workflow(history(HISTORIES[0]), raise_on_replay_failure=False)
    assert result.replay_failure is not None
    assert (
        "Nondeterminism" in type(result.replay_failure).__name__ or "nondetermin" in str(result.replay_failure).lower()
    )
