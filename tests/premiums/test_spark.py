"""National scale: the declaration and insured-count jobs give the same answers on Apache Spark
(local mode) as on DuckDB, over the same ledger files and superseded versions."""

from __future__ import annotations

import datetime as dt
import shutil

import pytest

from oip.core.db import session_scope
from tests.premiums.conftest import Order, make_platform, officer, orders, publish

pytestmark = [pytest.mark.spark, pytest.mark.slow]

MONTHS = ("2026-02", "2026-03")


@pytest.fixture(scope="module")
def spark(database):
    pyspark = pytest.importorskip("pyspark", reason="pyspark is not installed: pip install -e '.[spark]'")
    if shutil.which("java") is None:
        pytest.skip("no Java runtime (java) on PATH: Spark needs one (Debian: default-jre-headless)")
    from pyspark.sql import SparkSession

    session = (
        SparkSession.builder.master("local[2]")
        .appName("oip-test")
        .config("spark.sql.session.timeZone", "Asia/Shanghai")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "4")
        .getOrCreate()
    )
    assert pyspark.__version__
    yield session
    session.stop()


@pytest.fixture(scope="module")
def ledger_data(database):
    """Two platforms, two months, ~3,000 orders, one order corrected (completed → cancelled)."""
    with session_scope() as s:
        a = make_platform(s, industry="instant_delivery", base="0.07")
        b = make_platform(s, industry="ride_hailing", base="0.01", covered_from="2026-02-10")
        publish(s, a, MONTHS[0], orders("a1", 1200, persons=97) + orders("a1c", 150, status="cancelled", persons=97))
        publish(s, a, MONTHS[1], orders("a2", 900, persons=55, counties=("450205", "450103")))
        publish(
            s,
            b,
            MONTHS[0],
            [
                Order(f"b1-{i}", "completed", dt.date(2026, 2, 1 + i % 28), 5000 + i % 31, ("450305", "450102")[i % 2])
                for i in range(700)
            ],
        )
        publish(s, b, MONTHS[1], orders("b2", 80, persons=9))
        publish(
            s, a, MONTHS[0], [Order("a1-000007", "cancelled", person_id=1007, version=2)], supersede=[("a1-000007", 1)]
        )
        return a.code, b.code


def _both(spark, part, sql: str):
    from oip.orders import engines

    with session_scope() as s:
        duck = engines.DuckDBEngine(s, part)
        try:
            d = sorted(tuple(r) for r in duck.query(sql))
        finally:
            duck.close()
        k = sorted(tuple(r) for r in engines.SparkEngine(s, part, spark=spark).query(sql))
    return [tuple(int(x) if isinstance(x, int) else x for x in r) for r in d], [
        tuple(int(x) if isinstance(x, int) else x for x in r) for r in k
    ]


def test_jobs_agree_on_duckdb_and_spark(spark, ledger_data):
    from oip.orders import engines, ledger

    codes = ledger_data
    part = ledger.Slice(months=MONTHS, platforms=codes)
    for month in MONTHS:
        for sql in (
            engines.billable_orders_sql(month, ["completed"]),
            engines.billable_orders_sql(month, ["completed", "cancelled"]),
            engines.insured_counts_sql(month),
            engines.reported_orders_sql(month),
            engines.billable_before_sql(month, ["completed"], codes[1], dt.date(2026, 2, 10)),
        ):
            duck, sp = _both(spark, part, sql)
            assert duck == sp, sql
            if "insured" not in sql and "day <" not in sql:
                assert duck, sql
    duck, _ = _both(spark, part, engines.billable_orders_sql(MONTHS[0], ["completed"]))
    assert dict(duck)[codes[0]] == 1199  # the corrected order counts once, as cancelled


def test_an_empty_slice_runs_on_spark(spark, ledger_data):
    from oip.orders import engines, ledger

    duck, sp = _both(
        spark,
        ledger.Slice(months=("2025-07",), platforms=("nobody",)),
        engines.billable_orders_sql("2025-07", ["completed"]),
    )
    assert duck == sp == []


def test_declaration_on_spark_equals_duckdb(spark, ledger_data):
    from oip.premiums import service

    codes = list(ledger_data)
    with session_scope() as s:
        si = officer(s)
        duck = service.declare(s, si, MONTHS[0], engine="duckdb", platforms_=codes).rows()
        s.rollback()
        on_spark = service.declare(s, si, MONTHS[0], engine="spark", platforms_=codes)
        assert on_spark.rows() == duck and {d.engine for d in on_spark.declarations} == {"spark"}
        s.rollback()
    by_code = {r["platform_code"]: r for r in duck}
    assert by_code[codes[0]]["orders"] == 1199 and by_code[codes[0]]["amount_fen"] == 8393
    # covered from 10 February: the 9 × 25 orders of 1–9 February are not billed
    assert (by_code[codes[1]]["orders"], by_code[codes[1]]["amount_fen"]) == (700 - 9 * 25, 475)
