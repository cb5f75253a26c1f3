"""What a business saga hands the kit: where its state lives, its queues and codes, its versions, its hooks."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from datetime import timedelta
from typing import Protocol

from temporalio import workflow

from workflows.kit.options import Patience
from workflows.kit.step import Call

with workflow.unsafe.imports_passed_through():
    from models.saga import CancelRequest, Compensation, Decision, ParkedStep, SagaError, Stage, StepRecord


class Ledger(Protocol):
    """The saga's queryable state, as far as the kit writes it (a business status model adds its own)."""

    stage: Stage
    steps: list[StepRecord]
    external_ids: dict[str, str]
    compensations: list[Compensation]
    decisions: list[Decision]
    exception: ParkedStep | None
    cancel: CancelRequest | None
    error: SagaError | None


@dataclass(frozen=True)
class Versions:
    """Patch ids under which a kit feature came to a saga that already had runs in flight.

    None means the saga always had it (a new saga passes nothing); the ids live in `workflows/patches.py`.
    """

    queues: str | None = None  # steps with a `queue` run on it
    local: str | None = None  # steps marked `local` run as local activities
    workbench: str | None = None  # fixable refusals and stuck undos park for a person; undos retry capped
    unfixable: str | None = None  # errors retry cannot fix, and retries past the patience, park; re-tried by timer

    def ids(self) -> tuple[str, ...]:
        """Every id given, in field order: a saga that asks them at start replays that order, so never reorder."""
        return tuple(patch for attribute in fields(self) if (patch := getattr(self, attribute.name)))


def ask_at_start(patches: tuple[str, ...]) -> None:
    """Ask each patch in the run's first workflow task, before any local activity, so a replay knows them all.

    Temporal's core can record a local activity's result in one workflow task and the commands that follow it in
    the next (the task heartbeated or timed out as the activity ended). A replay resumes the workflow in the
    earlier task, where a patch first asked after the activity is not yet known: `patched` answers False and the
    replay fails on the marker. Asked here, each answer is memoized from the first task on.

    The list is history: runs replay it in its order. Add a patch anywhere (a run from before replays it as
    False), but never remove or reorder one; deprecate it in place (`workflow.deprecate_patch`) when its time comes.
    """
    for patch in patches:
        workflow.patched(patch)


def _nothing() -> Mapping[str, str | None]:
    return {}


def _ignore(_: object) -> None:
    return None


def _nothing_to_do() -> None:
    return None


def _step_name(step: str) -> str:
    return step


def _patient() -> Patience:
    return Patience(attempts=12, within=timedelta(minutes=30), recheck=timedelta(minutes=15))


@dataclass(frozen=True)
class Config:
    """The business saga's specifics.

    `queues`: a step's `queue` name -> task queue. `fixable`: error type -> the code a parked step shows (a
    person can fix it in the data). `outcome`: the step that tells the outside world how the saga ended.
    `context`: ids an operator needs beside a parked step. `on_stage`: e.g. search attributes. `on_park`:
    e.g. a metric. `unfixable`: error type -> code, for a cause outside q2c's data that retrying soon
    cannot fix (a revoked token, a removed permission, a moved route, a q2c defect): the step parks at once
    and is tried again every `patience().recheck` (naming any opts the saga in: forward steps then give up
    after `patience()` and park, rather than retry for ever). `exhausted`: error type -> code for a retryable error past
    `patience()` (other types: `retries_exhausted`).
    """

    correlation_id: str
    queues: Mapping[str, str] = field(default_factory=dict)
    fixable: Mapping[str, str] = field(default_factory=dict)
    unfixable: Mapping[str, str] = field(default_factory=dict)
    exhausted: Mapping[str, str] = field(default_factory=dict)
    patience: Callable[[], Patience] = _patient
    versions: Versions = Versions()
    outcome: Callable[[Stage, str], Call] | None = None
    context: Callable[[], Mapping[str, str | None]] = _nothing
    on_stage: Callable[[Stage], None] = _ignore
    on_park: Callable[[str], None] = _ignore
    on_change: Callable[[], None] = _nothing_to_do  # the ledger changed: e.g. the Temporal UI's current details
    summary: Callable[[str], str] = _step_name  # a step's activity summary in the Temporal UI
    log_context: Mapping[str, str] = field(default_factory=dict)
