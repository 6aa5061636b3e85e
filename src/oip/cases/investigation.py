"""Investigation by the contracted insurer (受托商业保险机构调查核实), issue 11 §3.

When a case is accepted it is offered to the insurer contracted for ``investigation`` in the case's
city on that day (``oip.insurers.service.contracted_insurer``): an ``InvestigationTask`` due
``case.investigation_working_days`` working days after the assignment, and the case moves to
``investigating``. Officers may assign a case by hand (when nobody was contracted on the acceptance
day, or again after a withdrawal) and withdraw a task. The insurer's staff see only their tasks and
the cases behind them, masked except what the task needs, and record findings, site visits,
evidence and a recommendation; submitting closes the task and ends the investigation
(``end_investigation``: the case is back with the officers). The decision stays with 人社: the
insurer role never holds ``case.decide``.

Every write lands on the case's timeline (``service.record_event`` / ``service.transition``) with its
audit event. A task has its own ``version``: a writer who sends the version it read gets a conflict
when somebody changed the task in between.

Evidence files are checked by content like every upload (``oip.core.uploads.check_document``) and
stored as ``CaseDocument`` rows (source ``insurer``, ``task_id``) with their SHA-256.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from oip.auth.models import Organisation
from oip.auth.scope import out_of_scope
from oip.auth.service import Principal
from oip.cases import intake, parameters as CP, rules, service
from oip.cases.models import Case, CaseDocument, InvestigationTask
from oip.cases.scope import case_condition, sees_full_name
from oip.core import clock, uploads, workdays
from oip.core.errors import Conflict, DomainError, IllegalTransition
from oip.core.ids import mask_name
from oip.core.pagination import Page
from oip.core.validation import clean_text as _text
from oip.insurers import service as insurers
from oip.insurers.models import InsurerContract
from oip.reference import calendar, parameters
from oip.reference.models import Region

SERVICE = "investigation"  # the insurer contract service this part uses

STATUS_NAMES = {"open": "调查中", "submitted": "已提交调查结论", "withdrawn": "已撤回"}
RECOMMENDATION_NAMES = {
    "confirm": "建议予以确认",
    "not_confirm": "建议不予确认",
    "unclear": "事实不清需补充调查",
}
BUCKETS = {"open": "调查中", "due_soon": "即将到期", "overdue": "已超期", "submitted": "已提交", "withdrawn": "已撤回"}

service.register_event_names(
    {
        "investigation_unassigned": "未能委托调查（无受托机构）",
        "investigation_findings": "受托机构记录调查情况",
        "investigation_visit": "受托机构登记现场调查",
        "investigation_evidence": "受托机构上传调查证据",
        "investigation_withdraw": "撤回调查任务",
        "investigation_submit": "受托机构提交调查结论",
    }
)

EVIDENCE_TYPES = {"application/pdf": "PDF", "image/jpeg": "JPEG", "image/png": "PNG"}


# ---- small helpers -------------------------------------------------------------------------------


def city_of(session: Session, county_code: str) -> str:
    """The city (设区市) a county lies in: the region's parent, else the code's first four digits."""
    r = session.get(Region, county_code)
    if r is not None and r.level == "city":
        return r.code
    if r is not None and r.parent_code:
        parent = session.get(Region, r.parent_code)
        if parent is not None and parent.level == "city":
            return parent.code
    return county_code[:4] + "00"


def due_on(session: Session, assigned_on: dt.date) -> dt.date:
    """The last day of the investigation: ``case.investigation_working_days`` working days after the
    assignment (the day of assignment not counted), the value in force on that day."""
    calendar.refresh(session)
    return workdays.add_working_days(assigned_on, parameters.get(session, CP.INVESTIGATION_WORKING_DAYS, assigned_on))


def _check_task_version(task: InvestigationTask, version: int | None) -> None:
    if version is not None and version != task.version:
        raise Conflict(
            f"调查任务已被他人更新（您看到的是第 {version} 版，现为第 {task.version} 版），请刷新后重试",
            field="version",
        )


def _bump(task: InvestigationTask) -> None:
    task.version += 1


# ---- reads ---------------------------------------------------------------------------------------


def task_condition(p: Principal):
    """Tasks a principal sees: an insurer its organisation's (withdrawn ones no more); officers the
    tasks of the cases in their scope."""
    if p.role.scope == "insurer":
        return and_(InvestigationTask.organisation_id == p.organisation_id, InvestigationTask.status != "withdrawn")
    return InvestigationTask.case_id.in_(select(Case.id).where(case_condition(p)))


def get_task(session: Session, actor: Principal, task_id: int, *, for_update: bool = False) -> InvestigationTask:
    q = select(InvestigationTask).where(InvestigationTask.id == task_id, task_condition(actor))
    if for_update:
        q = q.with_for_update(of=InvestigationTask)
    task = session.scalar(q)
    if task is None:
        raise out_of_scope("调查任务")
    return task


def tasks_of_case(session: Session, actor: Principal, case: Case) -> list[InvestigationTask]:
    return list(
        session.scalars(
            select(InvestigationTask)
            .where(InvestigationTask.case_id == case.id, task_condition(actor))
            .order_by(InvestigationTask.id)
        )
    )


def open_task(session: Session, case: Case) -> InvestigationTask | None:
    return session.scalar(
        select(InvestigationTask).where(InvestigationTask.case_id == case.id, InvestigationTask.status == "open")
    )


def _bucket_condition(session: Session, bucket: str | None, today: dt.date):
    if bucket in (None, ""):
        return ()
    if bucket == "open":
        return (InvestigationTask.status == "open",)
    if bucket == "overdue":
        return (InvestigationTask.status == "open", InvestigationTask.due_on < today)
    if bucket == "due_soon":
        calendar.refresh(session)
        soon = workdays.add_working_days(today, parameters.get(session, CP.DUE_SOON_WORKING_DAYS, today))
        return (InvestigationTask.status == "open", InvestigationTask.due_on >= today, InvestigationTask.due_on <= soon)
    if bucket in ("submitted", "withdrawn"):
        return (InvestigationTask.status == bucket,)
    raise DomainError(f"未知的分类 {bucket}，应为：{'、'.join(BUCKETS)}", field="bucket")


def list_tasks(
    session: Session, actor: Principal, *, bucket: str | None = None, page: int = 1, size: int = 50
) -> Page[InvestigationTask]:
    """The caller's tasks (an insurer: its organisation's; officers: those of the cases in their
    scope), open ones by due date first."""
    today = clock.today()
    cond = [task_condition(actor), *_bucket_condition(session, bucket, today)]
    total = session.scalar(select(func.count()).select_from(InvestigationTask).where(*cond)) or 0
    rows = list(
        session.scalars(
            select(InvestigationTask)
            .where(*cond)
            .order_by((InvestigationTask.status != "open"), InvestigationTask.due_on, InvestigationTask.id)
            .offset((page - 1) * size)
            .limit(size)
        )
    )
    return Page(items=rows, total=total, page=page, size=size)


def bucket_counts(session: Session, actor: Principal) -> dict[str, int]:
    today = clock.today()
    return {
        b: session.scalar(
            select(func.count())
            .select_from(InvestigationTask)
            .where(task_condition(actor), *_bucket_condition(session, b, today))
        )
        or 0
        for b in BUCKETS
        if not (b == "withdrawn" and actor.role.scope == "insurer")
    }


def evidence_of(session: Session, task: InvestigationTask) -> list[CaseDocument]:
    return list(
        session.scalars(
            select(CaseDocument)
            .where(CaseDocument.case_id == task.case_id, CaseDocument.task_id == task.id)
            .order_by(CaseDocument.id)
        )
    )


def get_evidence(session: Session, actor: Principal, task_id: int, document_id: int) -> CaseDocument:
    task = get_task(session, actor, task_id)
    doc = session.scalar(
        select(CaseDocument).where(
            CaseDocument.id == document_id, CaseDocument.task_id == task.id, CaseDocument.case_id == task.case_id
        )
    )
    if doc is None:
        raise out_of_scope("调查证据")
    return doc


# ---- what a task shows (masked for insurers) ---------------------------------------------------


def case_facts(session: Session, p: Principal, case: Case) -> dict[str, Any]:
    """What the task needs of the case: place, time, kind, description, injuries in full; the person
    masked (name 张*三, ID number, mobile) for an insurer."""
    from oip.platforms.models import Platform
    from oip.workers.models import Person, PlatformAccount

    person = session.get(Person, case.person_id)
    account = session.get(PlatformAccount, case.platform_account_id)
    platform = session.get(Platform, case.platform_id)
    name = person.name if person is not None else ""
    place = service.place_name(session, case.county_code)
    return {
        "case_id": case.id,
        "number": case.number,
        "state": case.state,
        "state_name": rules.STATE_NAMES[case.state],
        "kind": case.kind,
        "kind_name": service.KIND_NAMES.get(case.kind, case.kind),
        "occurred_at": clock.local(case.occurred_at).isoformat(),
        "county_code": case.county_code,
        "place": place,
        "address": case.address,
        "address_full": service.full_address(place, case.address),
        "lat": str(case.lat) if case.lat is not None else None,
        "lon": str(case.lon) if case.lon is not None else None,
        "description": case.description,
        "injuries": case.injuries,
        "order_id": case.order_id,
        "platform_name": platform.display_name(clock.today()) if platform is not None else None,
        "worker_name": name if sees_full_name(p) else mask_name(name),
        "id_masked": person.id_masked if person is not None else None,
        "phone_masked": account.phone_masked if account is not None else None,
        "accepted_on": case.accepted_on.isoformat() if case.accepted_on else None,
    }


def task_out(
    session: Session, p: Principal, task: InvestigationTask, *, case: Case | None = None, today: dt.date | None = None
) -> dict[str, Any]:
    today = today or clock.today()
    case = case or session.get(Case, task.case_id)
    org = session.get(Organisation, task.organisation_id)
    contract = session.get(InsurerContract, task.contract_id) if task.contract_id else None
    return {
        "id": task.id,
        "case": case_facts(session, p, case),
        "insurer": {"code": org.code, "name": org.name} if org is not None else None,
        "contract": {"id": contract.id, "document_no": contract.document_no} if contract is not None else None,
        "status": task.status,
        "status_name": STATUS_NAMES.get(task.status, task.status),
        "assigned_on": task.assigned_on.isoformat(),
        "due_on": task.due_on.isoformat(),
        "overdue": task.status == "open" and task.due_on < today,
        "findings": task.findings,
        "visits": list(task.visits or []),
        "recommendation": task.recommendation,
        "recommendation_name": RECOMMENDATION_NAMES.get(task.recommendation or ""),
        "recommendation_reason": task.recommendation_reason,
        "submitted_at": clock.local(task.submitted_at).isoformat() if task.submitted_at else None,
        "withdrawn_on": task.withdrawn_on.isoformat() if task.withdrawn_on else None,
        "withdrawn_reason": task.withdrawn_reason,
        "evidence": [
            {
                "id": d.id,
                "filename": d.filename,
                "content_type": d.content_type,
                "size": d.size,
                "sha256": d.sha256,
                "uploaded_at": clock.local(d.uploaded_at).isoformat(),
            }
            for d in evidence_of(session, task)
        ],
        "version": task.version,
    }


# ---- offering a case (at acceptance, or by hand) -------------------------------------------------


@dataclass(frozen=True)
class Offer:
    """Who is contracted to investigate a case on a day, and why not when nobody is."""

    contract: InsurerContract | None
    city: str
    day: dt.date
    reason: str = ""


def who_investigates(session: Session, case: Case, day: dt.date) -> Offer:
    city = city_of(session, case.county_code)
    contract = insurers.contracted_insurer(session, city, SERVICE, day)
    if contract is None:
        name = session.get(Region, city)
        return Offer(
            None, city, day, f"{name.name if name else city}在 {day} 没有受托调查核实的保险机构（受托保险机构协议）"
        )
    return Offer(contract, city, day)


def _create_task(
    session: Session, actor: Any, case: Case, contract: InsurerContract, day: dt.date, note: str
) -> InvestigationTask:
    due = due_on(session, day)
    task = InvestigationTask(
        case_id=case.id,
        organisation_id=contract.organisation_id,
        contract_id=contract.id,
        assigned_on=day,
        due_on=due,
        status="open",
        findings="",
        visits=[],
        assigned_by=getattr(actor, "user_id", None),
        version=1,
    )
    session.add(task)
    session.flush()
    service.transition(
        session,
        actor,
        case,
        "offer_investigation",
        on=day,
        note=note or f"委托{contract.organisation.name}调查核实，{task.due_on} 前完成",
        detail={
            "task_id": task.id,
            "insurer": contract.organisation.code,
            "insurer_name": contract.organisation.name,
            "contract": contract.document_no,
            "due_on": task.due_on,
        },
    )
    return task


def offer_investigation(
    session: Session, actor: Any, case: Case, *, on: dt.date | None = None
) -> InvestigationTask | None:
    """Offer an accepted case to the insurer contracted for investigation in its city on the
    acceptance day (the acceptance code calls this right after ``accept``, on the case it holds FOR
    UPDATE). The task is assigned ``on`` (default today: a paper acceptance registered late reaches
    the insurer today, and its working days count from today). No contract in force, or a due date
    that cannot be computed yet (a year whose holiday arrangement is not loaded): the case stays
    ``accepted`` with a timeline note saying why, and officers may assign it by hand later. Returns
    the task, or None."""
    if case.state != "accepted":
        return open_task(session, case) if case.state == "investigating" else None
    day = on or clock.today()
    offer = who_investigates(session, case, case.accepted_on or day)
    if offer.contract is None:
        service.record_event(session, actor, case, "investigation_unassigned", on=day, note=offer.reason)
        return None
    try:
        return _create_task(session, actor, case, offer.contract, day, "")
    except DomainError as e:  # the due date is computed before anything is written
        if not service.calendar_gap(e):
            raise
        service.record_event(session, actor, case, "investigation_unassigned", on=day, note=e.reason)
        return None


def assign(
    session: Session,
    actor: Principal,
    case_id: int,
    *,
    insurer_code: str | None = None,
    note: Any = "",
    version: int | None = None,
) -> InvestigationTask:
    """An officer offers a case to the insurer contracted for investigation in its city today (a case
    accepted when nobody was contracted, or again after a withdrawal). Naming ``insurer_code`` is a
    check: it must be the contracted one."""
    case = service.get_case(session, actor, case_id, for_update=True)
    service.check_version(case, version)
    note = _text(note, "note", "说明", 2000)
    if case.state != "accepted":
        if case.state == "investigating":
            raise IllegalTransition("该案件已有进行中的调查任务；如需改派，请先撤回该任务", field="task")
        rules.next_state(case.state, "offer_investigation", case.state_before)  # raises with the reason
    today = clock.today()
    offer = who_investigates(session, case, today)
    if offer.contract is None:
        raise Conflict(offer.reason + "，无法委托调查", field="insurer_code")
    if insurer_code and insurer_code != offer.contract.organisation.code:
        raise DomainError(
            f"该案件所在城市今日的受托调查机构为{offer.contract.organisation.name}"
            f"（协议 {offer.contract.document_no}），不能委托给其他机构",
            field="insurer_code",
        )
    return _create_task(session, actor, case, offer.contract, today, note)


def withdraw(
    session: Session, actor: Principal, task_id: int, *, reason: Any, version: int | None = None
) -> InvestigationTask:
    """An officer withdraws an open task (e.g. the insurer cannot investigate, a conflict of
    interest): the insurer no longer sees it nor the case, and the case is back with the officers."""
    reason = _text(reason, "reason", "撤回理由", 2000, required=True)
    task = get_task(session, actor, task_id, for_update=True)
    _check_task_version(task, version)
    case = service.get_case(session, actor, task.case_id, for_update=True)
    if task.status != "open":
        raise IllegalTransition(f"调查任务{STATUS_NAMES[task.status]}，不能撤回", field="status")
    today = clock.today()
    task.status, task.withdrawn_on, task.withdrawn_reason = "withdrawn", today, reason
    _bump(task)
    session.flush()
    detail = {"task_id": task.id, "reason": reason}
    if case.state == "investigating":
        service.transition(
            session, actor, case, "end_investigation", on=today, note=f"撤回调查任务：{reason}", detail=detail
        )
    else:
        service.record_event(session, actor, case, "investigation_withdraw", on=today, note=reason, detail=detail)
    return task


# ---- the insurer's work ----------------------------------------------------------------------------


def _open_for_insurer(session: Session, actor: Principal, task_id: int, version: int | None):
    task = get_task(session, actor, task_id, for_update=True)
    _check_task_version(task, version)
    if task.status != "open":
        raise IllegalTransition(f"调查任务{STATUS_NAMES[task.status]}，不能再修改", field="status")
    case = session.get(Case, task.case_id)
    return task, case


def record_findings(
    session: Session, actor: Principal, task_id: int, *, findings: Any, version: int | None = None
) -> InvestigationTask:
    """The investigation's findings so far (the text replaces the previous one; the timeline and the
    audit trail keep every version)."""
    findings = _text(findings, "findings", "调查情况", 20000, required=True)
    task, case = _open_for_insurer(session, actor, task_id, version)
    task.findings = findings
    _bump(task)
    session.flush()
    service.record_event(
        session, actor, case, "investigation_findings", detail={"task_id": task.id, "findings": findings}
    )
    return task


def add_visit(
    session: Session,
    actor: Principal,
    task_id: int,
    *,
    visited_on: Any,
    place: Any,
    people: Any,
    notes: Any = "",
    version: int | None = None,
) -> InvestigationTask:
    """A site visit (现场调查): the day, the place, who was seen (witnesses, the station, the hospital)
    and what was found."""
    if not isinstance(visited_on, dt.date):
        raise DomainError("请填写走访日期", field="visited_on")
    if visited_on > clock.today():
        raise DomainError("走访日期不能晚于今天", field="visited_on")
    place = _text(place, "place", "走访地点", 500, required=True)
    people = _text(people, "people", "走访对象", 500, required=True)
    notes = _text(notes, "notes", "走访情况", 8000)
    task, case = _open_for_insurer(session, actor, task_id, version)
    if visited_on < task.assigned_on:
        raise DomainError(f"走访日期不能早于委托日期 {task.assigned_on}", field="visited_on")
    visit = {
        "visited_on": visited_on.isoformat(),
        "place": place,
        "people": people,
        "notes": notes,
        "recorded_by": getattr(actor, "display_name", ""),
        "recorded_at": clock.local(clock.now()).isoformat(),
    }
    task.visits = [*(task.visits or []), visit]
    _bump(task)
    session.flush()
    service.record_event(
        session,
        actor,
        case,
        "investigation_visit",
        on=visited_on,
        note=f"{visited_on} 走访 {place}（{people}）",
        detail={"task_id": task.id, **visit},
    )
    return task


def check_evidence(filename: Any, content: bytes) -> tuple[str, str]:
    """(clean file name, content type) of an evidence file: PDF, JPEG or PNG by content, not by
    name (oip.core.uploads, the check every upload goes through)."""
    checked = uploads.check_document(filename, content)
    return checked.filename, checked.content_type


def add_evidence(
    session: Session,
    actor: Principal,
    task_id: int,
    *,
    filename: Any,
    content: bytes,
    note: Any = "",
    version: int | None = None,
) -> CaseDocument:
    """An evidence file of the investigation (photos of the scene, statements, the hospital's
    records): stored with its SHA-256, never overwritten."""
    name, kind = check_evidence(filename, content)
    note = _text(note, "note", "说明", 500)
    task, case = _open_for_insurer(session, actor, task_id, version)
    doc = CaseDocument(
        case_id=case.id,
        requirement=None,
        filename=name,
        content_type=kind,
        size=len(content),
        sha256=hashlib.sha256(content).hexdigest(),
        content=content,
        source="insurer",
        task_id=task.id,
        uploaded_by=getattr(actor, "user_id", None),
        uploaded_at=clock.now(),
    )
    session.add(doc)
    _bump(task)
    session.flush()
    service.record_event(
        session,
        actor,
        case,
        "investigation_evidence",
        note=f"{name}{'：' + note if note else ''}",
        detail={"task_id": task.id, "document_id": doc.id, "filename": name, "size": doc.size, "sha256": doc.sha256},
    )
    return doc


def submit(
    session: Session,
    actor: Principal,
    task_id: int,
    *,
    recommendation: Any,
    reason: Any,
    version: int | None = None,
) -> InvestigationTask:
    """The insurer's conclusion: a recommendation (``confirm`` / ``not_confirm`` / ``unclear``) with
    its reasons. The task closes; the case leaves ``investigating`` and is back with the officers,
    who decide."""
    if recommendation not in RECOMMENDATION_NAMES:
        choices = "、".join(f"{k}（{v}）" for k, v in RECOMMENDATION_NAMES.items())
        raise DomainError(f"请选择调查建议：{choices}", field="recommendation")
    reason = _text(reason, "reason", "建议理由", 8000, required=True)
    task, case = _open_for_insurer(session, actor, task_id, version)
    if not (task.findings or "").strip():
        raise DomainError("请先记录调查情况，再提交调查结论", field="findings")
    case = service.get_case(session, actor, case.id, for_update=True)
    task.status, task.recommendation, task.recommendation_reason = "submitted", recommendation, reason
    task.submitted_at, task.submitted_by = clock.now(), getattr(actor, "user_id", None)
    _bump(task)
    session.flush()
    detail = {
        "task_id": task.id,
        "recommendation": recommendation,
        "recommendation_name": RECOMMENDATION_NAMES[recommendation],
        "reason": reason,
        "visits": len(task.visits or []),
        "evidence": len(evidence_of(session, task)),
    }
    note = f"{RECOMMENDATION_NAMES[recommendation]}：{reason}"
    if case.state == "investigating":
        service.transition(session, actor, case, "end_investigation", note=note, detail=detail)
    else:  # the officers moved on meanwhile (a decision, a suspension): the conclusion is still recorded
        service.record_event(session, actor, case, "investigation_submit", note=note, detail=detail)
    return task


# ---- the order trail (evidence) -------------------------------------------------------------------


def order_trail(session: Session, actor: Principal, case: Case):
    """The orders of the case's person on the day of the injury and where ``occurred_at`` falls on
    them (oip.orders.coverage.order_trail), read for this case (audited)."""
    from oip.orders import coverage

    return coverage.order_trail(
        session, person_id=case.person_id, at=case.occurred_at, actor=actor, purpose=f"案件 {case.number} 调查核实"
    )


def _point(lng: float | None, lat: float | None) -> list[float] | None:
    return [lng, lat] if lng is not None and lat is not None else None


def trail_out(trail) -> dict[str, Any]:
    """The trail as JSON: each order with its platform and platform account, its times (Beijing),
    coordinates and distance; where the injury falls. (The platform account id is what the insurer
    asks the platform about; the person's name, ID number and mobile stay masked.)"""
    hits = {o.order_id for o in trail.placement.during}
    return {
        "day": trail.day.isoformat(),
        "occurred_at": clock.local(trail.at).isoformat(),
        "placement": {
            "kind": trail.placement.kind,
            "name": trail.placement.name,
            "text": trail.placement.text,
            "during": [o.order_id for o in trail.placement.during],
            "before": trail.placement.before.order_id if trail.placement.before else None,
            "after": trail.placement.after.order_id if trail.placement.after else None,
        },
        "orders": [
            {
                "order_id": t.order.order_id,
                "platform_code": t.order.platform_code,
                "platform_name": t.platform_name,
                "account_id": t.order.account_id,
                "accepted_at": clock.local(t.order.accepted_at).isoformat(),
                "picked_up_at": clock.local(t.order.picked_up_at).isoformat() if t.order.picked_up_at else None,
                "finished_at": clock.local(t.order.finished_at).isoformat(),
                "status": t.order.status,
                "start": _point(t.order.start_lng, t.order.start_lat),
                "end": _point(t.order.end_lng, t.order.end_lat),
                "distance_m": t.order.distance_m,
                "county_code": t.order.county_code,
                "covered": t.covered,
                "at_injury": t.order.order_id in hits,
            }
            for t in trail.orders
        ],
    }


# An accepted case is offered to the contracted insurer at once (issue 11 §3).
intake.ON_ACCEPT.append(lambda session, actor, case: offer_investigation(session, actor, case))
