"""The worker's own counters during a benchmark run: workflow cache, sticky queue, replays, task latencies.

The SDK core reports them through a metric buffer on the client's runtime (no Prometheus needed). Counters are
summed, histograms counted and summed, gauges kept at their last value; each per workflow type, so the saga and
the engine floor are read apart in the same run.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from typing import Any

from temporalio.runtime import (
    BUFFERED_METRIC_KIND_COUNTER,
    BUFFERED_METRIC_KIND_GAUGE,
    MetricBuffer,
    Runtime,
    TelemetryConfig,
)

WANTED = (
    "sticky_cache_hit",
    "sticky_cache_miss",
    "sticky_cache_size",
    "sticky_cache_total_forced_eviction",
    "workflow_task_replay_latency",
    "workflow_task_execution_latency",
    "workflow_task_schedule_to_start_latency",
    "workflow_activation_execution_latency",
    "workflow_task_execution_failed",
    "activity_schedule_to_start_latency",
    "workflow_completed",
)


class WorkerMetrics:
    """A runtime whose metrics land in a buffer; `read()` drains it into running totals."""

    def __init__(self) -> None:
        self.buffer = MetricBuffer(200_000)
        self.runtime = Runtime(telemetry=TelemetryConfig(metrics=self.buffer))
        self.totals: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))

    def read(self) -> None:
        for update in self.buffer.retrieve_updates():
            name = update.metric.name.removeprefix("temporal_")
            if name not in WANTED:
                continue
            attributes: dict[str, Any] = dict(update.attributes)
            scope = str(attributes.get("workflow_type") or attributes.get("task_queue") or "-")
            totals = self.totals[scope]
            if update.metric.kind == BUFFERED_METRIC_KIND_COUNTER:
                totals[name] += update.value
            elif update.metric.kind == BUFFERED_METRIC_KIND_GAUGE:
                totals[name] = max(totals[name], update.value)  # the peak: a cache's size at its fullest
            else:  # a histogram: how many, and how long in all (milliseconds)
                totals[f"{name}_count"] += 1
                totals[f"{name}_ms"] += update.value

    async def drain(self, every: float = 0.5) -> None:
        """Read the buffer often: left to fill, the SDK drops updates and then panics on the next read."""
        while True:
            self.read()
            await asyncio.sleep(every)

    def window(self) -> dict[str, dict[str, float]]:
        """The totals since the last window, and start a new one."""
        self.read()
        taken = {scope: {k: round(v, 1) for k, v in values.items()} for scope, values in self.totals.items()}
        self.totals.clear()
        return taken
