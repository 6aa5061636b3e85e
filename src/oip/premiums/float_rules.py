"""The yearly float k (费率浮动档次), pure: rules as data in, a proposal with its reasons out.

For year Y the provincial agency looks at each platform's year Y−1 (domain.md §2):

- 支缴率 (claims-to-premium ratio) = claims paid ÷ premiums received, both in fen;
- 职业伤害发生率 (injury rate) = confirmed injuries per 10,000 insured workers (average of the year);
- months with contributions, counted from the platform's start up to December of Y−1: under
  ``min_contribution_months`` (12) the platform stays at k = 0 whatever its figures.

The rules are the parameter ``premium.float_rules`` (effective-dated data, see
oip.reference.parameters): ``ratio_bands`` give a base k, ``injury_rate_bands`` add to it, and the
sum is clamped to ``k_min``…``k_max`` (−5…+5). A band applies when the value is at most its ``upto``
(inclusive); the last band has ``upto: null`` and catches everything above.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from oip.core.errors import DomainError

K_LIMIT = 5


@dataclass(frozen=True)
class Band:
    upto: Decimal | None
    k: int


@dataclass(frozen=True)
class Rules:
    min_contribution_months: int
    ratio_bands: tuple[Band, ...]
    injury_rate_bands: tuple[Band, ...]
    k_min: int
    k_max: int


def _int(v: Any, what: str, lo: int, hi: int) -> int:
    if isinstance(v, bool) or not isinstance(v, int) or not lo <= v <= hi:
        raise DomainError(f"浮动规则中{what}应为 {lo} 到 {hi} 之间的整数，不是 {v!r}", field="value")
    return v


def _bands(raw: Any, what: str) -> tuple[Band, ...]:
    if not isinstance(raw, list) or not raw:
        raise DomainError(f"浮动规则中{what}应为非空列表", field="value")
    out: list[Band] = []
    for i, b in enumerate(raw, 1):
        if not isinstance(b, dict) or set(b) != {"upto", "k"}:
            raise DomainError(f'浮动规则中{what}第 {i} 档应为 {{"upto": …, "k": …}}', field="value")
        k = _int(b["k"], f"{what}第 {i} 档的 k", -K_LIMIT, K_LIMIT)
        if b["upto"] is None:
            if i != len(raw):
                raise DomainError(f"浮动规则中{what}只有最后一档的 upto 可以为空", field="value")
            out.append(Band(None, k))
            continue
        try:
            upto = Decimal(str(b["upto"]))
        except InvalidOperation:
            raise DomainError(f"浮动规则中{what}第 {i} 档的 upto 应为数字", field="value") from None
        if not upto.is_finite() or upto < 0:
            raise DomainError(f"浮动规则中{what}第 {i} 档的 upto 应为非负数", field="value")
        if out and out[-1].upto is not None and upto <= out[-1].upto:
            raise DomainError(f"浮动规则中{what}各档的 upto 应从小到大排列", field="value")
        out.append(Band(upto, k))
    if out[-1].upto is not None:
        raise DomainError(f"浮动规则中{what}最后一档的 upto 应为空（以上全部）", field="value")
    return tuple(out)


def parse_rules(value: Any) -> Rules:
    """Validate the parameter's JSON; every problem is a Chinese DomainError on field ``value``."""
    keys = {"min_contribution_months", "ratio_bands", "injury_rate_bands", "k_min", "k_max"}
    if not isinstance(value, dict) or set(value) != keys:
        raise DomainError(f"浮动规则应包含且只包含 {', '.join(sorted(keys))}", field="value")
    k_min = _int(value["k_min"], "k_min", -K_LIMIT, 0)
    k_max = _int(value["k_max"], "k_max", 0, K_LIMIT)
    return Rules(
        min_contribution_months=_int(value["min_contribution_months"], "最少缴费月数", 0, 120),
        ratio_bands=_bands(value["ratio_bands"], "支缴率分档"),
        injury_rate_bands=_bands(value["injury_rate_bands"], "职业伤害发生率分档"),
        k_min=k_min,
        k_max=k_max,
    )


def band_k(bands: tuple[Band, ...], x: Decimal) -> int:
    for b in bands:
        if b.upto is None or x <= b.upto:
            return b.k
    raise AssertionError("the last band is open-ended")  # parse_rules guarantees it


@dataclass(frozen=True)
class Inputs:
    """A platform's figures of the previous year. ``claims_fen``/``injuries``/``insured_avg`` are
    None when no source gives them (oip.premiums.float_figures)."""

    premiums_fen: int
    months_with_contributions: int
    claims_fen: int | None = None
    injuries: int | None = None
    insured_avg: int | None = None


@dataclass
class Outcome:
    k: int
    ratio: Decimal | None = None  # 支缴率, 4 decimals
    injury_rate: Decimal | None = None  # per 10,000 insured, 2 decimals
    ratio_k: int = 0
    injury_k: int = 0
    reasons: list[str] = field(default_factory=list)


def claims_ratio(claims_fen: int, premiums_fen: int) -> Decimal:
    return (Decimal(claims_fen) / Decimal(premiums_fen)).quantize(Decimal("0.0001"), ROUND_HALF_UP)


def injury_rate(injuries: int, insured_avg: int) -> Decimal:
    return (Decimal(injuries) * 10000 / Decimal(insured_avg)).quantize(Decimal("0.01"), ROUND_HALF_UP)


def propose(rules: Rules, x: Inputs) -> Outcome:
    """The k the rules give for these figures, with the reasons in Chinese."""
    if x.months_with_contributions < rules.min_contribution_months:
        return Outcome(
            0,
            reasons=[
                f"累计缴费 {x.months_with_contributions} 个月，不满 {rules.min_contribution_months} 个月，浮动档次为 0"
            ],
        )
    if x.claims_fen is None or x.injuries is None or x.insured_avg is None:
        return Outcome(0, reasons=["缺少上年度赔付、伤害人数或平均参保人数，暂按 0 档；补齐后请重新测算"])
    if x.premiums_fen <= 0:
        return Outcome(0, reasons=["上年度无保障费收入，无法计算支缴率，按 0 档"])
    if x.insured_avg <= 0:
        return Outcome(0, reasons=["上年度平均参保人数为 0，无法计算职业伤害发生率，按 0 档"])
    ratio = claims_ratio(x.claims_fen, x.premiums_fen)
    rate = injury_rate(x.injuries, x.insured_avg)
    # Bands compare the unrounded values (0.300001 is above a band ending at 0.30); the rounded
    # ones are for people.
    rk = band_k(rules.ratio_bands, Decimal(x.claims_fen) / Decimal(x.premiums_fen))
    ik = band_k(rules.injury_rate_bands, Decimal(x.injuries) * 10000 / Decimal(x.insured_avg))
    raw = rk + ik
    k = max(rules.k_min, min(rules.k_max, raw))
    reasons = [f"支缴率 {ratio * 100:.2f}%，对应基础档次 {rk:+d}", f"职业伤害发生率 {rate} 人/万人，调整 {ik:+d}"]
    if k != raw:
        reasons.append(f"合计 {raw:+d} 超出 {rules.k_min:+d}…{rules.k_max:+d}，取 {k:+d}")
    return Outcome(k, ratio, rate, rk, ik, reasons)


def check_decision(
    rules: Rules, *, year: int, today_year: int, months_with_contributions: int, proposed_k: int, k: int, reason: str
) -> None:
    """Whether an officer may decide ``k`` for ``year`` on a proposal (pure). One path only: k for
    year Y is decided before 1 January of Y; another k than proposed stays inside the rules and
    has a reason; a k in force is never changed. Every refusal is a Chinese DomainError."""
    if year <= today_year:
        raise DomainError(
            f"{year} 年的浮动档次自 {year} 年 1 月 1 日起已执行，不能再核定或变更；"
            f"只能核定 {today_year + 1} 年及以后的档次",
            field="year",
        )
    if (
        isinstance(k, bool)
        or not isinstance(k, int)
        or not max(-K_LIMIT, rules.k_min) <= k <= min(K_LIMIT, rules.k_max)
    ):
        raise DomainError(f"浮动档次 k 应为 {rules.k_min:+d} 到 {rules.k_max:+d} 之间的整数", field="k")
    if months_with_contributions < rules.min_contribution_months and k != 0:
        raise DomainError(
            f"该平台企业累计缴费 {months_with_contributions} 个月，不满 {rules.min_contribution_months} "
            f"个月，浮动档次只能为 0",
            field="k",
        )
    if k != proposed_k and not reason.strip():
        raise DomainError(f"核定档次 {k:+d} 与测算档次 {proposed_k:+d} 不同，请填写理由", field="reason")
