"""Import throughput of order files, validated and published, from CSV and from Parquet.

    .venv/bin/python bench/orders_import.py                      # 10,000,000 orders per format
    .venv/bin/python bench/orders_import.py --rows 1000000 --formats parquet

For each format: generate the file once (bench/orders_generate.py, cached under var/bench/files),
then in separate processes (so that each one's peak memory is its own)
  1. DuckDB merely reading the file: ``SELECT count(*)`` and a full read into a table;
  2. ``ingest.import_file`` — every row validated, rejects written, files staged, published with
     the per-worker-month summaries in PostgreSQL — on a fresh benchmark database; its seconds per
     step are printed too (``steps``);
  3. optionally (``--reimport``) the same file again: every row a duplicate.
A generated file is clean, so the import takes its one-pass path; ``--bad-rows N`` imports instead a
copy with N invalid rows (new order ids), which takes the general path (reasons and row numbers).
Prints one JSON line per measurement and a summary table: rows/s, the ratio import / full read, and
the peak resident memory of the process (DuckDB runs inside it; PostgreSQL is a separate server).
The CSV and Parquet files are of different months, so neither import sees the other's orders."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common  # noqa: E402

HERE = Path(__file__).resolve()


def _child(args: argparse.Namespace) -> None:
    """Run one measurement in this process and print it as JSON (with the peak RSS)."""
    _common.setup_env(args)
    path = Path(args.child_file)
    t0 = time.monotonic()
    if args.child == "read":
        from oip.orders import ledger

        con = ledger.connect()  # the same memory limit and spill directory as the import
        src = f"read_csv('{path}')" if path.suffix == ".csv" else f"read_parquet('{path}')"
        n = con.execute(f"SELECT count(*) FROM {src}").fetchone()[0]
        t_count = time.monotonic() - t0
        t1 = time.monotonic()
        con.execute(f"CREATE TABLE t AS SELECT * FROM {src}")
        t_table = time.monotonic() - t1
        con.close()
        out = {"rows": n, "count_s": round(t_count, 2), "table_s": round(t_table, 2)}
    else:
        from oip.core import audit
        from oip.orders import ingest

        res = ingest.import_file(path, args.platform, actor=audit.SystemActor(label="bench"), source="cli")
        out = {**res.summary(), "months": res.months, "steps": res.steps}
    out["wall_s"] = round(time.monotonic() - t0, 2)
    out["peak_rss_mb"] = round(_common.peak_rss_mb())
    print(json.dumps(out, ensure_ascii=False), flush=True)


def _run_child(args: argparse.Namespace, kind: str, path: Path) -> dict:
    cmd = [
        sys.executable,
        str(HERE),
        "--child",
        kind,
        "--child-file",
        str(path),
        "--var-dir",
        args.var_dir,
        "--platform",
        args.platform,
    ]
    if args.database_url:
        cmd += ["--database-url", args.database_url]
    out = subprocess.run(cmd, capture_output=True, text=True)
    if out.returncode != 0:
        _common.fail(f"{kind} of {path} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def _with_bad_rows(path: Path, n: int) -> Path:
    """A copy of the file (cached) in which ``n`` evenly spaced rows have the invalid status 'lost'.
    Its orders are new ids (prefix 'Z'), so it may be imported next to the original."""
    import duckdb

    out = path.with_name(f"{path.stem}-bad{n}{path.suffix}")
    if out.exists():
        return out
    con = duckdb.connect()
    if path.suffix == ".csv":
        src = f"read_csv('{path}', all_varchar=true, header=true)"
        fmt = "FORMAT csv, HEADER true"
    else:
        src = f"read_parquet('{path}')"
        fmt = "FORMAT parquet, COMPRESSION snappy"
    rows = con.execute(f"SELECT count(*) FROM {src}").fetchone()[0]
    step = max(1, rows // n)
    con.execute(f"""COPY (SELECT * EXCLUDE (rn) REPLACE ('Z' || order_id AS order_id,
                                           CASE WHEN rn % {step} = {step // 2} THEN 'lost' ELSE status END AS status)
                         FROM (SELECT *, row_number() OVER () AS rn FROM {src}))
                    TO '{out}' ({fmt})""")
    con.close()
    return out


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--rows", type=int, default=10_000_000)
    p.add_argument("--formats", default="csv,parquet")
    p.add_argument("--platform", default="meituan")
    p.add_argument("--month", default="2026-08", help="month of the CSV file (the Parquet file: two months earlier)")
    p.add_argument("--reimport", action="store_true", help="also import each file a second time (all duplicates)")
    p.add_argument(
        "--bad-rows",
        type=int,
        default=0,
        help="make that many rows of each file invalid (status 'lost', evenly spaced): the general path",
    )
    p.add_argument("--keep", action="store_true", help="keep the benchmark database and ledger (default: fresh)")
    p.add_argument("--child", choices=["read", "import"], help=argparse.SUPPRESS)
    p.add_argument("--child-file", help=argparse.SUPPRESS)
    _common.add_common(p)
    a = p.parse_args(argv)
    if a.child:
        _child(a)
        return
    var = _common.setup_env(a)
    import orders_generate as gen

    workers = max(1000, a.rows // 170)
    y, m = int(a.month[:4]), int(a.month[5:7])
    pm = f"{y if m > 2 else y - 1:04d}-{(m - 3) % 12 + 1:02d}"
    if not a.keep:
        _common.upgrade(reset=True)
        shutil.rmtree(var / "ledger", ignore_errors=True)
        shutil.rmtree(var / "rejects", ignore_errors=True)
    else:
        _common.upgrade()
    secs = _common.register_accounts(a.platform, "G", workers)
    _common.emit({"step": "register", "workers": workers, "seconds": round(secs, 2)})
    files = var / "files"
    files.mkdir(parents=True, exist_ok=True)
    summary = []
    for fmt in [f.strip() for f in a.formats.split(",") if f.strip()]:
        month, prefix = (a.month, "C") if fmt == "csv" else (pm, "P")
        path = files / f"orders-{a.platform}-{month}-{a.rows}-{workers}w-{prefix}.{fmt}"
        if not path.exists():
            secs = gen.generate(
                path, fmt, rows=a.rows, workers=workers, tag="G", platform=a.platform, month=month, prefix=prefix
            )
            _common.emit(
                {
                    "step": "generate",
                    "format": fmt,
                    "rows": a.rows,
                    "seconds": round(secs, 2),
                    "rows_per_s": round(a.rows / secs),
                }
            )
        if a.bad_rows:
            path = _with_bad_rows(path, a.bad_rows)
        read = _run_child(a, "read", path)
        _common.emit({"step": "duckdb_read", "format": fmt, "bytes": path.stat().st_size, **read})
        imp = _run_child(a, "import", path)
        rate = round(imp["received"] / imp["seconds"]) if imp["seconds"] else None
        _common.emit({"step": "import", "format": fmt, **imp, "rows_per_s": rate})
        row = {
            "format": fmt,
            "rows": imp["received"],
            "MB": round(path.stat().st_size / 1e6),
            "duckdb_count_s": read["count_s"],
            "duckdb_table_s": read["table_s"],
            "import_s": imp["seconds"],
            "rows_per_s": rate,
            "ratio_to_table_read": round(imp["seconds"] / read["table_s"], 2),
            "peak_rss_mb": imp["peak_rss_mb"],
            "duckdb_read_rss_mb": read["peak_rss_mb"],
        }
        if a.reimport:
            again = _run_child(a, "import", path)
            _common.emit({"step": "reimport", "format": fmt, **again})
            row["reimport_s"] = again["seconds"]
            row["reimport_duplicates"] = again["duplicates"]
        summary.append(row)
    print()
    cols = list(summary[0]) if summary else []
    print("  ".join(f"{c:>18}" for c in cols))
    for r in summary:
        print("  ".join(f"{str(r.get(c, '')):>18}" for c in cols))
    print(f"\nmachine: {os.cpu_count()} CPUs; load average {os.getloadavg()[0]:.2f} at the end")


if __name__ == "__main__":
    main()
