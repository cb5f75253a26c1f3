"""Vendor errors become Temporal's: retryable or not, with the vendor's code as the error type."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

import structlog
from temporalio import activity
from temporalio.exceptions import ApplicationError

from connectors.errors import (
    BusinessRuleError,
    ConnectorError,
    InternalError,
    NotFound,
    RateLimited,
    SchemaDrift,
    Unauthorized,
)
from connectors.http import correlation_id
from models.steps import StepInput

log = structlog.get_logger("q2c.activity")
VENDOR_ERRORS = "q2c_vendor_errors"
RATE_LIMITED = "RateLimited"
TRANSIENT = "Transient"
UNAUTHORIZED = "Unauthorized"
PERMISSION_DENIED = "PermissionDenied"
ENDPOINT_MISSING = "EndpointMissing"
INTERNAL_ERROR = "InternalError"
SCHEMA_DRIFT = "SchemaDrift"
ERROR_CLASS = {
    RATE_LIMITED: "rate_limited",
    TRANSIENT: "transient",
    UNAUTHORIZED: "unauthorized",
    PERMISSION_DENIED: "permission_denied",
    ENDPOINT_MISSING: "endpoint_missing",
    INTERNAL_ERROR: "internal_error",
}
# A 404 is about a record unless the vendor says the route itself is unknown (or sends no code at all, as a
# proxy or a framework does): NetSuite NONEXISTENT_RESOURCE / INVALID_RCRD_TYPE, Zendesk InvalidEndpoint, Stripe
# a 404 with only its error type (an unrecognized URL; a missing record is `resource_missing`).
ROUTE_MISSING = frozenset(
    {"not_found", "NONEXISTENT_RESOURCE", "INVALID_RCRD_TYPE", "InvalidEndpoint", "invalid_request_error"}
)


def route_missing(error: NotFound) -> bool:
    """A 404 on a route (moved or retired at the vendor), not on a record q2c asked for."""
    return error.status == 404 and (error.code or "not_found") in ROUTE_MISSING


def to_application_error(error: ConnectorError) -> ApplicationError:
    details = {"system": error.system, "code": error.code, "status": error.status, "message": error.message}
    if isinstance(error, RateLimited):
        delay = timedelta(seconds=error.retry_after) if error.retry_after is not None else None
        return ApplicationError(str(error), details, type=RATE_LIMITED, next_retry_delay=delay)
    if isinstance(error, SchemaDrift):
        details |= {"object": error.object, "field": error.field}
        return ApplicationError(str(error), details, type=SCHEMA_DRIFT, non_retryable=True)
    if isinstance(error, NotFound) and route_missing(error):
        return ApplicationError(str(error), details, type=ENDPOINT_MISSING)
    if isinstance(error, BusinessRuleError):
        return ApplicationError(str(error), details, type=error.code or "BusinessRule", non_retryable=True)
    # Below, causes retrying soon cannot fix, but fixed outside q2c's data (configuration, the vendor, a
    # release): retryable here, so a saga started before the workbench keeps retrying as it always did; the
    # saga's retry policy stops them at once and parks (`exception:credentials`, ...) without compensating.
    if isinstance(error, Unauthorized):
        return ApplicationError(str(error), details, type=PERMISSION_DENIED if error.status == 403 else UNAUTHORIZED)
    if isinstance(error, InternalError):
        return ApplicationError(str(error), details, type=INTERNAL_ERROR)
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
