"""Everything before a route runs: auth, form-only bodies, Stripe-Version, idempotency, and Stripe's error bodies."""

from __future__ import annotations

import base64
import hashlib
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException
from starlette.responses import Response

from simulators.context import SimContext
from simulators.stripe.core import SYSTEM, StripeError, error, request_id, version_of

UNRECOGNIZED = (
    "Unrecognized request URL ({method}: {path}). Please see https://stripe.com/docs or we can help at "
    "https://support.stripe.com/."
)


def install(app: FastAPI, ctx: SimContext) -> None:
    store = ctx.store
    in_flight: set[str] = set()

    @app.exception_handler(StripeError)
    async def _stripe_error(_: Request, exc: StripeError) -> Response:
        return error(exc.status, exc.code, exc.message, param=exc.param, kind=exc.kind)

    @app.exception_handler(HTTPException)
    async def _unrouted(request: Request, exc: HTTPException) -> Response:
        """Stripe answers an unknown path or method with its own 404, never a framework's `{"detail": ...}`."""
        if exc.status_code in (404, 405):
            path = request.url.path.removeprefix(request.scope.get("root_path", ""))
            return error(404, None, UNRECOGNIZED.format(method=request.method, path=path))
        return error(exc.status_code, None, str(exc.detail))

    @app.exception_handler(RequestValidationError)
    async def _malformed(_: Request, exc: RequestValidationError) -> Response:
        return error(400, "parameter_invalid", f"Invalid request: {exc.errors()[0].get('msg', 'malformed')}")

    def authorised(request: Request) -> bool:
        header = request.headers.get("authorization", "")
        if header == f"Bearer {ctx.settings.stripe_key}":
            return True
        if header.startswith("Basic "):
            try:
                user = base64.b64decode(header[6:]).decode().split(":", 1)[0]
            except ValueError:
                return False
            return user == ctx.settings.stripe_key
        return False

    @app.middleware("http")
    async def gate(request: Request, call_next: Any) -> Response:
        """Every answer carries `Request-Id` and the `Stripe-Version` it was rendered in."""
        try:
            version = version_of(request)
        except StripeError as exc:
            return error(exc.status, exc.code, exc.message)
        response = await _gated(request, call_next)
        response.headers.setdefault("Request-Id", request_id())
        response.headers["Stripe-Version"] = version
        return response

    async def _gated(request: Request, call_next: Any) -> Response:
        if not authorised(request):
            return error(
                401, "api_key_invalid", "Invalid API Key provided: " + _redact(request.headers.get("authorization", ""))
            )
        body = await request.body()
        if request.method not in ("POST", "DELETE"):
            return await call_next(request)
        if body and "application/x-www-form-urlencoded" not in request.headers.get("content-type", ""):
            return error(
                400,
                "parameter_invalid_string",
                "Invalid request: the Stripe API only accepts application/x-www-form-urlencoded request "
                "bodies, with nested parameters in bracket notation (e.g. items[0][price]=...).",
            )
        key = request.headers.get("idempotency-key")
        if request.method != "POST" or not key:
            return await call_next(request)
        if len(key) > 255:
            return error(
                400,
                "idempotency_key_too_long",
                "Idempotency keys may be at most 255 characters long.",
                param="Idempotency-Key",
            )
        fingerprint = hashlib.sha256(request.url.path.encode() + b"?" + _canonical(body)).hexdigest()
        saved = store.saved_response(SYSTEM, key)
        if saved is not None:
            if saved[0] != fingerprint:
                return error(
                    400,
                    "idempotency_key_in_use",
                    f"Keys for idempotent requests can only be used with the same parameters they were "
                    f"first used with. Try using a key other than '{key}' if you meant to execute a "
                    "different request.",
                    kind="idempotency_error",
                )
            return Response(
                saved[2],
                status_code=saved[1],
                media_type="application/json",
                headers={"Idempotent-Replayed": "true", "Idempotency-Key": key},
            )
        if key in in_flight:  # Stripe answers a concurrent reuse of a key with 409; retrying is right
            return error(
                409,
                "idempotency_key_in_use",
                "There is currently another in-progress request using this Idempotency Key (that probably means "
                f"you submitted twice, and the other request is still going through): {key}. Please try again later.",
                kind="idempotency_error",
            )
        in_flight.add(key)
        try:
            response = await call_next(request)
            chunks = [chunk async for chunk in response.body_iterator]
            content = b"".join(c if isinstance(c, bytes) else c.encode() for c in chunks)
            if 200 <= response.status_code < 300 or response.status_code >= 500:
                store.save_response(SYSTEM, key, fingerprint, response.status_code, content.decode())
        finally:
            in_flight.discard(key)
        headers = {k: v for k, v in response.headers.items() if k.lower() != "content-length"}
        return Response(content, status_code=response.status_code, headers={**headers, "Idempotency-Key": key})


def _canonical(body: bytes) -> bytes:
    return "&".join(sorted(body.decode().split("&"))).encode()


def _redact(header: str) -> str:
    token = header.split(" ", 1)[-1]
    return (token[:8] + "*" * 8 + token[-4:]) if len(token) > 12 else "****"
