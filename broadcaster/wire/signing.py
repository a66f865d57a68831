"""Ed25519 signing of server→agent messages.

A signed message on the wire is the JSON envelope
``{"payload": {...}, "kid": "<key id>", "sig": "<base64 signature of canonical(payload)>"}``.
Agents hold a set of trusted public keys (by key id) so keys can be rotated.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

from . import bounded
from .canonical import canonical_json
from .errors import ProtocolError
from .files import create_atomic, write_atomic


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def public_key_b64(key: Ed25519PublicKey) -> str:
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return _b64(raw)


def key_id(public_b64: str) -> str:
    """A short stable id for a public key: the first 16 hex digits of its sha256."""
    return hashlib.sha256(base64.b64decode(public_b64)).hexdigest()[:16]


@dataclass(frozen=True)
class Signer:
    """Signs payloads with the server's private key."""

    private_key: Ed25519PrivateKey

    @property
    def public_b64(self) -> str:
        return public_key_b64(self.private_key.public_key())

    @property
    def kid(self) -> str:
        return key_id(self.public_b64)

    def sign(self, payload: dict[str, Any]) -> bytes:
        """Return the wire bytes of the signed envelope for ``payload``."""
        return self.sign_many([payload])[0]

    def sign_many(self, payloads: list[dict[str, Any]]) -> list[bytes]:
        """The signed envelopes of several payloads, with the key (and its id) looked up once
        (ingest signs an ack per site and batch)."""
        key = self.private_key
        kid = key_id(public_key_b64(key.public_key()))
        out = []
        for payload in payloads:
            sig = key.sign(canonical_json(payload))
            envelope = {"payload": payload, "kid": kid, "sig": _b64(sig)}
            out.append(
                json.dumps(envelope, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
            )
        return out

    @classmethod
    def generate(cls) -> Signer:
        return cls(Ed25519PrivateKey.generate())

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Signer:
        data = Path(path).read_bytes()
        key = serialization.load_pem_private_key(data, password=None)
        if not isinstance(key, Ed25519PrivateKey):
            raise ValueError(f"{path}: not an Ed25519 private key")
        return cls(key)

    def save(self, path: str | os.PathLike[str], *, exclusive: bool = False) -> None:
        """Write the private key as PEM, readable by the owner only, atomically (a reader never
        sees part of it); ``exclusive``: only if no file is there (else FileExistsError)."""
        pem = self.private_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        if exclusive:
            create_atomic(path, pem, 0o600)
        else:
            write_atomic(path, pem, 0o600)


class Verifier:
    """Verifies signed envelopes against a set of trusted public keys."""

    def __init__(self, trusted_public_b64: list[str]) -> None:
        if not trusted_public_b64:
            raise ValueError("at least one trusted server key is required")
        self._keys: dict[str, Ed25519PublicKey] = {}
        for pub in trusted_public_b64:
            raw = base64.b64decode(pub)
            self._keys[key_id(pub)] = Ed25519PublicKey.from_public_bytes(raw)

    def open(self, data: bytes) -> dict[str, Any]:
        """Check the envelope's signature and return its payload, or raise ProtocolError."""
        envelope = bounded.loads(data)
        if not isinstance(envelope, dict) or not {"payload", "kid", "sig"} <= envelope.keys():
            raise ProtocolError("malformed", "not a signed envelope")
        payload, kid, sig = envelope["payload"], envelope["kid"], envelope["sig"]
        if not isinstance(payload, dict) or not isinstance(sig, str):
            raise ProtocolError("malformed", "bad envelope fields")
        key = self._keys.get(kid) if isinstance(kid, str) else None
        if key is None:
            raise ProtocolError("unknown-key", f"key id {kid!r} is not trusted")
        try:
            key.verify(base64.b64decode(sig, validate=True), canonical_json(payload))
        except (InvalidSignature, ValueError):
            raise ProtocolError("bad-signature", f"signature does not verify (key {kid})") from None
        return payload
