"""The one pass (step 3 of the overview in ``oip.orders.ingest``): read, check and write a clean file
at once, then look for an order_id twice while the summaries are added."""

from __future__ import annotations

import itertools
import logging
import threading
from pathlib import Path

import duckdb
import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from oip.core.sqltext import ident, literal
from oip.orders import summaries
from oip.orders.ingest.interface import COORD_FIELDS, FIELDS, INT_FIELDS, TIME_FIELDS, Progress
from oip.orders.ingest.plan import Plan, ledger_select, write_ledger_file
from oip.orders.ingest.rules import Context, validated_view
from oip.orders.ingest.source import Source, csv_reader, parquet_inputs, text_source
from oip.orders.ingest.sqlhelp import watch_progress
from oip.orders.ingest.typed import fast_typed_select
from oip.orders.models import OrderBatch, OrderFile

log = logging.getLogger(__name__)


_REJECT_SIGNAL = "oip: a row needs the general path"


class _NeedsGeneralPath(Exception):
    """The one pass found rows that are not valid."""


def stage_fast(
    session: Session, con, ctx: Context, src: Source, work: Path, staged: Path, plan: Plan, report: Progress, step
) -> bool:
    """One pass for a batch that is all valid and has no order twice (what a platform's export
    normally is): read, check every rule and write the rows in the ledger format at once, without
    row numbers. In a CSV file the first row that is not valid, or a line the reader cannot split,
    stops the pass; in a Parquet file such rows are left out (and ``plan.fast_ok`` keeps the rest for
    the general path); a value of a type the pass does not take stops it in both. True when the pass
    held — staged holds every record; False (staged removed) when the batch needs the general path:
    a row to reject or an order_id twice. JSON Lines always takes the general path."""
    if src.fmt == "jsonl":
        return False
    stop = f"error({literal(_REJECT_SIGNAL)})"
    if src.fmt == "parquet":
        inputs = parquet_inputs(src)
        source = f"read_parquet({literal(str(src.path))})"
    else:
        # The reader parses the values itself. Numbers as DOUBLE, integers too: its BIGINT would
        # round "6.5" where the rule rejects it (the range checks bound integers far below 2^53).
        # Timestamps as TIMESTAMP in UTC with a mandatory offset (%z: +08:00, +0800, -02:00; a
        # time without one does not parse). A value it cannot parse, or a line it cannot split,
        # stops the pass like a bad row.
        types = {**{f: "DOUBLE" for f in COORD_FIELDS + INT_FIELDS}, **{f: "TIMESTAMP" for f in TIME_FIELDS}}
        source = csv_reader(src, text_source(src, work), types, "timestampformat='%Y-%m-%dT%H:%M:%S%z'")
        inputs = {
            f: (ident(f), "TIMESTAMP_UTC" if f in TIME_FIELDS else types.get(f, "VARCHAR"))
            for f in FIELDS
            if f in src.header
        }
    typed = fast_typed_select(inputs, source, stop)
    if typed is None:
        return False
    # A Parquet file's rows are counted in its metadata: its rows that break a rule are only left
    # out, so that the general path may keep what this pass wrote. The rows of a text file are not
    # known in advance: the first one that breaks a rule stops the pass.
    keep = "v.ok" if src.fmt == "parquet" else f"CASE WHEN v.ok THEN true ELSE {stop} END"
    con.execute(f"CREATE OR REPLACE VIEW t AS {typed}")
    con.execute(validated_view(ctx))
    try:
        # The reader cannot count a text file's rows in advance: keep the planner from taking it
        # for the small side of the joins with the accounts and counties.
        con.execute("SET disabled_optimizers = 'build_side_probe_side'")
        try:
            with watch_progress(con, report, "校验并写入", 0.05, 0.55):
                written = write_ledger_file(con, ledger_select(con, ctx, keep), staged)
        finally:
            con.execute("RESET disabled_optimizers")
        step("read")
        if src.fmt == "parquet" and written < src.rows:
            # Some rows are not valid: the general path says why (and compares the valid ones'
            # order_ids); these rows are kept for it, to stand unless it finds they are not exactly
            # the valid ones.
            plan.fast_ok, plan.fast_written = work / "fast-ok.parquet", written
            staged.rename(plan.fast_ok)
            raise _NeedsGeneralPath(f"{src.rows - written} of {src.rows} rows not valid")
        # An order_id twice: the general path tells repeats from conflicts, with row numbers. The
        # summaries of the staged rows are summed first (DuckDB, both cores); while the repeats are
        # checked, a thread encodes them and copies them into PostgreSQL under a savepoint — they
        # stand unless the batch turns out to repeat an order or one already stored.
        # When the ledger holds orders of this platform accepted within the batch's time span (the
        # same file sent again, or corrections), they are left to be added from the final files.
        failed: list[BaseException] = []
        adder = None
        if not _overlaps_stored(session, con, ctx, staged):
            source = f"read_parquet({literal(str(staged))})"
            months = [r[0] for r in con.execute(f"SELECT DISTINCT month FROM {source}").fetchall()]
            plan.summaries = session.begin_nested()
            rows = summaries.batches(con, summaries.rows_sql(ctx.platform_id, source))
            first = next(rows, None)  # DuckDB sums them here, on both cores; the thread streams them out

            def add() -> None:
                try:
                    summaries.add(
                        session, ctx.platform_id, months, itertools.chain([] if first is None else [first], rows)
                    )
                except BaseException as e:  # noqa: BLE001 - re-raised below
                    failed.append(e)

            adder = threading.Thread(target=add, name=f"ingest-b{ctx.batch_id}-summaries", daemon=True)
            adder.start()
        try:
            repeated = _has_repeats(con, staged, written, plan)
        finally:
            if adder is not None:
                adder.join()
        if failed:
            raise failed[0]
        ok = not repeated
        step("duplicates")
    except (duckdb.Error, _NeedsGeneralPath) as e:  # a row to reject, a line that cannot be split
        log.info("batch %s: the general path (%s)", ctx.batch_id, str(e).splitlines()[0][:200])
        ok = False
    if not ok:
        if plan.summaries is not None:
            plan.summaries.rollback()
            plan.summaries = None
        staged.unlink(missing_ok=True)
        con.execute("DROP VIEW IF EXISTS v")
        con.execute("DROP VIEW IF EXISTS t")
        return False
    plan.received = plan.valid_new = written
    return True


def _overlaps_stored(session: Session, con, ctx: Context, staged: Path) -> bool:
    """Whether a published file of the platform has orders accepted within the staged rows' span
    (from the files' statistics and the ledger's list: no data read)."""
    lo, hi = con.execute(
        f"SELECT min(accepted_at), max(accepted_at) FROM read_parquet({literal(str(staged))})"
    ).fetchone()
    if lo is None:
        return False
    return bool(
        session.scalar(
            select(OrderFile.id)
            .join(OrderBatch, OrderBatch.id == OrderFile.batch_id)
            .where(
                OrderBatch.status == "published",
                OrderFile.platform_code == ctx.platform_code,
                OrderFile.max_accepted_at >= lo,
                OrderFile.min_accepted_at <= hi,
            )
            .limit(1)
        )
    )


# Up to this many rows, repeated order_ids are looked for by sorting their 64-bit hashes in memory
# (8 bytes a row: 320 MB at most next to DuckDB's own limit); beyond, by DuckDB's hash aggregate,
# which spills to disk but costs about four times the CPU.
SORT_REPEATS_MAX_ROWS = 40_000_000


def repeated_hashes(con, hashes: str, rows: int, first_only: bool = False, keep: list | None = None) -> np.ndarray:
    """The values of column ``h`` (UBIGINT) of the query ``hashes`` (``rows`` rows at most) that occur
    more than once: by sorting them in memory, or above SORT_REPEATS_MAX_ROWS with DuckDB's hash
    aggregate. ``first_only``: stop at the first one found (whether there is any). ``keep``: the
    sorted hashes are appended to it (when sorted in memory)."""
    if rows > SORT_REPEATS_MAX_ROWS:
        limit = " LIMIT 1" if first_only else ""
        found = con.execute(f"SELECT h FROM ({hashes}) GROUP BY h HAVING count(*) > 1{limit}").fetchall()
        return np.array([r[0] for r in found], dtype=np.uint64)
    h = con.execute(hashes).fetchnumpy()["h"]
    h.sort()
    if keep is not None:
        keep.append(h)
    return np.unique(h[1:][h[1:] == h[:-1]])


def _has_repeats(con, staged: Path, rows: int, plan: Plan) -> bool:
    """Whether some order_id occurs twice in the staged file. Compared by 64-bit hash: two different
    ids with one hash (odds about 3 in a million for 10^7 rows) only send the batch to the general path,
    which compares the ids themselves. The hashes are kept in ``plan`` for the order-id index."""
    hashes = f"SELECT hash(order_id) AS h FROM read_parquet({literal(str(staged))})"
    kept: list = []
    found = bool(len(repeated_hashes(con, hashes, rows, first_only=True, keep=kept)))
    plan.staged_hashes = kept[0] if kept else None
    return found
