"""The simulator's request check must never judge one endpoint's parameters by another's schema."""

from __future__ import annotations

import gc

from simulators.stripe_spec import find_spec, load_spec


def test_alternating_list_endpoints_are_each_checked_against_their_own_parameters():
    # A GET's schema is built per request; a validator cached by the schema's id alone was handed to the
    # next request whose fresh schema reused that id: "Received unknown parameter: email" on a customer list.
    path = find_spec()
    assert path is not None, "Stripe's OpenAPI subset is not found beside the checkout"
    spec = load_spec(str(path))
    for _ in range(20):
        assert spec.validate("GET", "/v1/customers", {"email": "a@example.com", "limit": "100"})["limit"] == 100
        assert spec.validate("GET", "/v1/prices", {"active": "true", "limit": "10"})["active"] is True
        gc.collect()  # frees the request's schema, as a server between requests would
