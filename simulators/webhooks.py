"""Deliver a signed webhook at least once, retrying non-2xx with backoff as the vendors do."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import httpx

from simulators.context import SimContext


async def deliver(
    ctx: SimContext, system: str, event_id: str, url: str, body: bytes, sign: Callable[[bytes], dict[str, str]]
) -> bool:
    """POST `body` to `url`, signing each attempt afresh; True once a 2xx is received."""
    attempts, backoff = ctx.settings.webhook_attempts, ctx.settings.webhook_backoff_s
    async with httpx.AsyncClient(timeout=10.0) as client:
        for attempt in range(1, attempts + 1):
            status, error = None, None
            try:
                headers = {"Content-Type": "application/json", **sign(body)}
                response = await client.post(url, content=body, headers=headers)
                status = response.status_code
            except httpx.HTTPError as exc:
                error = f"{type(exc).__name__}: {exc}"
            ctx.store.record_delivery(system, event_id, url, attempt, status, error)
            if status is not None and 200 <= status < 300:
                return True
            if attempt < attempts:
                await asyncio.sleep(min(backoff * 2 ** (attempt - 1), 60.0))
    return False
