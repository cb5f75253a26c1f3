"""A step's declaration: its activity, where and how it runs, what it records; and a failure described."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from typing import Any, Generic, Protocol, TypeVar

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError
from temporalio.exceptions import TimeoutError as ActivityTimeout

from workflows.kit.options import Retry

with workflow.unsafe.imports_passed_through():
    from models.saga import SagaError

In = TypeVar("In", bound="Keyed")  # a step's input model
Out = TypeVar("Out")  # a step's output model


class Keyed(Protocol):
    """A step's single input model: the kit fills in the keys, so every retry writes the same record."""

    correlation_id: str
    idempotency_key: str


@dataclass(frozen=True)
class Step(Generic[In, Out]):
    """What to call and how. Declared once, next to its undo, by the business saga.

    `queue` names a role's own task queue (the saga's `Config.queues` says which one); `local` runs a cheap,
    idempotent call as a local activity; `external_id` picks the record id the status shows; `skippable`
    lets an operator skip the step when it is parked (done by hand); `action` says what an undo does.
    """

    name: str
    activity: Callable[[Any, In], Awaitable[Out]]
    queue: str | None = None
    local: bool = False
    retry: Retry = Retry.FORWARD
    external_id: Callable[[Out], object] | None = None
    skippable: bool = False
    action: str = ""

    def __call__(self, arg: In) -> Call:
        return Call(self, arg)

    def named(self, name: str) -> Step[In, Out]:
        """The same step under another name, e.g. one per billing frequency."""
        return replace(self, name=name)

    def using(self, make: Callable[[Any, str], In]) -> Later:
        """This step as an undo: `make` builds its input, when it runs, from the forward step's output
        (None if an operator skipped that step) and the reason the saga stopped."""
        return Later(self, make)


@dataclass(frozen=True)
class Call:
    """A step with its input."""

    step: Step[Any, Any]
    arg: Keyed


@dataclass(frozen=True)
class Later:
    """An undo declared beside its forward step; its input is made only if and when it runs."""

    step: Step[Any, Any]
    make: Callable[[Any, str], Keyed]

    def call(self, output: Any, reason: str) -> Call:
        return Call(self.step, self.make(output, reason))


def cause_of(failure: ActivityError | ApplicationError) -> BaseException | None:
    """The activity's own error: past a schedule-to-close timeout, the last attempt's error where there is one."""
    cause = failure if isinstance(failure, ApplicationError) else failure.cause
    if isinstance(cause, ActivityTimeout) and isinstance(cause.cause, ApplicationError):
        return cause.cause
    return cause


def refused(failure: ActivityError | ApplicationError) -> bool:
    """A vendor's refusal on business grounds (the activity marked it non-retryable): compensate, or park it
    when a person can fix the data; anything else stopped because the retry policy gave up."""
    cause = cause_of(failure)
    return isinstance(cause, ApplicationError) and cause.non_retryable


def describe(step: str, failure: ActivityError | ApplicationError) -> SagaError:
    """A failure as the status shows it: the vendor's code and message when the activity classified it."""
    cause = cause_of(failure)
    if isinstance(cause, ApplicationError):
        details = cause.details[0] if cause.details and isinstance(cause.details[0], dict) else {}
        return SagaError(
            step=step,
            type=cause.type or "ApplicationError",
            message=details.get("message") or cause.message,
            system=details.get("system"),
        )
    return SagaError(step=step, type=type(cause).__name__ if cause else "ActivityError", message=str(cause or failure))
