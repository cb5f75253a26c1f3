"""The CRM's synchronous intake: start the deal's saga or join it (Update-with-Start) and wait, a few seconds
at most, for the saga's own answer: the deal's problems by field and the credit verdict.

Temporal's recommended shape for "start if needed and tell me the early result": one request carries the
start and the `submit` update; the update returns once the saga has validated the deal and decided credit
(or parked, or stopped), while the rest of the saga runs on.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import timedelta

from temporalio.client import Client, WithStartWorkflowOperation, WorkflowUpdateRPCTimeoutOrCancelledError
from temporalio.exceptions import WorkflowAlreadyStartedError
from typing_extensions import Unpack

from client.starter import SagaTerms, saga_start
from models.saga import SagaStatus, Stage, Submission
from workflows.quote_to_cash import QuoteToCash
from workflows.quote_to_cash.handlers import answer

SUBMIT = "submit"  # the saga's update (public API)
ANSWER_WITHIN = 5.0  # seconds: what a person clicking "submit" in the CRM waits at most (the saga's own
# `submit` handler gives up at SUBMIT_WAIT, so no update stays in flight on a saga that is slow to answer)


@dataclass(frozen=True)
class Submitted:
    """The saga's answer, or `pending` when it took longer than `ANSWER_WITHIN` (the saga goes on)."""

    submission: Submission
    pending: bool = False


async def submit_deal(
    client: Client,
    crm: str,
    deal_id: str,
    *,
    triggered_by: str,
    correlation_id: str,
    task_queue: str,
    within: float = ANSWER_WITHIN,
    **terms: Unpack[SagaTerms],
) -> Submitted:
    """Start or join the deal's saga and wait for its first answer; a finished saga answers from its status."""
    request = saga_start(
        crm, deal_id, triggered_by=triggered_by, correlation_id=correlation_id, task_queue=task_queue, **terms
    )
    workflow_id = request.workflow_id
    start = WithStartWorkflowOperation(QuoteToCash.run, request.saga, **request.options)
    try:
        async with asyncio.timeout(within):
            submission = await client.execute_update_with_start_workflow(
                SUBMIT, start_workflow_operation=start, result_type=Submission, rpc_timeout=timedelta(seconds=within)
            )
        return Submitted(submission)
    except (TimeoutError, WorkflowUpdateRPCTimeoutOrCancelledError):
        return Submitted(Submission(workflow_id=workflow_id, stage=await _stage(client, workflow_id)), pending=True)
    except WorkflowAlreadyStartedError:  # finished already (never started twice): its status answers
        status = await client.get_workflow_handle(workflow_id).query("status", result_type=SagaStatus)
        return Submitted(answer(status, None))


async def _stage(client: Client, workflow_id: str) -> Stage:
    try:
        status = await client.get_workflow_handle(workflow_id).query("status", result_type=SagaStatus)
    except Exception:  # not started yet, or the worker is busy: the saga goes on either way
        return Stage.RECEIVED
    return status.stage
