"""The benchmarks' rate helpers: what a vendor's per-second limit is compared with, and the worker's metrics."""

from __future__ import annotations

import pytest
from temporalio.worker import UnsandboxedWorkflowRunner
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner

import workers.worker
from benchmarks.parked import compared
from benchmarks.rates import peak_in_window, per_second, percentile, prometheus, within
from benchmarks.report import parked_lines, worker_figures
from benchmarks.sandbox import sandboxed, summary

RUN = {"completed": 1, "rss_mb_parked": 1, "rss_mb_peak": 1, "batch": {"seconds": 1}}


def test_the_peak_is_found_in_a_window_that_straddles_two_clock_seconds() -> None:
    # 3 requests late in second 0 and 3 early in second 1: no clock second holds more than 3, a 1 s window holds 6
    times = [10.7, 10.8, 10.9, 11.1, 11.2, 11.3]
    assert max(per_second(times, began=10.0)) == 3
    assert peak_in_window(times) == 6


def test_a_window_is_half_open_so_events_exactly_one_second_apart_are_not_counted_together() -> None:
    assert peak_in_window([0.0, 1.0, 2.0, 3.0]) == 1
    assert peak_in_window([0.0, 0.999, 1.0]) == 2


def test_the_peak_ignores_order_and_is_zero_without_events() -> None:
    assert peak_in_window([5.5, 5.0, 5.2, 9.0]) == 3
    assert peak_in_window([]) == 0


def test_per_second_counts_from_the_start_and_skips_earlier_events() -> None:
    assert per_second([99.0, 100.1, 100.2, 102.5], began=100.0) == [2, 0, 1]


def test_within_keeps_the_run_s_own_window_in_order() -> None:
    assert within([5.0, 1.0, 3.0, 2.0, 4.0], 2.0, 4.0) == [2.0, 3.0, 4.0]


def test_nearest_rank_percentile() -> None:
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 0.99) == 99.0
    assert percentile(values, 0.5) == 50.0
    assert percentile([7.0], 0.99) == 7.0
    with pytest.raises(ValueError, match="no values"):
        percentile([], 0.5)


EXPOSITION = """# HELP temporal_sticky_cache_hit_total x
# TYPE temporal_sticky_cache_hit_total counter
temporal_sticky_cache_hit_total{namespace="default",task_queue="q",workflow_type="QuoteToCash"} 40
temporal_sticky_cache_hit_total{namespace="default",task_queue="q",workflow_type="Other"} 2
temporal_sticky_cache_size{namespace="default"} 17
temporal_workflow_task_replay_latency_bucket{le="0.001"} 3
temporal_workflow_task_replay_latency_sum{workflow_type="QuoteToCash"} 0.25
temporal_workflow_task_replay_latency_count{workflow_type="QuoteToCash"} 5
temporal_request{operation="PollWorkflowTaskQueue"} 9
"""


def test_prometheus_sums_label_sets_drops_buckets_and_the_total_suffix() -> None:
    wanted = ("temporal_sticky_cache_hit", "temporal_sticky_cache_size", "temporal_workflow_task_replay_latency")
    assert prometheus(EXPOSITION, wanted) == {
        "temporal_sticky_cache_hit": 42.0,
        "temporal_sticky_cache_size": 17.0,
        "temporal_workflow_task_replay_latency_sum": 0.25,
        "temporal_workflow_task_replay_latency_count": 5.0,
    }


def test_saga_to_floor_is_a_ratio_of_rates_per_phase_and_in_all() -> None:
    floor = {"seconds_to_park_all": 10.0, "seconds_release_to_done": 20.0, "per_second": 4.0}
    saga = {"seconds_to_park_all": 20.0, "seconds_release_to_done": 25.0, "per_second": 3.0}
    assert compared(floor, saga) == {"park": 0.5, "release_to_done": 0.8, "in_all": 0.75}


def test_with_cpu_figures_the_comparison_says_what_rate_the_cores_allow() -> None:
    cpu = {"worker": 0.1, "simulators": 0.0, "temporal": 0.2}
    floor = {
        "seconds_to_park_all": 10.0,
        "seconds_release_to_done": 20.0,
        "per_second": 4.0,
        "cpu_per_saga_s": {**cpu, "in_all": 0.3},
    }
    saga = {
        "seconds_to_park_all": 20.0,
        "seconds_release_to_done": 25.0,
        "per_second": 3.0,
        "cpu_per_saga_s": {**cpu, "in_all": 0.4},
    }
    assert compared(floor, saga)["cpu_allows"] == 0.75
    assert parked_lines(
        {"n": 1, "floor": floor | RUN, "saga": saga | RUN, "ratio_saga_to_floor": compared(floor, saga)}
    )[-1].endswith("the saga can reach 0.75 of the floor's rate.")


def test_the_sandbox_summary_is_what_turning_it_off_saves_averaged_over_the_pairs() -> None:
    def run(sandbox: bool, worker: float, in_all: float, rate: float) -> dict[str, object]:
        return {"sandbox": sandbox, "per_second": rate, "cpu_per_saga_s": {"worker": worker, "in_all": in_all}}

    runs = [
        run(True, 0.2, 0.5, 3.0),
        run(False, 0.16, 0.46, 3.2),
        run(True, 0.22, 0.54, 3.0),
        run(False, 0.18, 0.5, 2.8),
    ]
    assert summary(runs) == {
        "worker_cpu_per_saga_on_s": 0.21,
        "worker_cpu_per_saga_off_s": 0.17,
        "sandbox_share_of_worker_cpu": 0.19,
        "sandbox_share_of_all_cpu": 0.077,
        "rate_on_to_off": 1.0,
    }


def test_the_sandbox_is_switched_off_only_inside_the_experiment() -> None:
    shipped = workers.worker.sandbox_runner
    with sandboxed(False):
        assert isinstance(workers.worker.sandbox_runner(), UnsandboxedWorkflowRunner)
    assert workers.worker.sandbox_runner is shipped and isinstance(shipped(), SandboxedWorkflowRunner)


def test_worker_figures_sum_counters_over_scopes_and_keep_the_cache_at_its_peak() -> None:
    metrics = {
        "q": {"sticky_cache_size": 700.0, "sticky_cache_total_forced_eviction": 3.0},
        "q-erp": {"sticky_cache_size": 0.0},
        "QuoteToCash": {"sticky_cache_hit": 90.0, "sticky_cache_total_forced_eviction": 2.0},
    }
    assert worker_figures(metrics) == {
        "sticky_cache_size": 700.0,
        "sticky_cache_total_forced_eviction": 5.0,
        "sticky_cache_hit": 90.0,
    }
