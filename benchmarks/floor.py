"""The engine floor: the saga's shape (activities, search-attribute upserts) with no-op activities; for the
parked benchmark, also its hold: a search attribute set, a signal waited for, the attribute cleared."""

from __future__ import annotations

from datetime import timedelta
from typing import Any, Literal

from pydantic import BaseModel, Field
from temporalio import activity, workflow

from workflows import search

HOLD = "credit_review"  # the saga's Q2CHold while it waits for a credit decision


class FloorInput(BaseModel):
    steps: list[Literal["remote", "local"]] = Field(description="the saga's steps in order, from its history")
    upserts: int
    hold_after: int | None = Field(default=None, description="steps before the saga's hold; None: no hold")


@activity.defn(name="floor.noop")
async def noop(step: int) -> int:
    return step


@workflow.defn(name="EngineFloor")
class EngineFloor:
    """The saga's steps (activities and local activities) and upserts, doing nothing else; with `hold_after`,
    parked there (Q2CHold set, as the saga's credit hold) until `approve_credit` is signalled."""

    def __init__(self) -> None:
        self.released = False

    @workflow.signal(name="approve_credit")
    def approve_credit(self, _decision: Any) -> None:
        self.released = True

    @workflow.run
    async def run(self, shape: FloorInput) -> int:
        upserts = shape.upserts - (2 if shape.hold_after is not None else 0)  # the hold's set and clear count
        for index, kind in enumerate(shape.steps):
            if index == shape.hold_after:
                workflow.upsert_search_attributes([search.HOLD.value_set(HOLD)])
                await workflow.wait_condition(lambda: self.released)
                workflow.upsert_search_attributes([search.HOLD.value_set("")])
            if index < upserts:
                workflow.upsert_search_attributes([search.STAGE.value_set(f"step-{index}")])
            run = workflow.execute_local_activity if kind == "local" else workflow.execute_activity
            await run(noop, index, start_to_close_timeout=timedelta(seconds=30))
        return len(shape.steps)
