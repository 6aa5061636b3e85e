"""Register of workers: the only write path, and scoped, audited reads.

A registration record (from the API, a JSON batch or a CSV upload) has the fields
``platform_account_id, name, id_number, phone, county_code, registered_on``. Each record is
validated on its own; a batch stores the accepted ones and reports every rejected one with its
reasons, and always ``received = accepted + rejected``. The whole batch is one transaction: a
crash leaves nothing of it behind. One person on several platforms is one Person (matched by the
keyed blind index of the ID number) with several PlatformAccounts.

Clear ID and phone numbers never leave this module except through ``get_person(full=True)``:
reasons, batch reports and audit events carry masked forms only.
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session, contains_eager, lazyload

from oip.auth import permissions as P
from oip.auth.models import LoginAttempt
from oip.auth.scope import account_condition, out_of_scope
from oip.auth.service import Principal, record_attempt
from oip.core import audit, clock, crypto
from oip.core.errors import DomainError, Forbidden, NotFound
from oip.core.ids import InvalidId, mask_id, mask_phone, parse_mobile, parse_resident_id
from oip.platforms.models import Platform
from oip.reference.models import Region
from oip.workers.models import Person, PlatformAccount, RegistrationBatch

FIELDS = ("platform_account_id", "name", "id_number", "phone", "county_code", "registered_on")
FIELD_NAMES = {"platform_account_id": "平台账号", "name": "姓名", "id_number": "身份证号码", "phone": "手机号码",
               "county_code": "接单地区划代码", "registered_on": "注册日期"}
STATUSES = {"active": "在册", "left": "已退出"}
SOURCES = {"api": "接口单条", "json": "接口批量", "csv": "CSV 上传", "demo": "演示数据"}
ID_CTX, PHONE_CTX = "person.id_number", "account.phone"
_LOOKUP_CHUNK = 5000  # values per IN (...) look-up: PostgreSQL allows at most 65,535 parameters


@dataclass
class Outcome:
    """What happened to one record. ``row`` is the record's number in its batch (1-based), or its
    line number in an uploaded file (the header is line 1)."""

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


# ---- parsing of single values ----------------------------------------------------------------------

_EXCEL_NUMBER = re.compile(r"^\d+(\.\d+)?E\+?\d+$", re.IGNORECASE)
_DATE = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?"
                   r"(?:Z|[+-]\d{2}:?\d{2})?)?$")
_NAME_DOTS = str.maketrans({"•": "·", "・": "·", "．": "·", "‧": "·", "∙": "·"})


def parse_day(raw: str, what: str = "日期") -> dt.date:
    """A calendar day as platforms and Excel write it: 2025-07-01, 2025/7/1, 2025年7月1日, 20250701,
    optionally followed by a time of day. Raises DomainError with a Chinese reason."""
    s = unicodedata.normalize("NFKC", str(raw)).strip()
    m = _DATE.match(s)
    if m:
        y, mo, d = (int(x) for x in m.groups())
    elif re.fullmatch(r"\d{8}", s):
        y, mo, d = int(s[:4]), int(s[4:6]), int(s[6:])
    elif re.fullmatch(r"\d{5}(\.0+)?", s):
        raise DomainError(f"{what} {s} 像是 Excel 的日期序列号：请把该列设置为“文本”或“日期”格式（YYYY-MM-DD）后重新保存")
    else:
        raise DomainError(f"{s[:32]} 不是合法日期（应为 YYYY-MM-DD，如 2025-07-01）")
    try:
        return dt.date(y, mo, d)
    except ValueError:
        raise DomainError(f"{s[:32]} 不是合法日期：{y} 年 {mo} 月没有 {d} 日" if 1 <= mo <= 12
                          else f"{s[:32]} 不是合法日期：月份应为 1–12") from None


# ---- validation ----------------------------------------------------------------------------------

def _validate(row: int, raw: Any, counties: set[str], today: dt.date, actor: Principal | None = None) -> _Clean | Outcome:
    if not isinstance(raw, dict):
        return Outcome(row, None, "rejected", [{"field": None, "reason": "记录应为对象（字段名: 值）"}])
    errs: list[dict] = []
    warnings: list[str] = []

    def text(name: str, maxlen: int) -> str | None:
        v = raw.get(name)
        if v is None or (isinstance(v, str) and not v.strip()):
            errs.append({"field": name, "reason": f"{FIELD_NAMES[name]}必填"})
            return None
        if not isinstance(v, (str, int)) or isinstance(v, bool):
            errs.append({"field": name, "reason": f"{FIELD_NAMES[name]}应为字符串"})
            return None
        v = str(v).strip()
        if len(v) > maxlen:
            errs.append({"field": name, "reason": f"{FIELD_NAMES[name]}长度不能超过 {maxlen} 个字符"})
            return None
        return v

    account = text("platform_account_id", 64)
    name = text("name", 64)
    if name is not None:
        name = re.sub(r"\s+", " ", name.translate(_NAME_DOTS))
        if any(ch.isdigit() for ch in name):
            errs.append({"field": "name", "reason": "姓名不能包含数字"})
    rid = None
    id_raw = text("id_number", 32)
    if id_raw is not None:
        if _EXCEL_NUMBER.match(id_raw):
            errs.append({"field": "id_number", "reason": f"身份证号码被 Excel 写成了科学计数法（{id_raw}），后几位已丢失："
                                                         "请把该列设置为“文本”格式，重新填写号码后再保存上传"})
        else:
            try:
                rid = parse_resident_id(id_raw, today)
                warnings += rid.warnings
            except InvalidId as e:
                errs.append({"field": "id_number", "reason": str(e)})
    phone = None
    phone_raw = text("phone", 20)
    if phone_raw is not None:
        if _EXCEL_NUMBER.match(phone_raw):
            errs.append({"field": "phone", "reason": f"手机号码被 Excel 写成了科学计数法（{phone_raw}）："
                                                     "请把该列设置为“文本”格式后重新填写"})
        else:
            try:
                phone = parse_mobile(phone_raw)
            except InvalidId as e:
                errs.append({"field": "phone", "reason": str(e)})
    county = text("county_code", 12)
    if county is not None:
        if county not in counties:
            errs.append({"field": "county_code", "reason": f"{county} 不是广西现行的县级行政区划代码"})
        elif actor is not None and actor.role.scope == "region" and not county.startswith(actor.region_prefix):
            errs.append({"field": "county_code", "reason": f"接单地 {county} 不在您的辖区（{actor.organisation_name}）内"})
    reg = None
    reg_raw = text("registered_on", 32)
    if reg_raw is not None:
        try:
            reg = parse_day(reg_raw, "注册日期")
        except DomainError as e:
            errs.append({"field": "registered_on", "reason": e.reason})
        else:
            if reg > today:
                errs.append({"field": "registered_on", "reason": "注册日期不能晚于今天"})
    if rid is not None and reg is not None and reg < rid.birth_date:
        errs.append({"field": "registered_on", "reason": "注册日期早于出生日期"})
    unknown = sorted(str(k) for k in set(raw) - set(FIELDS) - {"platform_code", "status"})
    if unknown:
        warnings.append("已忽略未知字段：" + "、".join(unknown))
    if errs:
        return Outcome(row, account, "rejected", errs, warnings)
    return _Clean(row, account, name, rid.number, rid.birth_date, rid.sex, phone, county, reg, warnings)


def resolve_platform(session: Session, actor: Principal, platform_code: str | None) -> Platform:
    """Which platform a registration is for: a platform's own users may only name themselves."""
    from oip.platforms.service import acting_platform

    return acting_platform(session, actor, platform_code, "人员")


def _chunks(values: Sequence, size: int = _LOOKUP_CHUNK) -> Iterable[Sequence]:
    for i in range(0, len(values), size):
        yield values[i:i + size]


def register(session: Session, actor: Principal, platform: Platform, records: list[Any], *, source: str,
             filename: str | None = None, row_offset: int = 1, rows: Sequence[int] | None = None,
             problems: dict[int, list[dict]] | None = None, keep_batch: bool = True) -> BatchResult:
    """Register a batch of records for one platform. Returns what happened to each record.

    ``rows`` gives each record's number for the report (e.g. its line in a file); by default the
    records are numbered from ``row_offset``. ``problems`` maps a record's index to reasons its reader
    already found (e.g. a CSV line with more cells than the header): such a record is rejected.
    ``keep_batch=False`` (single registrations) stores no RegistrationBatch; accepted records are
    audited all the same."""
    if platform.status != "admitted":
        raise DomainError(f"平台企业 {platform.code} 尚未纳入试点，不能报送人员", field="platform_code")
    if rows is not None and len(rows) != len(records):
        raise ValueError("rows must number every record")
    today = clock.today()
    counties = county_codes(session)
    outcomes: list[Outcome] = []
    clean: list[_Clean] = []
    seen: dict[str, int] = {}
    for i, raw in enumerate(records):
        row = rows[i] if rows is not None else i + row_offset
        c = _validate(row, raw, counties, today, actor)
        found = (problems or {}).get(i)
        if found:
            acc_id = c.account_id if isinstance(c, _Clean) else c.platform_account_id
            reasons = list(found) + (c.reasons if isinstance(c, Outcome) else [])
            outcomes.append(Outcome(row, acc_id, "rejected", reasons, c.warnings))
            continue
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
    persons: dict[bytes, Person] = {}
    for part in _chunks(sorted(set(bidx.values()))):
        persons.update((p.id_bidx, p) for p in session.scalars(
            select(Person).where(Person.id_bidx.in_(part)).options(lazyload(Person.accounts))))
    accounts: dict[str, PlatformAccount] = {}
    for part in _chunks([c.account_id for c in clean]):
        accounts.update((a.account_id, a) for a in session.scalars(
            select(PlatformAccount).where(PlatformAccount.platform_id == platform.id, PlatformAccount.account_id.in_(part))
            .options(lazyload(PlatformAccount.person), lazyload(PlatformAccount.platform))))

    # Decide every record before writing anything, so that a rejected record leaves nothing behind.
    new_people: dict[bytes, _Clean] = {}
    creates: list[_Clean] = []
    changes: list[dict] = []
    touched: set[int] = set()
    for c in clean:
        b = bidx[c.row]
        person = persons.get(b)
        if person is not None and person.name != c.name:
            outcomes.append(Outcome(c.row, c.account_id, "rejected", [{"field": "name", "reason":
                            "姓名与该身份证号码已登记的姓名不一致；如姓名确有变更，请联系社保经办机构更正"}], c.warnings))
            continue
        first = new_people.get(b)
        if person is None and first is not None and first.name != c.name:
            outcomes.append(Outcome(c.row, c.account_id, "rejected", [{"field": "name", "reason":
                            f"与本批第 {first.row} 条记录的身份证号码相同，但姓名不一致"}], c.warnings))
            continue
        existing = accounts.get(c.account_id)
        if existing is None:
            if person is None:
                new_people.setdefault(b, c)
            creates.append(c)
            continue
        if person is None or existing.person_id != person.id:
            outcomes.append(Outcome(c.row, c.account_id, "rejected", [{"field": "id_number",
                            "reason": "该平台账号已登记为另一名人员，如需更正请联系社保经办机构"}], c.warnings))
            continue
        if actor.role.scope == "region" and not existing.county_code.startswith(actor.region_prefix):
            outcomes.append(Outcome(c.row, c.account_id, "rejected", [{"field": "platform_account_id",
                            "reason": "该平台账号登记在您的辖区以外，不能由您修改"}], c.warnings))
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
            outcomes.append(Outcome(c.row, c.account_id, "unchanged", [], c.warnings, existing.person_id))
        else:
            if phone_changed and before["phone"] == after["phone"]:
                after["phone"] = after["phone"] + "（已变更）"
            b4, aft = audit.diff(before, after)
            changes.append({"account": c.account_id, "before": b4, "after": aft})
            outcomes.append(Outcome(c.row, c.account_id, "updated", [], c.warnings, existing.person_id))
        touched.add(existing.person_id)

    # New persons first (in bulk), so that the new accounts can point at them.
    new_ids: dict[bytes, int] = {}
    if new_people:
        people_rows = [{"name": c.name, "id_enc": crypto.encrypt(c.id_number, ID_CTX), "id_bidx": b,
                        "id_masked": mask_id(c.id_number), "birth_date": c.birth_date, "sex": c.sex}
                       for b, c in new_people.items()]
        ids = session.scalars(insert(Person).returning(Person.id, sort_by_parameter_order=True), people_rows).all()
        new_ids = dict(zip(new_people, ids))
    if creates:
        new_accounts = []
        for c in creates:
            b = bidx[c.row]
            person_id = persons[b].id if b in persons else new_ids[b]
            new_accounts.append({
                "platform_id": platform.id, "account_id": c.account_id, "person_id": person_id,
                "county_code": c.county_code, "phone_enc": crypto.encrypt(c.phone, PHONE_CTX),
                "phone_bidx": crypto.blind_index(c.phone, PHONE_CTX), "phone_masked": mask_phone(c.phone),
                "registered_on": c.registered_on, "status": "active", "status_on": c.registered_on})
            outcomes.append(Outcome(c.row, c.account_id, "created", [], c.warnings, person_id))
            touched.add(person_id)
        session.execute(insert(PlatformAccount), new_accounts)

    outcomes.sort(key=lambda o: o.row)
    accepted = sum(o.status != "rejected" for o in outcomes)
    result = BatchResult(None, len(records), accepted, len(records) - accepted, outcomes)
    assert result.received == result.accepted + result.rejected == len(outcomes)
    summary = {"platform": platform.code, "source": source, "filename": filename,
               "received": result.received, "accepted": result.accepted, "rejected": result.rejected,
               "created": sum(o.status == "created" for o in outcomes), "changes": changes[:200]}
    if keep_batch:
        batch = RegistrationBatch(platform_id=platform.id, source=source, filename=filename, submitted_by=actor.user_id,
                                  at=clock.now(), received=result.received, accepted=result.accepted,
                                  rejected=result.rejected, results=[o.as_dict() for o in outcomes
                                                                     if o.status == "rejected" or o.warnings])
        session.add(batch)
        session.flush()
        result.batch_id = batch.id
        audit.record(session, actor, "worker.register", entity_type="registration_batch", entity_id=batch.id,
                     subjects=sorted(touched), after=summary)
    elif touched:
        audit.record(session, actor, "worker.register", entity_type="platform_account",
                     entity_id=",".join(o.platform_account_id for o in outcomes if o.status != "rejected")[:128],
                     subjects=sorted(touched), after=summary)
    else:
        session.flush()
    return result


def set_status(session: Session, actor: Principal, platform: Platform, account_id: str, status: str,
               on: dt.date | None = None) -> tuple[PlatformAccount, bool]:
    """A platform reports that a worker left (or came back). Returns the account and whether
    anything changed (reporting the same status and date twice changes nothing)."""
    if status not in STATUSES:
        raise DomainError(f"状态应为 {' 或 '.join(f'{k}（{v}）' for k, v in STATUSES.items())}", field="status")
    if not isinstance(account_id, str) or not account_id.strip():
        raise DomainError("平台账号必填", field="platform_account_id")
    acc = session.scalar(select(PlatformAccount).where(PlatformAccount.platform_id == platform.id,
                                                       PlatformAccount.account_id == account_id.strip())
                         .where(account_condition(actor)))
    if acc is None:
        raise out_of_scope("平台账号")
    on = on or clock.today()
    if on > clock.today():
        raise DomainError("状态变更日期不能晚于今天", field="effective_on")
    if on < acc.registered_on:
        raise DomainError(f"状态变更日期不能早于注册日期 {acc.registered_on.isoformat()}", field="effective_on")
    if acc.status == status and acc.status_on == on:
        return acc, False
    before = {"status": acc.status, "status_on": acc.status_on}
    acc.status, acc.status_on = status, on
    session.flush()
    audit.record(session, actor, "worker.status", entity_type="platform_account", entity_id=acc.id,
                 subjects=[acc.person_id], before=before,
                 after={"platform": platform.code, "account": acc.account_id, "status": status, "status_on": on})
    return acc, True


# ---- reads ---------------------------------------------------------------------------------------

@dataclass
class Page:
    items: list[PlatformAccount]
    total: int
    page: int
    size: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.size))


def query_kind(q: str) -> tuple[str, Any]:
    """What a search term is: an ID number, a mobile number, or text (name prefix / account)."""
    try:
        return "id", parse_resident_id(q).number
    except InvalidId:
        pass
    try:
        return "phone", parse_mobile(q)
    except InvalidId:
        return "text", q


def search(session: Session, actor: Principal, *, q: str | None = None, platform_code: str | None = None,
           region: str | None = None, status: str | None = None, page: int = 1, size: int = 50,
           purpose: str = "查询从业人员名册") -> Page:
    """Registrations in the caller's scope (masked). ``q`` matches a name prefix, a platform account,
    or — when it is a valid ID or mobile number — the person or account with that number.

    A constant number of queries whatever the page size: the person and platform come in the same
    query, the platforms' names in one more."""
    cond = [account_condition(actor)]
    shown_q = None
    q = (q or "").strip()
    if q:
        kind, value = query_kind(q)
        if kind == "id":
            cond.append(Person.id_bidx == crypto.blind_index(value, ID_CTX))
            shown_q = "（身份证号码）"
        elif kind == "phone":
            cond.append(PlatformAccount.phone_bidx == crypto.blind_index(value, PHONE_CTX))
            shown_q = "（手机号码）"
        else:
            like = q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
            cond.append((Person.name.like(like, escape="\\")) | (PlatformAccount.account_id == q))
            shown_q = "（含数字的查询词）" if any(ch.isdigit() for ch in q) and len(q) >= 6 else q
    if platform_code:
        cond.append(Platform.code == platform_code)
    if region:
        cond.append(PlatformAccount.county_code.startswith(region, autoescape=True))
    if status:
        if status not in STATUSES:
            raise DomainError(f"状态应为 {' 或 '.join(STATUSES)}", field="status")
        cond.append(PlatformAccount.status == status)
    base = select(PlatformAccount).join(Person, Person.id == PlatformAccount.person_id).join(
        Platform, Platform.id == PlatformAccount.platform_id).where(*cond)
    total = session.scalar(select(func.count()).select_from(base.subquery())) or 0
    size = max(1, min(size, 200))
    page = max(1, page)
    items = list(session.scalars(
        base.options(contains_eager(PlatformAccount.person).lazyload(Person.accounts),
                     contains_eager(PlatformAccount.platform))
        .order_by(PlatformAccount.id).offset((page - 1) * size).limit(size)).unique())
    if items:
        audit.record(session, actor, "worker.list", entity_type="person", purpose=purpose,
                     subjects=[a.person_id for a in items],
                     after={"q": shown_q, "platform": platform_code, "region": region, "status": status,
                            "page": page, "shown": len(items)})
    return Page(items, total, page, size)


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
    purpose = (purpose or "").strip() or None
    if full:
        if not actor.can(P.WORKER_READ_FULL):
            raise Forbidden(f"当前角色（{actor.role.name}）无权查看完整证件号码和手机号", field="full")
        if not purpose:
            raise DomainError("查看完整信息须填写查询事由", field="purpose")
        if len(purpose) > 200:
            raise DomainError("查询事由不能超过 200 个字", field="purpose")
        clear = {"id_number": crypto.decrypt(person.id_enc, ID_CTX),
                 "phones": {a.id: crypto.decrypt(a.phone_enc, PHONE_CTX) for a in accounts}}
    audit.record(session, actor, "worker.view_full" if full else "worker.view", entity_type="person",
                 entity_id=person.id, subjects=[person.id], purpose=purpose or "查看人员详情",
                 after={"accounts": [a.id for a in accounts]} if full else None)
    return person, accounts, clear


def find_account(session: Session, actor: Principal, platform: Platform, account_id: str) -> PlatformAccount:
    acc = session.scalar(select(PlatformAccount).where(PlatformAccount.platform_id == platform.id,
                                                       PlatformAccount.account_id == account_id,
                                                       account_condition(actor)))
    if acc is None:
        raise out_of_scope("平台账号")
    return acc


def find_person(session: Session, actor: Principal, *, id_number: str | None = None, name: str | None = None,
                phone: str | None = None, purpose: str) -> int:
    """The person in the caller's scope with this resident ID number, or with this name and a
    platform account registered with this mobile number — found through the blind indexes, never by
    decrypting. A hit is a read of personal data: audited (``worker.find``) with the purpose. No
    match, or a person outside the scope, answers NotFound alike; a name and phone shared by two
    people asks for the ID number."""
    id_number, name, phone = ((v or "").strip() for v in (id_number, name, phone))
    if id_number:
        try:
            number = parse_resident_id(id_number).number
        except InvalidId as e:
            raise DomainError(str(e), field="id_number") from None
        cond, by = [Person.id_bidx == crypto.blind_index(number, ID_CTX)], "id_number"
    elif name and phone:
        try:
            mobile = parse_mobile(phone)
        except InvalidId as e:
            raise DomainError(str(e), field="phone") from None
        cond, by = [Person.name == name, PlatformAccount.phone_bidx == crypto.blind_index(mobile, PHONE_CTX)], "name_phone"
    else:
        raise DomainError("请填写身份证号码，或姓名和手机号码", field="id_number" if not (name or phone) else
                          ("phone" if name else "name"))
    ids = list(session.scalars(select(PlatformAccount.person_id).join(Person, Person.id == PlatformAccount.person_id)
                               .where(*cond, account_condition(actor)).distinct().limit(2)))
    if not ids:
        raise NotFound("未找到该人员，或其不在您的数据范围内", field=by if by == "id_number" else "name")
    if len(ids) > 1:
        raise DomainError("姓名和手机号码对应多名人员，请按身份证号码查询", field="id_number")
    audit.record(session, actor, "worker.find", entity_type="person", entity_id=ids[0], subjects=ids,
                 purpose=purpose, after={"by": by})
    return ids[0]


audit.register_actions({"worker.find": "按身份证号码或姓名、手机号查找人员"})


def account_counts(session: Session, actor: Principal, platform_id: int) -> dict[str, int]:
    """How many of a platform's accounts (in the caller's scope) are active and how many left."""
    rows = session.execute(select(PlatformAccount.status, func.count()).where(
        PlatformAccount.platform_id == platform_id, account_condition(actor)).group_by(PlatformAccount.status))
    counts = {k: 0 for k in STATUSES}
    counts.update({s: n for s, n in rows})
    return counts


# ---- the public self-check -------------------------------------------------------------------------

CHECK_MAX_ATTEMPTS = 10          # per client IP ...
CHECK_WINDOW = dt.timedelta(minutes=10)   # ... within this window
CHALLENGE_TTL = dt.timedelta(minutes=10)


class CheckThrottled(DomainError):
    status_code = 429
    code = "throttled"


@dataclass
class Challenge:
    question: str
    token: str


def _challenge_message(answer: int, expires: int, nonce: str) -> str:
    return f"worker.check|{answer}|{expires}|{nonce}"


def new_challenge() -> Challenge:
    """A simple sum or difference to keep scripts off the public check. The token carries the expiry
    and an HMAC over the answer — never the answer itself."""
    a, b = secrets.randbelow(9) + 1, secrets.randbelow(9) + 1
    if secrets.randbelow(2):
        question, answer = f"{a} 加 {b} 等于几？", a + b
    else:
        a, b = max(a, b) + 5, min(a, b)
        question, answer = f"{a} 减 {b} 等于几？", a - b
    expires = int((clock.now() + CHALLENGE_TTL).timestamp())
    nonce = secrets.token_urlsafe(9)
    return Challenge(question, f"{expires}.{nonce}.{crypto.sign(_challenge_message(answer, expires, nonce))}")


def challenge_passed(token: str | None, answer: str | None) -> bool:
    try:
        expires_s, nonce, sig = (token or "").split(".", 2)
        expires = int(expires_s)
        given = int(unicodedata.normalize("NFKC", answer or "").strip())
    except ValueError:
        return False
    if expires < clock.now().timestamp():
        return False
    return crypto.verify_signature(_challenge_message(given, expires, nonce), sig)


def record_check_attempt(session: Session, ip: str | None) -> None:
    """Count one public check from this client address; refuse when it made too many lately.
    Attempts are kept in the sign-in attempts table under ``check:<ip>``."""
    key = f"check:{ip or 'unknown'}"[:64]
    since = clock.now() - CHECK_WINDOW
    recent = session.scalar(select(func.count()).select_from(LoginAttempt).where(
        LoginAttempt.username == key, LoginAttempt.at > since)) or 0
    record_attempt(session, key, recent < CHECK_MAX_ATTEMPTS, ip)
    session.flush()
    if recent >= CHECK_MAX_ATTEMPTS:
        minutes = int(CHECK_WINDOW.total_seconds() // 60)
        raise CheckThrottled(f"查询过于频繁：同一网络 {minutes} 分钟内最多查询 {CHECK_MAX_ATTEMPTS} 次，请稍后再试")


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


# ---- batches -------------------------------------------------------------------------------------

def batches(session: Session, actor: Principal, platform_id: int | None = None, limit: int = 50) -> list[RegistrationBatch]:
    """Recent registration batches: a platform sees its own; agencies see every platform's."""
    q = select(RegistrationBatch).order_by(RegistrationBatch.id.desc()).limit(max(1, min(limit, 500)))
    if actor.role.scope == "platform":
        q = q.where(RegistrationBatch.platform_id == actor.platform_id)
    elif actor.role.scope != "region":
        return []
    elif platform_id:
        q = q.where(RegistrationBatch.platform_id == platform_id)
    return list(session.scalars(q))


def get_batch(session: Session, actor: Principal, batch_id: int) -> RegistrationBatch:
    b = session.get(RegistrationBatch, batch_id)
    if b is None or (actor.role.scope == "platform" and b.platform_id != actor.platform_id) or \
            actor.role.scope not in ("platform", "region"):
        raise NotFound("批次不存在或不在您的数据范围内")
    return b
