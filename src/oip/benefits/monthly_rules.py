"""Rules of monthly benefits (定期待遇), pure: which months are owed, when a benefit ends, what one
month still needs (more owed, unpaid amounts cancelled, or an overpayment to recover), and the yearly
eligibility date.

A month is the date of its first day. The month in which a stopping condition happens (death,
the 18th birthday, leaving school, a refusal) is still owed in full; nothing is owed from the month
after (从次月起停发). The first month owed is the month of ``starts_on``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from oip.core import money

STOP_REASONS = {
    "death": "领取人死亡",
    "age": "子女年满18周岁",
    "school": "子女毕业或离校",
    "refusal_review": "拒不接受劳动能力复查鉴定",
    "refusal_treatment": "拒绝治疗",
    "superseded": "新版本核定不再包含该项目",
}
# Reasons an officer records (age and superseded are found by the system).
OFFICER_STOP_REASONS = ("death", "school", "refusal_review", "refusal_treatment")
MEANS = {"portal": "网上认证（人脸识别）", "desk": "窗口认证", "visit": "上门认证", "data": "数据比对认证"}
STATUS_NAMES = {"active": "正常发放", "paused": "暂停发放（待资格认证）", "stopped": "已停发"}

# Payable states as one month's reconciliation sees them.
UNPAID = ("due", "held")
IN_HAND = ("batched", "paid")  # cannot be cancelled: paid, or on a payment line at the bank


def month_of(day: dt.date) -> dt.date:
    return day.replace(day=1)


def add_months(month: dt.date, n: int) -> dt.date:
    i = month.year * 12 + (month.month - 1) + n
    return dt.date(i // 12, i % 12 + 1, 1)


def months(first: dt.date, last: dt.date) -> list[dt.date]:
    """Every month from ``first`` to ``last`` (both first days), inclusive; empty when last < first."""
    out, m = [], month_of(first)
    while m <= last:
        out.append(m)
        m = add_months(m, 1)
    return out


def ym(month: dt.date) -> str:
    return f"{month.year:04d}-{month.month:02d}"


def anniversary(day: dt.date, years: int) -> dt.date:
    """The same day ``years`` later; 29 February becomes 1 March in a common year."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return dt.date(day.year + years, 3, 1)


def eighteenth_birthday(birth: dt.date) -> dt.date:
    return anniversary(birth, 18)


def eligibility_due(confirmed_on: dt.date) -> dt.date:
    """The day by which the next confirmation is due: one year on (a recipient not confirmed by then
    is paused from the day after)."""
    return anniversary(confirmed_on, 1)


@dataclass(frozen=True)
class End:
    on: dt.date
    reason: str  # a key of STOP_REASONS


def dependant_end(
    relation: str, birth_date: dt.date | None, school_until: dt.date | None, died_on: dt.date | None
) -> End | None:
    """When a dependant's pension ends on its own: the death, or for a child the 18th birthday —
    later if still in school (``school_until``), then on leaving school. The earliest applies."""
    ends: list[End] = []
    if died_on is not None:
        ends.append(End(died_on, "death"))
    if relation == "child" and birth_date is not None:
        adult = eighteenth_birthday(birth_date)
        if school_until is not None and school_until > adult:
            ends.append(End(school_until, "school"))
        else:
            ends.append(End(adult, "age"))
    return min(ends, key=lambda e: e.on) if ends else None


def last_month(stopped_on: dt.date | None, natural_end: End | None) -> dt.date | None:
    """The last month owed: the month of the earlier of the recorded stop and the natural end."""
    days = [d for d in (stopped_on, natural_end.on if natural_end else None) if d is not None]
    return month_of(min(days)) if days else None


def entitled(month: dt.date, starts_on: dt.date, last: dt.date | None) -> bool:
    return month_of(starts_on) <= month and (last is None or month <= last)


def rate_in_force(rates: Iterable[tuple[dt.date, int]], month: dt.date) -> int:
    """The amount of the latest rate from a month on or before ``month`` (0 before the first)."""
    best: tuple[dt.date, int] | None = None
    for from_month, amount in rates:
        if from_month <= month and (best is None or from_month > best[0]):
            best = (from_month, amount)
    return best[1] if best else 0


@dataclass(frozen=True)
class Owed:
    """One payable of a month, as the plan sees it."""

    id: int
    kind: str  # monthly | arrears
    status: str  # due | held | batched | paid | cancelled
    amount_fen: int


@dataclass(frozen=True)
class Plan:
    cancel: tuple[int, ...]  # payable ids to cancel (unpaid, more than the month's entitlement)
    add_fen: int  # to owe more (0: nothing)
    overpaid_fen: int  # paid or at the bank beyond the entitlement: to recover (应追回)


def plan_month(target_fen: int, owed: Iterable[Owed]) -> Plan:
    """What one month needs so that what is owed equals ``target_fen`` (the rate in force, or 0 when
    the month is not owed): unpaid amounts beyond it are cancelled (arrears first, newest first, then
    the month's own payable); a shortfall is owed once more; what was already paid (or is at the
    bank) beyond it cannot be cancelled and is an overpayment to recover. Afterwards the month owes
    max(target, in hand) — never more than the rate unless it was already paid."""
    live = [o for o in owed if o.status != "cancelled"]
    in_hand = sum(o.amount_fen for o in live if o.status in IN_HAND)
    total = sum(o.amount_fen for o in live)
    cancel: list[int] = []
    if total > target_fen:
        unpaid = sorted((o for o in live if o.status in UNPAID), key=lambda o: (o.kind != "arrears", -o.id))
        for o in unpaid:
            if total <= target_fen:
                break
            cancel.append(o.id)
            total -= o.amount_fen
    add = max(0, target_fen - total)
    return Plan(tuple(cancel), add, max(0, in_hand - target_fen))


def yuan(fen: int | None) -> str:
    """12345 → "123.45 元" (oip.core.money; None → "—")."""
    return "—" if fen is None else f"{money.yuan(fen)} 元"
