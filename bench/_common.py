"""Shared set-up of the order benchmarks: their own var directory and database, bulk workers.

The benchmarks never touch the development database: unless ``--database-url`` is given they run on
a private embedded PostgreSQL under ``var/bench`` (``OIP_VAR_DIR``), created and migrated on first use.
Import this module before anything from ``oip``."""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# Counties the synthetic orders are spread over, and each pilot platform's industry.
COUNTIES = [
    "450102",
    "450103",
    "450105",
    "450107",
    "450108",
    "450109",
    "450110",
    "450202",
    "450203",
    "450205",
    "450302",
    "450303",
    "450305",
    "450311",
    "450403",
    "450502",
    "450603",
    "450702",
    "450802",
    "450902",
    "451002",
    "451102",
    "451202",
    "451302",
    "451402",
]
INDUSTRY = {
    "meituan": "instant_delivery",
    "eleme": "instant_delivery",
    "dada": "instant_delivery",
    "shansong": "instant_delivery",
    "sfcity": "instant_delivery",
    "didi": "ride_hailing",
    "caocao": "ride_hailing",
    "huolala": "intracity_freight",
    "kuaigou": "intracity_freight",
    "didifreight": "intracity_freight",
    "manbang": "intracity_freight",
}


def setup_env(args: argparse.Namespace) -> Path:
    var = Path(args.var_dir).resolve()
    var.mkdir(parents=True, exist_ok=True)
    os.environ["OIP_VAR_DIR"] = str(var)
    if args.database_url:
        os.environ["OIP_DATABASE_URL"] = args.database_url
    else:
        os.environ.pop("OIP_DATABASE_URL", None)
    import oip.models  # noqa: F401  (every table's mapper)
    from oip.core import config, db

    config.get_settings.cache_clear()
    db.reset_engine()
    return var


def add_common(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--var-dir", default=str(ROOT / "var" / "bench"), help="var directory of the benchmark (default var/bench)"
    )
    p.add_argument("--database-url", default=None, help="PostgreSQL URL (default: embedded server under the var dir)")


def refuse_foreign_database() -> None:
    """A benchmark that starts afresh drops every table of its database: on a server given with
    ``--database-url`` it only does so in a database named for it (``bench`` in its name), never in
    ``postgres`` or an application's database given by mistake."""
    from sqlalchemy.engine import make_url

    url = os.environ.get("OIP_DATABASE_URL")
    if url and "bench" not in (make_url(url).database or ""):
        sys.exit(
            f"refusing to drop every table of database {make_url(url).database!r}: a benchmark starts from an "
            "empty schema; create one for it (CREATE DATABASE oip_bench) and give its URL"
        )


def upgrade(reset: bool = False) -> None:
    """Migrate the benchmark database (dropping everything first with ``reset``)."""
    from oip.cli import _upgrade
    from oip.core.db import get_engine

    if reset:
        refuse_foreign_database()
        with get_engine().begin() as c:
            c.exec_driver_sql("DROP SCHEMA public CASCADE; CREATE SCHEMA public;")
    _upgrade()


def account_id(tag: str, i: int) -> str:
    return f"B{tag}{i:07d}"


def register_accounts(
    platform_code: str, tag: str, n: int, registered_on: str = "2025-07-01", county: str = "450103"
) -> float:
    """``n`` persons with one account each on ``platform_code`` (ids ``account_id(tag, i)``), inserted
    in bulk with SQL (synthetic personal data: the benchmark measures orders, not registration).
    Idempotent. Returns seconds."""
    from sqlalchemy import text

    from oip.core.db import get_engine

    t0 = time.monotonic()
    with get_engine().begin() as c:
        pid = c.execute(text("SELECT id FROM platforms WHERE code = :c"), {"c": platform_code}).scalar_one()
        have = c.execute(
            text("SELECT count(*) FROM platform_accounts WHERE platform_id = :p AND account_id LIKE :l"),
            {"p": pid, "l": f"B{tag}%"},
        ).scalar_one()
        if have >= n:
            return time.monotonic() - t0
        c.execute(
            text("""
            WITH p AS (
                INSERT INTO persons (name, id_enc, id_bidx, id_masked, birth_date, sex)
                SELECT '测试' || g, '\\x00'::bytea, decode(md5(:tag || '-' || g), 'hex'), '450103********000' || (g % 10),
                       DATE '1990-01-01' + (g % 7000), CASE WHEN g % 2 = 0 THEN 'F' ELSE 'M' END
                FROM generate_series(:lo, :hi - 1) g
                RETURNING id, name)
            INSERT INTO platform_accounts (platform_id, account_id, person_id, county_code, phone_enc, phone_bidx,
                                           phone_masked, registered_on, status, status_on)
            SELECT :pid, 'B' || :tag || lpad(substr(p.name, 3), 7, '0'), p.id, :county, '\\x00'::bytea,
                   decode(md5('phone-' || :tag || p.name), 'hex'), '138****0000', CAST(:reg AS date), 'active', CAST(:reg AS date)
            FROM p"""),
            {"tag": tag, "lo": have, "hi": n, "pid": pid, "county": county, "reg": registered_on},
        )
    return time.monotonic() - t0


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far (DuckDB runs in-process). Linux: VmHWM of
    /proc/self/status — ``ru_maxrss`` would also count the parent's peak from before the fork."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def emit(record: dict) -> None:
    print(json.dumps(record, ensure_ascii=False), flush=True)


def fail(msg: str) -> None:
    print(msg, file=sys.stderr)
    sys.exit(2)
