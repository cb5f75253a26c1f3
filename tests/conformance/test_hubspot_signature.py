"""Webhook signatures as HubSpot's own client computes them: q2c's v3 signer (which the simulator signs with)
and verifier agree with hubspot-api-client's `Signature`, so neither can drift from HubSpot unnoticed.
https://developers.hubspot.com/docs/api/webhooks/validating-requests"""

from __future__ import annotations

import time

import pytest
from hubspot.utils.signature import Signature
from hypothesis import given, settings
from hypothesis import strategies as st

from connectors.hubspot import webhooks
from models.signatures import SignatureError

SECRET = "hubspot-app-secret-dev"


@settings(max_examples=50)
@given(body=st.text(max_size=300), path=st.from_regex(r"/webhooks/hubspot(\?[a-z=&0-9]{0,20})?", fullmatch=True))
def test_q2cs_v3_signature_is_hubspots(body, path):
    uri = f"https://q2c.example.com{path}"
    timestamp = int(time.time() * 1000)
    expected = Signature.get_signature(SECRET, body, "v3", uri, "POST", str(timestamp))
    assert webhooks.sign(SECRET, "POST", uri, body.encode("utf-8"), timestamp) == expected


def test_q2c_accepts_what_hubspots_client_signs_and_refuses_a_changed_body():
    uri, body = "https://q2c.example.com/webhooks/hubspot", b'[{"eventId": 1}]'
    timestamp = str(int(time.time() * 1000))
    signature = Signature.get_signature(SECRET, body.decode(), "v3", uri, "POST", timestamp)
    assert Signature.is_valid(signature, SECRET, body.decode(), uri, "POST", "v3", timestamp)
    webhooks.verify(SECRET, "POST", uri, body, signature, timestamp)
    with pytest.raises(SignatureError):
        webhooks.verify(SECRET, "POST", uri, body + b" ", signature, timestamp)
