"""The webhook ingress: verify, validate, start one saga per closed-won deal, answer fast.

One router per vendor, for the vendors configured to serve a role (`Q2C_CRM`, `Q2C_BILLING`,
`Q2C_SUPPORT`); the vendor's payload, signature and meaning come from connectors/<vendor>/webhooks.py.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import structlog
from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse
from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
from opentelemetry.trace import TracerProvider
from temporalio.client import Client
from temporalio.service import RPCError

from connectors.registry import Roles, crm_webhooks, webhooks_for
from infra.settings import Q2CSettings
from workers.ingress.common import REFUSALS, Refused
from workers.ingress.routes import billing_router, crm_router, support_router
from workers.ingress.salesforce import salesforce_router
from workers.ingress.submit import submit_router

log = structlog.get_logger("q2c.ingress")
TEMPORAL_RETRY_AFTER_S = 10  # a 503 during a Temporal outage: when the sender may try again
ROUTERS: dict[str, Callable[[Any], APIRouter]] = {
    "crm": crm_router,
    "billing": billing_router,
    "support": support_router,
}
CRM_ROUTERS: dict[str, Callable[[Any], APIRouter]] = {"salesforce": salesforce_router}  # else crm_router

__all__ = ["REFUSALS", "Refused", "create_ingress"]


def create_ingress(
    settings: Q2CSettings,
    client: Client | None = None,
    connect: Callable[[], Awaitable[Client]] | None = None,
    tracer_provider: TracerProvider | None = None,
    roles: Roles | None = None,
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
    app.state.client, app.state.settings = client, settings

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

    for role, webhooks in webhooks_for(roles).items():
        if role != "crm":  # every CRM served has its own route, below
            app.include_router(ROUTERS[role](webhooks))
    for name, webhooks in crm_webhooks(roles).items():
        app.include_router(CRM_ROUTERS.get(name, crm_router)(webhooks))
    app.include_router(submit_router((roles or Roles()).crm_names()))  # the CRM's synchronous intake

    FastAPIInstrumentor.instrument_app(app, tracer_provider=tracer_provider, excluded_urls="healthz")
    return app
