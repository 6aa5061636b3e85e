"""What a password must be (pure): the rules applied wherever a password is set.

Following NIST SP 800-63B (§3.1.1.2) rather than composition rules:

- **At least 12 characters** (``MIN_LENGTH``). Length is what makes a password expensive to guess;
  12 is the floor that common guidance (NIST's 15 for single-factor, OWASP and BSI's 12) allows for
  accounts that, as here, are also protected by argon2id and sign-in back-off, while staying
  typeable for a memorised passphrase (“三个词加数字”). At most 128.
- **Not a common password**: the ~20,000 most common passwords from breach corpora
  (``data/common-passwords.txt.gz``, the list Django ships as
  ``django/contrib/auth/common-passwords.txt.gz``, compiled by Royce Williams; BSD-3 licence),
  compared case-insensitively. Most entries are shorter than 12 characters; the length rule and
  the list together refuse what attackers try first.
- **Not the username** and not containing it (either way round, case-insensitive).
- No rules like “a digit and a letter”: they push people to ``Password1``-shaped passwords that the
  list already refuses, and add nothing to a long passphrase.

Each refusal names the field it is about (``password`` unless the caller says otherwise)."""

from __future__ import annotations

import gzip
from functools import lru_cache
from importlib import resources

MIN_LENGTH = 12
MAX_LENGTH = 128


class WeakPassword(ValueError):
    def __init__(self, reason: str, field: str):
        super().__init__(reason)
        self.reason = reason
        self.field = field


@lru_cache
def common_passwords() -> frozenset[str]:
    data = resources.files("oip.auth").joinpath("data/common-passwords.txt.gz").read_bytes()
    return frozenset(line.strip().lower() for line in gzip.decompress(data).decode().splitlines() if line.strip())


def check(password: str, username: str = "", field: str = "password") -> str:
    """``password`` if acceptable, else ``WeakPassword`` with a Chinese reason and ``field``."""
    pw = password or ""
    if len(pw) < MIN_LENGTH:
        raise WeakPassword(f"密码至少 {MIN_LENGTH} 个字符（可用几个词组成的短语）", field)
    if len(pw) > MAX_LENGTH:
        raise WeakPassword(f"密码不能超过 {MAX_LENGTH} 个字符", field)
    if pw.strip().lower() in common_passwords():
        raise WeakPassword("该密码是常见密码，容易被猜中，请换一个", field)
    name = (username or "").strip().lower()
    if name and (name in pw.lower() or pw.lower() in name):
        raise WeakPassword("密码不能包含用户名", field)
    return pw
