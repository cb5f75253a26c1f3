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

from temporalio.client import Client, WorkflowHandle, WorkflowHistory
from temporalio.service import RPCError
from temporalio.worker import Worker

import workers.worker
from benchmarks.floor import EngineFloor, FloorInput, noop
from benchmarks.harness import Rig, cpu_seconds, make_deals, rig, rss_mb
from benchmarks.metrics import WorkerMetrics
from client.sagas import SagaClient
from client.starter import Started
from devstack.rig import simulated_worker
from models.saga import WORKFLOW_TYPE, Stage
from workers.worker import sandbox_runner
from workflows import search

PRICE_PER_MILLION_ACTIONS_USD = 50.0  # Temporal Cloud list price, first tier (docs.temporal.io/cloud/pricing)
# Billable per Temporal Cloud's list of actions (docs.temporal.io/cloud/actions). Not billable, so counted apart:
# a patch's marker (`core_patch`) and the SDK's upsert of TemporalChangeVersion that goes with it.
BILLABLE = (
    "workflow_execution_started",
    "activity_task_scheduled",
    "workflow_execution_signaled",
    "timer_started",
    "start_child_workflow_execution_initiated",
    "signal_external_workflow_execution_initiated",
)
VERSIONS = "TemporalChangeVersion"


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


async def start_deal(sagas: SagaClient, deal: str, correlation_id: str) -> Started:
    """Start (or join) a deal's saga; the starter's 2 s answer deadline is for webhooks, so a burst on 2 busy cores
    tries again: the same deal joins the run already started (USE_EXISTING), never a second one."""
    for attempt in range(10):
        try:
            return await sagas.start(deal, triggered_by="bench", correlation_id=correlation_id)
        except RPCError:
            if attempt == 9:
                raise
            await asyncio.sleep(0.5 * (attempt + 1))
    raise AssertionError("unreachable")


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


def shape_of(history: Any) -> dict[str, Any]:
    events = list(history.events)
    counts: dict[str, int] = {}
    for event in events:
        kind = event.WhichOneof("attributes").removesuffix("_event_attributes")
        counts[kind] = counts.get(kind, 0) + 1
    retries = sum(
        e.activity_task_started_event_attributes.attempt - 1
        for e in events
        if e.HasField("activity_task_started_event_attributes")
    )
    markers = [
        e.marker_recorded_event_attributes.marker_name for e in events if e.HasField("marker_recorded_event_attributes")
    ]
    upserted = [
        set(e.upsert_workflow_search_attributes_event_attributes.search_attributes.indexed_fields)
        for e in events
        if e.HasField("upsert_workflow_search_attributes_event_attributes")
    ]
    upserts = sum(1 for fields in upserted if fields - {VERSIONS})
    local = markers.count("core_local_activity")
    actions = sum(counts.get(k, 0) for k in BILLABLE) + retries + upserts + local
    steps = [
        "local" if e.HasField("marker_recorded_event_attributes") else "remote"
        for e in events
        if e.HasField("activity_task_scheduled_event_attributes")
        or (
            e.HasField("marker_recorded_event_attributes")
            and e.marker_recorded_event_attributes.marker_name == "core_local_activity"
        )
    ]
    return {
        "events": len(events),
        "bytes": sum(e.ByteSize() for e in events),
        "actions": actions,
        # the rule before 2026-11-28 (every upsert and marker): comparable with the older tables
        "actions_counting_patches": actions + (len(upserted) - upserts) + (len(markers) - local),
        "activities": counts.get("activity_task_scheduled", 0),
        "local_activities": steps.count("local"),
        "upserts": upserts,
        "version_upserts": len(upserted) - upserts,
        "patch_markers": markers.count("core_patch"),
        "signals": counts.get("workflow_execution_signaled", 0),
        "timers": counts.get("timer_started", 0),
        "steps": steps,
    }


async def cost(client: Client, rig_: Rig, task_queue: str) -> dict[str, Any]:
    """Actions, events and bytes per saga: straight through, with a hold, and compensated."""
    import httpx

    happy = make_deals(rig_.sim_url, 1)[0]
    held = make_deals(rig_.sim_url, 1, ["PLAT-ENT"], company="50000")[0]  # the over-credit company
    failed = make_deals(rig_.sim_url, 1)[0]
    shapes: dict[str, dict[str, Any]] = {}
    sagas = SagaClient(client, task_queue=task_queue)
    for name, deal in (("happy_path", happy), ("credit_hold", held), ("compensated", failed)):
        if name == "compensated":  # support refuses the entitlement: everything before it is undone
            httpx.post(
                f"{rig_.sim_url}/_sim/faults",
                json={
                    "system": "zendesk",
                    "kind": "business",
                    "method": "POST",
                    "count": 1,
                    "code": "RecordInvalid",
                    "path": "/api/v2/organizations/create_or_update*",  # with or without .json
                    "message": "refused",
                },
            ).raise_for_status()
        started = await start_deal(sagas, deal, name)
        if name == "credit_hold":
            while (await sagas.status(started.workflow_id)).stage is not Stage.ON_HOLD:
                await asyncio.sleep(0.05)
            await sagas.approve_credit(started.workflow_id, approver="bench")
        result = await started.handle.result()
        if name == "compensated" and result.stage is not Stage.COMPENSATED:
            raise RuntimeError(f"the compensated shape ended {result.stage.value}: the injected fault missed")
        shapes[name] = {"stage": result.stage.value, **shape_of(await started.handle.fetch_history())}
    minimum = 1 + len(shapes["happy_path"]["steps"])  # a start plus one action per step
    for shape in shapes.values():
        shape["usd_per_million_sagas"] = round(shape["actions"] * PRICE_PER_MILLION_ACTIONS_USD, 2)
    return {
        "sagas": shapes,
        "lifecycle": lifecycle_costs(),
        "theoretical_minimum_actions": minimum,
        "price_per_million_actions_usd": PRICE_PER_MILLION_ACTIONS_USD,
    }


KEPT_CONTRACTS = Path(__file__).parent.parent / "tests" / "histories" / "contract"


def lifecycle_costs() -> dict[str, dict[str, Any]]:
    """The contract lifecycle's shapes, from the kept histories of its tests (tests/histories/contract/: recorded
    on the time-skipping server by tests/test_contract*.py), so they are the code's runs, not this bench's."""
    shapes: dict[str, dict[str, Any]] = {}
    for path in sorted(KEPT_CONTRACTS.glob("*.json")):
        shape = shape_of(WorkflowHistory.from_json(path.stem, path.read_text()))
        shape.pop("steps")
        shapes[path.stem] = {**shape, "usd_per_million": round(shape["actions"] * PRICE_PER_MILLION_ACTIONS_USD, 2)}
    return shapes


async def parked(client: Client, rig_: Rig, task_queue: str, n: int) -> dict[str, Any]:
    """n sagas on credit hold at once: worker memory, then all approved, time until done."""
    deals = make_deals(rig_.sim_url, n, ["PLAT-ENT"], company="50000")
    gate = asyncio.Semaphore(50)
    handles: list[WorkflowHandle[Any, Any]] = []
    sagas = SagaClient(client, task_queue=task_queue)

    async def begin(deal: str) -> None:
        async with gate:
            handles.append((await start_deal(sagas, deal, deal)).handle)

    began = time.perf_counter()
    await asyncio.gather(*(begin(d) for d in deals))
    while await _count(client, f"Q2CHold = 'credit_review' AND TaskQueue = '{task_queue}'") < n:
        await asyncio.sleep(0.5)
    parked_after = time.perf_counter() - began
    memory = rss_mb()

    async def approve(handle: WorkflowHandle[Any, Any]) -> None:
        async with gate:
            await sagas.approve_credit(handle.id, approver="bench", reason="bulk release")

    done_query = f"TaskQueue = '{task_queue}' AND WorkflowType = '{WORKFLOW_TYPE}' AND Q2CStage = 'completed'"
    completed_before = await _count(client, done_query)
    released = time.perf_counter()
    await asyncio.gather(*(approve(h) for h in handles))
    running = f"TaskQueue = '{task_queue}' AND WorkflowType = '{WORKFLOW_TYPE}' AND ExecutionStatus = 'Running'"
    while await _count(client, running) > 0:
        await asyncio.sleep(1)
    completed = await _count(client, done_query) - completed_before
    return {
        "n": n,
        "seconds_to_park_all": round(parked_after, 1),
        "worker_rss_mb_parked": round(memory, 1),
        "seconds_to_release_all": round(time.perf_counter() - released, 1),
        "completed": completed,
    }


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
                    report["parked"] = await parked(client, rig_, task_queue, parked_n)
                    print(json.dumps(report["parked"]), flush=True)
    for n in sizes:
        floor, saga = (next(r for r in report["runs"] if r["kind"] == k and r["n"] == n) for k in ("floor", "saga"))
        report.setdefault("ratio_saga_to_floor", {})[str(n)] = round(saga["per_second"] / floor["per_second"], 3)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps({"ratio_saga_to_floor": report["ratio_saga_to_floor"], "cost": report["cost"]}, indent=1))
    return report


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 1000, 5000])
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
