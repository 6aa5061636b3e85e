"""Coverage look-ups against a large ledger: p50 / p95 / p99 / max over random (person, time) pairs.

    .venv/bin/python bench/orders_coverage.py                    # 100,000,000 orders, 1,000 look-ups
    .venv/bin/python bench/orders_coverage.py --rows 2000000 --lookups 300

Builds (once; reused while the parameters stay the same) a ledger of ``--rows`` orders over
``--months`` months for the 11 pilot platforms in its own var directory (default var/bench-coverage):
the workers are registered in bulk, the Parquet files are written directly in the ledger layout —
each file one week of one platform, in acceptance-time order (a platform's export order, which the
import keeps) with the import's write options — and published through ``ledger.publish``, with the
per-worker-month summaries of each month (``summaries.rows_sql`` over its week files) in PostgreSQL.
Then ``oip.orders.coverage.covered_at`` answers ``--lookups`` questions by person: half at a moment
inside one of the person's orders, half at a random moment of the period. Prints the latency
percentiles (after a few warm-up calls, reported apart), overall and by answer."""

from __future__ import annotations

import argparse
import json
import random
import shutil
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common  # noqa: E402
import orders_generate as gen  # noqa: E402

# Share of the orders per platform (roughly the pilot's market), and each platform's industry.
PLATFORMS = {
    "meituan": 30,
    "eleme": 18,
    "dada": 6,
    "shansong": 3,
    "sfcity": 4,
    "didi": 20,
    "caocao": 4,
    "huolala": 7,
    "kuaigou": 2,
    "didifreight": 3,
    "manbang": 3,
}
MINUTES = {"instant_delivery": (20, 30), "ride_hailing": (10, 30), "intracity_freight": (40, 80)}


def _months(last: str, n: int) -> list[str]:
    y, m = int(last[:4]), int(last[5:7])
    out = []
    for _ in range(n):
        out.append(f"{y:04d}-{m:02d}")
        y, m = (y - 1, 12) if m == 1 else (y, m - 1)
    return sorted(out)


def build(var: Path, rows: int, months: list[str], per_worker_day: int) -> dict:
    """Write and publish the ledger; returns what was built."""
    import duckdb
    from sqlalchemy import select

    from oip.core import clock
    from oip.core.db import session_scope
    from oip.orders import ledger, summaries
    from oip.orders.models import OrderBatch
    from oip.platforms.models import Platform

    t0 = time.monotonic()
    _common.upgrade(reset=True)
    shutil.rmtree(var / "ledger", ignore_errors=True)
    work = var / "build"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    total_w = sum(PLATFORMS.values())
    con = duckdb.connect(str(work / "build.duckdb"))
    con.execute("SET threads = 2; SET memory_limit = '1GB'; SET TimeZone = 'Asia/Shanghai'")
    con.execute(f"SET temp_directory = '{work / 'tmp'}'")
    built = {"rows": 0, "files": 0, "worker_months": 0, "workers": 0}
    with session_scope() as s:
        plats = {p.code: p for p in s.scalars(select(Platform).where(Platform.code.in_(list(PLATFORMS))))}
    for k, (code, weight) in enumerate(PLATFORMS.items()):
        t_p = time.monotonic()
        n_p = rows * weight // total_w
        days_total = sum(gen.month_bounds(m)[1] for m in months)
        # Workers work every other day, ``per_worker_day`` orders a worked day.
        workers = max(100, n_p // (per_worker_day * days_total // 2))
        tag = f"P{k:02d}"
        _common.register_accounts(code, tag, workers)
        built["workers"] += workers
        accounts = work / f"acc-{code}.csv"
        from oip.core.db import get_engine

        raw = get_engine().raw_connection()
        try:
            with raw.cursor() as cur, open(accounts, "wb") as fh:
                with cur.copy(
                    f"COPY (SELECT account_id, person_id FROM platform_accounts WHERE platform_id = "
                    f"{plats[code].id} AND account_id LIKE 'B{tag}%') TO STDOUT (FORMAT csv)"
                ) as cp:
                    for data in cp:
                        fh.write(data)
        finally:
            raw.close()
        con.execute(
            f"CREATE OR REPLACE TABLE acc AS SELECT * FROM read_csv('{accounts}', columns="
            "{'account_id': 'VARCHAR', 'person_id': 'BIGINT'}, header=false)"
        )
        industry = _common.INDUSTRY[code]
        lo_min, span = MINUTES[industry]
        for month in months:
            first, ndays = gen.month_bounds(month)
            n_m = n_p * ndays // days_total
            tmp_csv = work / "unit.parquet"
            gen.generate(
                tmp_csv,
                "parquet",
                rows=n_m,
                workers=workers,
                tag=tag,
                platform=code,
                month=month,
                prefix=f"{code[:2].upper()}{month.replace('-', '')}",
            )
            # Weekly files in acceptance-time order, written as the import writes them.
            weeks = [(d, min(d + 7, ndays)) for d in range(0, ndays, 7)]
            published: list[Path] = []
            for lo, hi in weeks:
                with session_scope() as s:
                    batch = OrderBatch(
                        platform_id=plats[code].id,
                        source="cli",
                        filename=f"bench-{code}-{month}-{lo}",
                        fmt="parquet",
                        status="staging",
                        started_at=clock.now(),
                    )
                    s.add(batch)
                    s.flush()
                    staging = ledger.root() / "staging"
                    staging.mkdir(parents=True, exist_ok=True)
                    target = staging / f"bench-{batch.id}.parquet"
                    day_lo = f"DATE '{month}-01' + {lo}"
                    day_hi = f"DATE '{month}-01' + {hi}"
                    n = con.execute(f"""COPY (
                        SELECT o.order_id, o.platform_code, o.worker_account_id, acc.person_id, '{industry}' AS industry,
                               o.county_code, o.accepted_at, o.picked_up_at,
                               o.accepted_at + to_minutes(CASE WHEN o.status = 'cancelled' THEN 3
                                   ELSE {lo_min} + CAST(hash(o.order_id) % {span} AS INTEGER) END) AS finished_at,
                               o.status, o.start_lng, o.start_lat, o.end_lng, o.end_lat,
                               CAST(o.distance_m AS INTEGER) AS distance_m, o.income_fen, '{month}' AS month,
                               CAST(o.accepted_at AS DATE) AS day, 1 AS version,
                               {batch.id} AS batch_id
                        FROM read_parquet('{tmp_csv}') o JOIN acc ON acc.account_id = o.worker_account_id
                        WHERE CAST(o.accepted_at AS DATE) >= {day_lo} AND CAST(o.accepted_at AS DATE) < {day_hi}
                        ORDER BY o.accepted_at)
                        TO '{target}' ({ledger.WRITE_OPTIONS})""").fetchone()[0]
                    lo_t, hi_t = con.execute(f"SELECT min(accepted_at), max(accepted_at) FROM '{target}'").fetchone()
                    ledger.publish(s, batch, [ledger.StagedFile(target, month, code, n, lo_t, hi_t)])
                    batch.received = batch.accepted = n
                    batch.published_at = clock.now()
                    published.append(ledger.root() / ledger.relative_path(month, code, batch.id, 0))
                built["rows"] += n
                built["files"] += 1
            # The month's per-worker-month summaries, summed over its week files (a worker's month
            # spans several of them), then copied in as the import does.
            if published:
                month_rows = summaries.rows_sql(plats[code].id, f"read_parquet({[str(x) for x in published]})")
                with session_scope() as s:
                    built["worker_months"] += summaries.copy_in(
                        s, "worker_months", summaries.batches(con, f"{month_rows} ORDER BY account_id")
                    )
        _common.emit(
            {
                "step": "platform",
                "platform": code,
                "rows": n_p,
                "workers": workers,
                "seconds": round(time.monotonic() - t_p, 1),
            }
        )
    con.close()
    shutil.rmtree(work, ignore_errors=True)
    built["seconds"] = round(time.monotonic() - t0, 1)
    built["ledger_bytes"] = sum(p.stat().st_size for p in (var / "ledger").rglob("*.parquet"))
    return built


def pct(values: list[float], q: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, max(0, int(round(q * (len(s) - 1)))))]


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--rows", type=int, default=100_000_000)
    p.add_argument("--months", type=int, default=3)
    p.add_argument("--last-month", default="2026-08")
    p.add_argument(
        "--per-worker-day", type=int, default=11, help="orders on a worked day (workers work every other day)"
    )
    p.add_argument("--lookups", type=int, default=1000)
    p.add_argument("--warmup", type=int, default=20)
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--rebuild", action="store_true", help="build the ledger even if one with these parameters exists")
    _common.add_common(p)
    p.set_defaults(var_dir=str(_common.ROOT / "var" / "bench-coverage"))
    a = p.parse_args(argv)
    var = _common.setup_env(a)
    months = _months(a.last_month, a.months)
    marker = var / "coverage-ledger.json"
    # ``layout``: how the files and summaries are written (a ledger built otherwise is rebuilt).
    params = {
        "rows": a.rows,
        "months": months,
        "per_worker_day": a.per_worker_day,
        "layout": "accepted_at-order, worker_months with day spans, ledger columns without content_hash",
    }
    if a.rebuild or not marker.exists() or json.loads(marker.read_text()).get("params") != params:
        marker.unlink(missing_ok=True)
        built = build(var, a.rows, months, a.per_worker_day)
        marker.write_text(json.dumps({"params": params, "built": built}))
        _common.emit({"step": "build", **built})
    else:
        _common.emit({"step": "reuse", **json.loads(marker.read_text())})
    _common.upgrade()

    import datetime as dt

    from sqlalchemy import func, select, text

    from oip.core import clock
    from oip.core.db import get_sessionmaker
    from oip.orders import coverage, ledger
    from oip.orders.models import WorkerMonth

    rng = random.Random(a.seed)
    Session = get_sessionmaker()
    with Session() as s:
        wm_rows = s.scalar(select(func.count()).select_from(WorkerMonth))
        persons = [
            r[0] for r in s.execute(text("SELECT person_id FROM platform_accounts ORDER BY random() LIMIT 5000"))
        ]
        con = ledger.connect()
        paths = ledger.files(s)
        sample = con.execute(
            f"SELECT person_id, accepted_at, finished_at FROM read_parquet({[str(x) for x in paths]}) "
            f"USING SAMPLE {a.lookups // 2 + a.warmup} ROWS"
        ).fetchall()
        con.close()
    first = dt.datetime.fromisoformat(f"{months[0]}-01T00:00:00+08:00")
    y, m = int(a.last_month[:4]), int(a.last_month[5:7])
    end = dt.datetime(y + (m == 12), m % 12 + 1, 1, tzinfo=clock.SHANGHAI)
    questions = []
    for pid, acc, fin in sample:
        questions.append((pid, acc + (fin - acc) * rng.random()))
    while len(questions) < a.lookups + a.warmup:
        questions.append((rng.choice(persons), first + (end - first) * rng.random()))
    rng.shuffle(questions)
    timings: list[tuple[float, bool]] = []
    cold = None
    with Session() as s:
        for i, (pid, when) in enumerate(questions):
            t0 = time.perf_counter()
            res = coverage.covered_at(s, at=when, person_id=pid)
            ms = (time.perf_counter() - t0) * 1000
            s.rollback()
            if i == 0:
                cold = ms
            if i >= a.warmup:
                timings.append((ms, res.covered))
    all_ms = [t for t, _ in timings]
    out = {
        "step": "lookups",
        "ledger_rows": a.rows,
        "worker_months": wm_rows,
        "files": len(paths),
        "lookups": len(all_ms),
        "cold_first_ms": round(cold, 1),
        "p50_ms": round(pct(all_ms, 0.50), 2),
        "p95_ms": round(pct(all_ms, 0.95), 2),
        "p99_ms": round(pct(all_ms, 0.99), 2),
        "max_ms": round(max(all_ms), 2),
        "mean_ms": round(statistics.mean(all_ms), 2),
    }
    for label, flag in (("covered", True), ("not_covered", False)):
        xs = [t for t, c in timings if c == flag]
        if xs:
            out[label] = {"n": len(xs), "p50_ms": round(pct(xs, 0.5), 2), "p99_ms": round(pct(xs, 0.99), 2)}
    _common.emit(out)


if __name__ == "__main__":
    main()
