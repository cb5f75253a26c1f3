"""A hard ceiling on a vendor's requests per second, in one process.

Temporal's task-queue rate limit (`Q2C_ERP_ACTIVITIES_PER_SECOND`) is a token bucket on activity dispatches: the
right long-run rate for every worker at once, but a full bucket lets a burst through on top of its refill (30 ERP
activities in one second under a limit of 20, measured), and an activity makes one to three requests. A vendor
that counts requests per second wants a ceiling on requests. `Pacer` keeps the start times of the last `limit`
requests and holds the next one until the oldest is a window old, so no window of that length, anywhere, starts
more than `limit`. It counts one process; with W worker processes give each the vendor's limit divided by W.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Awaitable, Callable


class Pacer:
    """At most `limit` requests begun in any `window` seconds (sliding), waiters served in arrival order."""

    def __init__(
        self,
        limit: int,
        window: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        if limit < 1 or window <= 0:
            raise ValueError(f"a pacer needs a limit of at least 1 and a positive window, not {limit} per {window} s")
        self.limit, self.window = limit, window
        self._clock, self._sleep = clock, sleep
        self._begun: deque[float] = deque(maxlen=limit)
        self._turn = asyncio.Lock()

    async def wait_turn(self) -> None:
        """Return when a request may begin, and count it as begun."""
        async with self._turn:
            while len(self._begun) == self.limit and (wait := self._begun[0] + self.window - self._clock()) > 0:
                await self._sleep(wait)
            self._begun.append(self._clock())
