"""Experience figures of a platform's year for the yearly float (费率浮动档次测算数据), from the cases and
the payments: filled into ``oip.premiums.float_figures.SOURCES`` at import (premiums sits below
benefits and cases and may not import them; oip.models imports this module).

For a platform and a calendar year (Asia/Shanghai):

- ``claims_fen`` (待遇支出, numerator of 支缴率): the fen of the payables paid by the fund in the
  year — ``Payable.status == 'paid'`` with ``paid_on`` in the year, on a determination line the fund
  pays (``payer == 'fund'``), on the platform's cases. A payment reversed by the bank puts its payable
  back to due, so it no longer counts;
- ``injuries`` (职业伤害人数, numerator of 职业伤害发生率): the platform's cases whose injury (or death)
  happened in the year and that are confirmed — a decision with outcome ``confirmed`` that was not
  overturned. A case counts once whatever its rounds.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from oip.benefits.models import DeterminationLine, Payable
from oip.cases.models import Case, Decision
from oip.core.clock import SHANGHAI
from oip.platforms.models import Platform
from oip.premiums import float_figures


def paid_claims(session: Session, platform_id: int, year: int) -> tuple[int, int]:
    """(fen paid by the fund, payables paid) on the platform's cases in ``year``."""
    total, n = session.execute(
        select(func.coalesce(func.sum(Payable.amount_fen), 0), func.count(Payable.id))
        .join(Case, Case.id == Payable.case_id)
        .join(DeterminationLine, DeterminationLine.id == Payable.line_id)
        .where(
            Case.platform_id == platform_id,
            Payable.status == "paid",
            Payable.paid_on >= dt.date(year, 1, 1),
            Payable.paid_on < dt.date(year + 1, 1, 1),
            DeterminationLine.payer == "fund",
        )
    ).one()
    return int(total), int(n)


def confirmed_injuries(session: Session, platform_id: int, year: int) -> int:
    """The platform's cases that happened in ``year`` (local time) and are confirmed (not overturned)."""
    confirmed = (
        select(Decision.id)
        .where(Decision.case_id == Case.id, Decision.outcome == "confirmed", Decision.overturned_on.is_(None))
        .exists()
    )
    return int(
        session.scalar(
            select(func.count(Case.id)).where(
                Case.platform_id == platform_id,
                Case.occurred_at >= dt.datetime(year, 1, 1, tzinfo=SHANGHAI),
                Case.occurred_at < dt.datetime(year + 1, 1, 1, tzinfo=SHANGHAI),
                confirmed,
            )
        )
        or 0
    )


def figures(session: Session, platform: Platform, year: int) -> dict[str, Any]:
    claims, payments = paid_claims(session, platform.id, year)
    injuries = confirmed_injuries(session, platform.id, year)
    return {
        "claims_fen": claims,
        "injuries": injuries,
        "detail": {"paid_payables": payments, "confirmed_cases": injuries},
    }


if figures not in float_figures.SOURCES:
    float_figures.SOURCES.append(figures)
