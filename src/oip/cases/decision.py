"""The confirmation decision (职业伤害确认) and what surrounds it, the only write path for:

- **suspension** (中止): the case waits for another authority's conclusion (e.g. the traffic police's
  liability finding); a ``CaseSuspension`` of kind ``other_authority``. The decision clock stands
  while it runs; the deadline is extended by its working days (oip.cases.deadlines counts them from
  the rows), and **resumption** (恢复审查) ends it with the conclusion received.
- **the decision**: confirmed (予以确认) with a situation code, or not confirmed (不予确认) with an
  exclusion or reason code — codes are data (``CaseCode``), valid on the decision day — and the
  reasoning. Each decision is a ``Decision`` row of the next round, with the due date it was judged
  against. An open investigation task is withdrawn: the insurer's recommendation informs the
  officer, it never decides.
- **appeals** (行政复议 / 行政诉讼) within their windows (60 days / 6 months of the decision, both
  parameters; later only with the reason the reviewing body accepted it), their outcome (upheld or
  withdrawn: back to the decision; overturned: the decision is marked and the case is examined
  again with a new decision due, counted from the outcome day), and **closing** the case.

Every step goes through ``service.transition`` (state machine, version check, timeline, audit,
deadlines) in the caller's transaction. The letters part hooks into ``ON_DECISION``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from oip.cases import deadlines, parameters as CP, rules, service
from oip.cases.models import Appeal, Case, CaseCode, CaseSuspension, Decision, InvestigationTask
from oip.core import clock, validation, workdays
from oip.core.errors import Conflict, DomainError, NotFound
from oip.reference import parameters

# ---- hooks ----------------------------------------------------------------------------------------
#
# >>> ON_DECISION: what happens after a decision is written, in the same transaction. <<<
# Each hook is called as ``hook(session, actor, case, decision)`` once the Decision row exists and the
# case has moved to confirmed / not_confirmed. The letters part appends the issue of the
# 职业伤害确认结论书 (outcome "confirmed") or 不予确认职业伤害结论书 ("not_confirmed") and the
# notification to the worker ("decision made") here; this module imports none of them.
DecisionHook = Callable[[Session, Any, Case, Decision], None]
ON_DECISION: list[DecisionHook] = []

OUTCOME_NAMES = {"confirmed": "予以确认", "not_confirmed": "不予确认"}
OUTCOME_ACTIONS = {"confirmed": "confirm", "not_confirmed": "not_confirm"}
# Which kinds of code each outcome takes (CaseCode.kind).
OUTCOME_CODE_KINDS = {"confirmed": ("situation",), "not_confirmed": ("exclusion", "reason")}
CODE_KIND_NAMES = {
    "situation": "认定情形",
    "exclusion": "排除情形",
    "reason": "不予确认理由",
    "refusal": "不予受理理由",
}
APPEAL_KIND_NAMES = {"review": "行政复议", "litigation": "行政诉讼"}
APPEAL_OUTCOME_NAMES = {
    "pending": "审理中",
    "upheld": "维持原结论",
    "overturned": "撤销原结论",
    "withdrawn": "申请人撤回",
}
RECOMMENDATION_NAMES = {"confirm": "建议予以确认", "not_confirm": "建议不予确认", "unclear": "事实尚不清楚"}
SUSPENSION_KIND_NAMES = {"other_authority": "等待其他机关结论", "correction": "补正材料期间"}

service.register_event_names({"investigation_withdrawn": "撤回调查核实任务（已作出结论）"})

MAX_TEXT = 4000
MAX_REASONING = 20000


# ---- input checks ---------------------------------------------------------------------------------


def _text(value: str | None, field: str, label: str, *, required: bool = True, limit: int = MAX_TEXT) -> str:
    return validation.clean_text(value, field, label, limit, required=required)


def _day(
    value: dt.date | None,
    field: str,
    label: str,
    *,
    not_before: dt.date | None = None,
    before_label: str = "",
    future: bool = False,
) -> dt.date:
    """A date of an act: today when not given; never in the future (unless ``future``), never before
    ``not_before`` (the act it follows)."""
    day = value or clock.today()
    if not future and day > clock.today():
        raise DomainError(f"{label}（{day}）不能晚于今天", field=field)
    if not_before is not None and day < not_before:
        raise DomainError(f"{label}（{day}）不能早于{before_label}（{not_before}）", field=field)
    return day


def _get(session: Session, actor: Any, case_id: int) -> Case:
    """The case, locked: in the actor's data scope for a signed-in principal; any case for the system
    (``audit.SystemActor``: the demo generator, jobs), which has no role and no scope."""
    if getattr(actor, "role", None) is None:
        case = session.scalar(select(Case).where(Case.id == case_id).with_for_update())
        if case is None:
            raise NotFound("案件不存在", field="case_id")
        return case
    return service.get_case(session, actor, case_id, for_update=True)


def _load(session: Session, actor: Any, case_id: int, version: int | None, action: str) -> Case:
    """The case in scope, locked, at the version the writer saw, and in a state that allows ``action``."""
    case = _get(session, actor, case_id)
    service.check_version(case, version)
    rules.next_state(case.state, action, case.state_before)  # IllegalTransition (409) before any write
    return case


def _examined_from(case: Case) -> tuple[dt.date | None, str]:
    """The day examination (re)started: the acceptance, or the day an appeal sent the case back."""
    if case.clock_from and case.accepted_on and case.clock_from > case.accepted_on:
        return case.clock_from, "发回重新审查之日"
    return case.accepted_on or case.clock_from, "受理日期"


# ---- suspension -----------------------------------------------------------------------------------


def open_suspension(session: Session, case: Case) -> CaseSuspension | None:
    return session.scalar(
        select(CaseSuspension)
        .where(CaseSuspension.case_id == case.id, CaseSuspension.ended_on.is_(None))
        .order_by(CaseSuspension.started_on.desc(), CaseSuspension.id.desc())
    )


def suspensions(session: Session, case: Case) -> list[CaseSuspension]:
    return list(
        session.scalars(
            select(CaseSuspension)
            .where(CaseSuspension.case_id == case.id)
            .order_by(CaseSuspension.started_on, CaseSuspension.id)
        )
    )


def suspend(
    session: Session,
    actor: Any,
    case_id: int,
    *,
    reason: str,
    authority: str,
    expected_until: dt.date | None,
    started_on: dt.date | None = None,
    version: int | None = None,
) -> CaseSuspension:
    """中止: the case waits for ``authority``'s conclusion, expected by ``expected_until``."""
    case = _load(session, actor, case_id, version, "suspend")
    reason = _text(reason, "reason", "中止理由")
    authority = _text(authority, "authority", "等待结论的机关", limit=128)
    start, start_label = _examined_from(case)
    last_end = session.scalar(select(func.max(CaseSuspension.ended_on)).where(CaseSuspension.case_id == case.id))
    if last_end is not None and (start is None or last_end > start):
        start, start_label = last_end, "上一次中止结束日期"
    day = _day(started_on, "started_on", "中止日期", not_before=start, before_label=start_label)
    if expected_until is None:
        raise DomainError("请填写预计取得结论的日期", field="expected_until")
    if expected_until < day:
        raise DomainError(f"预计取得结论的日期（{expected_until}）不能早于中止日期（{day}）", field="expected_until")
    row = CaseSuspension(
        case_id=case.id,
        reason_kind="other_authority",
        reason=reason,
        authority=authority,
        started_on=day,
        expected_until=expected_until,
    )
    session.add(row)
    session.flush()
    service.transition(
        session,
        actor,
        case,
        "suspend",
        on=day,
        note=f"等待{authority}的结论：{reason}",
        detail={"suspension_id": row.id, "authority": authority, "expected_until": expected_until},
        version=version,
    )
    return row


def resume(
    session: Session,
    actor: Any,
    case_id: int,
    *,
    ended_on: dt.date | None = None,
    note: str = "",
    version: int | None = None,
) -> CaseSuspension:
    """恢复审查: the suspension ends on ``ended_on`` (inclusive: the clock counts again from the next
    day); ``note`` is the conclusion received."""
    case = _load(session, actor, case_id, version, "resume")
    row = open_suspension(session, case)
    if row is None:
        raise Conflict("该案件没有正在进行的中止，无需恢复", field="ended_on")
    day = _day(ended_on, "ended_on", "恢复日期", not_before=row.started_on, before_label="中止日期")
    row.ended_on = day
    row.end_note = _text(note, "note", "取得的结论", required=False) or None
    session.flush()
    service.transition(
        session,
        actor,
        case,
        "resume",
        on=day,
        note=row.end_note or "",
        detail={"suspension_id": row.id, "started_on": row.started_on, "ended_on": day},
        version=version,
    )
    return row


# ---- codes ----------------------------------------------------------------------------------------


def valid_codes(session: Session, day: dt.date | None = None, kinds: tuple[str, ...] | None = None) -> list[CaseCode]:
    """The codes valid on ``day`` (today), by kind and code."""
    day = day or clock.today()
    q = select(CaseCode).where(CaseCode.valid_from <= day, or_(CaseCode.valid_to.is_(None), CaseCode.valid_to >= day))
    if kinds:
        q = q.where(CaseCode.kind.in_(kinds))
    return list(session.scalars(q.order_by(CaseCode.kind, CaseCode.code)))


def decision_codes(session: Session, day: dt.date | None = None) -> dict[str, list[CaseCode]]:
    """The codes a decision may carry on ``day``, grouped by kind (situation, exclusion, reason)."""
    out: dict[str, list[CaseCode]] = {"situation": [], "exclusion": [], "reason": []}
    for c in valid_codes(session, day, tuple(out)):
        out[c.kind].append(c)
    return out


def check_code(session: Session, outcome: str, code: str, day: dt.date) -> CaseCode:
    """The code of a decision: of a kind the outcome takes, and valid on the decision day."""
    code = (code or "").strip().upper()
    if not code:
        raise DomainError("请选择认定情形或不予确认的理由代码", field="code")
    kinds = OUTCOME_CODE_KINDS[outcome]
    rows = list(session.scalars(select(CaseCode).where(CaseCode.code == code)))
    fitting = [r for r in rows if r.kind in kinds]
    if not fitting:
        wanted = "、".join(CODE_KIND_NAMES[k] for k in kinds)
        if rows:
            raise DomainError(
                f"代码 {code} 是{CODE_KIND_NAMES.get(rows[0].kind, rows[0].kind)}，"
                f"“{OUTCOME_NAMES[outcome]}”的结论应选择{wanted}代码",
                field="code",
            )
        raise DomainError(f"代码 {code} 不存在；“{OUTCOME_NAMES[outcome]}”的结论应选择{wanted}代码", field="code")
    row = fitting[0]
    if row.valid_from > day or (row.valid_to is not None and row.valid_to < day):
        until = f"至 {row.valid_to}" if row.valid_to else "起"
        raise DomainError(
            f"代码 {code}（{row.name}）自 {row.valid_from}{until}有效，不适用于 {day} 作出的结论", field="code"
        )
    return row


def code_names(session: Session) -> dict[tuple[str, str], CaseCode]:
    return {(c.kind, c.code): c for c in session.scalars(select(CaseCode))}


# ---- the decision ---------------------------------------------------------------------------------


def decisions(session: Session, case: Case) -> list[Decision]:
    return list(session.scalars(select(Decision).where(Decision.case_id == case.id).order_by(Decision.round)))


def recommendations(session: Session, case: Case) -> list[InvestigationTask]:
    """The insurer's submitted findings with a recommendation: shown to the officer, never deciding."""
    return list(
        session.scalars(
            select(InvestigationTask)
            .where(
                InvestigationTask.case_id == case.id,
                InvestigationTask.status == "submitted",
                InvestigationTask.recommendation.is_not(None),
            )
            .order_by(InvestigationTask.submitted_at.desc().nulls_last(), InvestigationTask.id.desc())
        )
    )


def decide(
    session: Session,
    actor: Any,
    case_id: int,
    *,
    outcome: str,
    code: str,
    reasoning: str,
    decided_on: dt.date | None = None,
    version: int | None = None,
) -> Decision:
    """The confirmation decision: a new ``Decision`` of the next round, judged against the case's
    decision due date of this moment; the case moves to confirmed / not_confirmed; open investigation
    tasks are withdrawn; then the ``ON_DECISION`` hooks run."""
    if outcome not in OUTCOME_ACTIONS:
        raise DomainError("结论应为 confirmed（予以确认）或 not_confirmed（不予确认）", field="outcome")
    action = OUTCOME_ACTIONS[outcome]
    case = _load(session, actor, case_id, version, action)
    start, start_label = _examined_from(case)
    last_end = session.scalar(select(func.max(CaseSuspension.ended_on)).where(CaseSuspension.case_id == case.id))
    if last_end is not None and (start is None or last_end > start):
        start, start_label = last_end, "恢复审查日期"
    day = _day(decided_on, "decided_on", "结论日期", not_before=start, before_label=start_label)
    row = check_code(session, outcome, code, day)
    reasoning = _text(reasoning, "reasoning", "认定理由", limit=MAX_REASONING)
    previous = session.scalar(select(func.count()).select_from(Decision).where(Decision.case_id == case.id)) or 0
    due = case.decision_due
    decision = Decision(
        case_id=case.id,
        round=previous + 1,
        outcome=outcome,
        code_kind=row.kind,
        code=row.code,
        reasoning=reasoning,
        decided_on=day,
        due_on=due,
        decided_by=getattr(actor, "user_id", None),
    )
    session.add(decision)
    session.flush()
    _withdraw_open_tasks(session, actor, case, day)
    service.transition(
        session,
        actor,
        case,
        action,
        on=day,
        note=f"{CODE_KIND_NAMES[row.kind]}：{row.name}",
        detail={
            "decision_id": decision.id,
            "round": decision.round,
            "code_kind": row.kind,
            "code": row.code,
            "due_on": due,
            "on_time": None if due is None else day <= due,
        },
        version=version,
    )
    for hook in ON_DECISION:
        hook(session, actor, case, decision)
    return decision


def _withdraw_open_tasks(session: Session, actor: Any, case: Case, day: dt.date) -> None:
    tasks = list(
        session.scalars(
            select(InvestigationTask)
            .where(InvestigationTask.case_id == case.id, InvestigationTask.status == "open")
            .with_for_update()
        )
    )
    for task in tasks:
        task.status = "withdrawn"
        service.record_event(
            session,
            actor,
            case,
            "investigation_withdrawn",
            on=day,
            note="已作出确认结论，未完成的调查核实任务撤回",
            detail={"task_id": task.id, "organisation_id": task.organisation_id},
        )


def timeliness(decision: Decision) -> dict[str, Any]:
    """Whether a decision came within its due date, and by how many working days it was late."""
    if decision.due_on is None:
        return {"on_time": None, "late_working_days": None}
    if decision.decided_on <= decision.due_on:
        return {"on_time": True, "late_working_days": 0}
    try:
        late = workdays.working_days_between(decision.due_on, decision.decided_on)
    except DomainError:
        late = None
    return {"on_time": False, "late_working_days": late}


# ---- appeals --------------------------------------------------------------------------------------


def appeal_windows(session: Session, case: Case) -> dict[str, dt.date] | None:
    """The last days to file: 行政复议 ``case.appeal_review_days`` days and 行政诉讼
    ``case.appeal_litigation_months`` months after the letter of the decision (or refusal, or the
    upheld appeal) was served — after the act itself while its service is not recorded — both moved
    off a rest day (service.appeal_window_start). None before any decision. A last day that falls in
    a year whose holiday arrangement is not loaded is None, and ``calendar_gap`` says why (the case
    page shows it instead of failing)."""
    found = service.appeal_window_start(session, case)
    if found is None:
        return None
    start, served = found
    out: dict = {"from": start, "served": served, "calendar_gap": None}
    for kind, fn, key in (
        ("review", deadlines.calendar_deadline, CP.APPEAL_REVIEW_DAYS),
        ("litigation", deadlines.months_deadline, CP.APPEAL_LITIGATION_MONTHS),
    ):
        try:
            out[kind] = fn(start, parameters.get(session, key, start))
        except DomainError as e:  # the last day falls in a year whose holidays nobody has loaded yet
            if not service.calendar_gap(e):
                raise
            out[kind], out["calendar_gap"] = None, e.reason
    return out


def appeals(session: Session, case: Case) -> list[Appeal]:
    return list(session.scalars(select(Appeal).where(Appeal.case_id == case.id).order_by(Appeal.filed_on, Appeal.id)))


def file_appeal(
    session: Session,
    actor: Any,
    case_id: int,
    *,
    kind: str,
    body: str,
    filed_on: dt.date | None = None,
    expected_on: dt.date | None = None,
    late_reason: str | None = None,
    version: int | None = None,
) -> Appeal:
    """登记行政复议或诉讼 against the current decision (or the refusal to accept)."""
    if kind not in APPEAL_KIND_NAMES:
        raise DomainError("类别应为 review（行政复议）或 litigation（行政诉讼）", field="kind")
    case = _load(session, actor, case_id, version, "appeal")
    body = _text(body, "body", "复议机关或人民法院", limit=128)
    windows = appeal_windows(session, case)
    start = windows["from"] if windows else None
    acted = service.last_decided_on(session, case)
    day = _day(filed_on, "filed_on", "申请（起诉）日期", not_before=acted, before_label="结论作出日期")
    late_reason = _text(late_reason, "late_reason", "逾期受理的理由", required=False) or None
    if windows is not None and windows[kind] is not None:
        limit = windows[kind]
        if day > limit and not late_reason:
            since = "收到结论书之日起" if windows["served"] else "作出结论之日起"
            rule = (
                f"{since} {parameters.get(session, CP.APPEAL_REVIEW_DAYS, start)} 日"
                if kind == "review"
                else f"{since} {parameters.get(session, CP.APPEAL_LITIGATION_MONTHS, start)} 个月"
            )
            raise DomainError(
                f"{APPEAL_KIND_NAMES[kind]}的期限为{rule}，即 {limit} 前；{day} 已超过期限。"
                f"复议机关或人民法院仍予受理的，请填写逾期受理的理由",
                field="filed_on",
            )
    if expected_on is None:
        expected_on = deadlines.calendar_deadline(day, parameters.get(session, CP.APPEAL_OUTCOME_DAYS, day))
    elif expected_on < day:
        raise DomainError(f"预计结果日期（{expected_on}）不能早于申请日期（{day}）", field="expected_on")
    current = service.current_decision(session, case)
    appeal = Appeal(
        case_id=case.id,
        decision_id=current.id if current is not None and case.state != "refused" else None,
        kind=kind,
        body=body,
        filed_on=day,
        expected_on=expected_on,
        outcome="pending",
        note="",
        late_reason=late_reason,
        recorded_by=getattr(actor, "user_id", None),
    )
    session.add(appeal)
    session.flush()
    service.transition(
        session,
        actor,
        case,
        "appeal",
        on=day,
        note=f"{APPEAL_KIND_NAMES[kind]}：{body}" + (f"（逾期受理：{late_reason}）" if late_reason else ""),
        detail={
            "appeal_id": appeal.id,
            "kind": kind,
            "decision_id": appeal.decision_id,
            "expected_on": expected_on,
            "late": bool(windows and windows[kind] is not None and day > windows[kind]),
        },
        version=version,
    )
    return appeal


def appeal_outcome(
    session: Session,
    actor: Any,
    case_id: int,
    appeal_id: int,
    *,
    outcome: str,
    outcome_on: dt.date | None = None,
    note: str = "",
    version: int | None = None,
) -> Appeal:
    """The outcome of an appeal. Upheld or withdrawn: the case returns to its decision. Overturned:
    the decision is marked ``overturned_on`` and the case is examined again, its decision clock
    counting from the outcome day (30 working days, 7 if simple)."""
    if outcome not in ("upheld", "overturned", "withdrawn"):
        raise DomainError("结果应为 upheld（维持）、overturned（撤销）或 withdrawn（撤回）", field="outcome")
    action = {"overturned": "appeal_overturned", "withdrawn": "appeal_withdrawn"}.get(outcome, "appeal_upheld")
    case = _get(session, actor, case_id)
    appeal = session.get(Appeal, appeal_id)
    if appeal is None or appeal.case_id != case.id:
        raise NotFound("该案件没有这条复议（诉讼）记录", field="appeal_id")
    service.check_version(case, version)
    if appeal.outcome != "pending":
        raise Conflict(
            f"该{APPEAL_KIND_NAMES.get(appeal.kind, '')}已于 {appeal.outcome_on} 登记结果"
            f"（{APPEAL_OUTCOME_NAMES.get(appeal.outcome, appeal.outcome)}）",
            field="outcome",
        )
    rules.next_state(case.state, action, case.state_before)
    day = _day(outcome_on, "outcome_on", "结果日期", not_before=appeal.filed_on, before_label="申请（起诉）日期")
    note = _text(note, "note", "说明", required=False)
    appeal.outcome, appeal.outcome_on, appeal.note = outcome, day, note
    detail: dict[str, Any] = {"appeal_id": appeal.id, "outcome": outcome}
    if outcome == "overturned":
        if appeal.decision_id is not None:
            decision = session.get(Decision, appeal.decision_id)
            if decision is not None and decision.overturned_on is None:
                decision.overturned_on = day
                detail["overturned_decision_id"] = decision.id
        case.accepted_on = case.accepted_on or day  # a refusal to accept that was overturned
        case.received_on = case.received_on or day
        case.clock_from = day
    session.flush()
    name = f"{APPEAL_KIND_NAMES.get(appeal.kind, '')}{APPEAL_OUTCOME_NAMES[outcome]}"
    service.transition(
        session,
        actor,
        case,
        action,
        on=day,
        note=f"{name}" + (f"：{note}" if note else ""),
        detail=detail,
        version=version,
    )
    return appeal


# ---- closing --------------------------------------------------------------------------------------


def close(session: Session, actor: Any, case_id: int, *, reason: str = "", version: int | None = None) -> Case:
    """结案: once the deadline the case waits on (the appeal window) has passed, or earlier on request
    with a reason (the party renounces its appeal, …)."""
    case = _load(session, actor, case_id, version, "close")
    reason = _text(reason, "reason", "结案理由", required=False)
    today = clock.today()
    due = case.next_due
    if not reason and (due is None or today <= due):
        wait = rules.DEADLINE_NAMES.get(rules.WAITS_ON.get(case.state, ""), "期限")
        when = f"至 {due} 尚未届满" if due else "尚无法确定"
        raise DomainError(f"{wait}{when}，期满后方可结案；提前结案（如当事人书面放弃）请填写理由", field="reason")
    service.transition(
        session,
        actor,
        case,
        "close",
        on=today,
        note=reason or f"{rules.DEADLINE_NAMES.get(rules.WAITS_ON.get(case.state, ''), '期限')}届满，结案",
        detail={"early": bool(due and today <= due)},
        version=version,
    )
    return case


def close_allowed_without_reason(case: Case, today: dt.date | None = None) -> bool:
    today = today or clock.today()
    return case.next_due is not None and today > case.next_due
