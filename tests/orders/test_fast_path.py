"""The import's two paths: one pass for a clean file (every row valid, every order_id once), the
general path with row numbers for anything else. Whatever the path, the ledger holds the same
orders; a crash at any step of the fast path leaves nothing visible."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from oip.core.db import session_scope
from oip.orders import ingest, ledger
from oip.orders.ingest import fast as fast_path
from oip.orders.models import OrderBatch, OrderFile
from tests.orders.conftest import csv_bytes, import_rows, order, register_workers, rejects, stored, worker_months

GENERAL_ONLY = {"verdict", "rejects"}  # steps only the general path has


def _varied(account: str, fmt: str, day: str = "2025-10-12") -> list[dict]:
    """Clean rows with what a real export holds: several offsets, empty optional values, a
    cancelled order, a quoted comma, (CSV) an integer written as a decimal."""
    return [
        order(account, day=day, start="08:00"),
        order(
            account,
            day=day,
            start="09:00",
            accepted_at=f"{day}T01:00:00+00:00",
            picked_up_at=f"{day}T01:04:00+00:00",
            finished_at=f"{day}T00:30:00-01:00",
        ),
        order(
            account,
            day=day,
            start="10:00",
            accepted_at=f"{day}T07:30:00+0530",
            picked_up_at="",
            finished_at=f"{day}T10:40:00+08:00",
            status="cancelled",
            start_lng="",
            start_lat="",
            end_lng="",
            end_lat="",
            distance_m="",
            income_fen="",
        ),
        order(account, day=day, start="11:00", order_id="X-1,2", distance_m="1200.0" if fmt == "csv" else "1200"),
    ]


def _ledger_rows(order_ids: list[str]) -> list[dict]:
    out = []
    for oid in order_ids:
        (row,) = stored(oid)
        out.append({k: v for k, v in row.items() if k not in ("order_id", "batch_id")})
    return out


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_a_clean_file_takes_one_pass_and_stores_what_the_general_path_stores(tmp_path, fmt):
    ((a, _),) = register_workers("meituan", 1)
    clean = _varied(a, fmt)
    fast = import_rows(tmp_path, clean, fmt=fmt)
    assert (fast.received, fast.accepted, fast.rejected, fast.duplicates) == (4, 4, 0, 0)
    assert not GENERAL_ONLY & set(fast.steps)

    # The same orders under new ids, with one bad row: the general path.
    again = [dict(r, order_id=r["order_id"] + "G") for r in clean] + [order(a, status="lost")]
    general = import_rows(tmp_path, again, fmt=fmt)
    assert (general.received, general.accepted, general.rejected) == (5, 4, 1)
    assert GENERAL_ONLY <= set(general.steps)
    assert [r["row"] for r in rejects(general)] == [6 if fmt == "csv" else 5]

    assert _ledger_rows([r["order_id"] for r in clean]) == _ledger_rows([r["order_id"] for r in again[:4]])
    first = stored(clean[1]["order_id"])[0]
    assert first["accepted_at"] == dt.datetime(2025, 10, 12, 1, 0, tzinfo=dt.UTC)
    assert first["finished_at"] == dt.datetime(2025, 10, 12, 1, 30, tzinfo=dt.UTC)
    third = stored(clean[2]["order_id"])[0]
    assert third["accepted_at"] == dt.datetime(2025, 10, 12, 2, 0, tzinfo=dt.UTC)
    assert third["picked_up_at"] is None and third["income_fen"] is None and third["start_lng"] is None
    assert stored("X-1,2")[0]["distance_m"] == 1200
    (m,) = worker_months(a)
    assert (m["orders"], m["completed"], m["days"]) == (8, 6, {dt.date(2025, 10, 12): 8})


@pytest.mark.parametrize(
    "change, reason",
    [
        ({"accepted_at": "2025-10-12T08:00:00"}, "accepted_at：缺少时区偏移"),
        ({"income_fen": "6.5"}, "income_fen：应为整数"),
        ({"worker_account_id": None}, "worker_account_id：人员名册中该平台没有此账号"),
        ({"status": "Completed "}, None),  # the general path normalises it: accepted
        ({"order_id": " PAD1 "}, None),
        ({"accepted_at": "2025-10-12T00:00:00Z", "picked_up_at": "", "finished_at": "2025-10-12T00:30:00Z"}, None),
    ],
)
def test_what_the_one_pass_does_not_take_goes_the_general_path(tmp_path, change, reason):
    """A value the single pass does not take (a rule broken, padding, another timestamp shape)
    sends the whole batch through the general path, which accepts or rejects it as always."""
    ((a, _),) = register_workers("meituan", 1)
    if change.get("worker_account_id", "") is None:
        change = dict(change, worker_account_id=a + "-unknown")
    rows = [order(a, day="2025-10-13", start="08:00"), order(a, day="2025-10-13", start="09:00", **change)]
    res = import_rows(tmp_path, rows)
    assert GENERAL_ONLY <= set(res.steps)
    if reason is None:
        assert (res.accepted, res.rejected) == (2, 0)
        if "order_id" in change:
            assert stored("PAD1")[0]["order_id"] == "PAD1"
        if "status" in change:
            assert stored(rows[1]["order_id"])[0]["status"] == "completed"
    else:
        assert (res.accepted, res.rejected) == (1, 1)
        assert reason in rejects(res)[0]["reason"]


KEPT = "valid rows the one pass wrote are kept"


@pytest.mark.parametrize("case", ["rejects", "normalised", "repeat"])
def test_a_parquet_file_with_invalid_rows_keeps_the_one_pass_rows_when_they_are_the_valid_ones(tmp_path, caplog, case):
    """The one pass over a Parquet file leaves its invalid rows out; the general path then says why
    and keeps what the pass wrote — unless it accepts a row the pass did not take (it normalises
    text) or finds an order_id twice: then it writes the valid rows itself. The ledger is the same."""
    ((a, _),) = register_workers("meituan", 1)
    rows = [order(a, day="2025-10-19", start=f"{h:02d}:00") for h in (8, 9, 10)]
    rows.insert(1, order(a, day="2025-10-19", start="11:00", worker_account_id=a + "-unknown"))
    if case == "normalised":
        rows.append(order(a, day="2025-10-19", start="12:00", status="Completed "))
    if case == "repeat":
        rows.append(dict(rows[0]))
    caplog.set_level("INFO", logger="oip.orders.ingest")
    res = import_rows(tmp_path, rows, fmt="parquet")
    assert GENERAL_ONLY <= set(res.steps)
    assert (res.received, res.accepted, res.rejected, res.duplicates) == (
        len(rows),
        4 if case == "normalised" else 3,
        1,
        1 if case == "repeat" else 0,
    )
    assert [(r["row"], r["worker_account_id"]) for r in rejects(res)] == [(2, a + "-unknown")]
    assert (KEPT in caplog.text) == (case == "rejects")
    valid = [r for r in rows if r["worker_account_id"] == a]
    assert all(len(stored(r["order_id"])) == 1 for r in valid) and stored(rows[1]["order_id"]) == []
    if case == "normalised":
        assert stored(rows[-1]["order_id"])[0]["status"] == "completed"
    (m,) = worker_months(a)
    assert m["orders"] == res.accepted


@pytest.mark.parametrize("sort_max", [fast_path.SORT_REPEATS_MAX_ROWS, 0], ids=["sorted-hashes", "hash-aggregate"])
def test_an_order_twice_in_a_clean_file_goes_the_general_path(tmp_path, monkeypatch, sort_max):
    monkeypatch.setattr(fast_path, "SORT_REPEATS_MAX_ROWS", sort_max)  # 0: the way of files too big to sort in memory
    ((a, _),) = register_workers("meituan", 1)
    o = order(a, day="2025-10-14")
    clean = import_rows(tmp_path, [order(a, day="2025-10-13", start=f"{h:02d}:00") for h in (8, 9, 10)])
    assert not GENERAL_ONLY & set(clean.steps)  # no repeat: the one pass holds
    res = import_rows(tmp_path, [o, dict(o)])
    assert (res.accepted, res.duplicates, res.rejected) == (1, 1, 0)
    assert GENERAL_ONLY <= set(res.steps)
    assert worker_months(a)[0]["orders"] == 3 + 1


def test_a_clean_batch_that_repeats_stored_orders_keeps_the_summaries_right(tmp_path):
    """The ledger already holds some of the orders: the summaries are added from the accepted rows
    only."""
    ((a, _),) = register_workers("meituan", 1)
    first = [order(a, day="2025-10-15", start=f"{h:02d}:00") for h in (8, 9, 10)]
    import_rows(tmp_path, first)
    more = first[:2] + [dict(first[2], income_fen="999")] + [order(a, day="2025-10-16", start="08:00")]
    res = import_rows(tmp_path, more)
    assert not GENERAL_ONLY & set(res.steps)
    assert (res.accepted, res.duplicates, res.corrections) == (2, 2, 1)
    (m,) = worker_months(a)
    assert m["orders"] == 4 and m["days"] == {dt.date(2025, 10, 15): 3, dt.date(2025, 10, 16): 1}


def test_a_clean_batch_within_the_span_of_stored_orders_gets_its_summaries_from_the_final_file(tmp_path):
    """New orders taken between stored ones: the one pass holds, and the summaries (left until the
    batch has been compared with the ledger) count every order once."""
    ((a, _),) = register_workers("meituan", 1)
    import_rows(tmp_path, [order(a, day="2025-10-17", start=f"{h:02d}:00") for h in (8, 12)])
    res = import_rows(tmp_path, [order(a, day="2025-10-17", start="10:00"), order(a, day="2025-10-18", start="09:00")])
    assert not GENERAL_ONLY & set(res.steps)
    assert (res.accepted, res.duplicates, res.corrections) == (2, 0, 0)
    (m,) = worker_months(a)
    assert m["orders"] == 4 and m["days"] == {dt.date(2025, 10, 17): 3, dt.date(2025, 10, 18): 1}


def test_a_clean_batch_across_two_months_is_written_per_month(tmp_path):
    ((a, _),) = register_workers("meituan", 1)
    rows = [order(a, day="2025-10-31", start="23:00"), order(a, day="2025-11-01", start="08:00")]
    res = import_rows(tmp_path, rows, fmt="parquet")
    assert not GENERAL_ONLY & set(res.steps)
    assert res.months == ["2025-10", "2025-11"]
    with session_scope() as s:
        files = s.execute(
            select(OrderFile.month, OrderFile.rows).where(OrderFile.batch_id == res.batch_id).order_by(OrderFile.month)
        ).all()
    assert [tuple(f) for f in files] == [("2025-10", 1), ("2025-11", 1)]
    assert sorted((m["month"], m["orders"]) for m in worker_months(a)) == [
        (dt.date(2025, 10, 1), 1),
        (dt.date(2025, 11, 1), 1),
    ]


@pytest.mark.parametrize(
    "step", ["read", "duplicates", "stored", "written", "summaries", "staged", "published", "before_commit"]
)
def test_a_crash_at_any_step_of_the_fast_path_leaves_nothing_visible(tmp_path, step):
    ((a, _),) = register_workers("meituan", 1)
    rows = [order(a, day="2025-10-17", start="09:00"), order(a, day="2025-10-17", start="10:00")]
    path = tmp_path / "o.csv"
    path.write_bytes(csv_bytes(rows))
    with session_scope() as s:
        files_before = s.scalar(select(func.count(OrderFile.id)))
    with pytest.raises(RuntimeError, match="simulated failure"):
        ingest.import_file(path, "meituan", _fail_after=step)
    assert worker_months(a) == [] and stored(rows[0]["order_id"]) == []
    with session_scope() as s:
        assert s.scalar(select(func.count(OrderFile.id))) == files_before
        b = s.scalars(select(OrderBatch).order_by(OrderBatch.id.desc()).limit(1)).one()
        assert b.status == "failed"
    assert not list((ledger.root() / "staging").glob(f"b{b.id:09d}-*"))
    res = ingest.import_file(path, "meituan")
    assert res.accepted == 2 and not GENERAL_ONLY & set(res.steps)
    assert worker_months(a)[0]["orders"] == 2


@pytest.mark.parametrize("step", ["read", "duplicates", "verdict", "rejects", "stored", "summaries", "published"])
def test_a_crash_while_a_parquet_file_with_invalid_rows_is_imported_leaves_nothing_visible(tmp_path, step):
    """The summaries of the rows the one pass kept are being added while the general path runs: a
    crash at any step takes them back with the rest."""
    from tests.orders.conftest import parquet_file

    ((a, _),) = register_workers("meituan", 1)
    rows = [order(a, day="2025-10-20", start=f"{h:02d}:00") for h in (8, 9)] + [
        order(a, day="2025-10-20", status="lost")
    ]
    path = parquet_file(tmp_path / "o.parquet", rows)
    with pytest.raises(RuntimeError, match="simulated failure"):
        ingest.import_file(path, "meituan", _fail_after=step)
    assert worker_months(a) == [] and stored(rows[0]["order_id"]) == []
    res = ingest.import_file(path, "meituan")
    assert (res.accepted, res.rejected) == (2, 1)
    assert worker_months(a)[0]["orders"] == 2
