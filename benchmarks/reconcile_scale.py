"""Reconciliation at scale: N closed-won deals seeded (benchmarks.seed), one Reconciliation run over them.

Reports wall time, vendor requests per system and per deal (the simulators count every request), and each
continued run's history size. Repairs are off: the seeded deals have no saga, so each is reported missing,
and every deal is read in full (the per-deal reads a saga's records take).

Usage: python -m benchmarks.reconcile_scale --deals 10000 [--page-size 200] [--out benchmarks/results/reconcile.json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
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
        ids = await asyncio.to_thread(seed_closed_won, rig_.sim_url, db, deals)
        seeded_s = time.perf_counter() - began
        print(f"seeded {len(ids)} closed-won deals in {seeded_s:.1f} s", flush=True)
        client = await rig_.client()
        task_queue = f"reconcile-{uuid.uuid4().hex[:6]}"
        before = requests_by_system(rig_.sim_url)
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
            "deals_seeded": len(ids),
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
