"""Determination on a case (待遇核定) and its approval (复核审批): the one write path of
``Determination`` and ``DeterminationLine`` rows, and of the dependants (供养亲属) of a death or
missing case.

The life of a determination:

- **open** (``open_determination``): from a case confirmed as an occupational injury (a confirmation
  decision, not overturned) and, for an injury, the latest appraisal conclusion (grade, self-care)
  — or, for a death or missing case, its dependants — the calculator proposes the lines
  (``oip.benefits.calc``, the parameters in force on the event date for the case's county). A
  lower-level ``draft`` takes a ready quote: the claims part drafts its claim determinations
  (``purpose='claim'``) with it and approves them through the same functions.
- **adjust** (``adjust_line``): the officer changes a line's amount only with a reason; the
  proposal stays beside it; the totals follow.
- **submit** → **approve** by somebody else (maker-checker: nobody who calculated, adjusted or
  submitted it approves it) whose role's limit (``benefit.approval_limits_fen``) covers
  ``total_once_fen + 12 × total_monthly_fen`` — or **return** with a reason (back to the maker).
- On approval: the letter 待遇核定通知书, the once items owed (``oip.benefits.payables``: a new
  version supersedes the one before, whose unpaid payables are cancelled, and owes only the
  difference), then the ``ON_APPROVED`` hooks (monthly benefits, claims).

Every form carries ``version`` (the determination's ``version_lock``): a stale one answers 409.
Every act is audited; opening, submitting, approving and returning land on the case's timeline.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, cast, func, or_, select
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Session

from oip.appraisal import rules as appraisal_rules
from oip.appraisal.models import Appraisal
from oip.auth import limits, permissions as P
from oip.benefits import calc, payables, service as calc_service
from oip.benefits.approval_parameters import APPROVAL_LIMITS
from oip.benefits.hooks import ON_APPROVED
from oip.benefits.models import Claim, Dependant, Determination, DeterminationLine, Payable
from oip.cases import letters, service as cases
from oip.cases.models import Case, Decision
from oip.cases.scope import case_condition
from oip.core import audit, clock, crypto
from oip.core.errors import Conflict, DomainError, Forbidden, NotFound
from oip.core.ids import InvalidId, mask_id, mask_phone, parse_mobile, parse_resident_id
from oip.core.money import yuan
from oip.core.pdf import chinese_date
from oip.core.validation import clean_text
from oip.reference import parameters

STATUS_NAMES = {
    "draft": "草稿",
    "submitted": "待审批",
    "approved": "已审批",
    "returned": "已退回",
    "superseded": "已被新版本替代",
    "cancelled": "已作废",
}
PURPOSE_NAMES = {"benefits": "待遇核定", "claim": "费用核定"}
RELATION_NAMES = {"spouse": "配偶", "child": "子女", "parent": "父母", "other": "其他亲属"}
EDITABLE = ("draft", "returned")
# Approved and superseded versions are what the worker (and the family) may see.
DECIDED = ("approved", "superseded")
ID_CTX, PHONE_CTX = "dependant.id_number", "dependant.phone"
MAX_FEN = 10**12  # ten billion yuan: anything above is a typing error

cases.register_event_names(
    {
        "benefit_open": "开始待遇核定",
        "benefit_submit": "提交待遇核定审批",
        "benefit_approve": "审批通过待遇核定",
        "benefit_return": "退回待遇核定",
        "benefit_cancel": "作废待遇核定草稿",
        "dependant_add": "登记供养亲属",
        "dependant_update": "修改供养亲属",
    }
)
audit.register_actions({"benefit.determination_adjust": "调整待遇核定明细"})
audit.register_entity_names("determination", "待遇核定")


# ---- reading --------------------------------------------------------------------------------------


def approval_amount(det: Determination) -> int:
    """The amount an approval limit is checked against: the once items plus a year of the monthly ones."""
    return int(det.total_once_fen) + 12 * int(det.total_monthly_fen)


def makers(det: Determination) -> set[int]:
    """Who calculated, adjusted or submitted ``det`` (none of them may approve it)."""
    ids = {int(u) for u in (det.inputs or {}).get("makers", []) if u is not None}
    if det.made_by is not None:
        ids.add(det.made_by)
    return ids


def lines_of(session: Session, det: Determination) -> list[DeterminationLine]:
    return list(
        session.scalars(
            select(DeterminationLine)
            .where(DeterminationLine.determination_id == det.id)
            .order_by(DeterminationLine.position, DeterminationLine.id)
        )
    )


def determinations_of(
    session: Session, actor: Any, case: Case, *, purpose: str | None = "benefits"
) -> list[Determination]:
    """The determinations of a case, newest chain and version first. A worker sees only the decided
    ones (approved, superseded)."""
    q = select(Determination).where(Determination.case_id == case.id)
    if purpose:
        q = q.where(Determination.purpose == purpose)
    if _is_self(actor):
        q = q.where(Determination.status.in_(DECIDED))
    return list(session.scalars(q.order_by(Determination.chain_id.desc(), Determination.version.desc())))


def get_determination(
    session: Session, actor: Any, determination_id: int, *, for_update: bool = False
) -> tuple[Case, Determination]:
    """The determination and its case, if the case is in the actor's scope (otherwise 404, like a
    missing one). A worker reaches only the decided versions of their own case."""
    det = session.get(Determination, determination_id)
    if det is None:
        raise NotFound("待遇核定不存在或不在您的数据范围内", field="determination_id")
    case = _case(session, actor, det.case_id, for_update=for_update)
    if _is_self(actor) and det.status not in DECIDED:
        raise NotFound("待遇核定不存在或不在您的数据范围内", field="determination_id")
    if for_update:
        session.refresh(det, with_for_update=True)
    return case, det


def dependants_of(session: Session, case: Case) -> list[Dependant]:
    return list(session.scalars(select(Dependant).where(Dependant.case_id == case.id).order_by(Dependant.id)))


def confirmed_decision(session: Session, case: Case) -> Decision | None:
    """The confirmation decision in force, when it confirmed the injury."""
    d = cases.current_decision(session, case)
    return d if d is not None and d.outcome == "confirmed" else None


def latest_appraisal(session: Session, case: Case) -> Appraisal | None:
    """The latest concluded appraisal of the case (a re-appraisal or review after the first)."""
    return session.scalar(
        select(Appraisal)
        .where(Appraisal.case_id == case.id, Appraisal.status == "concluded")
        .order_by(Appraisal.concluded_on.desc(), Appraisal.id.desc())
        .limit(1)
    )


def _is_self(actor: Any) -> bool:
    role = getattr(actor, "role", None)
    return role is not None and role.scope == "self"


def _case(session: Session, actor: Any, case_id: int, *, for_update: bool = False) -> Case:
    """The case in the actor's scope; any case for the system actor (demo, jobs)."""
    if getattr(actor, "role", None) is None:
        q = select(Case).where(Case.id == case_id)
        case = session.scalar(q.with_for_update() if for_update else q)
        if case is None:
            raise NotFound("案件不存在", field="case_id")
        return case
    return cases.get_case(session, actor, case_id, for_update=for_update)


def _require(actor: Any, permission: str) -> None:
    role = getattr(actor, "role", None)
    if role is not None and permission not in role.permissions:
        raise Forbidden(f"当前角色（{role.name}）没有“{P.PERMISSION_NAMES[permission]}”的权限")


def _check_version(det: Determination, version: int | None) -> None:
    if version is not None and version != det.version_lock:
        raise Conflict(
            f"该待遇核定已被他人更新（您看到的是第 {version} 版，现为第 {det.version_lock} 版），请刷新后重试",
            field="version",
        )


def _touch(det: Determination) -> None:
    det.version_lock = (det.version_lock or 0) + 1


def _add_maker(det: Determination, actor: Any) -> None:
    uid = getattr(actor, "user_id", None)
    if uid is None:
        return
    inputs = dict(det.inputs or {})
    ids = list(inputs.get("makers", []))
    if uid not in ids:
        ids.append(uid)
    inputs["makers"] = ids
    det.inputs = inputs


def _snapshot(det: Determination) -> dict[str, Any]:
    return {
        "case_id": det.case_id,
        "purpose": det.purpose,
        "chain_id": det.chain_id,
        "version": det.version,
        "status": det.status,
        "total_once_fen": det.total_once_fen,
        "total_monthly_fen": det.total_monthly_fen,
    }


# ---- dependants (供养亲属) --------------------------------------------------------------------------


def _dependant_fields(
    case: Case,
    *,
    name: Any,
    relation: Any,
    orphan_or_lone_elderly: Any,
    birth_date: Any,
    id_number: Any,
    phone: Any,
    school_until: Any,
    died_on: Any,
    note: Any,
) -> dict[str, Any]:
    name = clean_text(name, "name", "姓名", 64, required=True)
    if relation not in RELATION_NAMES:
        raise DomainError(f"与职工关系应为：{'、'.join(RELATION_NAMES.values())}", field="relation")
    if not isinstance(birth_date, dt.date):
        raise DomainError("请填写出生日期（YYYY-MM-DD）", field="birth_date")
    if birth_date > clock.today():
        raise DomainError("出生日期不能晚于今天", field="birth_date")
    out: dict[str, Any] = {
        "name": name,
        "relation": relation,
        "orphan_or_lone_elderly": bool(orphan_or_lone_elderly),
        "birth_date": birth_date,
        "school_until": school_until,
        "died_on": died_on,
        "note": clean_text(note, "note", "备注", 2000),
    }
    for value, field, label in ((school_until, "school_until", "在校至"), (died_on, "died_on", "死亡日期")):
        if value is not None and not isinstance(value, dt.date):
            raise DomainError(f"{label}应为日期（YYYY-MM-DD）", field=field)
        if value is not None and value < birth_date:
            raise DomainError(f"{label}不能早于出生日期", field=field)
    if school_until is not None and relation != "child":
        raise DomainError("只有子女可以登记在校至日期", field="school_until")
    raw_id = clean_text(id_number, "id_number", "身份证号码", 32)
    if raw_id:
        try:
            rid = parse_resident_id(raw_id)
        except InvalidId as e:
            raise DomainError(str(e), field="id_number") from None
        if rid.birth_date != birth_date:
            raise DomainError(
                f"出生日期与身份证号码不符（身份证号码中为 {rid.birth_date.isoformat()}）", field="birth_date"
            )
        out["id_enc"] = crypto.encrypt(rid.number, ID_CTX)
        out["id_masked"] = mask_id(rid.number)
    raw_phone = clean_text(phone, "phone", "联系电话", 32)
    if raw_phone:
        try:
            number = parse_mobile(raw_phone)
        except InvalidId as e:
            raise DomainError(str(e), field="phone") from None
        out["phone_enc"] = crypto.encrypt(number, PHONE_CTX)
        out["phone_masked"] = mask_phone(number)
    return out


def _dependant_case(session: Session, actor: Any, case_id: int) -> Case:
    _require(actor, P.BENEFIT_DETERMINE)
    case = _case(session, actor, case_id, for_update=True)
    if case.kind not in ("death", "missing"):
        raise DomainError("只有因工死亡或下落不明的案件才登记供养亲属", field="case_id")
    return case


def _dependant_audit(d: Dependant) -> dict[str, Any]:
    return {
        "name": d.name,
        "relation": d.relation,
        "orphan_or_lone_elderly": d.orphan_or_lone_elderly,
        "birth_date": d.birth_date,
        "id_masked": d.id_masked,
        "phone_masked": d.phone_masked,
        "school_until": d.school_until,
        "died_on": d.died_on,
    }


def add_dependant(session: Session, actor: Any, case_id: int, **fields: Any) -> Dependant:
    """Register a dependant (供养亲属) of a death or missing case: name, relation (spouse, child,
    parent, other), orphan or lone elderly, birth date, ID number and phone (encrypted, masked copy
    kept), in school until, died on."""
    case = _dependant_case(session, actor, case_id)
    values = _dependant_fields(case, **_dependant_defaults(fields))
    d = Dependant(
        case_id=case.id,
        created_by=getattr(actor, "user_id", None),
        created_at=clock.now(),
        **values,
    )
    session.add(d)
    session.flush()
    cases.record_event(
        session,
        actor,
        case,
        "dependant_add",
        note=f"{d.name}（{RELATION_NAMES[d.relation]}）",
        detail={"dependant_id": d.id, **_dependant_audit(d)},
    )
    return d


def update_dependant(session: Session, actor: Any, case_id: int, dependant_id: int, **fields: Any) -> Dependant:
    """Change a dependant's facts (an empty ID number or phone keeps the stored one)."""
    case = _dependant_case(session, actor, case_id)
    d = session.get(Dependant, dependant_id, with_for_update=True)
    if d is None or d.case_id != case.id:
        raise NotFound("供养亲属不存在", field="dependant_id")
    before = _dependant_audit(d)
    values = _dependant_fields(case, **_dependant_defaults(fields))
    for k, v in values.items():
        setattr(d, k, v)
    session.flush()
    cases.record_event(
        session,
        actor,
        case,
        "dependant_update",
        note=f"{d.name}（{RELATION_NAMES[d.relation]}）",
        detail={"dependant_id": d.id, "before": before, "after": _dependant_audit(d)},
    )
    return d


def _dependant_defaults(fields: dict[str, Any]) -> dict[str, Any]:
    keys = (
        "name",
        "relation",
        "orphan_or_lone_elderly",
        "birth_date",
        "id_number",
        "phone",
        "school_until",
        "died_on",
        "note",
    )
    unknown = set(fields) - set(keys)
    if unknown:
        raise DomainError(f"未知的字段：{'、'.join(sorted(unknown))}", field=sorted(unknown)[0])
    return {k: fields.get(k) for k in keys}


# ---- the calculator's proposal -------------------------------------------------------------------


@dataclass(frozen=True)
class Facts:
    """What the calculator is given for a case, and the rows it came from."""

    inp: calc.QuoteInput
    inputs: dict[str, Any]


def event_date(case: Case) -> dt.date:
    """The event date that decides which parameter values apply: the day of the injury (or death)
    in Beijing time."""
    return clock.local(case.occurred_at).date()


def case_facts(session: Session, case: Case) -> Facts:
    """The calculator's input for a benefits determination on ``case``: confirmed; an injury with its
    latest appraisal conclusion, a death or missing case with its dependants (those alive on the
    event date). Bills are not part of it (the claims part determines them)."""
    decision = confirmed_decision(session, case)
    if decision is None:
        raise DomainError(
            f"案件 {case.number} 尚未确认为职业伤害（或确认结论已被撤销），不能进行待遇核定", field="case_id"
        )
    day = event_date(case)
    inputs: dict[str, Any] = {
        "event_date": day.isoformat(),
        "region_code": case.county_code,
        "kind": case.kind,
        "decision_id": decision.id,
    }
    if case.kind == "injury":
        a = latest_appraisal(session, case)
        if a is None:
            raise DomainError(f"案件 {case.number} 尚无劳动能力鉴定结论，不能核定伤残待遇", field="case_id")
        inp = calc.QuoteInput(
            event_date=day,
            region_code=case.county_code,
            kind="injury",
            grade=a.grade,
            self_care=a.dependency or "none",
        )
        inputs.update(
            grade=a.grade,
            self_care=a.dependency or "none",
            appraisal_id=a.id,
            appraisal_number=a.number,
            concluded_on=a.concluded_on.isoformat() if a.concluded_on else None,
        )
    else:
        rows = [d for d in dependants_of(session, case) if d.died_on is None or d.died_on > day]
        deps = tuple(calc.DependantIn(d.relation, d.orphan_or_lone_elderly, ref=d.id) for d in rows)
        inp = calc.QuoteInput(event_date=day, region_code=case.county_code, kind=case.kind, dependants=deps)
        inputs.update(
            grade=None,
            self_care="none",
            dependants=[
                {"id": d.id, "relation": d.relation, "orphan_or_lone_elderly": d.orphan_or_lone_elderly} for d in rows
            ],
        )
    inputs.update(medical_bills=[], hospital_days=0)
    return Facts(inp, inputs)


def propose(session: Session, inp: calc.QuoteInput) -> calc.Quote:
    """The calculator's quote for ``inp`` with the parameter values in force on its event date for its
    region (oip.benefits.service)."""
    return calc_service.quote_for(session, inp)


# ---- drafting -------------------------------------------------------------------------------------


def _open_version(session: Session, case: Case, purpose: str, claim_id: int | None) -> Determination | None:
    q = select(Determination).where(
        Determination.case_id == case.id,
        Determination.purpose == purpose,
        Determination.status.in_(("draft", "submitted", "returned")),
    )
    q = (
        q.where(Determination.claim_id == claim_id)
        if claim_id is not None
        else q.where(Determination.claim_id.is_(None))
    )
    return session.scalar(q.limit(1))


def _chain_head(session: Session, case: Case, purpose: str, claim_id: int | None) -> Determination | None:
    """The latest version of the case's chain for ``purpose`` (one chain per case for benefits, one
    per claim for claims)."""
    q = select(Determination).where(Determination.case_id == case.id, Determination.purpose == purpose)
    q = (
        q.where(Determination.claim_id == claim_id)
        if claim_id is not None
        else q.where(Determination.claim_id.is_(None))
    )
    return session.scalar(q.order_by(Determination.version.desc(), Determination.id.desc()).limit(1))


def current_approved(session: Session, chain_id: int) -> Determination | None:
    return session.scalar(
        select(Determination).where(Determination.chain_id == chain_id, Determination.status == "approved").limit(1)
    )


def draft(
    session: Session,
    actor: Any,
    case: Case,
    *,
    quote: calc.Quote,
    inputs: dict[str, Any],
    event_date: dt.date,
    kind: str,
    purpose: str = "benefits",
    claim_id: int | None = None,
    note: str = "",
) -> Determination:
    """A draft determination of ``quote`` on ``case`` (loaded in scope, for update): the next version
    of the case's chain (of the claim's chain for ``purpose='claim'``), each quote line stored with
    its proposal. Refused while another version of the chain is open (draft, submitted, returned)."""
    _require(actor, P.BENEFIT_DETERMINE)
    if purpose not in PURPOSE_NAMES:
        raise DomainError("核定类别应为 benefits 或 claim", field="purpose")
    if purpose == "claim" and claim_id is None:
        raise DomainError("费用核定须指明费用申报", field="claim_id")
    if not quote.lines:
        raise DomainError("计算结果没有可核定的待遇项目", field="case_id")
    pending = _open_version(session, case, purpose, claim_id)
    if pending is not None:
        raise Conflict(
            f"本案已有{STATUS_NAMES[pending.status]}的{PURPOSE_NAMES[purpose]}（第 {pending.version} 版），"
            "请先办结或作废",
            field="determination_id",
        )
    head = _chain_head(session, case, purpose, claim_id)
    previous = current_approved(session, head.chain_id) if head is not None else None
    uid = getattr(actor, "user_id", None)
    det = Determination(
        case_id=case.id,
        purpose=purpose,
        claim_id=claim_id,
        chain_id=head.chain_id if head is not None else None,
        version=head.version + 1 if head is not None else 1,
        supersedes_id=previous.id if previous is not None else None,
        status="draft",
        event_date=event_date,
        region_code=case.county_code,
        kind=kind,
        inputs={**audit.jsonable(inputs), "makers": [uid] if uid is not None else []},
        note=clean_text(note, "note", "说明", 4000),
        made_by=uid,
        made_at=clock.now(),
        version_lock=1,
    )
    session.add(det)
    session.flush()
    if det.chain_id is None:
        det.chain_id = det.id
    for i, line in enumerate(quote.lines):
        session.add(
            DeterminationLine(
                determination_id=det.id,
                position=i,
                item=line.item,
                monthly=line.monthly,
                proposed_fen=line.amount_fen,
                amount_fen=line.amount_fen,
                formula=line.formula,
                parameters=list(line.parameters),
                detail=audit.jsonable(dict(line.detail)) or {},
                dependant_id=line.dependant_ref,
                starts_on=line.starts_on,
            )
        )
    session.flush()
    _totals(session, det)
    cases.record_event(
        session,
        actor,
        case,
        "benefit_open",
        note=f"{PURPOSE_NAMES[purpose]}第 {det.version} 版：一次性 {yuan(det.total_once_fen)} 元，"
        f"按月 {yuan(det.total_monthly_fen)} 元",
        detail={"determination_id": det.id, **_snapshot(det)},
    )
    return det


def open_determination(session: Session, actor: Any, case_id: int, *, note: str = "") -> Determination:
    """Open a benefits determination (待遇核定) on a confirmed case: the calculator proposes from the
    appraisal conclusion (injury) or the dependants (death, missing)."""
    _require(actor, P.BENEFIT_DETERMINE)
    case = _case(session, actor, case_id, for_update=True)
    f = case_facts(session, case)
    quote = propose(session, f.inp)
    return draft(
        session, actor, case, quote=quote, inputs=f.inputs, event_date=f.inp.event_date, kind=case.kind, note=note
    )


def _totals(session: Session, det: Determination) -> None:
    once = monthly = 0
    for line in lines_of(session, det):
        if line.monthly:
            monthly += line.amount_fen
        else:
            once += line.amount_fen
    det.total_once_fen, det.total_monthly_fen = once, monthly


def _amount(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise DomainError("核定金额应为整数（分）", field="amount_fen")
    if not 0 <= value <= MAX_FEN:
        raise DomainError("核定金额应为不小于零的合理金额（分）", field="amount_fen")
    return value


def adjust_line(
    session: Session,
    actor: Any,
    determination_id: int,
    line_id: int,
    *,
    amount_fen: Any,
    reason: Any,
    version: int | None = None,
) -> Determination:
    """Change one line's amount, with the reason (the proposal stays beside it). Back to the proposed
    amount clears the adjustment (the reason is still audited)."""
    _require(actor, P.BENEFIT_DETERMINE)
    case, det = get_determination(session, actor, determination_id, for_update=True)
    _check_version(det, version)
    if det.status not in EDITABLE:
        raise Conflict(f"该核定当前为“{STATUS_NAMES[det.status]}”，不能调整", field="status")
    line = session.get(DeterminationLine, line_id)
    if line is None or line.determination_id != det.id:
        raise NotFound("核定明细不存在", field="line_id")
    amount = _amount(amount_fen)
    why = clean_text(reason, "reason", "调整理由", 2000, required=True)
    before = {"amount_fen": line.amount_fen, "adjust_reason": line.adjust_reason}
    line.amount_fen = amount
    line.adjust_reason = None if amount == line.proposed_fen else why
    detail = dict(line.detail or {})
    if amount != line.proposed_fen:
        detail["adjusted_by"] = getattr(actor, "user_id", None)
        detail["adjusted_at"] = clock.now().isoformat()
    else:
        detail.pop("adjusted_by", None)
        detail.pop("adjusted_at", None)
    line.detail = detail
    _add_maker(det, actor)
    session.flush()
    _totals(session, det)
    _touch(det)
    audit.record(
        session,
        actor,
        "benefit.determination_adjust",
        entity_type="determination",
        entity_id=det.id,
        before={**before, "item": line.item},
        after={
            "line_id": line.id,
            "item": line.item,
            "proposed_fen": line.proposed_fen,
            "amount_fen": line.amount_fen,
            "reason": why,
            "total_once_fen": det.total_once_fen,
            "total_monthly_fen": det.total_monthly_fen,
        },
        subjects=[case.person_id],
    )
    return det


def submit(
    session: Session, actor: Any, determination_id: int, *, note: Any = "", version: int | None = None
) -> Determination:
    """Send the draft (or a returned version) to a checker."""
    _require(actor, P.BENEFIT_DETERMINE)
    case, det = get_determination(session, actor, determination_id, for_update=True)
    _check_version(det, version)
    if det.status not in EDITABLE:
        raise Conflict(f"该核定当前为“{STATUS_NAMES[det.status]}”，不能提交", field="status")
    text = clean_text(note, "note", "说明", 4000)
    if text:
        det.note = text
    det.status = "submitted"
    det.submitted_at = clock.now()
    _add_maker(det, actor)
    _touch(det)
    session.flush()
    cases.record_event(
        session,
        actor,
        case,
        "benefit_submit",
        note=f"{PURPOSE_NAMES[det.purpose]}第 {det.version} 版，审批金额 {yuan(approval_amount(det))} 元",
        detail={"determination_id": det.id, **_snapshot(det)},
    )
    return det


def cancel_draft(
    session: Session, actor: Any, determination_id: int, *, reason: Any, version: int | None = None
) -> Determination:
    """Discard a draft or returned version (nothing was owed from it)."""
    _require(actor, P.BENEFIT_DETERMINE)
    case, det = get_determination(session, actor, determination_id, for_update=True)
    _check_version(det, version)
    if det.status not in EDITABLE:
        raise Conflict(f"该核定当前为“{STATUS_NAMES[det.status]}”，不能作废", field="status")
    why = clean_text(reason, "reason", "作废理由", 2000, required=True)
    det.status = "cancelled"
    det.review_note = why
    _touch(det)
    session.flush()
    cases.record_event(
        session,
        actor,
        case,
        "benefit_cancel",
        note=f"第 {det.version} 版：{why}",
        detail={"determination_id": det.id, **_snapshot(det)},
    )
    return det


# ---- approval (复核审批) ----------------------------------------------------------------------------


def approval_limit(
    session: Session, role_code: str, region_code: str, day: dt.date | None = None
) -> tuple[bool, int | None]:
    """(may approve at all, the limit in fen or None for no limit) for a role on ``day`` in a region."""
    return limits.limit_for(parameters.get(session, APPROVAL_LIMITS, day or clock.today(), region_code), role_code)


def approval_refusal(session: Session, actor: Any, det: Determination) -> str | None:
    """Why ``actor`` may not approve ``det`` (Chinese), or None when they may."""
    role = getattr(actor, "role", None)
    if role is not None and P.BENEFIT_APPROVE not in role.permissions:
        return f"当前角色（{role.name}）没有待遇核定审批权限"
    uid = getattr(actor, "user_id", None)
    if uid is not None and uid in makers(det):
        return "经办与复核须由不同人员办理：您参与了本核定的计算、调整或提交，不能审批"
    if role is None:
        return None  # the system actor (demo generator) is bound by no role limit
    allowed, limit = approval_limit(session, role.code, det.region_code)
    if not allowed:
        return f"当前角色（{role.name}）未设待遇核定审批限额，不能审批"
    amount = approval_amount(det)
    if limit is not None and amount > limit:
        return (
            f"审批金额 {yuan(amount)} 元（一次性待遇加 12 个月按月待遇）超过本角色（{role.name}）的审批限额 "
            f"{yuan(limit)} 元，请报上级经办机构审批"
        )
    return None


def may_approve(session: Session, actor: Any, det: Determination) -> bool:
    return det.status == "submitted" and approval_refusal(session, actor, det) is None


def _payee_note(det: Determination, lines: list[DeterminationLine]) -> str:
    once = [ln for ln in lines if not ln.monthly and ln.amount_fen > 0]
    monthly = [ln for ln in lines if ln.monthly and ln.amount_fen > 0]
    parts = []
    if once:
        parts.append(
            "一次性待遇由社会保险经办机构支付至领取人登记的本人银行账户（供养亲属的待遇支付至该供养亲属的账户）"
        )
    if monthly:
        start = min((ln.starts_on for ln in monthly if ln.starts_on), default=None)
        parts.append(
            "按月待遇"
            + (f"自{start.year}年{start.month}月起" if start else "")
            + "按月支付，领取人须每年进行一次领取待遇资格认证，未按时认证的暂停发放，认证后补发"
        )
    if det.supersedes_id is not None:
        parts.append("本通知书替代此前的核定，已支付的款项予以抵扣，只支付差额")
    return "；".join(parts) + "。" if parts else ""


def letter_content(
    session: Session, actor: Any, case: Case, det: Determination, lines: list[DeterminationLine]
) -> letters.LetterContent:
    """The 待遇核定通知书 (a claim's: 费用核定通知书): the facts of the case, every line with its
    formula, the totals, how it is paid, and the appeal rights (行政复议 60 days, 行政诉讼 6 months, as
    the confirmation letters)."""
    f = letters.facts(session, case)
    day = det.approved_on or clock.today()
    deps = {d.id: d for d in dependants_of(session, case)}
    body: list[str] = []
    basis = "因工死亡" if case.kind == "death" else "下落不明" if case.kind == "missing" else "职业伤害"
    inputs = det.inputs or {}
    intro = f"{f.worker}（身份证号码 {f.id_masked}）于{f.occurred}发生的{basis}已依法确认（案件编号 {case.number}）"
    if inputs.get("appraisal_number"):
        level = appraisal_rules.grade_name(inputs.get("grade"))
        intro += f"，劳动能力鉴定结论为{level}、{letters.SELF_CARE.get(inputs.get('self_care') or 'none', '')}"
    intro += (
        f"。经核定，{f.worker}" + ("的供养亲属" if case.kind != "injury" else "") + "依法享受以下职业伤害保障待遇："
    )
    claim = session.get(Claim, det.claim_id) if det.claim_id is not None else None
    if claim is not None:  # 费用核定: this claim's bills, not the whole of the benefits
        intro = (
            f"{f.worker}（身份证号码 {f.id_masked}）于{chinese_date(claim.received_on)}提交的费用申报"
            f"（编号 {claim.number}，案件编号 {case.number}）经审核，核定如下："
        )
    body.append(intro)
    for i, ln in enumerate(lines, 1):
        name = calc.ITEM_NAMES.get(ln.item, ln.item)
        if ln.dependant_id in deps:
            d = deps[ln.dependant_id]
            name += f"（{d.name}，{RELATION_NAMES[d.relation]}）"
        unit = "元/月" if ln.monthly else "元"
        text = f"{i}. {name}：{yuan(ln.amount_fen)} {unit}。计算方法：{ln.formula.rstrip('。')}。"
        if ln.monthly and ln.starts_on:
            text += f"自{ln.starts_on.year}年{ln.starts_on.month}月起按月支付。"
        if ln.adjust_reason:
            text += (
                f"（核定调整：计算金额 {yuan(ln.proposed_fen)} {unit}，调整理由：{ln.adjust_reason.rstrip('。')}。）"
            )
        body.append(text)
    body.append(f"以上一次性待遇合计 {yuan(det.total_once_fen)} 元；按月待遇合计 {yuan(det.total_monthly_fen)} 元/月。")
    payee = _payee_note(det, lines)
    if payee:
        body.append(payee)
    if det.version > 1:
        body.append(f"本通知书为第 {det.version} 版核定。")
    return letters.LetterContent(
        addressee=f.worker if case.kind == "injury" else f"{f.worker}的近亲属",
        paragraphs=tuple(body),
        issued_on=day,
        facts=f.rows(
            ("核定版本", f"第 {det.version} 版"),
            ("一次性待遇合计", f"{yuan(det.total_once_fen)} 元"),
            ("按月待遇合计", f"{yuan(det.total_monthly_fen)} 元/月"),
            ("核定日期", chinese_date(day)),
        ),
        legal_basis=f"{letters.MEASURES}关于职业伤害保障待遇的规定；{letters.REGULATIONS}第五章；{letters.PROCEDURE}。",
        appeal_rights=letters.appeal_rights(session, f, day, "本通知书"),
        organisation=getattr(actor, "organisation_name", None) or None,
        detail={"determination_id": det.id, "version": det.version},
    )


def _payable_key(det: Determination, line: DeterminationLine) -> str:
    dep = f":{line.dependant_id}" if line.dependant_id is not None else ""
    return f"line:{det.chain_id}:{line.item}{dep}:v{det.version}"


def _supersede(session: Session, actor: Any, previous: Determination, det: Determination) -> list[int]:
    """The earlier approved version stands aside; its unpaid once payables are cancelled."""
    previous.status = "superseded"
    _touch(previous)
    cancelled = []
    rows = session.scalars(
        select(Payable)
        .join(DeterminationLine, DeterminationLine.id == Payable.line_id)
        .where(
            DeterminationLine.determination_id == previous.id,
            Payable.kind == "once",
            Payable.status.in_(("due", "held")),
        )
        .with_for_update(of=Payable)
    )
    for p in rows:
        payables.cancel(p, f"核定第 {previous.version} 版已被第 {det.version} 版替代")
        cancelled.append(p.id)
    return cancelled


def _owe_once_items(session: Session, case: Case, det: Determination, lines: list[DeterminationLine]) -> dict[str, Any]:
    """A payable for each once line: what the line allows less what is already owed or paid for the
    same item and payee across the chain. Returns what was owed and any amount already paid beyond
    a lowered line (to be recovered)."""
    owed, over = [], []
    day = det.approved_on
    for line in lines:
        if line.monthly or line.amount_fen <= 0:
            continue
        already = payables.owed_for_line(session, line)
        diff = line.amount_fen - already
        if diff < 0:
            over.append({"line_id": line.id, "item": line.item, "over_fen": -diff})
            continue
        if diff == 0:
            continue
        p = payables.add(
            session,
            line=line,
            case_id=case.id,
            amount_fen=diff,
            key=_payable_key(det, line),
            due_on=day,
            region_code=case.county_code,
            person_id=None if line.dependant_id is not None else case.person_id,
            dependant_id=line.dependant_id,
            claim_id=det.claim_id,
        )
        owed.append({"payable_id": p.id, "item": line.item, "amount_fen": p.amount_fen})
    return {"owed": owed, "overpaid": over}


def approve(
    session: Session, actor: Any, determination_id: int, *, note: Any = "", version: int | None = None
) -> Determination:
    """The checker approves: maker-checker and the role's limit; then the letter, the superseding of
    the earlier version, the once payables and the ``ON_APPROVED`` hooks — all in one transaction."""
    _require(actor, P.BENEFIT_APPROVE)
    case, det = get_determination(session, actor, determination_id, for_update=True)
    _check_version(det, version)
    if det.status != "submitted":
        raise Conflict(f"该核定当前为“{STATUS_NAMES[det.status]}”，不能审批", field="status")
    refusal = approval_refusal(session, actor, det)
    if refusal:
        raise Forbidden(refusal, field="approved_by")
    det.status = "approved"
    det.approved_by = getattr(actor, "user_id", None)
    det.approved_at = clock.now()
    det.approved_on = clock.today()
    det.review_note = clean_text(note, "note", "审批意见", 4000)
    _touch(det)
    previous = session.get(Determination, det.supersedes_id) if det.supersedes_id else None
    if previous is None or previous.status != "approved":
        previous = current_approved(session, det.chain_id)
        previous = previous if previous is not None and previous.id != det.id else None
    session.flush()
    cancelled = _supersede(session, actor, previous, det) if previous is not None else []
    if previous is not None:
        det.supersedes_id = previous.id
    session.flush()
    lines = lines_of(session, det)
    owing = _owe_once_items(session, case, det, lines)
    letter = letters.issue_letter(
        session,
        actor,
        case,
        "claim_determination" if det.purpose == "claim" else "benefit_determination",
        source_id=det.id,
        content=letter_content(session, actor, case, det, lines),
    )
    det.letter_id = letter.id
    session.flush()
    over = sum(o["over_fen"] for o in owing["overpaid"])
    cases.record_event(
        session,
        actor,
        case,
        "benefit_approve",
        note=f"{PURPOSE_NAMES[det.purpose]}第 {det.version} 版：一次性 {yuan(det.total_once_fen)} 元，"
        f"按月 {yuan(det.total_monthly_fen)} 元"
        + (f"；替代第 {previous.version} 版" if previous is not None else "")
        + (f"；已多支付 {yuan(over)} 元，须追回" if over else ""),
        detail={
            "determination_id": det.id,
            **_snapshot(det),
            "approval_amount_fen": approval_amount(det),
            "superseded_id": previous.id if previous is not None else None,
            "cancelled_payables": cancelled,
            **owing,
            "letter_id": letter.id,
        },
    )
    for hook in ON_APPROVED:
        hook(session, actor, det)
    return det


def return_(
    session: Session, actor: Any, determination_id: int, *, reason: Any, version: int | None = None
) -> Determination:
    """The checker sends it back to the maker with the reason (it becomes editable again)."""
    _require(actor, P.BENEFIT_APPROVE)
    case, det = get_determination(session, actor, determination_id, for_update=True)
    _check_version(det, version)
    if det.status != "submitted":
        raise Conflict(f"该核定当前为“{STATUS_NAMES[det.status]}”，不能退回", field="status")
    uid = getattr(actor, "user_id", None)
    if uid is not None and uid in makers(det):
        raise Forbidden("经办与复核须由不同人员办理：您参与了本核定的经办，不能退回", field="approved_by")
    why = clean_text(reason, "reason", "退回理由", 4000, required=True)
    det.status = "returned"
    det.review_note = why
    _touch(det)
    session.flush()
    cases.record_event(
        session,
        actor,
        case,
        "benefit_return",
        note=f"第 {det.version} 版：{why}",
        detail={"determination_id": det.id, **_snapshot(det), "reason": why},
    )
    return det


def pending_approvals(
    session: Session, actor: Any, *, page: int = 1, size: int = 30
) -> tuple[list[Determination], int]:
    """Submitted determinations of cases in the actor's scope that the actor may approve (not a
    maker, within the role's limit in the case's region), oldest submission first."""
    role = getattr(actor, "role", None)
    if role is None or P.BENEFIT_APPROVE not in role.permissions:
        return [], 0
    uid = actor.user_id
    base = (
        select(Determination)
        .join(Case, Case.id == Determination.case_id)
        .where(
            Determination.status == "submitted",
            case_condition(actor),
            Determination.made_by.is_distinct_from(uid),
            ~func.coalesce(Determination.inputs["makers"], cast([], JSONB)).contains([uid]),
        )
    )
    amount = Determination.total_once_fen + 12 * Determination.total_monthly_fen
    regions = session.scalars(base.with_only_columns(Determination.region_code).distinct()).all()
    within = []
    for region in regions:
        allowed, limit = approval_limit(session, role.code, region)
        if allowed:
            cond = Determination.region_code == region
            within.append(cond if limit is None else and_(cond, amount <= limit))
    if not within:
        return [], 0
    q = base.where(or_(*within))
    total = session.scalar(select(func.count()).select_from(q.subquery())) or 0
    rows = session.scalars(
        q.order_by(Determination.submitted_at, Determination.id).offset((page - 1) * size).limit(size)
    ).all()
    return list(rows), int(total)


def count_lines(session: Session, det: Determination) -> int:
    return int(
        session.scalar(
            select(func.count()).select_from(DeterminationLine).where(DeterminationLine.determination_id == det.id)
        )
        or 0
    )
