"""Register of workers: the only write path, and scoped, audited reads.

A registration record (from the API, a JSON batch or a CSV upload) has the fields
``platform_account_id, name, id_number, phone, county_code, registered_on``. Each record is
validated on its own; a batch stores the accepted ones and reports every rejected one with its
reasons, and always ``received = accepted + rejected``. The whole batch is one transaction: a
crash leaves nothing of it behind. One person on several platforms is one Person (matched by the
keyed blind index of the ID number) with several PlatformAccounts.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from oip.auth import permissions as P
from oip.auth.scope import account_condition, out_of_scope
from oip.auth.service import Principal
from oip.core import audit, clock, crypto
from oip.core.errors import DomainError, NotFound
from oip.core.ids import InvalidId, mask_id, mask_phone, parse_mobile, parse_resident_id
from oip.platforms.models import Platform
from oip.reference.models import Region
from oip.workers.models import Person, PlatformAccount, RegistrationBatch

FIELDS = ("platform_account_id", "name", "id_number", "phone", "county_code", "registered_on")
STATUSES = {"active": "在册", "left": "已退出"}
ID_CTX, PHONE_CTX = "person.id_number", "account.phone"


@dataclass
class Outcome:
    """What happened to one record. ``row`` is the record's number in its batch (1-based)."""

    row: int
    platform_account_id: str | None
    status: str  # created | updated | unchanged | rejected
    reasons: list[dict] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    person_id: int | None = None

    def as_dict(self) -> dict:
        d = {"row": self.row, "platform_account_id": self.platform_account_id, "status": self.status}
        if self.reasons:
            d["reasons"] = self.reasons
        if self.warnings:
            d["warnings"] = self.warnings
        return d


@dataclass
class BatchResult:
    batch_id: int | None
    received: int
    accepted: int
    rejected: int
    outcomes: list[Outcome]

    def as_dict(self) -> dict:
        return {"batch_id": self.batch_id, "received": self.received, "accepted": self.accepted,
                "rejected": self.rejected, "results": [o.as_dict() for o in self.outcomes]}


@dataclass
class _Clean:
    row: int
    account_id: str
    name: str
    id_number: str
    birth_date: dt.date
    sex: str
    phone: str
    county_code: str
    registered_on: dt.date
    warnings: list[str]


def county_codes(session: Session) -> set[str]:
    """County-level divisions of Guangxi currently in force (where orders are taken)."""
    return set(session.scalars(select(Region.code).where(Region.level == "county", Region.valid_to.is_(None))))


def _validate(row: int, raw: Any, counties: set[str], today: dt.date) -> _Clean | Outcome:
    if not isinstance(raw, dict):
        return Outcome(row, None, "rejected", [{"field": None, "reason": "记录应为对象（字段名: 值）"}])
    errs: list[dict] = []
    warnings: list[str] = []

    def text(name: str, maxlen: int) -> str | None:
        v = raw.get(name)
        if v is None or (isinstance(v, str) and not v.strip()):
            errs.append({"field": name, "reason": "必填"})
            return None
        if not isinstance(v, (str, int)) or isinstance(v, bool):
            errs.append({"field": name, "reason": "应为字符串"})
            return None
        v = str(v).strip()
        if len(v) > maxlen:
            errs.append({"field": name, "reason": f"长度不能超过 {maxlen}"})
            return None
        return v

    account = text("platform_account_id", 64)
    name = text("name", 64)
    if name is not None and any(ch.isdigit() for ch in name):
        errs.append({"field": "name", "reason": "姓名不能包含数字"})
    rid = None
    id_raw = text("id_number", 32)
    if id_raw is not None:
        try:
            rid = parse_resident_id(id_raw, today)
            warnings += rid.warnings
        except InvalidId as e:
            errs.append({"field": "id_number", "reason": str(e)})
    phone = None
    phone_raw = text("phone", 20)
    if phone_raw is not None:
        try:
            phone = parse_mobile(phone_raw)
        except InvalidId as e:
            errs.append({"field": "phone", "reason": str(e)})
    county = text("county_code", 6)
    if county is not None and county not in counties:
        errs.append({"field": "county_code", "reason": f"{county} 不是广西现行的县级行政区划代码"})
    reg = None
    reg_raw = text("registered_on", 32)
    if reg_raw is not None:
        try:
            reg = dt.date.fromisoformat(reg_raw[:10]) if len(reg_raw) >= 10 else dt.date.fromisoformat(reg_raw)
        except ValueError:
            errs.append({"field": "registered_on", "reason": f"{reg_raw} 不是合法日期（应为 YYYY-MM-DD）"})
        else:
            if reg > today:
                errs.append({"field": "registered_on", "reason": "注册日期不能晚于今天"})
    if rid is not None and reg is not None and reg < rid.birth_date:
        errs.append({"field": "registered_on", "reason": "注册日期早于出生日期"})
    unknown = sorted(set(raw) - set(FIELDS) - {"platform_code", "status"})
    if unknown:
        warnings.append("已忽略未知字段：" + "、".join(unknown))
    if errs:
        return Outcome(row, account, "rejected", errs, warnings)
    return _Clean(row, account, name, rid.number, rid.birth_date, rid.sex, phone, county, reg, warnings)


def resolve_platform(session: Session, actor: Principal, platform_code: str | None) -> Platform:
    """Which platform a registration is for: a platform's own users may only name themselves."""
    if actor.role.scope == "platform":
        plat = session.get(Platform, actor.platform_id) if actor.platform_id else None
        if plat is None:
            raise DomainError("账号未关联平台企业")
        if platform_code and platform_code != plat.code:
            raise DomainError(f"只能报送本企业（{plat.code}）的人员", field="platform_code")
        return plat
    if not platform_code:
        raise DomainError("请指明平台企业编码", field="platform_code")
    plat = session.scalar(select(Platform).where(Platform.code == platform_code))
    if plat is None:
        raise DomainError(f"未知的平台企业编码 {platform_code}", field="platform_code")
    return plat


def register(session: Session, actor: Principal, platform: Platform, records: list[Any], *, source: str,
             filename: str | None = None, row_offset: int = 1) -> BatchResult:
    """Register a batch of records for one platform. Returns what happened to each record."""
    if platform.status != "admitted":
        raise DomainError(f"平台企业 {platform.code} 尚未纳入试点，不能报送人员", field="platform_code")
    today = clock.today()
    counties = county_codes(session)
    outcomes: list[Outcome] = []
    clean: list[_Clean] = []
    seen: dict[str, int] = {}
    for i, raw in enumerate(records):
        row = i + row_offset
        c = _validate(row, raw, counties, today)
        if isinstance(c, Outcome):
            outcomes.append(c)
            continue
        if c.account_id in seen:
            outcomes.append(Outcome(row, c.account_id, "rejected", [{"field": "platform_account_id",
                            "reason": f"与本批第 {seen[c.account_id]} 条记录的平台账号重复"}], c.warnings))
            continue
        seen[c.account_id] = row
        clean.append(c)

    bidx = {c.row: crypto.blind_index(c.id_number, ID_CTX) for c in clean}
    persons = {p.id_bidx: p for p in session.scalars(select(Person).where(Person.id_bidx.in_(set(bidx.values()))))} \
        if clean else {}
    accounts = {a.account_id: a for a in session.scalars(select(PlatformAccount).where(
        PlatformAccount.platform_id == platform.id,
        PlatformAccount.account_id.in_([c.account_id for c in clean])))} if clean else {}

    # New persons first (in bulk), so that accounts can point at them.
    new_people: dict[bytes, _Clean] = {}
    for c in clean:
        b = bidx[c.row]
        if b not in persons and b not in new_people:
            new_people[b] = c
    if new_people:
        rows = [{"name": c.name, "id_enc": crypto.encrypt(c.id_number, ID_CTX), "id_bidx": b,
                 "id_masked": mask_id(c.id_number), "birth_date": c.birth_date, "sex": c.sex}
                for b, c in new_people.items()]
        ids = session.scalars(insert(Person).returning(Person.id, sort_by_parameter_order=True), rows).all()
        new_ids = dict(zip(new_people, ids))
    else:
        new_ids = {}

    new_accounts, changes, touched = [], [], set()
    for c in clean:
        b = bidx[c.row]
        person = persons.get(b)
        person_id = person.id if person else new_ids[b]
        if person is not None and person.name != c.name:
            outcomes.append(Outcome(c.row, c.account_id, "rejected",
                                    [{"field": "name", "reason": "姓名与该身份证号码已登记的姓名不一致"}], c.warnings))
            continue
        existing = accounts.get(c.account_id)
        if existing is None:
            new_accounts.append({
                "platform_id": platform.id, "account_id": c.account_id, "person_id": person_id,
                "county_code": c.county_code, "phone_enc": crypto.encrypt(c.phone, PHONE_CTX),
                "phone_bidx": crypto.blind_index(c.phone, PHONE_CTX), "phone_masked": mask_phone(c.phone),
                "registered_on": c.registered_on, "status": "active", "status_on": c.registered_on})
            outcomes.append(Outcome(c.row, c.account_id, "created", [], c.warnings, person_id))
            touched.add(person_id)
            continue
        if existing.person_id != person_id:
            outcomes.append(Outcome(c.row, c.account_id, "rejected", [{"field": "id_number",
                            "reason": "该平台账号已登记为另一名人员，如需更正请联系社保经办机构"}], c.warnings))
            continue
        before = {"county_code": existing.county_code, "phone": existing.phone_masked,
                  "registered_on": existing.registered_on}
        phone_bidx = crypto.blind_index(c.phone, PHONE_CTX)
        phone_changed = phone_bidx != existing.phone_bidx
        if phone_changed:
            existing.phone_enc, existing.phone_bidx = crypto.encrypt(c.phone, PHONE_CTX), phone_bidx
            existing.phone_masked = mask_phone(c.phone)
        existing.county_code, existing.registered_on = c.county_code, c.registered_on
        after = {"county_code": existing.county_code, "phone": existing.phone_masked,
                 "registered_on": existing.registered_on}
        if before == after and not phone_changed:
            outcomes.append(Outcome(c.row, c.account_id, "unchanged", [], c.warnings, person_id))
        else:
            if phone_changed and before["phone"] == after["phone"]:
                after["phone"] = after["phone"] + "（已变更）"
            b4, aft = audit.diff(before, after)
            changes.append({"account": c.account_id, "before": b4, "after": aft})
            outcomes.append(Outcome(c.row, c.account_id, "updated", [], c.warnings, person_id))
        touched.add(person_id)
    if new_accounts:
        session.execute(insert(PlatformAccount), new_accounts)

    outcomes.sort(key=lambda o: o.row)
    accepted = sum(o.status != "rejected" for o in outcomes)
    result = BatchResult(None, len(records), accepted, len(records) - accepted, outcomes)
    assert result.received == result.accepted + result.rejected == len(outcomes)
    batch = RegistrationBatch(platform_id=platform.id, source=source, filename=filename, submitted_by=actor.user_id,
                              at=clock.now(), received=result.received, accepted=result.accepted,
                              rejected=result.rejected, results=[o.as_dict() for o in outcomes
                                                                 if o.status == "rejected" or o.warnings])
    session.add(batch)
    session.flush()
    result.batch_id = batch.id
    audit.record(session, actor, "worker.register", entity_type="registration_batch", entity_id=batch.id,
                 subjects=sorted(touched), after={
                     "platform": platform.code, "source": source, "filename": filename,
                     "received": result.received, "accepted": result.accepted, "rejected": result.rejected,
                     "created": sum(o.status == "created" for o in outcomes), "changes": changes[:200]})
    return result


def set_status(session: Session, actor: Principal, platform: Platform, account_id: str, status: str,
               on: dt.date | None = None) -> PlatformAccount:
    """A platform reports that a worker left (or came back)."""
    if status not in STATUSES:
        raise DomainError(f"状态应为 {' 或 '.join(STATUSES)}", field="status")
    acc = session.scalar(select(PlatformAccount).where(PlatformAccount.platform_id == platform.id,
                                                       PlatformAccount.account_id == account_id)
                         .where(account_condition(actor)))
    if acc is None:
        raise out_of_scope("平台账号")
    on = on or clock.today()
    if on > clock.today():
        raise DomainError("状态变更日期不能晚于今天", field="effective_on")
    if on < acc.registered_on:
        raise DomainError("状态变更日期不能早于注册日期", field="effective_on")
    before = {"status": acc.status, "status_on": acc.status_on}
    acc.status, acc.status_on = status, on
    session.flush()
    audit.record(session, actor, "worker.status", entity_type="platform_account", entity_id=acc.id,
                 subjects=[acc.person_id], before=before, after={"status": status, "status_on": on})
    return acc


# ---- reads ---------------------------------------------------------------------------------------

@dataclass
class Page:
    items: list[PlatformAccount]
    total: int
    page: int
    size: int


def search(session: Session, actor: Principal, *, q: str | None = None, platform_code: str | None = None,
           region: str | None = None, status: str | None = None, page: int = 1, size: int = 50,
           purpose: str = "查询从业人员名册") -> Page:
    """Registrations in the caller's scope (masked). ``q`` matches a name, a platform account, or —
    when it is a valid ID or mobile number — the person or account with that number."""
    cond = [account_condition(actor)]
    if q:
        q = q.strip()
        try:
            rid = parse_resident_id(q)
            cond.append(Person.id_bidx == crypto.blind_index(rid.number, ID_CTX))
        except InvalidId:
            try:
                cond.append(PlatformAccount.phone_bidx == crypto.blind_index(parse_mobile(q), PHONE_CTX))
            except InvalidId:
                like = q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
                cond.append((Person.name.like(like)) | (PlatformAccount.account_id == q))
    if platform_code:
        cond.append(Platform.code == platform_code)
    if region:
        cond.append(PlatformAccount.county_code.startswith(region, autoescape=True))
    if status:
        cond.append(PlatformAccount.status == status)
    base = select(PlatformAccount).join(Person, Person.id == PlatformAccount.person_id).join(
        Platform, Platform.id == PlatformAccount.platform_id).where(*cond)
    total = session.scalar(select(func.count()).select_from(base.subquery()))
    size = max(1, min(size, 200))
    page = max(1, page)
    items = list(session.scalars(base.order_by(PlatformAccount.id).offset((page - 1) * size).limit(size)))
    if items:
        audit.record(session, actor, "worker.list", entity_type="person", purpose=purpose,
                     subjects=[a.person_id for a in items],
                     after={"q": "（证件或手机号）" if q and (q[:1].isdigit()) else q, "platform": platform_code,
                            "region": region, "page": page, "shown": len(items)})
    return Page(items, total or 0, page, size)


def visible_accounts(session: Session, actor: Principal, person_id: int) -> list[PlatformAccount]:
    return list(session.scalars(select(PlatformAccount).where(PlatformAccount.person_id == person_id,
                                                              account_condition(actor))
                                .order_by(PlatformAccount.id)))


def get_person(session: Session, actor: Principal, person_id: int, *, full: bool = False,
               purpose: str | None = None) -> tuple[Person, list[PlatformAccount], dict | None]:
    """A person and their registrations in the caller's scope. ``full`` decrypts the ID and phone
    numbers: it needs the permission and a stated purpose, and is audited as such."""
    accounts = visible_accounts(session, actor, person_id)
    if not accounts:
        raise out_of_scope("人员")
    person = accounts[0].person
    clear = None
    if full:
        if not actor.can(P.WORKER_READ_FULL):
            raise DomainError("当前角色无权查看完整证件号码", field="full")
        if not purpose or not purpose.strip():
            raise DomainError("查看完整信息须填写查询事由", field="purpose")
        clear = {"id_number": crypto.decrypt(person.id_enc, ID_CTX),
                 "phones": {a.id: crypto.decrypt(a.phone_enc, PHONE_CTX) for a in accounts}}
    audit.record(session, actor, "worker.view_full" if full else "worker.view", entity_type="person",
                 entity_id=person.id, subjects=[person.id], purpose=purpose or "查看人员详情")
    return person, accounts, clear


def find_account(session: Session, actor: Principal, platform: Platform, account_id: str) -> PlatformAccount:
    acc = session.scalar(select(PlatformAccount).where(PlatformAccount.platform_id == platform.id,
                                                       PlatformAccount.account_id == account_id,
                                                       account_condition(actor)))
    if acc is None:
        raise out_of_scope("平台账号")
    return acc


def self_check(session: Session, id_number: str, phone: str, ip: str | None) -> list[PlatformAccount]:
    """The public check: with ID number and a phone registered on at least one platform, the
    platforms where this person is registered. Anything else answers 'not found' alike."""
    try:
        rid = parse_resident_id(id_number)
        mobile = parse_mobile(phone)
    except InvalidId as e:
        raise DomainError(str(e)) from None
    person = session.scalar(select(Person).where(Person.id_bidx == crypto.blind_index(rid.number, ID_CTX)))
    if person is None:
        return []
    pb = crypto.blind_index(mobile, PHONE_CTX)
    if not any(a.phone_bidx == pb for a in person.accounts):
        return []
    audit.record(session, audit.SystemActor(label="本人（公开查询）", ip=ip), "worker.self_check",
                 entity_type="person", entity_id=person.id, subjects=[person.id], purpose="本人查询参保登记情况")
    return list(person.accounts)


def batches(session: Session, actor: Principal, platform_id: int | None = None, limit: int = 50) -> list[RegistrationBatch]:
    q = select(RegistrationBatch).order_by(RegistrationBatch.id.desc()).limit(limit)
    if actor.role.scope == "platform":
        q = q.where(RegistrationBatch.platform_id == actor.platform_id)
    elif platform_id:
        q = q.where(RegistrationBatch.platform_id == platform_id)
    return list(session.scalars(q))


def get_batch(session: Session, actor: Principal, batch_id: int) -> RegistrationBatch:
    b = session.get(RegistrationBatch, batch_id)
    if b is None or (actor.role.scope == "platform" and b.platform_id != actor.platform_id):
        raise NotFound("批次不存在或不在您的数据范围内")
    return b
