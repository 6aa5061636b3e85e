"""Helpers for the intake tests: fresh workers (so no other test's case is a "duplicate"), report
bodies, row counts, and small valid PDF / JPEG / PNG files."""

from __future__ import annotations

import contextlib
import datetime as dt
import struct
import zlib

from sqlalchemy import func, select

from oip.core import clock
from tests.conftest import bearer
from tests.orders.conftest import register_workers

SH = clock.SHANGHAI
# Injured on Tuesday 2025-09-30, the eve of the National Day holiday (10-01 … 10-08 off, Saturday
# 10-11 worked): the platform's 3rd working day is 10-11.
INJURED = "2025-09-30T10:00:00+08:00"


def moment(s: str) -> dt.datetime:
    t = dt.datetime.fromisoformat(s)
    return t if t.tzinfo else t.replace(tzinfo=SH)


@contextlib.contextmanager
def today(s: str):
    """The clock frozen at ``s`` (a date: 09:00 that day; or a local date-time)."""
    with clock.frozen(dt.date.fromisoformat(s) if len(s) == 10 else moment(s)) as t:
        yield t


def fresh_worker(platform: str = "meituan", county: str = "450103") -> tuple[str, int]:
    """A newly registered worker of ``platform``: (account id, person id)."""
    ((account, person),) = register_workers(platform, 1, county=county)
    return account, person


def body(account: str, occurred_at: str = INJURED, **kw) -> dict:
    out = {
        "platform_account_id": account,
        "occurred_at": occurred_at,
        "county_code": "450103",
        "address": "南宁市青秀区民族大道 100 号",
        "lat": "22.8167",
        "lon": "108.3669",
        "kind": "injury",
        "description": "送餐途中在路口被电动车撞倒",
        "injuries": "右前臂骨折",
    }
    out.update(kw)
    return {k: v for k, v in out.items() if v is not None}


def report(client, user: str, data: dict, at: str | None = "2025-09-30T15:00"):
    """POST /api/v1/cases/reports as ``user`` (clock frozen at ``at``)."""
    ctx = today(at) if at else contextlib.nullcontext()
    with ctx:
        return client.post("/api/v1/cases/reports", json=data, headers=bearer(user))


def new_case(client, user: str = "meituan_admin", account: str | None = None, **kw) -> dict:
    """A reported case (through the API); returns the answer."""
    if account is None:
        account, _ = fresh_worker("meituan" if user == "meituan_admin" else "didi")
    at = kw.pop("at", "2025-09-30T15:00")
    r = report(client, user, body(account, **kw), at=at)
    assert r.status_code == 201, r.text
    return r.json()


def counts() -> dict[str, int]:
    """Rows of the case tables (a refused input must leave them as they were)."""
    from oip.cases.models import Case, CaseDocument, CaseEvent, CaseReport, CaseSuspension, CorrectionNotice
    from oip.core.db import session_scope

    with session_scope() as s:
        return {
            m.__tablename__: s.scalar(select(func.count()).select_from(m))
            for m in (Case, CaseReport, CaseEvent, CaseDocument, CorrectionNotice, CaseSuspension)
        }


def case_json(client, case_id: int, user: str = "gx_hrss") -> dict:
    r = client.get(f"/api/v1/cases/{case_id}", headers=bearer(user))
    assert r.status_code == 200, r.text
    return r.json()


def worker_demo_accounts() -> list[tuple[str, str]]:
    """The platform accounts (platform code, account id) of the demo worker who can sign in."""
    from oip.auth.models import User
    from oip.core.db import session_scope
    from oip.platforms.models import Platform
    from oip.workers.models import PlatformAccount

    with session_scope() as s:
        person = s.scalar(select(User.person_id).where(User.username == "worker_demo"))
        return list(
            s.execute(
                select(Platform.code, PlatformAccount.account_id)
                .join(Platform, Platform.id == PlatformAccount.platform_id)
                .where(PlatformAccount.person_id == person)
            ).all()
        )


# ---- files ---------------------------------------------------------------------------------------


def pdf(extra: bytes = b"") -> bytes:
    return (
        b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R " + extra + b">>\nendobj\n"
        b"2 0 obj\n<< /Type /Pages /Kids [] /Count 0 >>\nendobj\n"
        b"trailer\n<< /Root 1 0 R >>\n%%EOF\n"
    )


def jpeg(n: int = 0) -> bytes:
    return b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00" + bytes([n % 256]) * 64 + b"\xff\xd9"


def png() -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\x00\x00")) + chunk(b"IEND", b"")
    )
