"""An operator's decision over many sagas as one Temporal batch operation (StartBatchOperation with a signal).

The server signals every running saga the visibility query matches, at its own rate (`worker.batcherRPS`,
50 a second per namespace unless raised), so 10,000 credit holds are released in minutes, not the half hour
that one Workflow Update per saga at 5 a second takes. The price: a batch cannot send updates, so nobody
hears each saga's answer. The signals of the same names are public API and do what the updates do; a
signal that does not apply (nothing on hold, nothing parked) is recorded as refused in the saga's
`decisions` and changes nothing else.

The job id is derived from the decision (action, query, who, why): the same command twice finds the job
the first one started instead of starting a second. Temporal never reuses a batch job id.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime

from pydantic import BaseModel
from temporalio.api.batch.v1 import BatchOperationSignal
from temporalio.api.common.v1 import Payloads
from temporalio.api.enums.v1 import BatchOperationState
from temporalio.api.workflowservice.v1 import (
    DescribeBatchOperationRequest,
    DescribeBatchOperationResponse,
    ListBatchOperationsRequest,
    StartBatchOperationRequest,
)
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from client.sagas import APPROVE_CREDIT, CANCEL, COMPENSATE, REJECT_CREDIT, RETRY, SKIP
from models.saga import WORKFLOW_TYPE, CancelRequest, CreditDecision, OperatorDecision

DECISIONS = (APPROVE_CREDIT, REJECT_CREDIT, CANCEL, RETRY, SKIP, COMPENSATE)


class BatchRefused(RuntimeError):
    """Temporal would not start the job (another batch runs in the namespace, or the query is invalid)."""


class BatchNotFound(LookupError):
    def __init__(self, job_id: str) -> None:
        super().__init__(f"no batch job {job_id}")
        self.job_id = job_id


def payload(action: str, by: str, reason: str) -> BaseModel:
    """The signal's input, as the saga's handler of that name takes it."""
    if action in (APPROVE_CREDIT, REJECT_CREDIT):
        return CreditDecision(approver=by, reason=reason)
    if action == CANCEL:
        return CancelRequest(requested_by=by, reason=reason)
    if action in (RETRY, SKIP, COMPENSATE):
        return OperatorDecision(by=by, reason=reason)
    raise ValueError(f"decision {action!r}: one of {', '.join(DECISIONS)}")


def running_sagas(query: str) -> str:
    """The operator's query narrowed to running sagas: a signal to a closed workflow can only fail."""
    return f"WorkflowType = '{WORKFLOW_TYPE}' AND ExecutionStatus = 'Running' AND ({query})"


def job_id(action: str, query: str, by: str, reason: str) -> str:
    """`q2c-<action>-<who>-<digest>`: readable in `temporal batch list`, the same for the same decision."""
    digest = hashlib.sha256(json.dumps([action, query, by, reason]).encode()).hexdigest()[:12]
    who = re.sub(r"[^A-Za-z0-9._-]+", "_", by)[:40] or "operator"
    return f"q2c-{action}-{who}-{digest}"


@dataclass(frozen=True)
class BatchJob:
    """A batch job as DescribeBatchOperation reports it."""

    job_id: str
    state: str  # running, completed, failed
    total: int
    completed: int
    failed: int
    started: datetime | None
    closed: datetime | None
    reason: str
    query: str

    @property
    def done(self) -> bool:
        return self.state != "running"

    @classmethod
    def of(cls, described: DescribeBatchOperationResponse) -> BatchJob:
        state = BatchOperationState.Name(described.state).removeprefix("BATCH_OPERATION_STATE_").lower()
        return cls(
            job_id=described.job_id,
            state=state,
            total=described.total_operation_count,
            completed=described.complete_operation_count,
            failed=described.failure_operation_count,
            started=described.start_time.ToDatetime(tzinfo=UTC) if described.HasField("start_time") else None,
            closed=described.close_time.ToDatetime(tzinfo=UTC) if described.HasField("close_time") else None,
            reason=described.reason,
            query=described.query,
        )


@dataclass(frozen=True)
class Sent:
    """What `send` did: started the job now, or found the one the same decision started before."""

    job: BatchJob
    new: bool


async def describe(client: Client, job: str) -> BatchJob:
    try:
        described = await client.workflow_service.describe_batch_operation(
            DescribeBatchOperationRequest(namespace=client.namespace, job_id=job)
        )
    except RPCError as error:
        if error.status is RPCStatusCode.NOT_FOUND:
            raise BatchNotFound(job) from None
        raise
    return BatchJob.of(described)


async def running_jobs(client: Client) -> list[str]:
    listed = await client.workflow_service.list_batch_operations(
        ListBatchOperationsRequest(namespace=client.namespace, page_size=100)
    )
    return [
        info.job_id for info in listed.operation_info if info.state == BatchOperationState.BATCH_OPERATION_STATE_RUNNING
    ]


async def send(
    client: Client, action: str, query: str, by: str, reason: str, *, per_second: float | None = None
) -> Sent:
    """Start the batch job for this decision, unless the same decision started it already."""
    job = job_id(action, query, by, reason)
    try:
        return Sent(await describe(client, job), new=False)
    except BatchNotFound:
        pass
    signal = BatchOperationSignal(
        signal=action,
        input=Payloads(payloads=await client.data_converter.encode([payload(action, by, reason)])),
        identity=f"q2c:{by}",
    )
    request = StartBatchOperationRequest(
        namespace=client.namespace,
        visibility_query=running_sagas(query),
        job_id=job,
        reason=f"q2c {action} by {by}" + (f": {reason}" if reason else ""),
        max_operations_per_second=per_second or 0,  # 0: the server's limit, worker.batcherRPS
        signal_operation=signal,
    )
    try:
        await client.workflow_service.start_batch_operation(request)
    except RPCError as error:
        if error.status in (RPCStatusCode.ALREADY_EXISTS, RPCStatusCode.RESOURCE_EXHAUSTED):
            try:  # the same command, run at the same moment, got there first
                return Sent(await describe(client, job), new=False)
            except BatchNotFound:
                pass
        if error.status is RPCStatusCode.RESOURCE_EXHAUSTED:
            others = ", ".join(await running_jobs(client)) or "unknown"
            raise BatchRefused(
                f"Temporal runs a limited number of batch jobs per namespace at once "
                f"(frontend.MaxConcurrentBatchOperationPerNamespace, default 1) and it is reached; running: {others}. "
                "Wait for it (q2c batch status JOB --wait), then run this again."
            ) from None
        if error.status is RPCStatusCode.INVALID_ARGUMENT:
            raise BatchRefused(f"Temporal refused the batch job: {error.message}") from None
        raise
    return Sent(await describe(client, job), new=True)


def shown(job: BatchJob) -> str:
    """One line for a terminal: state, counts, times, reason."""
    total = job.total if job.total or job.done else "?"  # counted once the job has listed the matches
    counts = f"{job.completed} of {total} signalled, {job.failed} failed"
    when = f"started {job.started:%Y-%m-%d %H:%M:%S}Z" if job.started else ""
    if job.closed:
        when += f", closed {job.closed:%Y-%m-%d %H:%M:%S}Z"
    return f"batch {job.job_id}: {job.state}; {counts}; {when}; reason: {job.reason}"
