"""`make bench`: the engine floor, saga throughput and cost, and parked holds at scale.

Usage: python -m benchmarks.run [--sizes 100 1000 5000] [--parked 10000] [--out benchmarks/results/latest.json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import statistics
import time
import uuid
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

from temporalio.client import Client, WorkflowHandle
from temporalio.worker import Worker

import workers.worker
from benchmarks.cost import cost, start_deal
from benchmarks.floor import EngineFloor, FloorInput, noop
from benchmarks.harness import Rig, cpu_seconds, make_deals, rig
from benchmarks.metrics import WorkerMetrics
from benchmarks.parked import compared, park_and_release
from client.sagas import SagaClient
from devstack.rig import simulated_worker
from models.saga import WORKFLOW_TYPE
from workers.worker import sandbox_runner
from workflows import search


@dataclass
class Run:
    kind: str
    n: int
    seconds: float
    per_second: float
    p50: float
    p95: float
    p99: float
    cpu_worker_s: float
    cpu_simulators_s: float
    cpu_temporal_s: float
    outcomes: dict[str, int]

    @property
    def cpu_per_saga(self) -> float:
        return (self.cpu_worker_s + self.cpu_simulators_s + self.cpu_temporal_s) / self.n


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def timed(kind: str, n: int, rig_: Rig, client: Client, task_queue: str, start: Any) -> Run:
    """Start n workflows (50 starts in flight) and wait for all of them to close.

    Waiting is one visibility query a second, not n long-polls (the dev server caps those per
    namespace). Latency is the server's own start-to-close time of each workflow.
    """
    cpu = (time.process_time(), cpu_seconds(rig_.simulators.pid), cpu_seconds(rig_.server.pid))
    gate = asyncio.Semaphore(50)
    handles: list[WorkflowHandle[Any, Any]] = []

    async def one(index: int) -> None:
        async with gate:
            handles.append(await start(index))

    began = time.perf_counter()
    await asyncio.gather(*(one(i) for i in range(n)))
    workflow_type = WORKFLOW_TYPE if kind == "saga" else "EngineFloor"  # not the Contract a sale opens: it lives on
    running = f"TaskQueue = '{task_queue}' AND WorkflowType = '{workflow_type}' AND ExecutionStatus = 'Running'"
    while await _count(client, running) > 0:
        await asyncio.sleep(1)
    seconds = time.perf_counter() - began
    latencies: list[float] = []
    outcomes: dict[str, int] = {}

    async def closed(handle: WorkflowHandle[Any, Any]) -> None:
        async with gate:
            described = await handle.describe()
        assert described.close_time is not None
        latencies.append((described.close_time - described.start_time).total_seconds())
        stage = (
            described.typed_search_attributes.get(search.STAGE)
            if kind == "saga"
            else getattr(described.status, "name", "unknown")
        )
        outcomes[str(stage).lower()] = outcomes.get(str(stage).lower(), 0) + 1

    await asyncio.gather(*(closed(h) for h in handles))
    return Run(
        kind,
        n,
        round(seconds, 2),
        round(n / seconds, 2),
        round(statistics.median(latencies), 3),
        round(percentile(latencies, 0.95), 3),
        round(percentile(latencies, 0.99), 3),
        round(time.process_time() - cpu[0], 2),
        round(cpu_seconds(rig_.simulators.pid) - cpu[1], 2),
        round(cpu_seconds(rig_.server.pid) - cpu[2], 2),
        outcomes,
    )


async def parked(
    client: Client, rig_: Rig, task_queue: str, n: int, held: dict[str, Any], metrics: WorkerMetrics
) -> dict[str, Any]:
    """n on credit hold at once, released in bulk: the saga, then the engine floor (same steps, hold and signal)."""
    shape = FloorInput(steps=held["steps"], upserts=held["upserts"], hold_after=held["steps_before_decision"])
    floor_queue, tag = f"{task_queue}-floor", uuid.uuid4().hex[:6]

    async def start_floor(i: int) -> None:
        await client.start_workflow(EngineFloor.run, shape, id=f"parked-floor-{tag}-{i}", task_queue=floor_queue)

    deals = make_deals(rig_.sim_url, n, ["PLAT-ENT"], company="50000")  # the over-credit company: all held
    sagas = SagaClient(client, task_queue=task_queue)

    async def start_saga(i: int) -> None:
        await start_deal(sagas, deals[i], deals[i])

    def cpu() -> dict[str, float]:
        return {
            "worker": time.process_time(),
            "simulators": cpu_seconds(rig_.simulators.pid),
            "temporal": cpu_seconds(rig_.server.pid),
        }

    metrics.window()  # the saga first: its RSS peak is then not the floor's high-water mark (Python keeps its heap)
    saga = await park_and_release(client, n, start_saga, task_queue, WORKFLOW_TYPE, "Q2CStage = 'completed'", cpu)
    saga["worker_metrics"] = metrics.window()
    floor = await park_and_release(client, n, start_floor, floor_queue, "EngineFloor", cpu=cpu)
    floor["worker_metrics"] = metrics.window()
    return {"n": n, "floor": floor, "saga": saga, "ratio_saga_to_floor": compared(floor, saga)}


async def _count(client: Client, query: str) -> int:
    return (await client.count_workflows(query)).count


async def main(
    sizes: list[int],
    parked_n: int,
    out: Path,
    durable: bool,
    max_cached: int | None = None,
    passthrough: list[str] | None = None,
) -> dict[str, Any]:
    report: dict[str, Any] = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {
            "python": platform.python_version(),
            "cpus": __import__("os").cpu_count(),
            "platform": platform.platform(),
        },
        "command": f"python -m benchmarks.run --sizes {' '.join(map(str, sizes))} --parked {parked_n}"
        + ("" if durable else " --memory")
        + (f" --max-cached-workflows {max_cached}" if max_cached else "")
        + (f" --passthrough {' '.join(passthrough)}" if passthrough else ""),
        "dev_server_storage": "sqlite file" if durable else "memory",
        "runs": [],
    }
    metrics = WorkerMetrics()
    if passthrough:  # an experiment: more modules imported once instead of into each workflow run's sandbox
        workers.worker.PASSTHROUGH = (*workers.worker.PASSTHROUGH, *passthrough)  # type: ignore[assignment]
        report["passthrough_added"] = passthrough
    if max_cached is not None:  # the SDK's default is 1,000; the same setting on both of the worker's queues
        workers.worker.Worker = partial(Worker, max_cached_workflows=max_cached)  # type: ignore[assignment,misc]
        report["max_cached_workflows"] = max_cached
    with rig(durable=durable) as rig_:
        client = await rig_.client(runtime=metrics.runtime)
        draining = asyncio.create_task(metrics.drain())
        task_queue = f"bench-{uuid.uuid4().hex[:6]}"
        sagas = SagaClient(client, task_queue=task_queue)
        async with simulated_worker(client, rig_.sim_url, task_queue):
            floor_worker = Worker(
                client,
                task_queue=f"{task_queue}-floor",
                workflows=[EngineFloor],
                activities=[noop],
                workflow_runner=sandbox_runner(),
                max_cached_workflows=1000 if max_cached is None else max_cached,  # 1,000: the SDK's default
            )
            async with floor_worker:
                report["cost"] = await cost(client, rig_, task_queue)
                happy = report["cost"]["sagas"]["happy_path"]
                shape = FloorInput(steps=happy["steps"], upserts=happy["upserts"])
                print(f"saga shape: {happy}", flush=True)
                for n in sizes:
                    deals = make_deals(rig_.sim_url, n)
                    tag = uuid.uuid4().hex[:6]

                    async def start_floor(i: int, tag: str = tag) -> WorkflowHandle[Any, Any]:
                        return await client.start_workflow(
                            EngineFloor.run, shape, id=f"floor-{tag}-{i}", task_queue=f"{task_queue}-floor"
                        )

                    async def start_saga_(i: int, deals: list[str] = deals) -> WorkflowHandle[Any, Any]:
                        return (await start_deal(sagas, deals[i], str(i))).handle

                    for kind, start, queue in (
                        ("floor", start_floor, f"{task_queue}-floor"),
                        ("saga", start_saga_, task_queue),
                    ):
                        metrics.window()
                        run = await timed(kind, n, rig_, client, queue, start)
                        took = metrics.window()
                        report["runs"].append(
                            {**asdict(run), "cpu_per_saga_s": round(run.cpu_per_saga, 4), "worker_metrics": took}
                        )
                        print(json.dumps(report["runs"][-1]), flush=True)
                if parked_n:
                    held = report["cost"]["sagas"]["credit_hold"]
                    report["parked"] = await parked(client, rig_, task_queue, parked_n, held, metrics)
                    print(json.dumps(report["parked"]), flush=True)
        draining.cancel()
    for n in sizes:
        floor, saga = (next(r for r in report["runs"] if r["kind"] == k and r["n"] == n) for k in ("floor", "saga"))
        report.setdefault("ratio_saga_to_floor", {})[str(n)] = round(saga["per_second"] / floor["per_second"], 3)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps({"ratio_saga_to_floor": report.get("ratio_saga_to_floor"), "cost": report["cost"]}, indent=1))
    return report


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="*", default=[100, 1000, 5000], help="none: parked only")
    parser.add_argument("--parked", type=int, default=10000)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/latest.json"))
    parser.add_argument("--memory", action="store_true", help="dev server in memory (default: a SQLite file)")
    parser.add_argument("--max-cached-workflows", type=int, help="the worker's workflow cache (SDK default 1,000)")
    parser.add_argument("--passthrough", nargs="+", help="modules to add to the sandbox's pass-through (experiment)")
    args = parser.parse_args()
    asyncio.run(
        main(
            args.sizes,
            args.parked,
            args.out,
            durable=not args.memory,
            max_cached=args.max_cached_workflows,
            passthrough=args.passthrough,
        )
    )
