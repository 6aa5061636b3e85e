"""Helpers for the premiums and exchange tests: platforms of their own, and orders in the real ledger.

Orders are written as Parquet files with exactly the ledger's columns and published through
``ledger.publish`` — the ledger's own mechanism, so the declaration reads them as it reads
imported orders. Every test creates its own platforms (unique codes and USCCs) and passes them as
the platform filter, so tests never see each other's declarations even when they share a month."""

from __future__ import annotations

import datetime as dt
import random
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal

import pytest
from sqlalchemy import select

_rng = random.Random(secrets.randbits(64))


def new_code(prefix: str = "q") -> str:
    return f"{prefix}{secrets.token_hex(4)}"


def new_uscc() -> str:
    from oip.demo.synthetic import synthetic_uscc

    return synthetic_uscc(_rng, "450100")


def officer(session, username: str = "gx_si"):
    from oip.auth.models import User
    from oip.auth.service import principal_for

    return principal_for(session, session.scalar(select(User).where(User.username == username)), via="test")


def make_platform(
    session,
    *,
    industry: str = "instant_delivery",
    base: str = "0.07",
    covered_from: str = "2025-07-01",
    code: str | None = None,
    name: str | None = None,
):
    from oip.platforms import service

    code = code or new_code()
    return service.create_platform(
        session,
        officer(session),
        code=code,
        uscc=new_uscc(),
        industry_code=industry,
        name=name or f"保障费测试{code[-4:]}",
        base_yuan=Decimal(base),
        covered_from=dt.date.fromisoformat(covered_from),
        basis="测试",
    )


@dataclass
class Order:
    order_id: str
    status: str = "completed"
    day: dt.date | None = None
    person_id: int = 1
    county_code: str = "450103"
    version: int = 1


def orders(
    prefix: str,
    n: int,
    *,
    status: str = "completed",
    day: dt.date | None = None,
    persons: int = 7,
    counties: Sequence[str] = ("450103", "450102", "450305"),
) -> list[Order]:
    return [Order(f"{prefix}-{i:06d}", status, day, 1000 + i % persons, counties[i % len(counties)]) for i in range(n)]


def publish(session, platform, month: str, rows: Iterable[Order], *, supersede: Sequence[tuple[str, int]] = ()) -> int:
    """Write ``rows`` as one Parquet file of the ledger for ``platform`` and ``month`` and publish
    it (with ``supersede`` = [(order_id, old version)] listed as superseded). Returns the batch id."""
    from oip.core import clock
    from oip.core.months import month_bounds
    from oip.orders import ledger
    from oip.orders.models import OrderBatch

    rows = list(rows)
    first, last = month_bounds(month)
    batch = OrderBatch(
        platform_id=platform.id,
        source="test",
        fmt="parquet",
        status="staging",
        received=len(rows),
        accepted=len(rows),
        started_at=clock.now(),
    )
    session.add(batch)
    session.flush()
    staging = ledger.root() / "staging"
    staging.mkdir(parents=True, exist_ok=True)
    path = staging / f"test-{secrets.token_hex(6)}.parquet"
    con = ledger.connect()
    try:
        cols = ", ".join(f"{c} {t}" for c, t in ledger.COLUMNS.items())
        con.execute(f"CREATE TEMP TABLE t ({cols})")
        data = []
        for i, o in enumerate(rows):
            day = o.day or first + dt.timedelta(days=i % ((last - first).days + 1))
            accepted = dt.datetime.combine(day, dt.time(8 + i % 12, i % 60), tzinfo=clock.SHANGHAI)
            data.append(
                (
                    o.order_id,
                    platform.code,
                    f"acct-{o.person_id}",
                    o.person_id,
                    platform.industry_code,
                    o.county_code,
                    accepted,
                    accepted + dt.timedelta(minutes=5),
                    accepted + dt.timedelta(minutes=30),
                    o.status,
                    108.3,
                    22.8,
                    108.4,
                    22.9,
                    3200,
                    850,
                    month,
                    day,
                    o.version,
                    batch.id,
                )
            )
        con.executemany(f"INSERT INTO t VALUES ({', '.join('?' * len(ledger.COLUMNS))})", data)
        con.execute(f"COPY (SELECT * FROM t ORDER BY accepted_at) TO '{path}' ({ledger.WRITE_OPTIONS})")
        lo, hi = con.execute("SELECT MIN(accepted_at), MAX(accepted_at) FROM t").fetchone()
    finally:
        con.close()
    staged = [ledger.StagedFile(path, month, platform.code, len(rows), lo, hi)] if rows else []
    ledger.publish(session, batch, staged, [(platform.code, oid, v, month) for oid, v in supersede])
    session.flush()
    return batch.id


@pytest.fixture
def si(db):
    """The regional social insurance centre's officer (declare, send, reconcile, float)."""
    return officer(db)


def yuan(v: str) -> Decimal:
    return Decimal(v)
