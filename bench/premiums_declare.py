"""Benchmark: the monthly premium declaration over a ledger of N orders, on DuckDB and on Spark.

    .venv/bin/python bench/premiums_declare.py --rows 10000000
    .venv/bin/python bench/premiums_declare.py --rows 100000000 --spark-repeat 1

Runs in its own var directory (default ``var/bench-premiums``) with its own embedded PostgreSQL,
migrated on first use; never touches the development database. The ledger is generated directly as
Parquet files in the ledger layout (the 11 pilot platforms, one order month, about 5.5 % cancelled
orders, 0.01 % of orders corrected by a later batch so that superseded versions are in play) and
published through ``oip.orders.ledger.publish``; a ledger of the same size is reused on the next
run. Then it times the declaration job end to end — ``oip.premiums.service.declare``: parameters,
the ledger's file list and superseded versions from PostgreSQL, the count on the engine, the
amounts in Decimal, the declarations written — and the bare SQL of the job on each engine.

Prints one JSON line per measurement, then a summary table; the target is 100M orders in ≤ 5 s
on DuckDB. Check free disk first: 100M orders take about 4 GB.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common  # noqa: E402

ROOT = _common.ROOT

# Share of the month's orders by platform (instant delivery dominates), and the industry's base.
SHARES = {
    "meituan": 30,
    "eleme": 22,
    "dada": 6,
    "shansong": 3,
    "sfcity": 4,
    "didi": 18,
    "caocao": 5,
    "huolala": 6,
    "kuaigou": 2,
    "didifreight": 2,
    "manbang": 2,
}
MAX_FILE_ROWS = 10_000_000  # one Parquet file per platform and batch holds at most this many orders
CANCEL_PER_MILLE = 55
CORRECT_PER_MILLION = 100


def setup(args) -> Path:
    os.environ["OIP_DUCKDB_THREADS"] = str(args.threads)
    os.environ["OIP_DUCKDB_MEMORY_LIMIT"] = args.memory_limit
    return _common.setup_env(args)


def upgrade(reset: bool) -> None:
    from oip.core.db import session_scope
    from oip.reference import parameters

    _common.upgrade(reset)
    with session_scope() as s:
        parameters.ensure_defaults(s)


def split(rows: int) -> dict[str, int]:
    total = sum(SHARES.values())
    out = {code: rows * share // total for code, share in SHARES.items()}
    out["meituan"] += rows - sum(out.values())
    return out


def ledger_rows(month: str) -> int:
    from sqlalchemy import func, select

    from oip.core.db import session_scope
    from oip.orders.models import OrderBatch, OrderFile

    with session_scope() as s:
        return int(
            s.scalar(
                select(func.coalesce(func.sum(OrderFile.rows), 0))
                .join(OrderBatch, OrderBatch.id == OrderFile.batch_id)
                .where(OrderFile.month == month, OrderBatch.status == "published")
            )
        )


def _file_sql(
    code: str,
    industry: str,
    month: str,
    lo: int,
    hi: int,
    batch_id: int,
    per_worker: int,
    person_base: int,
    step: int = 1,
) -> str:
    """Orders lo, lo+step, … < hi of one platform: sorted by worker account, then acceptance time
    (as the ledger keeps them), every column of ledger.COLUMNS with its type. An order's content
    depends only on its number, so a correction regenerates exactly the order it corrects."""
    from oip.core.months import month_bounds

    first, last = month_bounds(month)
    seconds = ((last - first).days + 1) * 86400
    spacing = seconds // per_worker
    counties = "[" + ", ".join(f"'{c}'" for c in _common.COUNTIES) + "]"
    return f"""
        SELECT '{code}-' || lpad(CAST(i AS VARCHAR), 10, '0') AS order_id,
               '{code}' AS platform_code,
               'W{code[:2]}' || lpad(CAST(w AS VARCHAR), 8, '0') AS worker_account_id,
               CAST({person_base} + w AS BIGINT) AS person_id,
               '{industry}' AS industry,
               {counties}[1 + CAST(w % {len(_common.COUNTIES)} AS INTEGER)] AS county_code,
               timezone('Asia/Shanghai', ts) AS accepted_at,
               timezone('Asia/Shanghai', ts + to_minutes(CAST(3 + r % 8 AS BIGINT))) AS picked_up_at,
               timezone('Asia/Shanghai', ts + to_minutes(CAST(20 + (r >> 8) % 31 AS BIGINT))) AS finished_at,
               CASE WHEN r % 1000 < {CANCEL_PER_MILLE} THEN 'cancelled' ELSE 'completed' END AS status,
               108.20 + CAST((r >> 16) % 30000 AS DOUBLE) / 100000 AS start_lng,
               22.70 + CAST((r >> 24) % 25000 AS DOUBLE) / 100000 AS start_lat,
               108.20 + CAST((r >> 32) % 30000 AS DOUBLE) / 100000 AS end_lng,
               22.70 + CAST((r >> 40) % 25000 AS DOUBLE) / 100000 AS end_lat,
               CAST(800 + (r >> 20) % 6000 AS INTEGER) AS distance_m,
               CAST(300 + (r >> 28) % 2500 AS BIGINT) AS income_fen,
               '{month}' AS month,
               CAST(ts AS DATE) AS day,
               1 AS version,
               CAST({batch_id} AS BIGINT) AS batch_id
        FROM (SELECT i, w, r,
                     TIMESTAMP '{first} 00:00:00' + to_seconds(CAST(k * {spacing} + r % {spacing} AS BIGINT)) AS ts
              FROM (SELECT i, i // {per_worker} AS w, i % {per_worker} AS k, hash(i * 7919 + {person_base}) AS r
                    FROM range({lo}, {hi}, {step}) t(i)))"""


def generate(month: str, rows: int, var: Path) -> dict:
    """Write and publish the month's orders; returns what the count must be."""
    import duckdb
    from sqlalchemy import select

    from oip.core import clock
    from oip.core.db import session_scope
    from oip.orders import ledger
    from oip.orders.models import OrderBatch
    from oip.platforms.models import Platform

    staging = ledger.root() / "staging"
    staging.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect()
    con.execute(f"SET threads = {os.environ['OIP_DUCKDB_THREADS']}")
    con.execute("SET memory_limit = '2GB'")
    con.execute(f"SET temp_directory = '{var / 'duckdb-tmp'}'")
    con.execute("SET TimeZone = 'Asia/Shanghai'")
    expected: dict[str, int] = {}
    t0 = time.monotonic()
    with session_scope() as s:
        plats = {p.code: p for p in s.scalars(select(Platform).where(Platform.code.in_(list(SHARES))))}
    for n_plat, (code, n) in enumerate(split(rows).items()):
        plat = plats[code]
        with session_scope() as s:
            batch = OrderBatch(
                platform_id=plat.id,
                source="bench",
                fmt="parquet",
                status="staging",
                received=n,
                accepted=n,
                started_at=clock.now(),
            )
            s.add(batch)
            s.flush()
            staged = []
            for k, lo in enumerate(range(0, n, MAX_FILE_ROWS)):
                hi = min(n, lo + MAX_FILE_ROWS)
                path = staging / f"bench-{code}-{k}.parquet"
                sql = _file_sql(code, plat.industry_code, month, lo, hi, batch.id, 180, 10_000_000 * (n_plat + 1))
                con.execute(f"COPY ({sql}) TO '{path}' ({ledger.WRITE_OPTIONS})")
                lo_t, hi_t, completed = con.execute(
                    f"SELECT min(accepted_at), max(accepted_at), count(*) FILTER (WHERE status = 'completed') "
                    f"FROM read_parquet('{path}')"
                ).fetchone()
                expected[code] = expected.get(code, 0) + int(completed)
                staged.append(ledger.StagedFile(path, month, code, hi - lo, lo_t, hi_t))
            ledger.publish(s, batch, staged)
            batch.published_at = clock.now()
        print(f"  {code}: {n:,} orders in {len(staged)} file(s), {time.monotonic() - t0:.0f} s", file=sys.stderr)

    # Corrections: a later batch per platform cancels every 10,000th order (version 2); the first
    # versions are listed as superseded, so the count must leave them out.
    step = 1_000_000 // CORRECT_PER_MILLION
    for n_plat, (code, n) in enumerate(split(rows).items()):
        plat = plats[code]
        ids = range(0, n, step)
        with session_scope() as s:
            batch = OrderBatch(
                platform_id=plat.id,
                source="bench",
                fmt="parquet",
                status="staging",
                received=len(ids),
                accepted=len(ids),
                corrections=len(ids),
                started_at=clock.now(),
            )
            s.add(batch)
            s.flush()
            path = staging / f"bench-{code}-corrections.parquet"
            originals = _file_sql(
                code, plat.industry_code, month, 0, n, batch.id, 180, 10_000_000 * (n_plat + 1), step=step
            )
            con.execute(
                f"COPY (SELECT * REPLACE (2 AS version, 'cancelled' AS status) FROM ({originals})) "
                f"TO '{path}' ({ledger.WRITE_OPTIONS})"
            )
            was_completed, lo_t, hi_t = con.execute(
                f"SELECT count(*) FILTER (WHERE status = 'completed'), min(accepted_at), max(accepted_at) "
                f"FROM ({originals})"
            ).fetchone()
            expected[code] -= int(was_completed)
            ledger.publish(
                s,
                batch,
                [ledger.StagedFile(path, month, code, len(ids), lo_t, hi_t)],
                [(code, f"{code}-{i:010d}", 1, month) for i in ids],
            )
            batch.published_at = clock.now()
    con.close()
    state = {"rows": rows, "month": month, "expected_billable": expected, "generated_seconds": time.monotonic() - t0}
    (var / "bench-premiums.json").write_text(json.dumps(state, indent=1))
    return state


def disk_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*.parquet"))


def time_declare(month: str, engine: str, repeat: int) -> tuple[list[float], list[dict]]:
    from oip.core import audit
    from oip.core.db import session_scope
    from oip.premiums import service

    times, rows = [], []
    for _ in range(repeat):
        with session_scope() as s:
            t0 = time.perf_counter()
            res = service.declare(s, audit.SystemActor(label="bench"), month, engine=engine)
            rows = res.rows()
            s.rollback()  # every run computes from scratch (a draft run writes rows; keep them out)
            times.append(time.perf_counter() - t0)
    return times, rows


def time_sql(month: str, engine: str, repeat: int) -> list[float]:
    """The bare job on the engine (view already registered): what the engine itself costs."""
    from oip.core.db import session_scope
    from oip.orders import engines, ledger
    from oip.premiums import service

    with session_scope() as s:
        eng = service.open_engine(s, engine, ledger.Slice(months=(month,)))
    out = []
    try:
        for _ in range(repeat):
            t0 = time.perf_counter()
            eng.query(engines.billable_orders_sql(month, ["completed"]))
            out.append(time.perf_counter() - t0)
    finally:
        eng.close()
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--rows", type=int, default=10_000_000, help="orders in the month (default 10,000,000)")
    p.add_argument("--month", default="2025-09", help="the order month (default 2025-09)")
    p.add_argument("--repeat", type=int, default=3, help="timed runs on DuckDB (default 3)")
    p.add_argument("--spark-repeat", type=int, default=2, help="timed runs on Spark (0: skip Spark; default 2)")
    p.add_argument("--threads", type=int, default=2, help="DuckDB threads (OIP_DUCKDB_THREADS; default 2)")
    p.add_argument("--memory-limit", default="1GB", help="DuckDB memory limit (default 1GB)")
    p.add_argument("--spark-memory", default="4g", help="Spark driver memory in local mode (default 4g)")
    p.add_argument("--var-dir", default=str(ROOT / "var" / "bench-premiums"), help="var directory of the benchmark")
    p.add_argument("--database-url", default=None, help="PostgreSQL URL (default: embedded server in the var dir)")
    p.add_argument("--regenerate", action="store_true", help="generate the ledger again even if one of the size exists")
    args = p.parse_args()

    var = setup(args)
    state_file = var / "bench-premiums.json"
    state = json.loads(state_file.read_text()) if state_file.exists() else None
    reuse = not args.regenerate and state and state["rows"] == args.rows and state["month"] == args.month
    if reuse:
        upgrade(reset=False)
        reuse = ledger_rows(args.month) == args.rows + sum(
            len(range(0, n, 1_000_000 // CORRECT_PER_MILLION)) for n in split(args.rows).values()
        )
    if not reuse:
        free = shutil.disk_usage(var).free
        need = args.rows * 45
        if free < need * 1.5:
            sys.exit(f"not enough free disk under {var}: {free / 1e9:.1f} GB free, about {need / 1e9:.1f} GB needed")
        upgrade(reset=True)
        if (var / "ledger").exists():
            shutil.rmtree(var / "ledger")
        print(f"generating {args.rows:,} orders for {args.month} …", file=sys.stderr)
        state = generate(args.month, args.rows, var)
        _common.emit(
            {
                "step": "generate",
                "rows": args.rows,
                "seconds": round(state["generated_seconds"], 1),
                "parquet_gb": round(disk_bytes(var / "ledger") / 1e9, 2),
            }
        )

    expected = state["expected_billable"]
    d_times, rows = time_declare(args.month, "duckdb", args.repeat)
    got = {r["platform_code"]: r["orders"] for r in rows if r["orders"]}
    assert got == expected, f"declared orders {got} differ from the generated ones {expected}"
    total_fen = sum(r["amount_fen"] for r in rows)
    _common.emit(
        {
            "step": "declare",
            "engine": "duckdb",
            "rows": args.rows,
            "threads": args.threads,
            "runs_s": [round(t, 3) for t in d_times],
            "best_s": round(min(d_times), 3),
            "median_s": round(statistics.median(d_times), 3),
            "billable": sum(got.values()),
            "amount_yuan": f"{total_fen / 100:,.2f}",
            "orders_per_s": round(args.rows / min(d_times)),
        }
    )
    sql_d = time_sql(args.month, "duckdb", args.repeat)
    _common.emit(
        {"step": "sql", "engine": "duckdb", "runs_s": [round(t, 3) for t in sql_d], "best_s": round(min(sql_d), 3)}
    )

    s_times = sql_s = []
    if args.spark_repeat > 0:
        try:
            from pyspark.sql import SparkSession
        except ImportError:
            print("pyspark not installed: Spark skipped", file=sys.stderr)
        else:
            t0 = time.perf_counter()
            spark = (
                SparkSession.builder.master(os.environ.get("OIP_SPARK_MASTER", "local[2]"))
                .appName("oip-bench")
                .config("spark.driver.memory", args.spark_memory)
                .config("spark.sql.session.timeZone", "Asia/Shanghai")
                .config("spark.ui.enabled", "false")
                .config("spark.ui.showConsoleProgress", "false")
                .getOrCreate()
            )
            spark.sparkContext.setLogLevel("ERROR")
            _common.emit({"step": "spark_start", "seconds": round(time.perf_counter() - t0, 1)})
            s_times, s_rows = time_declare(args.month, "spark", args.spark_repeat)
            assert s_rows == rows, "Spark and DuckDB declare different amounts"
            _common.emit(
                {
                    "step": "declare",
                    "engine": "spark",
                    "rows": args.rows,
                    "master": spark.sparkContext.master,
                    "runs_s": [round(t, 3) for t in s_times],
                    "best_s": round(min(s_times), 3),
                    "same_result_as_duckdb": True,
                }
            )
            sql_s = time_sql(args.month, "spark", args.spark_repeat)
            _common.emit(
                {
                    "step": "sql",
                    "engine": "spark",
                    "runs_s": [round(t, 3) for t in sql_s],
                    "best_s": round(min(sql_s), 3),
                }
            )

    target = "met" if args.rows < 100_000_000 or min(d_times) <= 5 else "MISSED"
    print(
        f"\n{args.rows:,} orders, {args.month}, {len(expected)} platforms, {sum(expected.values()):,} billable",
        file=sys.stderr,
    )
    print(
        f"  DuckDB ({args.threads} threads)  declare best {min(d_times):6.2f} s   bare SQL {min(sql_d):6.2f} s"
        f"   (target 100M ≤ 5 s: {target})",
        file=sys.stderr,
    )
    if s_times:
        print(
            f"  Spark local             declare best {min(s_times):6.2f} s   bare SQL {min(sql_s):6.2f} s",
            file=sys.stderr,
        )


if __name__ == "__main__":
    main()
