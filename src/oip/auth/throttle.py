"""Back-off state of sign-ins and token requests, in PostgreSQL so every server process shares it.

``wait(...)`` before checking any password (a throttled try costs no argon2 work), ``failed(...)``
or ``succeeded(...)`` after. The rules are in oip.auth.throttle_rules.

Two concurrent tries of one key can both pass ``wait`` before either records its failure; the
request concurrency bound caps that burst, and each failure still lengthens the back-off."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import delete, or_, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from oip.auth.models import SignInThrottle
from oip.auth.throttle_rules import ACCOUNT, ADDRESS, FORGET, KNOWN_FOR, PAIR, BackOff
from oip.core import clock, crypto

_CTX = "sign-in-throttle"


def _keys(endpoint: str, account: str, ip: str | None) -> dict[BackOff, str]:
    """Keyed hashes, so the table holds neither usernames nor addresses."""
    ip = ip or "unknown"

    def k(scope: BackOff, value: str) -> str:
        return f"{endpoint}:{scope.scope}:" + crypto.blind_index(value, _CTX).hex()

    return {
        PAIR: k(PAIR, f"{account}\x00{ip}"),
        ADDRESS: k(ADDRESS, ip),
        ACCOUNT: k(ACCOUNT, account),
    }


def wait(session: Session, endpoint: str, account: str, ip: str | None) -> dt.timedelta | None:
    """How long this (account, address) must still wait, or None when it may try now."""
    keys = _keys(endpoint, account, ip)
    rows = {r.key: r for r in session.scalars(select(SignInThrottle).where(SignInThrottle.key.in_(keys.values())))}
    now = clock.now()
    pair = rows.get(keys[PAIR])
    known = pair is not None and pair.last_success_at is not None and now - pair.last_success_at < KNOWN_FOR
    longest = dt.timedelta(0)
    for scope, key in keys.items():
        row = rows.get(key)
        if row is None or row.blocked_until is None or (scope is ACCOUNT and known):
            continue
        longest = max(longest, row.blocked_until - now)
    return longest if longest > dt.timedelta(0) else None


def failed(session: Session, endpoint: str, account: str, ip: str | None) -> None:
    """Count a failure under the three keys and set the back-off each has earned; prune old rows."""
    now = clock.now()
    session.execute(
        delete(SignInThrottle).where(
            SignInThrottle.last_failure_at < now - FORGET,
            or_(SignInThrottle.last_success_at.is_(None), SignInThrottle.last_success_at < now - KNOWN_FOR),
        )
    )
    keys = _keys(endpoint, account, ip)
    # Create missing rows without racing another process, then lock them in a fixed order.
    session.execute(
        insert(SignInThrottle)
        .values([{"key": k, "failures": 0} for k in keys.values()])
        .on_conflict_do_nothing(index_elements=["key"])
    )
    rows = {
        r.key: r
        for r in session.scalars(
            select(SignInThrottle)
            .where(SignInThrottle.key.in_(keys.values()))
            .order_by(SignInThrottle.key)
            .with_for_update()
        )
    }
    for scope, key in keys.items():
        row = rows[key]
        row.failures = scope.counted(row.failures, row.last_failure_at, now) + 1
        row.last_failure_at = now
        delay = scope.delay(row.failures)
        row.blocked_until = now + delay if delay else None
    session.flush()


def succeeded(session: Session, endpoint: str, account: str, ip: str | None) -> None:
    """The pair starts again from zero and becomes a known address of the account. The address's and
    the account's counts stay: a success of one's own must not wash out spraying or guessing."""
    now = clock.now()
    key = _keys(endpoint, account, ip)[PAIR]
    session.execute(
        insert(SignInThrottle)
        .values(key=key, failures=0, last_success_at=now)
        .on_conflict_do_update(
            index_elements=["key"], set_={"failures": 0, "blocked_until": None, "last_success_at": now}
        )
    )


def reset_all(session: Session) -> None:
    """Forget every back-off (tests; an operator after a false alarm)."""
    session.execute(delete(SignInThrottle))
