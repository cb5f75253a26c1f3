"""NetSuite's two logins for REST web services, checked against the simulator.

TBA (OAuth 1.0a) requests are signed by `requests-oauthlib`, independent of the simulator's own RFC 5849 check;
OAuth 2.0 client-credential assertions are JWTs signed by PyJWT, as Oracle's pages describe them.
"""

# ruff: noqa: F811  (ns_sim is a fixture imported from the simulator suite)

from __future__ import annotations

import time
from typing import Any

import httpx
import jwt
import pytest
import requests

from simulators.netsuite.auth import signature_base_string
from tests.conformance.test_netsuite_simulator import (  # noqa: F401
    CERTIFICATE_ID,
    CLIENT_ID,
    KEY,
    RECORDS,
    TOKEN,
    error_code,
    new_customer,
    ns_sim,
    oauth1,
)


def assertion(url: str, **changes: Any) -> str:
    header = {"typ": "JWT", "kid": CERTIFICATE_ID} | changes.pop("header", {})
    now = int(time.time())
    claims = {"iss": CLIENT_ID, "scope": ["rest_webservices"], "aud": url, "iat": now, "exp": now + 600} | changes
    return jwt.encode(claims, KEY, algorithm=header.pop("alg", "PS256"), headers=header)


def token_form(url: str, **changes: Any) -> dict[str, str]:
    return {
        "grant_type": "client_credentials",
        "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        "client_assertion": assertion(url, **changes),
    }


def test_rfc5849_signature_base_string_example():
    """https://www.rfc-editor.org/rfc/rfc5849#section-3.4.1.1 (the example request and base string)."""
    params = [("b5", "=%3D"), ("a3", "a"), ("c@", ""), ("a2", "r b"), ("c2", ""), ("a3", "2 q")]
    params += [
        ("oauth_consumer_key", "9djdj82h48djs9d2"),
        ("oauth_token", "kkk9d7dh3k39sjv7"),
        ("oauth_signature_method", "HMAC-SHA1"),
        ("oauth_timestamp", "137131201"),
        ("oauth_nonce", "7d8f3e4a"),
    ]
    assert signature_base_string("POST", "http://example.com/request?b5=%3D%253D&a3=a&c%40=&a2=r%20b", params) == (
        "POST&http%3A%2F%2Fexample.com%2Frequest&a2%3Dr%2520b%26a3%3D2%2520q%26a3%3Da%26b5%3D%253D%25253D%26c%2540%3D"
        "%26c2%3D%26oauth_consumer_key%3D9djdj82h48djs9d2%26oauth_nonce%3D7d8f3e4a%26oauth_signature_method%3DHMAC-SHA1"
        "%26oauth_timestamp%3D137131201%26oauth_token%3Dkkk9d7dh3k39sjv7"
    )


def test_tba_signed_requests_are_admitted_with_query_parameters_and_json_bodies(ns_sim):
    """TBA: the signature (first URL) and the Authorization header (second).

    https://docs.oracle.com/en/cloud/saas/netsuite/ns-online-help/section_1534941088.html
    https://docs.oracle.com/en/cloud/saas/netsuite/ns-online-help/section_1534941295.html
    """
    customer = new_customer(ns_sim, "tba-1")  # PUT with a JSON body: the body is not signed
    response = requests.get(
        f"{ns_sim.url}{RECORDS}/customer/{customer}", params={"expandSubResources": "true"}, auth=oauth1(), timeout=10
    )
    assert response.status_code == 200 and response.json()["companyName"] == "Co tba-1"


def test_tba_signs_the_path_as_sent_percent_encoding_included(ns_sim):
    """RFC 5849 3.4.1.2: the base string URI is the request's own (encoded) path; an external id may hold a space."""
    new_customer(ns_sim, "with space:colon")
    response = requests.get(f"{ns_sim.url}{RECORDS}/customer/eid:with%20space:colon", auth=oauth1(), timeout=10)
    assert response.status_code == 200 and response.json()["externalId"] == "with space:colon"


@pytest.mark.parametrize(
    "change",
    [
        {"resource_owner_secret": "wrong"},  # wrong signature
        {"client_key": "other-consumer"},
        {"realm": "OTHER_ACCOUNT"},
        {"signature_method": "HMAC-SHA1"},  # NetSuite ended HMAC-SHA1 in 2023.1
        {"timestamp": str(int(time.time()) - 3600)},  # stale
    ],
)
def test_tba_refusals_are_invalid_login(ns_sim, change):
    """An invalid login is 401 INVALID_LOGIN, nothing more said.

    https://docs.oracle.com/en/cloud/saas/netsuite/ns-online-help/section_156570709583.html
    """
    response = requests.get(f"{ns_sim.url}{RECORDS}/customer", auth=oauth1(**change), timeout=10)
    assert response.status_code == 401 and error_code(response) == "INVALID_LOGIN"
    assert response.json()["title"] == "Unauthorized"


def test_tba_nonce_is_good_once(ns_sim):
    """RFC 5849 3.3: a nonce with the same timestamp and token is refused the second time."""
    signer = oauth1(nonce="conformance-nonce-1", timestamp=str(int(time.time())))
    first = requests.get(f"{ns_sim.url}{RECORDS}/customer", params={"limit": 1}, auth=signer, timeout=10)
    again = requests.get(f"{ns_sim.url}{RECORDS}/customer", params={"limit": 1}, auth=signer, timeout=10)
    assert first.status_code == 200 and again.status_code == 401


def test_m2m_token_endpoint_issues_an_expiring_bearer_token(ns_sim):
    """OAuth 2.0 client credentials: the token request and response, and the JWT assertion.

    https://docs.oracle.com/en/cloud/saas/netsuite/ns-online-help/section_162755359851.html
    https://docs.oracle.com/en/cloud/saas/netsuite/ns-online-help/section_162790605110.html
    """
    response = httpx.post(ns_sim.url + TOKEN, data=token_form(ns_sim.url + TOKEN))
    answer = response.json()
    assert response.status_code == 200 and answer["token_type"] == "Bearer" and int(answer["expires_in"]) == 3600
    headers = {"Authorization": f"Bearer {answer['access_token']}"}
    assert httpx.get(f"{ns_sim.url}{RECORDS}/customer", headers=headers, params={"limit": 1}).status_code == 200
    jti = jwt.decode(answer["access_token"], options={"verify_signature": False})["jti"]
    ns_sim.store.put("netsuite", "oauth2AccessToken", jti, {"id": jti, "expiresAt": time.time() - 1})
    expired = httpx.get(f"{ns_sim.url}{RECORDS}/customer", headers=headers)
    assert expired.status_code == 401 and error_code(expired) == "INVALID_LOGIN"


@pytest.mark.parametrize(
    "change",
    [
        {"header": {"kid": "another-certificate"}},
        {"header": {"alg": "RS256"}},  # Oracle lists PS256/384/512 and ES256/384/512 only
        {"iss": "another-client"},
        {"aud": "https://elsewhere.example/token"},
        {"scope": ["restlets"]},
        {"exp": int(time.time()) + 7200},  # more than 60 minutes after iat
        {"iat": int(time.time()) - 1200, "exp": int(time.time()) - 600},  # expired
    ],
)
def test_m2m_bad_assertions_are_refused(ns_sim, change):
    response = httpx.post(ns_sim.url + TOKEN, data=token_form(ns_sim.url + TOKEN, **change))
    assert response.status_code == 400 and response.json()["error"] == "invalid_grant"


def test_m2m_wrong_grant_type_is_refused(ns_sim):
    form = token_form(ns_sim.url + TOKEN) | {"grant_type": "password"}
    response = httpx.post(ns_sim.url + TOKEN, data=form)
    assert response.status_code == 400 and response.json()["error"] == "unsupported_grant_type"


def test_static_bearer_token_is_refused_unless_configured(ns_sim):
    response = httpx.get(f"{ns_sim.url}{RECORDS}/customer", headers={"Authorization": "Bearer netsuite-token-dev"})
    assert response.status_code == 401 and error_code(response) == "INVALID_LOGIN"
