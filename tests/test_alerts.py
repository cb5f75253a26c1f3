"""Alerts and runbooks stay true: every alert names metrics the worker serves and links a runbook that exists."""

from __future__ import annotations

import asyncio
import re
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from temporalio import workflow
from temporalio.client import Client
from temporalio.worker import UnsandboxedWorkflowRunner, Worker

from activities.errors import VENDOR_ERRORS
from infra.telemetry import metrics_runtime
from models.saga import Stage
from simulators.server import free_port
from tests.metered import metered_sagas, scrape
from workflows import kpis

ROOT = Path(__file__).parent.parent
RULES = yaml.safe_load((ROOT / "deploy/prometheus/alerts.yml").read_text())
ALERTS: list[dict[str, Any]] = [rule for group in RULES["groups"] for rule in group["rules"]]
SUFFIXES = re.compile(r"_(total|bucket|count|sum)$")
SECTIONS = ("## What it means", "## How to look", "## What to do")


def metrics_in(expr: str) -> set[str]:
    return set(re.findall(r"\b((?:q2c|temporal)_\w+)", expr))


def test_every_alert_has_a_severity_a_summary_and_a_runbook_with_its_three_sections():
    assert len(ALERTS) >= 8
    index = (ROOT / "docs/runbooks/README.md").read_text()
    for alert in ALERTS:
        name = alert["alert"]
        assert alert["labels"]["severity"] in {"page", "ticket"}, name
        assert alert["annotations"]["summary"], name
        runbook = ROOT / alert["annotations"]["runbook_url"]
        assert runbook.is_file(), f"{name}: runbook {runbook} is missing"
        text = runbook.read_text()
        assert all(section in text for section in SECTIONS), f"{runbook.name} lacks a section"
        assert re.search(r"(^|`)(q2c|temporal) [a-z-]+", text, re.M), f"{runbook.name} names no command to run"
        assert f"`{name}`" in index, f"{name} is not in docs/runbooks/README.md"


def test_alerts_name_only_q2c_metrics_that_exist():
    named = {SUFFIXES.sub("", m) for alert in ALERTS for m in metrics_in(alert["expr"]) if m.startswith("q2c_")}
    assert named, "no alert watches a business metric"
    assert named <= {*kpis.ALL, VENDOR_ERRORS}, named - {*kpis.ALL, VENDOR_ERRORS}


def test_prometheus_loads_the_rules():
    config = yaml.safe_load((ROOT / "deploy/prometheus/prometheus.yml").read_text())
    assert "/etc/prometheus/alerts.yml" in config["rule_files"]
    compose = (ROOT / "docker-compose.yml").read_text()
    assert "./deploy/prometheus/alerts.yml:/etc/prometheus/alerts.yml:ro" in compose


@pytest.mark.parametrize("alert", [a["alert"] for a in ALERTS])
def test_expressions_are_balanced(alert):
    expr = next(a["expr"] for a in ALERTS if a["alert"] == alert)
    depth = 0
    for char in expr:
        depth += {"(": 1, ")": -1}.get(char, 0)
        assert depth >= 0, f"{alert}: unbalanced parentheses"
    assert depth == 0, f"{alert}: unbalanced parentheses"


async def test_every_metric_an_alert_or_panel_names_is_served_by_the_worker(ts_env, sim, adapters):
    async with metered_sagas(ts_env.client, sim, adapters, "alerts") as (sagas, metrics):
        handle = await sagas.start(sagas.new_deal(["PLAT-PRO", "IMPL-STD"]))
        assert (await handle.result()).stage is Stage.COMPLETED
        text = await scrape(metrics)
    served = {line.split("{")[0].split(" ")[0] for line in text.splitlines() if line and not line.startswith("#")}
    families = {SUFFIXES.sub("", name) for name in served} | served
    dashboard = (ROOT / "deploy/grafana/dashboards/q2c.json").read_text()
    named = {m for alert in ALERTS for m in metrics_in(alert["expr"])} | metrics_in(dashboard)
    for metric in sorted(named):
        if metric.startswith("q2c_") and SUFFIXES.sub("", metric) in {*kpis.ALL, VENDOR_ERRORS}:
            continue  # served once recorded; the KPI test in test_telemetry checks each one is
        if metric == TASK_FAILED:
            continue  # served once a task fails: test_a_workflow_task_failing_on_replay_is_served_by_its_reason
        assert metric in served or SUFFIXES.sub("", metric) in families, f"{metric} is not served by the worker"


TASK_FAILED = "temporal_workflow_task_execution_failed_total"
SEEN: dict[str, int] = {}  # module state: a run takes another path when its history is replayed


@workflow.defn(name="Q2CAlertsReplaysOtherwise")
class ReplaysOtherwise:
    """Not deterministic on purpose: a timer the first time, an activity once replayed."""

    @workflow.run
    async def run(self) -> None:
        run = workflow.info().run_id
        SEEN[run] = SEEN.get(run, 0) + 1
        if SEEN[run] == 1:
            await workflow.sleep(0.1)
        else:
            await workflow.execute_activity("q2c-alerts-never", start_to_close_timeout=timedelta(seconds=1))


async def test_a_workflow_task_failing_on_replay_is_served_by_its_reason(ts_env):
    """`Q2CWorkflowTasksFailing` watches the SDK's failed-task counter by `failure_reason`: a run whose code no
    longer replays its history (a worker caching nothing replays it on every task) is counted as a
    NonDeterminismError, which the alert's expression selects."""
    bind = f"127.0.0.1:{free_port()}"
    client = await Client.connect(
        ts_env.client.service_client.config.target_host,
        namespace=ts_env.client.namespace,
        runtime=metrics_runtime(bind),
    )
    queue = f"q2c-alerts-nde-{uuid.uuid4().hex[:8]}"
    worker = Worker(
        client,
        task_queue=queue,
        workflows=[ReplaysOtherwise],
        workflow_runner=UnsandboxedWorkflowRunner(),
        max_cached_workflows=0,
    )
    failed: list[str] = []
    async with worker:
        await client.start_workflow(ReplaysOtherwise.run, id=queue, task_queue=queue)
        for _ in range(200):
            failed = [
                line for line in (await scrape(f"http://{bind}/metrics")).splitlines() if line.startswith(TASK_FAILED)
            ]
            if failed:
                break
            await asyncio.sleep(0.05)
        await client.get_workflow_handle(queue).terminate("the test is over")
    rule = next(a for a in ALERTS if a["alert"] == "Q2CWorkflowTasksFailing")
    assert TASK_FAILED in rule["expr"] and "failure_reason" in rule["expr"]
    assert any(
        'failure_reason="NonDeterminismError"' in line and 'workflow_type="Q2CAlertsReplaysOtherwise"' in line
        for line in failed
    ), failed
