"""Personal data at rest: AES-256-GCM ciphertext plus a keyed HMAC blind index for look-ups.

Ciphertext layout: ``b"\\x01" + nonce(12) + ciphertext+tag``. The first byte is the key version,
so keys can be rotated later. Keys come from configuration (``oip.core.config.get_keys``).
"""

from __future__ import annotations

import hashlib
import hmac
import os

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from oip.core.config import get_keys

_VERSION = b"\x01"


def encrypt(plain: str, context: str) -> bytes:
    """Encrypt ``plain``; ``context`` (e.g. "person.id_number") is bound as associated data."""
    nonce = os.urandom(12)
    ct = AESGCM(get_keys().data_key).encrypt(nonce, plain.encode(), context.encode())
    return _VERSION + nonce + ct


def decrypt(blob: bytes, context: str) -> str:
    if blob[:1] != _VERSION:
        raise ValueError("unknown ciphertext version")
    return AESGCM(get_keys().data_key).decrypt(blob[1:13], blob[13:], context.encode()).decode()


def blind_index(value: str, context: str) -> bytes:
    """Deterministic keyed digest for equality look-ups without storing the value."""
    return hmac.new(get_keys().index_key, f"{context}:{value}".encode(), hashlib.sha256).digest()


def sign(message: str) -> str:
    return hmac.new(get_keys().session_key, message.encode(), hashlib.sha256).hexdigest()


def verify_signature(message: str, signature: str) -> bool:
    return hmac.compare_digest(sign(message), signature)
