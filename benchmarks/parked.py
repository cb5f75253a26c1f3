"""Parked at scale: n sagas on credit hold at once, released by one bulk operation, beside the engine floor
doing the same starts, hold and signal. Memory is the peak RSS of the benchmark process, which hosts the
worker (run it alone, `--sizes --parked N`, so earlier runs don't count).

The release is Temporal's batch operation (a signal to every workflow a visibility query matches, run by the
server), not one client call per saga: `q2c`'s bulk commands (`--query`) act one saga at a time at 5 a second.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from temporalio.api.batch.v1 import BatchOperationSignal
from temporalio.api.common.v1 import Payloads
from temporalio.api.workflowservice.v1 import DescribeBatchOperationRequest, StartBatchOperationRequest
from temporalio.client import Client

from benchmarks.floor import HOLD
from benchmarks.harness import BATCHER_RPS, rss_mb
from models.saga import CreditDecision


async def count(client: Client, query: str) -> int:
    return (await client.count_workflows(query)).count


async def settle(client: Client, query: str, done: Callable[[int], bool], stall_s: float = 600) -> None:
    """Poll the visibility count of `query` until `done(count)`; fail if it stops moving for `stall_s` (a saga
    that parks elsewhere or fails must not hang a run of hours)."""
    last, moved = -1, time.monotonic()
    while not done(seen := await count(client, query)):
        if seen != last:
            last, moved = seen, time.monotonic()
        elif time.monotonic() - moved > stall_s:
            raise RuntimeError(f"{query!r} stayed at {seen} for {stall_s:g} s")
        await asyncio.sleep(0.5)


async def release_all(client: Client, query: str) -> str:
    """Signal `approve_credit` to every running workflow `query` matches, as one server-side batch job."""
    job = f"bench-release-{uuid.uuid4().hex[:8]}"
    decision = CreditDecision(approver="bench", reason="bulk release")
    await client.workflow_service.start_batch_operation(
        StartBatchOperationRequest(
            namespace=client.namespace,
            visibility_query=f"{query} AND ExecutionStatus = 'Running'",
            job_id=job,
            reason="bench: release every credit hold",
            max_operations_per_second=BATCHER_RPS,
            signal_operation=BatchOperationSignal(
                signal="approve_credit",
                input=Payloads(payloads=await client.data_converter.encode([decision])),
                identity="bench",
            ),
        )
    )
    return job


async def batch_job(client: Client, job: str) -> dict[str, Any]:
    described = await client.workflow_service.describe_batch_operation(
        DescribeBatchOperationRequest(namespace=client.namespace, job_id=job)
    )
    closed = described.close_time.seconds > 0
    took = described.close_time.ToDatetime() - described.start_time.ToDatetime() if closed else None
    return {
        "signalled": described.complete_operation_count,
        "failed": described.failure_operation_count,
        "seconds": round(took.total_seconds(), 1) if took else None,
    }


class PeakRss:
    """The process's largest RSS, sampled twice a second while a phase runs."""

    def __init__(self) -> None:
        self.peak = rss_mb()

    async def sample(self) -> None:
        while True:
            self.peak = max(self.peak, rss_mb())
            await asyncio.sleep(0.5)


async def park_and_release(
    client: Client,
    n: int,
    start: Callable[[int], Awaitable[Any]],
    queue: str,
    workflow_type: str,
    ended_as: str | None = None,
    cpu: Callable[[], dict[str, float]] | None = None,
) -> dict[str, Any]:
    """Start n (50 in flight), wait until all n are on hold, release them in bulk, wait until none runs;
    `ended_as` narrows what counts as completed (the saga: `Q2CStage = 'completed'`). `cpu`: CPU seconds so far of
    each process that works for the run (the worker, the simulators, Temporal), read before and after."""
    mine = f"TaskQueue = '{queue}' AND WorkflowType = '{workflow_type}'"
    gate, peak = asyncio.Semaphore(50), PeakRss()
    sampling = asyncio.create_task(peak.sample())
    done = f"{mine} AND ExecutionStatus = 'Completed'" + (f" AND {ended_as}" if ended_as else "")
    done_before = await count(client, done)

    async def begin(index: int) -> None:
        async with gate:
            await start(index)

    cpu_before = cpu() if cpu else {}
    began = time.perf_counter()
    await asyncio.gather(*(begin(i) for i in range(n)))
    await settle(client, f"{mine} AND Q2CHold = '{HOLD}'", lambda seen: seen >= n)
    parked_s, rss_parked = time.perf_counter() - began, rss_mb()
    released = time.perf_counter()
    job = await release_all(client, f"{mine} AND Q2CHold = '{HOLD}'")
    await settle(client, f"{mine} AND ExecutionStatus = 'Running'", lambda running: running == 0)
    release_s = time.perf_counter() - released
    sampling.cancel()
    spent = {name: seconds - cpu_before[name] for name, seconds in cpu().items()} if cpu else {}
    return {
        "n": n,
        "seconds_to_park_all": round(parked_s, 1),
        "seconds_release_to_done": round(release_s, 1),
        "per_second": round(n / (parked_s + release_s), 2),
        "completed": await count(client, done) - done_before,
        "rss_mb_parked": round(rss_parked, 1),
        "rss_mb_peak": round(peak.peak, 1),
        "batch": await batch_job(client, job),
        **(
            {
                "cpu_per_saga_s": {
                    **{k: round(v / n, 4) for k, v in spent.items()},
                    "in_all": round(sum(spent.values()) / n, 4),
                }
            }
            if spent
            else {}
        ),
    }


def compared(floor: dict[str, Any], saga: dict[str, Any]) -> dict[str, float]:
    """Saga / floor, as rates (n over seconds) for each phase and in all: 1.0 is the engine's own speed.

    `cpu_allows`: floor CPU per saga over the saga's, the rate ratio a machine whose cores are the limit allows."""
    ratios = {
        "park": round(floor["seconds_to_park_all"] / saga["seconds_to_park_all"], 3),
        "release_to_done": round(floor["seconds_release_to_done"] / saga["seconds_release_to_done"], 3),
        "in_all": round(saga["per_second"] / floor["per_second"], 3),
    }
    if "cpu_per_saga_s" in floor and "cpu_per_saga_s" in saga:
        ratios["cpu_allows"] = round(floor["cpu_per_saga_s"]["in_all"] / saga["cpu_per_saga_s"]["in_all"], 3)
    return ratios
