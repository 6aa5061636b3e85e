"""Helpers for the monthly-benefit tests: a case with an approved determination made directly in the
tables (as the determination part approves one), its ON_APPROVED hooks run."""

from __future__ import annotations

import datetime as dt
import itertools
from contextlib import contextmanager

from sqlalchemy import select

from oip.core import clock

_names = itertools.count(1)


def officer(s, username: str = "nn_si"):
    from oip.auth.models import User
    from oip.auth.service import principal_for

    return principal_for(s, s.scalar(select(User).where(User.username == username)), via="test")


def new_case(kind: str = "injury", county: str = "450103") -> int:
    from tests.cases.conftest import make_case

    return make_case(county=county, kind=kind)


def add_dependant(
    case_id: int, *, relation: str = "child", birth_date: dt.date, school_until: dt.date | None = None
) -> int:
    from oip.benefits.models import Dependant
    from oip.core.db import session_scope

    with session_scope() as s:
        d = Dependant(
            case_id=case_id,
            name=f"李小{next(_names)}",
            relation=relation,
            birth_date=birth_date,
            school_until=school_until,
            created_at=clock.now(),
        )
        s.add(d)
        s.flush()
        return d.id


def approve(
    case_id: int,
    lines: list[dict],
    *,
    approved_on: dt.date,
    event_date: dt.date | None = None,
    chain_id: int | None = None,
    version: int = 1,
    inputs: dict | None = None,
) -> int:
    """An approved benefits determination with ``lines`` ({item, amount_fen, starts_on, dependant_id}),
    the ON_APPROVED hooks run in its transaction (as the determination part does). Returns its id."""
    from oip.benefits import hooks
    from oip.benefits.models import Determination, DeterminationLine
    from oip.cases.models import Case
    from oip.core.db import session_scope

    with clock.frozen(approved_on), session_scope() as s:
        case = s.get(Case, case_id)
        actor = officer(s, "nn_si_check")
        det = Determination(
            case_id=case_id,
            purpose="benefits",
            chain_id=chain_id,
            version=version,
            status="approved",
            event_date=event_date or approved_on - dt.timedelta(days=60),
            region_code=case.county_code,
            kind=case.kind,
            inputs=inputs or {},
            total_monthly_fen=sum(x["amount_fen"] for x in lines),
            made_at=clock.now(),
            approved_at=clock.now(),
            approved_on=approved_on,
        )
        s.add(det)
        s.flush()
        if chain_id is None:
            det.chain_id = det.id
        else:
            for old in s.scalars(
                select(Determination).where(Determination.chain_id == chain_id, Determination.id != det.id)
            ):
                old.status = "superseded"
        for i, x in enumerate(lines):
            s.add(
                DeterminationLine(
                    determination_id=det.id,
                    position=i,
                    item=x["item"],
                    monthly=True,
                    proposed_fen=x["amount_fen"],
                    amount_fen=x["amount_fen"],
                    formula="测试",
                    dependant_id=x.get("dependant_id"),
                    starts_on=x["starts_on"],
                )
            )
        s.flush()
        for fn in hooks.ON_APPROVED:
            fn(s, actor, det)
        return det.id


def monthly_ids(case_id: int) -> list[int]:
    from oip.benefits.models import MonthlyBenefit
    from oip.core.db import session_scope

    with session_scope() as s:
        return list(
            s.scalars(select(MonthlyBenefit.id).where(MonthlyBenefit.case_id == case_id).order_by(MonthlyBenefit.id))
        )


@contextmanager
def on(day: dt.date):
    """A transaction on ``day`` (the clock frozen), with the county officer nn_si as the actor."""
    from oip.core.db import session_scope

    with clock.frozen(day), session_scope() as s:
        yield s, officer(s)


def payables_of(monthly_id: int) -> list:
    from oip.benefits.models import Payable
    from oip.core.db import session_scope

    with session_scope() as s:
        rows = list(
            s.scalars(select(Payable).where(Payable.monthly_id == monthly_id).order_by(Payable.period, Payable.id))
        )
        for r in rows:
            s.expunge(r)
        return rows


def pay(monthly_id: int, months: list[str], day: dt.date) -> None:
    """The payments side paid these months' due payables (batched → paid, through payables)."""
    from oip.benefits import payables
    from oip.benefits.models import Payable
    from oip.core.db import session_scope

    with clock.frozen(day), session_scope() as s:
        for p in s.scalars(select(Payable).where(Payable.monthly_id == monthly_id, Payable.status == "due")):
            if f"{p.period:%Y-%m}" in months:
                payables.batch(p)
                payables.paid(p, day)


def owed(monthly_id: int) -> dict[str, int]:
    from oip.benefits import monthly
    from oip.core.db import session_scope

    with session_scope() as s:
        return {f"{m:%Y-%m}": v for m, v in sorted(monthly.owed_by_month(s, monthly_id).items())}


def fixed(amount_fen: int):
    """A re-rating computation that answers ``amount_fen`` (the function boundary of rerate)."""
    from oip.benefits.monthly import Rated

    return lambda session, mb, line, det, month: Rated(amount_fen, f"测试调整为 {amount_fen} 分")
