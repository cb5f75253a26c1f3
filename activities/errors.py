"""Vendor errors become Temporal's: retryable or not, with the vendor's code as the error type."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

import structlog
from temporalio import activity
from temporalio.exceptions import ApplicationError

from connectors.errors import BusinessRuleError, ConnectorError, RateLimited, SchemaDrift, Unauthorized
from connectors.http import correlation_id
from models.steps import StepInput

log = structlog.get_logger("q2c.activity")
VENDOR_ERRORS = "q2c_vendor_errors"
RATE_LIMITED = "RateLimited"
TRANSIENT = "Transient"
UNAUTHORIZED = "Unauthorized"
SCHEMA_DRIFT = "SchemaDrift"
ERROR_CLASS = {RATE_LIMITED: "rate_limited", TRANSIENT: "transient", UNAUTHORIZED: "unauthorized"}


def to_application_error(error: ConnectorError) -> ApplicationError:
    details = {"system": error.system, "code": error.code, "status": error.status, "message": error.message}
    if isinstance(error, RateLimited):
        delay = timedelta(seconds=error.retry_after) if error.retry_after is not None else None
        return ApplicationError(str(error), details, type=RATE_LIMITED, next_retry_delay=delay)
    if isinstance(error, SchemaDrift):
        details |= {"object": error.object, "field": error.field}
        return ApplicationError(str(error), details, type=SCHEMA_DRIFT, non_retryable=True)
    if isinstance(error, BusinessRuleError):
        return ApplicationError(str(error), details, type=error.code or "BusinessRule", non_retryable=True)
    if isinstance(error, Unauthorized):
        # Credentials are configuration: keep retrying (with backoff) until an operator fixes them,
        # rather than compensating every saga in flight.
        return ApplicationError(str(error), details, type=UNAUTHORIZED)
    return ApplicationError(str(error), details, type=TRANSIENT)


@contextmanager
def vendor_step(step: StepInput) -> Iterator[None]:
    """Run one vendor call for a step: correlation id on the wire, errors classified for Temporal."""
    token = correlation_id.set(step.correlation_id or None)
    try:
        yield
    except ConnectorError as error:
        failure = to_application_error(error)
        kind = "business" if failure.non_retryable else ERROR_CLASS.get(failure.type or "", "transient")
        log.warning("vendor call failed", system=error.system, code=error.code, error_class=kind, error=str(error))
        if activity.in_activity():
            activity.metric_meter().create_counter(
                VENDOR_ERRORS, "failed vendor calls by system and class; all but business errors are retried"
            ).add(1, {"system": error.system, "error_class": kind})
        raise failure from error
    finally:
        correlation_id.reset(token)


def attempt() -> int:
    return activity.info().attempt
