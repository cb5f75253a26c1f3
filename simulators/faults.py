"""Fault injection and request counting, in front of every simulator."""

from __future__ import annotations

import asyncio
import fnmatch
import hashlib
import re
import time
from typing import Literal

from pydantic import BaseModel, Field
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from simulators.context import ErrorRenderer, SimContext

FaultKind = Literal["error", "rate_limit", "latency", "hang", "business"]


class Fault(BaseModel):
    """One injected misbehaviour, matched by system, method and path glob (below the system prefix)."""

    system: Literal["hubspot", "netsuite", "stripe", "zendesk", "salesforce"]
    kind: FaultKind
    method: str = "*"
    path: str = "*"
    match: str | None = Field(default=None, description="only requests whose body contains this text")
    rate: float = Field(default=1.0, ge=0, le=1)
    count: int | None = Field(default=None, ge=1, description="affect at most this many requests")
    status: int | None = Field(default=None, ge=400, le=599)
    retry_after: float | None = Field(default=None, ge=0)
    latency_ms: int = Field(default=0, ge=0)
    hang_seconds: float = Field(default=30.0, ge=0)
    code: str | None = None
    message: str | None = None


_SEGMENT_ID = re.compile(r"\d|^eid:|^(cus|sub|in|ii|price|prod|cn|evt)_")
_VERSION = re.compile(r"^v\d+(\.\d+)?$")


def endpoint(path: str) -> str:
    """`/crm/v3/objects/deals/1234` -> `/crm/v3/objects/deals/{id}`: counts per endpoint, not per record."""
    parts = ["{id}" if _SEGMENT_ID.search(p) and not _VERSION.match(p) else p for p in path.split("/")]
    return "/".join(parts)


class FaultMiddleware:
    def __init__(self, app: ASGIApp, ctx: SimContext, renderers: dict[str, ErrorRenderer]) -> None:
        self.app, self.ctx, self.renderers = app, ctx, renderers

    def _pick(self, system: str, method: str, path: str, body: bytes) -> list[Fault]:
        chosen = []
        for raw in self.ctx.store.faults():
            fault = Fault.model_validate(raw)
            if fault.system != system or not fnmatch.fnmatchcase(method, fault.method.upper()):
                continue
            # Zendesk documents `.json` paths and serves the bare ones too: a fault on either form matches both
            if not any(fnmatch.fnmatchcase(p, fault.path) for p in (path, path.removesuffix(".json"))):
                continue
            if fault.match and fault.match.encode() not in body:
                continue
            if self.ctx.rng.random() >= fault.rate:
                continue
            if fault.count is not None:
                if fault.count <= 1:
                    self.ctx.store.clear_faults(raw["id"])
                else:
                    self.ctx.store.update_fault({**raw, "count": fault.count - 1})
            chosen.append(fault)
        return chosen

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        system, _, rest = scope["path"].lstrip("/").partition("/")
        renderer = self.renderers.get(system)
        if renderer is None:
            await self.app(scope, receive, send)
            return
        path, method = "/" + rest, scope["method"]
        body = await _read_body(receive)
        request_key = self._request_key(system, method, path, scope, body)
        self._check_retry_after(request_key)
        counted = False

        async def counted_send(message: Message) -> None:
            nonlocal counted
            if message["type"] == "http.response.start" and not counted:
                counted = True  # before the client can see the answer
                self.ctx.store.count_request(system, method, endpoint(path), message["status"])
            await send(message)

        try:
            for fault in self._pick(system, method, path, body):
                if fault.kind == "latency":
                    await asyncio.sleep(fault.latency_ms / 1000)
                    continue
                if fault.kind == "hang":
                    await asyncio.sleep(fault.hang_seconds)
                    continue
                if fault.kind == "rate_limit":
                    wait = fault.retry_after if fault.retry_after is not None else 1.0
                    self.ctx.not_before[request_key] = time.monotonic() + wait
                await self._render(renderer, fault)(scope, _replay(body), counted_send)
                return
            await self.app(scope, _replay(body), counted_send)
        finally:
            if not counted:
                self.ctx.store.count_request(system, method, endpoint(path), 499)  # client went away

    @staticmethod
    def _request_key(system: str, method: str, path: str, scope: Scope, body: bytes) -> tuple[str, ...]:
        """The same request again: same call, same saga (correlation id), same body."""
        headers = dict(scope.get("headers") or [])
        correlation = headers.get(b"x-correlation-id", b"").decode()
        return system, method, path, correlation, hashlib.sha256(body).hexdigest()

    def _check_retry_after(self, key: tuple[str, ...]) -> None:
        not_before = self.ctx.not_before.pop(key, None)
        if not_before is not None and key[3]:
            early = not_before - time.monotonic()
            if early > 0.05:  # clock granularity
                self.ctx.early_retries.append(
                    {
                        "system": key[0],
                        "method": key[1],
                        "path": key[2],
                        "correlation_id": key[3],
                        "early_by_s": round(early, 3),
                    }
                )

    @staticmethod
    def _render(renderer: ErrorRenderer, fault: Fault) -> Response:
        if fault.kind == "rate_limit":
            return renderer(
                fault.status or 429,
                fault.code or "rate_limit",
                fault.message or "rate limit exceeded",
                fault.retry_after if fault.retry_after is not None else 1.0,
            )
        if fault.kind == "business":
            return renderer(
                fault.status or 400, fault.code or "business_rule", fault.message or "rejected by a business rule"
            )
        return renderer(
            fault.status or 503,
            fault.code or "UNEXPECTED_ERROR",
            fault.message or "the service is temporarily unavailable",
        )


async def _read_body(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            return b"".join(chunks)


def _replay(body: bytes) -> Receive:
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        await asyncio.Event().wait()  # like a client that stays connected
        return {"type": "http.disconnect"}

    return receive
