"""The benefits calculator (待遇计算) — pure, explainable, Decimal arithmetic, no database.

``quote(inp, rates)`` turns the facts of a case (``QuoteInput``) and the parameter values in force on
the event date for the region (``Rates``, resolved by oip.benefits.service.rates_for) into lines, one
per item of docs/domain.md §5 that applies. Every line carries its amount in fen (each line rounded
half-up to the fen), whether it is monthly, its formula in words (Chinese, with the figures) and the
parameter versions it used. ``validate(inp)`` raises DomainError naming the field for bad input.

The same function serves the trial calculation (POST /api/v1/benefits/quote), the determination on a
case, the claims (medical lines) and the re-rating of monthly benefits.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

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


def validate(inp: QuoteInput) -> None:
    """Raise DomainError (with ``field``) when the input cannot be calculated."""
    raise NotImplementedError  # filled by the calculator's author (issue 12)


def quote(inp: QuoteInput, rates: Rates) -> Quote:
    """Every line that applies to ``inp`` under ``rates``."""
    raise NotImplementedError  # filled by the calculator's author (issue 12)
