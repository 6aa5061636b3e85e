"""The staged rows against the ledger (step 5 of the overview in ``oip.orders.ingest``):
duplicates, corrections as new versions, the final files with their order-id indexes, the
per-worker-month summaries."""

from __future__ import annotations

import shutil
from pathlib import Path

from sqlalchemy.orm import Session

from oip.core.sqltext import array, literal
from oip.orders import ledger, summaries
from oip.orders.ingest.interface import Progress
from oip.orders.ingest.plan import Plan, staging_dir, write_ledger_file
from oip.orders.ingest.rules import CONTENT_COLUMNS, Context, content_hash_sql
from oip.orders.ingest.sqlhelp import copy_out, scalar


def against_ledger(
    session: Session, con, ctx: Context, staged: Path, work: Path, plan: Plan, report: Progress, step
) -> None:
    """The staged rows against what the ledger holds for their months ±1 and for the months whose
    order-id index holds one of their ids (duplicates, corrections),
    the final files (one per month), the per-worker-month summaries, the superseded versions."""
    report("比对已有订单", 0.6)
    con.execute(
        f"CREATE VIEW s AS SELECT file_row_number AS srn, * EXCLUDE (file_row_number) "
        f"FROM read_parquet({literal(str(staged))}, file_row_number=true)"
    )
    month_rows = dict(con.execute("SELECT month, count(*) FROM s GROUP BY month").fetchall())
    near: set[str] = set()
    for m in month_rows:
        y, mo = int(m[:4]), int(m[5:7])
        for d in (-1, 0, 1):
            yy, mm = divmod(y * 12 + mo - 1 + d, 12)
            near.add(f"{yy:04d}-{mm + 1:02d}")
    if month_rows:
        # An order_id is the platform's for ever: a stored version in any other month (the order
        # sent again with another accepted_at) is found through the order-id index, and its month
        # compared too — so that the order is corrected, never billed twice.
        lo, hi = con.execute(
            f"SELECT min(order_id), max(order_id) FROM read_parquet({literal(str(staged))})"
        ).fetchone()
        near |= ledger.months_holding(
            con, session, ctx.platform_code, "SELECT hash(order_id) AS h FROM s", (lo, hi), skip=near
        )
    stored = (
        ledger.files(session, ledger.Slice(months=tuple(sorted(near)), platforms=(ctx.platform_code,))) if near else []
    )
    con.execute("CREATE TABLE stored_dup (srn BIGINT)")
    con.execute(
        "CREATE TABLE corr (srn BIGINT, order_id VARCHAR, version INTEGER, old_version INTEGER, "
        "old_month VARCHAR, account_id VARCHAR, day DATE, county_code VARCHAR)"
    )
    if stored:
        # The current version of each stored order: the rows of the files less the superseded
        # versions (the per-platform import lock guarantees one current row per order_id; should
        # that ever fail, stored duplicates are counted twice and the reconciliation below stops
        # the import).
        has_sup = _load_superseded(session, con, ctx, sorted(near), work)
        not_superseded = (
            ("AND NOT EXISTS (SELECT 1 FROM sup0 WHERE sup0.order_id = o.order_id AND sup0.version = o.version)")
            if has_sup
            else ""
        )
        # The same order_id: the same content is a duplicate, other content a correction. One join
        # of narrow rows (id, version, content hash of each side) finds the equal ones; the rest are
        # compared value by value (so a collision could only ever make a correction, never lose one).
        con.execute(f"""CREATE TABLE sh AS
            SELECT n.srn, n.order_id, st.ver, n.h = st.h AS eq
            FROM (SELECT srn, order_id, {content_hash_sql("s")} AS h FROM s) n
            JOIN (SELECT o.order_id, o.version AS ver, {content_hash_sql("o")} AS h
                  FROM read_parquet({array(stored)}) o WHERE true {not_superseded}) st
              ON st.order_id = n.order_id""")
        con.execute("INSERT INTO stored_dup SELECT srn FROM sh WHERE eq")
        if scalar(con, "SELECT count(*) FROM sh WHERE NOT eq"):
            same = " AND ".join(f"n.{c} IS NOT DISTINCT FROM o.{c}" for c in CONTENT_COLUMNS)
            con.execute(f"""CREATE TABLE cmp AS
                SELECT n.srn, n.order_id, ({same}) AS same, o.version, o.month, o.worker_account_id, o.day,
                       o.county_code
                FROM (SELECT * FROM s WHERE srn IN (SELECT srn FROM sh WHERE NOT eq)) n
                JOIN sh c ON c.srn = n.srn
                JOIN read_parquet({array(stored)}) o ON o.order_id = c.order_id AND o.version = c.ver""")
            con.execute("INSERT INTO stored_dup SELECT srn FROM cmp WHERE same")
            con.execute("""INSERT INTO corr SELECT srn, order_id, version + 1, version, month, worker_account_id,
                                  day, county_code FROM cmp WHERE NOT same""")
    step("stored")
    plan.corrections = scalar(con, "SELECT count(*) FROM corr")
    if plan.corrections:
        # The superseded versions, for PostgreSQL (COPY: a correction may cover a whole month).
        plan.supersessions = work / "supersessions.csv"
        con.execute(f"""COPY (SELECT {literal(ctx.platform_code)}, order_id, old_version, old_month, {int(ctx.batch_id)}
            FROM corr ORDER BY order_id) TO {literal(str(plan.supersessions))} (FORMAT csv, HEADER false)""")
    stored_dups = scalar(con, "SELECT count(*) FROM stored_dup")
    plan.duplicates += stored_dups

    # The final files, one per month: the staged file itself when it is all new orders of one month,
    # else rewritten per month without the stored duplicates and with the corrections' versions.
    report("写入账本文件", 0.7)
    staging = staging_dir()
    staging.mkdir(parents=True, exist_ok=True)
    written: list[tuple[str, Path, int]] = []
    hashes = None
    if len(month_rows) == 1 and not stored_dups and not plan.corrections:
        ((m, rows),) = month_rows.items()
        target = staging / f"b{ctx.batch_id:09d}-000.parquet"
        con.execute("DROP VIEW s")
        shutil.move(str(staged), target)
        written.append((m, target, int(rows)))
        hashes = plan.staged_hashes  # the one pass's: the index of this very file
    elif stored_dups == sum(month_rows.values()):
        pass  # every order is stored already (the same file sent again): nothing to write
    else:
        cols = ", ".join(
            "COALESCE(corr.version, s.version) AS version" if c == "version" else f"s.{c}" for c in ledger.COLUMNS
        )
        for n, m in enumerate(sorted(month_rows)):
            target = staging / f"b{ctx.batch_id:09d}-{n:03d}.parquet"
            rows = write_ledger_file(
                con,
                f"""SELECT {cols} FROM s LEFT JOIN corr USING (srn)
                WHERE s.month = {literal(m)} AND s.srn NOT IN (SELECT srn FROM stored_dup)""",
                target,
            )
            written.append((m, target, rows))
    for m, target, rows in written:
        if not rows:
            target.unlink(missing_ok=True)
            continue
        lo, hi, first_id, last_id = con.execute(
            "SELECT min(accepted_at), max(accepted_at), min(order_id), max(order_id) "
            f"FROM read_parquet({literal(str(target))})"
        ).fetchone()
        index = target.with_name(target.stem + ".ids.parquet")
        if hashes is not None and len(hashes) == rows:
            ledger.write_index_hashes(hashes, index)
        else:
            ledger.write_index(con, target, index)
        plan.staged.append(
            ledger.StagedFile(
                path=target,
                month=m,
                platform_code=ctx.platform_code,
                rows=rows,
                min_accepted_at=lo,
                max_accepted_at=hi,
                index=index,
                min_order_id=first_id,
                max_order_id=last_id,
            )
        )
        plan.accepted += rows
    plan.months = [f.month for f in plan.staged]
    step("written")
    if (
        plan.accepted != plan.valid_new - stored_dups
        or plan.received != plan.accepted + plan.rejected + plan.duplicates
    ):
        raise RuntimeError(
            f"counts do not reconcile: received {plan.received}, accepted {plan.accepted} "
            f"(expected {plan.valid_new - stored_dups}), rejected {plan.rejected}, "
            f"duplicates {plan.duplicates}"
        )

    # The per-worker-month summaries of the accepted rows (in the import's transaction: invisible
    # until it commits); those that held a version now superseded are summed again from the current rows.
    report("汇总", 0.85)
    if plan.summaries is not None and (stored_dups or plan.corrections):
        plan.summaries.rollback()  # added from the staged rows, some of which are not accepted
        plan.summaries = None
    if plan.summaries is not None:
        plan.summaries.commit()  # release the savepoint: the summaries stand
    elif plan.staged:
        _add_summaries(session, con, ctx, f"read_parquet({array(f.path for f in plan.staged)})", plan.months)
    if plan.corrections:
        _rebuild_months(session, con, ctx, plan, stored)
    step("summaries")


def _load_superseded(session: Session, con, ctx: Context, months: list[str], work: Path) -> bool:
    """Table ``sup0``: the versions of the platform's orders in ``months`` already superseded
    (through a file: there may be millions). Returns whether there are any."""
    path = work / "superseded.csv"
    copy_out(
        session,
        "SELECT order_id, version FROM order_supersessions WHERE platform_code = "
        f"{literal(ctx.platform_code)} AND month IN ({', '.join(literal(m) for m in months)})",
        path,
    )
    con.execute("CREATE TABLE sup0 (order_id VARCHAR, version INTEGER)")
    if path.stat().st_size:
        con.execute(f"""INSERT INTO sup0 SELECT * FROM read_csv({literal(str(path))}, header=false, auto_detect=false,
            columns={{'order_id': 'VARCHAR', 'version': 'INTEGER'}}, delim=',', quote='"', escape='"')""")
    return bool(path.stat().st_size)


def _add_summaries(session: Session, con, ctx: Context, source: str, months: list[str]) -> None:
    """Add the per-worker-month summaries of the rows of ``source`` (of ``months``) to PostgreSQL."""
    summaries.add(session, ctx.platform_id, months, summaries.batches(con, summaries.rows_sql(ctx.platform_id, source)))


def _rebuild_months(session: Session, con, ctx: Context, plan: Plan, stored: list[Path]) -> None:
    """The worker-months that held a now superseded version: summed again from the current rows
    (gone when none is left)."""
    con.execute(
        "CREATE TABLE sup AS SELECT order_id, version FROM sup0 UNION ALL SELECT order_id, old_version FROM corr"
    )
    con.execute("""CREATE TABLE aff AS SELECT DISTINCT account_id, CAST(date_trunc('month', day) AS DATE) AS month,
                   county_code FROM corr""")
    keys = con.execute("SELECT account_id, strftime(month, '%Y-%m-%d'), county_code FROM aff").fetchall()
    sources = [str(p) for p in stored] + [str(f.path) for f in plan.staged]
    current = f"""(SELECT o.* FROM read_parquet({array(sources)}) o
        WHERE o.worker_account_id IN (SELECT account_id FROM aff)
          AND NOT EXISTS (SELECT 1 FROM sup sp WHERE sp.order_id = o.order_id AND sp.version = o.version))"""
    rows = f"""SELECT m.* FROM ({summaries.rows_sql(ctx.platform_id, current)}) m
        WHERE EXISTS (SELECT 1 FROM aff a WHERE a.account_id = m.account_id AND a.month = m.month
                                            AND a.county_code = m.county_code)"""
    summaries.replace(session, ctx.platform_id, keys, summaries.batches(con, rows))
