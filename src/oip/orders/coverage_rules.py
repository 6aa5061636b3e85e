"""Coverage, decided: the pure part of ``oip.orders.coverage`` (no database, no files).

``coverage.covered_at`` loads the accounts asked about and the days they worked (per-worker-month
summaries), asks ``plan_reads`` which orders to read from the ledger, reads them, and asks
``decide`` for the answer:

- covered at T when T lies in an order's window, ``accepted_at`` … ``finished_at`` inclusive
  (cancelled orders too: the worker was working), on a day the order's platform was covered;
- the covering order is the earliest accepted (then the smallest order id) of those windows;
- the nearest order before is the last one finished before T, the nearest after the first one
  accepted after T, across all the accounts asked about."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from oip.core import clock

STATUS_NAMES = {"completed": "已完成", "cancelled": "已取消"}
_ENDED = {"completed": "完成", "cancelled": "取消"}


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
    # The order's detail, read for the order trail of a day (``coverage.day_orders``); None otherwise.
    picked_up_at: dt.datetime | None = None
    start_lng: float | None = None
    start_lat: float | None = None
    end_lng: float | None = None
    end_lat: float | None = None
    distance_m: int | None = None

    def as_dict(self) -> dict:
        return {
            "order_id": self.order_id,
            "platform_code": self.platform_code,
            "account_id": self.account_id,
            "accepted_at": clock.local(self.accepted_at).isoformat(),
            "finished_at": clock.local(self.finished_at).isoformat(),
            "status": self.status,
            "county_code": self.county_code,
        }


@dataclass(frozen=True)
class PlatformRef:
    code: str
    name: str


@dataclass(frozen=True)
class Account:
    """A platform account asked about, with the days its platform's orders are covered:
    ``covered_from`` (None: not covered at all) to ``covered_to`` (None: open-ended)."""

    platform: PlatformRef
    account_id: str
    covered_from: dt.date | None
    covered_to: dt.date | None = None

    @property
    def key(self) -> tuple[str, str]:
        return self.platform.code, self.account_id

    def covers(self, day: dt.date) -> bool:
        return (
            self.covered_from is not None
            and self.covered_from <= day
            and (self.covered_to is None or day <= self.covered_to)
        )


@dataclass(frozen=True)
class DaySpan:
    """The orders of one account on one (local) day: from the first acceptance to the last finish."""

    account: Account
    day: dt.date
    first: dt.datetime
    last: dt.datetime


@dataclass(frozen=True)
class Read:
    """The orders of one account on one day accepted in [lo, hi] (and, when given, finished at or
    after ``finished_from``)."""

    account: Account
    day: dt.date
    lo: dt.datetime
    hi: dt.datetime
    finished_from: dt.datetime | None = None


def local_day(t: dt.datetime) -> dt.date:
    return t.astimezone(clock.SHANGHAI).date()


def plan_reads(at: dt.datetime, spans: list[DaySpan]) -> list[Read]:
    """Which orders to read for a look-up at ``at``: every order of T's day and the day before
    (an order lasts at most 24 hours) within each day's span, the order that finished last on the
    last worked day before those, and the first order of the first worked day after T's day."""
    worked: dict[dt.date, list[DaySpan]] = {}
    for s in spans:
        worked.setdefault(s.day, []).append(s)
    d = local_day(at)
    day_before = d - dt.timedelta(days=1)
    prev_day = max((x for x in worked if x < day_before), default=None)
    next_day = min((x for x in worked if x > d), default=None)

    reads: list[Read] = []
    for day in (day_before, d):
        reads += [Read(s.account, day, s.first, s.last) for s in worked.get(day, [])]
    if prev_day is not None:
        last = max(s.last for s in worked[prev_day])
        reads += [
            Read(s.account, prev_day, s.first, s.last, finished_from=last - dt.timedelta(seconds=1))
            for s in worked[prev_day]
            if s.last == last
        ]
    if next_day is not None:
        first = min(s.first for s in worked[next_day])
        reads += [
            Read(s.account, next_day, s.first, s.first + dt.timedelta(seconds=1))
            for s in worked[next_day]
            if s.first == first
        ]
    return reads


@dataclass
class Decision:
    covered: bool
    order: OrderRef | None = None  # the covering order (the earliest accepted)
    covering: list[OrderRef] = field(default_factory=list)  # every order whose window contains T
    nearest_before: OrderRef | None = None  # the last order finished before T
    nearest_after: OrderRef | None = None  # the first order accepted after T
    reason: str = ""


def decide(at: dt.datetime, accounts: list[Account], orders: list[OrderRef]) -> Decision:
    """The answer at ``at`` from the current orders read (of the accounts asked about)."""
    if at.tzinfo is None:
        raise ValueError("at must be timezone-aware")
    by_key = {a.key: a for a in accounts}
    covering = sorted(
        (o for o in orders if o.accepted_at <= at <= o.finished_at), key=lambda o: (o.accepted_at, o.order_id)
    )
    before = max((o for o in orders if o.finished_at < at), key=lambda o: (o.finished_at, o.order_id), default=None)
    after = min((o for o in orders if o.accepted_at > at), key=lambda o: (o.accepted_at, o.order_id), default=None)
    res = Decision(covered=False, nearest_before=before, nearest_after=after)
    eligible = [o for o in covering if by_key[(o.platform_code, o.account_id)].covers(local_day(o.accepted_at))]
    if eligible:
        first = eligible[0]
        res.covered, res.order, res.covering = True, first, eligible
        extra = f"（同时进行中的订单共 {len(eligible)} 单）" if len(eligible) > 1 else ""
        res.reason = (
            f"{clock.fmt(at)} 处于订单 {first.order_id} 的执行期间"
            f"（{clock.fmt(first.accepted_at)} 接单，{clock.fmt(first.finished_at)} "
            f"{_ENDED.get(first.status, first.status)}）{extra}"
        )
    elif covering:
        res.covering = covering
        name = by_key[(covering[0].platform_code, covering[0].account_id)].platform.name
        res.reason = f"该时点有进行中的订单 {covering[0].order_id}，但{name}在订单日期不在职业伤害保障范围内"
    else:
        res.reason = "该时点没有进行中的订单"
    return res


# ---- the order trail of a day (evidence for an injury case) -------------------------------------------


def plan_day_reads(day: dt.date, spans: list[DaySpan]) -> list[Read]:
    """Which orders to read for the trail of ``day``: every order accepted that day, and the orders of
    the day before still running after midnight (finished on or after the day's start)."""
    start = dt.datetime.combine(day, dt.time(), clock.SHANGHAI)
    reads = []
    for s in spans:
        if s.day == day:
            reads.append(Read(s.account, day, s.first, s.last))
        elif s.day == day - dt.timedelta(days=1) and s.last >= start:
            reads.append(Read(s.account, s.day, s.first, s.last, finished_from=start))
    return reads


PLACEMENT_NAMES = {
    "during": "订单执行期间",
    "between": "两单之间",
    "before_first": "当日首单之前",
    "after_last": "当日末单之后",
    "no_orders": "当日无订单",
}


def _span(a: dt.datetime, b: dt.datetime) -> str:
    """A duration in Chinese: 2 小时 5 分钟, 12 分钟, 40 秒."""
    sec = int(abs((b - a).total_seconds()))
    h, rem = divmod(sec, 3600)
    m, s_ = divmod(rem, 60)
    if h:
        return f"{h} 小时 {m} 分钟" if m else f"{h} 小时"
    if m:
        return f"{m} 分钟"
    return f"{s_} 秒"


def _hm(t: dt.datetime) -> str:
    return clock.local(t).strftime("%H:%M")


@dataclass(frozen=True)
class Placement:
    """Where a moment falls on a day's orders: ``kind`` is one of PLACEMENT_NAMES; ``during`` the
    orders whose window holds it; ``before`` / ``after`` the neighbouring orders (last finished
    before, first accepted after); ``text`` says it in Chinese."""

    kind: str
    during: tuple[OrderRef, ...] = ()
    before: OrderRef | None = None
    after: OrderRef | None = None
    text: str = ""

    @property
    def name(self) -> str:
        return PLACEMENT_NAMES[self.kind]


def place(at: dt.datetime, orders: list[OrderRef]) -> Placement:
    """Where ``at`` falls among ``orders`` (one day's trail): during order X, between X and Y,
    before the first, after the last, or on a day without orders. Windows are inclusive at both
    ends, as for coverage."""
    if at.tzinfo is None:
        raise ValueError("at must be timezone-aware")
    if not orders:
        return Placement("no_orders", text="事故发生当日没有订单记录")
    during = tuple(sorted((o for o in orders if o.accepted_at <= at <= o.finished_at), key=_order_key))
    before = max((o for o in orders if o.finished_at < at), key=lambda o: (o.finished_at, o.order_id), default=None)
    after = min((o for o in orders if o.accepted_at > at), key=_order_key, default=None)
    if during:
        o = during[0]
        picked = f"，{_hm(o.picked_up_at)} 取货/上车" if o.picked_up_at else ""
        extra = f"；同时进行中的订单共 {len(during)} 单" if len(during) > 1 else ""
        text = (
            f"事故时间 {_hm(at)} 处于订单 {o.order_id} 的执行期间（{_hm(o.accepted_at)} 接单{picked}，"
            f"{_hm(o.finished_at)} {_ENDED.get(o.status, o.status)}；接单后 {_span(o.accepted_at, at)}）{extra}"
        )
        return Placement("during", during, before, after, text)
    if before is not None and after is not None:
        text = (
            f"事故时间 {_hm(at)} 处于订单 {before.order_id}（{_hm(before.finished_at)} "
            f"{_ENDED.get(before.status, before.status)}）与订单 {after.order_id}（{_hm(after.accepted_at)} 接单）之间："
            f"上一单结束后 {_span(before.finished_at, at)}，下一单接单前 {_span(at, after.accepted_at)}"
        )
        return Placement("between", (), before, after, text)
    if after is not None:
        text = f"事故时间 {_hm(at)} 早于当日第一单 {after.order_id}（{_hm(after.accepted_at)} 接单）{_span(at, after.accepted_at)}"
        return Placement("before_first", (), None, after, text)
    text = (
        f"事故时间 {_hm(at)} 晚于当日最后一单 {before.order_id}（{_hm(before.finished_at)} "
        f"{_ENDED.get(before.status, before.status)}）{_span(before.finished_at, at)}"
    )
    return Placement("after_last", (), before, None, text)


def _order_key(o: OrderRef) -> tuple:
    return (o.accepted_at, o.order_id)


def covered_seconds(start: dt.datetime, end: dt.datetime, windows: list[tuple[dt.datetime, dt.datetime]]) -> int:
    """How long [start, end) lies inside the union of the order windows (overlaps counted once)."""
    clipped = sorted((max(a, start), min(b, end)) for a, b in windows if a < end and b > start)
    total, cur_a, cur_b = 0.0, None, None
    for a, b in clipped:
        if cur_b is None or a > cur_b:
            if cur_b is not None:
                total += (cur_b - cur_a).total_seconds()
            cur_a, cur_b = a, b
        else:
            cur_b = max(cur_b, b)
    if cur_b is not None:
        total += (cur_b - cur_a).total_seconds()
    return int(total)
