"""The budget's pure rules: the states of a budget version and what may happen in each, the
pre-fill arithmetic (the last twelve months, the monthly benefits in payment) with the words that
explain each figure, the execution rate and the time progress of a year, yuan typed into a form.

No database here (import-linter's "pure" contract): oip.fund.budget loads, calls these, writes.
"""

from __future__ import annotations

import calendar
import datetime as dt
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from oip.core.money import yuan

STATUS_NAMES = {
    "draft": "编制中",
    "submitted": "已报送财政",
    "reviewed": "财政已审核",
    "approved": "已批复",
    "returned": "已退回修改",
}
BASIS_NAMES = {"original": "年初预算", "adjustment": "预算调整"}
FINAL_STATUS_NAMES = {"draft": "已编制", "submitted": "已报送财政", "returned": "已退回修改", "approved": "已审批"}

# The acts and the states they start from → the state they lead to.
TRANSITIONS: dict[str, tuple[frozenset[str], str | None]] = {
    "edit": (frozenset({"draft", "returned"}), None),
    "forecast": (frozenset({"draft", "submitted", "returned"}), None),
    "submit": (frozenset({"draft", "returned"}), "submitted"),
    "review": (frozenset({"submitted"}), "reviewed"),
    "approve": (frozenset({"reviewed"}), "approved"),
    "return": (frozenset({"submitted", "reviewed"}), "returned"),
    "adjust": (frozenset({"approved"}), None),
}
ACT_NAMES = {
    "edit": "修改预算明细",
    "forecast": "录入收入预测",
    "submit": "报送",
    "review": "审核",
    "approve": "批复",
    "return": "退回",
    "adjust": "调整预算",
}
IN_PROGRESS = frozenset({"draft", "submitted", "reviewed", "returned"})

FINAL_TRANSITIONS: dict[str, tuple[frozenset[str], str]] = {
    "draw": (frozenset({"draft", "returned"}), "draft"),
    "submit": (frozenset({"draft", "returned"}), "submitted"),
    "approve": (frozenset({"submitted"}), "approved"),
    "return": (frozenset({"submitted"}), "returned"),
}
FINAL_ACT_NAMES = {"draw": "重新编制", "submit": "报送", "approve": "审批", "return": "退回"}


def why_not(act: str, status: str) -> str | None:
    """None when ``act`` may be done on a budget in ``status``, else why not (Chinese)."""
    allowed, _ = TRANSITIONS[act]
    if status in allowed:
        return None
    names = "、".join(STATUS_NAMES[s] for s in sorted(allowed, key=list(STATUS_NAMES).index))
    return f"预算当前为“{STATUS_NAMES.get(status, status)}”，不能{ACT_NAMES[act]}（须为{names}）"


def next_status(act: str, status: str) -> str:
    """The status after ``act`` (unchanged for acts that change no state). Raises ValueError when
    the act is not allowed."""
    why = why_not(act, status)
    if why:
        raise ValueError(why)
    return TRANSITIONS[act][1] or status


def final_why_not(act: str, status: str | None) -> str | None:
    if status is None:
        return None if act == "draw" else "本年度决算尚未编制"
    allowed, _ = FINAL_TRANSITIONS[act]
    if status in allowed:
        return None
    return f"决算当前为“{FINAL_STATUS_NAMES.get(status, status)}”，不能{FINAL_ACT_NAMES[act]}"


def in_force(versions: list[tuple[int, str]]) -> int | None:
    """Of (version, status) pairs, the version in force: the approved one with the highest number."""
    approved = [v for v, s in versions if s == "approved"]
    return max(approved) if approved else None


# ---- pre-fill ------------------------------------------------------------------------------------


def month_key(day: dt.date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def last_months(today: dt.date, n: int = 12) -> list[str]:
    """The ``n`` complete months before ``today``'s month, oldest first ("YYYY-MM")."""
    y, m = today.year, today.month
    out = []
    for _ in range(n):
        m -= 1
        if m == 0:
            y, m = y - 1, 12
        out.append(f"{y:04d}-{m:02d}")
    return list(reversed(out))


def window_text(months: list[str]) -> str:
    return f"{months[0]} 至 {months[-1]}" if months else ""


def premium_prefill(ledger_fen: int, declared_fen: int, months: list[str]) -> tuple[int, str]:
    """The premium income budget: the ledger's premium income of the last twelve months, or — when
    the ledger has none yet — what the platforms declared for those months."""
    w = window_text(months)
    if ledger_fen > 0:
        return ledger_fen, f"按总账 {w} 共 {len(months)} 个月已到账保障费收入 {yuan(ledger_fen)} 元测算"
    if declared_fen > 0:
        return declared_fen, f"总账尚无保障费收入，按平台 {w} 申报核定的应缴保障费合计 {yuan(declared_fen)} 元测算"
    return 0, f"{w} 既无到账保障费也无申报记录，请按税务部门收入预测填列"


def interest_prefill(ledger_fen: int, months: list[str]) -> tuple[int, str]:
    w = window_text(months)
    if ledger_fen > 0:
        return ledger_fen, f"按总账 {w} 分摊的利息收入 {yuan(ledger_fen)} 元测算"
    return 0, f"{w} 无利息收入记录"


def expense_prefill(ledger_fen: int, monthly: int, monthly_rate_fen: int, months: list[str]) -> tuple[int, str]:
    """One benefit item's budget in one city. A monthly item with beneficiaries in payment is
    budgeted at their current monthly rates × 12 (the known commitment) or the last twelve months'
    payments, whichever is larger; any other item at the last twelve months' payments."""
    w = window_text(months)
    past = f"{w} 实际支出 {yuan(ledger_fen)} 元"
    if monthly:
        year_fen = monthly_rate_fen * 12
        sched = f"在册定期待遇 {monthly} 人，现行月标准合计 {yuan(monthly_rate_fen)} 元 × 12 个月 = {yuan(year_fen)} 元"
        if year_fen >= ledger_fen:
            return year_fen, f"按{sched}测算（{past}）"
        return ledger_fen, f"按{past}测算（{sched}）"
    return ledger_fen, f"按{past}测算"


# ---- execution -----------------------------------------------------------------------------------

ONE_DECIMAL = Decimal("0.1")


def rate(actual_fen: int, budget_fen: int) -> Decimal | None:
    """Execution rate in percent with one decimal (half-up); None without a budget."""
    if budget_fen <= 0:
        return None
    return (Decimal(actual_fen) * 100 / Decimal(budget_fen)).quantize(ONE_DECIMAL, rounding=ROUND_HALF_UP)


def time_progress(year: int, today: dt.date) -> Decimal:
    """The elapsed share of ``year`` on ``today`` (through today), in percent with one decimal."""
    if year < today.year:
        return Decimal(100).quantize(ONE_DECIMAL)
    if year > today.year:
        return Decimal(0).quantize(ONE_DECIMAL)
    days = 366 if calendar.isleap(year) else 365
    elapsed = (today - dt.date(year, 1, 1)).days + 1
    return (Decimal(elapsed) * 100 / days).quantize(ONE_DECIMAL, rounding=ROUND_HALF_UP)


def months_of(year: int) -> list[str]:
    return [f"{year:04d}-{m:02d}" for m in range(1, 13)]


# ---- input ---------------------------------------------------------------------------------------


class BadAmount(ValueError):
    pass


def fen_from_yuan(text: str) -> int:
    """ "1,234.5" → 123450. Yuan with at most two decimals, not negative; exact (Decimal)."""
    s = (text or "").strip().replace(",", "").replace("，", "")
    if not s:
        raise BadAmount("请填写金额（元）")
    try:
        d = Decimal(s)
    except InvalidOperation:
        raise BadAmount("金额应为数字（元，最多两位小数）") from None
    if not d.is_finite() or d < 0:
        raise BadAmount("金额不能为负数")
    fen = d * 100
    if fen != fen.to_integral_value():
        raise BadAmount("金额最多两位小数（分）")
    if fen > Decimal(10) ** 15:
        raise BadAmount("金额过大")
    return int(fen)
