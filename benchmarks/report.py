"""Render benchmark JSON as the tables of BENCHMARKS.md: `python -m benchmarks.report results/*.json` (a run,
the scale-out or the ingress, told apart by their keys)."""

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
    if report["runs"]:
        lines += ["", *cache_table(report["runs"])]
    if parked := report.get("parked"):
        lines += ["", *parked_lines(parked)]
    return "\n".join(lines) + "\n"


def worker_figures(metrics: dict[str, dict[str, float]]) -> dict[str, float]:
    """The worker's counters over every scope (workflow type, task queue): summed, the cache size at its peak."""
    total: dict[str, float] = {}
    for values in metrics.values():
        for name, value in values.items():
            total[name] = max(total.get(name, 0), value) if name == "sticky_cache_size" else total.get(name, 0) + value
    return total


def _mean(figures: dict[str, float], name: str) -> str:
    count = figures.get(f"{name}_count", 0)
    return f"{figures.get(f'{name}_ms', 0) / count:.1f}" if count else "-"


def cache_table(runs: list[dict[str, Any]]) -> list[str]:
    """What the fall with N is made of: cache, sticky queue, replays and task latencies, per run."""
    lines = [
        "| run | N | workflow tasks | sticky hits | sticky misses | forced evictions | cache peak "
        "| mean task ms | replays | mean replay ms | mean task schedule-to-start ms |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for run in runs:
        f = worker_figures(run.get("worker_metrics", {}))
        lines.append(
            f"| {run['kind']} | {run['n']} | {f.get('workflow_task_execution_latency_count', 0):.0f} | "
            f"{f.get('sticky_cache_hit', 0):.0f} | {f.get('sticky_cache_miss', 0):.0f} | "
            f"{f.get('sticky_cache_total_forced_eviction', 0):.0f} | {f.get('sticky_cache_size', 0):.0f} | "
            f"{_mean(f, 'workflow_task_execution_latency')} | {f.get('workflow_task_replay_latency_count', 0):.0f} | "
            f"{_mean(f, 'workflow_task_replay_latency')} | {_mean(f, 'workflow_task_schedule_to_start_latency')} |"
        )
    return lines


def parked_lines(parked: dict[str, Any]) -> list[str]:
    if "floor" not in parked:  # the older shape: the saga alone, released one signal at a time
        return [
            f"Parked: {parked['n']} sagas on credit hold at once after {parked['seconds_to_park_all']} s; "
            f"worker RSS {parked['worker_rss_mb_parked']} MB; all approved by signal and completed "
            f"{parked['seconds_to_release_all']} s later."
        ]
    lines = [
        f"Parked: {parked['n']} on credit hold at once, released by one batch signal (Temporal's batch operation):",
        "",
        "| run | seconds to park all | batch job s | release to all done s | per second in all | completed "
        "| RSS MB parked | RSS MB peak | forced evictions | sticky misses |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for kind in ("floor", "saga"):
        run, f = parked[kind], worker_figures(parked[kind].get("worker_metrics", {}))
        lines.append(
            f"| {kind} | {run['seconds_to_park_all']} | {run['batch']['seconds']} | {run['seconds_release_to_done']} "
            f"| {run['per_second']} | {run['completed']} | {run['rss_mb_parked']} | {run['rss_mb_peak']} | "
            f"{f.get('sticky_cache_total_forced_eviction', 0):.0f} | {f.get('sticky_cache_miss', 0):.0f} |"
        )
    ratio = parked["ratio_saga_to_floor"]
    lines += [
        "",
        f"Saga / floor: parking {ratio['park']}, release to done {ratio['release_to_done']}, in all "
        f"{ratio['in_all']} (target >= 0.9). RSS is the benchmark process's, which hosts the worker.",
    ]
    if "cpu_allows" in ratio:  # runs before 2026-11-29 kept no CPU figures
        floor, saga = parked["floor"]["cpu_per_saga_s"], parked["saga"]["cpu_per_saga_s"]
        lines.append(
            f"CPU per saga (worker + simulators + Temporal): saga {saga['in_all']} s "
            f"({saga['worker']} + {saga['simulators']} + {saga['temporal']}), floor {floor['in_all']} s "
            f"({floor['worker']} + {floor['simulators']} + {floor['temporal']}): where the cores are the limit, "
            f"the saga can reach {ratio['cpu_allows']} of the floor's rate."
        )
    return lines


def render_scaleout(report: dict[str, Any]) -> str:
    lines = [
        f"Measured {report['date']}. Command: `{report['command']}`.",
        "",
        "| workers | ERP limit /s | NetSuite ceiling /s (each worker) | sagas | completed | seconds | sagas per second "
        "| ERP activities peak 1 s | ERP activities mean /s | NetSuite requests | NetSuite requests peak 1 s "
        "| NetSuite mean /s | requests per ERP activity | worker CPU s | sagas each worker completed |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for t in report["trials"]:
        limit = "none" if t["erp_limit_per_second"] is None else f"{t['erp_limit_per_second']:g}"
        cap = t.get("netsuite_cap_per_second")  # older runs had no ceiling
        ceiling = "none" if cap is None else f"{cap} ({t['netsuite_cap_per_worker']})"
        lines.append(
            f"| {t['workers']} | {limit} | {ceiling} | {t['n']} | {t['completed']} | {t['seconds']} | "
            f"{t['sagas_per_second']} | {t['erp_activities_peak_1s']} | {t['erp_activities_mean_per_second']} | "
            f"{t.get('netsuite_requests', '')} | {t['netsuite_peak_1s']} | "
            f"{t['netsuite_mean_per_second']} | {t['netsuite_requests_per_erp_activity']} | "
            f"{' + '.join(map(str, t['worker_cpu_s']))} | "
            f"{' + '.join(str(int(m.get('workflow_completed', 0))) for m in t['worker_metrics'])} |"
        )
    return "\n".join(lines) + "\n"


def render_ingress(report: dict[str, Any]) -> str:
    lines = [
        f"Measured {report['date']}. Command: `{report['command']}`.",
        "",
        "| phase | deliveries | seconds | per second | p50 ms | p95 ms | p99 ms | max ms | answers "
        "| sent again | lost | sagas seen (expected) | joined |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for phase in ("sustained", "burst"):
        p = report[phase]
        expected = p.get("distinct_deals", p["deliveries"])
        answers = ", ".join(f"{n}x {status}" for status, n in sorted(p["statuses"].items()))
        lines.append(
            f"| {phase} | {p['deliveries']} | {p['seconds']} | {p['per_second']} | {p['answer_p50_ms']} | "
            f"{p['answer_p95_ms']} | {p['answer_p99_ms']} | {p['answer_max_ms']} | {answers} | {p['sent_again']} | "
            f"{p['lost']} | {p['sagas_seen']} ({expected}) | {p['joined']} |"
        )
    cpu = report["sustained"].get("ingress_cpu_ms_per_delivery")
    lines += ["", f"The ingress's own CPU per delivery, sustained: {cpu} ms."]
    return "\n".join(lines) + "\n"


def render_any(report: dict[str, Any]) -> str:
    if "trials" in report:
        return render_scaleout(report)
    if "sustained" in report:
        return render_ingress(report)
    return render(report)


if __name__ == "__main__":
    for path in sys.argv[1:]:
        sys.stdout.write(render_any(json.loads(Path(path).read_text())) + "\n")
