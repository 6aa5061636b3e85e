"""The pure rules of the quarterly cash-use plans (季度用款计划): quarters and their months, how each
benefit item's forecast is reckoned (and said in words), what may follow what, and the checks on
approval and allocation.

No database here (import-linter's "pure" contract): oip.fund.cashplans gathers the rows, calls these,
and writes. Amounts are integer fen.

**The forecast of an item** for a city and a quarter is the sum of
- what is owed already and not paid (payables due or in a batch),
- the once amounts of determinations submitted and awaiting approval,
- the monthly benefits still running: each active benefit's rate in force × the months of the
  quarter it is still entitled to (its start, its recorded stop, a dependant's natural end) and not
  owed yet,
- the cases confirmed but not determined yet × the item's average once amount per determination
  approved in the last 12 months;
and for medical expenses (医疗费) at least the average medical expenditure of the last two quarters
in the ledger (a floor: bills keep coming in on cases already paid).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from oip.benefits import monthly_rules as MR
from oip.core.money import yuan

STATUS_NAMES = {
    "draft": "草稿",
    "submitted": "已报送，待审核",
    "approved": "已审核，待拨付",
    "allocated": "已拨付",
    "returned": "已退回",
}
EDITABLE = ("draft", "returned")
MEDICAL = "medical"

# What an act needs the plan to be in, and what it makes it.
TRANSITIONS = {
    "submit": (EDITABLE, "submitted"),
    "approve": (("submitted",), "approved"),
    "return": (("submitted",), "returned"),
    "allocate": (("approved",), "allocated"),
}


def check_transition(act: str, status: str) -> str | None:
    """None if ``act`` may be done on a plan in ``status``, else why not (Chinese)."""
    allowed, _ = TRANSITIONS[act]
    if status in allowed:
        return None
    names = "、".join(STATUS_NAMES[s] for s in allowed)
    return f"用款计划当前为“{STATUS_NAMES.get(status, status)}”，只有“{names}”的计划可以{ACT_NAMES[act]}"


ACT_NAMES = {"submit": "报送", "approve": "审核通过", "return": "退回", "allocate": "拨付"}


# ---- quarters ------------------------------------------------------------------------------------


def quarter_of(day: dt.date) -> tuple[int, int]:
    return day.year, (day.month - 1) // 3 + 1


def next_quarter(year: int, quarter: int) -> tuple[int, int]:
    return (year + 1, 1) if quarter == 4 else (year, quarter + 1)


def previous_quarter(year: int, quarter: int) -> tuple[int, int]:
    return (year - 1, 4) if quarter == 1 else (year, quarter - 1)


def quarter_months(year: int, quarter: int) -> list[dt.date]:
    """The first days of the quarter's three months."""
    if not 1 <= quarter <= 4:
        raise ValueError("quarter must be 1..4")
    return [dt.date(year, 3 * (quarter - 1) + i, 1) for i in (1, 2, 3)]


def quarter_periods(year: int, quarter: int) -> list[str]:
    """The ledger periods (YYYY-MM) of the quarter."""
    return [f"{m.year:04d}-{m.month:02d}" for m in quarter_months(year, quarter)]


def label(year: int, quarter: int) -> str:
    return f"{year}年第{quarter}季度"


def history_quarters(year: int, quarter: int, today: dt.date, n: int = 2) -> list[tuple[int, int]]:
    """The ``n`` whole quarters a plan's medical floor looks back on: those before the plan's quarter,
    or — for a plan ahead of time — before the current one (later ones have no expenditure yet)."""
    start = min((year, quarter), quarter_of(today))
    out, q = [], start
    for _ in range(n):
        q = previous_quarter(*q)
        out.append(q)
    return out


# ---- the forecast --------------------------------------------------------------------------------


def div_half_up(a: int, b: int) -> int:
    """a / b rounded half-up to a whole fen (b > 0)."""
    return int((Decimal(a) / Decimal(b)).quantize(Decimal(1), rounding=ROUND_HALF_UP))


@dataclass(frozen=True)
class Schedule:
    """One monthly benefit as the forecast sees it: its rates ((from_month, fen), …), first day,
    last month owed (None: open) and the months already owed (any payable not cancelled)."""

    starts_on: dt.date
    last_month: dt.date | None
    rates: tuple[tuple[dt.date, int], ...]
    owed_months: frozenset[dt.date] = frozenset()


def monthly_need(schedules: Iterable[Schedule], months: list[dt.date]) -> tuple[int, int]:
    """(fen, benefit-months) the monthly benefits will need in ``months``: for each benefit and month
    it is entitled to and not owed yet, the rate in force that month."""
    fen = n = 0
    for s in schedules:
        for m in months:
            if m in s.owed_months or not MR.entitled(m, s.starts_on, s.last_month):
                continue
            amount = MR.rate_in_force(s.rates, m)
            if amount > 0:
                fen += amount
                n += 1
    return fen, n


def averages(totals: dict[str, int], count: int) -> dict[str, int]:
    """The average once amount per determination, item by item (half-up to the fen)."""
    if count <= 0:
        return {k: 0 for k in totals}
    return {k: div_half_up(v, count) for k, v in totals.items()}


def medical_floor(quarter_amounts: list[int]) -> int:
    """The average of the quarters' medical expenditure (never below zero)."""
    if not quarter_amounts:
        return 0
    return max(0, div_half_up(sum(quarter_amounts), len(quarter_amounts)))


@dataclass(frozen=True)
class Parts:
    """What one item's forecast is made of."""

    owed_fen: int = 0
    owed_count: int = 0
    submitted_fen: int = 0
    submitted_count: int = 0
    monthly_fen: int = 0
    monthly_count: int = 0  # benefit-months
    monthly_benefits: int = 0  # benefits
    pending_cases: int = 0  # confirmed, not determined
    average_fen: int = 0  # the item's average once amount per determination
    average_basis: int = 0  # determinations the average is taken over
    floor_fen: int | None = None  # medical only: the last quarters' average expenditure
    floor_quarters: str = ""


def line_forecast(item: str, p: Parts) -> tuple[int, str]:
    """The item's forecast (fen) and how it was reckoned, in words."""
    estimate = p.pending_cases * p.average_fen
    base = p.owed_fen + p.submitted_fen + p.monthly_fen + estimate
    said: list[str] = []
    if p.owed_fen:
        said.append(f"已核定应付未支付 {p.owed_count} 笔 {yuan(p.owed_fen)} 元")
    if p.submitted_fen:
        said.append(f"已提交待审批的核定 {p.submitted_count} 件 {yuan(p.submitted_fen)} 元")
    if p.monthly_fen:
        said.append(f"定期待遇 {p.monthly_benefits} 人按月标准计 {p.monthly_count} 人月 {yuan(p.monthly_fen)} 元")
    if p.pending_cases and p.average_basis and p.average_fen:
        said.append(
            f"已认定未核定案件 {p.pending_cases} 件 × 近12个月平均每件核定 {yuan(p.average_fen)} 元"
            f"（{p.average_basis} 件核定）= {yuan(estimate)} 元"
        )
    elif p.pending_cases and not p.average_basis:
        said.append(f"已认定未核定案件 {p.pending_cases} 件（近12个月无核定可作平均，未计）")
    fen = base
    text = "；".join(said) if said else "无在途案件、应付待遇和定期待遇"
    if item == MEDICAL and p.floor_fen is not None:
        floor_text = f"近两季度（{p.floor_quarters}）平均医疗费支出 {yuan(p.floor_fen)} 元"
        if p.floor_fen > base:
            fen = p.floor_fen
            text = f"按{floor_text}保底（在途测算 {yuan(base)} 元：{text}）"
        else:
            text = f"{text}；不低于{floor_text}"
    return fen, text


# ---- approval and allocation ---------------------------------------------------------------------


def check_requested(amount_fen: int) -> str | None:
    if amount_fen < 0:
        return "申请金额不能为负数"
    return None


def check_approval(requested_fen: int, approved_fen: int, note: str) -> str | None:
    """None if the region may approve ``approved_fen`` of ``requested_fen``, else why not."""
    if approved_fen <= 0:
        return "核定金额应大于零（不同意的计划请退回）"
    if approved_fen > requested_fen:
        return f"核定金额 {yuan(approved_fen)} 元不能超过申请金额 {yuan(requested_fen)} 元"
    if approved_fen < requested_fen and not note.strip():
        return "核定金额少于申请金额时须填写审核意见（核减理由）"
    return None


def check_allocation(approved_fen: int, amount_fen: int) -> str | None:
    """None if ``amount_fen`` may be allocated, else why not: positive and within the approved amount."""
    if amount_fen <= 0:
        return "拨付金额应大于零"
    if amount_fen > approved_fen:
        return f"拨付金额 {yuan(amount_fen)} 元超过核定金额 {yuan(approved_fen)} 元"
    return None


def shortfall(amount_fen: int, fiscal_balance_fen: int) -> int:
    """How much of an allocation the occupational-injury money's own balance in the fiscal special
    account does not cover. The money is part of the work-injury fund under one management of income
    and expenditure (统一收支管理, seed 二(三)): the fund covers the difference (统筹调剂), so an
    allocation is not refused for it — the shortfall is stated on the entry and the plan."""
    return max(0, amount_fen - max(fiscal_balance_fen, 0))


def shortfall_note(short_fen: int) -> str:
    if short_fen <= 0:
        return ""
    return f"其中 {yuan(short_fen)} 元超出职业伤害保障资金在财政专户的结余，由工伤保险基金统一调剂"


def use_rate(actual_fen: int, allocated_fen: int | None) -> str | None:
    """Actual use as a percentage of the allocation, one decimal ("87.5"), or None with no allocation."""
    if not allocated_fen:
        return None
    pct = (Decimal(actual_fen) * 100 / Decimal(allocated_fen)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
    return str(pct)
