"""Reconciliation at scale: N closed-won deals seeded (benchmarks.seed), one Reconciliation run over them.

Reports wall time, vendor requests per system, per deal and per path (the simulators count every request), the
peak RSS of the worker (this process) and the simulators from seeding's end, and each continued run's history
size. Repairs are off: the seeded deals have no saga state (a saga is still running, or one in 20 is missing),
and every deal is read in full (the reads a saga's records take).

Usage: python -m benchmarks.reconcile_scale --deals 10000 [--page-size 200] [--out benchmarks/results/reconcile.json]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from temporalio.client import Client

from benchmarks.harness import cpu_seconds, rig
from benchmarks.seed import seed_closed_won
from devstack.rig import simulated_worker
from models.reconcile import RECONCILE_TYPE, ReconcileInput, ReconciliationReport

SYSTEMS = ("hubspot", "netsuite", "stripe", "zendesk")


def requests_by_system(sim_url: str) -> dict[str, int]:
    counts = httpx.get(f"{sim_url}/_sim/requests", timeout=60).json()["requests"]
    found = dict.fromkeys(SYSTEMS, 0)
    for row in counts:
        found[row["system"]] = found.get(row["system"], 0) + int(row["count"])
    return found


def requests_by_path(sim_url: str) -> dict[str, int]:
    counts = httpx.get(f"{sim_url}/_sim/requests", timeout=60).json()["requests"]
    found: dict[str, int] = {}
    for row in counts:
        key = f"{row['system']} {row['method']} {row['path']}"
        found[key] = found.get(key, 0) + int(row["count"])
    return found


def by_path(before: dict[str, int], after: dict[str, int]) -> dict[str, int]:
    """Requests made during the run, by system, method and path (most first)."""
    spent = {k: v - before.get(k, 0) for k, v in after.items() if v - before.get(k, 0)}
    return dict(sorted(spent.items(), key=lambda kv: -kv[1]))


def reset_peak(pid: int) -> None:
    """Start the process's peak RSS (VmHWM) over from now (Linux: `5` to clear_refs), so seeding is not in it."""
    with contextlib.suppress(OSError):  # not permitted: the peak then includes seeding
        Path(f"/proc/{pid}/clear_refs").write_text("5")


def peak_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024, 1)
    return 0.0


async def histories(client: Client, workflow_id: str) -> list[dict[str, int]]:
    """Events and bytes of every run of the chain (continue-as-new), oldest first."""
    runs: list[dict[str, int]] = []
    async for execution in client.list_workflows(f"WorkflowId = '{workflow_id}'"):
        history = await client.get_workflow_handle(workflow_id, run_id=execution.run_id).fetch_history()
        events = list(history.events)
        runs.append({"events": len(events), "bytes": sum(e.ByteSize() for e in events)})
    return runs[::-1]


async def main(deals: int, page_size: int, pages_per_run: int, out: Path) -> dict[str, Any]:
    db = Path(tempfile.mkdtemp(prefix="q2c-reconcile-")) / "simulators.db"  # seeded from here, served by them
    with rig(durable=True, Q2C_SIM_DB=str(db)) as rig_:
        began = time.perf_counter()
        seeded = await asyncio.to_thread(seed_closed_won, rig_.sim_url, db, deals)
        seeded_s = time.perf_counter() - began
        print(f"seeded {seeded.deals} closed-won deals, {seeded.orders} orders in {seeded_s:.1f} s", flush=True)
        reset_peak(os.getpid())
        reset_peak(rig_.simulators.pid)
        client = await rig_.client()
        task_queue = f"reconcile-{uuid.uuid4().hex[:6]}"
        before = requests_by_system(rig_.sim_url)
        before_paths = requests_by_path(rig_.sim_url)
        cpu = (time.process_time(), cpu_seconds(rig_.simulators.pid), cpu_seconds(rig_.server.pid))
        async with simulated_worker(client, rig_.sim_url, task_queue):
            workflow_id = f"reconcile-bench-{uuid.uuid4().hex[:6]}"
            today = datetime.now(UTC).date()
            job = ReconcileInput(
                since=today - timedelta(days=30),
                until=today + timedelta(days=1),
                page_size=page_size,
                pages_per_run=pages_per_run,
                repair=False,
            )
            started = time.perf_counter()
            handle = await client.start_workflow(
                RECONCILE_TYPE, job, id=workflow_id, task_queue=task_queue, result_type=ReconciliationReport
            )
            report = await handle.result()
            wall = time.perf_counter() - started
        after = requests_by_system(rig_.sim_url)
        spent = {s: after[s] - before.get(s, 0) for s in after}
        result: dict[str, Any] = {
            "date": datetime.now(UTC).isoformat(timespec="seconds"),
            "machine": {"python": platform.python_version(), "platform": platform.platform()},
            "command": f"python -m benchmarks.reconcile_scale --deals {deals} --page-size {page_size}",
            "deals_seeded": seeded.deals,
            "orders_seeded": seeded.orders,
            "seconds_to_seed": round(seeded_s, 1),
            "checked": report.checked,
            "drift_counts": report.counts,
            "runs": report.runs,
            "seconds": round(wall, 1),
            "deals_per_second": round(report.checked / wall, 1) if wall else None,
            "requests": spent,
            "requests_per_deal": {s: round(n / max(report.checked, 1), 3) for s, n in spent.items()},
            "requests_per_deal_all": round(sum(spent.values()) / max(report.checked, 1), 3),
            "cpu_s": {
                "worker": round(time.process_time() - cpu[0], 1),
                "simulators": round(cpu_seconds(rig_.simulators.pid) - cpu[1], 1),
                "temporal": round(cpu_seconds(rig_.server.pid) - cpu[2], 1),
            },
            "requests_by_path": by_path(before_paths, requests_by_path(rig_.sim_url)),
            "peak_rss_mb": {"worker": peak_mb(os.getpid()), "simulators": peak_mb(rig_.simulators.pid)},
            "histories": await histories(client, workflow_id),
        }
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=1))
    return result


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--deals", type=int, default=10_000)
    parser.add_argument("--page-size", type=int, default=200)
    parser.add_argument("--pages-per-run", type=int, default=50)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/reconcile.json"))
    args = parser.parse_args()
    asyncio.run(main(args.deals, args.page_size, args.pages_per_run, args.out))
