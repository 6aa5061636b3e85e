"""Insured counts (distinct workers with at least one order) by day, month, city and platform, in
the caller's scope — and the national-scale job's SQL on DuckDB gives the same numbers."""

from __future__ import annotations

import datetime as dt

import pytest

from oip.core.db import session_scope
from oip.core.months import month_span
from oip.orders import service
from tests.conftest import bearer
from tests.orders.conftest import import_rows, order, register_workers
from tests.workers.conftest import new_id, new_name

MONTH = "2025-12"  # no other test imports orders of this month


@pytest.fixture(scope="module")
def people(database, tmp_path_factory):
    """A (Nanning, meituan), B (Guilin, meituan), C (Nanning, meituan and didi)."""
    tmp = tmp_path_factory.mktemp("ins")
    ((a, pa),) = register_workers("meituan", 1)
    ((b, pb),) = register_workers("meituan", 1, county="450305")
    number, name = new_id(), new_name()
    ((c1, pc),) = register_workers("meituan", 1, id_numbers=[number], names=[name])
    ((c2, _),) = register_workers("didi", 1, id_numbers=[number], names=[name])
    import_rows(
        tmp,
        [
            order(a, day="2025-12-05"),
            order(a, day="2025-12-05", start="13:00"),
            order(a, day="2025-12-06"),
            order(b, day="2025-12-05", county_code="450305"),
            order(c1, day="2025-12-06"),
        ],
    )
    import_rows(tmp, [order(c2, "didi", day="2025-12-05"), order(c2, "didi", day="2025-12-06")], platform="didi")
    return {"A": pa, "B": pb, "C": pc}


def _counts(**kw):
    with session_scope() as s:
        return service.insured_counts(s, None, **kw)


def test_month_by_platform_and_city(people):
    c = _counts(month=MONTH)
    assert (c.insured, c.orders) == (3, 7)
    assert [(r["platform_code"], r["insured"], r["orders"]) for r in c.by_platform] == [
        ("didi", 1, 2),
        ("meituan", 3, 5),
    ]
    assert [(r["city_code"], r["city_name"], r["insured"], r["orders"]) for r in c.by_city] == [
        ("450100", "南宁市", 2, 6),
        ("450300", "桂林市", 1, 1),
    ]


def test_one_day(people):
    c = _counts(month=MONTH, day=dt.date(2025, 12, 6))
    assert (c.insured, c.orders) == (2, 3)
    assert [(r["platform_code"], r["insured"]) for r in c.by_platform] == [("didi", 1), ("meituan", 2)]
    with session_scope() as s:
        days = service.daily_insured(s, None, month=MONTH)
    assert days == [{"day": "2025-12-05", "insured": 3, "orders": 4}, {"day": "2025-12-06", "insured": 2, "orders": 3}]


def test_api_is_scoped(client, people):
    nn = client.get("/api/v1/orders/insured", params={"month": MONTH}, headers=bearer("nn_si")).json()
    assert (nn["insured"], [r["city_code"] for r in nn["by_city"]]) == (2, ["450100"])
    gl = client.get("/api/v1/orders/insured", params={"month": MONTH}, headers=bearer("gl_si")).json()
    assert (gl["insured"], gl["by_platform"][0]["platform_code"]) == (1, "meituan")
    didi = client.get("/api/v1/orders/insured", params={"month": MONTH}, headers=bearer("didi_admin")).json()
    assert (didi["insured"], didi["orders"], [r["platform_code"] for r in didi["by_platform"]]) == (1, 2, ["didi"])
    r = client.get("/api/v1/orders/insured", params={"month": MONTH, "day": "2026-01-01"}, headers=bearer("gx_si"))
    assert r.status_code == 400
    assert client.get("/api/v1/orders/insured", params={"month": "2025-13"}, headers=bearer("gx_si")).status_code == 400
    assert client.get("/api/v1/orders/insured", params={"month": MONTH}, headers=bearer("insurer_a")).status_code == 403


def test_engine_sql_on_duckdb_matches_the_worker_month_counts(people):
    from oip.orders import engines, ledger

    with session_scope() as s:
        # Other tests publish files of their own platforms in this month: compare ours.
        eng = engines.DuckDBEngine(s, ledger.Slice(months=(MONTH,), platforms=("didi", "meituan")))
        try:
            got = eng.query(engines.insured_counts_sql(MONTH))
        finally:
            eng.close()
        from sqlalchemy import func, select

        from oip.orders.models import WorkerMonth
        from oip.platforms.models import Platform

        first, _ = month_span(MONTH)
        city = func.substr(WorkerMonth.county_code, 1, 4) + "00"
        expected = s.execute(
            select(Platform.code, city, func.count(func.distinct(WorkerMonth.person_id)))
            .join(Platform, Platform.id == WorkerMonth.platform_id)
            .where(WorkerMonth.month == first, WorkerMonth.orders > 0, Platform.code.in_(["didi", "meituan"]))
            .group_by(Platform.code, city)
            .order_by(Platform.code, city)
        ).all()
    assert (
        [tuple(r) for r in got]
        == [tuple(r) for r in expected]
        == [("didi", "450100", 1), ("meituan", "450100", 2), ("meituan", "450300", 1)]
    )
