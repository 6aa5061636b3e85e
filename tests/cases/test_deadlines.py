"""Deadline maths on the official calendar, with the worked examples of domain.md §3 across the 2025
National Day holiday (10-01…10-08 off; Sunday 09-28 and Saturday 10-11 worked)."""

from __future__ import annotations

import datetime as dt

from oip.cases import deadlines as D

D0930 = dt.date(2025, 9, 30)


def test_worked_example_30_and_7_working_days():
    assert D.working_deadline(D0930, 30) == dt.date(2025, 11, 18)
    assert D.working_deadline(D0930, 7) == dt.date(2025, 10, 16)


def test_the_day_of_the_act_is_not_counted():
    # accepted on Friday 2025-09-26: Sunday 09-28 is a 调休 working day, so it is the 1st
    assert D.working_deadline(dt.date(2025, 9, 26), 1) == dt.date(2025, 9, 28)
    assert D.working_deadline(dt.date(2025, 9, 26), 2) == dt.date(2025, 9, 29)


def test_a_suspension_extends_by_its_working_days():
    # 7 working days from 09-30 are 10-09, 10-10, 10-11 (Sat, worked), 10-13 … 10-16.
    # Suspended 10-10 … 10-13 (Fri, Sat-worked, Sun, Mon: three working days) → due three working days later.
    pauses = [(dt.date(2025, 10, 10), dt.date(2025, 10, 13))]
    assert D.working_deadline(D0930, 7, pauses) == dt.date(2025, 10, 21)
    assert D.suspended_working_days(pauses, dt.date(2025, 12, 1)) == 3
    # a suspension inside the holiday changes nothing
    assert D.working_deadline(D0930, 7, [(dt.date(2025, 10, 2), dt.date(2025, 10, 5))]) == dt.date(2025, 10, 16)


def test_an_open_suspension_leaves_the_deadline_unknown_and_the_used_days_frozen():
    pauses = [(dt.date(2025, 10, 14), None)]
    assert D.working_deadline(D0930, 7, pauses) is None
    # 10-09, 10-10, 10-11, 10-13 used before the suspension; nothing after
    assert D.working_days_used(D0930, dt.date(2025, 11, 30), pauses) == 4
    c = D.decision_clock(D0930, 7, pauses, dt.date(2025, 11, 30))
    assert (c.due, c.used, c.left, c.suspended) == (None, 4, 3, True)


def test_calendar_deadlines_move_off_rest_days():
    # 30 days after 2025-09-01 is 10-01 (National Day): the period ends on the next working day, 10-09
    assert D.calendar_deadline(dt.date(2025, 9, 1), 30) == dt.date(2025, 10, 9)
    assert D.calendar_deadline(dt.date(2025, 9, 2), 30) == dt.date(2025, 10, 9)
    assert D.calendar_deadline(dt.date(2025, 10, 10), 30) == dt.date(2025, 11, 10)  # Sunday 11-09 → Monday


def test_months_deadline_clamps_to_the_month_end():
    assert D.add_months(dt.date(2025, 8, 31), 6) == dt.date(2026, 2, 28)
    assert D.months_deadline(dt.date(2025, 7, 15), 6) == dt.date(2026, 1, 15)


def test_application_limits():
    # injured Monday 2025-09-29: the platform has until the 3rd working day after it (09-30, 10-09, 10-10)
    lim = D.application_limits(dt.date(2025, 9, 29), 3, 30)
    assert lim.platform_due == dt.date(2025, 10, 10)
    assert lim.worker_due == dt.date(2025, 10, 29)
    assert not lim.late("platform", dt.date(2025, 10, 10))
    assert lim.late("platform", dt.date(2025, 10, 11))
    assert not lim.late("worker", dt.date(2025, 10, 29))
    assert lim.late("relative", dt.date(2025, 10, 30))
