"""Helpers for the order tests: fresh workers registered on a platform, order rows, files.

The demo province is shared by the whole test session, so every test registers its own accounts
(random ids) and takes its orders in months far from the demo's data: 2025-08 … 2025-12 (the
premiums tests count the real platforms' orders of 2025-07, and 2026-04/05). Tests never assert
global counts."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import secrets
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from oip.orders.ingest.interface import FIELDS
from tests.workers.conftest import new_id, new_name, new_phone

SH = ZoneInfo("Asia/Shanghai")
INDUSTRY = {
    "meituan": "instant_delivery",
    "didi": "ride_hailing",
    "huolala": "intracity_freight",
    "eleme": "instant_delivery",
    "caocao": "ride_hailing",
}


def register_workers(
    platform_code: str,
    n: int = 1,
    *,
    county: str = "450103",
    registered_on: str = "2025-08-01",
    id_numbers: list[str] | None = None,
    names: list[str] | None = None,
    phones: list[str] | None = None,
) -> list[tuple[str, int]]:
    """Register ``n`` new workers on a platform through the register's service (as the platform's
    API user). Returns [(account_id, person_id)]."""
    from sqlalchemy import select

    from oip.auth.models import User
    from oip.auth.service import principal_for
    from oip.core.db import session_scope
    from oip.platforms.models import Platform
    from oip.workers import service

    with session_scope() as s:
        actor = principal_for(s, s.scalar(select(User).where(User.username == f"{platform_code}-api")))
        plat = s.scalar(select(Platform).where(Platform.code == platform_code))
        records = [
            {
                "platform_account_id": f"{platform_code[:2].upper()}T{secrets.token_hex(5).upper()}",
                "name": names[i] if names else new_name(),
                "id_number": (id_numbers[i] if id_numbers else new_id()),
                "phone": phones[i] if phones else new_phone(),
                "county_code": county,
                "registered_on": registered_on,
            }
            for i in range(n)
        ]
        res = service.register(s, actor, plat, records, source="test")
        assert res.accepted == n, res.as_dict()
        return [(o.platform_account_id, o.person_id) for o in res.outcomes]


def ts(day: str, hhmm: str, offset: str = "+08:00") -> str:
    return f"{day}T{hhmm}:00{offset}"


_seq = iter(range(10**9))


def order(
    account: str,
    platform: str = "meituan",
    *,
    day: str = "2025-09-10",
    start: str = "12:00",
    minutes: int = 30,
    **overrides,
) -> dict:
    """One valid order row (strings, as in a CSV file)."""
    a = dt.datetime.fromisoformat(f"{day}T{start}:00+08:00")
    row = {
        "order_id": f"O{secrets.token_hex(6).upper()}{next(_seq)}",
        "platform_code": platform,
        "worker_account_id": account,
        "industry": INDUSTRY[platform],
        "county_code": "450103",
        "accepted_at": a.isoformat(),
        "picked_up_at": (a + dt.timedelta(minutes=5)).isoformat(),
        "finished_at": (a + dt.timedelta(minutes=minutes)).isoformat(),
        "status": "completed",
        "start_lng": "108.3669",
        "start_lat": "22.8167",
        "end_lng": "108.3301",
        "end_lat": "22.8070",
        "distance_m": "3200",
        "income_fen": "650",
    }
    row.update(overrides)
    return row


def csv_bytes(rows: list[dict], encoding: str = "utf-8", fields=FIELDS) -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(fields)
    for r in rows:
        w.writerow([r.get(f, "") if r.get(f) is not None else "" for f in fields])
    return buf.getvalue().encode(encoding)


def jsonl_bytes(rows: list[dict]) -> bytes:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows).encode()


def parquet_file(path: Path, rows: list[dict], native: bool = True) -> Path:
    """A Parquet file of the rows: timestamps as UTC-adjusted timestamps, numbers as numbers
    (``native``), or every column as strings."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    cols = {}
    for f in FIELDS:
        vals = [r.get(f) for r in rows]
        if not native:
            cols[f] = pa.array([None if v in (None, "") else str(v) for v in vals], pa.string())
        elif f in ("accepted_at", "picked_up_at", "finished_at"):
            cols[f] = pa.array(
                [dt.datetime.fromisoformat(v) if v else None for v in vals], pa.timestamp("us", tz="UTC")
            )
        elif f in ("distance_m", "income_fen"):
            cols[f] = pa.array([int(v) if v not in (None, "") else None for v in vals], pa.int64())
        elif f in ("start_lng", "start_lat", "end_lng", "end_lat"):
            cols[f] = pa.array([float(v) if v not in (None, "") else None for v in vals], pa.float64())
        else:
            cols[f] = pa.array(vals, pa.string())
    pq.write_table(pa.table(cols), path)
    return path


def import_rows(tmp_path: Path, rows: list[dict], platform: str = "meituan", fmt: str = "csv", **kw):
    """Write the rows as a file of ``fmt`` and import it; returns the ImportResult."""
    from oip.orders import ingest

    name = f"orders-{secrets.token_hex(3)}.{'parquet' if fmt == 'parquet' else fmt}"
    path = tmp_path / name
    if fmt == "csv":
        path.write_bytes(csv_bytes(rows))
    elif fmt == "jsonl":
        path.write_bytes(jsonl_bytes(rows))
    else:
        parquet_file(path, rows)
    res = ingest.import_file(path, platform, fmt=fmt, **kw)
    assert res.received == res.accepted + res.rejected + res.duplicates
    return res


def rejects(res) -> list[dict]:
    """The rejects file of a result as dicts (row as int)."""
    if not res.rejects_path:
        return []
    raw = Path(res.rejects_path).read_bytes()
    assert raw.startswith("\ufeff".encode())
    out = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))
    for r in out:
        r["row"] = int(r["row"])
    return out


def stored(order_id: str, platform: str = "meituan") -> list[dict]:
    """The current version(s) of an order in the ledger (through the orders view)."""
    from oip.core.db import session_scope
    from oip.orders import ledger

    with session_scope() as s:
        con = ledger.connect()
        try:
            ledger.register_orders(con, s, ledger.Slice(platforms=(platform,)))
            cur = con.execute("SELECT * FROM orders WHERE order_id = ?", [order_id])
            names = [d[0] for d in cur.description]
            return [dict(zip(names, r)) for r in cur.fetchall()]
        finally:
            con.close()


def worker_months(account: str, platform: str = "meituan") -> list[dict]:
    """The account's per-worker-month summaries, by month and county; ``days``: {date: orders} of
    the days with orders."""
    from sqlalchemy import select

    from oip.core.db import session_scope
    from oip.orders.models import WorkerMonth
    from oip.platforms.models import Platform

    with session_scope() as s:
        pid = s.scalar(select(Platform.id).where(Platform.code == platform))
        rows = s.scalars(
            select(WorkerMonth)
            .where(WorkerMonth.platform_id == pid, WorkerMonth.account_id == account)
            .order_by(WorkerMonth.month, WorkerMonth.county_code)
        ).all()
        return [
            {
                "month": r.month,
                "county_code": r.county_code,
                "orders": r.orders,
                "completed": r.completed,
                "day_orders": list(r.day_orders),
                "day_first": list(r.day_first),
                "day_last": list(r.day_last),
                "first": r.first_accepted_at,
                "last": r.last_finished_at,
                "person_id": r.person_id,
                "days": {d: r.day_orders[d.day - 1] for d in r.active_days()},
            }
            for r in rows
        ]


@pytest.fixture
def meituan_workers(database):
    return register_workers("meituan", 3)


@pytest.fixture(autouse=True)
def _database(database):
    """Every order test runs against the session's migrated demo database."""
    return database
