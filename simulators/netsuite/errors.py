"""NetSuite's error body for every refusal, unknown routes and the concurrency limit included."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from simulators.context import SimContext

SYSTEM = "netsuite"
MEDIA_TYPE = "application/vnd.oracle.resource+json"
INVALID_LOGIN = (
    "Invalid login attempt. For more details, see the Login Audit Trail in the NetSuite UI at Setup > "
    "Users/Roles > User Management > View Login Audit Trail."
)
_TITLES = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    429: "Too Many Requests",
    500: "Internal Server Error",
    503: "Service Unavailable",
}
_SECTIONS = {400: "5.1", 401: "5.2", 403: "5.4", 404: "5.5", 405: "5.6", 429: "5.29", 500: "6.1", 503: "6.4"}


def body(status: int, code: str, message: str, **where: str) -> dict[str, Any]:
    """`where` adds NetSuite's optional locators: `o:errorPath`, `o:errorHeader`, `o:errorQueryParam`..."""
    detail: dict[str, Any] = {"detail": message, "o:errorCode": code}
    detail.update({f"o:{key}": value for key, value in where.items()})
    return {
        "type": f"https://www.rfc-editor.org/rfc/rfc9110.html#section-15.{_SECTIONS.get(status, '5.1')}",
        "title": _TITLES.get(status, "Error"),
        "status": status,
        "o:errorDetails": [detail],
    }


def error(status: int, code: str, message: str, retry_after: float | None = None) -> Response:
    """The renderer the fault middleware uses too, so injected faults look like NetSuite's own."""
    if status == 429 and code == "rate_limit":
        code, message = "CONCURRENCY_LIMIT_EXCEEDED", "Concurrent request limit exceeded. Request blocked."
    headers = {"Retry-After": f"{retry_after:g}"} if retry_after is not None else {}
    return JSONResponse(body(status, code, message), status_code=status, headers=headers, media_type=MEDIA_TYPE)


def unauthorized() -> Response:
    """NetSuite never says which part of the login was wrong."""
    return error(401, "INVALID_LOGIN", INVALID_LOGIN)


class NetSuiteError(Exception):
    def __init__(self, status: int, code: str, message: str, path: str | None = None, **where: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
        self.where = {**where, **({"errorPath": path} if path else {})}

    def response(self, headers: dict[str, str] | None = None) -> Response:
        content = body(self.status, self.code, self.message, **self.where)
        return JSONResponse(content, status_code=self.status, headers=headers, media_type=MEDIA_TYPE)


def install_error_handlers(app: FastAPI) -> None:
    """NetSuite's body for our own refusals, for routes that don't exist and for malformed parameters."""

    @app.exception_handler(NetSuiteError)
    async def _netsuite(_: Request, exc: NetSuiteError) -> Response:
        return exc.response()

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        if exc.status_code == 405:
            return error(405, "INVALID_METHOD", f"The HTTP method {request.method} is not allowed for this resource.")
        return NetSuiteError(
            404, "NONEXISTENT_RESOURCE", f"Resource {request.url.path} does not exist.", urlPath=request.url.path
        ).response()

    @app.exception_handler(RequestValidationError)
    async def _params(_: Request, exc: RequestValidationError) -> Response:
        first = exc.errors()[0]
        name = str(first["loc"][-1])
        return NetSuiteError(
            400, "INVALID_PARAMETER", f"Invalid value for the parameter {name}: {first['msg']}", errorQueryParam=name
        ).response()


class ConcurrencyLimit:
    """NetSuite's per-account limit on requests in flight: over it, 429 at once. Sits outermost, so
    injected latency counts as time in flight, as a slow NetSuite would."""

    def __init__(self, app: ASGIApp, ctx: SimContext) -> None:
        self.app, self.ctx, self.in_flight = app, ctx, 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(f"/{SYSTEM}/"):
            await self.app(scope, receive, send)
            return
        if self.in_flight >= self.ctx.settings.netsuite_concurrency:
            from simulators.faults import endpoint

            self.ctx.store.count_request(SYSTEM, scope["method"], endpoint(scope["path"][len(SYSTEM) + 1 :]), 429)
            reject = error(429, "CONCURRENCY_LIMIT_EXCEEDED", "Concurrent request limit exceeded. Request blocked.")
            await reject(scope, receive, send)
            return
        self.in_flight += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.in_flight -= 1
