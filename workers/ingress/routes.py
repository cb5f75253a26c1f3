"""One router per vendor, by the role it serves: the CRM starts sagas, billing pays them, support syncs."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from typing import Any, Protocol, TypeVar

import structlog
from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse

from client.starter import (
    Started,
    deliver_billing_event,
    forward_company_changes,
    start_saga,
    submit_customer_change,
)
from infra.correlation import accepted
from models.events import DealClosedWonV1
from models.notices import ChangeNotice, CrmNotice, IgnoredEvent
from models.saga import BillingEvent
from workers.ingress.common import REFUSALS, Webhooks, openapi, parsed, verified_body

log = structlog.get_logger("q2c.ingress")
Event = TypeVar("Event", covariant=True)
Taken = TypeVar("Taken", BillingEvent, ChangeNotice)  # what a one-event delivery may carry


class CrmWebhooks(Webhooks, Protocol):
    def parse(self, body: bytes) -> CrmNotice: ...


class EventWebhooks(Webhooks, Protocol[Event]):
    """A vendor whose deliveries are one event each, which q2c takes or answers as ignored."""

    def parse(self, body: bytes) -> Event | IgnoredEvent: ...


BillingWebhooks = EventWebhooks[BillingEvent]
SupportWebhooks = EventWebhooks[ChangeNotice]


def _route(router: APIRouter, webhooks: Webhooks, name: str) -> Any:
    """`POST /webhooks/<vendor>`; `name` is the route's (and its OpenAPI operation id's) whatever the vendor."""
    return router.post(f"/webhooks/{webhooks.NAME}", name=name, openapi_extra=openapi(webhooks), responses=REFUSALS)


def _event_router(
    role: str, webhooks: EventWebhooks[Taken], deliver: Callable[[Request, Taken], Awaitable[dict[str, Any]]]
) -> APIRouter:
    """A role's route for one-event deliveries: an event q2c has no use for is answered as ignored (200, so the
    sender does not retry it); any other is delivered, and the answer names the event and where it went."""
    router = APIRouter(tags=[role])

    @_route(router, webhooks, role)
    async def receive(request: Request, body: bytes = Depends(verified_body(webhooks))) -> JSONResponse:
        event = parsed(webhooks.parse, body)
        if isinstance(event, IgnoredEvent):
            return JSONResponse({"event": event.event_id, "ignored": event.type})
        return JSONResponse({"event": event.event_id, **await deliver(request, event)})

    return router


async def start_sagas(request: Request, closed: Iterable[DealClosedWonV1], via: str) -> AsyncIterator[Started]:
    """Each closed-won deal's saga, started or joined in the sender's correlation, as soon as Temporal holds it
    (a caller that fails halfway knows which are held); `via` and the event id say what triggered it."""
    settings, client = request.app.state.settings, request.app.state.client
    for deal in closed:
        correlation = accepted(request.headers.get("x-correlation-id"), deal.correlation_id)
        structlog.contextvars.bind_contextvars(correlation_id=correlation, deal_id=deal.deal_id)
        saga = await start_saga(
            client,
            deal.deal_id,
            triggered_by=f"{via}:{deal.event_id}",
            correlation_id=correlation,
            task_queue=settings.task_queue,
            **settings.saga_terms(),
            crm=deal.source,
        )
        log.info(
            "saga started" if saga.new else "saga joined", workflow_id=saga.workflow_id, correlation_id=correlation
        )
        yield saga


def crm_router(webhooks: CrmWebhooks) -> APIRouter:
    """Closed-won deals start their sagas (one per deal, joined if there); company changes go to CustomerSync."""
    router = APIRouter(tags=["crm"])

    @_route(router, webhooks, "crm")
    async def crm(request: Request, body: bytes = Depends(verified_body(webhooks))) -> JSONResponse:
        notice = parsed(webhooks.parse, body)
        settings, client = request.app.state.settings, request.app.state.client
        changes = await forward_company_changes(client, notice.changes, settings.task_queue)
        started: list[str] = []
        joined: list[str] = []
        async for saga in start_sagas(request, notice.closed, via="webhook"):
            (started if saga.new else joined).append(saga.workflow_id)
        ignored = notice.received - len(started) - len(joined) - changes
        return JSONResponse({"started": started, "joined": joined, "customer_changes": changes, "ignored": ignored})

    return router


def billing_router(webhooks: BillingWebhooks) -> APIRouter:
    """Invoice events: to the deal's saga, or kept and applied after it."""

    async def deliver(request: Request, event: BillingEvent) -> dict[str, Any]:
        structlog.contextvars.bind_contextvars(billing_event=event.event_id, workflow_id=event.workflow_id)
        outcome = await deliver_billing_event(request.app.state.client, event, request.app.state.settings.task_queue)
        log.info("billing event delivered", type=event.type, to=outcome)
        return {"delivered_to": outcome, "workflow_id": event.workflow_id}

    return _event_router("billing", webhooks, deliver)


def support_router(webhooks: SupportWebhooks) -> APIRouter:
    """Organization changes made in the support tool, to the customer's CustomerSync entity."""

    async def deliver(request: Request, notice: ChangeNotice) -> dict[str, Any]:
        settings = request.app.state.settings
        entity = await submit_customer_change(request.app.state.client, notice.change, settings.task_queue)
        return {"customer_sync": entity}

    return _event_router("support", webhooks, deliver)
