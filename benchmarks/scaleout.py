"""Scale-out: one and two `q2c worker` processes against the same dev server, sagas per second for each, and the
ERP queue's rate limit measured where it matters: ERP activities dispatched per second (from the histories) and
requests per second as the NetSuite simulator saw them, each as the worst 1 s sliding window.

The limit (`Q2C_ERP_ACTIVITIES_PER_SECOND`, the worker's `max_task_queue_activities_per_second`) is enforced by
the Temporal server's matching service for the whole `<queue>-erp` task queue, across every worker polling it;
it counts activity dispatches, not HTTP requests, so NetSuite sees it times the requests an ERP activity makes.
The third pass sets NetSuite's ceiling instead (`Q2C_NETSUITE_REQUESTS_PER_SECOND`, connectors/pacing.py), the
cap divided among the worker processes: what a vendor that counts requests per second needs.

Usage: python -m benchmarks.scaleout [--sagas 1000] [--erp-limit 20] [--netsuite-cap 20] [--workers 1 2]
       [--out benchmarks/results/scaleout.json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from temporalio.client import Client

from benchmarks.cost import start_deal
from benchmarks.harness import Rig, arrivals, cpu_seconds, make_deals, rig
from benchmarks.parked import settle
from benchmarks.rates import peak_in_window, within
from benchmarks.services import WorkerProcess
from client.sagas import SagaClient
from infra.settings import Q2CSettings
from models.saga import WORKFLOW_TYPE
from workers.worker import erp_queue

PASSES = ("throughput", "limit", "ceiling")
UNLIMITED = 100_000.0  # an env var cannot unset the limit; this high it never binds


async def count(client: Client, query: str) -> int:
    return (await client.count_workflows(query)).count


async def erp_dispatches(client: Client, workflow_ids: list[str], queue: str) -> list[float]:
    """When the server handed each ERP activity to a worker (ActivityTaskStarted), read from the histories."""
    gate, times = asyncio.Semaphore(20), list[float]()

    async def one(workflow_id: str) -> None:
        async with gate:
            history = await client.get_workflow_handle(workflow_id).fetch_history()
        on_queue = {
            e.event_id
            for e in history.events
            if e.HasField("activity_task_scheduled_event_attributes")
            and e.activity_task_scheduled_event_attributes.task_queue.name == queue
        }
        times.extend(
            e.event_time.ToDatetime(UTC).timestamp()
            for e in history.events
            if e.HasField("activity_task_started_event_attributes")
            and e.activity_task_started_event_attributes.scheduled_event_id in on_queue
        )

    await asyncio.gather(*(one(w) for w in workflow_ids))
    return times


async def trial(
    rig_: Rig, client: Client, workers: int, n: int, limit: float | None, cap: int | None = None
) -> dict[str, Any]:
    """n sagas through `workers` worker processes on a fresh task queue; the ERP queue limited to `limit`
    activities a second, NetSuite to `cap` requests a second (each process `cap // workers`)."""
    task_queue = f"scale-{workers}w-{uuid.uuid4().hex[:6]}"
    share = None if cap is None else cap // workers
    processes = [
        WorkerProcess(rig_, task_queue, UNLIMITED if limit is None else limit, netsuite_per_second=share)
        for _ in range(workers)
    ]
    try:
        for process in processes:
            process.wait_up()
        deals = make_deals(rig_.sim_url, n)
        sagas, gate = SagaClient(client, task_queue=task_queue), asyncio.Semaphore(50)
        workflow_ids: list[str] = []

        async def begin(deal: str) -> None:
            async with gate:
                workflow_ids.append((await start_deal(sagas, deal, deal)).workflow_id)

        cpu = [cpu_seconds(p.process.pid) for p in processes]
        began_wall, began = time.time(), time.perf_counter()
        await asyncio.gather(*(begin(d) for d in deals))
        mine = f"TaskQueue = '{task_queue}' AND WorkflowType = '{WORKFLOW_TYPE}'"
        await settle(client, f"{mine} AND ExecutionStatus = 'Running'", lambda running: running == 0)
        seconds, ended_wall = time.perf_counter() - began, time.time()
        completed = await count(client, f"{mine} AND Q2CStage = 'completed'")
        netsuite = within(arrivals(rig_.sim_url, "netsuite"), began_wall, ended_wall)
        dispatched = await erp_dispatches(client, workflow_ids, erp_queue(task_queue))
        return {
            "workers": workers,
            "n": n,
            "erp_limit_per_second": limit,
            "netsuite_cap_per_second": cap,
            "netsuite_cap_per_worker": share,
            "completed": completed,
            "seconds": round(seconds, 2),
            "sagas_per_second": round(n / seconds, 2),
            "erp_activities": len(dispatched),
            "erp_activities_peak_1s": peak_in_window(dispatched),
            "erp_activities_mean_per_second": round(len(dispatched) / seconds, 2),
            "netsuite_requests": len(netsuite),
            "netsuite_requests_per_erp_activity": round(len(netsuite) / max(1, len(dispatched)), 2),
            "netsuite_peak_1s": peak_in_window(netsuite),
            "netsuite_mean_per_second": round(len(netsuite) / seconds, 2),
            "worker_cpu_s": [round(cpu_seconds(p.process.pid) - c, 1) for p, c in zip(processes, cpu, strict=True)],
            "worker_metrics": [p.metrics() for p in processes],
        }
    finally:
        for process in processes:
            process.process.stop()


async def main(
    n: int, limit: float, cap: int, out: Path, worker_counts: list[int], kinds: Sequence[str] = PASSES
) -> dict[str, Any]:
    report: dict[str, Any] = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": f"python -m benchmarks.scaleout --sagas {n} --erp-limit {limit:g} --netsuite-cap {cap} --workers "
        + " ".join(map(str, worker_counts))
        + ("" if list(kinds) == list(PASSES) else " --passes " + " ".join(kinds)),
        "trials": [],
    }
    # throughput first, then the Temporal limit's honour across processes, then NetSuite's ceiling
    settings = {"throughput": (None, None), "limit": (limit, None), "ceiling": (None, cap)}
    passes = [settings[kind] for kind in PASSES if kind in kinds]
    with rig(counted=True) as rig_:
        client = await rig_.client()
        for limited, capped in passes:
            for workers in worker_counts:
                result = await trial(rig_, client, workers, n, limited, capped)
                report["trials"].append(result)
                print(json.dumps({k: v for k, v in result.items() if k != "worker_metrics"}), flush=True)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n")
    return report


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sagas", type=int, default=1000)
    parser.add_argument(
        "--erp-limit",
        type=float,
        default=Q2CSettings().erp_activities_per_second or 20.0,
        help="ERP activities per second (default: the configured Q2C_ERP_ACTIVITIES_PER_SECOND)",
    )
    parser.add_argument("--netsuite-cap", type=int, default=20, help="NetSuite requests per second, all workers")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--passes", nargs="+", choices=PASSES, default=list(PASSES))
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/scaleout.json"))
    args = parser.parse_args()
    asyncio.run(main(args.sagas, args.erp_limit, args.netsuite_cap, args.out, args.workers, args.passes))
