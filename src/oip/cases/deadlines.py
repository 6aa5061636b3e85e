"""Deadline maths of a case — pure, on the official calendar (oip.core.workdays).

Two kinds of period, both counted from the day after the act (the day of the act is not counted:
行政许可法 art. 82, 民法典 art. 201):

- **working days** (``working_deadline``): the n-th working day after the start, on the calendar of
  holidays and 调休 working weekends. Worked example (domain.md §3): accepted Tuesday 2025-09-30 →
  the 7th working day is 2025-10-16, the 30th 2025-11-18.
- **calendar days / months** (``calendar_deadline``, ``months_deadline``): start + n days (or months,
  the same day of the month, the month's last day when it has none); when the last day is a rest
  day, the period ends on the next working day (民法典 art. 203).

A decision period is **suspended** while the case waits for another authority's conclusion (e.g.
the traffic police's liability finding) and while a correction notice (一次性补正告知) is pending;
it is extended by the working days of the suspension. A suspension is the inclusive range of days
from the day it began to the day it ended: neither counts, and counting resumes the day after
the end (the day of the act that ends it is not counted either). An open suspension (no end yet)
leaves the deadline unknown: ``working_deadline`` answers None, and ``working_days_used`` tells how
many of the period's days are already gone.
"""

from __future__ import annotations

import calendar as _cal
import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from oip.core import workdays

Pause = tuple[dt.date, dt.date | None]  # (first day, last day) inclusive; None: still running


def _paused(day: dt.date, pauses: Sequence[Pause]) -> bool:
    return any(start <= day and (end is None or day <= end) for start, end in pauses)


def working_deadline(
    start: dt.date, n: int, pauses: Sequence[Pause] = (), calendar: workdays.Calendar | None = None
) -> dt.date | None:
    """The n-th working day after ``start`` that falls in no pause; None while an open pause stops
    the clock before the n-th day is reached."""
    if n < 1:
        raise ValueError(f"n must be ≥ 1, not {n}")
    if not pauses:
        return workdays.add_working_days(start, n, calendar)
    open_from = min((s for s, e in pauses if e is None), default=None)
    day, left = start, n
    for _ in range(3660):
        day += dt.timedelta(days=1)
        if open_from is not None and day >= open_from:
            return None
        if _paused(day, pauses) or not workdays.is_working_day(day, calendar):
            continue
        left -= 1
        if left == 0:
            return day
    raise ValueError(f"{n} working days after {start} is more than ten years away")


def working_days_used(
    start: dt.date, today: dt.date, pauses: Sequence[Pause] = (), calendar: workdays.Calendar | None = None
) -> int:
    """Working days after ``start`` up to and including ``today`` that fall in no pause."""
    if today <= start:
        return 0
    return sum(
        1
        for i in range(1, (today - start).days + 1)
        if not _paused(d := start + dt.timedelta(days=i), pauses) and workdays.is_working_day(d, calendar)
    )


def suspended_working_days(pauses: Sequence[Pause], today: dt.date, calendar: workdays.Calendar | None = None) -> int:
    """Working days inside the pauses (an open one up to ``today``): what the period was extended by."""
    days: set[dt.date] = set()
    for s, e in pauses:
        end = e or today
        days.update(s + dt.timedelta(days=i) for i in range((end - s).days + 1))
    return sum(1 for d in days if workdays.is_working_day(d, calendar))


def calendar_deadline(start: dt.date, days: int, calendar: workdays.Calendar | None = None) -> dt.date:
    """``start`` + ``days``; a last day that is a rest day moves to the next working day."""
    return workdays.working_day_on_or_after(start + dt.timedelta(days=days), calendar)


def add_months(day: dt.date, months: int) -> dt.date:
    y, m = divmod(day.month - 1 + months, 12)
    year, month = day.year + y, m + 1
    return dt.date(year, month, min(day.day, _cal.monthrange(year, month)[1]))


def months_deadline(start: dt.date, months: int, calendar: workdays.Calendar | None = None) -> dt.date:
    """The same day ``months`` later (the month's last day if it has none), moved off a rest day."""
    return workdays.working_day_on_or_after(add_months(start, months), calendar)


@dataclass(frozen=True)
class ApplicationLimits:
    """Who may apply until when (domain.md §3): the platform within ``platform_working_days``
    working days of the injury; afterwards the worker, a close relative or the union within
    ``worker_days`` days of it. Later than that, an application needs a written explanation."""

    platform_due: dt.date
    worker_due: dt.date

    def late(self, applicant: str, submitted_on: dt.date) -> bool:
        return submitted_on > (self.platform_due if applicant == "platform" else self.worker_due)


def application_limits(
    injured_on: dt.date, platform_working_days: int, worker_days: int, calendar: workdays.Calendar | None = None
) -> ApplicationLimits:
    return ApplicationLimits(
        workdays.add_working_days(injured_on, platform_working_days, calendar),
        calendar_deadline(injured_on, worker_days, calendar),
    )


@dataclass(frozen=True)
class Clock:
    """Where a decision period stands on ``today``: its due date (None while suspended), the working
    days used and left, and whether it is overdue or due soon."""

    due: dt.date | None
    used: int
    limit: int
    suspended: bool
    suspended_days: int

    @property
    def left(self) -> int:
        return self.limit - self.used


def decision_clock(
    accepted_on: dt.date,
    limit: int,
    pauses: Sequence[Pause],
    today: dt.date,
    calendar: workdays.Calendar | None = None,
) -> Clock:
    due = working_deadline(accepted_on, limit, pauses, calendar)
    return Clock(
        due=due,
        used=working_days_used(accepted_on, today, pauses, calendar),
        limit=limit,
        suspended=any(e is None for _, e in pauses),
        suspended_days=suspended_working_days(pauses, today, calendar),
    )
