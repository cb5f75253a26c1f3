"""What every webhook route shares: refusals, the body limit, the signature check as a dependency."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Protocol, TypeVar

from fastapi import Request
from pydantic import SecretStr, ValidationError

from infra.settings import Q2CSettings
from models.signatures import SignatureError

T = TypeVar("T")
REFUSALS: dict[int | str, dict[str, Any]] = {
    400: {"description": "malformed body; the error names the field"},
    401: {"description": "bad signature, or outside the replay window"},
    413: {"description": "body too large"},
    503: {"description": "Temporal unavailable; the sender retries"},
}


class Webhooks(Protocol):
    """A vendor's webhook module (connectors/<vendor>/webhooks.py), as the ingress uses it."""

    NAME: str
    SIGNATURE_HEADERS: tuple[str, ...]

    def signing_secret(self) -> SecretStr: ...

    def verify_request(self, secret: str, method: str, uri: str, body: bytes, headers: Mapping[str, str]) -> None: ...

    def body_schema(self) -> dict[str, Any]: ...


class Refused(Exception):
    """A webhook q2c will not take, answered with `status` and a message that says why."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message


def openapi(webhooks: Webhooks) -> dict[str, Any]:
    """The body schema and signature headers of a webhook route, for the ingress's OpenAPI document."""
    return {
        "requestBody": {"required": True, "content": {"application/json": {"schema": webhooks.body_schema()}}},
        "parameters": [
            {"name": h, "in": "header", "required": True, "schema": {"type": "string"}}
            for h in webhooks.SIGNATURE_HEADERS
        ],
    }


def where(error: ValidationError) -> str:
    first = error.errors()[0]
    at = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in first["loc"]).lstrip(".") or "body"
    return f"{at}: {first['msg']}"


def parsed(parse: Callable[[bytes], T], body: bytes) -> T:
    try:
        return parse(body)
    except ValidationError as error:
        raise Refused(400, where(error)) from None


async def read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise Refused(413, f"body over {limit} bytes")
    body = await request.body()
    if len(body) > limit:
        raise Refused(413, f"body over {limit} bytes")
    return body


def signed_uri(request: Request, settings: Q2CSettings) -> str:
    """The URL the sender called, as it signed it: behind a proxy, the public one."""
    if not settings.ingress_public_url:
        return str(request.url)
    query = f"?{request.url.query}" if request.url.query else ""
    return settings.ingress_public_url.rstrip("/") + request.url.path + query


def verified_body(webhooks: Webhooks) -> Callable[[Request], Awaitable[bytes]]:
    """A dependency: the request's body, within the size limit and signed by the vendor, or a refusal.

    The secret is the vendor connector's (`Q2C_<VENDOR>_...`), read once, when the route is made."""
    secret = webhooks.signing_secret()

    async def verified(request: Request) -> bytes:
        settings: Q2CSettings = request.app.state.settings
        body = await read_body(request, settings.ingress_max_body_bytes)
        try:
            webhooks.verify_request(
                secret.get_secret_value(), request.method, signed_uri(request, settings), body, request.headers
            )
        except SignatureError as error:
            raise Refused(401, str(error)) from None
        return body

    return verified
