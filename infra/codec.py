"""Payload encryption: customer and financial data never sits in Temporal's history in plain text.

AES-256-GCM per payload, the key id in the payload's metadata. Rotation is a new key at the front of
the key ring: new writes use it, payloads written under older keys still decrypt. Payloads without our
encoding (histories from before encryption was switched on) pass through untouched.
"""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from temporalio.api.common.v1 import Payload
from temporalio.converter import DataConverter, DefaultFailureConverterWithEncodedAttributes, PayloadCodec

ENCODING = b"binary/encrypted"
KEY_ID = "encryption-key-id"
NONCE_BYTES = 12


class KeyRingError(ValueError):
    """The configured keys are unusable, or a payload names a key we do not hold."""


@dataclass(frozen=True)
class KeyRing:
    """Key id -> 32-byte key; `active` encrypts, every key decrypts."""

    active: str
    keys: dict[str, bytes]

    def __post_init__(self) -> None:
        if self.active not in self.keys:
            raise KeyRingError(f"active key {self.active!r} is not in the key ring ({', '.join(self.keys)})")
        for key_id, key in self.keys.items():
            if len(key) != 32:
                raise KeyRingError(f"key {key_id!r} is {len(key)} bytes; AES-256-GCM needs 32 (base64 of 32 bytes)")

    @classmethod
    def parse(cls, spec: str) -> KeyRing:
        """`id=base64[,id=base64...]`: the first key is the active one (Q2C_CODEC_KEYS)."""
        keys: dict[str, bytes] = {}
        for n, item in enumerate(part.strip() for part in spec.split(",") if part.strip()):
            key_id, sep, encoded = item.partition("=")
            if not sep or not key_id:
                raise KeyRingError(f"Q2C_CODEC_KEYS item {n + 1} must be id=base64key")
            try:
                keys[key_id.strip()] = base64.b64decode(encoded.strip() + "=" * (-len(encoded.strip()) % 4))
            except ValueError as error:
                raise KeyRingError(f"Q2C_CODEC_KEYS key {key_id!r} is not base64: {error}") from None
        if not keys:
            raise KeyRingError("Q2C_CODEC_KEYS is empty")
        return cls(active=next(iter(keys)), keys=keys)

    @classmethod
    def load(cls, path: Path) -> KeyRing:
        """A secrets file: `{"active": "k2", "keys": {"k2": "<base64>", "k1": "<base64>"}}`."""
        try:
            data = json.loads(path.read_text())
            return cls(active=data["active"], keys={k: base64.b64decode(v) for k, v in data["keys"].items()})
        except (OSError, ValueError, KeyError, TypeError) as error:
            raise KeyRingError(f"{path}: not a key file ({type(error).__name__}: {error})") from None

    @classmethod
    def generate(cls, key_id: str = "k1") -> KeyRing:
        return cls(active=key_id, keys={key_id: AESGCM.generate_key(bit_length=256)})

    def rotated(self, key_id: str) -> KeyRing:
        """A new active key; the old ones stay for reading."""
        return KeyRing(active=key_id, keys={key_id: AESGCM.generate_key(bit_length=256), **self.keys})

    def dump(self) -> str:
        return json.dumps(
            {"active": self.active, "keys": {k: base64.b64encode(v).decode() for k, v in self.keys.items()}}, indent=1
        )

    def spec(self) -> str:
        ordered = [self.active, *(k for k in self.keys if k != self.active)]
        return ",".join(f"{k}={base64.b64encode(self.keys[k]).decode()}" for k in ordered)


class EncryptionCodec(PayloadCodec):
    """Encrypts every payload on the way to Temporal, decrypts on the way back."""

    def __init__(self, ring: KeyRing) -> None:
        self.ring = ring
        self._ciphers = {key_id: AESGCM(key) for key_id, key in ring.keys.items()}

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        cipher, key_id = self._ciphers[self.ring.active], self.ring.active
        encoded = []
        for payload in payloads:
            nonce = os.urandom(NONCE_BYTES)
            sealed = cipher.encrypt(nonce, payload.SerializeToString(), key_id.encode())
            encoded.append(Payload(metadata={"encoding": ENCODING, KEY_ID: key_id.encode()}, data=nonce + sealed))
        return encoded

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        decoded = []
        for payload in payloads:
            if payload.metadata.get("encoding") != ENCODING:
                decoded.append(payload)
                continue
            key_id = payload.metadata.get(KEY_ID, b"").decode()
            cipher = self._ciphers.get(key_id)
            if cipher is None:
                raise KeyRingError(f"payload encrypted with key {key_id!r}, which is not in the key ring")
            try:
                plain = cipher.decrypt(payload.data[:NONCE_BYTES], payload.data[NONCE_BYTES:], key_id.encode())
            except InvalidTag:
                raise KeyRingError(
                    f"payload under key {key_id!r} failed authentication: altered or wrong key"
                ) from None
            decoded.append(Payload.FromString(plain))
        return decoded


def encrypted(converter: DataConverter, ring: KeyRing | None) -> DataConverter:
    """The converter with payloads and failure messages encrypted; unchanged without a key ring."""
    if ring is None:
        return converter
    return replace(
        converter,
        payload_codec=EncryptionCodec(ring),
        failure_converter_class=DefaultFailureConverterWithEncodedAttributes,
    )
