"""The rules of a labour-capacity appraisal (劳动能力鉴定) — pure, no database.

- Kinds: the initial appraisal (初次鉴定) and a review (复查鉴定, 条例 art. 28) at the city committee
  of the place of injury; a re-appraisal (再次鉴定, art. 26) at the regional committee (450000),
  whose conclusion is final.
- Periods in calendar days, counted from the day after the act; a last day that is a rest day moves
  to the next working day (民法典 arts 201, 203; oip.cases.deadlines): the conclusion within 60 days
  of acceptance, once extendable by 30 (art. 25); a re-appraisal asked for within 15 days of
  receiving the conclusion (art. 26); a review no earlier than one year after the conclusion
  (art. 28: the earliest day is the conclusion day + 365, not moved).
- The conclusion: a disability grade 1 (most severe) to 10 of GB/T 16180-2014, or none, and the
  self-care dependency (护理依赖程度, GB/T 16180-2014): complete, most, partial, none.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from oip.cases.deadlines import calendar_deadline
from oip.cases.rules import SELF_CARE_NAMES
from oip.core import workdays
from oip.core.errors import DomainError

REGIONAL_COMMITTEE = "450000"

KIND_NAMES = {"initial": "初次鉴定", "reappraisal": "再次鉴定", "review": "复查鉴定"}
# The case's state-machine action that opens each kind (oip.cases.rules).
CASE_ACTION = {"initial": "apply_appraisal", "reappraisal": "apply_reappraisal", "review": "apply_review"}
APPLICANT_NAMES = {"worker": "本人", "relative": "近亲属", "platform": "平台企业", "agency": "社会保险经办机构"}
STATUS_NAMES = {"applied": "已申请，待受理", "accepted": "已受理，鉴定中", "concluded": "已作出鉴定结论"}
DEPENDENCY_NAMES = SELF_CARE_NAMES  # one home: the letters name them the same way
GRADE_NAMES = {n: f"{'一二三四五六七八九十'[n - 1]}级伤残" for n in range(1, 11)}
NO_GRADE = "未达到伤残等级"


def committee_for(kind: str, county_code: str) -> str:
    """The committee that appraises: the city of the place of injury, the region for a re-appraisal."""
    if kind == "reappraisal":
        return REGIONAL_COMMITTEE
    return county_code[:4] + "00"


def grade_name(grade: int | None) -> str:
    return NO_GRADE if grade is None else GRADE_NAMES[grade]


def parse_grade(value: Any) -> int | None:
    """A grade 1–10 (an integer or its digits), or ``"none"`` (未达到伤残等级) → None."""
    if isinstance(value, str) and value.strip().lower() in ("none", "无"):
        return None
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 10:
        raise DomainError("伤残等级应为 1 到 10 级（GB/T 16180-2014），或 none（未达到伤残等级）", field="grade")
    return value


def parse_dependency(value: Any) -> str:
    if value not in DEPENDENCY_NAMES:
        choices = "、".join(f"{k}（{v}）" for k, v in DEPENDENCY_NAMES.items())
        raise DomainError(f"护理依赖程度应为：{choices}", field="dependency")
    return value


def check_treatment_ended(treatment_ended_on: Any, injured_on: dt.date, today: dt.date) -> dt.date:
    """The day treatment ended (the condition stable): not in the future, not before the injury."""
    if not isinstance(treatment_ended_on, dt.date):
        raise DomainError("请填写治疗终结（伤情相对稳定）的日期", field="treatment_ended_on")
    if treatment_ended_on > today:
        raise DomainError("治疗终结日期不能晚于今天：治疗终结后方可申请劳动能力鉴定", field="treatment_ended_on")
    if treatment_ended_on < injured_on:
        raise DomainError(f"治疗终结日期不能早于受伤日期 {injured_on}", field="treatment_ended_on")
    return treatment_ended_on


def conclusion_due(accepted_on: dt.date, days: int, calendar: workdays.Calendar | None = None) -> dt.date:
    """The last day for the conclusion: ``days`` after acceptance (moved off a rest day)."""
    return calendar_deadline(accepted_on, days, calendar)


def extended_due(due_on: dt.date, days: int, calendar: workdays.Calendar | None = None) -> dt.date:
    """The conclusion's last day after the one extension of ``days``."""
    return calendar_deadline(due_on, days, calendar)


def reappraisal_due(received_on: dt.date, days: int, calendar: workdays.Calendar | None = None) -> dt.date:
    """The last day to ask the regional committee for a re-appraisal."""
    return calendar_deadline(received_on, days, calendar)


def review_opens(concluded_on: dt.date, days: int) -> dt.date:
    """The first day a review may be asked for."""
    return concluded_on + dt.timedelta(days=days)


def check_reappraisal(applied_on: dt.date, due: dt.date, days: int) -> None:
    """A re-appraisal asked for after the window is refused."""
    if applied_on > due:
        raise DomainError(
            f"申请再次鉴定的期限已过：应在收到鉴定结论之日起 {days} 日内（{due} 前，含当日）提出",
            field="applied_on",
        )


def check_review(applied_on: dt.date, opens: dt.date, days: int) -> None:
    """A review asked for before the conclusion is ``days`` old is refused."""
    if applied_on < opens:
        span = "一年" if days == 365 else f"{days} 日"
        raise DomainError(f"复查鉴定须在鉴定结论作出{span}后申请（{opens} 起）", field="applied_on")
