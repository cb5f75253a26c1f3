"""Render a benchmark JSON as the tables of BENCHMARKS.md: `python -m benchmarks.report results.json`."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any


def render(report: dict[str, Any]) -> str:
    machine = report["machine"]
    lines = [
        f"Measured {report['date']} on {machine['cpus']} CPUs, {machine['platform']}, Python {machine['python']};",
        f"dev server storage: {report.get('dev_server_storage', 'sqlite file')}. Command: `{report['command']}`.",
        "",
        "| run | N | ended | seconds | per second | p50 s | p95 s | p99 s "
        "| CPU s per saga (worker + simulators + Temporal, in all) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for run in report["runs"]:
        per = run["cpu_per_saga_s"]
        ended = ", ".join(f"{n} {stage}" for stage, n in run.get("outcomes", {}).items()) or "-"
        lines.append(
            f"| {run['kind']} | {run['n']} | {ended} | {run['seconds']} | {run['per_second']} | {run['p50']} | "
            f"{run['p95']} | {run['p99']} | {per} ({run['cpu_worker_s']} + {run['cpu_simulators_s']} + "
            f"{run['cpu_temporal_s']} in all) |"
        )
    ratios = ", ".join(f"N={n}: {r}" for n, r in report.get("ratio_saga_to_floor", {}).items())
    lines += [
        "",
        f"Saga throughput / engine floor, same run: {ratios}.",
        "",
        "| saga | end | history events | history bytes | activities | local activities | upserts | signals/updates "
        "| timers | billable actions | USD per million sagas | patch markers + version upserts (not billed) |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, shape in report["cost"]["sagas"].items():
        unbilled = f"{shape.get('patch_markers', '-')} + {shape.get('version_upserts', '-')}"
        lines.append(
            f"| {name} | {shape['stage']} | {shape['events']} | {shape['bytes']} | {shape['activities']} | "
            f"{shape['local_activities']} | {shape['upserts']} | {shape['signals']} | {shape['timers']} | "
            f"{shape['actions']} | {shape['usd_per_million_sagas']} | {unbilled} |"
        )
    cost = report["cost"]
    if lifecycle := cost.get("lifecycle"):
        lines += [
            "",
            "Contract lifecycle, from the kept histories of its tests (tests/histories/contract/):",
            "",
            "| history | events | bytes | activities | local activities | signals | timers | billable actions |",
            "|---|---|---|---|---|---|---|---|",
        ]
        lines += [
            f"| {name} | {s['events']} | {s['bytes']} | {s['activities']} | {s['local_activities']} | "
            f"{s['signals']} | {s['timers']} | {s['actions']} |"
            for name, s in lifecycle.items()
        ]
    lines += [
        "",
        f"Theoretical minimum: {cost['theoretical_minimum_actions']} actions (a start plus one per step). "
        f"Price used: ${cost['price_per_million_actions_usd']} per million actions.",
    ]
    if parked := report.get("parked"):
        lines += [
            "",
            f"Parked: {parked['n']} sagas on credit hold at once after {parked['seconds_to_park_all']} s; "
            f"worker RSS {parked['worker_rss_mb_parked']} MB; all approved by signal and completed "
            f"{parked['seconds_to_release_all']} s later.",
        ]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.stdout.write(render(json.loads(Path(sys.argv[1]).read_text())))
