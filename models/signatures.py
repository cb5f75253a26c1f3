"""What every webhook signature check shares. Each vendor's scheme lives in connectors/<vendor>/webhooks.py."""

from __future__ import annotations

import hashlib
import hmac


class SignatureError(ValueError):
    """The request is not signed by whom it claims, or the signature is stale."""


def hmac_sha256(secret: str, message: bytes) -> bytes:
    return hmac.new(secret.encode(), message, hashlib.sha256).digest()
