"""How the NetSuite connector logs in: OAuth 1.0a token-based authentication or OAuth 2.0 client credentials.

Both are httpx.Auth flows, so every request (retries included) is signed or carries a live token, and no
secret ever reaches a log line, an exception message or a workflow's history.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncGenerator, Generator

import httpx
import jwt
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
from cryptography.hazmat.primitives.serialization import load_pem_private_key
from oauthlib.oauth1 import SIGNATURE_HMAC_SHA256, SIGNATURE_TYPE_AUTH_HEADER
from oauthlib.oauth1 import Client as OAuth1Client

from connectors.errors import Unauthorized
from connectors.http import bearer
from connectors.settings import NetSuiteSettings

TOKEN_PATH = "/services/rest/auth/oauth2/v1/token"
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
ASSERTION_LIFETIME_S = 300  # NetSuite allows at most 60 minutes between iat and exp
REFRESH_MARGIN_S = 60  # take a new token this long before the old one expires


class TokenBasedAuth(httpx.Auth):
    """OAuth 1.0a with HMAC-SHA256 (NetSuite dropped HMAC-SHA1 in 2023.1), realm = the account id.
    A JSON body is not part of the signature; query parameters are."""

    def __init__(self, settings: NetSuiteSettings) -> None:
        self._signer = OAuth1Client(
            settings.consumer_key.get_secret_value(),
            client_secret=settings.consumer_secret.get_secret_value(),
            resource_owner_key=settings.token_id.get_secret_value(),
            resource_owner_secret=settings.token_secret.get_secret_value(),
            signature_method=SIGNATURE_HMAC_SHA256,
            signature_type=SIGNATURE_TYPE_AUTH_HEADER,
            realm=settings.account_id,
        )

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        form = request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded")
        _, headers, _ = self._signer.sign(
            str(request.url),
            http_method=request.method,
            body=request.content.decode() if form else None,
            headers={"Content-Type": request.headers["content-type"]} if form else None,
        )
        request.headers["Authorization"] = headers["Authorization"]
        yield request


class ClientCredentialsAuth(httpx.Auth):
    """OAuth 2.0 client credentials (machine to machine): a JWT signed PS256 with the certificate's private
    key (kid = certificate id) is exchanged for a bearer token, cached until shortly before it expires.
    A 401 on a request gets one fresh token and one retry; a second 401 is the caller's to see."""

    requires_response_body = True

    def __init__(self, settings: NetSuiteSettings, token_url: str) -> None:
        self.client_id, self.certificate_id, self.token_url = settings.client_id, settings.certificate_id, token_url
        self._private_key = _private_key(settings)
        self._token: str | None = None
        self.refusal: str | None = None
        self._expires_at = 0.0
        self._lock = asyncio.Lock()

    def assertion(self, now: float | None = None) -> str:
        issued = int(time.time() if now is None else now)
        claims = {
            "iss": self.client_id,
            "scope": ["rest_webservices"],
            "aud": self.token_url,
            "iat": issued,
            "exp": issued + ASSERTION_LIFETIME_S,
            "jti": uuid.uuid4().hex,
        }
        headers = {"typ": "JWT", "kid": self.certificate_id}
        return jwt.encode(claims, self._private_key, algorithm="PS256", headers=headers)

    def token_request(self) -> httpx.Request:
        form = {"grant_type": "client_credentials", "client_assertion_type": ASSERTION_TYPE}
        form["client_assertion"] = self.assertion()
        return httpx.Request("POST", self.token_url, data=form, headers={"Accept": "application/json"})

    def take_token(self, response: httpx.Response) -> None:
        """Keep the new token; a refusal is remembered (no secret in it) and the request goes without one,
        so NetSuite's 401 reaches the caller as Unauthorized with the token endpoint's reason."""
        self._token, self.refusal = None, None
        try:
            answer = response.json() if response.status_code == 200 else {}
            self._token = str(answer["access_token"])
            self._expires_at = time.monotonic() + int(str(answer.get("expires_in", "3600")))
        except (ValueError, KeyError, TypeError):
            try:
                reason = str(response.json().get("error") or "")
            except (ValueError, AttributeError):
                reason = ""
            self.refusal = f"the token endpoint answered {response.status_code} {reason}".strip()

    def _fresh(self) -> bool:
        return self._token is not None and time.monotonic() < self._expires_at - REFRESH_MARGIN_S

    def _with_token(self, request: httpx.Request) -> httpx.Request:
        return bearer(request, self._token)

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        if not self._fresh():
            self.take_token((yield self.token_request()))
        response = yield self._with_token(request)
        if response.status_code == 401 and self.refusal is None:  # expired or revoked: one new token, one retry
            self.take_token((yield self.token_request()))
            yield self._with_token(request)

    async def async_auth_flow(self, request: httpx.Request) -> AsyncGenerator[httpx.Request, httpx.Response]:
        """As `auth_flow`, with one token request at a time: concurrent callers wait for it and share it,
        and a 401 seen by several of them refreshes the token once."""
        async with self._lock:
            if not self._fresh():
                self.take_token(await _read((yield self.token_request())))
        used = self._token
        response = yield self._with_token(request)
        if response.status_code == 401 and self.refusal is None:
            async with self._lock:
                if self._token == used:  # nobody refreshed it meanwhile
                    self.take_token(await _read((yield self.token_request())))
            yield self._with_token(request)


async def _read(response: httpx.Response) -> httpx.Response:
    await response.aread()
    return response


def _private_key(settings: NetSuiteSettings) -> RSAPrivateKey:
    """The certificate's private key, loaded once so a bad key fails at start, not on the first deal."""
    if settings.private_key is not None:
        pem = settings.private_key.get_secret_value().encode()
    elif settings.private_key_file is not None:
        try:
            pem = settings.private_key_file.read_bytes()
        except OSError as exc:
            raise Unauthorized(
                "netsuite", f"cannot read private_key_file: {type(exc).__name__}", code="config"
            ) from None
    else:
        raise Unauthorized(
            "netsuite", "auth_mode m2m needs Q2C_NETSUITE_PRIVATE_KEY or Q2C_NETSUITE_PRIVATE_KEY_FILE", code="config"
        )
    try:
        key = load_pem_private_key(pem, password=None)
    except (ValueError, TypeError):
        key = None
    if not isinstance(key, RSAPrivateKey):  # PS256 signs with RSA-PSS
        raise Unauthorized("netsuite", "the m2m private key is not an unencrypted RSA PEM key", code="config")
    return key


def netsuite_auth(settings: NetSuiteSettings) -> httpx.Auth | None:
    """The login the settings ask for; None for a static bearer token (sent as a default header)."""
    if settings.auth_mode == "tba":
        return TokenBasedAuth(settings)
    if settings.auth_mode == "m2m":
        return ClientCredentialsAuth(settings, settings.base_url.rstrip("/") + TOKEN_PATH)
    return None
