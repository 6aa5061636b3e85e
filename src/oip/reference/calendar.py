"""The holiday calendar as data (节假日安排): years an officer loads, overlaid on the chinese-calendar
package (oip.core.workdays). The State Council publishes each year's arrangement in the autumn
before; until a package release ships it, an officer loads it here — deadlines in a year known to
neither refuse to compute.

File format (``oip calendar load FILE``): CSV, UTF-8, header ``date,kind,note``, one row per day of
one year that differs from the week:

- ``holiday``: a day off (法定节假日 and the days of its holiday period, weekends included or not);
- ``workday``: a Saturday or Sunday worked (调休上班).

Loading a year replaces everything loaded for that year before (all or nothing, audited); the
loaded year then wins over the package's data for that year.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections import Counter
from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from oip.core import audit, clock, workdays
from oip.core.errors import DomainError
from oip.reference.models import CalendarDay

AUDIT_ACTION_NAMES = {"reference.calendar_load": "载入法定节假日安排"}
audit.register_actions(AUDIT_ACTION_NAMES)

HEADER = ["date", "kind", "note"]


@dataclass(frozen=True)
class Row:
    day: dt.date
    kind: str
    note: str


def parse_csv(text: str) -> tuple[int, list[Row]]:
    """One year's rows from the CSV, or a Chinese error naming the line."""
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff")))
    lines = [(i, r) for i, r in enumerate(reader, 1) if any(c.strip() for c in r)]
    if not lines or [c.strip().lower() for c in lines[0][1]] != HEADER:
        raise DomainError("日历文件第 1 行应为表头 date,kind,note", field="file")
    rows: list[Row] = []
    for i, r in lines[1:]:
        if len(r) != 3:
            raise DomainError(f"第 {i} 行应有 3 列（date,kind,note），实有 {len(r)} 列", field="file")
        raw_day, kind, note = (c.strip() for c in r)
        try:
            day = dt.date.fromisoformat(raw_day)
        except ValueError:
            raise DomainError(f"第 {i} 行：日期应为 YYYY-MM-DD，不是“{raw_day}”", field="date") from None
        if kind not in workdays.KINDS:
            raise DomainError(f"第 {i} 行：类型应为 holiday（放假）或 workday（调休上班），不是“{kind}”", field="kind")
        if kind == workdays.WORKDAY and day.weekday() < 5:
            raise DomainError(
                f"第 {i} 行：{day} 是星期{'一二三四五'[day.weekday()]}，本来就是工作日，"
                f"只有星期六、星期日可以登记为调休上班日",
                field="kind",
            )
        if len(note) > 200:
            raise DomainError(f"第 {i} 行：说明不能超过 200 个字符", field="note")
        rows.append(Row(day, kind, note))
    if not rows:
        raise DomainError("日历文件没有数据行", field="file")
    years = sorted({r.day.year for r in rows})
    if len(years) != 1:
        raise DomainError(f"一个日历文件只能包含一个年度，本文件包含 {'、'.join(map(str, years))} 年", field="date")
    dup = [d for d, n in Counter(r.day for r in rows).items() if n > 1]
    if dup:
        raise DomainError(f"日期 {min(dup)} 在文件中重复", field="date")
    if not any(r.kind == workdays.HOLIDAY for r in rows):
        raise DomainError(f"{years[0]} 年的安排中没有放假日，请检查文件", field="kind")
    return years[0], sorted(rows, key=lambda r: r.day)


def load_year(session: Session, actor, text: str) -> tuple[int, list[CalendarDay]]:
    """Load one year's arrangement (replacing what was loaded for it) and install the calendar."""
    year, rows = parse_csv(text)
    old = list(
        session.scalars(
            select(CalendarDay)
            .where(CalendarDay.day >= dt.date(year, 1, 1), CalendarDay.day <= dt.date(year, 12, 31))
            .with_for_update()
        )
    )
    before = (
        {
            "holidays": sum(o.kind == workdays.HOLIDAY for o in old),
            "workdays": sum(o.kind == workdays.WORKDAY for o in old),
        }
        if old
        else None
    )
    session.execute(
        delete(CalendarDay).where(CalendarDay.day >= dt.date(year, 1, 1), CalendarDay.day <= dt.date(year, 12, 31))
    )
    now = clock.now()
    new = [CalendarDay(day=r.day, kind=r.kind, note=r.note, loaded_by=actor.label[:128], loaded_at=now) for r in rows]
    session.add_all(new)
    session.flush()
    audit.record(
        session,
        actor,
        "reference.calendar_load",
        entity_type="calendar_year",
        entity_id=year,
        before=before,
        after={
            "holidays": [r.day for r in rows if r.kind == workdays.HOLIDAY],
            "workdays": [r.day for r in rows if r.kind == workdays.WORKDAY],
            "replaces_package": year in workdays.package_years(),
        },
    )
    refresh(session)
    return year, new


def loaded_days(session: Session, year: int | None = None) -> list[CalendarDay]:
    q = select(CalendarDay).order_by(CalendarDay.day)
    if year is not None:
        q = q.where(CalendarDay.day >= dt.date(year, 1, 1), CalendarDay.day <= dt.date(year, 12, 31))
    return list(session.scalars(q))


def current(session: Session) -> workdays.Calendar:
    """The calendar in force: the package's years overlaid with the loaded ones."""
    return workdays.Calendar.from_days((d.day, d.kind) for d in loaded_days(session))


def refresh(session: Session) -> workdays.Calendar:
    """Read the loaded years and install the calendar for oip.core.workdays (one small query; the
    services that judge deadlines call it, so a year loaded by another process is seen)."""
    cal = current(session)
    workdays.install(cal)
    return cal


def year_view(calendar: workdays.Calendar, year: int, loaded: list[CalendarDay]) -> dict:
    """A year as ``oip calendar show`` prints it: where it comes from, and its days off on weekdays
    and working weekend days."""
    if not calendar.knows(year):
        raise workdays.unknown_year(year)
    source = "loaded" if year in calendar.loaded else "chinese-calendar"
    by_day = {d.day: d for d in loaded}
    days = []
    d = dt.date(year, 1, 1)
    while d.year == year:
        working, weekend = calendar.is_working_day(d), d.weekday() >= 5
        if working == weekend or (d in by_day):
            row = by_day.get(d)
            days.append(
                {
                    "date": d.isoformat(),
                    "kind": workdays.WORKDAY if working else workdays.HOLIDAY,
                    "note": row.note if row else "",
                    "loaded_by": row.loaded_by if row else None,
                    "loaded_at": clock.fmt(row.loaded_at) if row else None,
                }
            )
        d += dt.timedelta(days=1)
    working_days = sum(
        1
        for i in range((dt.date(year + 1, 1, 1) - dt.date(year, 1, 1)).days)
        if calendar.is_working_day(dt.date(year, 1, 1) + dt.timedelta(days=i))
    )
    return {"year": year, "source": source, "working_days": working_days, "days": days}


PROVISIONAL_NOTE = (
    "临时安排：仅含日期固定的法定节假日（元旦、劳动节、国庆节），待国务院办公厅公布当年放假安排后重新载入"
)


def provisional_csv(year: int) -> str:
    """A stop-gap arrangement for a year nobody has loaded yet: the statutory holidays whose dates the
    law fixes (《全国年节及纪念日放假办法》: 1 January; 1–2 May; 1–3 October), no 调休 and none of the
    lunar holidays. Deadlines computed on it can be off by the days the State Council's notice adds;
    the demo and the tests load it so that a deadline in such a year computes, each row saying so."""
    days = [dt.date(year, 1, 1), dt.date(year, 5, 1), dt.date(year, 5, 2), *(dt.date(year, 10, d) for d in (1, 2, 3))]
    return "date,kind,note\n" + "".join(f"{d.isoformat()},{workdays.HOLIDAY},{PROVISIONAL_NOTE}\n" for d in days)


def load_provisional_years(session: Session, actor, until: dt.date) -> list[int]:
    """Load the provisional arrangement for every year after the known ones up to ``until``'s year."""
    cal = current(session)
    years = [y for y in range(max(cal.years()) + 1, until.year + 1) if not cal.knows(y)]
    for y in years:
        load_year(session, actor, provisional_csv(y))
    return years
