"""q2c's own services as separate processes against a benchmark rig, as they run in production:
`q2c worker` (with its Prometheus endpoint) and `q2c ingress`."""

from __future__ import annotations

import sys

import httpx

from benchmarks.harness import Process, Rig, spawn
from benchmarks.rates import prometheus
from devstack.rig import serve_on_free_port
from simulators.server import free_port

# The SDK's metrics that say why a worker slows as N grows (docs.temporal.io/references/sdk-metrics).
WORKER_METRICS = (
    "temporal_sticky_cache_hit",
    "temporal_sticky_cache_miss",
    "temporal_sticky_cache_size",
    "temporal_sticky_cache_total_forced_eviction",
    "temporal_workflow_task_replay_latency",
    "temporal_workflow_task_execution_latency",
    "temporal_workflow_task_schedule_to_start_latency",
    "temporal_activity_schedule_to_start_latency",
    "temporal_workflow_task_execution_failed",
    "temporal_workflow_completed",
)
QUIET = {"Q2C_LOG_LEVEL": "WARNING", "Q2C_TRACES": "off"}


class WorkerProcess:
    """`q2c worker` on `task_queue`, its ERP queue limited to `erp_per_second`, NetSuite to `netsuite_per_second`
    requests (this process's share of the cap), its metrics on a free port."""

    def __init__(
        self, rig_: Rig, task_queue: str, erp_per_second: float, netsuite_per_second: int | None = None
    ) -> None:
        self.metrics_port = free_port()
        ceiling = {} if netsuite_per_second is None else {"Q2C_NETSUITE_REQUESTS_PER_SECOND": str(netsuite_per_second)}
        env = {
            **rig_.vendor_env(),
            **QUIET,
            "Q2C_TASK_QUEUE": task_queue,
            "Q2C_ERP_ACTIVITIES_PER_SECOND": str(erp_per_second),
            "Q2C_METRICS_BIND": f"127.0.0.1:{self.metrics_port}",
            **ceiling,
        }
        self.process: Process = spawn([sys.executable, "-m", "cli.app", "worker"], env)

    def wait_up(self) -> None:
        # bound once the client connected, before polling starts
        self.process.wait_listening(self.metrics_port, within=60)

    def metrics(self) -> dict[str, float]:
        text = httpx.get(f"http://127.0.0.1:{self.metrics_port}/metrics", timeout=30).text
        return {k.removeprefix("temporal_"): round(v, 3) for k, v in prometheus(text, WORKER_METRICS).items()}


def ingress_process(rig_: Rig, task_queue: str, hubspot_secret: str) -> tuple[Process, str]:
    """`q2c ingress` on a free port, serving HubSpot's signed webhooks; returns the process and its URL."""
    process, port = serve_on_free_port(
        lambda port: spawn(
            [sys.executable, "-m", "cli.app", "ingress", "--port", str(port)],
            {**rig_.vendor_env(), **QUIET, "Q2C_TASK_QUEUE": task_queue, "Q2C_HUBSPOT_APP_SECRET": hubspot_secret},
        ),
        within=60,
    )
    return process, f"http://127.0.0.1:{port}"
