"""The life of an injury case (职业伤害案件) as a table of transitions — pure, no database.

One case carries an injury from the report (报案) through the application (申请) and acceptance
(受理), the insurer's investigation (调查核实), the confirmation decision (职业伤害确认), appeals
(行政复议、行政诉讼) and the labour-capacity appraisal (劳动能力鉴定) to its close ("三件事集约为一件
事"). ``TRANSITIONS[(state, action)]`` is the next state; ``next_state`` is the only reader, and an
action the table does not list for a state raises IllegalTransition (HTTP 409).

A few steps go back to where the case was (``PREVIOUS``): the end of a correction notice
(补正), of a suspension (中止), an appeal that upholds the decision, and undoing a merge. The case row
keeps that state (``Case.state_before``); ``next_state`` takes it as ``previous``.

Every state that is not final waits on a dated deadline (``WAITS_ON``): the case either ends in a
final state or somebody owes a step by a date. The property tests (tests/cases/test_rules.py) walk
random sequences of legal actions and check both.
"""

from __future__ import annotations

from oip.core.errors import DomainError, IllegalTransition

STATE_NAMES = {
    "reported": "已报案",
    "applied": "已申请，待受理",
    "correction": "待补正材料",
    "accepted": "已受理，审查中",
    "investigating": "受托机构调查核实中",
    "suspended": "中止（等待其他机关结论）",
    "refused": "不予受理",
    "confirmed": "予以确认",
    "not_confirmed": "不予确认",
    "appealed": "行政复议或诉讼中",
    "appraisal": "劳动能力鉴定中",
    "appraised": "已作出鉴定结论",
    "closed": "已结案",
    "withdrawn": "已撤回",
    "merged": "已并案",
}
STATES = tuple(STATE_NAMES)
FINAL_STATES = frozenset({"closed", "withdrawn", "merged"})
OPEN_STATES = tuple(s for s in STATES if s not in FINAL_STATES)

# What an open state waits on: the deadline by which somebody owes the next step.
WAITS_ON = {
    "reported": "application",  # the application (the platform: 3 working days; others: 30 days)
    "applied": "acceptance",  # the office accepts or refuses
    "correction": "materials",  # the applicant completes the materials
    "accepted": "decision",  # the confirmation decision (30 / 7 working days)
    "investigating": "decision",
    "suspended": "suspension",  # the other authority's conclusion, expected by a date
    "refused": "appeal_window",  # the applicant may appeal; the case closes when the window ends
    "confirmed": "appeal_window",
    "not_confirmed": "appeal_window",
    "appealed": "appeal_outcome",
    "appraisal": "appraisal_conclusion",  # 60 days (+30) from the committee's acceptance
    "appraised": "reappraisal_window",  # 15 days to ask the regional committee
}
DEADLINE_NAMES = {
    "application": "申请期限",
    "acceptance": "受理期限",
    "materials": "补正期限",
    "decision": "确认结论期限",
    "suspension": "预计恢复日期",
    "appeal_window": "申请复议期限",
    "appeal_outcome": "复议（诉讼）预计结果日期",
    "appraisal_conclusion": "鉴定结论期限",
    "reappraisal_window": "申请再次鉴定期限",
}

PREVIOUS = "<previous>"

# The appraisal's self-care dependency (护理依赖程度, GB/T 16180-2014), as pages and letters name it.
SELF_CARE_NAMES = {
    "complete": "完全护理依赖",
    "most": "大部分护理依赖",
    "partial": "部分护理依赖",
    "none": "无护理依赖",
}

ACTION_NAMES = {
    "report": "报案",
    "merge": "并入另一案件",
    "unmerge": "撤销并案",
    "apply": "提出确认申请",
    "request_correction": "一次性告知补正材料",
    "materials_received": "补正材料齐全",
    "accept": "受理",
    "refuse": "不予受理",
    "offer_investigation": "委托调查核实",
    "end_investigation": "调查核实结束",
    "suspend": "中止（等待其他机关结论）",
    "resume": "恢复审查",
    "confirm": "作出予以确认结论",
    "not_confirm": "作出不予确认结论",
    "appeal": "登记行政复议或诉讼",
    "appeal_upheld": "复议（诉讼）维持原结论",
    "appeal_overturned": "复议（诉讼）撤销原结论，重新审查",
    "appeal_withdrawn": "申请人撤回复议（诉讼）",
    "apply_appraisal": "申请劳动能力鉴定",
    "conclude_appraisal": "作出鉴定结论",
    "apply_reappraisal": "申请再次鉴定",
    "apply_review": "申请复查鉴定",
    "close": "结案",
    "withdraw": "撤回申请",
}
ACTIONS = tuple(ACTION_NAMES)

_EXAMINING = ("accepted", "investigating")
_DECIDED = ("confirmed", "not_confirmed", "refused")

TRANSITIONS: dict[tuple[str, str], str] = {
    (None, "report"): "reported",  # type: ignore[dict-item]
    ("reported", "apply"): "applied",
    ("reported", "merge"): "merged",
    ("applied", "merge"): "merged",
    ("merged", "unmerge"): PREVIOUS,
    ("applied", "request_correction"): "correction",
    ("accepted", "request_correction"): "correction",
    ("investigating", "request_correction"): "correction",
    ("correction", "materials_received"): PREVIOUS,
    ("applied", "accept"): "accepted",
    ("applied", "refuse"): "refused",
    ("correction", "refuse"): "refused",  # the materials never came
    ("accepted", "offer_investigation"): "investigating",
    ("investigating", "end_investigation"): "accepted",
    **{(s, "suspend"): "suspended" for s in _EXAMINING},
    ("suspended", "resume"): PREVIOUS,
    **{(s, "confirm"): "confirmed" for s in _EXAMINING},
    **{(s, "not_confirm"): "not_confirmed" for s in _EXAMINING},
    **{(s, "appeal"): "appealed" for s in _DECIDED},
    ("appealed", "appeal_upheld"): PREVIOUS,
    ("appealed", "appeal_withdrawn"): PREVIOUS,
    ("appealed", "appeal_overturned"): "accepted",
    ("confirmed", "apply_appraisal"): "appraisal",
    ("appraisal", "conclude_appraisal"): "appraised",
    ("appraised", "apply_reappraisal"): "appraisal",
    ("appraised", "apply_review"): "appraisal",
    ("closed", "apply_review"): "appraisal",
    **{(s, "close"): "closed" for s in (*_DECIDED, "appraised")},
    **{(s, "withdraw"): "withdrawn" for s in ("reported", "applied", "correction", *_EXAMINING, "suspended")},
}
INITIAL = None  # before the report


def legal_actions(state: str) -> list[str]:
    """The actions legal in ``state``, in the order of ACTION_NAMES."""
    present = {a for (s, a) in TRANSITIONS if s == state}
    return [a for a in ACTIONS if a in present]


def next_state(state: str | None, action: str, previous: str | None = None) -> str:
    """The state after ``action`` in ``state``. ``previous`` is the state a returning step goes back
    to (``Case.state_before``). Unknown action: DomainError; not allowed here: IllegalTransition."""
    if action not in ACTION_NAMES:
        raise DomainError(f"未知的操作 {action}", field="action")
    to = TRANSITIONS.get((state, action))  # type: ignore[arg-type]
    if to is None:
        raise IllegalTransition(
            f"案件当前状态为“{STATE_NAMES.get(state or '', '未报案')}”，不能“{ACTION_NAMES[action]}”",
            field="action",
        )
    if to == PREVIOUS:
        if previous is None or previous not in STATE_NAMES or previous in FINAL_STATES:
            raise IllegalTransition(f"案件没有可恢复的原状态，不能“{ACTION_NAMES[action]}”", field="action")
        return previous
    return to


def keeps_previous(state: str | None, action: str) -> bool:
    """Whether the step leaves a state the case may come back to (so the service stores it)."""
    return TRANSITIONS.get((state, action)) in ("correction", "suspended", "appealed", "merged")  # type: ignore[arg-type]


# The states in which the decision clock is kept (running, or standing while suspended or waiting for
# materials after acceptance).
CLOCK_STATES = ("accepted", "investigating", "suspended", "correction")
