"""Working days (工作日) on the official Chinese calendar, pure (no database).

A day is a working day unless it is a Saturday, a Sunday or a public holiday (法定节假日), except
the weekend days the State Council's yearly arrangement makes working days (调休上班). The yearly
arrangements come from two sources, overlaid:

- the ``chinese-calendar`` package (the years it ships);
- years an officer loaded as data (``oip calendar load``; oip.reference.calendar), which win for
  their year — a year the package does not know yet, or a correction.

A year known to neither is an error (DomainError naming the year), never a silent guess that
every weekday is worked: a deadline computed on a wrong calendar is wrong without anybody noticing.

Periods follow 行政许可法 art. 82 / 民法典 art. 201 practice: the day of the act is not counted, so
``add_working_days(d, n)`` is the n-th working day *after* d. Worked example (domain.md §3): accepted
Tuesday 2025-09-30 → the 7th working day is 2025-10-16, the 30th 2025-11-18.

The functions take a ``Calendar``; without one they use the calendar installed in this module
(``install``), which the reference service builds from the package and the loaded years. Tests use
``using(calendar)``.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field

import chinese_calendar

from oip.core.errors import DomainError

HOLIDAY, WORKDAY = "holiday", "workday"
KINDS = {HOLIDAY: "休息日（法定节假日）", WORKDAY: "调休上班日"}
_MAX_SPAN_DAYS = 3660  # a loop guard: no period we count is longer than ten years


def unknown_year(year: int) -> DomainError:
    return DomainError(
        f"{year} 年的法定节假日安排尚未载入，无法计算工作日；请由经办人员按国务院办公厅公布的"
        f"放假安排载入该年日历（oip calendar load）",
        field="calendar",
    )


def package_years() -> frozenset[int]:
    """The years whose arrangements the chinese-calendar package ships."""
    return frozenset(d.year for d in (*chinese_calendar.constants.holidays, *chinese_calendar.constants.workdays))


@dataclass(frozen=True)
class Calendar:
    """The package's years overlaid with loaded ones: ``loaded[year][day]`` is HOLIDAY or WORKDAY for
    each day of a loaded year that is not an ordinary weekday/weekend; a loaded year's other days
    follow the week (Monday–Friday worked)."""

    loaded: Mapping[int, Mapping[dt.date, str]] = field(default_factory=dict)
    package: frozenset[int] = field(default_factory=package_years)

    @classmethod
    def from_days(cls, days: Iterable[tuple[dt.date, str]]) -> Calendar:
        by_year: dict[int, dict[dt.date, str]] = {}
        for day, kind in days:
            if kind not in KINDS:
                raise ValueError(f"kind must be one of {sorted(KINDS)}, not {kind!r}")
            by_year.setdefault(day.year, {})[day] = kind
        return cls(by_year)

    def knows(self, year: int) -> bool:
        return year in self.loaded or year in self.package

    def years(self) -> list[int]:
        return sorted(set(self.loaded) | set(self.package))

    def is_working_day(self, day: dt.date) -> bool:
        year_days = self.loaded.get(day.year)
        if year_days is not None:
            kind = year_days.get(day)
            if kind is not None:
                return kind == WORKDAY
            return day.weekday() < 5
        if day.year not in self.package:
            raise unknown_year(day.year)
        try:
            return chinese_calendar.is_workday(day)
        except NotImplementedError:  # the package's own range check
            raise unknown_year(day.year) from None


_installed = Calendar()


def install(calendar: Calendar) -> None:
    """Make ``calendar`` the one the functions use when none is given."""
    global _installed
    _installed = calendar


def installed() -> Calendar:
    return _installed


@contextlib.contextmanager
def using(calendar: Calendar) -> Iterator[Calendar]:
    """Use ``calendar`` inside the block (tests)."""
    before = _installed
    install(calendar)
    try:
        yield calendar
    finally:
        install(before)


def is_working_day(day: dt.date, calendar: Calendar | None = None) -> bool:
    return (calendar or _installed).is_working_day(day)


def next_working_day(day: dt.date, calendar: Calendar | None = None) -> dt.date:
    """The first working day strictly after ``day``."""
    return add_working_days(day, 1, calendar)


def working_day_on_or_after(day: dt.date, calendar: Calendar | None = None) -> dt.date:
    """``day`` itself if it is a working day, else the next one: where a deadline falling on a
    rest day moves (税收征管法实施细则 art. 109)."""
    cal = calendar or _installed
    return day if cal.is_working_day(day) else next_working_day(day, cal)


def add_working_days(day: dt.date, n: int, calendar: Calendar | None = None) -> dt.date:
    """The n-th working day after ``day`` (the day of the act is not counted); n ≥ 1. For n = 0,
    ``day`` itself."""
    if isinstance(n, bool) or not isinstance(n, int) or n < 0:
        raise ValueError(f"n must be a non-negative integer, not {n!r}")
    cal = calendar or _installed
    d, left = day, n
    for _ in range(_MAX_SPAN_DAYS):
        if left == 0:
            return d
        d += dt.timedelta(days=1)
        if cal.is_working_day(d):
            left -= 1
    raise ValueError(f"{n} working days after {day} is more than ten years away")


def working_days_between(start: dt.date, end: dt.date, calendar: Calendar | None = None) -> int:
    """Working days after ``start`` up to and including ``end`` (the day of the act not counted):
    ``working_days_between(d, add_working_days(d, n)) == n``. Negative when ``end`` is before
    ``start``."""
    if end < start:
        return -working_days_between(end, start, calendar)
    if (end - start).days > _MAX_SPAN_DAYS:
        raise ValueError(f"{start}…{end} is longer than ten years")
    cal = calendar or _installed
    return sum(1 for i in range(1, (end - start).days + 1) if cal.is_working_day(start + dt.timedelta(days=i)))
