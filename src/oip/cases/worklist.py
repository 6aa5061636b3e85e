"""The worklists of an office (待办工作台、办理期限): the open cases in the office's scope that are due
within ``case.due_soon_working_days`` working days, overdue, or standing (suspended, or waiting for
materials) — a county office its jurisdiction, a city its counties, the region everything, so overdue
cases are visible to the offices above — and the counts per county (for a city) or per city (for the
region).

The lists are the case list's buckets (``service.list_cases``: the same conditions as the tabs of
/cases, scope and audit included) with the days left counted in working days; the counts are one
grouped query. Both stay on the ``ix_cases_worklist`` index (state, county_code, next_due): see
bench/case_worklist.py and bench/README.md for the plans and timings at 100,000 cases.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from oip.auth.service import Principal
from oip.cases import parameters as CP, rules, service
from oip.cases.models import Case
from oip.cases.scope import case_condition
from oip.core import clock, workdays
from oip.core.errors import DomainError
from oip.core.pagination import page_count
from oip.reference import parameters
from oip.reference.models import Region

BUCKETS = {"due_soon": "即将到期", "overdue": "已超期", "suspended": "中止或待补正"}
STANDING_STATES = ("suspended", "correction")
PAGE = 20


def _area_prefix(session: Session, area: str | None) -> str | None:
    """The code prefix of a county or city chosen to narrow the list (None: the whole scope)."""
    if not area:
        return None
    region = session.get(Region, area)
    if region is None:
        raise DomainError(f"区划代码 {area} 不存在", field="area")
    return region.scope_prefix


def working_days_left(today: dt.date, dues: list[dt.date | None]) -> dict[dt.date, int | None]:
    """Working days from today to each due date (0: due today; negative: overdue by that many), for a
    page of cases at once: one pass over the calendar between the earliest and the latest day instead
    of one per case. None for a date in a year whose calendar is not loaded."""
    known = sorted({d for d in dues if d is not None})
    if not known:
        return {}
    lo, hi = min(known[0], today), max(known[-1], today)
    try:
        if (hi - lo).days > 3660:
            raise DomainError("span too long", field="calendar")
        running, upto = 0, {}
        for i in range((hi - lo).days + 1):
            day = lo + dt.timedelta(days=i)
            running += workdays.is_working_day(day)
            upto[day] = running
        return {d: upto[d] - upto[today] for d in known}
    except DomainError:
        out: dict[dt.date, int | None] = {}
        for d in known:
            try:
                out[d] = workdays.working_days_between(today, d)
            except (DomainError, ValueError):
                out[d] = None
        return out


def bucket(
    session: Session, p: Principal, name: str, *, page: int = 1, size: int = PAGE, area: str | None = None
) -> dict[str, Any]:
    """One section of the worklist, one page: the cases with their deadline kind and working days left."""
    if name not in BUCKETS:
        raise DomainError(
            f"未知的分类 {name}，应为：{'、'.join(f'{k}（{v}）' for k, v in BUCKETS.items())}", field="bucket"
        )
    today = clock.today()
    items, total = service.list_cases(session, p, bucket=name, county=_area_prefix(session, area), page=page, size=size)
    pages = page_count(total, size)
    dues = [dt.date.fromisoformat(item["next_due"]) if item["next_due"] else None for item in items]
    lefts = working_days_left(today, dues)
    for item, due in zip(items, dues, strict=True):
        left = lefts.get(due) if due is not None else None
        item["working_days_left"] = left
        item["days_text"] = (
            ""
            if left is None
            else f"超期 {-left} 个工作日"
            if left < 0
            else "今天到期"
            if left == 0
            else f"剩 {left} 个工作日"
        )
        if due is not None and due < today and left == 0:  # due on a rest day just gone: overdue all the same
            item["days_text"] = "已超期"
    return {
        "bucket": name,
        "bucket_name": BUCKETS[name],
        "items": items,
        "total": total,
        "page": min(max(1, page), pages),
        "pages": pages,
        "size": size,
    }


def _level(p: Principal) -> str:
    return {2: "region", 4: "city"}.get(len(p.region_prefix), "county")


def summary(session: Session, p: Principal) -> dict[str, Any]:
    """Counts of the three sections in the principal's scope, and per county (a city office) or per
    city (the region office). One grouped query on the worklist index."""
    today = clock.today()
    soon = workdays.add_working_days(today, parameters.get(session, CP.DUE_SOON_WORKING_DAYS, today))
    overdue = func.count().filter(Case.next_due < today)
    due_soon = func.count().filter(and_(Case.next_due >= today, Case.next_due <= soon))
    standing = func.count().filter(Case.state.in_(STANDING_STATES))
    rows = session.execute(
        select(Case.county_code, overdue, due_soon, standing)
        .where(case_condition(p), Case.state.in_(rules.OPEN_STATES))
        .group_by(Case.county_code)
    ).all()
    level = _level(p)
    key = (lambda code: code[:4] + "00") if level == "region" else (lambda code: code)
    counts: dict[str, list[int]] = {}
    for county, o, s_, st in rows:
        c = counts.setdefault(key(county), [0, 0, 0])
        c[0] += o
        c[1] += s_
        c[2] += st
    if level == "region":
        regions = list(
            session.scalars(select(Region).where(Region.level == "city", _valid(today)).order_by(Region.code))
        )
    elif level == "city":
        regions = list(
            session.scalars(
                select(Region)
                .where(Region.parent_code == p.region_code, Region.level == "county", _valid(today))
                .order_by(Region.code)
            )
        )
    else:
        regions = [r for r in [session.get(Region, p.region_code)] if r is not None]
    names = {r.code: r.name for r in regions}
    # Codes with cases but no current region row (a county renamed since) still count.
    missing = sorted(set(counts) - set(names))
    if missing:
        names.update({r.code: r.name for r in session.scalars(select(Region).where(Region.code.in_(missing)))})
    out_rows = [
        {
            "code": code,
            "name": names.get(code, code),
            "overdue": counts.get(code, [0, 0, 0])[0],
            "due_soon": counts.get(code, [0, 0, 0])[1],
            "suspended": counts.get(code, [0, 0, 0])[2],
        }
        for code in [*(r.code for r in regions), *missing]
    ]
    peak = max((r["overdue"] for r in out_rows), default=0)
    for r in out_rows:
        r["overdue_pct"] = round(100 * r["overdue"] / peak) if peak else 0
    return {
        "level": level,
        "level_name": {"region": "按设区市", "city": "按县（市、区）", "county": "本辖区"}[level],
        "scope": {"code": p.region_code, "name": p.organisation_name},
        "today": today.isoformat(),
        "due_soon_until": soon.isoformat(),
        "totals": {
            "overdue": sum(r["overdue"] for r in out_rows),
            "due_soon": sum(r["due_soon"] for r in out_rows),
            "suspended": sum(r["suspended"] for r in out_rows),
        },
        "rows": out_rows,
    }


def _valid(today: dt.date):
    return and_(Region.valid_from <= today, or_(Region.valid_to.is_(None), Region.valid_to >= today))
