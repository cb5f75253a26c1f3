"""HubSpot CRM v3 objects and search, v3 properties, v4 associations and signed v3 webhooks.

One FastAPI app mounted at `/hubspot`: point HubSpot's own client at it with
`HubSpot(access_token=..., host="<simulator>/hubspot")`. Every answer, errors and unknown routes
included, is in HubSpot's dialect: its error body and its rate-limit headers.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException
from starlette.responses import Response

from simulators.context import SimContext

from .associations import associations_router
from .crm import Crm
from .errors import HubSpotError, RateLimitHeaders, error
from .objects import objects_router
from .schema import Schema, properties_router
from .search import search_router

__all__ = ["HubSpotError", "create_app", "error"]

_NO_CREDENTIALS = (
    "Authentication credentials not found. This API supports OAuth 2.0 authentication and you can find more "
    "details at https://developers.hubspot.com/docs/methods/auth/oauth-overview"
)


def create_app(ctx: SimContext) -> FastAPI:
    app = FastAPI(title="HubSpot CRM simulator", openapi_url=None, docs_url=None, redoc_url=None)
    schema = Schema(ctx.store)
    crm = Crm(ctx, schema)

    @app.exception_handler(HubSpotError)
    async def _hubspot_error(_: Request, exc: HubSpotError) -> Response:
        return error(exc.status, exc.code, exc.message, context=exc.context)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> Response:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first.get("loc", ()))
        return error(400, "INVALID_INPUT", f"Invalid input JSON on line 1: {where}: {first['msg']}")

    @app.exception_handler(HTTPException)
    async def _no_route(request: Request, exc: HTTPException) -> Response:
        """Unknown routes and methods get HubSpot's body, not the web framework's `{"detail": ...}`."""
        path = request.url.path.removeprefix(request.scope.get("root_path", ""))
        if exc.status_code == 405:
            return error(405, "METHOD_NOT_ALLOWED", f"{request.method} is not supported on {path}")
        return error(exc.status_code, "NOT_FOUND", f"No route for {request.method} {path}")

    @app.exception_handler(Exception)
    async def _defect(_: Request, exc: Exception) -> Response:
        """A defect in the simulator still answers in HubSpot's shape (HubSpot's own 500s do)."""
        return error(500, "INTERNAL_ERROR", f"internal error: {type(exc).__name__}")

    def auth(request: Request) -> None:
        if request.headers.get("authorization") != f"Bearer {ctx.settings.hubspot_token}":
            raise HubSpotError(401, "INVALID_AUTHENTICATION", _NO_CREDENTIALS)

    api = APIRouter(dependencies=[Depends(auth)])
    for router in (search_router(crm), objects_router(crm), associations_router(crm), properties_router(schema)):
        api.include_router(router)
    app.include_router(api)
    app.add_middleware(RateLimitHeaders)

    # For the seed, the admin API and drills: the same code paths the HTTP API uses.
    app.state.crm, app.state.schema = crm, schema
    app.state.create, app.state.update, app.state.load = crm.create, crm.update, crm.load
    app.state.associate = crm.associate
    return app
