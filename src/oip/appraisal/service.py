"""Labour-capacity appraisal on the case (劳动能力鉴定): the only write path for appraisals.

Each step loads the case in the actor's scope FOR UPDATE, checks the case version the writer read,
decides with the pure rules (oip.appraisal.rules, oip.appraisal.draw), writes, puts the step on the
case's timeline and audits it — the state changes (apply, conclude, close) through the case's state
machine (``oip.cases.service.transition``), the others as timeline events. The committee's steps
(acceptance, draw, extension, conclusion) are taken by an officer who keeps that committee's pool
(``appraisal.manage``: the city's committee, or the region's for a re-appraisal).

The case's deadlines: the appraisal registers how to compute the two its states wait on
(``appraisal_conclusion``, ``reappraisal_window``)."""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from oip.appraisal import draw as drawing, experts, parameters as AP, rules, specialties
from oip.appraisal.models import Appraisal, AppraisalDraw, Expert
from oip.appraisal.scope import manages_committee
from oip.auth.scope import out_of_scope
from oip.auth.service import Principal
from oip.cases import letters, parameters as CP, rules as case_rules, service as cases
from oip.cases.models import Case
from oip.cases.scope import case_condition
from oip.core import audit, clock, workdays
from oip.core.errors import Conflict, DomainError, Forbidden, IllegalTransition
from oip.core.validation import clean_text
from oip.reference import calendar, parameters
from oip.workers.models import Person

# >>> ON_APPLY: what happens after an appraisal is applied for, in the same transaction. <<<
# Each hook is called as ``hook(session, actor, case, appraisal)``; a higher layer fills it
# (oip.benefits.claims: an appraisal applied for ends the fast lane of the case's claims).
ON_APPLY: list[Callable[[Session, Any, Case, Appraisal], None]] = []

audit.register_actions(
    {
        "appraisal.apply": "申请劳动能力鉴定",
        "appraisal.accept": "受理劳动能力鉴定申请",
        "appraisal.draw": "抽取鉴定专家组",
        "appraisal.extend": "延长鉴定结论期限",
        "appraisal.conclude": "作出劳动能力鉴定结论",
        "appraisal.check_draw": "复核专家组抽取",
    }
)
cases.register_event_names(
    {
        "appraisal_accept": "受理劳动能力鉴定申请",
        "appraisal_panel": "抽取鉴定专家组",
        "appraisal_extend": "延长鉴定结论期限",
    }
)


def _appraisal_names(session: Session, ids: list[str]) -> dict[str, str]:
    nums = [int(i) for i in ids if i.isdigit()]
    rows = session.execute(select(Appraisal.id, Appraisal.number, Appraisal.kind).where(Appraisal.id.in_(nums)))
    return {str(i): f"{n}（{rules.KIND_NAMES.get(k, k)}）" for i, n, k in rows}


audit.register_entity_names("appraisal", "劳动能力鉴定", _appraisal_names)


# ---- reading -------------------------------------------------------------------------------------


def _scoped(actor: Principal):
    return select(Appraisal).join(Case, Case.id == Appraisal.case_id).where(case_condition(actor))


def get_appraisal(session: Session, actor: Principal, appraisal_id: int) -> Appraisal:
    """An appraisal whose case is in the actor's scope; otherwise the same 404 as a missing one."""
    a = session.scalar(_scoped(actor).where(Appraisal.id == appraisal_id))
    if a is None:
        raise out_of_scope("劳动能力鉴定")
    return a


def appraisals_of(session: Session, case: Case) -> list[Appraisal]:
    return list(session.scalars(select(Appraisal).where(Appraisal.case_id == case.id).order_by(Appraisal.id)))


def _open(session: Session, case: Case) -> Appraisal | None:
    return session.scalar(
        select(Appraisal)
        .where(Appraisal.case_id == case.id, Appraisal.status != "concluded")
        .order_by(Appraisal.id.desc())
        .limit(1)
    )


def _last_concluded(session: Session, case: Case) -> Appraisal | None:
    return session.scalar(
        select(Appraisal)
        .where(Appraisal.case_id == case.id, Appraisal.status == "concluded")
        .order_by(Appraisal.concluded_on.desc(), Appraisal.id.desc())
        .limit(1)
    )


def _deadline(fn, start: dt.date, days: int) -> dt.date:
    """A calendar-day deadline on the installed calendar (the services refresh it first). In a year
    whose holiday arrangement nobody has loaded, the plain date, not moved off a rest day: never
    later than the real one."""
    try:
        return fn(start, days)
    except DomainError as e:
        if not cases.calendar_gap(e):
            raise
        return start + dt.timedelta(days=days)


def reappraisal_due(session: Session, a: Appraisal) -> dt.date | None:
    """The last day to ask for a re-appraisal of a conclusion (None: the conclusion is final)."""
    if a.final or a.conclusion_received_on is None:
        return None
    days = parameters.get(session, AP.REAPPRAISAL_WINDOW_DAYS, a.conclusion_received_on)
    return _deadline(rules.reappraisal_due, a.conclusion_received_on, days)


def review_opens(session: Session, a: Appraisal) -> dt.date | None:
    if a.concluded_on is None:
        return None
    return rules.review_opens(a.concluded_on, parameters.get(session, AP.REVIEW_AFTER_DAYS, a.concluded_on))


def panel_experts(session: Session, a: Appraisal) -> list[Expert]:
    d = a.draw
    if d is None:
        return []
    rows = {e.id: e for e in session.scalars(select(Expert).where(Expert.id.in_(d.panel)))}
    return [rows[i] for i in d.panel if i in rows]


# ---- the case's deadlines ------------------------------------------------------------------------


def _conclusion_due(session: Session, case: Case) -> dt.date | None:
    """What a case in appraisal waits on: the conclusion's last day, counted from the committee's
    acceptance (条例 art. 25). Before acceptance there is no such day yet: the case waits on the
    committee (its worklist's 待受理 section), and the guide says so."""
    a = _open(session, case)
    if a is None:
        return None
    return a.due_on


def _reappraisal_window(session: Session, case: Case) -> dt.date | None:
    a = _last_concluded(session, case)
    return reappraisal_due(session, a) if a is not None else None


cases.register_due("appraisal_conclusion", _conclusion_due)
cases.register_due("reappraisal_window", _reappraisal_window)


# ---- helpers -------------------------------------------------------------------------------------


def _day(value: Any, field: str, label: str, default: dt.date | None = None, *, future: bool = False) -> dt.date:
    """A date from JSON or a form (ISO text); not later than today unless ``future``."""
    if value in (None, ""):
        if default is None:
            raise DomainError(f"请填写{label}", field=field)
        return default
    if isinstance(value, str):
        try:
            value = dt.date.fromisoformat(value)
        except ValueError:
            raise DomainError(f"{label}应为日期（YYYY-MM-DD）", field=field) from None
    if not isinstance(value, dt.date):
        raise DomainError(f"{label}应为日期（YYYY-MM-DD）", field=field)
    if not future and value > clock.today():
        raise DomainError(f"{label}不能晚于今天", field=field)
    return value


def _committee_officer(actor: Principal, a: Appraisal, session: Session) -> None:
    """The committee's own steps: only an officer who keeps that committee's pool."""
    if not manages_committee(actor, a.committee_code):
        name = experts.committee_name(session, a.committee_code)
        raise Forbidden(f"此鉴定由{name}办理，您无权办理", field="committee_code")


def _load(session: Session, actor: Principal, appraisal_id: int) -> tuple[Appraisal, Case]:
    """The appraisal and its case (locked), for a committee step."""
    a = get_appraisal(session, actor, appraisal_id)
    case = cases.get_case(session, actor, a.case_id, for_update=True)
    session.refresh(a, with_for_update=True)
    _committee_officer(actor, a, session)
    return a, case


def _not_concluded(a: Appraisal) -> None:
    if a.status == "concluded":
        raise Conflict("该鉴定已作出结论", field="status")


def _accepted(a: Appraisal) -> None:
    _not_concluded(a)
    if a.status != "accepted" or a.accepted_on is None:
        raise Conflict("鉴定申请尚未受理", field="status")


def _needed(value: Any) -> list[str]:
    if isinstance(value, str):
        value = [v for v in value.replace("，", ",").split(",") if v.strip()]
    if not isinstance(value, list | tuple) or not value:
        raise DomainError("请选择鉴定所需的专业（至少一个）", field="needed_specialties")
    return list(drawing.normalise_specialties(str(v).strip() for v in value))


def _size(value: Any) -> int:
    if value in (None, ""):
        return 3
    try:
        size = int(value)
    except (TypeError, ValueError):
        size = 0
    if size not in drawing.PANEL_SIZES or isinstance(value, bool):
        raise DomainError("专家组人数应为 3 人或 5 人", field="panel_size")
    return size


def snapshot(a: Appraisal) -> dict[str, Any]:
    return {
        "number": a.number,
        "kind": a.kind,
        "committee_code": a.committee_code,
        "status": a.status,
        "applicant": a.applicant,
        "applied_on": a.applied_on,
        "treatment_ended_on": a.treatment_ended_on,
        "accepted_on": a.accepted_on,
        "needed_specialties": a.needed_specialties,
        "panel_size": a.panel_size,
        "due_on": a.due_on,
        "grade": a.grade,
        "dependency": a.dependency,
        "concluded_on": a.concluded_on,
        "conclusion_received_on": a.conclusion_received_on,
    }


# ---- applying ------------------------------------------------------------------------------------


def _applicant(actor: Principal, value: Any, kind: str) -> str:
    """A worker applies as themself, a platform as the platform; staff register who applied."""
    if actor.role.scope == "self":
        return "worker"
    if actor.role.scope == "platform":
        return "platform"
    v = str(value or "").strip() or "worker"
    if v not in rules.APPLICANT_NAMES:
        choices = "、".join(f"{k}（{n}）" for k, n in rules.APPLICANT_NAMES.items())
        raise DomainError(f"申请人应为：{choices}", field="applicant")
    if v == "agency" and kind != "review":
        raise DomainError("社会保险经办机构只能申请复查鉴定", field="applicant")
    return v


def apply(
    session: Session,
    actor: Principal,
    case_id: int,
    *,
    kind: Any = "initial",
    applicant: Any = None,
    applied_on: Any = None,
    treatment_ended_on: Any = None,
    statement: Any = "",
    version: int | None = None,
) -> Appraisal:
    """An application for an appraisal of the case: the initial one after the confirmation, a
    re-appraisal within the window after a conclusion, a review a year after one."""
    case = cases.get_case(session, actor, case_id, for_update=True)
    cases.check_version(case, version)
    kind = str(kind or "initial")
    if kind not in rules.KIND_NAMES:
        raise DomainError(
            f"鉴定类别应为：{'、'.join(f'{k}（{n}）' for k, n in rules.KIND_NAMES.items())}", field="kind"
        )
    action = rules.CASE_ACTION[kind]
    if (case.state, action) not in case_rules.TRANSITIONS:
        raise IllegalTransition(
            f"案件当前状态为“{case_rules.STATE_NAMES[case.state]}”，不能申请{rules.KIND_NAMES[kind]}", field="kind"
        )
    today = clock.today()
    applied = _day(applied_on, "applied_on", "申请日期", today)
    injured_on = clock.local(case.occurred_at).date()
    previous = _last_concluded(session, case)
    calendar.refresh(session)
    if kind == "initial":
        if previous is not None:
            raise Conflict("该案件已作出过鉴定结论：请申请再次鉴定或复查鉴定", field="kind")
    else:
        if previous is None:
            raise DomainError(f"该案件尚无鉴定结论，不能申请{rules.KIND_NAMES[kind]}", field="kind")
        if kind == "reappraisal":
            if previous.final:
                raise Conflict("自治区劳动能力鉴定委员会作出的再次鉴定结论为最终结论，不能再申请再次鉴定", field="kind")
            days = parameters.get(session, AP.REAPPRAISAL_WINDOW_DAYS, previous.conclusion_received_on)
            rules.check_reappraisal(applied, reappraisal_due(session, previous), days)
        else:
            days = parameters.get(session, AP.REVIEW_AFTER_DAYS, previous.concluded_on)
            rules.check_review(applied, review_opens(session, previous), days)
    if kind == "reappraisal" and treatment_ended_on in (None, ""):
        ended = previous.treatment_ended_on
    else:
        ended = rules.check_treatment_ended(
            _day(treatment_ended_on, "treatment_ended_on", "治疗终结日期", future=True) if treatment_ended_on else None,
            injured_on,
            today,
        )
    if applied < ended:
        raise DomainError(f"申请日期不能早于治疗终结日期 {ended}", field="applied_on")
    who = _applicant(actor, applicant, kind)
    committee = rules.committee_for(kind, case.county_code)
    a = Appraisal(
        case_id=case.id,
        number="",
        kind=kind,
        previous_id=previous.id if previous is not None and kind != "initial" else None,
        committee_code=committee,
        status="applied",
        applicant=who,
        applied_on=applied,
        treatment_ended_on=ended,
        statement=clean_text(statement, "statement", "申请事项说明", 4000),
        registered_by=actor.user_id,
        needed_specialties=[],
    )
    session.add(a)
    session.flush()
    a.number = f"JD{applied.year}{committee}{a.id:06d}"
    audit.record(
        session,
        actor,
        "appraisal.apply",
        entity_type="appraisal",
        entity_id=a.id,
        after={"case_id": case.id, **snapshot(a)},
        subjects=[case.person_id],
    )
    cases.transition(
        session,
        actor,
        case,
        action,
        on=applied,
        note=f"{rules.KIND_NAMES[kind]}：{experts.committee_name(session, committee)}，申请人{rules.APPLICANT_NAMES[who]}",
        detail={"appraisal_id": a.id, "number": a.number, "kind": kind, "committee_code": committee},
    )
    for hook in ON_APPLY:  # the fast lane of the case's claims ends (oip.benefits.claims)
        hook(session, actor, case, a)
    return a


# ---- the committee's steps -----------------------------------------------------------------------


def accept(
    session: Session,
    actor: Principal,
    appraisal_id: int,
    *,
    accepted_on: Any = None,
    needed_specialties: Any,
    panel_size: Any = 3,
    version: int | None = None,
) -> Appraisal:
    """The committee accepts the application: the conclusion is due ``appraisal.conclusion_days``
    after the acceptance day (the value in force that day)."""
    a, case = _load(session, actor, appraisal_id)
    cases.check_version(case, version)
    _not_concluded(a)
    if a.status != "applied":
        raise Conflict("该鉴定申请已受理", field="status")
    day = _day(accepted_on, "accepted_on", "受理日期", clock.today())
    if day < a.applied_on:
        raise DomainError(f"受理日期不能早于申请日期 {a.applied_on}", field="accepted_on")
    needed = _needed(needed_specialties)
    size = _size(panel_size)
    if len(needed) > size:
        raise DomainError(f"所需专业有 {len(needed)} 个，多于专家组人数 {size} 人", field="needed_specialties")
    calendar.refresh(session)
    days = parameters.get(session, AP.CONCLUSION_DAYS, day)
    a.accepted_on, a.accepted_by, a.status = day, actor.user_id, "accepted"
    a.needed_specialties, a.panel_size = needed, size
    a.original_due_on = a.due_on = _deadline(rules.conclusion_due, day, days)
    cases.touch(case, version)
    names = "、".join(specialties.name(c) for c in needed)
    cases.record_event(
        session,
        actor,
        case,
        "appraisal_accept",
        on=day,
        note=f"{a.number}：所需专业 {names}，专家组 {size} 人，鉴定结论期限 {a.due_on}",
        detail={"appraisal_id": a.id, "due_on": a.due_on, "days": days},
        audit_action="appraisal.accept",
    )
    cases.refresh_dues(session, case)
    return a


def _exclusions(session: Session, a: Appraisal, case: Case, pool: list[drawing.Candidate]) -> dict[int, str]:
    """Who stands aside: experts tied to the case's person or platform, and for a re-appraisal the
    experts of the earlier panel (also when the same person sits in the regional pool: same name and
    organisation)."""
    ids = [c.id for c in pool]
    person = session.get(Person, case.person_id)
    out = experts.tied(session, ids, person=person, platform_ids=[case.platform_id])
    if a.kind == "reappraisal" and a.previous_id is not None:
        earlier = session.get(Appraisal, a.previous_id)
        members = panel_experts(session, earlier) if earlier is not None else []
        same = {(e.name, e.organisation) for e in members}
        earlier_ids = {e.id for e in members}
        for e in session.scalars(select(Expert).where(Expert.id.in_(ids))):
            if e.id in earlier_ids or (e.name, e.organisation) in same:
                out.setdefault(e.id, "earlier_panel")
    return out


def draw_panel(
    session: Session,
    actor: Principal,
    appraisal_id: int,
    *,
    needed_specialties: Any = None,
    panel_size: Any = None,
    reason: Any = "",
    unavailable_expert_ids: Any = (),
    version: int | None = None,
) -> AppraisalDraw:
    """Draw the panel at random from the committee's pool (oip.appraisal.draw); the seed, every
    candidate considered and every exclusion are stored. A second draw (an expert cannot serve)
    needs a reason and supersedes the first; experts named unavailable stand aside."""
    a, case = _load(session, actor, appraisal_id)
    cases.check_version(case, version)
    _accepted(a)
    reason = clean_text(reason, "reason", "重新抽取的理由", 2000)
    before = a.draw
    if before is not None and not reason:
        raise Conflict("已抽取专家组：重新抽取须说明理由（如专家因故不能参加）", field="reason")
    needed = _needed(needed_specialties) if needed_specialties not in (None, "", []) else list(a.needed_specialties)
    size = _size(panel_size) if panel_size not in (None, "") else a.panel_size or 3
    pool = experts.candidates(session, a.committee_code)
    excluded = _exclusions(session, a, case, pool)
    known = {c.id for c in pool}
    for x in unavailable_expert_ids or ():
        try:
            eid = int(x)
        except (TypeError, ValueError):
            raise DomainError("不能参加的专家编号应为整数", field="unavailable_expert_ids") from None
        if eid not in known:
            raise DomainError(f"专家 {eid} 不在本委员会专家库中", field="unavailable_expert_ids")
        excluded.setdefault(eid, "unavailable")
    seed = secrets.randbits(63)
    result = drawing.draw_panel(pool, needed_specialties=needed, size=size, excluded_ids=excluded, seed=seed)
    now = clock.now()
    if before is not None:
        before.superseded_at = now
    row = AppraisalDraw(
        appraisal_id=a.id,
        seed=seed,
        size=size,
        needed_specialties=list(result.needed_specialties),
        candidates=sorted([c.id, c.specialty] for c in pool),
        excluded=[list(x) for x in result.excluded],
        panel=list(result.panel),
        covers=[list(x) for x in result.covers],
        reason=reason,
        drawn_at=now,
        drawn_by=actor.user_id,
    )
    a.draws.append(row)
    a.needed_specialties, a.panel_size = list(result.needed_specialties), size
    session.flush()
    cases.touch(case, version)
    members = panel_experts(session, a)
    cases.record_event(
        session,
        actor,
        case,
        "appraisal_panel",
        note=f"{a.number}：从 {len(pool)} 名专家中随机抽取 {size} 名（回避或停用 {len(result.excluded)} 名）"
        + (f"；重新抽取：{reason}" if before is not None else ""),
        detail={
            "appraisal_id": a.id,
            "draw_id": row.id,
            "seed": seed,
            "panel": row.panel,
            "candidates": len(pool),
            "excluded": row.excluded,
            "redraw_of": before.id if before is not None else None,
        },
        audit_action="appraisal.draw",
    )
    audit.record(
        session,
        actor,
        "appraisal.draw",
        entity_type="appraisal",
        entity_id=a.id,
        after={
            "draw_id": row.id,
            "seed": seed,
            "size": size,
            "needed_specialties": row.needed_specialties,
            "candidates": row.candidates,
            "excluded": row.excluded,
            "panel": [{"expert_id": e.id, "name": e.name, "specialty": e.specialty_code} for e in members],
            "reason": reason or None,
        },
        subjects=[case.person_id],
    )
    return row


@dataclass(frozen=True)
class DrawCheck:
    draw: AppraisalDraw
    same: bool
    rerun_panel: tuple[int, ...]


def check_draw(session: Session, actor: Principal, appraisal_id: int) -> DrawCheck:
    """Re-run the stored draw from its seed and stored candidates and compare it with the panel on
    record (audited)."""
    a = get_appraisal(session, actor, appraisal_id)
    d = a.draw
    if d is None:
        raise Conflict("尚未抽取专家组", field="panel")
    stored = drawing.Draw(
        panel=tuple(d.panel),
        candidates_considered=tuple(c[0] for c in d.candidates),
        excluded=tuple((int(i), str(r)) for i, r in d.excluded),
        seed=d.seed,
        needed_specialties=tuple(d.needed_specialties),
        size=d.size,
    )
    again, same = drawing.rerun(stored, [drawing.Candidate(int(i), str(s)) for i, s in d.candidates])
    audit.record(
        session,
        actor,
        "appraisal.check_draw",
        entity_type="appraisal",
        entity_id=a.id,
        after={"draw_id": d.id, "same": same, "panel": d.panel, "rerun": list(again.panel)},
    )
    return DrawCheck(d, same, again.panel)


def extend(
    session: Session,
    actor: Principal,
    appraisal_id: int,
    *,
    reason: Any,
    extended_on: Any = None,
    version: int | None = None,
) -> Appraisal:
    """The one extension of the conclusion period (``appraisal.extension_days``), with its reason,
    decided before the period ends."""
    a, case = _load(session, actor, appraisal_id)
    cases.check_version(case, version)
    _accepted(a)
    if a.extended_on is not None:
        raise Conflict(f"鉴定结论期限已于 {a.extended_on} 延长过一次，不能再次延长", field="extension")
    reason = clean_text(reason, "reason", "延长理由", 2000, required=True)
    day = _day(extended_on, "extended_on", "延长决定日期", clock.today())
    if day < a.accepted_on:
        raise DomainError(f"延长决定日期不能早于受理日期 {a.accepted_on}", field="extended_on")
    if day > a.due_on:
        raise Conflict(f"鉴定结论期限已于 {a.due_on} 届满，不能再延长", field="extended_on")
    calendar.refresh(session)
    days = parameters.get(session, AP.EXTENSION_DAYS, a.accepted_on)
    before = a.due_on
    a.due_on = _deadline(rules.extended_due, a.original_due_on or a.due_on, days)
    a.extended_on, a.extension_reason, a.extended_by = day, reason, actor.user_id
    cases.touch(case, version)
    cases.record_event(
        session,
        actor,
        case,
        "appraisal_extend",
        on=day,
        note=f"{a.number}：鉴定结论期限由 {before} 延长至 {a.due_on}（{days} 日）。理由：{reason}",
        detail={"appraisal_id": a.id, "due_before": before, "due_on": a.due_on, "days": days},
        audit_action="appraisal.extend",
    )
    cases.refresh_dues(session, case)
    return a


def conclude(
    session: Session,
    actor: Principal,
    appraisal_id: int,
    *,
    grade: Any,
    dependency: Any,
    concluded_on: Any = None,
    received_on: Any = None,
    note: Any = "",
    version: int | None = None,
) -> Appraisal:
    """The conclusion: a disability grade 1–10 or none and the self-care dependency, by the drawn
    panel. The re-appraisal window runs from the day the conclusion was received (default: the day it
    was made). A re-appraisal's conclusion is final: the case is closed with it."""
    a, case = _load(session, actor, appraisal_id)
    _accepted(a)
    if a.draw is None:
        raise Conflict("尚未抽取专家组，不能作出鉴定结论", field="panel")
    g = rules.parse_grade(grade)
    dep = rules.parse_dependency(dependency)
    day = _day(concluded_on, "concluded_on", "结论作出日期", clock.today())
    if day < a.accepted_on:
        raise DomainError(f"结论作出日期不能早于受理日期 {a.accepted_on}", field="concluded_on")
    received = _day(received_on, "received_on", "结论送达日期", day)
    if received < day:
        raise DomainError("结论送达日期不能早于结论作出日期", field="received_on")
    note = clean_text(note, "note", "鉴定意见", 4000)
    a.grade, a.dependency, a.concluded_on, a.conclusion_received_on = g, dep, day, received
    a.conclusion_note, a.concluded_by, a.status = note, actor.user_id, "concluded"
    late = a.due_on is not None and day > a.due_on
    session.flush()
    audit.record(
        session,
        actor,
        "appraisal.conclude",
        entity_type="appraisal",
        entity_id=a.id,
        after={**snapshot(a), "late": late, "final": a.final},
        subjects=[case.person_id],
    )
    text = f"{rules.grade_name(g)}，{rules.DEPENDENCY_NAMES[dep]}"
    cases.transition(
        session,
        actor,
        case,
        "conclude_appraisal",
        on=day,
        note=f"{a.number}（{rules.KIND_NAMES[a.kind]}）：{text}" + ("（超过鉴定结论期限）" if late else ""),
        detail={"appraisal_id": a.id, "grade": g, "dependency": dep, "late": late, "final": a.final},
        version=version,
    )
    conclusion_letter(session, actor, case, a)
    if a.final:
        cases.transition(session, actor, case, "close", on=day, note="再次鉴定结论为最终结论")
    return a


def conclusion_letter(session: Session, actor: Any, case: Case, a: Appraisal) -> Any:
    """The 劳动能力鉴定结论书 (PDF, made once, stored with its hash, the worker told by text message)
    through the case letters part (``oip.cases.letters``: ``appraisal_content`` + ``issue_letter``)."""
    day = a.conclusion_received_on or a.concluded_on
    content = letters.appraisal_content(
        session,
        case,
        committee=experts.committee_name(session, a.committee_code),
        regional_committee=experts.committee_name(session, rules.REGIONAL_COMMITTEE),
        grade=a.grade,
        self_care=a.dependency,
        concluded_on=a.concluded_on,
        accepted_on=a.accepted_on,
        reappraisal_days=parameters.get(session, AP.REAPPRAISAL_WINDOW_DAYS, day),
        review_after=_span(parameters.get(session, AP.REVIEW_AFTER_DAYS, a.concluded_on)),
        final=a.final,
        reasoning=a.conclusion_note or "",
    )
    letter = letters.issue_letter(session, actor, case, "appraisal", source_id=a.id, content=content)
    a.letter_id = letter.id
    return letter


def _span(days: int) -> str:
    return "一年" if days == 365 else f"{days}日"


def close(session: Session, actor: Principal, appraisal_id: int, *, version: int | None = None) -> Case:
    """Close the case once the re-appraisal window of its conclusion has passed unused."""
    a, case = _load(session, actor, appraisal_id)
    last = _last_concluded(session, case)
    if case.state != "appraised" or last is None or last.id != a.id:
        raise IllegalTransition("只有已作出鉴定结论、等待申请再次鉴定的案件才能在此结案", field="action")
    due = reappraisal_due(session, a)
    if due is not None and clock.today() <= due:
        raise Conflict(f"申请再次鉴定的期限至 {due} 止，期满后方可结案", field="action")
    cases.transition(session, actor, case, "close", note=f"{a.number}：申请再次鉴定的期限已过", version=version)
    return case


# ---- the committee's worklist --------------------------------------------------------------------

WORKLIST = {
    "pending": "待受理",
    "due_soon": "即将到期",
    "overdue": "已超期",
    "open": "鉴定中",
    "concluded": "已作出结论",
}
PAGE_SIZE = 50


def worklist(
    session: Session, actor: Principal, *, bucket: str | None = None, page: int = 1, size: int = PAGE_SIZE
) -> tuple[list[tuple[Appraisal, Case]], int, int]:
    """Appraisals of the cases in the actor's scope, the most urgent first: (rows, total, page)."""
    from oip.core.pagination import page_count

    today = clock.today()
    cond = [case_condition(actor)]
    if bucket == "pending":
        cond.append(Appraisal.status == "applied")
    elif bucket == "due_soon":
        soon = parameters.get(session, CP.DUE_SOON_WORKING_DAYS, today)
        calendar.refresh(session)
        cond += [
            Appraisal.status == "accepted",
            Appraisal.due_on >= today,
            Appraisal.due_on <= workdays.add_working_days(today, soon),
        ]
    elif bucket == "overdue":
        cond += [Appraisal.status == "accepted", Appraisal.due_on < today]
    elif bucket == "open":
        cond.append(Appraisal.status != "concluded")
    elif bucket == "concluded":
        cond.append(Appraisal.status == "concluded")
    elif bucket:
        raise DomainError(f"未知的分类 {bucket}，应为：{'、'.join(WORKLIST)}", field="bucket")
    base = select(Appraisal, Case).join(Case, Case.id == Appraisal.case_id).where(*cond)
    total = session.scalar(select(func.count()).select_from(base.subquery())) or 0
    page = min(max(1, page), page_count(total, size))
    order = (
        (Appraisal.concluded_on.desc(), Appraisal.id.desc())
        if bucket == "concluded"
        else (Appraisal.due_on.asc().nulls_first(), Appraisal.applied_on, Appraisal.id)
    )
    rows = [(a, c) for a, c in session.execute(base.order_by(*order).offset((page - 1) * size).limit(size))]
    if rows:
        audit.record(
            session,
            actor,
            "case.list",
            entity_type="case",
            subjects=sorted({c.person_id for _, c in rows}),
            after={"worklist": "appraisal", "bucket": bucket, "page": page, "shown": len(rows)},
        )
    return rows, total, page
