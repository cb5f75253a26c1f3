"""A stack of undo actions, run in reverse and shielded so that cancellation cannot interrupt it."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta

from temporalio import workflow
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from models.saga import Compensation

MAX_BACKOFF = timedelta(hours=1)


@dataclass(frozen=True)
class Undo:
    step: str
    action: str
    run: Callable[[], Awaitable[str]]


class Compensations:
    def __init__(self) -> None:
        self._stack: list[Undo] = []

    def push(self, step: str, action: str, run: Callable[[], Awaitable[str]]) -> None:
        self._stack.append(Undo(step, action, run))

    def __len__(self) -> int:
        return len(self._stack)

    async def unwind(self, done: Callable[[Compensation], None]) -> None:
        """Undo every completed step, newest first; a workflow cancel mid-way does not stop it."""
        task = asyncio.ensure_future(self._unwind(done))
        while not task.done():
            try:
                await asyncio.shield(task)
            except asyncio.CancelledError:
                continue  # the undo goes on; the cancellation has been heard
        task.result()

    async def _unwind(self, done: Callable[[Compensation], None]) -> None:
        while self._stack:
            undo = self._stack.pop()
            done(Compensation(step=undo.step, action=undo.action, at=workflow.now(), result=await _until_done(undo)))


async def _until_done(undo: Undo) -> str:
    """Transient errors are retried by the activity's policy; a refusal is retried here, with backoff."""
    delay = timedelta(seconds=30)
    while True:
        try:
            return await undo.run()
        except ActivityError as error:
            workflow.logger.warning("compensation %s refused (%s); retrying in %s", undo.action, error.cause, delay)
            await workflow.sleep(delay)
            delay = min(delay * 2, MAX_BACKOFF)
