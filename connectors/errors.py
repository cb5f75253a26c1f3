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


class ProtocolError(TransientError):
    """The vendor's answer broke the protocol: a body that is not the JSON (or the encoding) it declares, a
    content encoding httpx cannot decode, endless redirects.

    The vendor's fault, not q2c's, and usually passing (a proxy's error page, a body cut off): retried with
    backoff like a 5xx, and counted as a vendor error. `call` names what q2c was doing.
    """

    def __init__(self, system: str, call: str, problem: str, *, status: int | None = None) -> None:
        super().__init__(system, f"{call}: {problem}", code="protocol_error", status=status)
        self.call, self.problem = call, problem


class InternalError(ConnectorError):
    """q2c could not make the call or read its answer: a header value or URL it cannot encode (a non-ASCII
    correlation id), a body it cannot serialise, mapping code that failed on what it was given or got back
    (a key it expected and the mapping did not check; a missing field it does check is `SchemaDrift`).

    A defect in q2c, or input it let in unchecked, not the vendor's: the same call fails the same way, so
    retrying cannot help. The activity layer gives it a bounded number of attempts and the saga parks it
    for a person (`exception:internal_error`) with `call` and the message.
    """

    def __init__(self, system: str, call: str, problem: str) -> None:
        super().__init__(system, f"{call}: {problem}", code="internal_error")
        self.call, self.problem = call, problem
