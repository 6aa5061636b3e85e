"""The expert pools (劳动能力鉴定医疗卫生专家库): the only write path for experts and their ties.

A city officer with ``appraisal.manage`` keeps its city committee's pool, the region's officer the
regional committee's (``450000``); the region sees every pool. Each write is audited in the
caller's transaction; reading an expert whose ties name people is audited as a read of personal
data (the people's masked ID numbers are shown)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from oip.appraisal import draw, specialties
from oip.appraisal.models import Expert, ExpertTie
from oip.appraisal.scope import REGIONAL_COMMITTEE, committee_of, expert_condition, manages_committee, sees_committee
from oip.auth.scope import out_of_scope
from oip.auth.service import Principal
from oip.core import audit, clock, crypto
from oip.core.errors import Conflict, DomainError, Forbidden, NotFound
from oip.core.ids import InvalidId, mask_id, mask_phone, parse_mobile, parse_resident_id
from oip.core.pagination import Page
from oip.core.validation import clean_text
from oip.platforms.models import Platform
from oip.reference.models import Region
from oip.workers.models import Person
from oip.workers.service import ID_CTX, visible_accounts

PHONE_CTX = "appraisal_expert.phone"
PAGE_SIZE = 50

TIE_KINDS = {"platform": "平台企业", "person": "人员"}
# Suggestions for the relation (free text): what makes an expert stand aside (条例 art. 27: 利害关系).
RELATIONS = {
    "platform": ("平台企业医疗顾问", "在平台企业任职或兼职", "其他利害关系"),
    "person": ("近亲属", "其他利害关系"),
}

audit.register_actions(
    {
        "appraisal.expert.create": "登记鉴定专家",
        "appraisal.expert.update": "修改鉴定专家信息",
        "appraisal.expert.deactivate": "停用鉴定专家",
        "appraisal.expert.activate": "恢复鉴定专家",
        "appraisal.expert.tie": "登记鉴定专家回避关系",
        "appraisal.expert.untie": "解除鉴定专家回避关系",
        "appraisal.expert.view": "查看鉴定专家（含回避人员）",
    }
)


def _expert_names(session: Session, ids: list[str]) -> dict[str, str]:
    nums = [int(i) for i in ids if i.isdigit()]
    rows = session.execute(select(Expert.id, Expert.name, Expert.specialty_code).where(Expert.id.in_(nums)))
    return {str(i): f"{n}（{specialties.name(s)}）" for i, n, s in rows}


audit.register_entity_names("appraisal_expert", "鉴定专家", _expert_names)


# ---- committees ----------------------------------------------------------------------------------


def committees(session: Session) -> dict[str, str]:
    """Every appraisal committee: code → name (the regional one first, then the cities)."""
    rows = session.scalars(select(Region).where(Region.level == "city", Region.parent_code == "450000"))
    out = {REGIONAL_COMMITTEE: "自治区劳动能力鉴定委员会"}
    out.update({r.code: f"{r.name}劳动能力鉴定委员会" for r in sorted(rows, key=lambda r: r.code)})
    return out


def visible_committees(session: Session, actor: Principal) -> dict[str, str]:
    return {k: v for k, v in committees(session).items() if sees_committee(actor, k)}


def committee_name(session: Session, code: str) -> str:
    return committees(session).get(code, code)


# ---- reads ---------------------------------------------------------------------------------------


def list_experts(
    session: Session,
    actor: Principal,
    *,
    committee: str | None = None,
    specialty: str | None = None,
    active: bool | None = None,
    q: str | None = None,
    page: int = 1,
    size: int = PAGE_SIZE,
) -> Page[Expert]:
    cond = [expert_condition(actor)]
    if committee:
        cond.append(Expert.committee_code == committee)
    if specialty:
        if specialty not in specialties.specialties():
            raise DomainError(f"未知的专业 {specialty}", field="specialty")
        cond.append(Expert.specialty_code == specialty)
    if active is not None:
        cond.append(Expert.active.is_(active))
    if q and q.strip():
        cond.append(
            Expert.name.contains(q.strip(), autoescape=True) | Expert.organisation.contains(q.strip(), autoescape=True)
        )
    size = max(1, min(int(size), 500))
    total = session.scalar(select(func.count()).select_from(Expert).where(*cond)) or 0
    pages = max(1, -(-total // size))
    page = max(1, min(int(page), pages))
    rows = list(
        session.scalars(
            select(Expert)
            .where(*cond)
            .order_by(Expert.committee_code, Expert.specialty_code, Expert.name, Expert.id)
            .offset((page - 1) * size)
            .limit(size)
        )
    )
    return Page(rows, total, page, size)


def get_expert(session: Session, actor: Principal, expert_id: int, *, for_update: bool = False) -> Expert:
    q = select(Expert).where(Expert.id == expert_id, expert_condition(actor))
    if for_update:
        q = q.with_for_update(of=Expert)
    e = session.scalar(q)
    if e is None:
        raise out_of_scope("鉴定专家")
    return e


def view_expert(session: Session, actor: Principal, expert_id: int) -> Expert:
    """An expert for display; when its ties name people (masked), the read is audited."""
    e = get_expert(session, actor, expert_id)
    people = [t for t in e.ties if t.kind == "person"]
    if people:
        audit.record(
            session,
            actor,
            "appraisal.expert.view",
            entity_type="appraisal_expert",
            entity_id=e.id,
            subjects=[t.person_id for t in people if t.person_id],
            purpose="查看鉴定专家的回避关系",
        )
    return e


def phone_of(e: Expert) -> str | None:
    return crypto.decrypt(e.phone_enc, PHONE_CTX) if e.phone_enc else None


# ---- writes --------------------------------------------------------------------------------------

FIELDS = ("name", "specialty_code", "organisation", "title", "phone", "note")


def _managed(actor: Principal, committee_code: str) -> None:
    if not manages_committee(actor, committee_code):
        mine = committee_of(actor)
        raise Forbidden(
            "只能维护本级劳动能力鉴定委员会的专家库" + ("" if mine is None else f"（{mine}）"), field="committee_code"
        )


def _specialty(value: Any) -> str:
    code = clean_text(value, "specialty_code", "专业", 32, required=True)
    if code not in specialties.specialties():
        names = "、".join(s.name for s in specialties.specialties().values())
        raise DomainError(f"未知的专业 {code}；可选：{names}", field="specialty_code")
    return code


def _title(value: Any) -> str:
    t = clean_text(value, "title", "职称", 32, required=True)
    if t not in specialties.titles():
        raise DomainError(
            f"职称“{t}”不符合专家库条件：应具有医疗卫生高级专业技术职务任职资格（{'、'.join(specialties.titles())}）",
            field="title",
        )
    return t


def _phone(value: Any) -> str | None:
    raw = str(value or "").strip()
    if not raw:
        return None
    try:
        return parse_mobile(raw)
    except InvalidId as e:
        raise DomainError(str(e), field="phone") from None


def _set_phone(e: Expert, number: str | None) -> None:
    e.phone_enc = crypto.encrypt(number, PHONE_CTX) if number else None
    e.phone_hint = mask_phone(number) if number else ""


def _clean(changes: dict) -> dict:
    out: dict[str, Any] = {}
    for field, value in changes.items():
        if field == "name":
            out[field] = clean_text(value, "name", "姓名", 64, required=True)
        elif field == "specialty_code":
            out[field] = _specialty(value)
        elif field == "organisation":
            out[field] = clean_text(value, "organisation", "所在单位", 128, required=True)
        elif field == "title":
            out[field] = _title(value)
        elif field == "phone":
            out[field] = _phone(value)
        elif field == "note":
            out[field] = clean_text(value, "note", "备注", 2000)
        else:
            raise DomainError(f"不能修改的字段 {field}", field=field)
    return out


def snapshot(e: Expert) -> dict:
    """What the audit keeps of an expert (phone masked)."""
    return {
        "committee_code": e.committee_code,
        "name": e.name,
        "specialty_code": e.specialty_code,
        "organisation": e.organisation,
        "title": e.title,
        "phone": e.phone_hint,
        "active": e.active,
        "note": e.note,
    }


def create_expert(
    session: Session,
    actor: Principal,
    *,
    name: Any,
    specialty_code: Any,
    organisation: Any,
    title: Any,
    committee_code: Any = None,
    phone: Any = None,
    note: Any = "",
) -> Expert:
    """A new expert in the pool of the caller's committee (``committee_code`` defaults to it)."""
    committee = str(committee_code or "").strip() or committee_of(actor) or ""
    if committee not in committees(session):
        raise DomainError(f"劳动能力鉴定委员会 {committee} 不存在", field="committee_code")
    _managed(actor, committee)
    v = _clean({"name": name, "specialty_code": specialty_code, "organisation": organisation, "title": title})
    v.update(_clean({"phone": phone, "note": note}))
    e = Expert(
        committee_code=committee,
        name=v["name"],
        specialty_code=v["specialty_code"],
        organisation=v["organisation"],
        title=v["title"],
        active=True,
        note=v["note"],
    )
    _set_phone(e, v["phone"])
    session.add(e)
    session.flush()
    audit.record(
        session, actor, "appraisal.expert.create", entity_type="appraisal_expert", entity_id=e.id, after=snapshot(e)
    )
    return e


def update_expert(session: Session, actor: Principal, expert_id: int, changes: dict) -> Expert:
    """Change an expert's details (a blank phone removes it; leave ``phone`` out to keep it)."""
    e = get_expert(session, actor, expert_id, for_update=True)
    _managed(actor, e.committee_code)
    v = _clean(changes)
    before = snapshot(e)
    for field, value in v.items():
        if field == "phone":
            if value != phone_of(e):
                _set_phone(e, value)
        else:
            setattr(e, field, value)
    b, a = audit.diff(before, snapshot(e))
    if a:
        session.flush()
        audit.record(
            session, actor, "appraisal.expert.update", entity_type="appraisal_expert", entity_id=e.id, before=b, after=a
        )
    return e


def set_active(session: Session, actor: Principal, expert_id: int, active: bool, reason: Any = "") -> Expert:
    """Deactivate (with a reason: never drawn again) or reactivate an expert."""
    e = get_expert(session, actor, expert_id, for_update=True)
    _managed(actor, e.committee_code)
    reason = clean_text(reason, "reason", "理由", 2000, required=not active)
    if e.active == active:
        raise Conflict("该专家已是在册状态" if active else "该专家已停用", field="active")
    e.active = active
    e.inactive_reason = None if active else reason
    session.flush()
    audit.record(
        session,
        actor,
        "appraisal.expert.activate" if active else "appraisal.expert.deactivate",
        entity_type="appraisal_expert",
        entity_id=e.id,
        before={"active": not active},
        after={"active": active, "reason": reason or None},
    )
    return e


# ---- ties ----------------------------------------------------------------------------------------


def tie_snapshot(t: ExpertTie) -> dict:
    return {
        "tie_id": t.id,
        "kind": t.kind,
        "platform": t.platform.code if t.platform is not None else None,
        "person_id": t.person_id,
        "person_name": t.person_name or None,
        "id_masked": t.id_masked or None,
        "relation": t.relation,
        "note": t.note,
    }


def add_tie(
    session: Session,
    actor: Principal,
    expert_id: int,
    *,
    platform_code: Any = None,
    person_id: Any = None,
    id_number: Any = None,
    person_name: Any = "",
    relation: Any,
    note: Any = "",
) -> ExpertTie:
    """Record that an expert stands aside for a platform (by code) or a person (by person id, in the
    caller's scope, or by resident ID number: the person need not be registered)."""
    e = get_expert(session, actor, expert_id, for_update=True)
    _managed(actor, e.committee_code)
    given = [x for x in (platform_code, person_id, id_number) if x not in (None, "")]
    if len(given) != 1:
        raise DomainError("请填写平台企业，或人员的身份证号码（只填一项）", field="platform_code")
    relation = clean_text(relation, "relation", "关系", 64, required=True)
    note = clean_text(note, "note", "备注", 2000)
    tie = ExpertTie(expert_id=e.id, relation=relation, note=note, added_by=actor.user_id, added_at=clock.now())
    subjects: list[int] = []
    if platform_code not in (None, ""):
        plat = session.scalar(select(Platform).where(Platform.code == str(platform_code).strip()))
        if plat is None:
            raise NotFound(f"平台企业 {platform_code} 不存在", field="platform_code")
        if any(t.platform_id == plat.id for t in e.current_ties):
            raise Conflict("已登记该专家与此平台企业的回避关系", field="platform_code")
        tie.kind, tie.platform_id, tie.platform = "platform", plat.id, plat
    else:
        tie.kind = "person"
        if person_id not in (None, ""):
            try:
                pid = int(person_id)
            except (TypeError, ValueError):
                raise DomainError("人员编号应为整数", field="person_id") from None
            accounts = visible_accounts(session, actor, pid)
            if not accounts:
                raise out_of_scope("人员")
            person: Person = accounts[0].person
            tie.person_id, tie.id_enc, tie.id_bidx, tie.id_masked = (
                person.id,
                person.id_enc,
                person.id_bidx,
                person.id_masked,
            )
            tie.person_name = clean_text(person_name, "person_name", "姓名", 64) or person.name
            subjects = [person.id]
        else:
            try:
                number = parse_resident_id(str(id_number)).number
            except InvalidId as err:
                raise DomainError(str(err), field="id_number") from None
            tie.id_enc = crypto.encrypt(number, ID_CTX)
            tie.id_bidx = crypto.blind_index(number, ID_CTX)
            tie.id_masked = mask_id(number)
            tie.person_name = clean_text(person_name, "person_name", "姓名", 64, required=True)
        if any(t.id_bidx == tie.id_bidx for t in e.current_ties if t.kind == "person"):
            raise Conflict("已登记该专家与此人员的回避关系", field="id_number")
    e.ties.append(tie)
    session.flush()
    audit.record(
        session,
        actor,
        "appraisal.expert.tie",
        entity_type="appraisal_expert",
        entity_id=e.id,
        after=tie_snapshot(tie),
        subjects=subjects,
    )
    return tie


def remove_tie(session: Session, actor: Principal, expert_id: int, tie_id: int, reason: Any) -> ExpertTie:
    """End a tie (kept on record with who ended it, when and why)."""
    e = get_expert(session, actor, expert_id, for_update=True)
    _managed(actor, e.committee_code)
    tie = next((t for t in e.ties if t.id == tie_id), None)
    if tie is None:
        raise NotFound(f"该专家没有编号为 {tie_id} 的回避关系", field="tie_id")
    if tie.removed_at is not None:
        raise Conflict("该回避关系已解除", field="tie_id")
    tie.removed_reason = clean_text(reason, "reason", "解除理由", 2000, required=True)
    tie.removed_by, tie.removed_at = actor.user_id, clock.now()
    session.flush()
    audit.record(
        session,
        actor,
        "appraisal.expert.untie",
        entity_type="appraisal_expert",
        entity_id=e.id,
        before=tie_snapshot(tie),
        after={"tie_id": tie.id, "removed": True, "reason": tie.removed_reason},
        subjects=[tie.person_id] if tie.person_id else [],
    )
    return tie


# ---- the draw's view of a pool -------------------------------------------------------------------


def candidates(session: Session, committee_code: str) -> list[draw.Candidate]:
    """Every expert of a committee's pool (active or not), as the draw sees them."""
    rows = session.execute(
        select(Expert.id, Expert.specialty_code, Expert.active).where(Expert.committee_code == committee_code)
    )
    return [draw.Candidate(i, s, a) for i, s, a in rows]


def tied(session: Session, expert_ids: list[int], *, person: Person | None, platform_ids: list[int]) -> dict[int, str]:
    """Which of ``expert_ids`` stand aside for the person (by ID number) or one of the platforms:
    expert id → reason code (``tied_person`` before ``tied_platform``)."""
    if not expert_ids:
        return {}
    out: dict[int, str] = {}
    rows = session.scalars(select(ExpertTie).where(ExpertTie.expert_id.in_(expert_ids), ExpertTie.removed_at.is_(None)))
    for t in rows:
        if t.kind == "person" and person is not None and t.id_bidx == person.id_bidx:
            out[t.expert_id] = "tied_person"
        elif t.kind == "platform" and t.platform_id in platform_ids:
            out.setdefault(t.expert_id, "tied_platform")
    return out
