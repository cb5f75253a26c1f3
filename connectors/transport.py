"""How every connector's requests reach the wire: aiohttp's connection pool under httpx's API, traced.

Why not httpx's own transport: httpcore's pool asks every pooled connection whether it has expired (a
`getpeername` and a `poll` each) twice per request, so a request costs more the more connections are open
(encode/httpcore #924, #928; unfixed in 1.0.9). aiohttp's pool does not scan. Measured (BENCHMARKS.md, "Second
pass"): the saga's workflow tasks a third to a half shorter, the worker's CPU 1-13% lower. Connectors keep
httpx's request and response types, its timeouts and error classes, and tests keep `httpx.MockTransport`.
"""

from __future__ import annotations

import aiohttp
import httpx
from httpx_aiohttp import AiohttpTransport
from opentelemetry.instrumentation.httpx import AsyncOpenTelemetryTransport


class PooledTransport(AiohttpTransport):
    """httpx-aiohttp's transport, its failures made the httpx errors httpx's own transport raises: a refused
    connection a `ConnectError` (httpx-aiohttp 0.2 calls it a `ConnectTimeout`), a connection closed after the
    request went out, or anything it leaves unmapped (a malformed answer), a `RemoteProtocolError`, so
    connectors classify them as before and a log does not say "connect" of a request the vendor may have had."""

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        try:
            return await super().handle_async_request(request)
        except httpx.TimeoutException as error:
            cause = error.__cause__
            said = f"{type(cause).__name__}: {cause}"
            if isinstance(cause, aiohttp.ServerDisconnectedError):  # after the request was sent: it may have landed
                raise httpx.RemoteProtocolError(said, request=request) from cause
            if isinstance(cause, aiohttp.ClientConnectionError) and not isinstance(cause, TimeoutError):
                raise httpx.ConnectError(said, request=request) from cause
            raise
        except aiohttp.ClientError as error:
            raise httpx.RemoteProtocolError(f"{type(error).__name__}: {error}", request=request) from error


def vendor_transport() -> httpx.AsyncBaseTransport:
    """The pooled transport, each request a client span under the process's tracer provider (the same spans
    `HTTPXClientInstrumentor` makes for httpx's own transport, which it cannot see inside this one). The pool's
    limits are httpx's defaults: 100 connections open at once, 20 kept idle for 5 s."""
    return AsyncOpenTelemetryTransport(PooledTransport())
