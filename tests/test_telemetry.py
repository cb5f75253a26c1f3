"""One trace from webhook to vendor call, business metrics on the worker's endpoint, logs without secrets."""

from __future__ import annotations

import io
import json
import logging
import re
import uuid
from collections import defaultdict
from pathlib import Path
from typing import Any

import httpx
import pytest
import structlog
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.util._once import Once
from temporalio.client import Client
from temporalio.contrib.opentelemetry import TracingInterceptor

from infra.logs import REDACTED, configure_logging
from infra.settings import Q2CSettings
from infra.telemetry import JsonLinesExporter
from models.saga import SagaResult, Stage
from tests.metered import metered_sagas, scrape
from tests.test_ingress import event, signed
from tests.test_saga import FULL, business
from workers.ingress import create_ingress
from workers.worker import activities_for, build_worker
from workflows import kpis


def url(span: dict[str, Any]) -> str:
    return str(span["attributes"].get("url.full") or span["attributes"].get("http.url"))


@pytest.fixture
def traced(tmp_path):
    """A tracer provider writing JSON lines to a file, as the process's provider for the test's duration: the
    connectors' transport traces under whatever provider the process has (`infra.telemetry.configure_tracing`
    sets it in a worker). Restored after, as OpenTelemetry's own test utilities reset it."""
    path = tmp_path / "spans.jsonl"
    out = path.open("w")
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(JsonLinesExporter(out)))
    trace._TRACER_PROVIDER_SET_ONCE = Once()
    trace._TRACER_PROVIDER = None
    trace.set_tracer_provider(provider)
    yield provider, path
    trace._TRACER_PROVIDER_SET_ONCE = Once()
    trace._TRACER_PROVIDER = None
    provider.shutdown()
    out.close()


async def test_one_trace_runs_from_the_webhook_through_every_activity_to_every_vendor_call(
    ts_env, sim, adapters, traced, hubspot_app_secret
):
    provider, path = traced
    client = Client(**{**ts_env.client.config(), "interceptors": [TracingInterceptor(provider.get_tracer("q2c"))]})
    task_queue = f"q2c-trace-{uuid.uuid4().hex[:8]}"
    settings = Q2CSettings(task_queue=task_queue)
    app = create_ingress(settings, client=client, tracer_provider=provider)
    from tests.conftest import Sagas

    deal_id = Sagas(client, task_queue, sim).new_deal(FULL)
    async with build_worker(client, task_queue, activities_for(*adapters)):
        body = json.dumps([event(deal_id)]).encode()
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://ingress.test") as web:
            response = await web.post("/webhooks/hubspot", content=body, headers=signed(body))
        assert response.status_code == 200, response.text
        handle = client.get_workflow_handle(f"q2c-hubspot-{deal_id}", result_type=SagaResult)
        assert (await handle.result()).stage is Stage.COMPLETED
        history = await handle.fetch_history()

    spans = [json.loads(line) for line in path.read_text().splitlines()]
    webhook = next(s for s in spans if s["name"] == "POST /webhooks/hubspot" and s["kind"] == "SERVER")
    mine = [s for s in spans if s["trace_id"] == webhook["trace_id"]]
    names = {s["name"] for s in mine}
    assert {"StartWorkflow:QuoteToCash", "RunWorkflow:QuoteToCash"} <= names

    # Every activity the history records ran inside this trace...
    scheduled = {
        e.activity_task_scheduled_event_attributes.activity_type.name
        for e in history.events
        if e.HasField("activity_task_scheduled_event_attributes")
    }
    local = {
        json.loads(marker.details["data"].payloads[0].data)["activity_type"]
        for marker in (e.marker_recorded_event_attributes for e in history.events)
        if marker.marker_name == "core_local_activity"
    }
    assert scheduled and local
    run_spans = {s["name"].removeprefix("RunActivity:"): s for s in mine if s["name"].startswith("RunActivity:")}
    assert scheduled | local <= set(run_spans)

    # ...and every vendor call is a client span beneath an activity, with the vendor's URL.
    children = defaultdict(list)
    for s in mine:
        children[s["parent_id"]].append(s)
    for name, run in run_spans.items():
        calls = [c for c in children[run["span_id"]] if c["kind"] == "CLIENT"]
        assert calls, f"no vendor call traced under {name}"
        assert all(url(c).startswith(sim.url) for c in calls)
    systems = {url(s).removeprefix(sim.url).split("/")[1] for s in mine if url(s).startswith(sim.url)}
    assert {"hubspot", "netsuite", "stripe", "zendesk"} <= systems
    assert not [s for s in spans if s["name"].startswith("RunActivity:") and s["trace_id"] != webhook["trace_id"]]


async def test_the_worker_serves_business_metrics_on_its_prometheus_endpoint(ts_env, sim, adapters):
    async with metered_sagas(ts_env.client, sim, adapters, "metrics") as (sagas, metrics):
        ok = await sagas.start(sagas.new_deal(FULL))
        refused_deal = sagas.new_deal(FULL)
        sim.fault(**business("stripe", "POST", "/v1/subscriptions", match=f"q2c-hubspot-{refused_deal}"))
        refused = await sagas.start(refused_deal)
        assert (await ok.result()).stage is Stage.COMPLETED
        assert (await refused.result()).stage is Stage.COMPENSATED
        text = await scrape(metrics)

    def value(name: str, **labels: str) -> float:
        for line in text.splitlines():
            if line.startswith(name + "{") and all(f'{k}="{v}"' in line for k, v in labels.items()):
                return float(line.rsplit(" ", 1)[1])
        raise AssertionError(
            f"{name} {labels} not served; got:\n" + "\n".join(x for x in text.splitlines() if "q2c" in x)
        )

    assert value(kpis.SAGAS_STARTED + "_total") == 2
    assert value(kpis.SAGAS_FINISHED + "_total", outcome="completed") == 1
    assert value(kpis.SAGAS_FINISHED + "_total", outcome="compensated") == 1
    assert value(kpis.MILESTONES + "_total", milestone="entitled") == 1
    assert value(kpis.DEAL_TO_ENTITLEMENT + "_count") == 1
    assert value("q2c_vendor_errors_total", system="stripe", error_class="business") == 1
    assert "temporal_workflow_completed" in text  # the SDK's own metrics share the endpoint
    dashboard = (Path(__file__).parent.parent / "deploy/grafana/dashboards/q2c.json").read_text()
    for sdk_metric in set(re.findall(r"\b(temporal_\w+)", dashboard)):
        assert f"\n{sdk_metric}" in text, f"the dashboard charts {sdk_metric}, which the worker does not serve"


@pytest.fixture
def restore_logging():
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:], root.level = handlers, level
    structlog.reset_defaults()


def test_logs_are_json_with_context_and_no_secrets(restore_logging):
    out = io.StringIO()
    configure_logging("json", "INFO")
    logging.getLogger().handlers[0].stream = out  # type: ignore[attr-defined]
    log = structlog.get_logger("q2c.test")
    with structlog.contextvars.bound_contextvars(workflow_id="q2c-hubspot-1", correlation_id="c-1"):
        log.info(
            "calling stripe",
            headers={"Authorization": "Bearer sk_test_abc123", "Idempotency-Key": "k"},
            api_key="sk_live_zzz",
            detail="retrying with Bearer eyJhbGciOi.x.y after 401",
        )
    logging.getLogger("temporalio.workflow").info(
        "stage", extra={"temporal_workflow": {"workflow_id": "q2c-1", "run_id": "r"}}
    )
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    first, second = lines
    assert first["workflow_id"] == "q2c-hubspot-1" and first["correlation_id"] == "c-1" and first["level"] == "info"
    assert first["headers"] == {"Authorization": REDACTED, "Idempotency-Key": "k"}
    assert first["api_key"] == REDACTED and "eyJ" not in first["detail"]
    assert "sk_" not in out.getvalue()
    assert second["workflow_id"] == "q2c-1" and second["run_id"] == "r"


def test_spans_go_to_otlp_when_its_endpoint_is_configured(monkeypatch):
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.trace.export import ConsoleSpanExporter

    from infra.telemetry import exporter_for

    monkeypatch.delenv("OTEL_EXPORTER_OTLP_ENDPOINT", raising=False)
    assert exporter_for(None) is None
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318")
    assert isinstance(exporter_for(None), OTLPSpanExporter)
    assert isinstance(exporter_for("console"), ConsoleSpanExporter)
    with pytest.raises(ValueError, match="use otlp, console, file:<path> or off"):
        exporter_for("jaeger")


def test_the_reconciliation_table_reads_plainly():
    from datetime import UTC, date, datetime

    from client.operations import report_table
    from models.reconcile import Drift, DriftItem, ReconciliationReport, Repair

    report = ReconciliationReport(started_at=datetime.now(UTC), since=date(2026, 11, 1), until=date(2026, 11, 25))
    report.checked = 3
    assert report_table(report).endswith("3 closed-won deals checked in 1 run(s); clean")
    report.add(
        [
            DriftItem(
                kind=Drift.MISSING_SAGA,
                deal_id="7",
                system="q2c",
                detail="no saga",
                repair=Repair(action="start_saga", ref="7"),
            ),
            DriftItem(kind=Drift.AMOUNT_MISMATCH, deal_id="8", system="erp", detail="order is 10.00 USD"),
        ]
    )
    table = report_table(report)
    assert "2 drift item(s)" in table and "can: start_saga" in table and "needs a person" in table
