"""The Salesforce simulator under `/salesforce`: OAuth 2.0, the REST API, limits, Outbound Messages.

Every REST response carries `Sforce-Limit-Info: api-usage=N/M`; past the org's daily allocation the API
answers `403 REQUEST_LIMIT_EXCEEDED` (not 429). Errors are JSON arrays `[{message, errorCode, fields}]`.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qs

from fastapi import FastAPI, Request
from starlette.responses import JSONResponse, Response

from simulators.context import SimContext
from simulators.salesforce import auth, outbound
from simulators.salesforce.records import Records, SalesforceError

__all__ = ["SalesforceError", "create_app", "error"]
from simulators.salesforce.rest import VERSIONS, Rest
from simulators.store import Record

USAGE = "salesforce:api-usage"


def error(status: int, code: str, message: str, retry_after: float | None = None) -> Response:
    """Salesforce's error body; also the fault injector's renderer. Salesforce has no 429 for the REST
    API's allocation: injected rate limits come back as its 403 REQUEST_LIMIT_EXCEEDED."""
    if status == 429:
        status, code, message = 403, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded."
    return JSONResponse([{"message": message, "errorCode": code or "UNKNOWN_EXCEPTION"}], status_code=status)


def create_app(ctx: SimContext) -> FastAPI:
    app = FastAPI(title="Salesforce simulator", openapi_url=None, docs_url=None, redoc_url=None)

    def on_change(name: str, before: Record | None, record: Record) -> None:
        won = name == "Opportunity" and record.get("StageName") == "Closed Won"
        if won and (before is None or before.get("StageName") != "Closed Won"):
            ctx.background(lambda: _send(record))
        elif name == "Account" and before is not None and "Account" in outbound.objects(ctx):
            sent = dict(record)  # the record as it was saved: a later save sends its own message
            ctx.background(lambda: _send(sent, "Account"))

    async def _send(record: Record, kind: str = "Opportunity") -> None:
        await outbound.send(ctx, record, kind)

    records = Records(ctx.store, on_change)
    rest = Rest(records)
    app.state.records, app.state.rest = records, rest

    def limit_info(used: int) -> dict[str, str]:
        return {"Sforce-Limit-Info": f"api-usage={used}/{daily_limit()}"}

    def daily_limit() -> int:
        return int(ctx.store.setting("salesforce_daily_limit", ctx.settings.salesforce_daily_limit))

    @app.post("/services/oauth2/token")
    async def token(request: Request) -> Response:
        form = {k: v[-1] for k, v in parse_qs((await request.body()).decode()).items()}
        try:
            return JSONResponse(auth.issue(ctx, form, request.headers.get("authorization")))
        except auth.OAuthError as failure:
            return JSONResponse({"error": failure.error, "error_description": failure.description}, failure.status)

    @app.get("/services/data")
    async def versions() -> Response:
        base = "/services/data"
        return JSONResponse([{"label": f"v{v}", "url": f"{base}/v{v}", "version": v} for v in VERSIONS])

    @app.get("/services/data/v{version}/limits")
    async def limits(request: Request, version: str) -> Response:
        if not auth.valid_session(ctx, request.headers.get("authorization")):
            return error(401, "INVALID_SESSION_ID", "Session expired or invalid")
        used = ctx.store.next_id(USAGE, 1)
        remaining = max(0, daily_limit() - used)
        body = {"DailyApiRequests": {"Max": daily_limit(), "Remaining": remaining}}
        return JSONResponse(body, headers=limit_info(used))

    @app.api_route("/{path:path}", methods=["GET", "POST", "PATCH", "DELETE", "PUT", "HEAD"])
    async def api(request: Request, path: str) -> Response:
        if not path.startswith("services/data/"):
            return error(404, "NOT_FOUND", "The requested resource does not exist")
        if not auth.valid_session(ctx, request.headers.get("authorization")):
            return error(401, "INVALID_SESSION_ID", "Session expired or invalid")
        used = ctx.store.next_id(USAGE, 1)
        headers = limit_info(used)
        if used > daily_limit():
            response = error(403, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.")
            response.headers.update(headers)
            return response
        raw = await request.body()
        try:
            body: Any = json.loads(raw) if raw else None
        except ValueError:
            response = error(400, "JSON_PARSER_ERROR", "Unexpected character in the request body")
            response.headers.update(headers)
            return response
        url = "/" + path + (f"?{request.url.query}" if request.url.query else "")
        try:
            status, answer = rest.dispatch(request.method, url, body, dict(request.headers))
        except SalesforceError as failure:
            return JSONResponse(failure.body(), failure.status, headers=headers)
        if status == 204 or answer is None:
            return Response(status_code=status, headers=headers)
        return JSONResponse(answer, status, headers=headers)

    return app
