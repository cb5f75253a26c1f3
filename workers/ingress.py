"""The webhook ingress: verify, validate, start one saga per closed-won deal, answer fast."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any, TypeVar

import structlog
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
from opentelemetry.trace import TracerProvider
from pydantic import ValidationError
from temporalio.client import Client
from temporalio.service import RPCError

from client.starter import deliver_billing_event, forward_company_changes, start_saga, submit_customer_change
from infra.correlation import accepted
from infra.settings import Q2CSettings
from models import signatures
from models.hubspot_events import HubSpotBatch
from models.money import Money
from models.saga import BillingEvent
from models.stripe_events import HANDLED, StripeEvent, StripeEventHeader
from models.zendesk_events import ZendeskEvent

T = TypeVar("T")
log = structlog.get_logger("q2c.ingress")
TEMPORAL_RETRY_AFTER_S = 10  # a 503 during a Temporal outage: when the sender may try again
REFUSALS: dict[int | str, dict[str, Any]] = {
    400: {"description": "malformed body; the error names the field"},
    401: {"description": "bad signature, or outside the replay window"},
    413: {"description": "body too large"},
    503: {"description": "Temporal unavailable; the sender retries"},
}


class Refused(Exception):
    """A webhook q2c will not take, answered with `status` and a message that says why."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message


def _openapi(schema: dict[str, Any], *headers: str) -> dict[str, Any]:
    """The body schema and signature headers of a webhook route, for the ingress's OpenAPI document."""
    return {
        "requestBody": {"required": True, "content": {"application/json": {"schema": schema}}},
        "parameters": [{"name": h, "in": "header", "required": True, "schema": {"type": "string"}} for h in headers],
    }


def _where(error: ValidationError) -> str:
    first = error.errors()[0]
    where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in first["loc"]).lstrip(".") or "body"
    return f"{where}: {first['msg']}"


def _parse(parse: Callable[[bytes], T], body: bytes) -> T:
    try:
        return parse(body)
    except ValidationError as error:
        raise Refused(400, _where(error)) from None


def _verify(check: Callable[[], None]) -> None:
    try:
        check()
    except signatures.SignatureError as error:
        raise Refused(401, str(error)) from None


async def _body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise Refused(413, f"body over {limit} bytes")
    body = await request.body()
    if len(body) > limit:
        raise Refused(413, f"body over {limit} bytes")
    return body


def create_ingress(
    settings: Q2CSettings,
    client: Client | None = None,
    connect: Callable[[], Awaitable[Client]] | None = None,
    tracer_provider: TracerProvider | None = None,
) -> FastAPI:
    """The ingress app; give it a client, or a way to connect one when it starts.

    Each request is a server span, the root of the saga's trace; the saga starts inside it.
    """

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if app.state.client is None:
            from infra.temporal import connect as default_connect

            app.state.client = await (connect() if connect else default_connect(settings.temporal_profile))
        yield

    app = FastAPI(title="q2c ingress", version="1", lifespan=lifespan)
    app.state.client = client

    @app.exception_handler(Refused)
    async def refused(request: Request, error: Refused) -> JSONResponse:
        if error.status == 401:
            log.warning("webhook refused", path=request.url.path, reason=error.message)
        return JSONResponse({"error": error.message}, status_code=error.status)

    @app.exception_handler(RPCError)
    async def temporal_down(request: Request, error: RPCError) -> JSONResponse:
        # Every sender retries a non-2xx delivery, so nothing is lost.
        log.error("temporal unavailable", path=request.url.path, error=str(error))
        return JSONResponse(
            {"error": "temporal is unavailable; retry later"},
            status_code=503,
            headers={"Retry-After": str(TEMPORAL_RETRY_AFTER_S)},
        )

    @app.get("/healthz")
    async def health() -> dict[str, str]:
        return {"status": "ok" if app.state.client is not None else "starting"}

    @app.post(
        "/webhooks/hubspot",
        openapi_extra=_openapi(HubSpotBatch.json_schema(), "X-HubSpot-Signature-v3", "X-HubSpot-Request-Timestamp"),
        responses=REFUSALS,
    )
    async def hubspot(request: Request) -> JSONResponse:
        body = await _body(request, settings.ingress_max_body_bytes)
        uri = str(request.url)
        if settings.ingress_public_url:
            uri = (
                settings.ingress_public_url.rstrip("/")
                + request.url.path
                + (f"?{request.url.query}" if request.url.query else "")
            )
        _verify(
            lambda: signatures.verify_hubspot_v3(
                settings.hubspot_app_secret.get_secret_value(),
                request.method,
                uri,
                body,
                request.headers.get("x-hubspot-signature-v3"),
                request.headers.get("x-hubspot-request-timestamp"),
            )
        )
        events = _parse(HubSpotBatch.validate_json, body)
        changes = await forward_company_changes(app.state.client, events, settings.task_queue)
        deals = list(dict.fromkeys(str(e.objectId) for e in events if e.closes_a_deal))
        started: list[str] = []
        joined: list[str] = []
        for event in events:
            if not event.closes_a_deal or str(event.objectId) not in deals:
                continue
            deals.remove(str(event.objectId))
            correlation = accepted(request.headers.get("x-correlation-id"), f"hubspot-{event.portalId}-{event.eventId}")
            structlog.contextvars.bind_contextvars(correlation_id=correlation, deal_id=str(event.objectId))
            saga = await start_saga(
                app.state.client,
                str(event.objectId),
                triggered_by=f"webhook:{event.eventId}",
                correlation_id=correlation,
                task_queue=settings.task_queue,
                policies=settings.policies,
            )
            (started if saga.new else joined).append(saga.workflow_id)
            log.info(
                "saga started" if saga.new else "saga joined", workflow_id=saga.workflow_id, correlation_id=correlation
            )
        ignored = len(events) - len(started) - len(joined) - changes
        return JSONResponse({"started": started, "joined": joined, "customer_changes": changes, "ignored": ignored})

    @app.post(
        "/webhooks/stripe",
        openapi_extra=_openapi(StripeEvent.model_json_schema(), "Stripe-Signature"),
        responses=REFUSALS,
    )
    async def stripe(request: Request) -> JSONResponse:
        """invoice.finalized / paid / payment_failed: to the deal's saga, or kept and applied after it."""
        body = await _body(request, settings.ingress_max_body_bytes)
        _verify(
            lambda: signatures.verify_stripe(
                settings.stripe_webhook_secret.get_secret_value(), body, request.headers.get("stripe-signature")
            )
        )
        header = _parse(StripeEventHeader.model_validate_json, body)
        if header.type not in HANDLED:
            return JSONResponse({"event": header.id, "ignored": header.type})
        event = _parse(StripeEvent.model_validate_json, body)
        invoice = event.data.object
        billing = BillingEvent(
            event_id=event.id,
            type=event.type,
            invoice_id=invoice.id,
            created=event.created_at,
            amount_paid=Money.from_minor_units(invoice.amount_paid, invoice.currency) if invoice.amount_paid else None,
            workflow_id=invoice.q2c_workflow_id,
        )
        structlog.contextvars.bind_contextvars(stripe_event=event.id, workflow_id=billing.workflow_id)
        outcome = await deliver_billing_event(app.state.client, billing, settings.task_queue)
        log.info("billing event delivered", type=event.type, to=outcome)
        return JSONResponse({"event": event.id, "delivered_to": outcome, "workflow_id": billing.workflow_id})

    @app.post(
        "/webhooks/zendesk",
        openapi_extra=_openapi(
            ZendeskEvent.model_json_schema(), "X-Zendesk-Webhook-Signature", "X-Zendesk-Webhook-Signature-Timestamp"
        ),
        responses=REFUSALS,
    )
    async def zendesk(request: Request) -> JSONResponse:
        """Organization changes made in the support tool, to the customer's CustomerSync entity."""
        body = await _body(request, settings.ingress_max_body_bytes)
        _verify(
            lambda: signatures.verify_zendesk(
                settings.zendesk_webhook_secret.get_secret_value(),
                body,
                request.headers.get("x-zendesk-webhook-signature"),
                request.headers.get("x-zendesk-webhook-signature-timestamp"),
            )
        )
        event = _parse(ZendeskEvent.model_validate_json, body)
        change = event.customer_change()
        if change is None:
            return JSONResponse({"event": event.id, "ignored": event.type})
        entity = await submit_customer_change(app.state.client, change, settings.task_queue)
        return JSONResponse({"event": event.id, "customer_sync": entity})

    FastAPIInstrumentor.instrument_app(app, tracer_provider=tracer_provider, excluded_urls="healthz")
    return app
