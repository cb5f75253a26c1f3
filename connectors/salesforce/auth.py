"""How the Salesforce connector logs in: OAuth 2.0 JWT bearer (a certificate) or client credentials.

An httpx.Auth flow: the session token is cached, every request carries it and goes to the `instance_url`
the token endpoint named; `401 INVALID_SESSION_ID` (a session that expired or was revoked) gets one new
token and one retry. No secret reaches a log line, an exception message or a workflow's history.
"""

from __future__ import annotations

import time
from collections.abc import Generator

import httpx
import jwt

from connectors.errors import Unauthorized
from connectors.http import bearer
from connectors.settings import SalesforceSettings

JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
ASSERTION_LIFETIME_S = 180  # Salesforce wants the assertion's exp within a few minutes


class SessionAuth(httpx.Auth):
    requires_response_body = True

    def __init__(self, settings: SalesforceSettings) -> None:
        self.settings = settings
        self.token_url = (settings.login_url or settings.base_url).rstrip("/") + "/services/oauth2/token"
        self.base = settings.base_url.rstrip("/")
        self._key = _private_key(settings) if settings.auth_mode == "jwt" else None
        self._token: str | None = None
        self.instance_url: str | None = None
        self.refusal: str | None = None

    def token_request(self) -> httpx.Request:
        s = self.settings
        if s.auth_mode == "jwt" and self._key is not None:
            claims = {
                "iss": s.client_id,
                "sub": s.username,
                "aud": s.audience,
                "exp": int(time.time()) + ASSERTION_LIFETIME_S,
            }
            form = {"grant_type": JWT_BEARER, "assertion": jwt.encode(claims, self._key, algorithm="RS256")}
        else:
            form = {
                "grant_type": "client_credentials",
                "client_id": s.client_id,
                "client_secret": s.client_secret.get_secret_value(),
            }
        return httpx.Request("POST", self.token_url, data=form, headers={"Accept": "application/json"})

    def take_token(self, response: httpx.Response) -> None:
        """Keep the session; a refusal is remembered (OAuth's error code, no secret) for the caller's error."""
        self._token, self.refusal = None, None
        try:
            answer = response.json()
        except ValueError:
            answer = {}
        if response.status_code == 200 and isinstance(answer, dict) and answer.get("access_token"):
            self._token = str(answer["access_token"])
            self.instance_url = str(answer.get("instance_url") or self.base).rstrip("/")
            return
        reason = answer.get("error") if isinstance(answer, dict) else None
        self.refusal = f"the token endpoint answered {response.status_code} {reason or ''}".strip()

    def _send(self, request: httpx.Request) -> httpx.Request:
        url = str(request.url)
        if self.instance_url and url.startswith(self.base) and self.instance_url != self.base:
            request.url = httpx.URL(self.instance_url + url[len(self.base) :])
        return bearer(request, self._token)

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        if self._token is None:
            self.take_token((yield self.token_request()))
        response = yield self._send(request)
        if response.status_code == 401 and self.refusal is None:  # INVALID_SESSION_ID: one new session, one retry
            self.take_token((yield self.token_request()))
            yield self._send(request)


def _private_key(settings: SalesforceSettings) -> bytes:
    if settings.private_key is not None:
        return settings.private_key.get_secret_value().encode()
    if settings.private_key_file is not None:
        try:
            return settings.private_key_file.read_bytes()
        except OSError as exc:
            raise Unauthorized(
                "salesforce", f"cannot read private_key_file: {type(exc).__name__}", code="config"
            ) from None
    raise Unauthorized(
        "salesforce", "auth_mode jwt needs Q2C_SALESFORCE_PRIVATE_KEY or Q2C_SALESFORCE_PRIVATE_KEY_FILE", code="config"
    )
