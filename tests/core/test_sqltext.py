"""oip.core.sqltext: values written into SQL text (pure), and DuckDB reads back exactly what was meant."""

from __future__ import annotations

import datetime as dt
import decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import duckdb
import pytest

from oip.core import sqltext


@pytest.mark.parametrize(
    "text, sql",
    [
        ("meituan", "'meituan'"),
        ("O'Brien", "'O''Brien'"),
        ("''", "''''''"),
        ("C:\\orders\\8月.csv", "'C:\\orders\\8月.csv'"),  # a backslash is an ordinary character
        ("", "''"),
    ],
)
def test_text_is_quoted_and_read_back_unchanged(text, sql):
    assert sqltext.literal(text) == sql
    assert duckdb.connect().execute(f"SELECT {sqltext.literal(text)}").fetchone()[0] == text


def test_nul_is_refused():
    with pytest.raises(ValueError, match="NUL"):
        sqltext.literal("a\x00b")
    with pytest.raises(ValueError, match="NUL"):
        sqltext.ident("a\x00b")


def test_portable_sql_refuses_a_backslash():
    """Spark reads a backslash in a string as an escape: SQL that both engines run cannot hold one."""
    assert sqltext.literal("2025-09", portable=True) == "'2025-09'"
    with pytest.raises(ValueError, match="backslash"):
        sqltext.literal("a\\b", portable=True)
    with pytest.raises(ValueError, match="backslash"):
        sqltext.in_list(["completed", "x\\"], portable=True)


def test_none_numbers_and_booleans():
    assert sqltext.literal(None) == "NULL"
    assert sqltext.literal(0) == "0" and sqltext.literal(-42) == "-42"
    assert sqltext.literal(True) == "TRUE" and sqltext.literal(False) == "FALSE"
    assert sqltext.literal(1.5) == "1.5"
    assert sqltext.literal(decimal.Decimal("0.0025")) == "0.0025"
    for bad in (float("nan"), float("inf"), decimal.Decimal("NaN")):
        with pytest.raises(ValueError):
            sqltext.literal(bad)
    with pytest.raises(TypeError):
        sqltext.literal(b"bytes")


def test_dates_and_times():
    assert sqltext.literal(dt.date(2025, 10, 1)) == "DATE '2025-10-01'"
    t = dt.datetime(2025, 10, 1, 8, 30, tzinfo=ZoneInfo("Asia/Shanghai"))
    assert sqltext.literal(t) == "TIMESTAMPTZ '2025-10-01T00:30:00+00:00'"
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    assert con.execute(f"SELECT {sqltext.literal(t)}").fetchone()[0] == t
    with pytest.raises(ValueError, match="time zone"):
        sqltext.literal(dt.datetime(2025, 10, 1, 8, 30))


def test_lists_paths_and_identifiers(tmp_path):
    assert sqltext.in_list(["completed", "cancelled"]) == "('completed', 'cancelled')"
    assert sqltext.in_list([1, None]) == "(1, NULL)"
    p = tmp_path / "it's.parquet"
    assert sqltext.array([p]) == "['" + str(p).replace("'", "''") + "']"
    assert sqltext.literal(Path("/a/b")) == "'/a/b'"
    assert sqltext.ident('we"ird') == '"we""ird"'
    name = sqltext.ident('we"ird')
    assert duckdb.sql(f"SELECT 1 AS {name}").columns == ['we"ird']
