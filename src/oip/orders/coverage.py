"""Coverage (保障状态): was a person covered at time T, and by which order?

A worker is covered at T when T lies in the window of one of their orders, from ``accepted_at`` to
``finished_at`` inclusive — cancelled orders too (the worker was working) — on a platform whose
workers are covered on that date (``platforms.service.is_covered``: platform admitted, industry in
the pilot). Asked for one platform account, or for a person across all their accounts.

How it stays fast at 100M orders: PostgreSQL's per-worker-month summaries (``WorkerMonth``: the
orders of each day of the month with the span of each day's orders, first acceptance to last
finish) say on which days the accounts worked, and when. Only those parts of the published Parquet
files are read with DuckDB: every order of T's day and the day before within the worker's span, the
order that finished last on the last worked day before, the first order of the first worked day
after — each as a range of ``accepted_at`` (files keep the platform's order, usually acceptance
time, so row-group statistics skip the rest). One in-memory DuckDB instance per process caches
Parquet footers; each call uses its own cursor, so look-ups may run in parallel threads."""

from __future__ import annotations

import datetime as dt
import threading
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import duckdb
from sqlalchemy import exists, select, tuple_
from sqlalchemy.orm import Session

from oip.core import clock, sqltext
from oip.core.errors import DomainError, NotFound
from oip.orders import ledger
from oip.orders.models import OrderBatch, OrderFile, OrderSupersession, WorkerMonth
from oip.platforms.models import Platform
from oip.reference.models import Industry
from oip.workers.models import PlatformAccount

STATUS_NAMES = {"completed": "已完成", "cancelled": "已取消"}


@dataclass(frozen=True)
class OrderRef:
    """An order as a coverage answer names it."""

    order_id: str
    platform_code: str
    account_id: str
    accepted_at: dt.datetime
    finished_at: dt.datetime
    status: str
    county_code: str
    version: int = 1

    def as_dict(self) -> dict:
        return {"order_id": self.order_id, "platform_code": self.platform_code, "account_id": self.account_id,
                "accepted_at": clock.local(self.accepted_at).isoformat(),
                "finished_at": clock.local(self.finished_at).isoformat(), "status": self.status,
                "county_code": self.county_code}


@dataclass
class CoverageResult:
    at: dt.datetime
    covered: bool
    order: OrderRef | None = None                        # the covering order (the earliest accepted if several)
    covering: list[OrderRef] = field(default_factory=list)  # every order whose window contains T
    nearest_before: OrderRef | None = None               # the last order finished before T
    nearest_after: OrderRef | None = None                # the first order accepted after T
    reason: str = ""
    accounts: list[tuple[str, str]] = field(default_factory=list)  # (platform_code, account_id) asked about

    @property
    def order_id(self) -> str | None:
        return self.order.order_id if self.order else None

    @property
    def platform_code(self) -> str | None:
        return self.order.platform_code if self.order else None

    def as_dict(self) -> dict:
        return {"covered": self.covered, "order_id": self.order_id, "platform_code": self.platform_code,
                "account_id": self.order.account_id if self.order else None,
                "at": clock.local(self.at).isoformat(), "reason": self.reason,
                "order": self.order.as_dict() if self.order else None,
                "covering": [o.as_dict() for o in self.covering],
                "nearest_before": self.nearest_before.as_dict() if self.nearest_before else None,
                "nearest_after": self.nearest_after.as_dict() if self.nearest_after else None}


def parse_at(raw: str) -> dt.datetime:
    """An ISO 8601 time with an offset (a time without one is refused: it would be ambiguous)."""
    s = (raw or "").strip().replace(" ", "T", 1)
    if s.endswith(("Z", "z")):
        s = s[:-1] + "+00:00"
    try:
        t = dt.datetime.fromisoformat(s)
    except ValueError:
        raise DomainError(f"时间 {raw[:40]} 格式错误：应为带时区的 ISO 8601 时间，如 2026-08-01T12:30:00+08:00",
                          field="at") from None
    if t.tzinfo is None:
        raise DomainError("时间须带时区偏移，如 2026-08-01T12:30:00+08:00", field="at")
    return t


# ---- the cached DuckDB instance ---------------------------------------------------------------------

_lock = threading.Lock()
_con: duckdb.DuckDBPyConnection | None = None


def _cursor() -> duckdb.DuckDBPyConnection:
    global _con
    with _lock:
        if _con is None:
            con = ledger.connect()
            con.execute("SET parquet_metadata_cache = true")  # ledger files never change once written
            _con = con
        return _con.cursor()


# ---- the look-up ------------------------------------------------------------------------------------

@dataclass
class _Account:
    platform: Platform
    industry: Industry
    account_id: str


def _accounts(session: Session, *, person_id: int | None, platform_code: str | None, account_id: str | None,
              actor: Any = None) -> list[_Account]:
    from oip.auth.scope import account_condition, out_of_scope

    if person_id is not None:
        if actor is not None:
            visible = session.scalar(select(exists().where(PlatformAccount.person_id == person_id,
                                                           account_condition(actor))))
            if not visible:
                raise out_of_scope("人员")
        rows = session.execute(select(PlatformAccount.account_id, Platform).join(
            Platform, Platform.id == PlatformAccount.platform_id).where(PlatformAccount.person_id == person_id)
            .order_by(Platform.code)).all()
        if not rows:
            raise NotFound("人员不存在或没有平台账号", field="person_id")
    else:
        if not platform_code or not account_id:
            raise DomainError("请指明人员（person_id），或平台编码和平台账号（platform_code、account_id）",
                              field="account_id")
        q = select(PlatformAccount.account_id, Platform).join(Platform, Platform.id == PlatformAccount.platform_id) \
            .where(Platform.code == platform_code, PlatformAccount.account_id == account_id)
        if actor is not None:
            q = q.where(account_condition(actor))
        rows = session.execute(q).all()
        if not rows:
            raise out_of_scope("平台账号")
    industries = {i.code: i for i in session.scalars(select(Industry))}
    return [_Account(p, industries[p.industry_code], a) for a, p in rows]


def _local_day(t: dt.datetime) -> dt.date:
    return t.astimezone(clock.SHANGHAI).date()


def covered_at(session: Session, *, at: dt.datetime, person_id: int | None = None, platform_code: str | None = None,
               account_id: str | None = None, actor: Any = None) -> CoverageResult:
    """Whether the person (all their platform accounts) or the platform account was covered at
    ``at``, by which order, and the nearest orders before and after. ``actor``: when given, the
    person or account must be inside their data scope (else NotFound)."""
    if at.tzinfo is None:
        raise DomainError("时间须带时区", field="at")
    accounts = _accounts(session, person_id=person_id, platform_code=platform_code, account_id=account_id,
                         actor=actor)
    by_key = {(a.platform.id, a.account_id): a for a in accounts}
    keys = list(by_key)
    d = _local_day(at)
    key_cond = tuple_(WorkerMonth.platform_id, WorkerMonth.account_id).in_(keys)

    # The accounts' worker-months (a handful of rows): the days they worked with the span of each
    # day's orders.
    months = session.execute(select(WorkerMonth.platform_id, WorkerMonth.account_id, WorkerMonth.month,
                                    WorkerMonth.day_orders, WorkerMonth.day_first, WorkerMonth.day_last)
                             .where(key_cond)).all()
    worked: dict[dt.date, list[tuple[_Account, dt.datetime, dt.datetime]]] = defaultdict(list)
    for m in months:
        acct = by_key[(m.platform_id, m.account_id)]
        for i, n in enumerate(m.day_orders or []):
            if n and m.day_first[i] is not None and m.day_last[i] is not None:
                day = m.month + dt.timedelta(days=i)
                start = _day_start(day)
                worked[day].append((acct, start + dt.timedelta(seconds=m.day_first[i]),
                                    start + dt.timedelta(seconds=m.day_last[i])))
    day_before = d - dt.timedelta(days=1)
    # The days around T: T's day and the day before if worked, the last worked day before, the first after.
    prev_day = max((x for x in worked if x < day_before), default=None)
    next_day = min((x for x in worked if x > d), default=None)

    # What to read: every order of the window days (within each day's span), the order that
    # finished last on the last worked day before (the nearest before), and the first order of the
    # first worked day after (the nearest after).
    reads: list[_Read] = []
    for day in (day_before, d):
        reads += [_Read(a, day, lo, hi) for a, lo, hi in worked.get(day, [])]
    if prev_day is not None:
        last = max(hi for _, _, hi in worked[prev_day])
        reads += [_Read(a, prev_day, lo, hi, finished_from=last - dt.timedelta(seconds=1))
                  for a, lo, hi in worked[prev_day] if hi == last]
    if next_day is not None:
        first = min(lo for _, lo, _ in worked[next_day])
        reads += [_Read(a, next_day, lo, lo + dt.timedelta(seconds=1))
                  for a, lo, hi in worked[next_day] if lo == first]
    orders = _fetch(session, reads) if reads else []

    covering = sorted((o for o in orders if o.accepted_at <= at <= o.finished_at),
                      key=lambda o: (o.accepted_at, o.order_id))
    before = max((o for o in orders if o.finished_at < at), key=lambda o: (o.finished_at, o.order_id), default=None)
    after = min((o for o in orders if o.accepted_at > at), key=lambda o: (o.accepted_at, o.order_id), default=None)
    res = CoverageResult(at=at, covered=False, nearest_before=before, nearest_after=after,
                         accounts=[(a.platform.code, a.account_id) for a in accounts])
    from oip.platforms.service import is_covered

    eligible = [o for o in covering
                if is_covered(by_key[_key(accounts, o)].platform, by_key[_key(accounts, o)].industry,
                              _local_day(o.accepted_at))]
    if eligible:
        res.covered, res.order, res.covering = True, eligible[0], eligible
        extra = f"（同时进行中的订单共 {len(eligible)} 单）" if len(eligible) > 1 else ""
        res.reason = (f"在保：{clock.fmt(at)} 处于订单 {eligible[0].order_id} 的执行期间"
                      f"（{clock.fmt(eligible[0].accepted_at)} 接单至 {clock.fmt(eligible[0].finished_at)}"
                      f"{STATUS_NAMES.get(eligible[0].status, eligible[0].status)}）{extra}")
    elif covering:
        res.covering = covering
        res.reason = f"该时点有进行中的订单 {covering[0].order_id}，但该平台在订单日期不在职业伤害保障范围内"
    else:
        res.reason = "该时点没有进行中的订单（未在保）"
    return res


def _key(accounts: list[_Account], o: OrderRef) -> tuple[int, str]:
    for a in accounts:
        if a.platform.code == o.platform_code and a.account_id == o.account_id:
            return a.platform.id, a.account_id
    raise KeyError(o.platform_code)


@dataclass(frozen=True)
class _Read:
    """The orders of one account on one day accepted in [lo, hi] (and, when given, finished at or
    after ``finished_from``)."""

    account: _Account
    day: dt.date
    lo: dt.datetime
    hi: dt.datetime
    finished_from: dt.datetime | None = None


def _day_start(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), clock.SHANGHAI)


def _fetch(session: Session, reads: list[_Read]) -> list[OrderRef]:
    """The current orders the reads ask for, from the published files. Each read is a range of
    ``accepted_at`` (files keep the platform's order, usually acceptance time: the row groups
    outside the range are skipped) in the files of its platform and month that overlap it."""
    codes = sorted({r.account.platform.code for r in reads})
    months = sorted({r.day.strftime("%Y-%m") for r in reads})
    files = session.execute(select(OrderFile.platform_code, OrderFile.month, OrderFile.path,
                                   OrderFile.min_accepted_at, OrderFile.max_accepted_at).join(
        OrderBatch, OrderBatch.id == OrderFile.batch_id).where(
        OrderBatch.status == "published", OrderFile.platform_code.in_(codes), OrderFile.month.in_(months),
        OrderFile.max_accepted_at >= min(r.lo for r in reads), OrderFile.min_accepted_at <= max(r.hi for r in reads))
        .order_by(OrderFile.id)).all()
    if not files:
        return []
    parts = []
    for r in reads:
        code, month = r.account.platform.code, r.day.strftime("%Y-%m")
        paths = [str(ledger.root() / f.path) for f in files
                 if f.platform_code == code and f.month == month and f.max_accepted_at >= r.lo
                 and f.min_accepted_at <= r.hi]
        if not paths:
            continue
        finished = f" AND finished_at >= {sqltext.literal(r.finished_from)}" if r.finished_from else ""
        parts.append(
            f"SELECT order_id, platform_code, worker_account_id, accepted_at, finished_at, status, county_code, "
            f"version FROM read_parquet({sqltext.array(paths)}) WHERE worker_account_id = {sqltext.literal(r.account.account_id)} "
            f"AND accepted_at >= {sqltext.literal(r.lo)} AND accepted_at <= {sqltext.literal(r.hi)}{finished}")
    out: list[OrderRef] = []
    if parts:
        cur = _cursor()
        try:
            for row in cur.execute(" UNION ALL ".join(parts)).fetchall():
                out.append(OrderRef(row[0], row[1], row[2], row[3], row[4], row[5], row[6], int(row[7])))
        finally:
            cur.close()
    if not out:
        return out
    # Leave out superseded versions (corrections) and keep the newest version of each order.
    sup = set(session.execute(select(OrderSupersession.platform_code, OrderSupersession.order_id,
                                     OrderSupersession.version).where(
        tuple_(OrderSupersession.platform_code, OrderSupersession.order_id).in_(
            list({(o.platform_code, o.order_id) for o in out})))).all())
    current = [o for o in out if (o.platform_code, o.order_id, o.version) not in sup]
    newest: dict[tuple[str, str], OrderRef] = {}
    for o in current:
        k = (o.platform_code, o.order_id)
        if k not in newest or o.version > newest[k].version:
            newest[k] = o
    return list(newest.values())

