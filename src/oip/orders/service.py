"""Order data: scoped reads of batches and rejects, insured counts, and the entry points that import.

The write path is ``oip.orders.ingest.import_file`` (one batch, published atomically); this module
checks who may import for which platform and answers the questions officers and platforms ask:
which batches arrived and what was rejected, how many workers were insured (had at least one order)
per day or month, by platform and by city."""

from __future__ import annotations

import csv
import datetime as dt
import io
import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import func, select, true
from sqlalchemy.orm import Session

from oip.auth.scope import out_of_scope
from oip.auth.service import Principal
from oip.core import clock
from oip.core.errors import DomainError
from oip.core.months import month_span, parse_month
from oip.orders import ingest, scope
from oip.orders.models import OrderBatch, WorkerMonth
from oip.platforms.models import Platform
from oip.reference.models import Region

REJECTS_PREVIEW = 200


# ---- who may import for which platform -------------------------------------------------------------


def import_platform(session: Session, actor: Principal, platform_code: str | None) -> Platform:
    """The platform a principal imports orders for: a platform user only its own (the code may be
    omitted); an agency with ORDER_IMPORT any admitted platform, named."""
    from oip.platforms.service import acting_platform

    return acting_platform(session, actor, platform_code, "订单数据")


# ---- batches --------------------------------------------------------------------------------------


def _batch_scope(q, actor: Principal):
    return q.where(scope.batch_condition(actor))


def list_batches(
    session: Session, actor: Principal, *, platform_code: str | None = None, status: str | None = None, limit: int = 50
) -> list[OrderBatch]:
    """Newest first. A platform sees its own batches; officers see every platform's (batches are
    not regional: a file holds orders of the whole province)."""
    q = _batch_scope(select(OrderBatch), actor).order_by(OrderBatch.id.desc()).limit(limit)
    if platform_code:
        q = q.join(Platform, Platform.id == OrderBatch.platform_id).where(Platform.code == platform_code)
    if status:
        q = q.where(OrderBatch.status == status)
    return list(session.scalars(q))


def all_batches(session: Session, *, platform_code: str | None = None, limit: int = 20) -> list[OrderBatch]:
    """For the command line (no data scope)."""
    q = select(OrderBatch).order_by(OrderBatch.id.desc()).limit(limit)
    if platform_code:
        q = q.join(Platform, Platform.id == OrderBatch.platform_id).where(Platform.code == platform_code)
    return list(session.scalars(q))


def get_batch(session: Session, actor: Principal, batch_id: int) -> OrderBatch:
    b = session.scalar(_batch_scope(select(OrderBatch).where(OrderBatch.id == batch_id), actor))
    if b is None:
        raise out_of_scope("订单数据批次")
    return b


def batch_dict(b: OrderBatch) -> dict:
    plat = b.platform
    return {
        "batch_id": b.id,
        "platform_code": plat.code,
        "platform_name": plat.display_name(clock.today()),
        "source": b.source,
        "source_name": ingest.SOURCES.get(b.source, b.source),
        "filename": b.filename,
        "format": b.fmt,
        "status": b.status,
        "status_name": ingest.STATUS_NAMES.get(b.status, b.status),
        "received": b.received,
        "accepted": b.accepted,
        "rejected": b.rejected,
        "duplicates": b.duplicates,
        "corrections": b.corrections,
        "error": b.error,
        "started_at": b.started_at,
        "published_at": b.published_at,
        "seconds": b.seconds,
        "months": sorted({f.month for f in b.files}),
        "files": [{"month": f.month, "rows": f.rows} for f in b.files],
        "has_rejects": bool(b.rejects_path and Path(b.rejects_path).exists()),
    }


def rejects_path(b: OrderBatch) -> Path:
    if not b.rejects_path or not Path(b.rejects_path).exists():
        raise out_of_scope("拒绝清单（该批次没有被拒绝的记录）")
    return Path(b.rejects_path)


def _reject_rows(path: str | None, actor: Principal) -> Iterator[dict]:
    """The rejected records of a batch's file in ``actor``'s scope (streamed: the file may be large)."""
    if not path or not Path(path).exists():
        return
    with open(path, encoding="utf-8-sig", newline="") as fh:
        for row in csv.DictReader(fh):
            if scope.reject_in_scope(actor, row.get("county_code")):
                yield row


def rejects_csv(b: OrderBatch, actor: Principal) -> Iterator[bytes]:
    """The rejects file as ``actor`` may see it: the same columns, only the records in their scope
    (UTF-8 with BOM, like the file). Checked now, streamed when iterated."""
    path = str(rejects_path(b))
    with open(path, encoding="utf-8-sig", newline="") as fh:
        header = next(csv.reader(fh), None) or []

    def chunks() -> Iterator[bytes]:
        buf = io.StringIO()
        buf.write("\ufeff")
        w = csv.DictWriter(buf, fieldnames=header, lineterminator="\n")
        w.writeheader()
        for i, row in enumerate(_reject_rows(path, actor), 1):
            w.writerow(row)
            if i % 1000 == 0:
                yield buf.getvalue().encode()
                buf.seek(0)
                buf.truncate()
        yield buf.getvalue().encode()

    return chunks()


def rejects_preview(b: OrderBatch, actor: Principal, limit: int = REJECTS_PREVIEW) -> list[dict]:
    """The first ``limit`` rejected records in ``actor``'s scope."""
    return list(itertools.islice(_reject_rows(b.rejects_path, actor), limit))


# ---- insured counts ---------------------------------------------------------------------------------


@dataclass
class InsuredCounts:
    """Distinct insured workers (persons with at least one order) and orders in a period."""

    month: str
    day: dt.date | None
    insured: int
    orders: int
    by_platform: list[dict]
    by_city: list[dict]

    def as_dict(self) -> dict:
        return {
            "month": self.month,
            "day": self.day.isoformat() if self.day else None,
            "insured": self.insured,
            "orders": self.orders,
            "by_platform": self.by_platform,
            "by_city": self.by_city,
        }


def _scope_days(q, actor: Principal | None):
    if actor is None:
        return q
    if actor.role.scope == "region":
        return q.where(WorkerMonth.county_code.startswith(actor.region_prefix, autoescape=True))
    if actor.role.scope == "platform":
        return q.where(WorkerMonth.platform_id == (actor.platform_id or -1))
    return q.where(WorkerMonth.platform_id == -1)


def insured_counts(
    session: Session, actor: Principal | None, *, month: str, day: dt.date | None = None
) -> InsuredCounts:
    """Per platform and per city (the county code's first four digits + '00'), for the month or one
    day of it, inside the caller's data scope. A person on two platforms counts once in the total
    and once on each platform; a person taking orders in two cities counts in each city."""
    month = parse_month(month)
    first, nxt = month_span(month)
    if day is not None:
        if not first <= day < nxt:
            raise DomainError(f"日期 {day.isoformat()} 不在 {month} 月内", field="day")
        lo = day
        orders = WorkerMonth.day_orders[day.day]  # the orders of that day (PostgreSQL arrays are 1-based)
    else:
        lo = first
        orders = WorkerMonth.orders
    period = (WorkerMonth.month == first, orders > 0)
    total = session.execute(
        _scope_days(
            select(func.count(func.distinct(WorkerMonth.person_id)), func.coalesce(func.sum(orders), 0)).where(*period),
            actor,
        )
    ).one()
    rows = session.execute(
        _scope_days(
            select(Platform.code, func.count(func.distinct(WorkerMonth.person_id)), func.sum(orders))
            .join(Platform, Platform.id == WorkerMonth.platform_id)
            .where(*period),
            actor,
        )
        .group_by(Platform.code)
        .order_by(Platform.code)
    ).all()
    plats = {p.code: p for p in session.scalars(select(Platform).where(Platform.code.in_([r[0] for r in rows])))}
    city = func.substr(WorkerMonth.county_code, 1, 4) + "00"
    city_rows = session.execute(
        _scope_days(
            select(city, func.count(func.distinct(WorkerMonth.person_id)), func.sum(orders)).where(*period), actor
        )
        .group_by(city)
        .order_by(city)
    ).all()
    names = {r.code: r.name for r in session.scalars(select(Region).where(Region.code.in_([c for c, *_ in city_rows])))}
    return InsuredCounts(
        month=month,
        day=day,
        insured=int(total[0]),
        orders=int(total[1]),
        by_platform=[
            {"platform_code": c, "platform_name": plats[c].display_name(lo), "insured": int(n), "orders": int(o)}
            for c, n, o in rows
        ],
        by_city=[
            {"city_code": c, "city_name": names.get(c, c), "insured": int(n), "orders": int(o)} for c, n, o in city_rows
        ],
    )


def daily_insured(session: Session, actor: Principal | None, *, month: str) -> list[dict]:
    """Insured workers and orders of each day of the month (for the month's chart)."""
    first, nxt = month_span(parse_month(month))
    # Each worker-month row's orders of day i of the month (i from 1).
    u = func.unnest(WorkerMonth.day_orders).table_valued("n", with_ordinality="i").render_derived().lateral("u")
    rows = session.execute(
        _scope_days(
            select(u.c.i, func.count(func.distinct(WorkerMonth.person_id)), func.sum(u.c.n))
            .select_from(WorkerMonth)
            .join(u, true())
            .where(WorkerMonth.month == first, u.c.n > 0, u.c.i <= (nxt - first).days),
            actor,
        )
        .group_by(u.c.i)
        .order_by(u.c.i)
    ).all()
    return [
        {"day": (first + dt.timedelta(days=int(i) - 1)).isoformat(), "insured": int(n), "orders": int(o)}
        for i, n, o in rows
    ]


def months_with_data(session: Session, actor: Principal | None, limit: int = 24) -> list[str]:
    """Months that have published orders (newest first), for the month selector."""
    from oip.orders.models import OrderFile

    q = (
        select(OrderFile.month)
        .join(OrderBatch, OrderBatch.id == OrderFile.batch_id)
        .where(OrderBatch.status == "published")
        .distinct()
        .order_by(OrderFile.month.desc())
        .limit(limit)
    )
    if actor is not None and actor.role.scope == "platform":
        q = q.where(OrderBatch.platform_id == (actor.platform_id or -1))
    return list(session.scalars(q))


def import_upload(
    session: Session,
    actor: Principal,
    path: Path,
    *,
    platform_code: str | None,
    fmt: str | None,
    filename: str | None,
    source: str,
) -> ingest.ImportResult:
    """Import an uploaded file for the platform the principal may report for. The import runs on its
    own database connection and commits by itself (the batch is published atomically)."""
    plat = import_platform(session, actor, platform_code)
    session.rollback()  # release the request's snapshot: the import holds its own transaction
    return ingest.import_file(path, plat.code, fmt=fmt, actor=actor, source=source, filename=filename)


def result_dict(res: ingest.ImportResult) -> dict[str, Any]:
    return {
        "batch_id": res.batch_id,
        "received": res.received,
        "accepted": res.accepted,
        "rejected": res.rejected,
        "duplicates": res.duplicates,
        "corrections": res.corrections,
        "seconds": round(res.seconds, 3),
        "months": res.months,
        "rejects_url": f"/api/v1/orders/batches/{res.batch_id}/rejects.csv" if res.rejected else None,
    }
