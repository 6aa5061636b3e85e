"""What an import decided before anything is published (``Plan``), where its files go, and the
valid rows in the ledger's columns."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from oip.core import clock
from oip.core.config import get_settings
from oip.core.sqltext import literal
from oip.orders import ledger
from oip.orders.ingest.interface import STATUSES
from oip.orders.ingest.rules import Context
from oip.orders.ingest.sqlhelp import enum_type


@dataclass
class Plan:
    """What the checks decided, before anything is published."""

    received: int = 0
    rejected: int = 0
    duplicates: int = 0
    accepted: int = 0
    corrections: int = 0
    staged: list[ledger.StagedFile] = field(default_factory=list)
    supersessions: Path | None = None  # CSV: the versions this batch supersedes
    rejects_path: Path | None = None
    months: list[str] = field(default_factory=list)
    valid_new: int = 0  # valid rows staged: each order of the batch once
    summaries: Any = None  # the savepoint under which the fast path added the summaries
    fast_ok: Path | None = None  # Parquet: the rows the one pass found valid, when it found others
    fast_written: int = 0
    staged_hashes: Any = None  # the one pass: hash(order_id) of every staged row (numpy), for the index


def workdir(batch_id: int) -> Path:
    return get_settings().var_dir / "ingest" / f"batch-{batch_id}"


def staging_dir() -> Path:
    return ledger.root() / "staging"


def rejects_file(batch_id: int) -> Path:
    return get_settings().var_dir / "rejects" / f"batch-{batch_id}.csv"


def ledger_select(con, ctx: Context, where: str) -> str:
    """The ledger columns of the valid rows of view ``v`` matching ``where`` (version 1: corrections
    get their version when compared with the ledger).

    The columns with few values — platform, industry, county, status, month — are handed to the
    Parquet writer as ENUMs of the values the rules admit. The file holds the same plain strings,
    but the writer's dictionaries cost a fraction of what hashing each string does. No string is
    looked up for it: a valid row's platform and industry are the batch's (constants), its county
    comes from the join with the counties, its month from a list indexed by the day's year and month."""
    # A valid row's day lies between the coverage start and now, so its index is 1 or more.
    first, last = ctx.coverage_start, ctx.now_limit.astimezone(clock.SHANGHAI).date()
    months = [
        f"{y:04d}-{m + 1:02d}"
        for y, m in (divmod(i, 12) for i in range(first.year * 12 + first.month - 1, last.year * 12 + last.month))
    ]
    index = f"(year(v.day) * 12 + month(v.day) - {first.year * 12 + first.month - 1})"
    month = "strftime(v.day, '%Y-%m')"
    if months:
        month = f"COALESCE(CAST([{', '.join(literal(m) for m in months)}] AS {enum_type(months)}[])[{index}], {month})"
    exprs = {
        "person_id": "v.person_id",
        "version": "1",
        "batch_id": str(int(ctx.batch_id)),
        "month": month,
        "day": "v.day",
        "platform_code": f"CAST({literal(ctx.platform_code)} AS {enum_type([ctx.platform_code])})",
        "industry": f"CAST({literal(ctx.industry_code)} AS {enum_type([ctx.industry_code])})",
        "status": f"CAST(v.status AS {enum_type(STATUSES)})",
        "county_code": "v.county",
    }
    cols = ", ".join(
        f"{exprs[c]} AS {c}"
        if c in ("platform_code", "industry", "status", "county_code")
        else f"CAST({exprs.get(c, f'v.{c}')} AS {typ}) AS {c}"
        for c, typ in ledger.COLUMNS.items()
    )
    return f"SELECT {cols} FROM v WHERE {where}"


def write_ledger_file(con, sql: str, target: Path) -> int:
    """COPY a query into a ledger-format Parquet file; the number of rows written."""
    return int(con.execute(f"COPY ({sql}) TO {literal(str(target))} ({ledger.WRITE_OPTIONS})").fetchone()[0] or 0)
