"""Coverage (保障状态): was a person covered at time T, and by which order?

A worker is covered at T when T lies in the window of one of their orders, from ``accepted_at`` to
``finished_at`` inclusive — cancelled orders too (the worker was working) — on a platform whose
workers are covered on that date (``platforms.phasing.is_covered``: platform admitted, industry in
the pilot). Asked for one platform account, or for a person across all their accounts.

How it stays fast at 100M orders: PostgreSQL's per-worker-month summaries (``WorkerMonth``: the
orders of each day of the month with the span of each day's orders, first acceptance to last
finish) say on which days the accounts worked, and when. Only those parts of the published Parquet
files are read with DuckDB: every order of T's day and the day before within the worker's span, the
order that finished last on the last worked day before, the first order of the first worked day
after — each as a range of ``accepted_at`` (files keep the platform's order, usually acceptance
time, so row-group statistics skip the rest). One in-memory DuckDB instance per process caches
Parquet footers; each call uses its own cursor, so look-ups may run in parallel threads.

This module loads (accounts, summaries, ledger rows); what to read and what the answer is are
decided in ``oip.orders.coverage_rules`` (pure, tested without a database)."""

from __future__ import annotations

import datetime as dt
import threading
from dataclasses import dataclass, field
from typing import Any

import duckdb
from sqlalchemy import select, true, tuple_
from sqlalchemy.orm import Session

from oip.auth.scope import out_of_scope
from oip.core import audit, clock, sqltext
from oip.core.errors import DomainError, NotFound
from oip.core.months import month_of
from oip.orders import coverage_rules as rules, ledger
from oip.orders.coverage_rules import OrderRef
from oip.orders.models import OrderBatch, OrderFile, OrderSupersession, WorkerMonth
from oip.platforms.models import Platform, names_only
from oip.platforms.phasing import coverage_start
from oip.reference.models import Industry
from oip.workers.models import PlatformAccount
from oip.workers.scope import account_condition, sees_person_ids


@dataclass
class CoverageResult:
    at: dt.datetime
    covered: bool
    order: OrderRef | None = None  # the covering order (the earliest accepted if several)
    covering: list[OrderRef] = field(default_factory=list)  # every order whose window contains T
    nearest_before: OrderRef | None = None  # the last order finished before T
    nearest_after: OrderRef | None = None  # the first order accepted after T
    reason: str = ""
    accounts: list[tuple[str, str]] = field(default_factory=list)  # (platform_code, account_id) asked about

    @property
    def order_id(self) -> str | None:
        return self.order.order_id if self.order else None

    @property
    def platform_code(self) -> str | None:
        return self.order.platform_code if self.order else None

    def as_dict(self) -> dict:
        return {
            "covered": self.covered,
            "order_id": self.order_id,
            "platform_code": self.platform_code,
            "account_id": self.order.account_id if self.order else None,
            "at": clock.local(self.at).isoformat(),
            "reason": self.reason,
            "order": self.order.as_dict() if self.order else None,
            "covering": [o.as_dict() for o in self.covering],
            "nearest_before": self.nearest_before.as_dict() if self.nearest_before else None,
            "nearest_after": self.nearest_after.as_dict() if self.nearest_after else None,
        }


def parse_at(raw: str, *, naive_in_beijing: bool = False) -> dt.datetime:
    """An ISO 8601 time. Without an offset it is refused (it would be ambiguous), unless
    ``naive_in_beijing``: a page's date-time picker (``2026-08-01T12:30``) speaks Beijing time."""
    s = (raw or "").strip().replace(" ", "T", 1)
    if s.endswith(("Z", "z")):
        s = s[:-1] + "+00:00"
    try:
        t = dt.datetime.fromisoformat(s)
    except ValueError:
        example = (
            "请用日期时间选择器选择，如 2026-08-01 12:30"
            if naive_in_beijing
            else "应为带时区的 ISO 8601 时间，如 2026-08-01T12:30:00+08:00"
        )
        raise DomainError(f"时点“{raw[:40]}”格式错误：{example}", field="at") from None
    if t.tzinfo is None:
        if naive_in_beijing:
            return t.replace(tzinfo=clock.SHANGHAI)
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
            # A look-up reads a row group or two: one thread each. Requests run side by side, and several
            # DuckDB threads per look-up only fought them for the cores (p50 1.2 s → 79 ms at 100 req/s
            # with two server processes on two cores: bench/load.py).
            con.execute("SET threads = 1")
            _con = con
        return _con.cursor()


# ---- the look-up ------------------------------------------------------------------------------------


def _accounts(
    session: Session, *, person_id: int | None, platform_code: str | None, account_id: str | None, actor: Any = None
) -> tuple[dict[tuple[int, str], rules.Account], set[int]]:
    """The accounts asked about by (platform id, account id), each with the days its platform's
    orders are covered, and the people they belong to. With an ``actor``, only the accounts in their
    data scope: a person's look-up answers with the same accounts as asking for each account."""
    scope = account_condition(actor) if actor is not None else true()
    if person_id is not None and actor is not None and not sees_person_ids(actor):
        raise out_of_scope("人员")  # platforms ask by platform account (person ids are not theirs to probe)
    if person_id is not None:
        rows = session.execute(
            select(PlatformAccount.account_id, PlatformAccount.person_id, Platform)
            .join(Platform, Platform.id == PlatformAccount.platform_id)
            .where(PlatformAccount.person_id == person_id, scope)
            .options(*names_only())
            .order_by(Platform.code)
        ).all()
        if not rows:
            if actor is not None:
                raise out_of_scope("人员")
            raise NotFound("人员不存在或没有平台账号", field="person_id")
    else:
        if not platform_code or not account_id:
            raise DomainError(
                "请指明人员（person_id），或平台编码和平台账号（platform_code、account_id）", field="account_id"
            )
        rows = session.execute(
            select(PlatformAccount.account_id, PlatformAccount.person_id, Platform)
            .join(Platform, Platform.id == PlatformAccount.platform_id)
            .where(Platform.code == platform_code, PlatformAccount.account_id == account_id, scope)
            .options(*names_only())
        ).all()
        if not rows:
            raise out_of_scope("平台账号")
    industries = {i.code: i for i in session.scalars(select(Industry))}
    today = clock.today()
    out = {}
    for a, _person, p in rows:
        industry = industries[p.industry_code]
        out[(p.id, a)] = rules.Account(
            rules.PlatformRef(p.code, p.display_name(today)), a, coverage_start(p, industry), industry.covered_to
        )
    return out, {person for _a, person, _p in rows}


audit.register_actions({"coverage.lookup": "查询某时点的保障状态（订单）"})


def covered_at(
    session: Session,
    *,
    at: dt.datetime,
    person_id: int | None = None,
    platform_code: str | None = None,
    account_id: str | None = None,
    actor: Any = None,
    purpose: str | None = None,
) -> CoverageResult:
    """Whether the person (all their platform accounts) or the platform account was covered at
    ``at``, by which order, and the nearest orders before and after. ``actor``: when given, only the
    accounts in their data scope are asked about (none: NotFound), and the look-up is audited
    (``coverage.lookup``: it tells where and when the person worked).

    Load (the accounts, their worked days, the orders ``rules.plan_reads`` asks for) → decide
    (``rules.decide``) → the result."""
    if at.tzinfo is None:
        raise DomainError("时间须带时区", field="at")
    purpose = (purpose or "").strip() or None
    if purpose and len(purpose) > 200:
        raise DomainError("查询事由不能超过 200 个字", field="purpose")
    accounts, people = _accounts(
        session, person_id=person_id, platform_code=platform_code, account_id=account_id, actor=actor
    )
    reads = rules.plan_reads(at, _worked_days(session, accounts))
    orders = _fetch(session, reads) if reads else []
    d = rules.decide(at, list(accounts.values()), orders)
    result = CoverageResult(
        at=at,
        covered=d.covered,
        order=d.order,
        covering=d.covering,
        nearest_before=d.nearest_before,
        nearest_after=d.nearest_after,
        reason=d.reason,
        accounts=[a.key for a in accounts.values()],
    )
    if actor is not None:
        audit.record(
            session,
            actor,
            "coverage.lookup",
            entity_type="person" if person_id is not None else "platform_account",
            entity_id=person_id if person_id is not None else f"{platform_code}:{account_id}"[:128],
            subjects=sorted(people),
            purpose=purpose or "查询某时点的保障状态",
            after={"at": clock.local(at).isoformat(), "accounts": [f"{c}:{a}" for c, a in result.accounts]},
        )
    return result


def _worked_days(
    session: Session,
    by_key: dict[tuple[int, str], rules.Account],
    since: dt.date | None = None,
    until: dt.date | None = None,
) -> list[rules.DaySpan]:
    """The accounts' worker-months (a handful of rows): the days they worked (from ``since`` to
    ``until`` when given) with the span of each day's orders, first acceptance to last finish."""
    conds = [tuple_(WorkerMonth.platform_id, WorkerMonth.account_id).in_(list(by_key))]
    if since is not None:
        conds.append(WorkerMonth.month >= since.replace(day=1))
    if until is not None:
        conds.append(WorkerMonth.month <= until)
    months = session.execute(
        select(
            WorkerMonth.platform_id,
            WorkerMonth.account_id,
            WorkerMonth.month,
            WorkerMonth.day_orders,
            WorkerMonth.day_first,
            WorkerMonth.day_last,
        ).where(*conds)
    ).all()
    spans = []
    for m in months:
        acct = by_key[(m.platform_id, m.account_id)]
        for i, n in enumerate(m.day_orders or []):
            day = m.month + dt.timedelta(days=i)
            if (since is not None and day < since) or (until is not None and day > until):
                continue
            if n and m.day_first[i] is not None and m.day_last[i] is not None:
                start = _day_start(day)
                spans.append(
                    rules.DaySpan(
                        acct,
                        day,
                        start + dt.timedelta(seconds=m.day_first[i]),
                        start + dt.timedelta(seconds=m.day_last[i]),
                    )
                )
    return spans


def _day_start(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), clock.SHANGHAI)


_DETAIL = "picked_up_at, start_lng, start_lat, end_lng, end_lat, distance_m"


def _fetch(session: Session, reads: list[rules.Read], *, detail: bool = False) -> list[OrderRef]:
    """The current orders the reads ask for, from the published files. Each read is a range of
    ``accepted_at`` (files keep the platform's order, usually acceptance time: the row groups
    outside the range are skipped) in the files of its platform and month that overlap it.
    ``detail``: also the pick-up time, coordinates and distance (the order trail)."""
    codes = sorted({r.account.platform.code for r in reads})
    months = sorted({month_of(r.day) for r in reads})
    files = session.execute(
        select(
            OrderFile.platform_code,
            OrderFile.month,
            OrderFile.path,
            OrderFile.min_accepted_at,
            OrderFile.max_accepted_at,
        )
        .join(OrderBatch, OrderBatch.id == OrderFile.batch_id)
        .where(
            OrderBatch.status == "published",
            OrderFile.platform_code.in_(codes),
            OrderFile.month.in_(months),
            OrderFile.max_accepted_at >= min(r.lo for r in reads),
            OrderFile.min_accepted_at <= max(r.hi for r in reads),
        )
        .order_by(OrderFile.id)
    ).all()
    if not files:
        return []
    parts = []
    for r in reads:
        code, month = r.account.platform.code, month_of(r.day)
        paths = [
            str(ledger.root() / f.path)
            for f in files
            if f.platform_code == code and f.month == month and f.max_accepted_at >= r.lo and f.min_accepted_at <= r.hi
        ]
        if not paths:
            continue
        finished = f" AND finished_at >= {sqltext.literal(r.finished_from)}" if r.finished_from else ""
        parts.append(
            f"SELECT order_id, platform_code, worker_account_id, accepted_at, finished_at, status, county_code, "
            f"version{', ' + _DETAIL if detail else ''} FROM read_parquet({sqltext.array(paths)}) "
            f"WHERE worker_account_id = {sqltext.literal(r.account.account_id)} "
            f"AND accepted_at >= {sqltext.literal(r.lo)} AND accepted_at <= {sqltext.literal(r.hi)}{finished}"
        )
    out: list[OrderRef] = []
    if parts:
        cur = _cursor()
        try:
            for row in cur.execute(" UNION ALL ".join(parts)).fetchall():
                extra = {}
                if detail:
                    extra = dict(
                        picked_up_at=row[8],
                        start_lng=row[9],
                        start_lat=row[10],
                        end_lng=row[11],
                        end_lat=row[12],
                        distance_m=None if row[13] is None else int(row[13]),
                    )
                out.append(OrderRef(row[0], row[1], row[2], row[3], row[4], row[5], row[6], int(row[7]), **extra))
        finally:
            cur.close()
    if not out:
        return out
    # Leave out superseded versions (corrections) and keep the newest version of each order.
    sup = set(
        session.execute(
            select(OrderSupersession.platform_code, OrderSupersession.order_id, OrderSupersession.version).where(
                tuple_(OrderSupersession.platform_code, OrderSupersession.order_id).in_(
                    list({(o.platform_code, o.order_id) for o in out})
                )
            )
        ).all()
    )
    current = [o for o in out if (o.platform_code, o.order_id, o.version) not in sup]
    newest: dict[tuple[str, str], OrderRef] = {}
    for o in current:
        k = (o.platform_code, o.order_id)
        if k not in newest or o.version > newest[k].version:
            newest[k] = o
    return list(newest.values())


# ---- the order trail of a day (evidence for an injury case) -----------------------------------------


@dataclass
class TrailOrder:
    """One order of a day's trail, with its platform's name and whether the platform's workers were
    covered on the order's date."""

    order: OrderRef
    platform_name: str
    covered: bool


@dataclass
class Trail:
    """The orders of a person on the (local) day of ``at`` — accepted that day, or accepted the day
    before and still running after midnight — by acceptance time, and where ``at`` falls on them."""

    at: dt.datetime
    day: dt.date
    orders: list[TrailOrder]
    placement: rules.Placement


audit.register_actions({"coverage.trail": "查看事故当日订单轨迹"})


def order_trail(
    session: Session, *, person_id: int, at: dt.datetime, actor: Any = None, purpose: str | None = None
) -> Trail:
    """The order trail of ``person_id`` (all their platform accounts) on the day of ``at``. The caller
    decides whether ``actor`` may see it (e.g. the case is in their scope); with an ``actor`` the
    read is audited (``coverage.trail``: it tells where and when the person worked)."""
    if at.tzinfo is None:
        raise DomainError("时间须带时区", field="at")
    day = rules.local_day(at)
    try:
        accounts, _people = _accounts(session, person_id=person_id, platform_code=None, account_id=None)
    except NotFound:
        accounts = {}
    orders: list[OrderRef] = []
    if accounts:
        reads = rules.plan_day_reads(day, _worked_days(session, accounts, day - dt.timedelta(days=1), day))
        orders = _fetch(session, reads, detail=True) if reads else []
    orders.sort(key=lambda o: (o.accepted_at, o.order_id))
    by_key = {a.key: a for a in accounts.values()}
    trail = Trail(
        at=at,
        day=day,
        orders=[
            TrailOrder(
                o,
                by_key[(o.platform_code, o.account_id)].platform.name,
                by_key[(o.platform_code, o.account_id)].covers(rules.local_day(o.accepted_at)),
            )
            for o in orders
        ],
        placement=rules.place(at, orders),
    )
    if actor is not None:
        audit.record(
            session,
            actor,
            "coverage.trail",
            entity_type="person",
            entity_id=person_id,
            subjects=[person_id],
            purpose=(purpose or "").strip()[:200] or "查看事故当日订单轨迹",
            after={"day": day, "orders": len(orders)},
        )
    return trail


# ---- a worker's own days ---------------------------------------------------------------------------


@dataclass
class CoveredDay:
    """One local day (Asia/Shanghai) of a person: the orders accepted that day (all their platform
    accounts) and the time covered within the day (the union of the windows of orders on platforms
    covered on the order's date, clipped to the day — an order past midnight counts on both days)."""

    day: dt.date
    orders: int = 0
    covered_seconds: int = 0
    platforms: list[str] = field(default_factory=list)  # codes of the platforms with orders that day


def covered_days(session: Session, *, person_id: int, since: dt.date, until: dt.date) -> list[CoveredDay]:
    """Every day from ``since`` to ``until`` (inclusive) for one person, read from the ledger: the
    worker-month summaries say which months to read, the published files give the orders."""
    if until < since:
        raise DomainError("结束日期不能早于开始日期", field="until")
    days = {
        since + dt.timedelta(days=i): CoveredDay(since + dt.timedelta(days=i)) for i in range((until - since).days + 1)
    }
    try:
        accounts, _people = _accounts(session, person_id=person_id, platform_code=None, account_id=None)
    except NotFound:
        return list(days.values())
    first = since - dt.timedelta(days=1)  # an order accepted the evening before may run into ``since``
    # One read per account and month: from the first acceptance to the last finish of its days in range.
    spans: dict[tuple[rules.Account, str], tuple[dt.date, dt.datetime, dt.datetime]] = {}
    for d in _worked_days(session, accounts, first, until):
        k = (d.account, month_of(d.day))
        old = spans.get(k)
        spans[k] = (min(d.day, old[0]), min(d.first, old[1]), max(d.last, old[2])) if old else (d.day, d.first, d.last)
    reads = [rules.Read(acct, day, lo, hi) for (acct, _), (day, lo, hi) in spans.items()]
    orders = _fetch(session, reads) if reads else []
    by_code = {a.key: a for a in accounts.values()}
    windows: list[tuple[dt.datetime, dt.datetime]] = []
    for o in orders:
        day = rules.local_day(o.accepted_at)
        if day in days:
            days[day].orders += 1
            if o.platform_code not in days[day].platforms:
                days[day].platforms.append(o.platform_code)
        if by_code[(o.platform_code, o.account_id)].covers(day):
            windows.append((o.accepted_at, max(o.finished_at, o.accepted_at)))
    for d in days.values():
        d.covered_seconds = rules.covered_seconds(_day_start(d.day), _day_start(d.day + dt.timedelta(days=1)), windows)
    return list(days.values())
