"""Admission of a platform into the pilot (试点纳入), seed section 二(一): a written application to
the regional 人社厅 → guidance and assessment of conditions → report to the national departments
for consent → public notice (公示) → included from a date; or rejected with reasons at any step.

The state machine is data: ``TRANSITIONS[(state, action, decision)] = next state``. ``next_state``
is the only place that reads it; anything not in the table raises IllegalTransition (HTTP 409).
Conditions that depend on dates and objections (``conclude`` only after the notice period, with
every objection resolved) are checked by the service functions below, which are the only write
path: each step is an AdmissionStep (who, when, action, decision, comment, documents) plus an
audit event, in the caller's transaction.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from pathlib import PurePath
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from oip.auth.scope import out_of_scope
from oip.auth.service import Principal
from oip.core import audit, clock
from oip.core.config import get_settings
from oip.core.errors import Conflict, DomainError, IllegalTransition, NotFound, TooLarge
from oip.platforms import rates, service as register
from oip.platforms.models import Admission, AdmissionStep, Attachment, NoticeObjection, Platform
from oip.platforms.scope import platform_condition

# ---- the state machine (data) --------------------------------------------------------------------

STATE_NAMES = {
    "submitted": "已受理申请",
    "assessed": "评估通过",
    "reported": "已报国家部门",
    "consented": "国家部门已同意",
    "publicised": "公示中",
    "admitted": "已纳入试点",
    "rejected": "未予纳入",
    "withdrawn": "已撤回",
}
STATES = tuple(STATE_NAMES)
FINAL_STATES = frozenset({"admitted", "rejected", "withdrawn"})
OPEN_STATES = tuple(s for s in STATES if s not in FINAL_STATES)

ACTION_NAMES = {
    "apply": "受理书面申请",
    "assess": "评估试点条件",
    "report": "报国家有关部门",
    "consent": "登记国家部门意见",
    "publish": "公示",
    "conclude": "公示期满作出决定",
    "reject": "不予纳入",
    "withdraw": "申请人撤回申请",
    "record_objection": "登记公示期异议",
    "resolve_objection": "处理公示期异议",
}
ACTIONS = ("assess", "report", "consent", "publish", "conclude", "reject", "withdraw")

DECISION_NAMES = {
    "accepted": "受理",
    "pass": "通过",
    "fail": "不通过",
    "reported": "已上报",
    "consented": "同意",
    "refused": "不同意",
    "published": "已公示",
    "include": "予以纳入",
    "reject": "不予纳入",
    "rejected": "不予纳入",
    "withdrawn": "撤回",
    "recorded": "已登记",
    "upheld": "异议成立",
    "not_upheld": "异议不成立",
}

TRANSITIONS: dict[tuple[str, str, str], str] = {
    ("submitted", "assess", "pass"): "assessed",
    ("submitted", "assess", "fail"): "rejected",
    ("assessed", "report", "reported"): "reported",
    ("reported", "consent", "consented"): "consented",
    ("reported", "consent", "refused"): "rejected",
    ("consented", "publish", "published"): "publicised",
    ("publicised", "conclude", "include"): "admitted",
    ("publicised", "conclude", "reject"): "rejected",
    **{(s, "reject", "rejected"): "rejected" for s in OPEN_STATES},
    **{(s, "withdraw", "withdrawn"): "withdrawn" for s in OPEN_STATES},
}
INITIAL_STATE = "submitted"

# Actions with a single outcome take it when no decision is given.
DEFAULT_DECISION = {"report": "reported", "publish": "published", "reject": "rejected", "withdraw": "withdrawn"}

# Parameter [P]: the shortest public notice, in calendar days counting both ends (notice_to must be
# at least notice_from + NOTICE_MIN_DAYS − 1). Five days is the common minimum of a 公示.
NOTICE_MIN_DAYS = 5

# Where a written objection goes (shown on the public notice page).
OBJECTION_ADDRESSEE = "广西壮族自治区人力资源和社会保障厅"

ALLOWED_EXTENSIONS = {
    ".pdf": "application/pdf",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".png": "image/png",
    ".doc": "application/msword",
    ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ".xls": "application/vnd.ms-excel",
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ".ofd": "application/ofd",
}

AUDIT_ACTION_NAMES = {f"admission.{a}": n for a, n in ACTION_NAMES.items()}
audit.register_actions(AUDIT_ACTION_NAMES)


def decisions_for(state: str, action: str) -> list[str]:
    """The decisions ``action`` may take in ``state`` (empty: the action is not legal there)."""
    return [d for (s, a, d) in TRANSITIONS if s == state and a == action]


def legal_actions(state: str) -> list[str]:
    """The actions legal in ``state``, in workflow order."""
    present = {a for (s, a, _) in TRANSITIONS if s == state}
    return [a for a in ACTIONS if a in present]


def next_state(state: str, action: str, decision: str | None = None) -> str:
    """The state after ``action`` with ``decision`` in ``state``; IllegalTransition when the table
    has no such step, DomainError (field decision) when the decision is not one of the action's."""
    if action not in ACTIONS:
        raise DomainError(f"未知的操作 {action}，应为：{'、'.join(ACTIONS)}", field="action")
    decisions = decisions_for(state, action)
    if not decisions:
        raise IllegalTransition(
            f"申请当前状态为“{STATE_NAMES.get(state, state)}”（{state}），不能执行“{ACTION_NAMES[action]}”（{action}）",
            field="action",
        )
    decision = decision or DEFAULT_DECISION.get(action)
    if decision not in decisions:
        choices = "、".join(f"{d}（{DECISION_NAMES[d]}）" for d in decisions)
        raise DomainError(f"“{ACTION_NAMES[action]}”的决定应为：{choices}", field="decision")
    return TRANSITIONS[(state, action, decision)]


# ---- attachments ---------------------------------------------------------------------------------


@dataclass
class Upload:
    """A document as received (from a multipart form or base64 JSON)."""

    filename: str
    content: bytes


def make_attachment(upload: Upload) -> Attachment:
    """Check type and size of a document and build its row (with SHA-256)."""
    name = PurePath((upload.filename or "").replace("\\", "/")).name.strip()
    if not name:
        raise DomainError("附件缺少文件名", field="attachments")
    ext = PurePath(name.lower()).suffix
    if ext not in ALLOWED_EXTENSIONS:
        allowed = "、".join(sorted({e.lstrip(".") for e in ALLOWED_EXTENSIONS} - {"jpeg"}))
        raise DomainError(f"附件“{name}”的类型不允许，只接受 {allowed} 文件", field="attachments")
    limit = get_settings().upload_max_bytes
    if len(upload.content) > limit:
        raise TooLarge(f"附件“{name}”超过 {limit // (1024 * 1024)} MB 的上限", field="attachments")
    if not upload.content:
        raise DomainError(f"附件“{name}”是空文件", field="attachments")
    return Attachment(
        filename=name[-256:],
        content_type=ALLOWED_EXTENSIONS[ext],
        size=len(upload.content),
        sha256=hashlib.sha256(upload.content).hexdigest(),
        content=upload.content,
    )


def _step(
    session: Session,
    actor: Principal,
    adm: Admission,
    action: str,
    from_state: str | None,
    to_state: str,
    decision: str,
    comment: str,
    attachments: list[Attachment],
) -> AdmissionStep:
    step = AdmissionStep(
        admission_id=adm.id,
        action=action,
        from_state=from_state,
        to_state=to_state,
        decision=decision,
        comment=comment,
        officer_id=actor.user_id,
        at=clock.now(),
    )
    step.attachments = attachments
    adm.steps.append(step)
    session.flush()
    return step


def _files(step: AdmissionStep) -> list[dict]:
    return [{"filename": a.filename, "size": a.size, "sha256": a.sha256} for a in step.attachments]


# ---- reads ---------------------------------------------------------------------------------------


def _scoped(actor: Principal):
    return select(Admission).join(Platform, Platform.id == Admission.platform_id).where(platform_condition(actor))


def list_admissions(session: Session, actor: Principal, state: str | None = None) -> list[Admission]:
    q = _scoped(actor).order_by(Admission.id.desc())
    if state:
        if state not in STATE_NAMES:
            raise DomainError(f"未知的状态 {state}", field="state")
        q = q.where(Admission.state == state)
    return list(session.scalars(q))


def get_admission(session: Session, actor: Principal, admission_id: int, *, for_update: bool = False) -> Admission:
    q = _scoped(actor).where(Admission.id == admission_id)
    if for_update:
        q = q.with_for_update(of=Admission)
    adm = session.scalar(q)
    if adm is None:
        raise out_of_scope("纳入申请")
    return adm


def admissions_of(session: Session, actor: Principal, platform: Platform) -> list[Admission]:
    return list(session.scalars(_scoped(actor).where(Admission.platform_id == platform.id).order_by(Admission.id)))


def get_attachment(session: Session, actor: Principal, attachment_id: int) -> Attachment:
    """A document with its content, if its admission is inside the caller's scope."""
    q = (
        select(Attachment)
        .join(AdmissionStep, AdmissionStep.id == Attachment.step_id)
        .join(Admission, Admission.id == AdmissionStep.admission_id)
        .join(Platform, Platform.id == Admission.platform_id)
        .where(Attachment.id == attachment_id, platform_condition(actor))
    )
    att = session.scalar(q)
    if att is None:
        raise out_of_scope("附件")
    return att


# ---- applying ------------------------------------------------------------------------------------


def apply(
    session: Session,
    actor: Principal,
    *,
    code: Any,
    name: Any,
    uscc: Any,
    industry_code: Any,
    headquarters: Any,
    headquarters_region: Any = None,
    contact_name: Any,
    contact_phone: Any,
    contact_email: Any = "",
    applied_on: Any,
    base_yuan: Any = None,
    comment: Any = "",
    attachments: list[Upload] = (),
) -> Admission:
    """Register a platform's written application: a register entry in status 'applicant' and an
    admission in state 'submitted' with its first step. ``base_yuan`` defaults to the industry's."""
    comment = register.clean_text(comment, "comment", "意见", 4000)
    files = [make_attachment(u) for u in attachments]
    if not isinstance(applied_on, dt.date):
        raise DomainError("请填写申请日期", field="applied_on")
    if applied_on > clock.today():
        raise DomainError("申请日期不能晚于今天", field="applied_on")
    details = {
        "headquarters": headquarters,
        "headquarters_region": headquarters_region,
        "contact_name": contact_name,
        "contact_phone": contact_phone,
        "contact_email": contact_email,
    }
    for field, label in (("headquarters", "总部地址"), ("contact_name", "联系人"), ("contact_phone", "联系电话")):
        if not str(details[field] or "").strip():
            raise DomainError(f"请填写{label}", field=field)
    if base_yuan in (None, ""):
        base_yuan = rates.default_base(str(industry_code or "").strip())
    plat = register.new_platform(
        session,
        code=code,
        uscc=uscc,
        industry_code=industry_code,
        name=name,
        base_yuan=base_yuan,
        valid_from=applied_on,
        status="applicant",
    )
    register.set_details(session, plat, details)
    adm = Admission(platform_id=plat.id, state=INITIAL_STATE, applied_on=applied_on)
    adm.platform = plat
    session.add(adm)
    session.flush()
    step = _step(session, actor, adm, "apply", None, INITIAL_STATE, "accepted", comment, files)
    audit.record(
        session,
        actor,
        "admission.apply",
        entity_type="admission",
        entity_id=adm.id,
        after={
            "platform": plat.code,
            "name": plat.names[0].name,
            "uscc": plat.uscc,
            "industry_code": plat.industry_code,
            "base_yuan": plat.rates[0].base_yuan,
            "applied_on": applied_on,
            "state": adm.state,
            "files": _files(step),
        },
    )
    return adm


# ---- steps ---------------------------------------------------------------------------------------


@dataclass
class StepInput:
    decision: str | None = None
    comment: str = ""
    notice_from: dt.date | None = None
    notice_to: dt.date | None = None
    included_from: dt.date | None = None
    reason: str | None = None


def _check_publish(adm: Admission, s: StepInput) -> None:
    if s.notice_from is None:
        raise DomainError("请填写公示开始日期", field="notice_from")
    if s.notice_to is None:
        raise DomainError("请填写公示截止日期", field="notice_to")
    if s.notice_from < adm.applied_on:
        raise DomainError(f"公示开始日期不能早于申请日期 {adm.applied_on}", field="notice_from")
    shortest = s.notice_from + dt.timedelta(days=NOTICE_MIN_DAYS - 1)
    if s.notice_to < shortest:
        raise DomainError(f"公示期不少于 {NOTICE_MIN_DAYS} 天：截止日期不能早于 {shortest}", field="notice_to")


def conclude_blockers(adm: Admission, today: dt.date) -> list[Conflict]:
    """Why the public notice cannot be concluded yet: the period has not ended, or objections
    are still open (empty: a decision may be taken)."""
    out = []
    if adm.notice_to is None:
        out.append(Conflict("尚未公示，不能作出纳入决定", field="notice_to"))
    elif today <= adm.notice_to:
        out.append(
            Conflict(
                f"公示期至 {adm.notice_to} 止，公示期满后（{adm.notice_to + dt.timedelta(days=1)} 起）方可作出决定",
                field="notice_to",
            )
        )
    open_ = [o for o in adm.objections if o.upheld is None]
    if open_:
        out.append(Conflict(f"尚有 {len(open_)} 件公示期异议未处理完毕，处理后方可作出决定", field="objections"))
    return out


def _check_conclude(adm: Admission, s: StepInput, decision: str) -> None:
    blockers = conclude_blockers(adm, clock.today())
    if blockers:
        raise blockers[0]
    if decision == "include":
        if any(o.upheld for o in adm.objections):
            raise Conflict("公示期异议经核实成立，只能作出不予纳入的决定", field="decision")
        first = adm.notice_to + dt.timedelta(days=1)
        if s.included_from is None:
            raise DomainError("请填写纳入试点的日期", field="included_from")
        if s.included_from < first:
            raise DomainError(f"纳入日期不能早于公示期满次日 {first}", field="included_from")


def _check(adm: Admission, action: str, to: str, decision: str, s: StepInput) -> None:
    if action == "report" and not s.comment.strip():
        raise DomainError("请在意见中填写上报文件的文号和日期", field="comment")
    if action == "publish":
        _check_publish(adm, s)
    if action == "conclude":
        _check_conclude(adm, s, decision)
    if to == "rejected" and not (s.reason or "").strip():
        raise DomainError("不予纳入须填写理由", field="reason")


def _effects(session: Session, actor: Principal, adm: Admission, to: str, s: StepInput) -> None:
    plat = adm.platform
    if to == "publicised":
        adm.notice_from, adm.notice_to = s.notice_from, s.notice_to
    elif to == "admitted":
        adm.included_from = s.included_from
        plat.status, plat.covered_from = "admitted", s.included_from
        register.ensure_organisation(session, actor, plat)
    elif to == "rejected":
        adm.rejection_reason = s.reason.strip()
        plat.status = "rejected"
    elif to == "withdrawn":
        plat.status = "withdrawn"


def act(
    session: Session, actor: Principal, admission_id: int, action: str, step: StepInput, attachments: list[Upload] = ()
) -> Admission:
    """Take one step of the workflow (see TRANSITIONS) and record it."""
    adm = get_admission(session, actor, admission_id, for_update=True)
    from_state = adm.state
    to = next_state(from_state, action, step.decision)
    decision = step.decision or DEFAULT_DECISION[action]
    step.comment = register.clean_text(step.comment, "comment", "意见", 4000)
    step.reason = register.clean_text(step.reason, "reason", "理由", 4000) or None
    _check(adm, action, to, decision, step)
    files = [make_attachment(u) for u in attachments]
    _effects(session, actor, adm, to, step)
    adm.state = to
    comment = "\n".join(x for x in (step.comment, f"理由：{step.reason}" if step.reason else "") if x)
    row = _step(session, actor, adm, action, from_state, to, decision, comment, files)
    audit.record(
        session,
        actor,
        f"admission.{action}",
        entity_type="admission",
        entity_id=adm.id,
        before={"state": from_state},
        after={
            "state": to,
            "decision": decision,
            "platform": adm.platform.code,
            "platform_status": adm.platform.status,
            "notice_from": adm.notice_from,
            "notice_to": adm.notice_to,
            "included_from": adm.included_from,
            "reason": adm.rejection_reason if to == "rejected" else None,
            "files": _files(row),
        },
    )
    return adm


# ---- objections during the public notice ---------------------------------------------------------


def _in_notice(adm: Admission, what: str) -> None:
    if adm.state != "publicised":
        raise IllegalTransition(f"申请当前状态为“{STATE_NAMES[adm.state]}”，只能在公示期间{what}", field="action")


def record_objection(
    session: Session,
    actor: Principal,
    admission_id: int,
    *,
    received_on: Any,
    objector: Any,
    content: Any,
    attachments: list[Upload] = (),
) -> NoticeObjection:
    """An objection received in writing during the notice period (no change of state)."""
    adm = get_admission(session, actor, admission_id, for_update=True)
    _in_notice(adm, "登记异议")
    if not isinstance(received_on, dt.date):
        raise DomainError("请填写收到异议的日期", field="received_on")
    if received_on > clock.today():
        raise DomainError("收到日期不能晚于今天", field="received_on")
    if not adm.notice_from <= received_on <= adm.notice_to:
        raise DomainError(f"异议须在公示期（{adm.notice_from} 至 {adm.notice_to}）内提出", field="received_on")
    objector = register.clean_text(objector, "objector", "异议人", 128, required=True)
    content = register.clean_text(content, "content", "异议内容", 8000, required=True)
    files = [make_attachment(u) for u in attachments]
    obj = NoticeObjection(
        admission_id=adm.id, received_on=received_on, objector=objector, content=content, recorded_by=actor.user_id
    )
    adm.objections.append(obj)
    session.flush()
    row = _step(
        session,
        actor,
        adm,
        "record_objection",
        adm.state,
        adm.state,
        "recorded",
        f"异议人：{objector}（{received_on} 收到）\n{content}",
        files,
    )
    audit.record(
        session,
        actor,
        "admission.record_objection",
        entity_type="admission",
        entity_id=adm.id,
        after={"objection_id": obj.id, "received_on": received_on, "objector": objector, "files": _files(row)},
    )
    return obj


def resolve_objection(
    session: Session,
    actor: Principal,
    admission_id: int,
    objection_id: int,
    *,
    upheld: Any,
    resolution: Any,
    attachments: list[Upload] = (),
) -> NoticeObjection:
    """How an objection was resolved: upheld (成立) or not, with the reasons."""
    adm = get_admission(session, actor, admission_id, for_update=True)
    _in_notice(adm, "处理异议")
    obj = next((o for o in adm.objections if o.id == objection_id), None)
    if obj is None:
        raise NotFound(f"该申请没有编号为 {objection_id} 的异议", field="objection_id")
    if obj.upheld is not None:
        raise Conflict("该异议已处理", field="objection_id")
    if not isinstance(upheld, bool):
        raise DomainError("请选择异议是否成立", field="upheld")
    resolution = register.clean_text(resolution, "resolution", "处理意见", 8000, required=True)
    files = [make_attachment(u) for u in attachments]
    obj.resolution, obj.upheld = resolution, upheld
    decision = "upheld" if upheld else "not_upheld"
    row = _step(
        session,
        actor,
        adm,
        "resolve_objection",
        adm.state,
        adm.state,
        decision,
        f"异议人：{obj.objector}\n{obj.resolution}",
        files,
    )
    audit.record(
        session,
        actor,
        "admission.resolve_objection",
        entity_type="admission",
        entity_id=adm.id,
        after={"objection_id": obj.id, "upheld": upheld, "files": _files(row)},
    )
    return obj


# ---- the public notice (no sign-in) --------------------------------------------------------------

ADMITTED_SHOWN_DAYS = 365


def public_notices(session: Session) -> tuple[list[Admission], list[Admission]]:
    """(under public notice now, admitted in the last year) — the public notice board."""
    today = clock.today()
    current = list(
        session.scalars(
            select(Admission)
            .where(Admission.state == "publicised", Admission.notice_from <= today)
            .order_by(Admission.notice_from.desc(), Admission.id.desc())
        )
    )
    since = today - dt.timedelta(days=ADMITTED_SHOWN_DAYS)
    admitted = list(
        session.scalars(
            select(Admission)
            .where(Admission.state == "admitted", Admission.included_from >= since)
            .order_by(Admission.included_from.desc(), Admission.id.desc())
        )
    )
    return current, admitted


def public_notice(session: Session, admission_id: int) -> Admission:
    """An admission that reached the public notice (and whose notice has begun); others are 404."""
    adm = session.scalar(
        select(Admission).where(
            Admission.id == admission_id, Admission.notice_from.is_not(None), Admission.notice_from <= clock.today()
        )
    )
    if adm is None:
        raise NotFound("公示信息不存在")
    return adm
