"""The per-worker-month summaries in PostgreSQL's binary COPY format: what DuckDB hands over (the
worked days of a month) arrives in PostgreSQL as the 31-day arrays, whatever the lengths of the
texts and wherever the chunks of rows end."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
import pytest
from sqlalchemy import text

from oip.core.db import session_scope
from oip.orders import summaries

UTC = dt.UTC


def _rows() -> pa.Table:
    accounts = ["A", "骑手-0007", "X" * 64, "BG0000001", "b"]
    return pa.table(
        {
            "platform_id": pa.array([3, 3, 3, 7, 7], pa.int64()),
            "account_id": pa.array(accounts, pa.string()),
            "month": pa.array(
                [
                    dt.date(2025, 10, 1),
                    dt.date(2025, 10, 1),
                    dt.date(2026, 2, 1),
                    dt.date(2025, 12, 1),
                    dt.date(2025, 10, 1),
                ],
                pa.date32(),
            ),
            "county_code": pa.array(["450103", "4501", "450921", "450103", "45"], pa.string()),
            "person_id": pa.array([1, 2, 3, 4, 5], pa.int64()),
            "orders": pa.array([3, 40, 1, 31, 2], pa.int32()),
            "completed": pa.array([2, 40, 0, 31, 2], pa.int32()),
            "doms": pa.array([[1, 31], [5], [28], list(range(1, 32)), [2, 1]], pa.list_(pa.int8())),
            "ns": pa.array([[1, 2], [40], [1], [1] * 31, [1, 1]], pa.list_(pa.int32())),
            "fs": pa.array([[0, 100], [86_399], [5], list(range(31)), [7, 8]], pa.list_(pa.int32())),
            "ls": pa.array([[60, 172_800], [86_400], [65], list(range(100, 131)), [70, 80]], pa.list_(pa.int32())),
            "first_accepted_at": pa.array(
                [dt.datetime(2025, 9, 30, 16, 0, tzinfo=UTC)] * 5, pa.timestamp("us", tz="UTC")
            ),
            "last_finished_at": pa.array(
                [dt.datetime(2025, 10, 31, 15, 59, 59, 123456, tzinfo=UTC)] * 5, pa.timestamp("us", tz="UTC")
            ),
        }
    )


def _expected(row: dict) -> dict:
    dense = {k: [None] * 31 for k in ("ns", "fs", "ls")}
    for i, d in enumerate(row["doms"]):
        for k in dense:
            dense[k][d - 1] = row[k][i]
    return {
        "platform_id": row["platform_id"],
        "account_id": row["account_id"],
        "month": row["month"],
        "county_code": row["county_code"],
        "person_id": row["person_id"],
        "orders": row["orders"],
        "completed": row["completed"],
        "day_orders": [n or 0 for n in dense["ns"]],
        "day_first": dense["fs"],
        "day_last": dense["ls"],
        "first_accepted_at": row["first_accepted_at"],
        "last_finished_at": row["last_finished_at"],
    }


@pytest.mark.parametrize("chunk", [1, 2, 2048])
def test_summary_rows_arrive_in_postgresql_as_sent(database, monkeypatch, chunk):
    monkeypatch.setattr(summaries, "_ROWS_PER_CHUNK", chunk)
    rows = _rows()
    with session_scope() as s:
        s.execute(text(summaries._TEMP.format(name="wm_test")))
        assert summaries.copy_in(s, "wm_test", rows.to_batches(max_chunksize=3)) == rows.num_rows
        got = [
            dict(r._mapping) for r in s.execute(text(f"SELECT {summaries.SQL_COLUMNS} FROM wm_test ORDER BY person_id"))
        ]
        s.rollback()
    assert got == [_expected(r) for r in rows.to_pylist()]


def test_a_null_where_none_is_allowed_is_refused(database):
    rows = _rows().set_column(4, "person_id", pa.array([1, None, 3, 4, 5], pa.int64()))
    with pytest.raises(ValueError, match="NULL"):
        b"".join(summaries.copy_stream(rows.to_batches()))


def test_per_day_lists_are_read_by_their_own_offsets(database):
    """Arrow lists may start anywhere in their values (a slice, another producer): each per-day
    list is read through its own offsets."""
    rows = _rows()
    ns = rows.column("ns").combine_chunks()
    lengths = [len(x) for x in ns.to_pylist()]
    offsets = [3]
    for n in lengths:
        offsets.append(offsets[-1] + n)
    values = [-9, -9, -9] + [v for x in ns.to_pylist() for v in x]
    shifted = pa.ListArray.from_arrays(pa.array(offsets, pa.int32()), pa.array(values, pa.int32()))
    moved = rows.set_column(rows.column_names.index("ns"), "ns", shifted)
    assert b"".join(summaries.copy_stream(moved.to_batches())) == b"".join(summaries.copy_stream(rows.to_batches()))
    uneven = rows.set_column(
        rows.column_names.index("fs"), "fs", pa.array([[0], [1], [2], [3], [4]], pa.list_(pa.int32()))
    )
    with pytest.raises(ValueError, match="different lengths"):
        b"".join(summaries.copy_stream(uneven.to_batches()))
