"""The appraisal's periods and inputs (pure), with worked examples across the 2025 National Day
holiday (10-01 … 10-08 off, Saturday 10-11 worked): a last day on a rest day moves to the next
working day (民法典 art. 203); the day of the act is not counted."""

from __future__ import annotations

import datetime as dt

import pytest

from oip.appraisal import rules
from oip.core.errors import DomainError

D = dt.date


def test_sixty_days_from_acceptance_across_national_day():
    # Monday 2025-08-04 + 60 days = Friday 2025-10-03, a holiday: the period ends Thursday 10-09.
    assert rules.conclusion_due(D(2025, 8, 4), 60) == D(2025, 10, 9)
    # Friday 2025-08-01 + 60 = Tuesday 2025-09-30, a working day: unchanged.
    assert rules.conclusion_due(D(2025, 8, 1), 60) == D(2025, 9, 30)
    # Tuesday 2025-09-30 + 60 = Saturday 11-29: Monday 12-01.
    assert rules.conclusion_due(D(2025, 9, 30), 60) == D(2025, 12, 1)


def test_the_extension_adds_thirty_days_to_the_last_day_in_force():
    # 2025-10-09 + 30 = Saturday 11-08: Monday 11-10.
    assert rules.extended_due(D(2025, 10, 9), 30) == D(2025, 11, 10)


def test_fifteen_days_to_ask_for_a_reappraisal():
    # Received Tuesday 2025-09-16: + 15 = 10-01 (holiday) → 10-09.
    due = rules.reappraisal_due(D(2025, 9, 16), 15)
    assert due == D(2025, 10, 9)
    rules.check_reappraisal(D(2025, 10, 9), due, 15)  # the last day counts
    with pytest.raises(DomainError, match="15 日内（2025-10-09 前，含当日）"):
        rules.check_reappraisal(D(2025, 10, 10), due, 15)


def test_a_review_one_year_after_the_conclusion():
    opens = rules.review_opens(D(2025, 10, 9), 365)
    assert opens == D(2026, 10, 9)
    rules.check_review(D(2026, 10, 9), opens, 365)
    with pytest.raises(DomainError, match="一年后申请（2026-10-09 起）"):
        rules.check_review(D(2026, 10, 8), opens, 365)


def test_treatment_must_have_ended_between_the_injury_and_today():
    today, injured = D(2025, 12, 1), D(2025, 9, 1)
    assert rules.check_treatment_ended(D(2025, 11, 20), injured, today) == D(2025, 11, 20)
    for day, reason in [(None, "请填写"), (D(2025, 12, 2), "不能晚于今天"), (D(2025, 8, 31), "不能早于受伤日期")]:
        with pytest.raises(DomainError, match=reason) as e:
            rules.check_treatment_ended(day, injured, today)
        assert e.value.field == "treatment_ended_on"


@pytest.mark.parametrize("value", [0, 11, "11", "x", True, None, 3.0])
def test_grades_are_one_to_ten_or_none(value):
    with pytest.raises(DomainError):
        rules.parse_grade(value)


def test_grade_names_and_dependency():
    assert rules.grade_name(1) == "一级伤残" and rules.grade_name(10) == "十级伤残"
    assert rules.grade_name(None) == "未达到伤残等级" and rules.parse_grade("NONE") is None
    assert rules.parse_dependency("most") == "most"
    with pytest.raises(DomainError, match="完全护理依赖"):
        rules.parse_dependency("all")


def test_committees():
    assert rules.committee_for("initial", "450103") == "450100"
    assert rules.committee_for("review", "451324") == "451300"
    assert rules.committee_for("reappraisal", "450103") == "450000"
