"""The figures of a platform's year for the yearly float (费率浮动档次测算数据): claims paid
(待遇支出, for 支缴率), confirmed injuries (职业伤害人数, for 职业伤害发生率) and the average number of
insured workers (年平均参保人数).

They come from the data, not from typing:

- ``insured_avg`` from the order ledger's worker-months (oip.orders.models.WorkerMonth): the
  distinct workers with at least one order in each month of the year on the platform, averaged over
  the months in which the platform had any (a platform covered from July is averaged over its own
  months, as its premiums are), rounded half-up;
- ``claims_fen`` and ``injuries`` from the layers above premiums (benefits and cases), which premiums
  may not import: they register a function in ``SOURCES`` (oip.benefits.experience does, imported
  by oip.models). With no source registered they stay ``None`` and the proposal says so.

An officer may override the figures of a platform's year with typed values and a mandatory reason
(a ``PlatformYearExperience`` row, ``source='override'``, audited); the override wins until it is
withdrawn (again with a reason). ``figures`` gives what the float uses, with ``source`` ``data`` or
``override`` and, under an override, what the data says beside it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from oip.orders.models import WorkerMonth
from oip.platforms.models import Platform
from oip.premiums.models import PlatformYearExperience

SOURCE_NAMES = {"data": "按业务数据计算", "override": "人工录入"}

# A source: (session, platform, year) -> some of {"claims_fen": int, "injuries": int, "detail": {...}}.
Source = Callable[[Session, Platform, int], dict[str, Any]]
SOURCES: list[Source] = []


@dataclass(frozen=True)
class Figures:
    """What the float of year + 1 uses for a platform's ``year``. ``detail`` says how the data
    figures were counted (e.g. how many payments, which months); ``data`` is what the data says when
    an override is in force."""

    year: int
    claims_fen: int | None
    injuries: int | None
    insured_avg: int | None
    source: str  # data | override
    reason: str = ""
    entered_by: int | None = None
    entered_at: dt.datetime | None = None
    detail: dict[str, Any] = field(default_factory=dict)
    data: Figures | None = None

    @property
    def source_name(self) -> str:
        return SOURCE_NAMES[self.source]

    def as_dict(self) -> dict[str, Any]:
        out = {
            "year": self.year,
            "claims_fen": self.claims_fen,
            "injuries": self.injuries,
            "insured_avg": self.insured_avg,
            "source": self.source,
            "source_name": self.source_name,
            "reason": self.reason,
            "detail": self.detail,
        }
        if self.data is not None:
            out["data"] = self.data.as_dict()
        return out


def insured_avg(session: Session, platform_id: int, year: int) -> tuple[int, int]:
    """(average insured workers a month, months with insured workers) of the platform in ``year``."""
    monthly = (
        select(WorkerMonth.month, func.count(func.distinct(WorkerMonth.person_id)).label("n"))
        .where(
            WorkerMonth.platform_id == platform_id,
            WorkerMonth.month >= dt.date(year, 1, 1),
            WorkerMonth.month < dt.date(year + 1, 1, 1),
            WorkerMonth.orders > 0,
        )
        .group_by(WorkerMonth.month)
        .subquery()
    )
    total, months = session.execute(select(func.coalesce(func.sum(monthly.c.n), 0), func.count())).one()
    if not months:
        return 0, 0
    avg = (Decimal(int(total)) / Decimal(int(months))).quantize(Decimal(1), ROUND_HALF_UP)
    return int(avg), int(months)


def from_data(session: Session, platform: Platform, year: int) -> Figures:
    """The figures of ``year`` as the data gives them (whatever overrides exist)."""
    avg, months = insured_avg(session, platform.id, year)
    values: dict[str, Any] = {"claims_fen": None, "injuries": None}
    detail: dict[str, Any] = {"insured_months": months}
    for source in SOURCES:
        got = dict(source(session, platform, year))
        detail.update(got.pop("detail", {}) or {})
        for k in ("claims_fen", "injuries"):
            if k in got and got[k] is not None:
                values[k] = (values[k] or 0) + int(got[k])
    return Figures(year=year, insured_avg=avg, source="data", detail=detail, **values)


def override_of(session: Session, platform_id: int, year: int, *, for_update: bool = False):
    q = select(PlatformYearExperience).where(
        PlatformYearExperience.platform_id == platform_id, PlatformYearExperience.year == year
    )
    return session.scalar(q.with_for_update() if for_update else q)


def figures(session: Session, platform: Platform, year: int) -> Figures:
    """What the float uses for the platform's ``year``: an officer's override if there is one (with
    the data's figures beside it), else the data."""
    data = from_data(session, platform, year)
    row = override_of(session, platform.id, year)
    if row is None:
        return data
    return replace(
        data,
        claims_fen=row.claims_fen,
        injuries=row.injuries,
        insured_avg=row.insured_avg,
        source="override",
        reason=row.reason,
        entered_by=row.entered_by,
        entered_at=row.entered_at,
        data=data,
    )
