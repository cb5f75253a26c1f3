"""The one shield from cancellation: work that must land (a step's write, an undo, a final note)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")


async def shielded(work: Awaitable[T], on_cancel: Callable[[], None] | None = None) -> T:
    """Await `work` to its end even when the workflow is cancelled meanwhile.

    A Temporal cancel arrives as CancelledError where the workflow awaits; a write already sent may land
    anyway, so the work goes on, `on_cancel` hears the cancel (e.g. to undo and stop afterwards), and the
    shield waits again. Only the work's own cancellation gets through.
    """
    task = asyncio.ensure_future(work)
    while True:
        try:
            return await asyncio.shield(task)
        except asyncio.CancelledError:
            if task.done():
                raise
            if on_cancel is not None:
                on_cancel()
