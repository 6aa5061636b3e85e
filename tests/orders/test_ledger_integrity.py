"""Nothing lost, nothing silently overwritten: duplicates, re-imports, corrections as new versions,
and crashes at any step leave nothing of a batch visible."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import time

import pytest
from sqlalchemy import func, select, text

from oip.core.db import get_engine, session_scope
from oip.orders import ingest, ledger
from oip.orders.models import OrderBatch, OrderFile, OrderSupersession, WorkerMonth
from tests.orders.conftest import csv_bytes, import_rows, order, register_workers, rejects, stored, worker_months


def _ledger_state(platform="meituan"):
    with session_scope() as s:
        files = s.scalar(
            select(func.count(OrderFile.id))
            .join(OrderBatch, OrderBatch.id == OrderFile.batch_id)
            .where(OrderBatch.status == "published", OrderFile.platform_code == platform)
        )
        months = s.scalar(select(func.count()).select_from(WorkerMonth))
        sup = s.scalar(select(func.count()).select_from(OrderSupersession))
    on_disk = sorted(p.name for p in (ledger.root() / "orders").rglob("*.parquet"))
    return files, months, sup, on_disk


def test_reimporting_the_same_file_changes_nothing(tmp_path):
    ((a, _),) = register_workers("meituan", 1)
    rows = [order(a, day="2025-10-03", start=f"{h:02d}:00") for h in range(8, 14)]
    first = import_rows(tmp_path, rows)
    assert (first.accepted, first.duplicates) == (6, 0)
    months_before = worker_months(a)
    state = _ledger_state()
    again = import_rows(tmp_path, rows)
    assert (again.received, again.accepted, again.rejected, again.duplicates) == (6, 0, 0, 6)
    assert again.months == []
    assert _ledger_state() == state
    assert worker_months(a) == months_before
    # The same orders in another format are the same orders.
    third = import_rows(tmp_path, rows, fmt="parquet")
    assert (third.accepted, third.duplicates) == (0, 6)


def test_stored_duplicates_and_new_orders_in_one_file(tmp_path):
    ((a, _),) = register_workers("meituan", 1)
    old = [order(a, day="2025-10-04", start="09:00"), order(a, day="2025-10-04", start="10:00")]
    import_rows(tmp_path, old)
    res = import_rows(tmp_path, old + [order(a, day="2025-10-04", start="11:00"), old[0]])
    assert (res.received, res.accepted, res.rejected, res.duplicates) == (4, 1, 0, 3)
    assert [(m["orders"], m["days"]) for m in worker_months(a)] == [(3, {dt.date(2025, 10, 4): 3})]


def test_a_correction_is_a_new_version_and_the_old_one_leaves_the_views(tmp_path):
    ((a, _),) = register_workers("meituan", 1)
    o1 = order(a, day="2025-10-05", start="09:00")
    o2 = order(a, day="2025-10-05", start="10:00")
    import_rows(tmp_path, [o1, o2])
    assert worker_months(a)[0]["completed"] == 2
    # The platform corrects o1: it was cancelled, and moves to another county.
    fixed = dict(o1, status="cancelled", picked_up_at="", county_code="450105")
    res = import_rows(tmp_path, [fixed])
    assert (res.received, res.accepted, res.duplicates, res.corrections) == (1, 1, 0, 1)
    current = stored(o1["order_id"])
    assert len(current) == 1 and current[0]["version"] == 2 and current[0]["status"] == "cancelled"
    with session_scope() as s:
        sup = s.scalars(select(OrderSupersession).where(OrderSupersession.order_id == o1["order_id"])).all()
        assert [(x.version, x.month, x.by_batch_id) for x in sup] == [(1, "2025-10", res.batch_id)]
        # The old version is still in its file: nothing was overwritten.
        con = ledger.connect()
        paths = ledger.files(s, ledger.Slice(months=("2025-10",), platforms=("meituan",)))
        versions = con.execute(
            f"SELECT version, status FROM read_parquet({[str(p) for p in paths]}) WHERE order_id = ? ORDER BY version",
            [o1["order_id"]],
        ).fetchall()
        con.close()
    assert versions == [(1, "completed"), (2, "cancelled")]
    months = worker_months(a)
    assert [(m["county_code"], m["orders"], m["completed"]) for m in months] == [("450103", 1, 1), ("450105", 1, 0)]
    assert [m["days"] for m in months] == [{dt.date(2025, 10, 5): 1}] * 2
    # The correction imported again is a duplicate of version 2; the original again is a correction back.
    assert import_rows(tmp_path, [fixed]).duplicates == 1
    back = import_rows(tmp_path, [o1])
    assert back.corrections == 1 and stored(o1["order_id"])[0]["version"] == 3
    assert [(m["county_code"], m["orders"], m["completed"], m["days"]) for m in worker_months(a)] == [
        ("450103", 2, 2, {dt.date(2025, 10, 5): 2})
    ]


def test_a_correction_that_moves_the_order_to_the_next_month(tmp_path):
    ((a, _),) = register_workers("meituan", 1)
    o = order(a, day="2025-10-31", start="23:30")
    import_rows(tmp_path, [o])
    moved = dict(o, accepted_at="2025-11-01T00:10:00+08:00", picked_up_at="", finished_at="2025-11-01T00:40:00+08:00")
    res = import_rows(tmp_path, [moved])
    assert res.corrections == 1 and res.months == ["2025-11"]
    assert [list(m["days"]) for m in worker_months(a)] == [[dt.date(2025, 11, 1)]]
    assert stored(o["order_id"])[0]["month"] == "2025-11"


def _billable(order_id: str, platform: str = "meituan") -> list[tuple[str, int]]:
    """(month, orders) of one order in the ledger's view, as the declaration and the insured counts
    read it (every month)."""
    from oip.orders.engines import DuckDBEngine

    with session_scope() as s:
        eng = DuckDBEngine(s, ledger.Slice(platforms=(platform,)))
        try:
            return eng.query(
                f"SELECT month, count(*) FROM orders WHERE order_id = '{order_id}' "
                "AND status = 'completed' GROUP BY month ORDER BY month"
            )
        finally:
            eng.close()


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_an_order_sent_again_two_months_earlier_is_billed_once(tmp_path, fmt):
    """order_id is unique per platform for ever: the stored version is found whatever its month
    (through the ledger's order-id index), and the order resent with an accepted_at two months
    earlier is a correction that moves it — never a second order."""
    ((a, _),) = register_workers("meituan", 1)
    o = order(a, day="2025-11-12", start="09:00")
    other = order(a, day="2025-09-20", start="09:00")  # the earlier month is not empty
    import_rows(tmp_path, [other], fmt=fmt)
    first = import_rows(tmp_path, [o], fmt=fmt)
    assert (first.accepted, first.corrections) == (1, 0)
    moved = dict(o, accepted_at="2025-09-12T09:00:00+08:00", picked_up_at="", finished_at="2025-09-12T09:30:00+08:00")
    res = import_rows(tmp_path, [moved, order(a, day="2025-09-13", start="10:00")], fmt=fmt)
    assert (res.received, res.accepted, res.duplicates, res.corrections) == (2, 2, 0, 1)
    assert res.months == ["2025-09"]
    assert _billable(o["order_id"]) == [("2025-09", 1)]
    current = stored(o["order_id"])
    assert [(c["version"], c["month"]) for c in current] == [(2, "2025-09")]
    with session_scope() as s:
        sup = s.scalars(select(OrderSupersession).where(OrderSupersession.order_id == o["order_id"])).all()
        assert [(x.version, x.month) for x in sup] == [(1, "2025-11")]
    # The insured counts' base: November holds no order of the worker any more, September three.
    assert [(m["month"], m["orders"]) for m in worker_months(a)] == [(dt.date(2025, 9, 1), 3)]
    # Sent again as first reported: a correction back to November, still one order.
    back = import_rows(tmp_path, [o], fmt=fmt)
    assert (back.accepted, back.corrections, back.duplicates) == (1, 1, 0)
    assert _billable(o["order_id"]) == [("2025-11", 1)]
    assert import_rows(tmp_path, [o], fmt=fmt).duplicates == 1


def test_the_order_id_index_is_built_for_files_that_have_none(tmp_path):
    """Files published without an index (before it existed, or by other means) get one when an
    import needs it; a sweep removes the indexes of files no batch lists."""
    ((a, _),) = register_workers("meituan", 1)
    o = order(a, day="2025-12-03", start="09:00")
    res = import_rows(tmp_path, [o])
    with session_scope() as s:
        rel = s.scalar(select(OrderFile.path).where(OrderFile.batch_id == res.batch_id))
    idx = ledger.index_path(rel)
    assert idx.exists()
    idx.unlink()
    moved = dict(o, accepted_at="2025-10-03T09:00:00+08:00", picked_up_at="", finished_at="2025-10-03T09:30:00+08:00")
    assert import_rows(tmp_path, [moved]).corrections == 1
    assert idx.exists()
    assert _billable(o["order_id"]) == [("2025-10", 1)]
    # An order of another month whose id lies outside the file's range of ids: its index is not read.
    idx.unlink()
    other = order(a, day="2025-08-20", start="09:00")
    assert import_rows(tmp_path, [other]).accepted == 1
    assert not idx.exists()
    # A file whose range is unknown (published before it was kept): its index is always read.
    with session_scope() as s:
        f = s.scalar(select(OrderFile).where(OrderFile.batch_id == res.batch_id))
        assert (f.min_order_id, f.max_order_id) == (o["order_id"], o["order_id"])
        f.min_order_id = f.max_order_id = None
    assert import_rows(tmp_path, [order(a, day="2025-08-21", start="09:00")]).accepted == 1
    assert idx.exists()
    stray = ledger.index_path("orders/2025-10/meituan/b999999999-000.parquet")
    stray.parent.mkdir(parents=True, exist_ok=True)
    stray.write_bytes(b"x")
    with session_scope() as s:
        ledger.sweep(s)
    assert not stray.exists() and idx.exists()


@pytest.mark.parametrize(
    "step",
    [
        "read",
        "duplicates",
        "verdict",
        "stored",
        "rejects",
        "summaries",
        "written",
        "staged",
        "published",
        "before_commit",
    ],
)
def test_a_crash_at_any_step_leaves_nothing_visible(tmp_path, step):
    ((a, _),) = register_workers("meituan", 1)
    rows = [
        order(a, day="2025-10-06", start="09:00"),
        order(a, day="2025-10-06", start="10:00"),
        order(a, status="done"),
    ]
    path = tmp_path / "o.csv"
    path.write_bytes(csv_bytes(rows))
    state = _ledger_state()
    with pytest.raises(RuntimeError, match="simulated failure"):
        ingest.import_file(path, "meituan", _fail_after=step)
    assert _ledger_state() == state
    assert worker_months(a) == [] and stored(rows[0]["order_id"]) == []
    with session_scope() as s:
        b = s.scalars(select(OrderBatch).order_by(OrderBatch.id.desc()).limit(1)).one()
        assert b.status == "failed" and "simulated failure" in b.error and b.rejects_path is None
    assert not list((ledger.root() / "staging").glob(f"b{b.id:09d}-*"))
    res = ingest.import_file(path, "meituan")
    assert (res.accepted, res.rejected) == (2, 1)
    assert worker_months(a)[0]["orders"] == 2


def _big_csv(path, account: str, rows: int) -> None:
    import duckdb

    con = duckdb.connect()
    con.execute(f"""COPY (SELECT 'K' || lpad(CAST(i AS VARCHAR), 9, '0') || '{account}' AS order_id, 'meituan' AS platform_code,
        '{account}' AS worker_account_id, 'instant_delivery' AS industry, '450103' AS county_code,
        strftime(TIMESTAMP '2025-11-01 00:00:00' + to_seconds(i % 2500000), '%Y-%m-%dT%H:%M:%S+08:00') AS accepted_at,
        NULL AS picked_up_at,
        strftime(TIMESTAMP '2025-11-01 00:20:00' + to_seconds(i % 2500000), '%Y-%m-%dT%H:%M:%S+08:00') AS finished_at,
        'completed' AS status, 108.3 AS start_lng, 22.8 AS start_lat, 108.31 AS end_lng, 22.81 AS end_lat,
        1000 + i % 5000 AS distance_m, 500 + i % 900 AS income_fen FROM range({rows}) t(i))
        TO '{path}' (FORMAT csv, HEADER true)""")
    con.close()


@pytest.mark.slow
def test_sigkill_mid_import_leaves_nothing_and_a_reimport_works(tmp_path):
    """A real process killed with SIGKILL at the last moment before it publishes: every file
    staged, waiting for the ledger lock. The batch stays invisible; the next import marks it
    failed, sweeps its files and publishes normally.

    The test holds the ledger lock itself while the import runs, so the import cannot publish
    however fast the machine is, and is killed once PostgreSQL shows it waiting for that lock."""
    ((a, _),) = register_workers("meituan", 1)
    rows = 300_000
    path = tmp_path / "big.csv"
    _big_csv(path, a, rows)
    state = _ledger_state()
    with get_engine().connect() as holder:
        holder.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": ledger._LOCK_KEY})
        proc = subprocess.Popen(
            [sys.executable, "-m", "oip.cli", "orders", "import", str(path), "--platform", "meituan"],
            env=dict(os.environ),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + 120
        waiting = False
        while time.monotonic() < deadline and not waiting and proc.poll() is None:
            with session_scope() as s:
                waiting = bool(
                    s.scalar(
                        text(
                            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
                            " AND objsubid = 1 AND classid = 0 AND objid = :k"
                        ),
                        {"k": ledger._LOCK_KEY},
                    )
                )
            time.sleep(0.05)
        assert waiting, proc.communicate() if proc.poll() is not None else "the import never reached publishing"
        with session_scope() as s:
            batch_id = s.scalar(
                select(OrderBatch.id).where(OrderBatch.status == "staging", OrderBatch.filename == "big.csv")
            )
        assert batch_id is not None
        assert list((ledger.root() / "staging").glob(f"b{batch_id:09d}-*"))  # everything staged
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        holder.rollback()
    assert proc.returncode == -signal.SIGKILL
    assert _ledger_state()[:3] == state[:3]
    assert worker_months(a) == []
    with session_scope() as s:
        assert s.get(OrderBatch, batch_id).status == "staging"  # as the dead process left it
    res = ingest.import_file(path, "meituan")
    assert res.accepted == rows
    with session_scope() as s:
        dead = s.get(OrderBatch, batch_id)
        assert dead.status == "failed" and "中断" in dead.error
    assert not list((ledger.root() / "staging").glob(f"b{batch_id:09d}-*"))
    assert sum(m["orders"] for m in worker_months(a)) == rows


def test_concurrent_imports_of_one_platform_do_not_duplicate(tmp_path):
    """Two imports of the same new orders at once: the platform lock serialises them, so the second
    sees the first's orders as stored duplicates."""
    import threading

    ((a, _),) = register_workers("meituan", 1)
    rows = [order(a, day="2025-10-07", start=f"{h:02d}:00") for h in range(8, 20)]
    p1, p2 = tmp_path / "1.csv", tmp_path / "2.csv"
    p1.write_bytes(csv_bytes(rows))
    p2.write_bytes(csv_bytes(rows))
    results = []
    threads = [threading.Thread(target=lambda p=p: results.append(ingest.import_file(p, "meituan"))) for p in (p1, p2)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    assert sorted((r.accepted, r.duplicates) for r in results) == [(0, 12), (12, 0)]
    assert worker_months(a)[0]["orders"] == 12


def test_rejects_are_listed_in_file_order(tmp_path):
    ((a, _),) = register_workers("meituan", 1)
    rows = [
        order(a, status="x" if i % 3 == 0 else "completed", start=f"{8 + i % 10:02d}:{i % 60:02d}") for i in range(30)
    ]
    res = import_rows(tmp_path, rows)
    assert [r["row"] for r in rejects(res)] == [i + 2 for i in range(30) if i % 3 == 0]


def test_a_whole_batch_of_corrections(tmp_path):
    """A platform re-sends a day with every income changed: every order becomes version 2, the
    summaries stay right, and the orders view holds each order once."""
    accounts = [a for a, _ in register_workers("meituan", 4)]
    rows = [order(accounts[i % 4], day="2025-10-08", start=f"{8 + i // 60:02d}:{i % 60:02d}") for i in range(240)]
    import_rows(tmp_path, rows)
    before = {a: worker_months(a) for a in accounts}
    res = import_rows(tmp_path, [dict(r, income_fen="700") for r in rows])
    assert (res.accepted, res.corrections, res.duplicates) == (240, 240, 0)
    assert {a: worker_months(a) for a in accounts} == before  # same orders, same times: same summaries
    with session_scope() as s:
        assert (
            s.scalar(
                select(func.count()).select_from(OrderSupersession).where(OrderSupersession.by_batch_id == res.batch_id)
            )
            == 240
        )
        con = ledger.connect()
        ledger.register_orders(con, s, ledger.Slice(months=("2025-10",), platforms=("meituan",)))
        ids = [r["order_id"] for r in rows]
        got = con.execute(
            "SELECT count(*), min(version), max(version), min(income_fen), max(income_fen) FROM orders "
            f"WHERE order_id IN ({', '.join(repr(i) for i in ids)})"
        ).fetchone()
        con.close()
    assert got == (240, 2, 2, 700, 700)
