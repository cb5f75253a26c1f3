"""OAuth 2.0 as Salesforce's token endpoint answers it: the JWT bearer flow and client credentials.

JWT bearer: `grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer` and an `assertion` signed RS256 with
the connected app's certificate; `iss` is the consumer key, `sub` the integration user, `aud` the login or
My Domain URL, `exp` at most a few minutes ahead. Errors are OAuth's `{"error", "error_description"}`.
Sessions expire; an expired or unknown token gets `401 INVALID_SESSION_ID` from the REST API.
"""

from __future__ import annotations

import base64
import secrets
import time
from pathlib import Path
from typing import Any

import jwt

from simulators.context import SimContext

JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
AUDIENCES = ("https://login.salesforce.com", "https://test.salesforce.com")


class OAuthError(Exception):
    def __init__(self, status: int, error: str, description: str) -> None:
        super().__init__(description)
        self.status, self.error, self.description = status, error, description


def public_key(ctx: SimContext) -> str | None:
    """The connected app's certificate key: PEM text in the setting, or a path to a PEM file."""
    configured = ctx.store.setting("salesforce_jwt_public_key") or ctx.settings.salesforce_jwt_public_key
    if not configured:
        return None
    return configured if "BEGIN" in configured else Path(configured).read_text()


def issue(ctx: SimContext, form: dict[str, str], authorization: str | None) -> dict[str, Any]:
    grant = form.get("grant_type")
    settings = ctx.settings
    if grant == JWT_BEARER:
        key = public_key(ctx)
        if key is None:
            raise OAuthError(400, "invalid_client", "no certificate is uploaded for this connected app")
        try:
            claims = jwt.decode(
                form.get("assertion", ""),
                key,
                algorithms=["RS256"],
                audience=[*AUDIENCES, ctx.base_url("salesforce")],
                options={"require": ["iss", "sub", "aud", "exp"]},
            )
        except jwt.ExpiredSignatureError:
            raise OAuthError(400, "invalid_grant", "expired authorization code") from None
        except jwt.InvalidAudienceError:
            raise OAuthError(400, "invalid_grant", "audience is invalid") from None
        except jwt.PyJWTError:
            raise OAuthError(400, "invalid_grant", "invalid assertion") from None
        if claims["iss"] != settings.salesforce_client_id:
            raise OAuthError(400, "invalid_client_id", "client identifier invalid")
        if claims["sub"] != settings.salesforce_username:
            raise OAuthError(400, "invalid_grant", "user hasn't approved this consumer")
        if float(claims["exp"]) > time.time() + 300:  # simple-salesforce sends exp as a string
            raise OAuthError(400, "invalid_grant", "invalid assertion")  # Salesforce wants exp within minutes
        return session(ctx, flow="jwt")
    if grant == "client_credentials":
        client_id, client_secret = form.get("client_id"), form.get("client_secret")
        if authorization and authorization.startswith("Basic "):
            client_id, _, client_secret = base64.b64decode(authorization[6:]).decode().partition(":")
        if client_id != settings.salesforce_client_id:
            raise OAuthError(400, "invalid_client_id", "client identifier invalid")
        if client_secret != settings.salesforce_client_secret:
            raise OAuthError(400, "invalid_client", "invalid client credentials")
        return session(ctx, flow="client_credentials")
    raise OAuthError(400, "unsupported_grant_type", "grant type not supported")


def session(ctx: SimContext, *, flow: str) -> dict[str, Any]:
    token = f"{ctx.settings.salesforce_org_id}!{secrets.token_urlsafe(48)}"
    issued = int(time.time() * 1000)
    ctx.store.put("salesforce", "_session", token, {"issued": issued, "flow": flow})
    instance = ctx.base_url("salesforce")
    answer: dict[str, Any] = {
        "access_token": token,
        "scope": "api",
        "instance_url": instance,
        "id": f"{instance}/id/{ctx.settings.salesforce_org_id}/005{'0' * 12}",
        "token_type": "Bearer",
        "issued_at": str(issued),
    }
    if flow == "client_credentials":
        answer["signature"] = base64.b64encode(secrets.token_bytes(32)).decode()
    return answer


def valid_session(ctx: SimContext, authorization: str | None) -> bool:
    """A bearer token this org issued and that has not timed out."""
    if not authorization or not authorization.startswith(("Bearer ", "OAuth ")):
        return False
    found = ctx.store.get("salesforce", "_session", authorization.split(" ", 1)[1])
    if found is None:
        return False
    ttl = ctx.store.setting("salesforce_session_ttl_s", ctx.settings.salesforce_session_ttl_s)
    return time.time() * 1000 - found["issued"] < ttl * 1000
