"""Traces and metrics for every q2c process: one trace from webhook to vendor call, one metrics endpoint.

Temporal's `TracingInterceptor` carries the trace through the client, the workflow and every activity;
httpx instrumentation adds a span per vendor call beneath the activity. Spans go to OTLP when
`OTEL_EXPORTER_OTLP_ENDPOINT` is set, or where `Q2C_TRACES` says (`console`, `file:<path>`, `off`).
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Sequence
from typing import IO, Any

import structlog
from opentelemetry import trace
from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    ConsoleSpanExporter,
    SpanExporter,
    SpanExportResult,
)
from temporalio import activity
from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig
from temporalio.worker import ActivityInboundInterceptor, ExecuteActivityInput, Interceptor

from workflows import kpis

_configured: TracerProvider | None = None
_lock = threading.Lock()

# Seconds: a straight-through saga takes seconds, a held one hours or days.
SAGA_BUCKETS = [1, 2, 5, 10, 30, 60, 300, 900, 3600, 4 * 3600, 24 * 3600, 72 * 3600, 7 * 24 * 3600]


class JsonLinesExporter(SpanExporter):
    """One JSON object per span, appended to a file: easy to grep, easy to load in a test."""

    def __init__(self, out: IO[str]) -> None:
        self.out = out

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        for span in spans:
            context = span.get_span_context()
            parent = span.parent
            self.out.write(
                json.dumps(
                    {
                        "name": span.name,
                        "trace_id": f"{context.trace_id:032x}" if context else None,
                        "span_id": f"{context.span_id:016x}" if context else None,
                        "parent_id": f"{parent.span_id:016x}" if parent else None,
                        "kind": span.kind.name,
                        "start": span.start_time,
                        "end": span.end_time,
                        "attributes": dict(span.attributes or {}),
                        "service": (span.resource.attributes.get("service.name") if span.resource else None),
                    }
                )
                + "\n"
            )
        self.out.flush()
        return SpanExportResult.SUCCESS


def _one_line(span: ReadableSpan) -> str:
    context = span.get_span_context()
    took = ((span.end_time or 0) - (span.start_time or 0)) / 1e6
    return f"span {span.name} trace={context.trace_id:032x} {took:.1f}ms\n" if context else f"span {span.name}\n"


def exporter_for(spec: str | None) -> SpanExporter | None:
    """`otlp`, `console`, `file:<path>` or `off`; unset means OTLP if its endpoint is configured."""
    spec = spec or ("otlp" if os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT") else "off")
    if spec == "off":
        return None
    if spec == "otlp":
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        return OTLPSpanExporter()  # endpoint, headers and TLS from the standard OTEL_EXPORTER_OTLP_* variables
    if spec == "console":
        return ConsoleSpanExporter(formatter=_one_line)
    if spec.startswith("file:"):
        return JsonLinesExporter(open(spec.removeprefix("file:"), "a"))
    raise ValueError(f"Q2C_TRACES={spec!r}: use otlp, console, file:<path> or off")


def configure_tracing(service: str, spec: str | None = None) -> TracerProvider:
    """Install the process's tracer provider and instrument httpx, once; later calls return it unchanged."""
    global _configured
    with _lock:
        if _configured is None:
            _configured = TracerProvider(resource=Resource.create({"service.name": service}))
            if (exporter := exporter_for(spec)) is not None:
                _configured.add_span_processor(BatchSpanProcessor(exporter))
            trace.set_tracer_provider(_configured)
            HTTPXClientInstrumentor().instrument(tracer_provider=_configured)
        return _configured


def metrics_runtime(bind_address: str) -> Runtime:
    """A Temporal runtime whose Prometheus endpoint serves the SDK's metrics and q2c's KPIs."""
    return Runtime(
        telemetry=TelemetryConfig(
            metrics=PrometheusConfig(
                bind_address=bind_address,
                counters_total_suffix=True,
                durations_as_seconds=True,
                histogram_bucket_overrides={kpis.HOLD_DURATION: SAGA_BUCKETS, kpis.DEAL_TO_ENTITLEMENT: SAGA_BUCKETS},
            )
        )
    )


class ActivityContext(Interceptor):
    """Binds workflow id, run id, activity, attempt and correlation id to every log line of an activity."""

    def intercept_activity(self, next: ActivityInboundInterceptor) -> ActivityInboundInterceptor:
        return _BindActivity(next)


class _BindActivity(ActivityInboundInterceptor):
    async def execute_activity(self, input: ExecuteActivityInput) -> Any:
        info = activity.info()
        step = input.args[0] if input.args else None
        with structlog.contextvars.bound_contextvars(
            workflow_id=info.workflow_id,
            run_id=info.workflow_run_id,
            activity=info.activity_type,
            attempt=info.attempt,
            correlation_id=getattr(step, "correlation_id", None),
        ):
            return await super().execute_activity(input)
