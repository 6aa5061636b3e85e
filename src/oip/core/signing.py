"""Signed files exchanged with outside systems (the tax bureau, the bank): a detached hex
HMAC-SHA256 of the exact bytes, each system with its own key (oip.core.config.get_keys), and the
file names we accept from them. Pure: no database, no web."""

from __future__ import annotations

import hashlib
import hmac
import re

# A file name from an outside system that is safe to join to a folder (no path, no hidden file).
SAFE_FILE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,120}$")


def sign(body: bytes, key: bytes) -> str:
    """Hex HMAC-SHA256 of the exact bytes."""
    return hmac.new(key, body, hashlib.sha256).hexdigest()


def verify(body: bytes, signature: str | None, key: bytes) -> bool:
    """Does ``signature`` (hex, any case, surrounding blanks ignored) sign ``body``? Anything that is
    not a hex signature — empty, non-ASCII — is simply not valid (never an error)."""
    if not signature:
        return False
    given = signature.strip().lower()
    if not given.isascii():
        return False
    return hmac.compare_digest(sign(body, key).encode(), given.encode())


def sha256(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()
