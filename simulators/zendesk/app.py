"""The Zendesk Support sub-app: auth, `.json` paths, the rate-limit window and Zendesk's error bodies."""

from __future__ import annotations

import base64
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse, Response

from simulators.context import SimContext
from simulators.zendesk import hooks, organizations, search, tickets
from simulators.zendesk.account import Account
from simulators.zendesk.common import ZendeskError, error, rate_headers, refusal


def create_app(ctx: SimContext) -> FastAPI:
    app = FastAPI(title="Zendesk Support simulator", openapi_url=None, docs_url=None, redoc_url=None)
    account = Account(ctx)
    app.state.account = account

    @app.exception_handler(ZendeskError)
    async def _zendesk_error(_: Request, exc: ZendeskError) -> Response:
        return refusal(exc)

    @app.exception_handler(HTTPException)
    async def _no_route(_: Request, exc: HTTPException) -> Response:
        """Unknown paths and methods: Zendesk's InvalidEndpoint, never FastAPI's `{"detail": ...}`."""
        if exc.status_code in (404, 405):
            return JSONResponse({"error": "InvalidEndpoint", "description": "Not found"}, status_code=404)
        return error(exc.status_code, "InvalidRequest", str(exc.detail))

    @app.exception_handler(RequestValidationError)
    async def _bad_parameter(_: Request, exc: RequestValidationError) -> Response:
        where = ".".join(str(p) for p in exc.errors()[0]["loc"])
        return JSONResponse({"error": "InvalidParameter", "description": f"{where} is invalid"}, status_code=400)

    def authorised(request: Request) -> bool:
        header = request.headers.get("authorization", "")
        if header == f"Bearer {ctx.settings.zendesk_token}":
            return True
        if header.startswith("Basic "):
            try:
                decoded = base64.b64decode(header[6:]).decode()
            except ValueError:
                return False
            return decoded == f"{ctx.settings.zendesk_email}/token:{ctx.settings.zendesk_token}"
        return False

    @app.middleware("http")
    async def dialect(request: Request, call_next: Any) -> Response:
        """Zendesk serves every path with or without `.json`, counts every request against the minute's limit."""
        path: str = request.scope["path"]
        if path.endswith(".json"):
            request.scope["path"] = path.removesuffix(".json")
        limit, enforced = account.rate_limit
        account.window.limit = limit
        remaining, reset = account.window.take()
        if not authorised(request):
            response = error(401, "Unauthorized", "Couldn't authenticate you")
        elif remaining < 0 and enforced:
            response = error(429, "TooManyRequests", "Rate limit exceeded", retry_after=reset)
        else:
            response = await call_next(request)
        response.headers.update(rate_headers(limit, remaining, reset))
        return response

    for module in (organizations, tickets, search, hooks):
        app.include_router(module.router(account))
    return app
