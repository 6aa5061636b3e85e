"""The core of the case service: load a case in scope, move it through the state machine with its
timeline event and audit event, and keep its deadlines. Every part of the case (intake, investigation,
decision, letters, appraisal) writes through ``transition`` / ``record_event`` here, so the rules of
oip.cases.rules hold for all of them and every step lands on the one timeline.

Deadlines: ``refresh_dues`` recomputes ``Case.decision_due`` (the decision clock, oip.cases.deadlines)
and ``Case.next_due`` (the date the open state waits on, rules.WAITS_ON) after every step. A part
that owns a state's deadline registers how to compute it with ``register_due`` (the appraisal
registers its conclusion and re-appraisal windows)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, lazyload, selectinload

from oip.auth.scope import out_of_scope
from oip.auth.service import Principal
from oip.cases import deadlines, parameters as CP, rules
from oip.cases.models import Appeal, Case, CaseEvent, CaseReport, CaseSuspension, CorrectionNotice, Decision, Letter
from oip.cases.scope import case_condition, sees_full_name
from oip.core import audit, clock, workdays
from oip.core.errors import Conflict, DomainError
from oip.core.ids import mask_name
from oip.core.pagination import page_count
from oip.platforms.models import Platform
from oip.reference import calendar, parameters
from oip.reference.models import Region
from oip.workers.models import Person, PlatformAccount

audit.register_actions({f"case.{a}": n for a, n in rules.ACTION_NAMES.items()})
audit.register_actions({"case.view": "查看职业伤害案件", "case.note": "案件办理记录"})

KIND_NAMES = {"injury": "受伤", "death": "死亡", "missing": "下落不明"}
APPLICANT_NAMES = {"platform": "平台企业", "worker": "本人", "relative": "近亲属", "union": "工会组织"}


# ---- loading --------------------------------------------------------------------------------------


def get_case(session: Session, actor: Principal, case_id: int, *, for_update: bool = False) -> Case:
    """The case if it is in the actor's scope; otherwise the same 404 as a missing one."""
    q = select(Case).where(Case.id == case_id, case_condition(actor))
    if for_update:
        q = q.with_for_update(of=Case)
    case = session.scalar(q)
    if case is None:
        raise out_of_scope("案件")
    return case


def check_version(case: Case, version: int | None) -> None:
    """A writer that read version N and sends it back gets a conflict when the case has changed
    since: never a silent overwrite of somebody else's step."""
    if version is not None and version != case.version:
        raise Conflict(
            f"案件 {case.number} 已被他人更新（您看到的是第 {version} 版，现为第 {case.version} 版），请刷新后重试",
            field="version",
        )


def jurisdiction(session: Session, county_code: str) -> dict[str, str]:
    """The county-level 人社 office of the place of injury (domain.md §3)."""
    county = session.get(Region, county_code)
    if county is None:
        raise DomainError(f"区划代码 {county_code} 不存在", field="county_code")
    city = session.get(Region, county.parent_code) if county.parent_code else None
    prefix = city.name if city is not None and city.level == "city" else ""
    return {"region_code": county.code, "name": f"{prefix}{county.name}人力资源和社会保障局"}


def _actor_name(actor: Any) -> str:
    return getattr(actor, "display_name", None) or getattr(actor, "label", None) or "系统"


# ---- writing --------------------------------------------------------------------------------------


def record_event(
    session: Session,
    actor: Any,
    case: Case,
    action: str,
    *,
    on: dt.date | None = None,
    note: str = "",
    detail: dict[str, Any] | None = None,
    from_state: str | None = None,
    to_state: str | None = None,
    audit_action: str | None = None,
) -> CaseEvent:
    """A step on the case's timeline and its audit event (no change of state)."""
    event = CaseEvent(
        case_id=case.id,
        at=clock.now(),
        on=on or clock.today(),
        actor_id=getattr(actor, "user_id", None),
        actor_name=_actor_name(actor)[:128],
        action=action,
        from_state=from_state,
        to_state=to_state,
        note=note or "",
        detail=audit.jsonable(detail or {}) or {},
    )
    session.add(event)
    session.flush()
    audit.record(
        session,
        actor,
        audit_action or f"case.{action}",
        entity_type="case",
        entity_id=case.id,
        before={"state": from_state} if from_state else None,
        after={"state": to_state or case.state, **({"note": note} if note else {}), **(detail or {})},
        subjects=[case.person_id],
    )
    return event


def transition(
    session: Session,
    actor: Any,
    case: Case,
    action: str,
    *,
    on: dt.date | None = None,
    note: str = "",
    detail: dict[str, Any] | None = None,
    version: int | None = None,
) -> CaseEvent:
    """Move the case by ``action`` (rules.next_state), bump its version, write the timeline event
    and the audit event, and recompute its deadlines. The caller has loaded the case FOR UPDATE and
    changed what the step changes (dates, fields, rows) before or after, in the same transaction."""
    check_version(case, version)
    before = case.state
    to = rules.next_state(before, action, case.state_before)
    if rules.keeps_previous(before, action):
        case.state_before = before
    elif to == case.state_before:
        case.state_before = None
    case.state = to
    case.version += 1
    case.updated_at = clock.now()
    if to in rules.FINAL_STATES:
        case.closed_at = case.closed_at or clock.now()
    elif case.closed_at is not None:
        case.closed_at = None
    event = record_event(session, actor, case, action, on=on, note=note, detail=detail, from_state=before, to_state=to)
    refresh_dues(session, case)
    return event


def touch(case: Case, version: int | None = None) -> None:
    """A change to the case row that is not a step of the state machine (still versioned)."""
    check_version(case, version)
    case.version += 1
    case.updated_at = clock.now()


# ---- deadlines ------------------------------------------------------------------------------------

DueFn = Callable[[Session, Case], "dt.date | None"]
_DUE: dict[str, DueFn] = {}


def register_due(wait: str, fn: DueFn) -> None:
    """The part that owns a deadline (rules.WAITS_ON value) says how to compute it."""
    _DUE[wait] = fn


def pauses(session: Session, case: Case) -> list[deadlines.Pause]:
    rows = session.execute(
        select(CaseSuspension.started_on, CaseSuspension.ended_on)
        .where(CaseSuspension.case_id == case.id)
        .order_by(CaseSuspension.started_on)
    ).all()
    return [(s, e) for s, e in rows]


def decision_limit(session: Session, case: Case) -> int:
    """30 working days, 7 for a simple case — the values in force on the acceptance day."""
    key = CP.SIMPLE_DECISION_WORKING_DAYS if case.simple else CP.DECISION_WORKING_DAYS
    return parameters.get(session, key, case.accepted_on or clock.today())


def decision_clock(session: Session, case: Case, today: dt.date | None = None) -> deadlines.Clock | None:
    if case.clock_from is None:
        return None
    return deadlines.decision_clock(
        case.clock_from, decision_limit(session, case), pauses(session, case), today or clock.today()
    )


def application_limits(session: Session, case: Case) -> deadlines.ApplicationLimits:
    injured_on = clock.local(case.occurred_at).date()
    return deadlines.application_limits(
        injured_on,
        parameters.get(session, CP.PLATFORM_APPLY_WORKING_DAYS, injured_on),
        parameters.get(session, CP.WORKER_APPLY_DAYS, injured_on),
    )


def _application_due(session: Session, case: Case) -> dt.date:
    return application_limits(session, case).worker_due


def _acceptance_due(session: Session, case: Case) -> dt.date | None:
    start = case.received_on or case.applied_on
    if start is None:
        return None
    return workdays.add_working_days(start, parameters.get(session, CP.ACCEPTANCE_WORKING_DAYS, start))


def _materials_due(session: Session, case: Case) -> dt.date | None:
    return session.scalar(
        select(func.max(CorrectionNotice.due_on)).where(
            CorrectionNotice.case_id == case.id, CorrectionNotice.fulfilled_on.is_(None)
        )
    )


def _decision_due(session: Session, case: Case) -> dt.date | None:
    return case.decision_due


def _suspension_due(session: Session, case: Case) -> dt.date | None:
    return session.scalar(
        select(func.max(CaseSuspension.expected_until)).where(
            CaseSuspension.case_id == case.id, CaseSuspension.ended_on.is_(None)
        )
    )


def last_decided_on(session: Session, case: Case) -> dt.date | None:
    """The day of the act the appeal window runs from: the last decision (or refusal) event."""
    return session.scalar(
        select(func.max(CaseEvent.on)).where(
            CaseEvent.case_id == case.id,
            CaseEvent.action.in_(("confirm", "not_confirm", "refuse", "appeal_upheld", "appeal_withdrawn")),
        )
    )


APPEALABLE_LETTERS = ("confirmation", "non_confirmation", "refusal")


def appeal_window_start(session: Session, case: Case) -> tuple[dt.date, bool] | None:
    """The day the appeal periods run from, and whether it is the day the letter was served: the law
    counts from receipt (行政复议法 art. 20), so once the decision's (or refusal's) letter is recorded
    as served, from that day; until then from the day of the act. None before any decision."""
    acted = last_decided_on(session, case)
    if acted is None:
        return None
    served = session.scalar(
        select(func.max(Letter.served_on)).where(
            Letter.case_id == case.id, Letter.kind.in_(APPEALABLE_LETTERS), Letter.served_on >= acted
        )
    )
    return (served, True) if served is not None else (acted, False)


def _appeal_window_due(session: Session, case: Case) -> dt.date | None:
    start = appeal_window_start(session, case)
    if start is None:
        return None
    return deadlines.calendar_deadline(start[0], parameters.get(session, CP.APPEAL_REVIEW_DAYS, start[0]))


def _appeal_outcome_due(session: Session, case: Case) -> dt.date | None:
    return session.scalar(
        select(func.max(Appeal.expected_on)).where(Appeal.case_id == case.id, Appeal.outcome == "pending")
    )


for _wait, _fn in {
    "application": _application_due,
    "acceptance": _acceptance_due,
    "materials": _materials_due,
    "decision": _decision_due,
    "suspension": _suspension_due,
    "appeal_window": _appeal_window_due,
    "appeal_outcome": _appeal_outcome_due,
}.items():
    register_due(_wait, _fn)


def calendar_gap(e: DomainError) -> bool:
    """The error of a deadline that falls in a year whose holiday arrangement is not loaded."""
    return e.field == "calendar"


def refresh_dues(session: Session, case: Case) -> None:
    """Recompute the decision deadline and the date the open state waits on. A decided case keeps
    the decision due date it had (its timeliness is judged by it). A deadline in a year whose holiday
    arrangement nobody has loaded stays empty (the case view says why) instead of failing the step."""
    session.flush()
    calendar.refresh(session)
    if case.clock_from is not None and case.state in rules.CLOCK_STATES:
        try:
            c = decision_clock(session, case)
            case.decision_due = c.due if c else None
        except DomainError as e:
            if not calendar_gap(e):
                raise
            case.decision_due = None
    wait = rules.WAITS_ON.get(case.state)
    fn = _DUE.get(wait) if wait else None
    try:
        case.next_due = fn(session, case) if fn else None
    except DomainError as e:
        if not calendar_gap(e):
            raise
        case.next_due = None


def due_problem(session: Session, case: Case) -> str | None:
    """Why the date the open state waits on is empty, if a calendar gap is the reason."""
    wait = rules.WAITS_ON.get(case.state)
    fn = _DUE.get(wait) if wait else None
    if fn is None or case.next_due is not None:
        return None
    try:
        fn(session, case)
    except DomainError as e:
        if calendar_gap(e):
            return e.reason
        raise
    return None


# ---- reading --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Due:
    wait: str | None
    name: str | None
    due: dt.date | None
    overdue: bool
    due_soon: bool


def due_status(session: Session, case: Case, today: dt.date | None = None) -> Due:
    today = today or clock.today()
    wait = rules.WAITS_ON.get(case.state)
    due = case.next_due
    if due is None:
        return Due(wait, rules.DEADLINE_NAMES.get(wait or ""), None, False, False)
    soon = parameters.get(session, CP.DUE_SOON_WORKING_DAYS, today)
    left = workdays.working_days_between(today, due) if due >= today else -1
    return Due(wait, rules.DEADLINE_NAMES.get(wait or ""), due, due < today, 0 <= left <= soon)


def current_decision(session: Session, case: Case) -> Decision | None:
    return session.scalar(
        select(Decision)
        .where(Decision.case_id == case.id, Decision.overturned_on.is_(None))
        .order_by(Decision.round.desc())
    )


def timeline(session: Session, case: Case) -> list[CaseEvent]:
    return list(
        session.scalars(select(CaseEvent).where(CaseEvent.case_id == case.id).order_by(CaseEvent.at, CaseEvent.id))
    )


# ---- views ----------------------------------------------------------------------------------------

LIST_PAGE = 50
BUCKETS = {"overdue": "已超期", "due_soon": "即将到期", "suspended": "中止中", "open": "办理中", "closed": "已办结"}
audit.register_actions({"case.list": "查询职业伤害案件列表"})


def _names(session: Session, cases: list[Case]) -> dict[str, dict]:
    """Persons, platforms, accounts and regions of a page of cases, in one query each."""
    # Only the rows themselves (and the platforms' names): the models' eager relationships (a person's
    # accounts, each with its platform and that platform's rates, floats, regions …) would otherwise
    # cost a dozen queries a page (bench/case_worklist.py).
    persons = {
        x.id: x
        for x in session.scalars(
            select(Person).where(Person.id.in_({c.person_id for c in cases})).options(lazyload("*"))
        )
    }
    platforms = {
        x.id: x
        for x in session.scalars(
            select(Platform)
            .where(Platform.id.in_({c.platform_id for c in cases}))
            .options(lazyload("*"), selectinload(Platform.names))
        )
    }
    accounts = {
        x.id: x
        for x in session.scalars(
            select(PlatformAccount)
            .where(PlatformAccount.id.in_({c.platform_account_id for c in cases}))
            .options(lazyload("*"))
        )
    }
    codes = {c.county_code for c in cases}
    regions = {r.code: r for r in session.scalars(select(Region).where(Region.code.in_(codes)))}
    parents = {r.parent_code for r in regions.values() if r.parent_code}
    regions.update({r.code: r for r in session.scalars(select(Region).where(Region.code.in_(parents)))})
    return {"persons": persons, "platforms": platforms, "accounts": accounts, "regions": regions}


def place_name(session: Session, county_code: str) -> str:
    """南宁市青秀区: the county with its city."""
    county = session.get(Region, county_code)
    if county is None:
        return county_code
    city = session.get(Region, county.parent_code) if county.parent_code else None
    return (city.name if city is not None and city.level == "city" else "") + county.name


def full_address(place: str, address: str) -> str:
    """The place of injury as a letter or a page writes it: the county's name before the address,
    unless the address already starts with it (南宁市青秀区民族大道…, 青秀区民族大道…)."""
    address = (address or "").strip()
    county = place[-3:] if len(place) > 3 else place
    if address.startswith(place) or address[:12].find(county) >= 0:
        return address
    return f"{place}{address}"


def _place(regions: dict, code: str) -> str:
    r = regions.get(code)
    if r is None:
        return code
    parent = regions.get(r.parent_code or "")
    return f"{parent.name if parent is not None and parent.level == 'city' else ''}{r.name}"


def summary(p: Principal, case: Case, names: dict[str, dict], today: dt.date) -> dict[str, Any]:
    """One line of a case list (and the head of the case view): names, not codes; personal data as
    the viewer may see it."""
    person = names["persons"].get(case.person_id)
    platform = names["platforms"].get(case.platform_id)
    account = names["accounts"].get(case.platform_account_id)
    name = person.name if person is not None else ""
    due = case.next_due
    return {
        "id": case.id,
        "number": case.number,
        "state": case.state,
        "state_name": rules.STATE_NAMES[case.state],
        "kind": case.kind,
        "kind_name": KIND_NAMES.get(case.kind, case.kind),
        "occurred_at": clock.local(case.occurred_at).isoformat(),
        "county_code": case.county_code,
        "place": _place(names["regions"], case.county_code),
        "platform_code": platform.code if platform is not None else None,
        "platform_name": platform.display_name(today) if platform is not None else None,
        "account_id": account.account_id if account is not None else None,
        "worker_name": name if sees_full_name(p) else mask_name(name),
        "id_masked": person.id_masked if person is not None else None,
        "reported_on": case.reported_on.isoformat(),
        "accepted_on": case.accepted_on.isoformat() if case.accepted_on else None,
        "decision_due": case.decision_due.isoformat() if case.decision_due else None,
        "waiting_on": rules.WAITS_ON.get(case.state),
        "waiting_on_name": rules.DEADLINE_NAMES.get(rules.WAITS_ON.get(case.state, ""), None),
        "next_due": due.isoformat() if due else None,
        "overdue": bool(due and due < today),
        "version": case.version,
    }


def describe(session: Session, p: Principal, case: Case) -> dict[str, Any]:
    """The whole case for ``GET /api/v1/cases/{id}`` and the case page (audited as a read of the
    person's data by the caller)."""
    today = clock.today()
    names = _names(session, [case])
    out = summary(p, case, names, today)
    problem = None
    try:
        c = decision_clock(session, case, today)
    except DomainError as e:
        if not calendar_gap(e):
            raise
        c, problem = None, e.reason
    problem = problem or due_problem(session, case)
    d = current_decision(session, case)
    due = due_status(session, case, today)
    out.update(
        {
            "jurisdiction": jurisdiction(session, case.county_code),
            "address": case.address,
            "address_full": full_address(out["place"], case.address),
            "lat": str(case.lat) if case.lat is not None else None,
            "lon": str(case.lon) if case.lon is not None else None,
            "order_id": case.order_id,
            "description": case.description,
            "injuries": case.injuries,
            "outpatient_only": case.outpatient_only,
            "coverage": case.coverage,
            "applicant": case.applicant,
            "applicant_name": APPLICANT_NAMES.get(case.applicant or ""),
            "applied_on": case.applied_on.isoformat() if case.applied_on else None,
            "received_on": case.received_on.isoformat() if case.received_on else None,
            "late_explanation": case.late_explanation,
            "simple": case.simple,
            "clock": None
            if c is None
            else {
                "from": case.clock_from.isoformat() if case.clock_from else None,
                "limit_working_days": c.limit,
                "used_working_days": c.used,
                "left_working_days": c.left,
                "suspended": c.suspended,
                "suspended_working_days": c.suspended_days,
            },
            "due_soon": due.due_soon,
            "due_problem": problem,
            "decision": None
            if d is None
            else {
                "id": d.id,
                "round": d.round,
                "outcome": d.outcome,
                "code_kind": d.code_kind,
                "code": d.code,
                "reasoning": d.reasoning,
                "decided_on": d.decided_on.isoformat(),
                "due_on": d.due_on.isoformat() if d.due_on else None,
            },
            "merged_into": case.merged_into_id,
            "legal_actions": [{"action": a, "name": rules.ACTION_NAMES[a]} for a in rules.legal_actions(case.state)],
        }
    )
    return out


def view_audit(session: Session, actor: Principal, case: Case) -> None:
    audit.record(session, actor, "case.view", entity_type="case", entity_id=case.id, subjects=[case.person_id])


def _bucket_condition(bucket: str | None, today: dt.date):
    if bucket == "overdue":
        return (Case.next_due < today, Case.state.in_(rules.OPEN_STATES))
    if bucket == "due_soon":
        return (Case.next_due >= today, Case.state.in_(rules.OPEN_STATES))
    if bucket == "suspended":
        return (Case.state.in_(("suspended", "correction")),)
    if bucket == "open":
        return (Case.state.in_(rules.OPEN_STATES),)
    if bucket == "closed":
        return (Case.state.in_(tuple(rules.FINAL_STATES)),)
    if bucket:
        raise DomainError(f"未知的分类 {bucket}，应为：{'、'.join(BUCKETS)}", field="bucket")
    return ()


def list_cases(
    session: Session,
    actor: Principal,
    *,
    state: str | None = None,
    bucket: str | None = None,
    county: str | None = None,
    q: str | None = None,
    page: int = 1,
    size: int = LIST_PAGE,
) -> tuple[list[dict[str, Any]], int]:
    """Cases in the actor's scope, the most urgent first (the date they wait on), one page."""
    today = clock.today()
    cond = [case_condition(actor), *_bucket_condition(bucket, today)]
    if state:
        if state not in rules.STATE_NAMES:
            raise DomainError(f"未知的状态 {state}", field="state")
        cond.append(Case.state == state)
    if county:
        cond.append(Case.county_code.startswith(county, autoescape=True))
    if q:
        cond.append(Case.number.startswith(q.strip().upper(), autoescape=True))
    if bucket == "due_soon":
        limit = parameters.get(session, CP.DUE_SOON_WORKING_DAYS, today)
        cond.append(Case.next_due <= workdays.add_working_days(today, limit))
    total = session.scalar(select(func.count()).select_from(Case).where(*cond)) or 0
    page = min(max(1, page), page_count(total, size))
    rows = list(
        session.scalars(
            select(Case)
            .where(*cond)
            .order_by(Case.next_due.asc().nulls_last(), Case.id.desc())
            .offset((page - 1) * size)
            .limit(size)
        )
    )
    names = _names(session, rows) if rows else {}
    items = [summary(actor, c, names, today) for c in rows]
    if rows:
        audit.record(
            session,
            actor,
            "case.list",
            entity_type="case",
            subjects=sorted({c.person_id for c in rows}),
            after={"state": state, "bucket": bucket, "county": county, "q": q, "page": page, "shown": len(rows)},
        )
    return items, total


# Timeline entries that are not steps of the state machine (documents, letters, tasks …): each part
# adds its names here so the timeline speaks Chinese.
EVENT_NAMES: dict[str, str] = {}


def register_event_names(names: dict[str, str]) -> None:
    EVENT_NAMES.update(names)
    audit.register_actions({f"case.{k}": v for k, v in names.items()})


def event_name(action: str) -> str:
    return rules.ACTION_NAMES.get(action) or EVENT_NAMES.get(action, action)


# ---- opening a case -------------------------------------------------------------------------------


def open_case(
    session: Session,
    actor: Any,
    *,
    account: Any,
    kind: str,
    occurred_at: dt.datetime,
    county_code: str,
    address: str,
    description: str,
    injuries: str = "",
    lat: Any = None,
    lon: Any = None,
    order_id: str | None = None,
    channel: str,
    reported_on: dt.date,
    coverage: dict[str, Any] | None = None,
    facts: dict[str, Any] | None = None,
) -> tuple[Case, Any]:
    """A new case from a report (inputs already checked by the caller, oip.cases.intake): the case
    row, the report, the ``report`` step on the timeline and its audit event."""
    now = clock.now()
    case = Case(
        number="",
        person_id=account.person_id,
        platform_id=account.platform_id,
        platform_account_id=account.id,
        kind=kind,
        occurred_at=occurred_at,
        county_code=county_code,
        address=address,
        lat=lat,
        lon=lon,
        order_id=order_id,
        description=description,
        injuries=injuries or "",
        coverage=coverage,
        state="reported",
        version=1,
        reported_on=reported_on,
        created_at=now,
        updated_at=now,
    )
    session.add(case)
    session.flush()
    case.number = f"ZS{clock.local(occurred_at).year}{county_code}{case.id:07d}"
    report = CaseReport(
        case_id=case.id,
        first_case_id=case.id,
        channel=channel,
        reported_on=reported_on,
        received_at=now,
        reported_by=getattr(actor, "user_id", None),
        person_id=account.person_id,
        occurred_at=occurred_at,
        facts=audit.jsonable(facts or {}) or {},
    )
    session.add(report)
    session.flush()
    record_event(
        session,
        actor,
        case,
        "report",
        on=reported_on,
        detail={"channel": channel, "report_id": report.id},
        from_state=None,
        to_state="reported",
    )
    refresh_dues(session, case)
    return case, report
