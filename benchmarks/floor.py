"""The engine floor: the saga's shape (activities, search-attribute upserts) with no-op activities."""

from __future__ import annotations

from datetime import timedelta
from typing import Literal

from pydantic import BaseModel, Field
from temporalio import activity, workflow

from workflows import search


class FloorInput(BaseModel):
    steps: list[Literal["remote", "local"]] = Field(description="the saga's steps in order, from its history")
    upserts: int


@activity.defn(name="floor.noop")
async def noop(step: int) -> int:
    return step


@workflow.defn(name="EngineFloor")
class EngineFloor:
    """The happy-path saga's steps (activities and local activities) and upserts, doing nothing else."""

    @workflow.run
    async def run(self, shape: FloorInput) -> int:
        for index, kind in enumerate(shape.steps):
            if index < shape.upserts:
                workflow.upsert_search_attributes([search.STAGE.value_set(f"step-{index}")])
            run = workflow.execute_local_activity if kind == "local" else workflow.execute_activity
            await run(noop, index, start_to_close_timeout=timedelta(seconds=30))
        return len(shape.steps)
