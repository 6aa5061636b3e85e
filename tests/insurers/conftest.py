"""Helpers of the insurer contract tests. The demo province already holds contracts covering every
city for investigation from 2025-07-01, so tests make their own in far years (one year each, never
reused in a run) or for services the demo leaves free."""

from __future__ import annotations

import datetime as dt
import random

_YEARS = random.sample(range(2200, 9000), 2000)


def fresh_year() -> int:
    """A year no other test of this run uses."""
    return _YEARS.pop()


def contract_body(year: int, **over) -> dict:
    body = {
        "insurer_code": "insurer-a",
        "document_no": f"测试协议〔{year}〕{random.randrange(10**6)}号",
        "services": ["payment_support"],
        "cities": ["450300"],
        "valid_from": dt.date(year, 1, 1).isoformat(),
        "valid_to": dt.date(year, 12, 31).isoformat(),
        "notes": "测试",
    }
    body.update(over)
    return body


def principal(session, username: str):
    """The acting principal of a demo user (for calling services directly)."""
    from sqlalchemy import select

    from oip.auth.models import User
    from oip.auth.service import principal_for

    return principal_for(session, session.scalar(select(User).where(User.username == username)), via="test")
