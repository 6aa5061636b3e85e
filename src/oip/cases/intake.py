"""The intake of a case (报案、申请、材料、补正、受理): the only write path from a report to the
acceptance (受理) or the refusal to accept (不予受理). Each function loads the case in the actor's
scope (FOR UPDATE), checks the input with the pure rules of ``oip.cases.intake_rules``, writes, and
moves the case through ``service.transition`` (timeline + audit, deadlines recomputed) in the
caller's transaction. A bad input raises before anything is written.

- **report** (``report``): a platform's 一键报案 through the API, a worker in the worker portal, or
  staff registering a phone, desk or paper report. The answer carries at once the coverage check at
  the time of the injury (the order ledger), the jurisdiction, and possible duplicates (the same
  person's other cases within ± ``case.duplicate_window_hours``).
- **merge / unmerge**: two reports of one event end on one case; undone by moving the reports back
  to the case they opened (``CaseReport.first_case_id``).
- **application** (``apply``): the platform within 3 working days of the injury, otherwise the
  worker, a close relative or the union within 30 days; a late one needs its written explanation.
- **materials** (``upload_document``): files checked by content, stored with SHA-256, never
  overwritten; the same bytes twice for the same checklist item answer with the stored row.
- **correction notice** (一次性补正告知): every missing item listed at once; the decision clock stands
  (a ``CaseSuspension`` of kind ``correction``) until the materials arrive (``fulfil_correction``).
- **acceptance** (``accept``) or **refusal** (``refuse``) by an officer of the jurisdiction.

Hooks for the other parts of the case (kept here so no module imports one that may not exist):

- ``ON_ACCEPT``: callables ``fn(session, actor, case)`` run after a case is accepted, in the same
  transaction — the investigation part appends ``offer_investigation`` (the lead wires it at merge).
- ``ON_LETTER``: callables ``fn(session, actor, case, kind, source_id, on)`` run when the intake
  issues an act that has a letter: ``kind`` is a key of ``LETTER_KINDS`` (acceptance → 受理通知书,
  correction → 一次性补正告知书 with ``source_id`` the notice's id, refusal → 不予受理通知书 with
  ``source_id`` the refusal event's id); ``on`` the act's date. The letters part appends its generator.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, undefer

from oip.auth.service import Principal
from oip.cases import deadlines, intake_rules as R, parameters as CP, rules, service
from oip.cases.models import Case, CaseCode, CaseDocument, CaseEvent, CaseReport, CaseSuspension, CorrectionNotice
from oip.cases.scope import case_condition
from oip.core import audit, clock, uploads
from oip.core.errors import Conflict, DomainError, IllegalTransition, NotFound
from oip.orders import coverage as coverage_service
from oip.platforms.models import Platform, names_only
from oip.reference import parameters
from oip.reference.models import Region
from oip.workers.models import PlatformAccount

log = logging.getLogger(__name__)

PILOT_START = parameters.PILOT_START

service.register_event_names(
    {
        "merge_in": "并入重复报案",
        "merge_out": "撤销并案，移出重复报案",
        "document_upload": "提交材料",
    }
)
audit.register_actions(
    {
        "case.documents": "查看案件材料清单",
        "case.document_download": "下载案件材料",
    }
)


def _case_names(session: Session, ids: list[str]) -> dict[str, str]:
    wanted = [int(i) for i in ids if i.isdigit()]
    return {str(i): n for i, n in session.execute(select(Case.id, Case.number).where(Case.id.in_(wanted)))}


def _document_names(session: Session, ids: list[str]) -> dict[str, str]:
    wanted = [int(i) for i in ids if i.isdigit()]
    rows = session.execute(
        select(CaseDocument.id, CaseDocument.filename, Case.number)
        .join(Case, Case.id == CaseDocument.case_id)
        .where(CaseDocument.id.in_(wanted))
    )
    return {str(i): f"{number} · {name}" for i, name, number in rows}


audit.register_entity_names("case", "职业伤害案件", _case_names)
audit.register_entity_names("case_document", "案件材料", _document_names)

# ---- hooks for the other parts ------------------------------------------------------------------

CaseHook = Callable[[Session, Any, Case], None]
LetterHook = Callable[[Session, Any, Case, str, int, dt.date], None]

# Run after acceptance, in the transaction of the step (the investigation part appends
# ``oip.cases.investigation.offer_investigation`` here at merge).
ON_ACCEPT: list[CaseHook] = []
# Run when an act of the intake has a letter (the letters part appends its generator).
ON_LETTER: list[LetterHook] = []
LETTER_KINDS = {"acceptance": "受理通知书", "correction": "一次性补正告知书", "refusal": "不予受理通知书"}


def _letter(session: Session, actor: Any, case: Case, kind: str, source_id: int, on: dt.date) -> None:
    for fn in ON_LETTER:
        fn(session, actor, case, kind, source_id, on)


# ---- parsing ------------------------------------------------------------------------------------


def parse_occurred_at(raw: str, *, naive_in_beijing: bool = False) -> dt.datetime:
    """The time of the injury: ISO 8601 with an offset (the API); a page's date-time picker speaks
    Beijing time (``naive_in_beijing``)."""
    if not str(raw or "").strip():
        raise DomainError("请填写事故发生时间", field="occurred_at")
    try:
        return coverage_service.parse_at(str(raw), naive_in_beijing=naive_in_beijing)
    except DomainError as e:
        raise DomainError(e.reason.replace("时点", "事故发生时间"), field="occurred_at") from None


def _local_day(t: dt.datetime) -> dt.date:
    return clock.local(t).date()


def injured_on(case: Case) -> dt.date:
    return _local_day(case.occurred_at)


# ---- report -------------------------------------------------------------------------------------


def _county(session: Session, code: str, day: dt.date) -> Region:
    """A county-level code of Guangxi in force on the day of the injury."""
    code = (code or "").strip()
    if not code:
        raise DomainError("请选择事故发生地（县级行政区划）", field="county_code")
    r = session.get(Region, code) if len(code) == 6 and code.isdigit() else None
    if r is None or r.level != "county" or not r.code.startswith("45"):
        raise DomainError(f"“{code[:12]}”不是广西的县级行政区划代码", field="county_code")
    if r.valid_from > day or (r.valid_to is not None and r.valid_to < day):
        raise DomainError(
            f"区划代码 {code}（{r.name}）在 {day.isoformat()} 不是有效的县级行政区划", field="county_code"
        )
    return r


def _platform(session: Session, code: str | None) -> Platform:
    code = (code or "").strip()
    if not code:
        raise DomainError("请填写平台企业编码", field="platform_code")
    plat = session.scalar(select(Platform).where(Platform.code == code).options(*names_only()))
    if plat is None:
        raise DomainError(f"平台企业“{code[:32]}”不存在", field="platform_code")
    return plat


def _account(session: Session, plat: Platform, account_id: str) -> PlatformAccount | None:
    return session.scalar(
        select(PlatformAccount).where(PlatformAccount.platform_id == plat.id, PlatformAccount.account_id == account_id)
    )


def _reporter(
    session: Session,
    actor: Principal,
    *,
    platform_code: str | None,
    account_id: str,
    channel: str | None,
    reported_on: dt.date | None,
) -> tuple[Platform, PlatformAccount, str, dt.date]:
    """Whose report it is and by which channel: a platform for its own workers (channel
    platform_api), a worker for their own accounts (worker_portal), staff for anyone (phone, desk,
    paper, with the real reporting date)."""
    today = clock.today()
    scope = actor.role.scope
    account_id = (account_id or "").strip()
    if not account_id:
        raise DomainError("请填写平台账号", field="platform_account_id")
    if len(account_id) > 64:
        raise DomainError("平台账号不能超过 64 个字符", field="platform_account_id")
    if scope in ("platform", "self"):
        # a platform's system (bearer token) files its app's 一键报案; its staff signed in use the portal
        own_channel = (
            ("platform_api" if actor.via != "session" else "platform_portal")
            if scope == "platform"
            else "worker_portal"
        )
        if channel not in (None, "", own_channel):
            raise DomainError("报案渠道由系统确定；电话、窗口、书面报案由经办人员登记", field="channel")
        if reported_on not in (None, today):
            raise DomainError("报案日期为今天；书面报案的实际日期由经办人员登记", field="reported_on")
        channel, reported_on = own_channel, today
    elif scope == "region":
        channel = channel or "desk"
        if channel not in R.STAFF_CHANNELS:
            choices = "、".join(f"{c}（{R.CHANNEL_NAMES[c]}）" for c in R.STAFF_CHANNELS)
            raise DomainError(f"报案渠道“{channel}”无效，应为：{choices}", field="channel")
        reported_on = reported_on or today
    else:
        raise DomainError("当前角色不能报案", field="platform_account_id")

    if scope == "platform":
        plat = session.scalar(select(Platform).where(Platform.id == actor.platform_id).options(*names_only()))
        if plat is None:
            raise DomainError("当前用户没有所属的平台企业", field="platform_code")
        if platform_code and platform_code.strip() != plat.code:
            raise DomainError("平台企业只能为本平台的人员报案，平台企业编码应为本平台的编码", field="platform_code")
        account = _account(session, plat, account_id)
        if account is None:
            raise DomainError(f"本平台没有账号“{account_id}”的人员登记信息", field="platform_account_id")
    else:
        plat = _platform(session, platform_code)
        account = _account(session, plat, account_id)
        if scope == "self" and (account is None or account.person_id != actor.person_id):
            raise DomainError(
                f"您在{plat.display_name(today)}没有账号“{account_id}”：只能为本人的平台账号报案",
                field="platform_account_id",
            )
        if account is None:
            raise DomainError(
                f"{plat.display_name(today)}没有账号“{account_id}”的人员登记信息", field="platform_account_id"
            )
    return plat, account, channel, reported_on


def _coverage(session: Session, at: dt.datetime, plat: Platform, account: PlatformAccount) -> dict[str, Any]:
    """The coverage check against the order ledger at the time of the injury. A ledger that cannot
    be read does not lose the report: the case records why the check is missing."""
    try:
        return coverage_service.covered_at(
            session, at=at, platform_code=plat.code, account_id=account.account_id
        ).as_dict()
    except SQLAlchemyError:
        raise
    except Exception as e:  # the Parquet ledger (files, DuckDB): the report is worth more than the check
        log.exception("coverage check failed for a report")
        return {
            "covered": None,
            "order_id": None,
            "reason": f"保障状态暂时无法查询（{type(e).__name__}），请稍后在案件中复核",
        }


def report(
    session: Session,
    actor: Principal,
    *,
    platform_account_id: str,
    occurred_at: dt.datetime,
    county_code: str,
    address: str,
    kind: str,
    description: str,
    injuries: str = "",
    lat: Decimal | None = None,
    lon: Decimal | None = None,
    order_id: str | None = None,
    platform_code: str | None = None,
    channel: str | None = None,
    reported_on: dt.date | None = None,
) -> dict[str, Any]:
    """A report (报案): checks everything first, then opens the case. The answer: the report and the
    case, the coverage at ``occurred_at``, the jurisdiction and possible duplicates."""
    now, today = clock.now(), clock.today()
    plat, account, channel, reported_on = _reporter(
        session,
        actor,
        platform_code=platform_code,
        account_id=platform_account_id,
        channel=channel,
        reported_on=reported_on,
    )
    R.check_kind(kind)
    if occurred_at.tzinfo is None:
        raise DomainError("事故发生时间须带时区偏移，如 2025-10-09T14:30:00+08:00", field="occurred_at")
    day = _local_day(occurred_at)
    R.check_occurred_at(occurred_at, now, PILOT_START, day)
    county = _county(session, county_code, day)
    if actor.role.scope == "region" and not county.code.startswith(actor.region_prefix):
        raise DomainError(
            f"事故发生地（{county.name}）不在本机构（{actor.organisation_name}）的管辖范围内，请由事故发生地的经办机构登记",
            field="county_code",
        )
    address = R.clean_text(address, "address", "事故发生的详细地址")
    description = R.clean_text(description, "description", "事故经过")
    injuries = R.clean_text(injuries, "injuries", "伤情", required=False)
    order_id = (order_id or "").strip() or None
    if order_id is not None and len(order_id) > 64:
        raise DomainError("订单号不能超过 64 个字符", field="order_id")
    R.check_coordinates(lat, lon)
    if channel in R.STAFF_CHANNELS:
        R.check_act_date(
            reported_on, field="reported_on", label="报案日期", today=today, not_before=day, before_label="事故发生日期"
        )

    coverage = _coverage(session, occurred_at, plat, account)
    facts = {
        "platform_code": plat.code,
        "platform_account_id": account.account_id,
        "occurred_at": clock.local(occurred_at).isoformat(),
        "county_code": county.code,
        "address": address,
        "lat": lat,
        "lon": lon,
        "order_id": order_id,
        "kind": kind,
        "description": description,
        "injuries": injuries,
        "channel": channel,
        "reported_on": reported_on,
    }
    case, rep = service.open_case(
        session,
        actor,
        account=account,
        kind=kind,
        occurred_at=occurred_at,
        county_code=county.code,
        address=address,
        description=description,
        injuries=injuries,
        lat=lat,
        lon=lon,
        order_id=order_id,
        channel=channel,
        reported_on=reported_on,
        coverage=coverage,
        facts=facts,
    )
    return {
        "report_id": rep.id,
        "case_id": case.id,
        "case_number": case.number,
        "state": case.state,
        "version": case.version,
        "channel": channel,
        "reported_on": reported_on.isoformat(),
        "coverage": coverage,
        "jurisdiction": service.jurisdiction(session, case.county_code),
        "possible_duplicates": possible_duplicates(session, actor, case),
    }


def possible_duplicates(session: Session, actor: Principal, case: Case) -> list[dict[str, Any]]:
    """The same person's other cases (not merged away) injured within ± the window of this one, as
    far as the actor may see them: perhaps the same event reported twice."""
    hours = parameters.get(session, CP.DUPLICATE_WINDOW_HOURS, injured_on(case))
    window = dt.timedelta(hours=hours)
    rows = list(
        session.scalars(
            select(Case)
            .where(
                Case.person_id == case.person_id,
                Case.id != case.id,
                Case.state != "merged",
                Case.occurred_at >= case.occurred_at - window,
                Case.occurred_at <= case.occurred_at + window,
                case_condition(actor),
            )
            .order_by(Case.occurred_at, Case.id)
        )
    )
    if not rows:
        return []
    channels = dict(
        session.execute(
            select(CaseReport.first_case_id, CaseReport.channel).where(
                CaseReport.first_case_id.in_([c.id for c in rows]), CaseReport.first_case_id == CaseReport.case_id
            )
        ).all()
    )
    return [
        {
            "case_id": c.id,
            "case_number": c.number,
            "occurred_at": clock.local(c.occurred_at).isoformat(),
            "state": c.state,
            "state_name": rules.STATE_NAMES[c.state],
            "channel": channels.get(c.id),
            "channel_name": R.CHANNEL_NAMES.get(channels.get(c.id) or "", ""),
            "version": c.version,
        }
        for c in rows
    ]


# ---- merge ----------------------------------------------------------------------------------------

MERGEABLE = ("reported", "applied")


def _lock_pair(session: Session, actor: Principal, case_id: int, other_id: int, other_field: str) -> tuple[Case, Case]:
    """Both cases FOR UPDATE, in id order (two officers merging crosswise wait instead of deadlocking)."""
    got: dict[int, Case] = {}
    for cid in sorted({case_id, other_id}):
        try:
            got[cid] = service.get_case(session, actor, cid, for_update=True)
        except NotFound:
            if cid == other_id:
                raise NotFound("目标案件不存在或不在您的数据范围内", field=other_field) from None
            raise
    return got[case_id], got[other_id]


def merge(session: Session, actor: Principal, case_id: int, *, into_case_id: int, version: int | None = None) -> Case:
    """Merge case ``case_id`` into ``into_case_id`` (两次报案并为一案): the same person, both still at
    the report or application. The merged case ends in ``merged`` with ``merged_into_id``; its reports
    move to the target (each keeps ``first_case_id``); both timelines record it."""
    if case_id == into_case_id:
        raise DomainError("不能把案件并入它自身", field="into_case_id")
    case, target = _lock_pair(session, actor, case_id, into_case_id, "into_case_id")
    service.check_version(case, version)
    rules.next_state(case.state, "merge", case.state_before)
    if target.state not in MERGEABLE:
        raise IllegalTransition(
            f"目标案件 {target.number} 当前状态为“{rules.STATE_NAMES[target.state]}”，只能并入已报案或已申请待受理的案件",
            field="into_case_id",
        )
    if target.person_id != case.person_id:
        raise DomainError(f"案件 {case.number} 与 {target.number} 不是同一人的报案，不能合并", field="into_case_id")
    if case.state == "applied" and target.state == "reported":
        raise DomainError(
            f"案件 {case.number} 已提出申请而 {target.number} 尚未申请：请把未申请的案件并入已申请的案件",
            field="into_case_id",
        )
    moved = list(
        session.scalars(
            update(CaseReport).where(CaseReport.case_id == case.id).values(case_id=target.id).returning(CaseReport.id)
        )
    )
    case.merged_into_id = target.id
    detail = {"reports": moved}
    service.transition(
        session,
        actor,
        case,
        "merge",
        note=f"并入案件 {target.number}",
        detail={"into_case_id": target.id, "into_number": target.number, **detail},
    )
    service.record_event(
        session,
        actor,
        target,
        "merge_in",
        note=f"案件 {case.number} 的报案并入本案",
        detail={"from_case_id": case.id, "from_number": case.number, **detail},
    )
    service.touch(target)
    return case


def unmerge(session: Session, actor: Principal, case_id: int, *, version: int | None = None) -> Case:
    """Undo a merge: the reports the case opened come back to it, and it returns to the state it had."""
    case = service.get_case(session, actor, case_id)
    if case.state != "merged" or case.merged_into_id is None:
        raise IllegalTransition(f"案件 {case.number} 未被并案，无需撤销", field="case_id")
    case, target = _lock_pair(session, actor, case_id, case.merged_into_id, "case_id")
    service.check_version(case, version)
    moved = list(
        session.scalars(
            update(CaseReport)
            .where(CaseReport.first_case_id == case.id)
            .values(case_id=case.id)
            .returning(CaseReport.id)
        )
    )
    case.merged_into_id = None
    service.transition(
        session,
        actor,
        case,
        "unmerge",
        note=f"撤销并入案件 {target.number}",
        detail={"from_case_id": target.id, "from_number": target.number, "reports": moved},
    )
    service.record_event(
        session,
        actor,
        target,
        "merge_out",
        note=f"案件 {case.number} 的报案移出本案",
        detail={"to_case_id": case.id, "to_number": case.number, "reports": moved},
    )
    service.touch(target)
    return case


# ---- application ------------------------------------------------------------------------------------


def applicant_choices(p: Principal) -> tuple[str, ...]:
    """Who the actor may apply as: a platform as the platform, a worker as themselves, staff
    registering a paper application as anyone."""
    return {"platform": ("platform",), "self": ("worker",), "region": R.APPLICANTS}.get(p.role.scope, ())


def apply(
    session: Session,
    actor: Principal,
    case_id: int,
    *,
    applicant: str,
    submitted_on: dt.date | None = None,
    explanation: str | None = None,
    outpatient_only: bool = False,
    version: int | None = None,
) -> Case:
    """The application for confirmation (确认申请). The platform's limit is 3 working days after the
    injury, the others' 30 days (parameters in force on the injury day); later, an explanation."""
    case = service.get_case(session, actor, case_id, for_update=True)
    service.check_version(case, version)
    rules.next_state(case.state, "apply", case.state_before)
    today = clock.today()
    if applicant not in R.APPLICANTS:
        choices = "、".join(f"{a}（{service.APPLICANT_NAMES[a]}）" for a in R.APPLICANTS)
        raise DomainError(f"申请人“{applicant}”无效，应为：{choices}", field="applicant")
    allowed = applicant_choices(actor)
    if applicant not in allowed:
        raise DomainError(
            f"{actor.role.name}只能以“{service.APPLICANT_NAMES[allowed[0]]}”的身份申请"
            if allowed
            else "当前角色不能申请",
            field="applicant",
        )
    if actor.role.scope != "region" and submitted_on not in (None, today):
        raise DomainError("提交日期为今天；书面申请的实际提交日期由经办人员登记", field="submitted_on")
    submitted_on = submitted_on or today
    day = injured_on(case)
    R.check_act_date(
        submitted_on,
        field="submitted_on",
        label="申请提交日期",
        today=today,
        not_before=day,
        before_label="事故发生日期",
    )
    if outpatient_only and case.kind != "injury":
        raise DomainError("只有受伤的案件可以选择“仅门诊治疗”", field="outpatient_only")
    explanation = R.clean_text(explanation, "explanation", "超期说明", required=False) or None
    limits = service.application_limits(session, case)
    late = limits.late(applicant, submitted_on)
    if late and not explanation:
        due = limits.platform_due if applicant == "platform" else limits.worker_due
        if applicant == "platform":
            n = parameters.get(session, CP.PLATFORM_APPLY_WORKING_DAYS, day)
            who = f"平台企业应在事故发生后 {n} 个工作日内"
        else:
            n = parameters.get(session, CP.WORKER_APPLY_DAYS, day)
            who = f"本人、近亲属或工会应在事故发生后 {n} 日内"
        raise DomainError(f"申请已超过期限（{who}申请，即 {due.isoformat()} 前），请填写超期说明", field="explanation")
    case.applicant = applicant
    case.applied_on = submitted_on
    case.late_explanation = explanation if late else None
    case.outpatient_only = bool(outpatient_only)
    service.transition(
        session,
        actor,
        case,
        "apply",
        on=submitted_on,
        note=f"超期说明：{explanation}" if late else "",
        detail={
            "applicant": applicant,
            "submitted_on": submitted_on,
            "late": late,
            "platform_due": limits.platform_due,
            "worker_due": limits.worker_due,
            "outpatient_only": bool(outpatient_only),
        },
    )
    return case


# ---- materials ------------------------------------------------------------------------------------

UPLOAD_STATES = ("reported", "applied", "correction", "accepted", "investigating", "suspended")


def case_checklist(case: Case) -> tuple[R.Requirement, ...]:
    return R.checklist(case.kind, case.outpatient_only)


def _source(actor: Principal) -> str:
    return {"platform": "platform", "self": "applicant", "region": "officer", "insurer": "insurer"}.get(
        actor.role.scope, "applicant"
    )


def upload_document(
    session: Session,
    actor: Principal,
    case_id: int,
    *,
    filename: str,
    content: bytes,
    requirement: str,
    version: int | None = None,
) -> tuple[CaseDocument, bool]:
    """Store a file for a checklist item: checked by content, never overwritten (a new upload is a
    new row). The same bytes again for the same item: the stored row, nothing new (``False``)."""
    case = service.get_case(session, actor, case_id, for_update=True)
    service.check_version(case, version)
    if case.state not in UPLOAD_STATES:
        raise IllegalTransition(f"案件当前状态为“{rules.STATE_NAMES[case.state]}”，不能再提交材料", field="file")
    req = R.requirement(case_checklist(case), (requirement or "").strip())
    checked = uploads.check_document(filename, content)
    existing = session.scalar(
        select(CaseDocument).where(
            CaseDocument.case_id == case.id,
            CaseDocument.requirement == req.code,
            CaseDocument.sha256 == checked.sha256,
            CaseDocument.task_id.is_(None),
        )
    )
    if existing is not None:
        return existing, False
    doc = CaseDocument(
        case_id=case.id,
        requirement=req.code,
        filename=checked.filename,
        content_type=checked.content_type,
        size=checked.size,
        sha256=checked.sha256,
        content=content,
        source=_source(actor),
        uploaded_by=actor.user_id,
        uploaded_at=clock.now(),
    )
    session.add(doc)
    session.flush()
    service.record_event(
        session,
        actor,
        case,
        "document_upload",
        note=f"{req.name}：{checked.filename}",
        detail={
            "document_id": doc.id,
            "requirement": req.code,
            "filename": checked.filename,
            "size": checked.size,
            "sha256": checked.sha256,
        },
    )
    service.touch(case)
    return doc, True


def document_out(d: CaseDocument, names: dict[str, str]) -> dict[str, Any]:
    return {
        "id": d.id,
        "requirement": d.requirement,
        "requirement_name": names.get(d.requirement or "", "其他材料"),
        "filename": d.filename,
        "content_type": d.content_type,
        "size": d.size,
        "sha256": d.sha256,
        "source": d.source,
        "uploaded_at": clock.local(d.uploaded_at).isoformat(),
    }


def _documents(session: Session, case: Case) -> list[CaseDocument]:
    return list(
        session.scalars(
            select(CaseDocument)
            .where(CaseDocument.case_id == case.id, CaseDocument.task_id.is_(None))
            .order_by(CaseDocument.uploaded_at, CaseDocument.id)
        )
    )


# An insurer investigates with the application's materials, but not with copies of identity papers
# and kinship proofs: the ID number stays masked for it (issue 11 §3, "masked except what the task needs").
IDENTITY_DOCUMENTS = frozenset({"identity", "kinship"})


def checklist_status(session: Session, case: Case, viewer: Principal | None = None) -> dict[str, Any]:
    """The case's checklist with the documents each item has, and the required items missing (an
    insurer is not shown the identity papers: IDENTITY_DOCUMENTS)."""
    items = case_checklist(case)
    names = {r.code: r.name for r in items}
    docs = _documents(session, case)
    hidden = IDENTITY_DOCUMENTS if viewer is not None and viewer.role.scope == "insurer" else frozenset()
    by_req: dict[str, list[dict[str, Any]]] = {}
    for d in docs:
        by_req.setdefault(d.requirement or "", []).append(document_out(d, names))
    key = R.checklist_key(case.kind, case.outpatient_only)
    return {
        "checklist": key,
        "checklist_name": R.CHECKLIST_NAMES[key],
        "items": [
            {
                "requirement": r.code,
                "name": r.name,
                "required": r.required,
                "present": r.code in by_req,
                "documents": [] if r.code in hidden else by_req.get(r.code, []),
            }
            for r in items
        ],
        "missing": [{"requirement": r.code, "name": r.name} for r in R.missing(items, by_req.keys())],
        "other": [doc for code, ds in by_req.items() if code not in names for doc in ds],
        "count": len(docs),
    }


def documents(session: Session, actor: Principal, case_id: int) -> dict[str, Any]:
    """The checklist of a case in scope with its documents (audited: file names may name people)."""
    case = service.get_case(session, actor, case_id)
    out = checklist_status(session, case, actor)
    audit.record(session, actor, "case.documents", entity_type="case", entity_id=case.id, subjects=[case.person_id])
    return out


def document(session: Session, actor: Principal, case_id: int, document_id: int) -> CaseDocument:
    """One document with its content, if its case is in scope (audited as a read of personal data);
    insurers are not given identity papers (IDENTITY_DOCUMENTS)."""
    case = service.get_case(session, actor, case_id)
    doc = session.scalar(
        select(CaseDocument)
        .where(CaseDocument.id == document_id, CaseDocument.case_id == case.id)
        .options(undefer(CaseDocument.content))
    )
    if doc is None or (actor.role.scope == "insurer" and doc.requirement in IDENTITY_DOCUMENTS):
        raise NotFound("材料不存在或不在您的数据范围内", field="document_id")
    audit.record(
        session,
        actor,
        "case.document_download",
        entity_type="case_document",
        entity_id=doc.id,
        subjects=[case.person_id],
        after={"case_id": case.id, "filename": doc.filename, "sha256": doc.sha256},
    )
    return doc


# ---- correction notice ------------------------------------------------------------------------------


def _running_correction(session: Session, case: Case) -> CaseSuspension | None:
    return session.scalar(
        select(CaseSuspension)
        .where(
            CaseSuspension.case_id == case.id,
            CaseSuspension.reason_kind == "correction",
            CaseSuspension.ended_on.is_(None),
        )
        .order_by(CaseSuspension.id.desc())
    )


def open_notice(session: Session, case: Case) -> CorrectionNotice | None:
    """The correction notice the case waits on (only while in ``correction``)."""
    if case.state != "correction":
        return None
    return session.scalar(
        select(CorrectionNotice)
        .where(CorrectionNotice.case_id == case.id, CorrectionNotice.fulfilled_on.is_(None))
        .order_by(CorrectionNotice.id.desc())
    )


def _present(session: Session, case: Case, since: dt.date | None = None) -> set[str]:
    rows = session.execute(
        select(CaseDocument.requirement, CaseDocument.uploaded_at).where(
            CaseDocument.case_id == case.id, CaseDocument.task_id.is_(None)
        )
    ).all()
    return {req for req, at in rows if req and (since is None or _local_day(at) >= since)}


def has_correction_notice(session: Session, case: Case) -> bool:
    return session.scalar(select(CorrectionNotice.id).where(CorrectionNotice.case_id == case.id).limit(1)) is not None


def request_correction(
    session: Session,
    actor: Principal,
    case_id: int,
    *,
    items: list[tuple[str, str]],
    issued_on: dt.date | None = None,
    version: int | None = None,
) -> CorrectionNotice:
    """一次性补正告知: every missing item at once (each with a note), due ``case.correction_days``
    calendar days after the notice; the decision clock stands from the day of the notice."""
    case = service.get_case(session, actor, case_id, for_update=True)
    service.check_version(case, version)
    rules.next_state(case.state, "request_correction", case.state_before)
    if _running_correction(session, case) is not None:
        raise Conflict("本案已有未办结的补正告知，请先登记补正材料", field="items")
    if has_correction_notice(session, case):
        # 一次性告知: everything missing is asked for once; a second notice would restart the clock.
        raise Conflict(
            "本案已一次性告知过补正材料，不能再次要求补正；材料仍不齐全的，可依法作出不予受理或相应结论", field="items"
        )
    today = clock.today()
    issued_on = issued_on or today
    since = (
        max(d for d in (case.applied_on, case.accepted_on) if d is not None) if case.applied_on else injured_on(case)
    )
    R.check_act_date(
        issued_on, field="issued_on", label="补正告知日期", today=today, not_before=since, before_label="申请或受理日期"
    )
    listed = R.check_correction_items(case_checklist(case), items, _present(session, case))
    due = deadlines.calendar_deadline(issued_on, parameters.get(session, CP.CORRECTION_DAYS, issued_on))
    notice = CorrectionNotice(case_id=case.id, items=listed, issued_on=issued_on, due_on=due, issued_by=actor.user_id)
    session.add(notice)
    session.add(
        CaseSuspension(
            case_id=case.id,
            reason_kind="correction",
            reason=f"一次性补正告知：{'、'.join(i['name'] for i in listed)}",
            started_on=issued_on,
            expected_until=due,
        )
    )
    session.flush()
    service.transition(
        session,
        actor,
        case,
        "request_correction",
        on=issued_on,
        note="；".join(f"{i['name']}{'（' + i['note'] + '）' if i['note'] else ''}" for i in listed),
        detail={"notice_id": notice.id, "items": listed, "due_on": due},
    )
    _letter(session, actor, case, "correction", notice.id, issued_on)
    return notice


def fulfil_correction(
    session: Session,
    actor: Principal,
    case_id: int,
    *,
    fulfilled_on: dt.date | None = None,
    version: int | None = None,
) -> CorrectionNotice:
    """The materials of the notice arrived: each listed item has a document submitted since the
    notice. The suspension ends on ``fulfilled_on`` and the case returns to where it was; a case not
    yet accepted counts its acceptance period from that day (the application is complete then)."""
    case = service.get_case(session, actor, case_id, for_update=True)
    service.check_version(case, version)
    rules.next_state(case.state, "materials_received", case.state_before)
    notice = open_notice(session, case)
    if notice is None:
        raise Conflict("本案没有待补正的告知", field="fulfilled_on")
    today = clock.today()
    fulfilled_on = fulfilled_on or today
    R.check_act_date(
        fulfilled_on,
        field="fulfilled_on",
        label="补正材料收齐日期",
        today=today,
        not_before=notice.issued_on,
        before_label="补正告知日期",
    )
    arrived = _present(session, case, since=notice.issued_on)
    still = [i["name"] for i in notice.items if i["requirement"] not in arrived]
    if still:
        raise DomainError("以下补正材料尚未提交：" + "、".join(still), field="items")
    notice.fulfilled_on = fulfilled_on
    suspension = _running_correction(session, case)
    if suspension is not None:
        suspension.ended_on = fulfilled_on
    if case.state_before == "applied":
        case.received_on = fulfilled_on
    service.transition(
        session,
        actor,
        case,
        "materials_received",
        on=fulfilled_on,
        detail={"notice_id": notice.id, "issued_on": notice.issued_on, "fulfilled_on": fulfilled_on},
    )
    return notice


# ---- acceptance and refusal -------------------------------------------------------------------------


def accept(
    session: Session,
    actor: Principal,
    case_id: int,
    *,
    received_on: dt.date | None = None,
    accepted_on: dt.date | None = None,
    simple: bool = False,
    version: int | None = None,
) -> Case:
    """受理: the office received the application on ``received_on`` (default: the day the materials
    were complete, else the day it was submitted) and accepts it on ``accepted_on`` (default today);
    the decision clock counts from the acceptance day (30 working days, 7 when ``simple``)."""
    case = service.get_case(session, actor, case_id, for_update=True)
    service.check_version(case, version)
    rules.next_state(case.state, "accept", case.state_before)
    today = clock.today()
    applied_on = case.applied_on or case.reported_on
    accepted_on = accepted_on or today
    received_on = received_on or case.received_on or applied_on
    R.check_act_date(
        received_on,
        field="received_on",
        label="收到申请日期",
        today=today,
        not_before=applied_on,
        before_label="申请日期",
    )
    R.check_act_date(
        accepted_on,
        field="accepted_on",
        label="受理日期",
        today=today,
        not_before=received_on,
        before_label="收到申请日期",
    )
    case.received_on = received_on
    case.accepted_on = accepted_on
    case.clock_from = accepted_on
    case.simple = bool(simple)
    service.transition(
        session,
        actor,
        case,
        "accept",
        on=accepted_on,
        note="事实清楚、权利义务明确，适用简易程序" if simple else "",
        detail={"received_on": received_on, "accepted_on": accepted_on, "simple": bool(simple)},
    )
    for hook in ON_ACCEPT:  # the investigation part's offer_investigation, wired by the lead
        hook(session, actor, case)
    _letter(session, actor, case, "acceptance", 0, accepted_on)
    return case


def refusal_codes(session: Session, day: dt.date | None = None) -> list[CaseCode]:
    day = day or clock.today()
    return list(
        session.scalars(
            select(CaseCode)
            .where(
                CaseCode.kind == "refusal",
                CaseCode.valid_from <= day,
                (CaseCode.valid_to.is_(None)) | (CaseCode.valid_to >= day),
            )
            .order_by(CaseCode.code)
        )
    )


def refuse(
    session: Session,
    actor: Principal,
    case_id: int,
    *,
    code: str,
    reason: str,
    refused_on: dt.date | None = None,
    version: int | None = None,
) -> CaseEvent:
    """不予受理, with a refusal code and the reasons. A pending correction notice ends with it (the
    materials never came): its suspension ends on the day of the refusal."""
    case = service.get_case(session, actor, case_id, for_update=True)
    service.check_version(case, version)
    rules.next_state(case.state, "refuse", case.state_before)
    today = clock.today()
    refused_on = refused_on or today
    R.check_act_date(
        refused_on,
        field="refused_on",
        label="不予受理日期",
        today=today,
        not_before=case.applied_on or case.reported_on,
        before_label="申请日期",
    )
    codes = {c.code: c for c in refusal_codes(session, refused_on)}
    chosen = codes.get((code or "").strip())
    if chosen is None:
        choices = "、".join(f"{c.code}（{c.name}）" for c in codes.values())
        raise DomainError(f"不予受理的理由代码“{code}”无效，应为：{choices}", field="code")
    reason = R.clean_text(reason, "reason", "不予受理的理由")
    suspension = _running_correction(session, case)
    if suspension is not None:
        suspension.ended_on = refused_on
    event = service.transition(
        session,
        actor,
        case,
        "refuse",
        on=refused_on,
        note=f"{chosen.name}：{reason}",
        detail={"code": chosen.code, "code_name": chosen.name, "reason": reason},
    )
    _letter(session, actor, case, "refusal", event.id, refused_on)
    return event
