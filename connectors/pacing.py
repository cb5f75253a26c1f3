"""A hard ceiling on a vendor's requests per second, in one process, as the vendor counts them.

Temporal's task-queue rate limit (`Q2C_ERP_ACTIVITIES_PER_SECOND`) is a token bucket on activity dispatches: the
right long-run rate for every worker at once, but a full bucket lets a burst through on top of its refill (30 ERP
activities in one second under a limit of 20, measured), and an activity makes one to three requests. A vendor
that counts requests per second wants a ceiling on requests, at its own door.

Spacing the *starts* of requests a second apart is not enough: a request that waited on a busy event loop or in
the network arrives late and lands in the next one's second (24 arrivals in a second under a ceiling of 20,
measured at the simulator). So `Pacer` lets a request hold its place from the moment it begins until a window
after it ends, when the vendor has certainly seen it: for any `window` at the vendor's door holding more than
`limit` arrivals, the last of them to begin would have found `limit` places held. The price is the requests'
latency: a place turns over every window plus one round trip. It counts one process; with W worker processes
give each the vendor's limit divided by W.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager


class Pacer:
    """At most `limit` requests in flight or ended within the last `window` seconds; waiters in arrival order."""

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
        self._in_flight = 0
        self._ended: deque[float] = deque()
        self._an_end = asyncio.Event()
        self._queue = asyncio.Lock()

    @asynccontextmanager
    async def turn(self) -> AsyncIterator[None]:
        """Hold a place for one request: wait for one, send inside the block, the place kept a window after."""
        async with self._queue:
            while (wait := self._wait()) > 0:
                if math.isinf(wait):  # every place is a request in flight: the first to end starts its window
                    self._an_end.clear()
                    await self._an_end.wait()
                else:
                    await self._sleep(wait)
            self._in_flight += 1
        try:
            yield
        finally:
            self._in_flight -= 1
            self._ended.append(self._clock())
            self._an_end.set()

    def _wait(self) -> float:
        """Seconds until a place frees (0: one is free; inf: when a request in flight ends, plus a window)."""
        now = self._clock()
        while self._ended and self._ended[0] + self.window <= now:
            self._ended.popleft()
        if self._in_flight + len(self._ended) < self.limit:
            return 0.0
        return self._ended[0] + self.window - now if self._ended else math.inf
