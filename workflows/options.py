"""Timeouts and retry policies: forward steps retry transient errors forever, business errors never."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from temporalio.common import RetryPolicy

# 20 s: a connector gives up on one HTTP call after 10 s; a step makes at most a few calls.
FORWARD: dict[str, Any] = {
    "start_to_close_timeout": timedelta(seconds=20),
    "retry_policy": RetryPolicy(
        initial_interval=timedelta(seconds=1), backoff_coefficient=2.0, maximum_interval=timedelta(minutes=1)
    ),
}
COMPENSATE: dict[str, Any] = {
    "start_to_close_timeout": timedelta(seconds=30),
    "retry_policy": RetryPolicy(
        initial_interval=timedelta(seconds=1), backoff_coefficient=2.0, maximum_interval=timedelta(minutes=5)
    ),
}

# From the exception workbench on: an undo stops retrying after about 20 minutes and goes to a person.
COMPENSATE_CAPPED: dict[str, Any] = {
    **COMPENSATE,
    "retry_policy": RetryPolicy(
        initial_interval=timedelta(seconds=1),
        backoff_coefficient=2.0,
        maximum_interval=timedelta(minutes=5),
        maximum_attempts=10,
    ),
}
