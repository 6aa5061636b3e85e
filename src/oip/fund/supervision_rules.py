"""The rules of fund supervision (基金监督), pure: the kinds of campaign, who checks whom in a
cross-check, the states of tasks, findings and major reports, and the deadline of a major report.

Nothing here reads the database: oip.fund.supervision applies these rules to the rows.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping

KIND_NAMES = {"self_check": "风险自查", "cross_check": "交叉互查", "suspicious": "疑点核查"}
CAMPAIGN_STATUS_NAMES = {"open": "进行中", "closed": "已结束"}
TASK_STATUS_NAMES = {"assigned": "待检查", "reported": "已报告", "closed": "已销号"}
FINDING_STATUS_NAMES = {"open": "待整改", "rectified": "已整改待销号", "closed": "已销号"}
SEVERITY_NAMES = {"low": "一般", "medium": "较重", "high": "严重"}
MAJOR_CATEGORIES = {
    "fund_loss": "基金安全",
    "fraud": "欺诈骗保",
    "accident": "重大事故",
    "system": "系统安全",
    "other": "其他",
}
MAJOR_STATUS_NAMES = {"submitted": "已报送", "acknowledged": "已接收", "closed": "已办结"}


class RuleError(ValueError):
    """A rule refused: the message is the reason, in Chinese, shown to the officer."""


# ---- who checks whom -----------------------------------------------------------------------------


def rotation(cities: Iterable[str]) -> dict[str, str]:
    """Checkers for a cross-check (交叉互查): each city is checked by the next one in code order,
    the last by the first. No city checks itself, and with three or more cities no two cities check
    each other both ways (with two it cannot be avoided)."""
    order = sorted(dict.fromkeys(cities))
    if len(order) < 2:
        raise RuleError("交叉互查至少需要两个设区市")
    return {c: order[(i + 1) % len(order)] for i, c in enumerate(order)}


def check_checkers(cities: Iterable[str], checkers: Mapping[str, str]) -> dict[str, str]:
    """Checkers given by hand for a cross-check: one for every city, never the city itself, and no
    checker named for a city outside the campaign."""
    cities = list(dict.fromkeys(cities))
    extra = sorted(set(checkers) - set(cities))
    if extra:
        raise RuleError(f"检查单位指定了不在本次检查范围内的地区：{'、'.join(extra)}")
    out = {}
    for c in cities:
        by = checkers.get(c)
        if not by:
            raise RuleError(f"请为 {c} 指定检查单位")
        if by == c:
            raise RuleError("交叉互查不能由被检查地区检查自己")
        out[c] = by
    return out


def checkers_for(kind: str, cities: Iterable[str], checkers: Mapping[str, str] | None = None) -> dict[str, str]:
    """Who checks each city: the city itself for a self-check and for suspicious data (疑点核查,
    the items are listed for it), another city for a cross-check (``checkers``, or a rotation)."""
    if kind not in KIND_NAMES:
        raise RuleError("检查类型应为风险自查、疑点核查或交叉互查")
    cities = list(dict.fromkeys(cities))
    if not cities:
        raise RuleError("请至少选择一个设区市")
    if kind != "cross_check":
        if checkers:
            raise RuleError("只有交叉互查可以指定检查单位")
        return {c: c for c in cities}
    return check_checkers(cities, checkers) if checkers else rotation(cities)


# ---- states --------------------------------------------------------------------------------------


def can_report(task_status: str) -> None:
    if task_status != "assigned":
        raise RuleError("该检查任务已报告，不能重复报告")


def task_status_after(reported: bool, finding_statuses: Iterable[str]) -> str:
    """A task is closed once it is reported and every finding is closed (or it has none)."""
    if not reported:
        return "assigned"
    return "closed" if all(s == "closed" for s in finding_statuses) else "reported"


def campaign_status_after(task_statuses: Iterable[str]) -> str:
    statuses = list(task_statuses)
    return "closed" if statuses and all(s == "closed" for s in statuses) else "open"


def can_rectify(finding_status: str, campaign_status: str) -> None:
    if campaign_status != "open":
        raise RuleError("该检查已结束")
    if finding_status != "open":
        raise RuleError("只能对待整改的问题报送整改情况")


def can_close_finding(finding_status: str, task_status: str) -> None:
    if task_status == "assigned":
        raise RuleError("检查任务尚未报告，不能销号")
    if finding_status != "rectified":
        raise RuleError("问题整改后才能销号")


def can_reopen_finding(finding_status: str, campaign_status: str) -> None:
    if campaign_status != "open":
        raise RuleError("该检查已结束，不能退回整改")
    if finding_status not in ("rectified", "closed"):
        raise RuleError("只能退回已整改或已销号的问题")


def can_acknowledge(status: str) -> None:
    if status != "submitted":
        raise RuleError("该要情已接收")


def can_close_major(status: str) -> None:
    if status == "closed":
        raise RuleError("该要情已办结")
    if status != "acknowledged":
        raise RuleError("要情须先接收再办结")


# ---- deadlines -----------------------------------------------------------------------------------


def major_due_at(occurred_at: dt.datetime, hours: int) -> dt.datetime:
    """The deadline of a major report: ``hours`` after the situation occurred."""
    if occurred_at.tzinfo is None:
        raise RuleError("发生时间须带时区")
    return occurred_at + dt.timedelta(hours=hours)


def is_late(reported_at: dt.datetime, due_at: dt.datetime) -> bool:
    return reported_at > due_at


def overdue(due: dt.date, status: str, today: dt.date, *, done: tuple[str, ...] = ("closed",)) -> bool:
    """A task or a finding not done by its date: its date is before today."""
    return status not in done and due < today


def validate_hours(value) -> int:
    """The parameter ``fund.major_report_hours``: a whole number of hours, 1 to 720."""
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 720:
        raise RuleError("要情报告时限应为 1 至 720 之间的整数（小时）")
    return value


def validate_fen(value) -> int:
    """A non-negative amount in fen (the threshold of a large one-off payment)."""
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise RuleError("金额应为正整数（分）")
    return value
