"""What every webhook signature check shares. Each vendor's scheme lives in connectors/<vendor>/webhooks.py.

The old names (`hubspot_v3`, `verify_stripe`, ...) still resolve, lazily, for simulators and tests that
have not moved to the vendor modules yet.
"""

from __future__ import annotations

import hashlib
import hmac
from importlib import import_module
from typing import Any


class SignatureError(ValueError):
    """The request is not signed by whom it claims, or the signature is stale."""


def hmac_sha256(secret: str, message: bytes) -> bytes:
    return hmac.new(secret.encode(), message, hashlib.sha256).digest()


_MOVED = {
    "hubspot_v3": ("connectors.hubspot.webhooks", "sign"),
    "verify_hubspot_v3": ("connectors.hubspot.webhooks", "verify"),
    "stripe_header": ("connectors.stripe.webhooks", "sign"),
    "verify_stripe": ("connectors.stripe.webhooks", "verify"),
    "zendesk": ("connectors.zendesk.webhooks", "sign"),
    "verify_zendesk": ("connectors.zendesk.webhooks", "verify"),
}


def __getattr__(name: str) -> Any:
    if name not in _MOVED:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    module, attribute = _MOVED[name]
    return getattr(import_module(module), attribute)
