"""Working days on the official calendar (pure): the worked example of domain.md §3, 调休 weekends,
Spring Festival, a year nobody loaded, a loaded year overriding the package."""

from __future__ import annotations

import datetime as dt

import pytest

from oip.core import workdays
from oip.core.errors import DomainError

D = dt.date


def test_worked_example_national_day_and_mid_autumn_2025():
    accepted = D(2025, 9, 30)  # a Tuesday
    assert workdays.add_working_days(accepted, 7) == D(2025, 10, 16)
    assert workdays.add_working_days(accepted, 30) == D(2025, 11, 18)
    assert all(not workdays.is_working_day(D(2025, 10, i)) for i in range(1, 9))
    assert workdays.is_working_day(D(2025, 10, 11))  # Saturday worked (调休)
    assert workdays.next_working_day(accepted) == D(2025, 10, 9)
    assert workdays.working_days_between(accepted, D(2025, 11, 18)) == 30
    assert workdays.working_days_between(accepted, D(2025, 10, 16)) == 7
    assert workdays.working_days_between(D(2025, 10, 16), accepted) == -7


def test_the_day_of_the_act_is_not_counted():
    monday = D(2025, 11, 17)
    assert workdays.add_working_days(monday, 1) == D(2025, 11, 18)
    assert workdays.add_working_days(monday, 0) == monday
    assert workdays.working_days_between(monday, monday) == 0
    friday = D(2025, 11, 21)
    assert workdays.add_working_days(friday, 1) == D(2025, 11, 24)
    with pytest.raises(ValueError):
        workdays.add_working_days(monday, -1)


def test_working_sundays():
    assert D(2025, 9, 28).weekday() == 6 and workdays.is_working_day(D(2025, 9, 28))
    assert workdays.next_working_day(D(2025, 9, 27)) == D(2025, 9, 28)
    assert not workdays.is_working_day(D(2025, 9, 27))  # an ordinary Saturday


def test_spring_festival_2026():
    # 2026-02-15 … 02-23 off; Saturdays 02-14 and 02-28 worked
    assert all(not workdays.is_working_day(D(2026, 2, i)) for i in range(15, 24))
    assert workdays.is_working_day(D(2026, 2, 14)) and workdays.is_working_day(D(2026, 2, 28))
    assert workdays.working_day_on_or_after(D(2026, 2, 15)) == D(2026, 2, 24)
    assert workdays.working_day_on_or_after(D(2026, 2, 24)) == D(2026, 2, 24)
    assert workdays.add_working_days(D(2026, 2, 13), 1) == D(2026, 2, 14)
    assert workdays.add_working_days(D(2026, 2, 13), 2) == D(2026, 2, 24)


def test_a_year_nobody_loaded_fails_loudly():
    cal = workdays.Calendar()
    year = max(cal.package) + 5
    with pytest.raises(DomainError, match=f"{year} 年的法定节假日安排尚未载入") as e:
        workdays.is_working_day(D(year, 3, 3), cal)  # a weekday: no silent "every weekday is worked"
    assert e.value.field == "calendar"
    last = max(cal.package)  # counting across into a year nobody knows
    with pytest.raises(DomainError, match=f"{last + 1} 年"):
        workdays.add_working_days(D(last, 12, 28), 5, cal)


def test_a_loaded_year_is_used_and_wins_for_its_year():
    year = max(workdays.package_years()) + 1
    first_monday = next(D(year, 1, d) for d in range(1, 8) if D(year, 1, d).weekday() == 0)
    sunday = first_monday + dt.timedelta(days=6)
    cal = workdays.Calendar.from_days([(first_monday, workdays.HOLIDAY), (sunday, workdays.WORKDAY)])
    assert cal.knows(year) and not workdays.is_working_day(first_monday, cal)
    assert workdays.is_working_day(sunday, cal)
    assert workdays.is_working_day(first_monday + dt.timedelta(days=1), cal)  # other days follow the week
    assert workdays.next_working_day(first_monday - dt.timedelta(days=3), cal) == first_monday + dt.timedelta(days=1)
    # the package's 2025 replaced by a load: National Day as the only holiday
    mine = workdays.Calendar.from_days([(D(2025, 10, 1), workdays.HOLIDAY)])
    assert workdays.is_working_day(D(2025, 10, 2), mine) and not workdays.is_working_day(D(2025, 9, 28), mine)
    # installed as the default inside the block, and the one before it back afterwards
    before = workdays.installed()
    with workdays.using(cal):
        assert workdays.is_working_day(sunday)
    assert workdays.installed() is before
