"""The import of one file as a batch (steps 1, 2 and 6 of the overview in ``oip.orders.ingest``):
the batch row and its locks, the work directory, the reference data copied into DuckDB, the
paths taken, publishing, and the clean-up of batches whose process died."""

from __future__ import annotations

import logging
import shutil
import time
from pathlib import Path
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from oip.core import audit, clock
from oip.core.db import get_engine
from oip.core.errors import DomainError, Forbidden
from oip.core.sqltext import literal
from oip.orders import ledger
from oip.orders.ingest.fast import stage_fast
from oip.orders.ingest.general import stage_general
from oip.orders.ingest.interface import FUTURE_TOLERANCE, ImportResult, Progress
from oip.orders.ingest.plan import Plan, rejects_file, staging_dir, workdir
from oip.orders.ingest.rules import Context
from oip.orders.ingest.source import Source, guess_format, open_source
from oip.orders.ingest.sqlhelp import copy_in, copy_out, enum_type
from oip.orders.ingest.stored import against_ledger
from oip.orders.models import OrderBatch
from oip.platforms.models import Platform
from oip.reference.models import Industry, Region

log = logging.getLogger(__name__)


_PLATFORM_LOCK = 0x0A0D19  # pg_advisory_xact_lock(_PLATFORM_LOCK, platform_id): one import per platform at a time
_ALIVE_LOCK = 0x0A0D1A  # pg_advisory_lock(_ALIVE_LOCK, batch_id): held by the process importing the batch


def _resolve_platform(session: Session, actor: Any, platform_code: str) -> Platform:
    from oip.auth.service import Principal

    code = (platform_code or "").strip()
    if not code:
        raise DomainError("请指明平台企业编码（platform_code）", field="platform_code")
    plat = session.scalar(select(Platform).where(Platform.code == code))
    if isinstance(actor, Principal) and actor.role.scope == "platform":
        if plat is None or plat.id != actor.platform_id:
            raise Forbidden(f"只能报送本企业的订单数据，不能报送平台 {code[:32]} 的", field="platform_code")
    if plat is None:
        raise DomainError(f"未知的平台企业编码 {code[:32]}", field="platform_code")
    return plat


def _context(session: Session, plat: Platform, batch_id: int) -> Context:
    from oip.platforms.phasing import coverage_start

    industry = session.get(Industry, plat.industry_code)
    start = coverage_start(plat, industry)
    if start is None:
        raise DomainError(
            f"平台企业 {plat.code} 尚未纳入试点（或未确定纳入日期），不能报送订单数据", field="platform_code"
        )
    return Context(
        batch_id=batch_id,
        platform_id=plat.id,
        platform_code=plat.code,
        industry_code=industry.code,
        industry_name=industry.name,
        coverage_start=start,
        coverage_end=industry.covered_to,
        now_limit=clock.now() + FUTURE_TOLERANCE,
    )


def recover_interrupted(session: Session) -> list[int]:
    """Mark batches left in ``staging`` by a process that died as failed, remove their leftover
    files and sweep the ledger of unlisted files. Batches still being imported are untouched
    (their process holds the batch's advisory lock). Commits."""
    dead: list[int] = []
    for bid in session.scalars(select(OrderBatch.id).where(OrderBatch.status == "staging")).all():
        if session.scalar(text("SELECT pg_try_advisory_lock(:k, :b)"), {"k": _ALIVE_LOCK, "b": bid}):
            try:
                b = session.scalar(select(OrderBatch).where(OrderBatch.id == bid).with_for_update(of=OrderBatch))
                if b is not None and b.status == "staging":
                    b.status = "failed"
                    b.error = "导入进程中断（未发布任何数据）"
                    audit.record(
                        session,
                        audit.SystemActor(label="orders.recover"),
                        "orders.recover",
                        entity_type="order_batch",
                        entity_id=bid,
                        after={"status": "failed"},
                    )
                    dead.append(bid)
                session.commit()
            except BaseException:
                session.rollback()
                raise
            finally:
                session.execute(text("SELECT pg_advisory_unlock(:k, :b)"), {"k": _ALIVE_LOCK, "b": bid})
                session.commit()
    for bid in dead:
        _remove_leftovers(bid)
    if dead:
        ledger.sweep(session)
        session.commit()
    return dead


def _remove_leftovers(batch_id: int) -> None:
    """Files of a batch that was never published: its work directory, staged files, and files that
    were already moved into the ledger when the publishing transaction failed (unlisted: invisible)."""
    shutil.rmtree(workdir(batch_id), ignore_errors=True)
    staging = staging_dir()
    if staging.exists():
        for p in staging.glob(f"b{batch_id:09d}-*"):  # *.parquet, and *.parquet.tmp the process was writing
            p.unlink(missing_ok=True)
    for orders in (ledger.root() / "orders", ledger.index_root() / "orders"):
        if orders.exists():
            for p in orders.glob(f"*/*/b{batch_id:09d}-*.parquet"):
                p.unlink(missing_ok=True)


def import_file(
    path: Path | str,
    platform_code: str,
    *,
    fmt: str | None = None,
    actor: Any = audit.SYSTEM,
    source: str = "cli",
    filename: str | None = None,
    progress: Progress | None = None,
    _fail_after: str | None = None,
) -> ImportResult:
    """Import one order file of ``platform_code``. Returns the batch's counts.

    Raises FileError (nothing imported, no batch) when the file cannot be read at all, DomainError
    when the platform cannot report orders. Any failure after the batch was created marks it
    ``failed`` with the error and leaves nothing of it in the ledger.

    ``actor``: a Principal (scope: a platform only for itself) or an audit SystemActor (CLI, demo).
    ``_fail_after``: tests only — raise after the named step to simulate a crash."""
    t0 = time.monotonic()
    path = Path(path)
    fmt = (fmt or guess_format(filename or path.name) or "csv").lower()
    report = progress or (lambda stage, done: None)
    engine = get_engine()
    with Session(engine) as s:
        plat = _resolve_platform(s, actor, platform_code)
        _context(s, plat, 0)  # refuse early a platform that cannot report orders
        plat_id = plat.id
    src = open_source(path, fmt)

    conn = engine.connect()
    session = Session(bind=conn, expire_on_commit=False)
    batch_id: int | None = None
    locked = False
    try:
        recover_interrupted(session)
        batch = OrderBatch(
            platform_id=plat_id,
            source=source,
            filename=(filename or path.name)[:256],
            fmt=fmt,
            status="staging",
            started_at=clock.now(),
            submitted_by=getattr(actor, "user_id", None),
        )
        session.add(batch)
        session.flush()
        batch_id = batch.id
        session.execute(text("SELECT pg_advisory_lock(:k, :b)"), {"k": _ALIVE_LOCK, "b": batch_id})
        locked = True
        session.commit()
        try:
            result = _run(session, batch_id, src, actor, report, t0, _fail_after)
        except BaseException as e:
            session.rollback()
            reason = e.reason if isinstance(e, DomainError) else f"{type(e).__name__}: {e}"[:2000]
            b = session.get(OrderBatch, batch_id)
            b.status, b.error = "failed", reason
            b.seconds = time.monotonic() - t0
            audit.record(
                session,
                actor,
                "orders.import_failed",
                entity_type="order_batch",
                entity_id=batch_id,
                after={"platform": platform_code, "error": reason[:500]},
            )
            session.commit()
            _remove_leftovers(batch_id)
            rejects_file(batch_id).unlink(missing_ok=True)
            raise
        return result
    finally:
        if locked:
            try:
                session.execute(text("SELECT pg_advisory_unlock(:k, :b)"), {"k": _ALIVE_LOCK, "b": batch_id})
                session.commit()
            except Exception:  # the connection is gone: the lock went with it
                pass
        session.close()
        conn.close()
        if batch_id is not None:
            shutil.rmtree(workdir(batch_id), ignore_errors=True)


def _run(
    session: Session, batch_id: int, src: Source, actor: Any, report: Progress, t0: float, fail_after: str | None
) -> ImportResult:
    last = [time.monotonic()]
    steps: dict[str, float] = {}

    def step(name: str) -> None:
        now = time.monotonic()
        log.info("batch %s: %s done in %.2f s", batch_id, name, now - last[0])
        steps[name] = round(steps.get(name, 0.0) + now - last[0], 3)
        last[0] = now
        if fail_after == name:
            raise RuntimeError(f"simulated failure after {name}")

    batch = session.get(OrderBatch, batch_id)
    plat = session.get(Platform, batch.platform_id)
    session.execute(text("SELECT pg_advisory_xact_lock(:k, :p)"), {"k": _PLATFORM_LOCK, "p": plat.id})
    ctx = _context(session, plat, batch_id)
    work = workdir(batch_id)
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    report("读取文件", 0.0)
    con = ledger.connect(str(work / "ingest.duckdb"))
    try:
        con.execute("SET preserve_insertion_order = false")  # the ledger keeps no order of its own
        con.execute("SET enable_progress_bar = true")  # query_progress() for the progress bar
        con.execute("SET enable_progress_bar_print = false")
        _load_reference(session, con, ctx, work)
        step("reference")
        plan = _check(session, con, ctx, src, work, report, step)
        step("staged")
        report("发布", 0.95)
        ledger.publish(session, batch, plan.staged)
        if plan.supersessions is not None:  # under the ledger lock publish took, in the same transaction
            copy_in(
                session,
                "order_supersessions",
                "platform_code, order_id, version, month, by_batch_id",
                plan.supersessions,
            )
        step("published")
        batch.received, batch.accepted, batch.rejected = plan.received, plan.accepted, plan.rejected
        batch.duplicates, batch.corrections = plan.duplicates, plan.corrections
        batch.rejects_path = str(plan.rejects_path) if plan.rejects_path else None
        batch.published_at = clock.now()
        batch.seconds = time.monotonic() - t0
        batch.error = None
        audit.record(
            session,
            actor,
            "orders.import",
            entity_type="order_batch",
            entity_id=batch_id,
            after={
                "platform": ctx.platform_code,
                "filename": batch.filename,
                "format": batch.fmt,
                "source": batch.source,
                "received": plan.received,
                "accepted": plan.accepted,
                "rejected": plan.rejected,
                "duplicates": plan.duplicates,
                "corrections": plan.corrections,
                "months": plan.months,
                "files": [f"{f.month}:{f.rows}" for f in plan.staged],
            },
        )
        step("before_commit")
        session.commit()
    finally:
        con.close()
    report("完成", 1.0)
    return ImportResult(
        batch_id=batch_id,
        received=plan.received,
        accepted=plan.accepted,
        rejected=plan.rejected,
        duplicates=plan.duplicates,
        corrections=plan.corrections,
        rejects_path=str(plan.rejects_path.resolve()) if plan.rejects_path else None,
        seconds=time.monotonic() - t0,
        months=plan.months,
        steps=steps,
    )


def _load_reference(session: Session, con, ctx: Context, work: Path) -> None:
    """The platform's accounts (with the day each one left the platform, if it did) and the counties."""
    accounts = work / "accounts.csv"
    copy_out(
        session,
        "SELECT account_id, person_id, registered_on, CASE WHEN status = 'left' THEN status_on END "
        f"FROM platform_accounts WHERE platform_id = {int(ctx.platform_id)}",
        accounts,
    )
    con.execute(f"""CREATE TABLE acc AS SELECT * FROM read_csv({literal(str(accounts))},
        columns={{'account_id': 'VARCHAR', 'person_id': 'BIGINT', 'registered_on': 'DATE', 'left_on': 'DATE'}},
        header=false, auto_detect=false, delim=',', quote='"', escape='"')""")
    rows = session.execute(
        select(Region.code, Region.valid_from, Region.valid_to).where(Region.level == "county")
    ).all()
    rows = [(c, f, t) for c, f, t in rows if c.startswith("45")]
    county = enum_type(r[0] for r in rows) if rows else "VARCHAR"  # the code as the ledger writer takes it
    con.execute(f"CREATE TABLE cty (code VARCHAR, valid_from DATE, valid_to DATE, county {county})")
    con.executemany(
        "INSERT INTO cty VALUES (?, ?, COALESCE(?, DATE '9999-12-31'), ?)", [(c, f, t, c) for c, f, t in rows]
    )


def _check(session: Session, con, ctx: Context, src: Source, work: Path, report: Progress, step) -> Plan:
    """Stage the batch's valid new rows (fast path, else the general one), then compare them with the
    ledger, write the final files and add the summaries."""
    plan = Plan()
    staged = work / "staged.parquet"
    con.execute("CREATE TABLE structural (row BIGINT, reason VARCHAR, raw VARCHAR)")
    report("读取文件", 0.05)
    if not stage_fast(session, con, ctx, src, work, staged, plan, report, step):
        report("逐行校验", 0.1)  # the file needs reasons and row numbers: the general path
        stage_general(con, ctx, src, work, staged, plan, report, step)
    against_ledger(session, con, ctx, staged, work, plan, report, step)
    return plan
