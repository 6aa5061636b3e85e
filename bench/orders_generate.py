"""Generate N platform orders (interface v1) as CSV and/or Parquet, with a matching worker register.

    .venv/bin/python bench/orders_generate.py                 # 10,000,000 orders of meituan, 2026-08
    .venv/bin/python bench/orders_generate.py --rows 100000 --format csv

The orders follow a month's rhythm (more on weekends, lunch and dinner peaks), each worker working every other
day (about 11 orders a worker-day) in one county; the file is in acceptance-time order, as a platform's export would be. The
workers (``--workers``, default rows/170) are registered in the benchmark's own database (see
bench/_common.py), so the file imports without unknown accounts. Prints one JSON line per file
with rows/s."""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common  # noqa: E402

# Hourly weight of instant delivery (lunch and dinner peaks) and the weekday factor (Mon..Sun).
HOURS = [2, 1, 1, 1, 1, 1, 2, 4, 6, 6, 8, 14, 16, 9, 6, 5, 6, 10, 15, 12, 8, 6, 4, 3]
WEEKDAY = [1.0, 1.0, 1.0, 1.0, 1.1, 1.3, 1.3]


def month_bounds(month: str) -> tuple[dt.date, int]:
    """First day and number of days of the month (oip.core.months)."""
    from oip.core.months import month_bounds as bounds

    first, last = bounds(month)
    return first, (last - first).days + 1


def generate(
    path: Path, fmt: str, *, rows: int, workers: int, tag: str, platform: str, month: str, prefix: str
) -> float:
    """Write the file; returns seconds. Everything runs as DuckDB SQL (2 threads)."""
    import duckdb

    first, days = month_bounds(month)
    con = duckdb.connect()
    con.execute("SET threads = 2")
    con.execute("SET TimeZone = 'Asia/Shanghai'")
    con.execute("SET memory_limit = '1GB'")
    tmp = path.parent / "duckdb-tmp"
    tmp.mkdir(parents=True, exist_ok=True)
    con.execute(f"SET temp_directory = '{tmp}'")
    slots = []
    acc = 0.0
    for d in range(days):
        day = first + dt.timedelta(days=d)
        for h, w in enumerate(HOURS):
            slots.append((acc, dt.datetime(day.year, day.month, day.day, h)))  # (weight before this hour, hour)
            acc += w * WEEKDAY[day.weekday()]
    con.execute("CREATE TABLE slots (cum DOUBLE, hour TIMESTAMP)")
    con.executemany("INSERT INTO slots VALUES (?, ?)", slots)
    total = acc
    counties = "[" + ", ".join(f"'{c}'" for c in _common.COUNTIES) + "]"
    industry = _common.INDUSTRY.get(platform, "instant_delivery")
    # u runs from 0 to total in row order: the file comes out in acceptance-time order.
    base = f"""
        SELECT i, s.hour, hash(i) AS r,
               -- a worker works every other day: on each day half of them take that day's orders
               CAST((2 * (hash(i * 7) % {max(1, workers // 2)})
                     + ((hash(i * 7) % {max(1, workers // 2)}) + dayofmonth(s.hour)) % 2) % {workers} AS BIGINT) AS w
        FROM (SELECT i, (i + 0.5) * {total} / {rows} AS u FROM range({rows}) t(i)) g
        ASOF JOIN slots s ON g.u >= s.cum"""
    orders = f"""
        SELECT '{prefix}' || lpad(CAST(i AS VARCHAR), 10, '0') AS order_id, '{platform}' AS platform_code,
               'B{tag}' || lpad(CAST(w AS VARCHAR), 7, '0') AS worker_account_id, '{industry}' AS industry,
               {counties}[1 + w % {len(_common.COUNTIES)}] AS county_code,
               timezone('Asia/Shanghai', hour + to_seconds(CAST(r % 3600 AS BIGINT))) AS accepted_at,
               r % 1000 < 15 AS cancelled,
               CAST(20 + (r >> 12) % 31 AS INTEGER) AS minutes,
               CAST(3 + (r >> 20) % 8 AS INTEGER) AS pickup,
               108.20 + ((r >> 24) % 30000) / 100000.0 AS lng, 22.70 + ((r >> 32) % 25000) / 100000.0 AS lat,
               CAST(800 + (r >> 40) % 6000 AS INTEGER) AS dist
        FROM ({base})"""
    shaped = f"""
        SELECT order_id, platform_code, worker_account_id, industry, county_code, accepted_at,
               CASE WHEN cancelled THEN NULL ELSE accepted_at + to_minutes(pickup) END AS picked_up_at,
               accepted_at + to_minutes(CASE WHEN cancelled THEN pickup ELSE minutes END) AS finished_at,
               CASE WHEN cancelled THEN 'cancelled' ELSE 'completed' END AS status,
               round(lng, 6) AS start_lng, round(lat, 6) AS start_lat,
               round(lng + (dist % 97 - 48) / 10000.0, 6) AS end_lng, round(lat + (dist % 89 - 44) / 10000.0, 6) AS end_lat,
               CASE WHEN cancelled THEN NULL ELSE dist END AS distance_m,
               CASE WHEN cancelled THEN NULL ELSE CAST(350 + dist / 10 AS BIGINT) END AS income_fen
        FROM ({orders}) ORDER BY order_id"""
    t0 = time.monotonic()
    if fmt == "csv":
        iso = "strftime(x, '%Y-%m-%dT%H:%M:%S+08:00')"
        cols = ", ".join(
            [
                "order_id",
                "platform_code",
                "worker_account_id",
                "industry",
                "county_code",
                iso.replace("x", "accepted_at") + " AS accepted_at",
                iso.replace("x", "picked_up_at") + " AS picked_up_at",
                iso.replace("x", "finished_at") + " AS finished_at",
                "status",
                "start_lng",
                "start_lat",
                "end_lng",
                "end_lat",
                "distance_m",
                "income_fen",
            ]
        )
        con.execute(f"COPY (SELECT {cols} FROM ({shaped})) TO '{path}' (FORMAT csv, HEADER true)")
    else:
        con.execute(f"COPY ({shaped}) TO '{path}' (FORMAT parquet, COMPRESSION snappy)")
    con.close()
    return time.monotonic() - t0


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--rows", type=int, default=10_000_000)
    p.add_argument(
        "--workers",
        type=int,
        default=None,
        help="default rows/170 (at least 1,000): ~11 orders a worker-day, every other day",
    )
    p.add_argument("--format", default="csv,parquet", help="csv, parquet or both (comma-separated)")
    p.add_argument("--platform", default="meituan")
    p.add_argument("--month", default="2026-08", help="the month of the orders (YYYY-MM, in the past)")
    p.add_argument("--out", default=None, help="directory of the files (default <var-dir>/files)")
    p.add_argument("--tag", default="G", help="account id tag: accounts are B<tag>0000000…")
    p.add_argument("--prefix", default=None, help="order id prefix (default: C for CSV, P for Parquet)")
    p.add_argument("--no-register", action="store_true", help="only write the files")
    _common.add_common(p)
    a = p.parse_args(argv)
    var = _common.setup_env(a)
    workers = a.workers or max(1000, a.rows // 170)
    out = Path(a.out) if a.out else var / "files"
    out.mkdir(parents=True, exist_ok=True)
    if not a.no_register:
        _common.upgrade()
        secs = _common.register_accounts(a.platform, a.tag, workers)
        _common.emit({"step": "register", "workers": workers, "platform": a.platform, "seconds": round(secs, 2)})
    for fmt in [f.strip() for f in a.format.split(",") if f.strip()]:
        prefix = a.prefix or ("C" if fmt == "csv" else "P")
        path = out / f"orders-{a.platform}-{a.month}-{a.rows}-{workers}w-{prefix}.{fmt}"
        secs = generate(
            path, fmt, rows=a.rows, workers=workers, tag=a.tag, platform=a.platform, month=a.month, prefix=prefix
        )
        _common.emit(
            {
                "step": "generate",
                "format": fmt,
                "rows": a.rows,
                "path": str(path),
                "bytes": path.stat().st_size,
                "seconds": round(secs, 2),
                "rows_per_s": round(a.rows / secs),
            }
        )


if __name__ == "__main__":
    main()
