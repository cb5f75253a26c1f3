"""Salesforce's Outbound Message listener: SOAP in, `Ack` out only once Temporal holds every saga's start
and every Account change (at its CustomerSync entity).

Anything short of that answers a SOAP fault with a non-2xx status, so Salesforce keeps the message queued
and sends it again (for up to 24 hours); a message that can never be right (another org, bad XML, an
sObject q2c does not take) is refused with a fault that says what and where, and starts nothing.
"""

from __future__ import annotations

from types import ModuleType

import structlog
from fastapi import APIRouter, Request
from fastapi.responses import Response
from temporalio.service import RPCError

from client.starter import forward_company_changes, start_saga
from connectors.settings import SalesforceSettings
from infra.correlation import accepted
from workers.ingress.common import Refused, read_body

log = structlog.get_logger("q2c.ingress")
TEMPORAL_RETRY_AFTER_S = 10
SOAP_REFUSALS: dict[int | str, dict[str, str]] = {
    400: {"description": "SOAP fault: malformed XML, a DTD or entities, a missing element; the fault names it"},
    403: {"description": "SOAP fault: the OrganizationId is not the configured org"},
    413: {"description": "SOAP fault: body too large"},
    422: {"description": "SOAP fault: an sObject type q2c does not take, an Account without its clock field"},
    503: {"description": "SOAP fault: Temporal unavailable; Salesforce resends"},
}


def salesforce_router(webhooks: ModuleType, org_id: str | None = None) -> APIRouter:
    """`POST /webhooks/<name>`: closed-won opportunities start their sagas, account changes go to CustomerSync;
    `org_id` defaults to configuration."""
    router = APIRouter(tags=["crm"])
    org = org_id or SalesforceSettings().org_id
    name: str = webhooks.NAME

    def soap(body: bytes, status: int, headers: dict[str, str] | None = None) -> Response:
        return Response(body, status_code=status, media_type=webhooks.CONTENT_TYPE, headers=headers)

    @router.post(
        f"/webhooks/{name}",
        responses=SOAP_REFUSALS,
        openapi_extra={"requestBody": {"required": True, "content": {"text/xml": {"schema": webhooks.body_schema()}}}},
    )
    async def outbound_message(request: Request) -> Response:
        settings = request.app.state.settings
        try:
            body = await read_body(request, settings.ingress_max_body_bytes)
            notice = webhooks.parse(body, org)
        except (Refused, webhooks.OutboundMessageRefused) as refused:
            log.warning("outbound message refused", path=request.url.path, reason=refused.message)
            return soap(webhooks.fault(refused.message, client=True), refused.status)
        started: list[str] = []
        try:
            # an Account's changes: each held by its CustomerSync entity (signal-with-start) before the Ack
            changes = await forward_company_changes(request.app.state.client, notice.changes, settings.task_queue)
            for closed in notice.closed:
                correlation = accepted(request.headers.get("x-correlation-id"), closed.correlation_id)
                structlog.contextvars.bind_contextvars(correlation_id=correlation, deal_id=closed.deal_id)
                saga = await start_saga(
                    request.app.state.client,
                    closed.deal_id,
                    triggered_by=f"outbound_message:{closed.event_id}",
                    correlation_id=correlation,
                    task_queue=settings.task_queue,
                    **settings.saga_terms(),
                    crm=closed.source,
                )
                started.append(saga.workflow_id)
                log.info("saga started" if saga.new else "saga joined", workflow_id=saga.workflow_id)
        except RPCError as error:  # no Ack: Salesforce resends, and starts are idempotent
            log.error("temporal unavailable", path=request.url.path, error=str(error), started=started)
            retry = {"Retry-After": str(TEMPORAL_RETRY_AFTER_S)}
            return soap(webhooks.fault("temporal is unavailable; resend later", client=False), 503, retry)
        headers = {"X-Q2C-Sagas": ",".join(started)} if started else {}
        if changes:
            headers["X-Q2C-Customer-Changes"] = str(changes)
        return soap(webhooks.ack(), 200, headers or None)

    return router
