"""The shared HTTP plumbing: auth, timeouts, correlation ids, and mapping failures onto our errors."""

from __future__ import annotations

import contextlib
import contextvars
import email.utils
import functools
import inspect
import json as jsonlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from decimal import Decimal
from typing import Any, ClassVar, Self

import httpx

from connectors.errors import (
    BusinessRuleError,
    ConnectorError,
    InternalError,
    NotFound,
    ProtocolError,
    RateLimited,
    TransientError,
    Unauthorized,
)
from connectors.pacing import Pacer
from connectors.settings import VendorSettings
from connectors.transport import vendor_transport
from infra.correlation import outbound

correlation_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("q2c_correlation_id", default=None)
DETAIL = 300  # characters of an exception's text kept in a classified error


def unclassified(system: str, call: str, error: Exception) -> ConnectorError:
    """Any other exception as one of ours: the vendor's malformed answer, or q2c's own defect."""
    problem = f"{type(error).__name__}: {str(error)[:DETAIL]}"
    if isinstance(error, jsonlib.JSONDecodeError | UnicodeDecodeError | httpx.DecodingError | httpx.TooManyRedirects):
        return ProtocolError(system, call, problem)
    if isinstance(error, TimeoutError):
        return TransientError(system, f"{call} timed out ({problem})", code="timeout")
    return InternalError(system, call, problem)


def _classified(owner: str, name: str, method: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
    @functools.wraps(method)
    async def call(self: VendorClient, *args: Any, **kwargs: Any) -> Any:
        try:
            return await method(self, *args, **kwargs)
        except ConnectorError:
            raise
        except Exception as error:
            raise unclassified(self.system, f"{owner}.{name}", error) from error

    call.__dict__["classified"] = True
    return call


def _classified_pages(owner: str, name: str, method: Callable[..., AsyncIterator[Any]]) -> Callable[..., Any]:
    @functools.wraps(method)
    async def pages(self: VendorClient, *args: Any, **kwargs: Any) -> AsyncIterator[Any]:
        try:
            async for item in method(self, *args, **kwargs):
                yield item
        except ConnectorError:
            raise
        except Exception as error:
            raise unclassified(self.system, f"{owner}.{name}", error) from error

    pages.__dict__["classified"] = True
    return pages


def retry_after_seconds(value: str | None, now: float | None = None) -> float | None:
    """`Retry-After` as seconds: either delta-seconds or an HTTP-date."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def bearer(request: httpx.Request, token: str | None) -> httpx.Request:
    """`request` with an OAuth 2.0 bearer token, or with no Authorization header while there is no token."""
    if token is None:
        request.headers.pop("Authorization", None)
    else:
        request.headers["Authorization"] = f"Bearer {token}"
    return request


class VendorClient:
    """Base for every connector: one pooled httpx client, errors classified the same way for all."""

    system: ClassVar[str]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        """Every coroutine method of a connector is a call boundary: nothing leaves it unclassified."""
        super().__init_subclass__(**kwargs)
        for name, member in list(vars(cls).items()):
            if name.startswith("__") or not callable(member) or getattr(member, "__dict__", {}).get("classified"):
                continue
            if inspect.iscoroutinefunction(member):
                setattr(cls, name, _classified(cls.__name__, name, member))
            elif inspect.isasyncgenfunction(member):  # paged reads
                setattr(cls, name, _classified_pages(cls.__name__, name, member))

    def __init__(self, settings: VendorSettings, transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.settings = settings
        self._http = httpx.AsyncClient(
            base_url=settings.base_url.rstrip("/"),
            timeout=settings.timeout_s,
            headers=self.auth_headers(),
            transport=transport if transport is not None else vendor_transport(),
        )
        self._pacer = Pacer(settings.requests_per_second) if settings.requests_per_second else None

    def auth_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.settings.token.get_secret_value()}"}

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.aclose()

    async def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        content: str | None = None,
        params: Any = None,
        headers: Mapping[str, str] | None = None,
        ok: tuple[int, ...] = (200, 201, 204),
    ) -> httpx.Response:
        sent = dict(headers or {})
        if cid := correlation_id.get():
            sent[self.settings.correlation_header] = outbound(cid)
        what = f"{method} {path}"
        try:
            async with self._pacer.turn() if self._pacer is not None else contextlib.nullcontext():
                response = await self._http.request(
                    method, path, json=json, content=content, params=params, headers=sent
                )
        except httpx.TimeoutException as exc:
            raise TransientError(self.system, f"{what} timed out ({type(exc).__name__})", code="timeout") from exc
        except httpx.TransportError as exc:
            raise TransientError(self.system, f"{what} failed: {type(exc).__name__}: {exc}", code="connection") from exc
        except ConnectorError:  # an auth flow's own verdict (a refused login), already classified
            raise
        except Exception as exc:  # building the request (headers, URL, body) or decoding the answer
            raise unclassified(self.system, what, exc) from exc
        if response.status_code in ok:
            return response
        raise self.classify(response, f"{method} {path}")

    def body(self, response: httpx.Response) -> Any:
        try:
            return response.json()
        except ValueError:
            return None

    def decoded(self, response: httpx.Response) -> Any:
        """The response's JSON, numbers as Decimal; a body that is not JSON is the vendor's ProtocolError."""
        try:
            return jsonlib.loads(response.content, parse_float=Decimal)
        except (ValueError, UnicodeDecodeError) as exc:
            call = f"{response.request.method} {response.request.url.path}"
            raise ProtocolError(self.system, call, f"not JSON: {exc}", status=response.status_code) from exc

    def vendor_error(self, response: httpx.Response) -> tuple[str | None, str]:
        """(vendor code, message) from the vendor's error body; subclasses know the shape."""
        return None, response.text[:300] or response.reason_phrase

    def rate_limit_delay(self, response: httpx.Response) -> float | None:
        return retry_after_seconds(response.headers.get("retry-after"))

    def classify(self, response: httpx.Response, what: str) -> ConnectorError:
        status = response.status_code
        code, message = self.vendor_error(response)
        message = f"{what} -> {status}: {message}"
        if status == 429:
            return RateLimited(self.system, message, retry_after=self.rate_limit_delay(response), code=code)
        if status >= 500:
            return TransientError(self.system, message, code=code or f"http_{status}", status=status)
        if status in (401, 403):
            return Unauthorized(self.system, message, code=code or f"http_{status}", status=status)
        if status == 404:
            return NotFound(self.system, message, code=code or "not_found", status=status)
        return self.business_error(response, code, message)

    def business_error(self, response: httpx.Response, code: str | None, message: str) -> ConnectorError:
        return BusinessRuleError(
            self.system, message, code=code or f"http_{response.status_code}", status=response.status_code
        )
