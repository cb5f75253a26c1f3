"""One error hierarchy for every vendor, so the saga decides retry vs compensate in one place."""

from __future__ import annotations


class ConnectorError(Exception):
    """A vendor call failed. `retryable` says whether trying again can help."""

    retryable = False

    def __init__(self, system: str, message: str, *, code: str | None = None, status: int | None = None) -> None:
        super().__init__(f"{system}: {message}" + (f" [{code}]" if code else ""))
        self.system, self.message, self.code, self.status = system, message, code, status


class TransientError(ConnectorError):
    """5xx, timeouts, connection errors: retry with backoff."""

    retryable = True


class RateLimited(TransientError):
    """429 (or the vendor's equivalent): retry after `retry_after` seconds when the vendor says."""

    def __init__(
        self, system: str, message: str, *, retry_after: float | None, code: str | None = None, status: int | None = 429
    ) -> None:
        super().__init__(system, message, code=code, status=status)
        self.retry_after = retry_after


class BusinessRuleError(ConnectorError):
    """The vendor refused on business grounds: retrying the same request cannot succeed."""


class NotFound(BusinessRuleError):
    """The record does not exist."""


class Unauthorized(ConnectorError):
    """Missing or wrong credentials: fix configuration, do not retry."""


class SchemaDrift(ConnectorError):
    """A field q2c needs is missing, renamed or of another type: a person must map it, retrying cannot help.

    Fields a vendor adds change nothing; only what q2c reads is checked, and the error names the system,
    the object and the field so the operator knows what to fix.
    """

    def __init__(self, system: str, obj: str, field: str, problem: str, *, status: int | None = None) -> None:
        super().__init__(system, f"{obj}.{field}: {problem}", code="SCHEMA_DRIFT", status=status)
        self.object, self.field, self.problem = obj, field, problem
