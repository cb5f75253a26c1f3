"""Operator operations beyond one saga: the exception list, reconciliation runs and their schedule."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta
from itertools import groupby
from typing import TypeVar

from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleAlreadyRunningError,
    ScheduleIntervalSpec,
    ScheduleSpec,
    ScheduleUpdate,
    ScheduleUpdateInput,
)

from models.reconcile import RECONCILE_TYPE, ReconcileInput, ReconciliationReport
from models.saga import WORKFLOW_TYPE, SagaStatus

T = TypeVar("T")
SCHEDULE_ID = "q2c-reconciliation"
PARKED_QUERY = f"WorkflowType = '{WORKFLOW_TYPE}' AND Q2CStage = 'needs_attention'"


async def parked_sagas(client: Client, query: str | None = None) -> dict[str, list[SagaStatus]]:
    """Parked sagas by exception code, oldest first within each: what an operator works through."""
    found = await _parked(client, query)
    found.sort(key=lambda s: (s.exception.code, s.exception.since) if s.exception else ("", s.workflow_id))
    return {code: list(group) for code, group in groupby(found, key=lambda s: s.exception.code if s.exception else "")}


async def parked_groups(client: Client, query: str | None = None) -> dict[tuple[str, str], list[SagaStatus]]:
    """Parked sagas by exception code and system (`credentials` at `zendesk`), oldest first within each.

    `query` narrows the list (a visibility query, e.g. `Q2CHold='exception:credentials'`).
    """
    found = await _parked(client, query)
    found.sort(key=lambda s: (*_group(s), s.exception.since if s.exception else s.workflow_id))
    return {group: list(sagas) for group, sagas in groupby(found, key=_group)}


async def _parked(client: Client, query: str | None) -> list[SagaStatus]:
    found: list[SagaStatus] = []
    async for execution in client.list_workflows(f"{PARKED_QUERY} AND ({query})" if query else PARKED_QUERY):
        status = await client.get_workflow_handle(execution.id).query("status", result_type=SagaStatus)
        if status.exception is not None:
            found.append(status)
    return found


def _group(status: SagaStatus) -> tuple[str, str]:
    parked = status.exception
    return (parked.code, parked.error.system or "-") if parked else ("", "-")


async def each_matching(
    client: Client, query: str, act: Callable[[str], Awaitable[T]], *, per_second: float = 5.0
) -> AsyncIterator[tuple[str, T | Exception]]:
    """Act on every saga the visibility query matches, one at a time, at most `per_second`: a bulk retry of
    hundreds of sagas must not hit a vendor that just recovered (or Temporal) all at once. Yields each
    saga's result, or the error it raised (the others still get theirs)."""
    matching = [e.id async for e in client.list_workflows(f"WorkflowType = '{WORKFLOW_TYPE}' AND ({query})")]
    for workflow_id in sorted(matching):
        began = asyncio.get_running_loop().time()
        try:
            yield workflow_id, await act(workflow_id)
        except Exception as error:  # reported per saga; the bulk goes on
            yield workflow_id, error
        await asyncio.sleep(max(0.0, 1 / per_second - (asyncio.get_running_loop().time() - began)))


async def reconcile_now(client: Client, job: ReconcileInput, task_queue: str) -> ReconciliationReport:
    return await client.execute_workflow(
        RECONCILE_TYPE,
        job,
        id=f"q2c-reconcile-{uuid.uuid4().hex[:12]}",
        task_queue=task_queue,
        result_type=ReconciliationReport,
    )


async def apply_schedule(client: Client, every: timedelta, job: ReconcileInput, task_queue: str) -> str:
    """Create the reconciliation schedule, or bring an existing one to this interval and job."""
    schedule = Schedule(
        action=ScheduleActionStartWorkflow(RECONCILE_TYPE, job, id=f"{SCHEDULE_ID}-run", task_queue=task_queue),
        spec=ScheduleSpec(intervals=[ScheduleIntervalSpec(every=every)]),
    )
    try:
        await client.create_schedule(SCHEDULE_ID, schedule)
        return "created"
    except ScheduleAlreadyRunningError:

        def update(_: ScheduleUpdateInput) -> ScheduleUpdate:
            return ScheduleUpdate(schedule=schedule)

        await client.get_schedule_handle(SCHEDULE_ID).update(update)
        return "updated"


def report_table(report: ReconciliationReport) -> str:
    """The report as a plain table, for a terminal or a ticket."""
    lines = [
        f"reconciliation {report.since} .. {report.until}: {report.checked} closed-won deals checked in "
        f"{report.runs} run(s); " + ("clean" if report.clean else f"{sum(report.counts.values())} drift item(s)"),
    ]
    for kind, count in sorted(report.counts.items()):
        lines.append(f"  {kind:<22} {count}")
    if report.items:
        lines.append("")
        lines.append(f"{'kind':<22} {'deal':<8} {'system':<8} {'repair':<30} detail")
        for item in report.items:
            repair = item.repaired or (f"can: {item.repair.action}" if item.repair else "needs a person")
            lines.append(f"{item.kind.value:<22} {item.deal_id:<8} {item.system:<8} {repair:<30} {item.detail}")
    if report.omitted:
        lines.append(f"... and {report.omitted} more (counted above)")
    return "\n".join(lines)
