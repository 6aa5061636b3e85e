"""The pure rules of fund supervision: who checks whom, the states, the major report's deadline."""

from __future__ import annotations

import datetime as dt

import pytest

from oip.core import clock
from oip.fund import supervision_rules as rules


@pytest.mark.parametrize("n", [2, 3, 4, 7, 14])
def test_rotation_never_self_and_never_both_ways_when_avoidable(n):
    cities = [f"45{i:02d}00" for i in range(1, n + 1)]
    who = rules.rotation(reversed(cities))
    assert set(who) == set(cities) and set(who.values()) == set(cities)
    assert all(city != checker for city, checker in who.items())
    both_ways = [c for c, by in who.items() if who[by] == c]
    assert both_ways == ([] if n >= 3 else cities)


def test_rotation_needs_two_cities():
    with pytest.raises(rules.RuleError):
        rules.rotation(["450100"])


def test_checkers_by_kind():
    assert rules.checkers_for("self_check", ["450100", "450200"]) == {"450100": "450100", "450200": "450200"}
    assert rules.checkers_for("suspicious", ["450300"]) == {"450300": "450300"}
    given = {"450100": "450300", "450200": "450100", "450300": "450100"}
    assert rules.checkers_for("cross_check", ["450100", "450200", "450300"], given) == given
    with pytest.raises(rules.RuleError, match="自己"):
        rules.checkers_for("cross_check", ["450100", "450200"], {"450100": "450100", "450200": "450100"})
    with pytest.raises(rules.RuleError, match="指定检查单位"):
        rules.checkers_for("cross_check", ["450100", "450200"], {"450100": "450200"})
    with pytest.raises(rules.RuleError, match="不在本次"):
        rules.checkers_for(
            "cross_check", ["450100", "450200"], {"450100": "450200", "450200": "450100", "450500": "450100"}
        )
    with pytest.raises(rules.RuleError):
        rules.checkers_for("self_check", [])
    with pytest.raises(rules.RuleError):
        rules.checkers_for("audit", ["450100"])
    with pytest.raises(rules.RuleError):
        rules.checkers_for("self_check", ["450100"], {"450100": "450200"})


def test_task_and_campaign_states():
    assert rules.task_status_after(False, []) == "assigned"
    assert rules.task_status_after(False, ["closed"]) == "assigned"
    assert rules.task_status_after(True, []) == "closed"
    assert rules.task_status_after(True, ["closed", "rectified"]) == "reported"
    assert rules.task_status_after(True, ["closed", "closed"]) == "closed"
    assert rules.campaign_status_after([]) == "open"
    assert rules.campaign_status_after(["closed", "reported"]) == "open"
    assert rules.campaign_status_after(["closed", "closed"]) == "closed"
    rules.can_report("assigned")
    with pytest.raises(rules.RuleError):
        rules.can_report("reported")


def test_finding_transitions():
    rules.can_rectify("open", "open")
    for status, campaign in (("rectified", "open"), ("closed", "open"), ("open", "closed")):
        with pytest.raises(rules.RuleError):
            rules.can_rectify(status, campaign)
    rules.can_close_finding("rectified", "reported")
    with pytest.raises(rules.RuleError, match="整改后"):
        rules.can_close_finding("open", "reported")
    with pytest.raises(rules.RuleError, match="尚未报告"):
        rules.can_close_finding("rectified", "assigned")
    rules.can_reopen_finding("rectified", "open")
    rules.can_reopen_finding("closed", "open")
    with pytest.raises(rules.RuleError):
        rules.can_reopen_finding("open", "open")
    with pytest.raises(rules.RuleError, match="已结束"):
        rules.can_reopen_finding("closed", "closed")


def test_major_report_states():
    rules.can_acknowledge("submitted")
    with pytest.raises(rules.RuleError):
        rules.can_acknowledge("acknowledged")
    rules.can_close_major("acknowledged")
    with pytest.raises(rules.RuleError, match="先接收"):
        rules.can_close_major("submitted")
    with pytest.raises(rules.RuleError, match="已办结"):
        rules.can_close_major("closed")


def test_deadline_and_late():
    at = clock.now().replace(microsecond=0)
    due = rules.major_due_at(at, 24)
    assert due - at == dt.timedelta(hours=24)
    assert not rules.is_late(due, due)
    assert rules.is_late(due + dt.timedelta(seconds=1), due)
    with pytest.raises(rules.RuleError):
        rules.major_due_at(at.replace(tzinfo=None), 24)


def test_overdue():
    today = clock.today()
    yesterday = today - dt.timedelta(days=1)
    assert rules.overdue(yesterday, "open", today)
    assert not rules.overdue(today, "open", today)
    assert not rules.overdue(yesterday, "closed", today)
    assert not rules.overdue(yesterday, "rectified", today, done=("rectified", "closed"))


def test_parameter_validation():
    assert rules.validate_hours(24) == 24
    for bad in (0, 721, "24", 2.5, True):
        with pytest.raises(rules.RuleError):
            rules.validate_hours(bad)
    assert rules.validate_fen(1) == 1
    for bad in (0, -1, "1", True):
        with pytest.raises(rules.RuleError):
            rules.validate_fen(bad)
