"""What the workflow sandbox costs: saga-only runs with Temporal's sandbox on and off, alternated on one rig.

Issue 15 asks which of the suspects (cache, sticky queue, replays, pydantic, the sandbox) makes the saga slower
than the engine's floor. A profile attributes samples; this measures. Each pair runs the same N sagas twice, once
on the worker q2c ships (`workers.worker.sandbox_runner`) and once on `UnsandboxedWorkflowRunner`, each on a
fresh task queue and worker, alternating so that drift in the machine falls on both. The sandbox-off worker is
an experiment, not an option q2c offers: the sandbox is what stops a workflow from reaching the wall clock or
module state at run time, and replay tests only catch what a kept history exercises.

Usage: python -m benchmarks.sandbox [--sagas 300] [--pairs 2] [--out benchmarks/results/sandbox.json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import statistics
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from temporalio.client import Client, WorkflowHandle
from temporalio.worker import UnsandboxedWorkflowRunner

import workers.worker
from benchmarks.cost import start_deal
from benchmarks.harness import Rig, make_deals, rig
from benchmarks.run import timed
from client.sagas import SagaClient
from devstack.rig import simulated_worker


@contextmanager
def sandboxed(on: bool) -> Iterator[None]:
    """The workers built inside run their workflows in the sandbox (`on`) or straight on the worker's thread."""
    shipped = workers.worker.sandbox_runner
    if not on:
        workers.worker.sandbox_runner = UnsandboxedWorkflowRunner  # type: ignore[assignment]
    try:
        yield
    finally:
        workers.worker.sandbox_runner = shipped


async def one_run(client: Client, rig_: Rig, n: int, sandbox: bool) -> dict[str, Any]:
    queue = f"sandbox-{'on' if sandbox else 'off'}-{uuid.uuid4().hex[:6]}"
    sagas, deals = SagaClient(client, task_queue=queue), make_deals(rig_.sim_url, n)

    async def start(index: int) -> WorkflowHandle[Any, Any]:
        return (await start_deal(sagas, deals[index], str(index))).handle

    with sandboxed(sandbox):
        async with simulated_worker(client, rig_.sim_url, queue):
            run = await timed("saga", n, rig_, client, queue, start)
    return {
        "sandbox": sandbox,
        **asdict(run),
        "cpu_per_saga_s": {
            "worker": round(run.cpu_worker_s / n, 4),
            "simulators": round(run.cpu_simulators_s / n, 4),
            "temporal": round(run.cpu_temporal_s / n, 4),
            "in_all": round(run.cpu_per_saga, 4),
        },
    }


def summary(runs: list[dict[str, Any]]) -> dict[str, float]:
    """Means over the pairs: what the sandbox adds, as a share of the sandboxed figure."""

    def mean(sandbox: bool, figure: str) -> float:
        return statistics.mean(
            r["per_second"] if figure == "per_second" else r["cpu_per_saga_s"][figure]
            for r in runs
            if r["sandbox"] is sandbox
        )

    worker_on, worker_off = mean(True, "worker"), mean(False, "worker")
    all_on, all_off = mean(True, "in_all"), mean(False, "in_all")
    return {
        "worker_cpu_per_saga_on_s": round(worker_on, 4),
        "worker_cpu_per_saga_off_s": round(worker_off, 4),
        "sandbox_share_of_worker_cpu": round(1 - worker_off / worker_on, 3),
        "sandbox_share_of_all_cpu": round(1 - all_off / all_on, 3),
        "rate_on_to_off": round(mean(True, "per_second") / mean(False, "per_second"), 3),
    }


async def main(n: int, pairs: int, out: Path) -> dict[str, Any]:
    report: dict[str, Any] = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"python": platform.python_version(), "cpus": __import__("os").cpu_count()},
        "command": f"python -m benchmarks.sandbox --sagas {n} --pairs {pairs}",
        "runs": [],
    }
    with rig() as rig_:
        client = await rig_.client()
        for _ in range(pairs):
            for sandbox in (True, False):
                report["runs"].append(await one_run(client, rig_, n, sandbox))
                print(json.dumps(report["runs"][-1]), flush=True)
    report["summary"] = summary(report["runs"])
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report["summary"], indent=1))
    return report


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sagas", type=int, default=300)
    parser.add_argument("--pairs", type=int, default=2)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/sandbox.json"))
    args = parser.parse_args()
    asyncio.run(main(args.sagas, args.pairs, args.out))
