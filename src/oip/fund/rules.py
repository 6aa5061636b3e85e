"""The fund's pure rules: the chart of accounts as first loaded, how each business event is booked,
what balances, which period takes an entry, and the states of budgets, cash plans and supervision.

No database here (import-linter's "pure" contract): oip.fund.posting and the other services load,
call these, and write.

**The chart** (seed 二(三)): the occupational-injury money has its own income subjects (4001
职业伤害保障费收入, 4002 利息收入) and its own expenditure subject 5001 职业伤害保障支出 with one
sub-subject per benefit item (500101 …); the assets are the fiscal special account (1001, held by
the autonomous region: the fund is pooled at the region, 自治区级统筹), the cities' expenditure
accounts (1002) and receivables/advances (1101). 1201 上下级往来 carries money between the region
and a city, so that every entry balances in every city as well as in total.

**Booking** (one entry per tax return, per bank batch and day, per reversal):
- premium received: Dr 1001 (region) / Cr 4001 (region);
- interest apportioned: Dr 1001 (region) / Cr 4002 (region);
- allocation to a city (cash plan): Dr 1002 (city) / Cr 1201 (city); Dr 1201 (region) / Cr 1001 (region);
- benefit paid: Dr 5001xx (city of the case) / Cr 1002 (city);
- benefit reversed (退汇): the opposite.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from oip.benefits.calc import ITEM_NAMES as BENEFIT_ITEM_NAMES

PROVINCE = "450000"

FISCAL = "1001"  # 财政专户存款
EXPENDITURE_ACCOUNT = "1002"  # 支出户存款
RECEIVABLE = "1101"  # 暂付款（应收）
INTERUNIT = "1201"  # 上下级往来
SUSPENSE = "2101"  # 暂收款
BALANCE = "3001"  # 职业伤害保障基金结余
PREMIUM_INCOME = "4001"
INTEREST_INCOME = "4002"
OTHER_INCOME = "4009"
EXPENSE = "5001"
OTHER_EXPENSE = "5009"

# Benefit item → expenditure sub-subject (oip.benefits.calc.ITEMS; names there).
ITEM_SUBJECTS = {
    "medical": "500101",
    "meal_subsidy": "500102",
    "devices": "500103",
    "disability_once": "500104",
    "disability_monthly": "500105",
    "nursing": "500106",
    "funeral": "500107",
    "dependants": "500108",
    "death_once": "500109",
    "death_once_advance": "500110",
}
ITEM_NAMES = BENEFIT_ITEM_NAMES  # one home: the benefit items' names (oip.benefits.calc, pure)

KIND_NAMES = {"asset": "资产类", "liability": "负债类", "net": "基金结余类", "income": "收入类", "expense": "支出类"}
DEBIT_KINDS = frozenset({"asset", "expense"})


@dataclass(frozen=True)
class SubjectDef:
    code: str
    name: str
    kind: str
    parent_code: str | None = None
    item: str | None = None

    @property
    def side(self) -> str:
        return "debit" if self.kind in DEBIT_KINDS else "credit"


CHART: tuple[SubjectDef, ...] = (
    SubjectDef(FISCAL, "财政专户存款（职业伤害保障）", "asset"),
    SubjectDef(EXPENDITURE_ACCOUNT, "支出户存款（职业伤害保障）", "asset"),
    SubjectDef(RECEIVABLE, "暂付款（应收款项）", "asset"),
    SubjectDef(INTERUNIT, "上下级往来", "asset"),
    SubjectDef(SUSPENSE, "暂收款", "liability"),
    SubjectDef(BALANCE, "职业伤害保障基金结余", "net"),
    SubjectDef(PREMIUM_INCOME, "职业伤害保障费收入", "income"),
    SubjectDef(INTEREST_INCOME, "职业伤害保障利息收入", "income"),
    SubjectDef(OTHER_INCOME, "职业伤害保障其他收入", "income"),
    SubjectDef(EXPENSE, "职业伤害保障支出", "expense"),
    *(SubjectDef(code, ITEM_NAMES[item], "expense", EXPENSE, item) for item, code in ITEM_SUBJECTS.items()),
    SubjectDef(OTHER_EXPENSE, "职业伤害保障其他支出", "expense"),
)

ENTRY_KINDS = {
    "premium": "保障费到账",
    "interest": "利息收入分摊",
    "allocation": "拨付支出户",
    "payment": "待遇支出",
    "reversal_payment": "待遇退汇冲回",
    "manual": "手工凭证",
    "reversal": "红字冲销",
}
ENTRY_STATUS_NAMES = {"draft": "草稿", "submitted": "待复核", "posted": "已记账", "rejected": "已退回"}


def city_of(code: str) -> str:
    """The city a region code books under ("450103" → "450100"; the region is "450000")."""
    return code[:4] + "00"


@dataclass(frozen=True)
class Leg:
    """One side of an entry: a subject in a city, a debit or a credit."""

    subject: str
    city: str
    debit: int = 0
    credit: int = 0


class Unbalanced(ValueError):
    pass


def check_legs(legs: Iterable[Leg]) -> list[Leg]:
    """The legs of one entry, validated: each one-sided and positive, at least two, debits equal to
    credits in total and in every city. Raises Unbalanced (Chinese reason) otherwise."""
    legs = list(legs)
    if len(legs) < 2:
        raise Unbalanced("凭证至少需要一借一贷两条分录")
    per_city: dict[str, int] = defaultdict(int)
    for x in legs:
        if x.debit < 0 or x.credit < 0 or (x.debit == 0) == (x.credit == 0):
            raise Unbalanced(f"科目 {x.subject} 的分录须且只能有借方或贷方一方金额，且为正数")
        per_city[x.city] += x.debit - x.credit
    if sum(x.debit for x in legs) != sum(x.credit for x in legs):
        raise Unbalanced("借方合计不等于贷方合计")
    off = [c for c, v in per_city.items() if v]
    if off:
        raise Unbalanced(f"地区 {'、'.join(sorted(off))} 的借贷不平衡：跨地区的资金须经“上下级往来”科目")
    return legs


def merge(legs: Iterable[Leg]) -> list[Leg]:
    """Add up legs of the same subject, city and side (a batch's many lines become one per item)."""
    acc: dict[tuple[str, str, str], int] = defaultdict(int)
    for x in legs:
        side = "d" if x.debit else "c"
        acc[(x.subject, x.city, side)] += x.debit or x.credit
    out = [Leg(s, c, v, 0) if side == "d" else Leg(s, c, 0, v) for (s, c, side), v in acc.items() if v]
    return sorted(out, key=lambda x: (x.credit > 0, x.city, x.subject))


def premium_legs(amount_fen: int) -> list[Leg]:
    return [Leg(FISCAL, PROVINCE, debit=amount_fen), Leg(PREMIUM_INCOME, PROVINCE, credit=amount_fen)]


def interest_legs(amount_fen: int) -> list[Leg]:
    return [Leg(FISCAL, PROVINCE, debit=amount_fen), Leg(INTEREST_INCOME, PROVINCE, credit=amount_fen)]


def allocation_legs(city: str, amount_fen: int) -> list[Leg]:
    return [
        Leg(EXPENDITURE_ACCOUNT, city, debit=amount_fen),
        Leg(INTERUNIT, city, credit=amount_fen),
        Leg(INTERUNIT, PROVINCE, debit=amount_fen),
        Leg(FISCAL, PROVINCE, credit=amount_fen),
    ]


def payment_legs(item: str, region_code: str, amount_fen: int, *, reversed_: bool = False) -> list[Leg]:
    subject = ITEM_SUBJECTS.get(item, OTHER_EXPENSE)
    city = city_of(region_code)
    if reversed_:
        return [Leg(EXPENDITURE_ACCOUNT, city, debit=amount_fen), Leg(subject, city, credit=amount_fen)]
    return [Leg(subject, city, debit=amount_fen), Leg(EXPENDITURE_ACCOUNT, city, credit=amount_fen)]


def event_legs(kind: str, amount_fen: int, region_code: str, payload: dict) -> list[Leg]:
    """How a domain event (oip.core.events.KINDS) is booked."""
    if kind == "premium.received":
        return premium_legs(amount_fen)
    if kind == "benefit.paid":
        return payment_legs(payload.get("item", ""), region_code, amount_fen)
    if kind == "benefit.reversed":
        return payment_legs(payload.get("item", ""), region_code, amount_fen, reversed_=True)
    raise ValueError(f"no booking rule for event {kind!r}")


def event_group(kind: str, source_id: int, occurred_on: dt.date, payload: dict) -> tuple:
    """Which entry an event goes into: a tax return and a reversal each make their own; a bank
    batch's payments of one day make one entry (汇总记账, traced line by line through receipts)."""
    if kind == "benefit.paid":
        return ("payment", payload.get("batch_id"), occurred_on)
    if kind == "benefit.reversed":
        return ("reversal_payment", source_id, occurred_on)
    return ("premium", source_id, occurred_on)


def reversal_of(legs: Iterable[Leg]) -> list[Leg]:
    """The red-ink reversal (红字冲销) of an entry: every debit becomes a credit and back."""
    return [Leg(x.subject, x.city, debit=x.credit, credit=x.debit) for x in legs]


def mirrors(reversal: Iterable[Leg], original: Iterable[Leg]) -> bool:
    """Whether ``reversal`` is exactly the red-ink reversal of ``original`` (in any order)."""

    def key(x: Leg) -> tuple:
        return (x.subject, x.city, x.debit, x.credit)

    return sorted(reversal_of(original), key=key) == sorted(reversal, key=key)


def month_of(day: dt.date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def next_month(month: str) -> str:
    y, m = int(month[:4]), int(month[5:])
    return f"{y + m // 12:04d}-{m % 12 + 1:02d}"


def period_for(day: dt.date, closed: Iterable[str]) -> str:
    """The period an entry dated ``day`` goes to: its month, or — when that month is closed — the
    first later month still open (a late event is booked in the current books, never in closed
    ones)."""
    closed = set(closed)
    month = month_of(day)
    while month in closed:
        month = next_month(month)
    return month


def can_close(month: str, closed: Iterable[str], first_month: str | None) -> str | None:
    """None if ``month`` may be closed now, else why not: months close in order, one after the
    other, from the first month that has entries."""
    closed = set(closed)
    if month in closed:
        return f"{month} 已结账"
    if first_month and month > first_month:
        prev = first_month
        while prev < month:
            if prev not in closed:
                return f"请先结账 {prev}（会计期间须按月顺序结账）"
            prev = next_month(prev)
    return None


def balance(kind: str, debit: int, credit: int) -> int:
    """A subject's balance on its normal side (assets and expenditure: debit − credit)."""
    return debit - credit if kind in DEBIT_KINDS else credit - debit


def apportion(total: int, weights: dict[str, int]) -> dict[str, int]:
    """Split ``total`` fen by ``weights`` with the largest-remainder method: the parts add up to
    the total exactly, fen for fen."""
    wsum = sum(max(w, 0) for w in weights.values())
    if total == 0 or wsum == 0:
        return {k: 0 for k in weights}
    base = {k: total * max(w, 0) // wsum for k, w in weights.items()}
    rest = total - sum(base.values())
    order = sorted(weights, key=lambda k: (-(total * max(weights[k], 0) % wsum), k))
    for k in order[:rest]:
        base[k] += 1
    return base


def interest_share(fund_interest_fen: int, fund_balance_fen: int, oi_balance_fen: int) -> int:
    """The occupational-injury money's share of the fund's interest, by average balance, rounded
    half-up to the fen. Never more than the whole interest."""
    if fund_balance_fen <= 0 or oi_balance_fen <= 0 or fund_interest_fen <= 0:
        return 0
    oi = min(oi_balance_fen, fund_balance_fen)
    return (2 * fund_interest_fen * oi + fund_balance_fen) // (2 * fund_balance_fen)


def suppress(value: int, threshold: int) -> int | None:
    """A public figure counted in people or cases: None (shown as “<threshold”) when it is under the
    threshold but not zero, so no small group can be singled out."""
    return None if 0 < value < threshold else value
