"""The benefits calculator (待遇计算) — pure, explainable, Decimal arithmetic, no database.

``quote(inp, rates)`` turns the facts of a case (``QuoteInput``) and the parameter values in force on
the event date for the region (``Rates``, resolved by oip.benefits.service.rates_for) into lines, one
per item of docs/domain.md §5 that applies. Every line carries its amount in fen (each line rounded
half-up to the fen), whether it is monthly, its formula in words (Chinese, with the figures) and the
parameter versions it used. ``validate(inp)`` raises DomainError naming the field for bad input.

The same function serves the trial calculation (POST /api/v1/benefits/quote), the determination on a
case, the claims (medical lines) and the re-rating of monthly benefits.

Which items apply (docs/benefits.md, "The calculator and its parameters"):

- every kind: ``medical`` (bills of kind medical/rehab; those outside the catalogues are excluded and
  listed in ``detail``), ``devices`` (bills of kind devices), ``meal_subsidy`` (hospital days × the
  daily standard);
- injury with a grade: ``disability_once`` (months[grade] × B); grades 1–4 also
  ``disability_monthly`` (percent × B, never below the region's minimum wage) and, with a self-care
  level, ``nursing`` (percent × W);
- death: ``funeral`` (6 × W), ``dependants`` (one line per dependant, from the month after the
  death), ``death_once`` (20 × I);
- missing: ``dependants`` from the fourth month counted from the accident's month (accident in
  August: from 1 November), and ``death_once_advance`` (half of 20 × I).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import ROUND_FLOOR, ROUND_HALF_UP, Decimal
from typing import Any

from oip.core.errors import DomainError

PILOT_START = dt.date(2025, 7, 1)  # = oip.reference.parameters.PILOT_START (this module stays pure)

# The parameter keys the calculator reads (oip.benefits.parameters defines them).
B = "benefit.base_monthly_fen"
W = "benefit.avg_monthly_wage_fen"
I = "benefit.national_disposable_income_fen"  # noqa: E741
MINIMUM_WAGE = "benefit.minimum_wage_monthly_fen"
MEAL_DAILY = "benefit.meal_subsidy_daily_fen"
ONCE_MONTHS = "benefit.disability_once_months"
MONTHLY_PERCENT = "benefit.disability_monthly_percent"
NURSING_PERCENT = "benefit.nursing_percent"
FUNERAL_MONTHS = "benefit.funeral_months"
DEPENDANT_PERCENT = "benefit.dependant_percent"
DEATH_MULTIPLE = "benefit.death_once_multiple"
MISSING_FROM_MONTH = "benefit.missing_pension_from_month"
MISSING_ADVANCE = "benefit.missing_advance_percent"
RATE_KEYS = (
    B,
    W,
    I,
    MINIMUM_WAGE,
    MEAL_DAILY,
    ONCE_MONTHS,
    MONTHLY_PERCENT,
    NURSING_PERCENT,
    FUNERAL_MONTHS,
    DEPENDANT_PERCENT,
    DEATH_MULTIPLE,
    MISSING_FROM_MONTH,
    MISSING_ADVANCE,
)

KINDS = ("injury", "death", "missing")
SELF_CARE = ("none", "partial", "most", "complete")
RELATIONS = ("spouse", "child", "parent", "other")
ITEMS = (
    "medical",
    "meal_subsidy",
    "devices",
    "disability_once",
    "disability_monthly",
    "nursing",
    "funeral",
    "dependants",
    "death_once",
    "death_once_advance",
)
ITEM_NAMES = {
    "medical": "医疗费、康复费",
    "meal_subsidy": "住院伙食补助费",
    "devices": "辅助器具配置费",
    "disability_once": "一次性伤残补助金",
    "disability_monthly": "伤残津贴",
    "nursing": "生活护理费",
    "funeral": "丧葬补助金",
    "dependants": "供养亲属抚恤金",
    "death_once": "一次性工亡补助金",
    "death_once_advance": "一次性工亡补助金（失踪先行支付50%）",
}
MONTHLY_ITEMS = frozenset({"disability_monthly", "nursing", "dependants"})
BILL_KINDS = ("medical", "rehab", "devices")
KIND_NAMES = {"injury": "受伤", "death": "死亡", "missing": "失踪"}
SELF_CARE_NAMES = {
    "none": "无护理依赖",
    "partial": "部分不能自理",
    "most": "大部分不能自理",
    "complete": "完全不能自理",
}
RELATION_NAMES = {"spouse": "配偶", "child": "子女", "parent": "父母", "other": "其他亲属"}
GRADE_NAMES = {n: f"{'一二三四五六七八九十'[n - 1]}级" for n in range(1, 11)}
MAX_BILL_FEN = 10**10  # 1 亿元 per receipt: a typo, not a bill
MAX_HOSPITAL_DAYS = 36600
MAX_DEPENDANTS = 20
MAX_BILLS = 2000


@dataclass(frozen=True)
class DependantIn:
    """A dependant as the calculator sees them; ``ref`` lets a caller match the line to its row."""

    relation: str
    orphan_or_lone_elderly: bool = False
    ref: Any = None


@dataclass(frozen=True)
class BillIn:
    """One receipt: its amount and whether it is inside the work-injury catalogues."""

    amount_fen: int
    in_catalogue: bool = True
    ref: Any = None  # e.g. the receipt number
    kind: str = "medical"  # medical | rehab | devices


@dataclass(frozen=True)
class QuoteInput:
    event_date: dt.date
    region_code: str
    kind: str  # injury | death | missing
    grade: int | None = None  # 1 (most severe) … 10, None: not appraised / no grade
    self_care: str = "none"
    dependants: tuple[DependantIn, ...] = ()
    medical_bills: tuple[BillIn, ...] = ()
    hospital_days: int = 0


@dataclass(frozen=True)
class Rates:
    """The parameter values in force for one event date and region, and their versions
    (``versions[key]`` is e.g. ``benefit.base_monthly_fen@2025-07-01/45``)."""

    event_date: dt.date
    region_code: str
    values: dict[str, Any]
    versions: dict[str, str] = field(default_factory=dict)

    def __getitem__(self, key: str) -> Any:
        return self.values[key]


@dataclass(frozen=True)
class Line:
    item: str
    amount_fen: int
    monthly: bool
    formula: str
    parameters: tuple[str, ...] = ()
    detail: dict[str, Any] = field(default_factory=dict)
    dependant_ref: Any = None
    starts_on: dt.date | None = None  # monthly lines: the first day of the first month owed

    @property
    def name(self) -> str:
        return ITEM_NAMES[self.item]


@dataclass(frozen=True)
class Quote:
    lines: tuple[Line, ...]
    total_once_fen: int
    total_monthly_fen: int


# ---- validation ------------------------------------------------------------------------------------


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def validate(inp: QuoteInput) -> None:
    """Raise DomainError (with ``field``) when the input cannot be calculated."""
    if inp.kind not in KINDS:
        raise DomainError("事件类型（kind）应为 injury（受伤）、death（死亡）或 missing（失踪）", field="kind")
    if not isinstance(inp.event_date, dt.date) or isinstance(inp.event_date, dt.datetime):
        raise DomainError("事件日期（event_date）应为日期（YYYY-MM-DD）", field="event_date")
    if inp.event_date < PILOT_START:
        raise DomainError(
            f"事件日期（event_date）{inp.event_date.isoformat()} 早于试点开始日 {PILOT_START.isoformat()}，"
            "不属于职业伤害保障范围",
            field="event_date",
        )
    code = inp.region_code if isinstance(inp.region_code, str) else ""
    if not (code.isdigit() and len(code) in (2, 4, 6) and code.startswith("45")):
        raise DomainError(
            "行政区划代码（region_code）应为广西的 2、4 或 6 位代码，如 45、4501、450103", field="region_code"
        )
    if inp.grade is not None:
        if not _is_int(inp.grade) or not 1 <= inp.grade <= 10:
            raise DomainError("伤残等级（grade）应为 1 至 10 的整数（一级最重），未评定时不填", field="grade")
        if inp.kind != "injury":
            raise DomainError(
                f"伤残等级（grade）只适用于受伤；{KIND_NAMES[inp.kind]}的情形不应填写伤残等级", field="grade"
            )
    if inp.self_care not in SELF_CARE:
        raise DomainError(
            "生活自理障碍等级（self_care）应为 none、partial（部分不能自理）、most（大部分不能自理）"
            "或 complete（完全不能自理）",
            field="self_care",
        )
    if inp.self_care != "none":
        if inp.kind != "injury":
            raise DomainError(
                f"生活自理障碍等级（self_care）只适用于受伤；{KIND_NAMES[inp.kind]}的情形应为 none",
                field="self_care",
            )
        if inp.grade is None:
            raise DomainError(
                "生活自理障碍等级（self_care）须与伤残等级一并经劳动能力鉴定确认；未评定伤残等级时应为 none",
                field="self_care",
            )
    if not _is_int(inp.hospital_days) or not 0 <= inp.hospital_days <= MAX_HOSPITAL_DAYS:
        raise DomainError("住院天数（hospital_days）应为不小于 0 的整数", field="hospital_days")
    if len(inp.medical_bills) > MAX_BILLS:
        raise DomainError(f"医疗费票据（medical_bills）一次最多 {MAX_BILLS} 张", field="medical_bills")
    for n, b in enumerate(inp.medical_bills, 1):
        if not _is_int(b.amount_fen) or not 0 <= b.amount_fen <= MAX_BILL_FEN:
            raise DomainError(
                f"医疗费票据（medical_bills）第 {n} 张的金额（amount_fen）应为不小于 0 的整数（分）",
                field=f"medical_bills.{n - 1}.amount_fen",
            )
        if b.kind not in BILL_KINDS:
            raise DomainError(
                f"医疗费票据（medical_bills）第 {n} 张的类别（kind）应为 medical、rehab 或 devices",
                field=f"medical_bills.{n - 1}.kind",
            )
        if not isinstance(b.in_catalogue, bool):
            raise DomainError(
                f"医疗费票据（medical_bills）第 {n} 张的 in_catalogue 应为 true 或 false",
                field=f"medical_bills.{n - 1}.in_catalogue",
            )
    if inp.dependants and inp.kind == "injury":
        raise DomainError("供养亲属（dependants）只适用于死亡或失踪；受伤的情形不应填写供养亲属", field="dependants")
    if len(inp.dependants) > MAX_DEPENDANTS:
        raise DomainError(f"供养亲属（dependants）最多 {MAX_DEPENDANTS} 人", field="dependants")
    for n, d in enumerate(inp.dependants, 1):
        if d.relation not in RELATIONS:
            raise DomainError(
                f"供养亲属（dependants）第 {n} 人的关系（relation）应为 spouse（配偶）、child（子女）、"
                "parent（父母）或 other（其他亲属）",
                field=f"dependants.{n - 1}.relation",
            )
        if not isinstance(d.orphan_or_lone_elderly, bool):
            raise DomainError(
                f"供养亲属（dependants）第 {n} 人的 orphan_or_lone_elderly 应为 true 或 false",
                field=f"dependants.{n - 1}.orphan_or_lone_elderly",
            )
    if sum(1 for d in inp.dependants if d.relation == "spouse") > 1:
        raise DomainError("供养亲属（dependants）中配偶至多一人", field="dependants")


# ---- arithmetic and words --------------------------------------------------------------------------

HUNDRED = Decimal(100)


def round_fen(x: Decimal) -> int:
    """Half-up to the fen (ROUND_HALF_UP)."""
    return int(x.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def yuan(fen: int | Decimal) -> str:
    """Fen as yuan for a formula: 677200 → "6,772.00 元"; a fraction of a fen keeps its digits."""
    y = Decimal(fen) / HUNDRED
    text = f"{y:,.2f}" if y == y.quantize(Decimal("0.01")) else f"{y.normalize():,f}"
    return f"{text} 元"


def add_months(day: dt.date, months: int) -> dt.date:
    """The first day of the month ``months`` after ``day``'s month."""
    n = day.year * 12 + day.month - 1 + months
    return dt.date(n // 12, n % 12 + 1, 1)


def missing_pension_start(event_date: dt.date, from_month: int) -> dt.date:
    """A missing worker's dependants are paid from the ``from_month``-th month counted with the
    accident's month as the first (条例 41: wages for three months, the pension from the fourth):
    the first day of the month ``from_month - 1`` months after the accident's month."""
    return add_months(event_date, from_month - 1)


def death_pension_start(event_date: dt.date) -> dt.date:
    """After a death the dependants' pension is owed from the month after the death."""
    return add_months(event_date, 1)


class _Rates:
    """Reads ``Rates`` and remembers nothing: ``v(key)`` the value, ``ver(*keys)`` their versions."""

    def __init__(self, rates: Rates):
        self.rates = rates

    def v(self, key: str) -> Any:
        try:
            return self.rates.values[key]
        except KeyError:
            raise DomainError(f"缺少参数 {key} 的取值", field=key) from None

    def ver(self, *keys: str) -> tuple[str, ...]:
        return tuple(self.rates.versions.get(k, k) for k in keys)


# ---- the items -------------------------------------------------------------------------------------


def _bill_lines(inp: QuoteInput, r: _Rates) -> list[Line]:
    out = []
    for item, kinds in (("medical", ("medical", "rehab")), ("devices", ("devices",))):
        bills = [b for b in inp.medical_bills if b.kind in kinds]
        if not bills:
            continue
        inside = [b for b in bills if b.in_catalogue]
        outside = [b for b in bills if not b.in_catalogue]
        amount = sum(b.amount_fen for b in inside)
        excluded = sum(b.amount_fen for b in outside)
        what = "工伤保险目录内" if item == "medical" else "经确认的辅助器具"
        formula = f"{ITEM_NAMES[item]} = {what}票据 {len(inside)} 张合计 {yuan(amount)}"
        if outside:
            reason = "超出工伤保险药品、诊疗项目、服务设施目录" if item == "medical" else "未经确认或超出国家标准"
            formula += f"；{reason}的 {len(outside)} 张共 {yuan(excluded)} 不予支付"
        detail = {
            "bills": [
                {"ref": b.ref, "kind": b.kind, "amount_fen": b.amount_fen, "in_catalogue": b.in_catalogue}
                for b in bills
            ],
            "included_fen": amount,
            "excluded_fen": excluded,
            "excluded": [{"ref": b.ref, "kind": b.kind, "amount_fen": b.amount_fen} for b in outside],
        }
        out.append(Line(item, amount, False, formula, (), detail))
    return out


def _meal_line(inp: QuoteInput, r: _Rates) -> list[Line]:
    if inp.hospital_days <= 0:
        return []
    daily = int(r.v(MEAL_DAILY))
    amount = round_fen(Decimal(daily) * inp.hospital_days)
    formula = f"住院伙食补助费 = 住院 {inp.hospital_days} 天 × {yuan(daily)}/天 = {yuan(amount)}"
    return [Line("meal_subsidy", amount, False, formula, r.ver(MEAL_DAILY), {"days": inp.hospital_days})]


def _disability_lines(inp: QuoteInput, r: _Rates) -> list[Line]:
    if inp.kind != "injury" or inp.grade is None:
        return []
    g, gname = inp.grade, GRADE_NAMES[inp.grade]
    base = int(r.v(B))
    months = int(r.v(ONCE_MONTHS)[g - 1])
    once = round_fen(Decimal(base) * months)
    out = [
        Line(
            "disability_once",
            once,
            False,
            f"一次性伤残补助金 = 本人工资 B {yuan(base)} × {months} 个月（{gname}伤残）= {yuan(once)}",
            r.ver(B, ONCE_MONTHS),
            {"grade": g, "months": months, "base_fen": base},
        )
    ]
    if g <= 4:
        pct = int(r.v(MONTHLY_PERCENT)[str(g)])
        floor = int(r.v(MINIMUM_WAGE))
        computed = round_fen(Decimal(base) * pct / HUNDRED)
        formula = f"伤残津贴 = 本人工资 B {yuan(base)} × {pct}%（{gname}伤残）= {yuan(computed)}/月"
        if computed < floor:
            amount = floor
            formula += f"，低于当地最低工资标准 {yuan(floor)}，按最低工资标准 {yuan(floor)}/月支付"
        else:
            amount = computed
            formula += f"（不低于当地最低工资标准 {yuan(floor)}）"
        out.append(
            Line(
                "disability_monthly",
                amount,
                True,
                formula,
                r.ver(B, MONTHLY_PERCENT, MINIMUM_WAGE),
                {
                    "grade": g,
                    "percent": pct,
                    "base_fen": base,
                    "computed_fen": computed,
                    "floor_fen": floor,
                    "floor_applied": computed < floor,
                },
            )
        )
    if inp.self_care != "none":
        wage = int(r.v(W))
        pct = int(r.v(NURSING_PERCENT)[inp.self_care])
        amount = round_fen(Decimal(wage) * pct / HUNDRED)
        out.append(
            Line(
                "nursing",
                amount,
                True,
                f"生活护理费 = 上年度职工月平均工资 W {yuan(wage)} × {pct}%"
                f"（生活{SELF_CARE_NAMES[inp.self_care]}）= {yuan(amount)}/月",
                r.ver(W, NURSING_PERCENT),
                {"self_care": inp.self_care, "percent": pct, "wage_fen": wage},
            )
        )
    return out


def _funeral_line(inp: QuoteInput, r: _Rates) -> list[Line]:
    if inp.kind != "death":
        return []
    wage = int(r.v(W))
    months = int(r.v(FUNERAL_MONTHS))
    amount = round_fen(Decimal(wage) * months)
    formula = f"丧葬补助金 = 上年度职工月平均工资 W {yuan(wage)} × {months} 个月 = {yuan(amount)}"
    return [Line("funeral", amount, False, formula, r.ver(W, FUNERAL_MONTHS), {"months": months, "wage_fen": wage})]


def dependant_shares(percents: list[int], base_fen: int) -> tuple[list[int], bool]:
    """Each dependant's monthly pension in fen from their percentage of B, and whether the cap applied.

    Each share is percent × B rounded half-up. When the percentages add up to more than 100 %, the
    total would exceed B: every share is scaled by B ÷ (their exact sum). When the half-up rounding of
    the shares would still carry their sum over B (or over the rounded exact sum), the shares are
    apportioned to the fen by the largest remainder (each gets its floor, the fen left over go to the
    largest fractions, earliest first), so the sum never exceeds B."""
    base = Decimal(base_fen)
    exact = [base * p / HUNDRED for p in percents]
    total = sum(exact, Decimal(0))
    capped = total > base
    if capped:
        exact = [e * base / total for e in exact]
    rounded = [round_fen(e) for e in exact]
    target = base_fen if capped else min(base_fen, round_fen(total))
    if sum(rounded) <= target:
        return rounded, capped
    floors = [int(e.to_integral_value(rounding=ROUND_FLOOR)) for e in exact]
    left = max(0, target - sum(floors))
    order = sorted(range(len(exact)), key=lambda i: (-(exact[i] - floors[i]), i))
    for i in order[:left]:
        floors[i] += 1
    return floors, capped


def _dependant_lines(inp: QuoteInput, r: _Rates) -> list[Line]:
    if inp.kind not in ("death", "missing") or not inp.dependants:
        return []
    base = int(r.v(B))
    table = r.v(DEPENDANT_PERCENT)
    extra = int(table["orphan_or_lone_elderly_extra"])
    percents: list[int] = []
    for d in inp.dependants:
        p = int(table["spouse"] if d.relation == "spouse" else table["other"])
        percents.append(p + (extra if d.orphan_or_lone_elderly else 0))
    shares, capped = dependant_shares(percents, base)
    if inp.kind == "missing":
        from_month = int(r.v(MISSING_FROM_MONTH))
        starts = missing_pension_start(inp.event_date, from_month)
        when = f"自事故发生当月起第 {from_month} 个月（{starts.year} 年 {starts.month} 月）起按月支付"
        keys: tuple[str, ...] = (B, DEPENDANT_PERCENT, MISSING_FROM_MONTH)
    else:
        starts = death_pension_start(inp.event_date)
        when = f"自死亡次月（{starts.year} 年 {starts.month} 月）起按月支付"
        keys = (B, DEPENDANT_PERCENT)
    raw_total = sum((Decimal(base) * p / HUNDRED for p in percents), Decimal(0))
    out = []
    for d, p, share in zip(inp.dependants, percents, shares, strict=True):
        who = RELATION_NAMES[d.relation] + (f"（孤儿或孤寡老人，加发 {extra}%）" if d.orphan_or_lone_elderly else "")
        raw = Decimal(base) * p / HUNDRED
        formula = f"供养亲属抚恤金（{who}）= 本人工资 B {yuan(base)} × {p}% = {yuan(raw)}/月"
        if capped:
            formula += (
                f"；各供养亲属抚恤金合计 {sum(percents)}%（{yuan(raw_total)}）高于本人工资 B {yuan(base)}，"
                f"按 B ÷ 合计的比例核减为 {yuan(share)}/月，核减后合计不高于 B"
            )
        elif Decimal(share) != raw:
            formula += f"，取整到分为 {yuan(share)}/月"
        formula += f"；{when}"
        out.append(
            Line(
                "dependants",
                share,
                True,
                formula,
                r.ver(*keys),
                {
                    "relation": d.relation,
                    "orphan_or_lone_elderly": d.orphan_or_lone_elderly,
                    "percent": p,
                    "base_fen": base,
                    "capped": capped,
                    "total_percent": sum(percents),
                },
                dependant_ref=d.ref,
                starts_on=starts,
            )
        )
    return out


def _death_once_lines(inp: QuoteInput, r: _Rates) -> list[Line]:
    if inp.kind == "injury":
        return []
    income = int(r.v(I))
    multiple = int(r.v(DEATH_MULTIPLE))
    full = Decimal(income) * multiple
    if inp.kind == "death":
        amount = round_fen(full)
        formula = (
            f"一次性工亡补助金 = 上一年度全国城镇居民人均可支配收入 I {yuan(income)} × {multiple} = {yuan(amount)}"
        )
        return [Line("death_once", amount, False, formula, r.ver(I, DEATH_MULTIPLE), {"multiple": multiple})]
    pct = int(r.v(MISSING_ADVANCE))
    amount = round_fen(full * pct / HUNDRED)
    formula = (
        f"一次性工亡补助金先行支付 = 上一年度全国城镇居民人均可支配收入 I {yuan(income)} × {multiple}"
        f" × {pct}% = {yuan(amount)}（职工因工下落不明，供养亲属生活有困难的可先行支付；"
        "宣告死亡后支付其余部分，重新出现的应退回）"
    )
    return [
        Line(
            "death_once_advance",
            amount,
            False,
            formula,
            r.ver(I, DEATH_MULTIPLE, MISSING_ADVANCE),
            {"multiple": multiple, "percent": pct, "full_fen": round_fen(full)},
        )
    ]


def quote(inp: QuoteInput, rates: Rates) -> Quote:
    """Every line that applies to ``inp`` under ``rates``."""
    validate(inp)
    r = _Rates(rates)
    lines = [
        *_bill_lines(inp, r),
        *_meal_line(inp, r),
        *_disability_lines(inp, r),
        *_funeral_line(inp, r),
        *_dependant_lines(inp, r),
        *_death_once_lines(inp, r),
    ]
    return Quote(
        lines=tuple(lines),
        total_once_fen=sum(x.amount_fen for x in lines if not x.monthly),
        total_monthly_fen=sum(x.amount_fen for x in lines if x.monthly),
    )
