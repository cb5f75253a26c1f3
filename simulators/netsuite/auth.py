"""NetSuite's two ways in for REST web services, checked for real.

Token-based authentication (OAuth 1.0a, RFC 5849, HMAC-SHA256 only since 2023.1): the signature is
recomputed here from the method, the URL and the parameters, so a client that signs the wrong thing
fails as it would against NetSuite. OAuth 2.0 client credentials: a JWT signed with the integration's
certificate key is exchanged for a bearer token that expires. Every refusal is the same 401
INVALID_LOGIN, since NetSuite does not say which part was wrong.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
import time
from collections import deque
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, quote, unquote, urlsplit

import jwt
from cryptography.hazmat.primitives.serialization import load_pem_public_key
from cryptography.x509 import load_pem_x509_certificate
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from simulators.context import SimContext
from simulators.netsuite.errors import SYSTEM

TOKEN_PATH = "/services/rest/auth/oauth2/v1/token"
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
# https://docs.oracle.com/en/cloud/saas/netsuite/ns-online-help/section_162790605110.html
ASSERTION_ALGORITHMS = ["PS256", "PS384", "PS512", "ES256", "ES384", "ES512"]
_HEADER_PARAM = re.compile(r'([A-Za-z0-9_]+)="([^"]*)"')


def percent_encode(value: str) -> str:
    """RFC 5849 3.6: everything but ALPHA, DIGIT, '-', '.', '_', '~' is %XX-encoded (UTF-8)."""
    return quote(value, safe="~")


def base_string_uri(url: str) -> str:
    """RFC 5849 3.4.1.2: lower-case scheme and host, the default port dropped, no query."""
    parts = urlsplit(url)
    scheme, host = parts.scheme.lower(), (parts.hostname or "").lower()
    port = parts.port
    netloc = host if port is None or (scheme, port) in (("http", 80), ("https", 443)) else f"{host}:{port}"
    return f"{scheme}://{netloc}{parts.path or '/'}"


def signature_base_string(method: str, url: str, params: list[tuple[str, str]]) -> str:
    """RFC 5849 3.4.1: METHOD & encoded base URI & encoded, sorted, normalized parameters."""
    encoded = sorted((percent_encode(k), percent_encode(v)) for k, v in params)
    normalized = "&".join(f"{k}={v}" for k, v in encoded)
    return "&".join((method.upper(), percent_encode(base_string_uri(url)), percent_encode(normalized)))


def hmac_sha256(base_string: str, consumer_secret: str, token_secret: str) -> str:
    key = f"{percent_encode(consumer_secret)}&{percent_encode(token_secret)}"
    return base64.b64encode(hmac.new(key.encode(), base_string.encode(), hashlib.sha256).digest()).decode()


def authorization_params(header: str) -> dict[str, str]:
    """`OAuth realm="1234567", oauth_consumer_key="..."`: the values are percent-encoded (RFC 5849 3.5.1)."""
    return {name: unquote(value) for name, value in _HEADER_PARAM.findall(header.removeprefix("OAuth").strip())}


def signed_params(url: str, oauth: dict[str, str], content_type: str, body: bytes) -> list[tuple[str, str]]:
    """RFC 5849 3.4.1.3: query, Authorization (less realm and signature) and form-encoded body parameters.
    A JSON body is not signed, which is why NetSuite's REST requests sign the same with or without one."""
    params = parse_qsl(urlsplit(url).query, keep_blank_values=True)
    params += [(k, v) for k, v in oauth.items() if k not in ("realm", "oauth_signature")]
    if content_type.split(";")[0].strip().lower() == "application/x-www-form-urlencoded":
        params += parse_qsl(body.decode(), keep_blank_values=True)
    return params


def request_url(request: Request) -> str:
    """The URL as the client sent it: the raw (still percent-encoded) path, as RFC 5849 3.4.1.2 signs it."""
    raw = request.scope.get("raw_path")
    if not raw:
        return str(request.url)
    query = request.scope.get("query_string", b"").decode("latin-1")
    host = request.headers.get("host") or request.url.netloc
    return f"{request.url.scheme}://{host}{raw.decode('latin-1')}" + (f"?{query}" if query else "")


def _public_key(setting: str) -> Any:
    """The certificate mapped to the integration: a PEM certificate or public key, inline or a file path."""
    pem = setting if "-----BEGIN" in setting else Path(setting).read_text()
    if "CERTIFICATE" in pem:
        return load_pem_x509_certificate(pem.encode()).public_key()
    return load_pem_public_key(pem.encode())


class Gatekeeper:
    """Decides whether a request is logged in; issues and expires OAuth 2.0 access tokens."""

    def __init__(self, ctx: SimContext) -> None:
        self.ctx = ctx
        self.seen_nonces: set[tuple[str, str, str]] = set()
        self.nonce_order: deque[tuple[float, tuple[str, str, str]]] = deque()
        self.signing_key = secrets.token_bytes(32)

    # ---- who may call ----
    def admits(self, request: Request, body: bytes) -> bool:
        header = request.headers.get("authorization", "")
        if header.startswith("OAuth "):
            return self._token_based(request, header, body)
        if header.startswith("Bearer "):
            token = header.removeprefix("Bearer ").strip()
            static = self.ctx.settings.netsuite_token
            if static and hmac.compare_digest(token, static):
                return True  # the dev token, only when the simulator is configured with one
            return self._access_token_valid(token)
        return False

    def _token_based(self, request: Request, header: str, body: bytes) -> bool:
        s = self.ctx.settings
        oauth = authorization_params(header)
        expected = {
            "realm": s.netsuite_account,
            "oauth_consumer_key": s.netsuite_consumer_key,
            "oauth_token": s.netsuite_token_id,
            "oauth_signature_method": "HMAC-SHA256",
        }
        if any(oauth.get(name) != value for name, value in expected.items()):
            return False
        if oauth.get("oauth_version", "1.0") != "1.0" or not oauth.get("oauth_nonce"):
            return False
        try:
            timestamp = int(oauth.get("oauth_timestamp", ""))
        except ValueError:
            return False
        now = time.time()
        if abs(now - timestamp) > s.netsuite_clock_skew_s:
            return False
        url = request_url(request)
        params = signed_params(url, oauth, request.headers.get("content-type", ""), body)
        base = signature_base_string(request.method, url, params)
        wanted = hmac_sha256(base, s.netsuite_consumer_secret, s.netsuite_token_secret)
        if not hmac.compare_digest(wanted, oauth.get("oauth_signature", "")):
            return False
        return self._first_use(oauth["oauth_token"], oauth["oauth_nonce"], str(timestamp), now)

    def _first_use(self, token: str, nonce: str, timestamp: str, now: float) -> bool:
        """A nonce is good once per token and timestamp; forgotten once its timestamp is too old to pass."""
        horizon = now - 2 * self.ctx.settings.netsuite_clock_skew_s
        while self.nonce_order and self.nonce_order[0][0] < horizon:
            self.seen_nonces.discard(self.nonce_order.popleft()[1])
        key = (token, nonce, timestamp)
        if key in self.seen_nonces:
            return False
        self.seen_nonces.add(key)
        self.nonce_order.append((now, key))
        return True

    def _access_token_valid(self, token: str) -> bool:
        try:
            claims = jwt.decode(
                token, self.signing_key, algorithms=["HS256"], options={"verify_exp": False, "verify_aud": False}
            )
        except jwt.PyJWTError:
            return False
        issued = self.ctx.store.get(SYSTEM, "oauth2AccessToken", str(claims.get("jti")))
        return issued is not None and float(issued["expiresAt"]) > time.time()

    # ---- OAuth 2.0 client credentials ----
    async def token_endpoint(self, request: Request) -> Response:
        form = dict(parse_qsl((await request.body()).decode(), keep_blank_values=True))
        if not request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
            return _oauth_error("invalid_request", "the body must be application/x-www-form-urlencoded")
        if form.get("grant_type") != "client_credentials":
            return _oauth_error("unsupported_grant_type", f"grant_type {form.get('grant_type')!r}")
        if form.get("client_assertion_type") != ASSERTION_TYPE or not form.get("client_assertion"):
            return _oauth_error("invalid_request", "client_assertion_type and client_assertion are required")
        problem = self._assertion_problem(form["client_assertion"], request_url(request))
        if problem:
            return _oauth_error("invalid_grant", problem)
        ttl = self.ctx.settings.netsuite_token_ttl_s
        now = int(time.time())
        jti = secrets.token_hex(16)
        claims: dict[str, Any] = {"iss": "https://system.netsuite.com", "sub": "3;-5", "jti": jti}
        claims |= {"aud": self.ctx.settings.netsuite_client_id, "scope": ["rest_webservices"]}
        claims |= {"iat": now, "exp": now + ttl}
        self.ctx.store.put(SYSTEM, "oauth2AccessToken", jti, {"id": jti, "expiresAt": now + ttl})
        token = jwt.encode(claims, self.signing_key, algorithm="HS256", headers={"kid": "sim.SYSTEM.1"})
        # https://docs.oracle.com/en/cloud/saas/netsuite/ns-online-help/section_162755359851.html
        return JSONResponse({"access_token": token, "expires_in": str(ttl), "token_type": "Bearer"})

    def _assertion_problem(self, assertion: str, token_url: str) -> str | None:
        s = self.ctx.settings
        try:
            header = jwt.get_unverified_header(assertion)
        except jwt.PyJWTError as exc:
            return f"the client assertion is not a JWT: {exc}"
        if header.get("alg") not in ASSERTION_ALGORITHMS:
            return f"alg {header.get('alg')!r} is not one of {', '.join(ASSERTION_ALGORITHMS)}"
        if header.get("kid") != s.netsuite_certificate_id or not s.netsuite_certificate:
            return f"no certificate {header.get('kid')!r} is mapped to this integration"
        try:
            claims = jwt.decode(
                assertion,
                _public_key(s.netsuite_certificate),
                algorithms=ASSERTION_ALGORITHMS,
                audience=token_url,
                issuer=s.netsuite_client_id,
                options={"require": ["iss", "aud", "exp", "iat", "scope"]},
            )
        except jwt.PyJWTError as exc:
            return f"the client assertion was refused: {exc}"
        if not 0 < int(claims["exp"]) - int(claims["iat"]) <= 3600:
            return "exp must be later than iat and at most 60 minutes after it"
        scopes = claims["scope"] if isinstance(claims["scope"], list) else str(claims["scope"]).split(",")
        if "rest_webservices" not in [str(scope).strip() for scope in scopes]:
            return "scope must include rest_webservices"
        return None


def _oauth_error(code: str, description: str) -> Response:
    """RFC 6749 5.2: what a token endpoint answers a request it refuses."""
    return JSONResponse({"error": code, "error_description": description}, status_code=400)
