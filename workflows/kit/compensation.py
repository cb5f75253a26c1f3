"""A stack of undo actions, run newest first and shielded so that cancellation cannot interrupt it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta

from temporalio import workflow
from temporalio.exceptions import ActivityError

from workflows.kit.shield import shielded

with workflow.unsafe.imports_passed_through():
    from models.saga import Compensation

MAX_BACKOFF = timedelta(hours=1)
REFUSALS_BEFORE_ESCALATION = 3

# Told when an undo keeps failing; answers "retry", "skip", or None to keep retrying on its own.
Stuck = Callable[["Undo", ActivityError], Awaitable[str | None]]


@dataclass(frozen=True)
class Undo:
    step: str
    action: str
    run: Callable[[], Awaitable[str]]


class Compensations:
    def __init__(self, stuck: Stuck | None = None) -> None:
        self._stack: list[Undo] = []
        self._stuck = stuck

    def push(self, step: str, action: str, run: Callable[[], Awaitable[str]]) -> None:
        self._stack.append(Undo(step, action, run))

    def __len__(self) -> int:
        return len(self._stack)

    async def unwind(self, done: Callable[[Compensation], None]) -> None:
        """Undo every completed step, newest first; a workflow cancel mid-way does not stop it."""
        await shielded(self._unwind(done))

    async def _unwind(self, done: Callable[[Compensation], None]) -> None:
        while self._stack:
            undo = self._stack.pop()
            result = await self._until_done(undo)
            done(Compensation(step=undo.step, action=undo.action, at=workflow.now(), result=result))

    async def _until_done(self, undo: Undo) -> str:
        """Transient errors are retried by the activity's policy; a refusal is retried here, with backoff,
        and after a few refusals a person is asked to retry or skip (having undone it by hand)."""
        delay, refusals = timedelta(seconds=30), 0
        while True:
            try:
                return await undo.run()
            except ActivityError as error:
                refusals += 1
                if refusals >= REFUSALS_BEFORE_ESCALATION and self._stuck is not None:
                    decision = await self._stuck(undo, error)
                    if decision == "skip":
                        return "skipped: undone by hand, as an operator decided"
                    if decision == "retry":
                        delay, refusals = timedelta(seconds=30), 0
                        continue
                workflow.logger.warning("compensation %s refused (%s); retrying in %s", undo.action, error.cause, delay)
                await workflow.sleep(delay)
                delay = min(delay * 2, MAX_BACKOFF)
