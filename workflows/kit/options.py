"""Retry classes: forward steps retry transient errors for ever, business errors never; undos are capped."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum
from typing import Any

from temporalio.common import RetryPolicy


class Retry(StrEnum):
    """How a step retries; the activity's error classifier marks business refusals non-retryable."""

    FORWARD = "forward"  # transient errors for ever, with backoff
    UNDO = "undo"  # longer timeout; about 20 minutes of attempts, then a person decides (the workbench)


# 20 s: a connector gives up on one HTTP call after 10 s; a step makes at most a few calls.
FORWARD: dict[str, Any] = {
    "start_to_close_timeout": timedelta(seconds=20),
    "retry_policy": RetryPolicy(
        initial_interval=timedelta(seconds=1), backoff_coefficient=2.0, maximum_interval=timedelta(minutes=1)
    ),
}
# Before a saga had a workbench, an undo retried for ever: runs recorded then replay with it.
COMPENSATE: dict[str, Any] = {
    "start_to_close_timeout": timedelta(seconds=30),
    "retry_policy": RetryPolicy(
        initial_interval=timedelta(seconds=1), backoff_coefficient=2.0, maximum_interval=timedelta(minutes=5)
    ),
}
COMPENSATE_CAPPED: dict[str, Any] = {
    **COMPENSATE,
    "retry_policy": RetryPolicy(
        initial_interval=timedelta(seconds=1),
        backoff_coefficient=2.0,
        maximum_interval=timedelta(minutes=5),
        maximum_attempts=10,
    ),
}


@dataclass(frozen=True)
class Patience:
    """How long a forward step retries before it parks, and how often a parked one is tried again.

    `attempts` / `within`: a retryable error (a 5xx, a rate limit) past either parks the step; `recheck`:
    a step parked for a cause outside q2c (a revoked token, a removed permission) is tried again this often,
    and the saga resumes by itself when it works.
    """

    attempts: int
    within: timedelta
    recheck: timedelta


def options(retry: Retry, *, capped: bool = True) -> dict[str, Any]:
    if retry is Retry.FORWARD:
        return FORWARD
    return COMPENSATE_CAPPED if capped else COMPENSATE


def bounded(patience: Patience, unfixable: Iterable[str], *, attempts: int | None = None) -> dict[str, Any]:
    """A forward step that gives up (and parks) instead of retrying for ever: errors retry cannot fix at once,
    the others after the patience runs out. `attempts` overrides (a periodic re-try is one attempt)."""
    policy: RetryPolicy = FORWARD["retry_policy"]
    return {
        **FORWARD,
        "schedule_to_close_timeout": patience.within,
        "retry_policy": RetryPolicy(
            initial_interval=policy.initial_interval,
            backoff_coefficient=policy.backoff_coefficient,
            maximum_interval=policy.maximum_interval,
            maximum_attempts=attempts or patience.attempts,
            non_retryable_error_types=sorted(unfixable),
        ),
    }
