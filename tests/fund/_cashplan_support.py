"""Helpers of the cash-plan tests: principals of demo users, money in the fiscal special account, a
medical payment in the ledger, and the quarters the tests use (two years ahead of the clock, clear
of the demo's plans)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from oip.core import audit, clock


def principal(s, username: str):
    from oip.auth.models import User
    from oip.auth.service import principal_for

    return principal_for(s, s.scalar(select(User).where(User.username == username)), via="test")


def plan_year() -> int:
    return clock.today().year + 2


def fund_fiscal(amount_fen: int) -> int:
    """Post a premium receipt of ``amount_fen`` into the fiscal special account (1001 at the region)
    today; returns the entry id."""
    from oip.core.db import session_scope
    from oip.fund import posting, rules

    with session_scope() as s:
        [eid] = posting.post(
            s,
            audit.SystemActor(label="test"),
            [
                posting.NewEntry(
                    kind="premium",
                    entry_date=clock.today(),
                    summary="测试：保障费到账",
                    legs=rules.premium_legs(amount_fen),
                    source_type="test",
                )
            ],
        )
        return eid


def post_medical(county: str, amount_fen: int, on: dt.date) -> str:
    """Post a medical payment of ``amount_fen`` in ``county``'s city dated ``on``; returns the period
    it went to."""
    from oip.core.db import session_scope
    from oip.fund import posting, rules
    from oip.fund.models import Entry

    with session_scope() as s:
        [eid] = posting.post(
            s,
            audit.SystemActor(label="test"),
            [
                posting.NewEntry(
                    kind="payment",
                    entry_date=on,
                    summary="测试：医疗费支出",
                    legs=rules.payment_legs("medical", county, amount_fen),
                    source_type="test",
                )
            ],
        )
        return s.get(Entry, eid).period
