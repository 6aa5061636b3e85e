"""How failed sign-ins slow down further tries: exponential back-off under three keys (pure).

Why three keys, and why back-off instead of a lock-out:

- **(account, address)** — the one that stops guessing one account from one place. A few free
  failures (typing mistakes), then the next try from that pair waits 2 s, 4 s, 8 s … up to 15 min.
  It touches nobody else: the owner signing in from another address is not affected.
- **address, across accounts** — the one that stops *spraying* one password over many accounts,
  which the per-account count never sees. A little more room (an office shares one address
  behind NAT), delays from 1 s doubling up to 10 min.
- **account, across addresses** — the one against a guesser who rotates addresses. Since anyone
  can fail on anyone's account, this is the key a third party could use to keep the owner out;
  so it starts late (20 failures) and stays short (at most 30 s), and it does not apply at all
  to an address that signed in to the account successfully within the last 30 days
  (``KNOWN_FOR``): the owner at their usual place is never held by strangers' failures.

A try while any applicable key is in back-off is refused *without checking the password* — also
a correct one, or it would be no throttle — and the refusal says when to try again. Nothing ever
locks: each delay runs out by itself, and a key that has seen no failure for ``forget_after``
starts again from zero. The three delays compose: an address spraying 10 accounts earns the
address back-off even though each (account, address) pair failed once.

The same rules apply to the token endpoint with the client id for the account.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass


@dataclass(frozen=True)
class BackOff:
    scope: str
    free: int  # failures allowed before any delay
    base: dt.timedelta  # the first delay; each further failure doubles it
    cap: dt.timedelta  # the longest delay
    forget_after: dt.timedelta  # no failure for this long: the count starts again

    def delay(self, failures: int) -> dt.timedelta:
        """The wait after the ``failures``-th failure in a row."""
        if failures <= self.free:
            return dt.timedelta(0)
        return min(self.cap, self.base * 2 ** min(failures - self.free - 1, 30))

    def counted(self, failures: int, last_failure_at: dt.datetime | None, now: dt.datetime) -> int:
        """Failures that still count at ``now`` (none once the key has been quiet long enough)."""
        if last_failure_at is None or now - last_failure_at >= self.forget_after:
            return 0
        return failures


PAIR = BackOff(
    "pair", free=3, base=dt.timedelta(seconds=2), cap=dt.timedelta(minutes=15), forget_after=dt.timedelta(hours=1)
)
ADDRESS = BackOff(
    "address", free=5, base=dt.timedelta(seconds=1), cap=dt.timedelta(minutes=10), forget_after=dt.timedelta(hours=1)
)
ACCOUNT = BackOff(
    "account", free=20, base=dt.timedelta(seconds=1), cap=dt.timedelta(seconds=30), forget_after=dt.timedelta(hours=1)
)
SCOPES = (PAIR, ADDRESS, ACCOUNT)

# An address that signed in to an account this recently is not held by the account's back-off.
KNOWN_FOR = dt.timedelta(days=30)
# Rows older than this (no failure, and for pairs no success within KNOWN_FOR) are pruned.
FORGET = max(s.forget_after for s in SCOPES)


def wait_text(wait: dt.timedelta) -> str:
    """“请 N 秒后再试” / “请 N 分钟后再试”: the refusal's when-to-retry, rounded up."""
    seconds = max(1, math.ceil(wait.total_seconds()))
    if seconds < 60:
        return f"请 {seconds} 秒后再试"
    return f"请 {math.ceil(seconds / 60)} 分钟后再试"


def retry_after(wait: dt.timedelta) -> int:
    """Whole seconds for an HTTP ``Retry-After`` header."""
    return max(1, math.ceil(wait.total_seconds()))
