"""Retry classes: forward steps retry transient errors for ever, business errors never; undos are capped."""

from __future__ import annotations

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


def options(retry: Retry, *, capped: bool = True) -> dict[str, Any]:
    if retry is Retry.FORWARD:
        return FORWARD
    return COMPENSATE_CAPPED if capped else COMPENSATE
