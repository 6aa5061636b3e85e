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
import secrets
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session, contains_eager, lazyload

from oip.auth import permissions as P
from oip.auth.models import LoginAttempt
from oip.auth.scope import out_of_scope
from oip.auth.service import Principal, record_attempt
from oip.core import audit, clock, crypto
from oip.core.errors import DomainError, Forbidden, NotFound
from oip.core.ids import InvalidId, mask_id, mask_phone, parse_mobile, parse_resident_id
from oip.core.pagination import Page
from oip.platforms.models import Platform
from oip.platforms.service import acting_platform
from oip.reference.models import Region
from oip.workers import rules
from oip.workers.models import Person, PlatformAccount, RegistrationBatch
from oip.workers.rules import BatchResult, Outcome
from oip.workers.scope import account_condition, batch_condition, sees_person_ids

STATUSES = {"active": "在册", "left": "已退出"}
SOURCES = {"api": "接口单条", "json": "接口批量", "csv": "CSV 上传", "demo": "演示数据"}
ID_CTX, PHONE_CTX = "person.id_number", "account.phone"
_LOOKUP_CHUNK = 5000  # values per IN (...) look-up: PostgreSQL allows at most 65,535 parameters


def county_codes(session: Session) -> set[str]:
    """County-level divisions of Guangxi currently in force (where orders are taken)."""
    return set(session.scalars(select(Region.code).where(Region.level == "county", Region.valid_to.is_(None))))


def resolve_platform(session: Session, actor: Principal, platform_code: str | None) -> Platform:
    """Which platform a registration is for: a platform's own users may only name themselves."""
    return acting_platform(session, actor, platform_code, "人员")


def _chunks(values: Sequence, size: int = _LOOKUP_CHUNK) -> Iterable[Sequence]:
    for i in range(0, len(values), size):
        yield values[i : i + size]


def editor(actor: Principal) -> rules.Editor:
    """What the registration rules need to know of the acting principal."""
    return rules.Editor(actor.region_prefix if actor.role.scope == "region" else None, actor.organisation_name)


def _load_persons(session: Session, bidxs: Iterable[bytes]) -> dict[bytes, Person]:
    persons: dict[bytes, Person] = {}
    for part in _chunks(sorted(set(bidxs))):
        persons.update(
            (p.id_bidx, p)
            for p in session.scalars(select(Person).where(Person.id_bidx.in_(part)).options(lazyload(Person.accounts)))
        )
    return persons


def _seen_by(session: Session, actor: Principal, person_ids: list[int]) -> set[int]:
    """The people among ``person_ids`` with an account in ``actor``'s scope (whom they already know)."""
    seen: set[int] = set()
    for part in _chunks(sorted(set(person_ids))):
        seen.update(
            session.scalars(
                select(PlatformAccount.person_id)
                .where(PlatformAccount.person_id.in_(part), account_condition(actor))
                .distinct()
            )
        )
    return seen


def _load_accounts(session: Session, platform: Platform, account_ids: list[str]) -> dict[str, PlatformAccount]:
    accounts: dict[str, PlatformAccount] = {}
    for part in _chunks(account_ids):
        accounts.update(
            (a.account_id, a)
            for a in session.scalars(
                select(PlatformAccount)
                .where(PlatformAccount.platform_id == platform.id, PlatformAccount.account_id.in_(part))
                .options(lazyload(PlatformAccount.person), lazyload(PlatformAccount.platform))
            )
        )
    return accounts


def register(
    session: Session,
    actor: Principal,
    platform: Platform,
    records: list[Any],
    *,
    source: str,
    filename: str | None = None,
    row_offset: int = 1,
    rows: Sequence[int] | None = None,
    problems: dict[int, list[dict]] | None = None,
    keep_batch: bool = True,
) -> BatchResult:
    """Register a batch of records for one platform. Returns what happened to each record.

    Load (counties, the persons and accounts the batch names) → decide (``workers.rules``: validate,
    minimum age, de-duplicate; nothing written yet, so a rejected record leaves nothing behind) →
    write and audit, in the caller's transaction.

    ``rows`` gives each record's number for the report (e.g. its line in a file); by default the
    records are numbered from ``row_offset``. ``problems`` maps a record's index to reasons its reader
    already found (e.g. a CSV line with more cells than the header): such a record is rejected.
    ``keep_batch=False`` (single registrations) stores no RegistrationBatch; accepted records are
    audited all the same."""
    if not platform.is_admitted:
        raise DomainError(f"平台企业 {platform.code} 尚未纳入试点，不能报送人员", field="platform_code")
    if rows is not None and len(rows) != len(records):
        raise ValueError("rows must number every record")
    ed = editor(actor)
    outcomes, clean = rules.screen(
        records, county_codes(session), clock.today(), ed, rows=rows, row_offset=row_offset, problems=problems
    )
    id_bidx = {c.row: crypto.blind_index(c.id_number, ID_CTX) for c in clean}
    phone_bidx = {c.row: crypto.blind_index(c.phone, PHONE_CTX) for c in clean}
    persons = _load_persons(session, id_bidx.values())
    accounts = _load_accounts(session, platform, [c.account_id for c in clean])
    seen = _seen_by(session, actor, [p.id for p in persons.values()])

    decision = rules.decide(
        clean,
        id_bidx,
        phone_bidx,
        {b: rules.KnownPerson(p.id, p.name, p.id in seen) for b, p in persons.items()},
        {
            k: rules.KnownAccount(
                a.account_id, a.person_id, a.county_code, a.phone_bidx, a.phone_masked, a.registered_on
            )
            for k, a in accounts.items()
        },
        ed,
    )
    outcomes += decision.outcomes
    touched = set(decision.touched)

    for u in decision.updates:
        c, acc = u.clean, accounts[u.clean.account_id]
        if u.phone_changed:
            acc.phone_enc, acc.phone_bidx = crypto.encrypt(c.phone, PHONE_CTX), phone_bidx[c.row]
            acc.phone_masked = mask_phone(c.phone)
        acc.county_code, acc.registered_on = c.county_code, c.registered_on
    # New persons first (in bulk), so that the new accounts can point at them.
    new_ids: dict[bytes, int] = {}
    if decision.new_people:
        people_rows = [
            {
                "name": c.name,
                "id_enc": crypto.encrypt(c.id_number, ID_CTX),
                "id_bidx": b,
                "id_masked": mask_id(c.id_number),
                "birth_date": c.birth_date,
                "sex": c.sex,
            }
            for b, c in decision.new_people.items()
        ]
        ids = session.scalars(insert(Person).returning(Person.id, sort_by_parameter_order=True), people_rows).all()
        new_ids = dict(zip(decision.new_people, ids))
    name_to_verify = 0
    if decision.creates:
        new_accounts = []
        for c in decision.creates:
            b = id_bidx[c.row]
            person_id = persons[b].id if b in persons else new_ids[b]
            reported = c.name if b in persons and persons[b].name != c.name else None
            name_to_verify += reported is not None
            new_accounts.append(
                {
                    "platform_id": platform.id,
                    "account_id": c.account_id,
                    "person_id": person_id,
                    "county_code": c.county_code,
                    "phone_enc": crypto.encrypt(c.phone, PHONE_CTX),
                    "phone_bidx": phone_bidx[c.row],
                    "phone_masked": mask_phone(c.phone),
                    "registered_on": c.registered_on,
                    "status": "active",
                    "status_on": c.registered_on,
                    "reported_name": reported,
                }
            )
            outcomes.append(Outcome(c.row, c.account_id, "created", [], c.warnings, person_id))
            touched.add(person_id)
        session.execute(insert(PlatformAccount), new_accounts)

    result = rules.result(len(records), outcomes)
    outcomes = result.outcomes
    summary = {
        "platform": platform.code,
        "source": source,
        "filename": filename,
        "received": result.received,
        "accepted": result.accepted,
        "rejected": result.rejected,
        "created": sum(o.status == "created" for o in outcomes),
        "changes": decision.changes[:200],
    }
    if name_to_verify:
        summary["name_to_verify"] = name_to_verify  # accounts whose name differs from the one on file
    if keep_batch:
        batch = RegistrationBatch(
            platform_id=platform.id,
            source=source,
            filename=filename,
            submitted_by=actor.user_id,
            at=clock.now(),
            received=result.received,
            accepted=result.accepted,
            rejected=result.rejected,
            results=[o.as_dict() for o in outcomes if o.status == "rejected" or o.warnings],
        )
        session.add(batch)
        session.flush()
        result.batch_id = batch.id
        audit.record(
            session,
            actor,
            "worker.register",
            entity_type="registration_batch",
            entity_id=batch.id,
            subjects=sorted(touched),
            after=summary,
        )
    elif touched:
        audit.record(
            session,
            actor,
            "worker.register",
            entity_type="platform_account",
            entity_id=",".join(o.platform_account_id for o in outcomes if o.status != "rejected")[:128],
            subjects=sorted(touched),
            after=summary,
        )
    else:
        session.flush()
    return result


def set_status(
    session: Session, actor: Principal, platform: Platform, account_id: str, status: str, on: dt.date | None = None
) -> tuple[PlatformAccount, bool]:
    """A platform reports that a worker left (or came back). Returns the account and whether
    anything changed (reporting the same status and date twice changes nothing)."""
    if status not in STATUSES:
        raise DomainError(f"状态应为 {' 或 '.join(f'{k}（{v}）' for k, v in STATUSES.items())}", field="status")
    if not isinstance(account_id, str) or not account_id.strip():
        raise DomainError("平台账号必填", field="platform_account_id")
    acc = session.scalar(
        select(PlatformAccount)
        .where(PlatformAccount.platform_id == platform.id, PlatformAccount.account_id == account_id.strip())
        .where(account_condition(actor))
    )
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
    audit.record(
        session,
        actor,
        "worker.status",
        entity_type="platform_account",
        entity_id=acc.id,
        subjects=[acc.person_id],
        before=before,
        after={"platform": platform.code, "account": acc.account_id, "status": status, "status_on": on},
    )
    return acc, True


# ---- reads ---------------------------------------------------------------------------------------


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


def search(
    session: Session,
    actor: Principal,
    *,
    q: str | None = None,
    platform_code: str | None = None,
    region: str | None = None,
    status: str | None = None,
    page: int = 1,
    size: int = 50,
    purpose: str = "查询从业人员名册",
) -> Page[PlatformAccount]:
    """Registrations in the caller's scope (masked). ``q`` matches a name prefix, a platform account,
    or — when it is a valid ID or mobile number — the person or account with that number.

    A constant number of queries whatever the page size: the person and platform come in the same
    query, the platforms' names in one more."""
    cond = [account_condition(actor)]
    shown_q = None
    q = (q or "").strip()
    kind = None
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
            # A platform searches the names it sent (``reported_name`` where it differs from the name on file).
            name = (
                func.coalesce(PlatformAccount.reported_name, Person.name)
                if actor.role.scope == "platform"
                else Person.name
            )
            cond.append((name.like(like, escape="\\")) | (PlatformAccount.account_id == q))
            shown_q = "（含数字的查询词）" if any(ch.isdigit() for ch in q) and len(q) >= 6 else q
    if platform_code:
        cond.append(Platform.code == platform_code)
    if region:
        cond.append(PlatformAccount.county_code.startswith(region, autoescape=True))
    if status:
        if status not in STATUSES:
            raise DomainError(f"状态应为 {' 或 '.join(STATUSES)}", field="status")
        cond.append(PlatformAccount.status == status)
    # The page's ids first, from platform_accounts alone unless a condition needs the person or the
    # platform (an OFFSET deep into a joined query made PostgreSQL join every skipped row); then the
    # page's rows with their person and platform.
    ids = select(PlatformAccount.id).where(*cond)
    if kind in ("id", "text"):  # conditions on the person
        ids = ids.join(Person, Person.id == PlatformAccount.person_id)
    if platform_code:
        ids = ids.join(Platform, Platform.id == PlatformAccount.platform_id)
    total = session.scalar(select(func.count()).select_from(ids.subquery())) or 0
    size = max(1, min(size, 200))
    page = max(1, page)
    page_ids = list(session.scalars(ids.order_by(PlatformAccount.id).offset((page - 1) * size).limit(size)))
    items = (
        list(
            session.scalars(
                select(PlatformAccount)
                .join(Person, Person.id == PlatformAccount.person_id)
                .join(Platform, Platform.id == PlatformAccount.platform_id)
                .where(PlatformAccount.id.in_(page_ids))
                .options(
                    contains_eager(PlatformAccount.person).lazyload(Person.accounts),
                    contains_eager(PlatformAccount.platform),
                )
                .order_by(PlatformAccount.id)
            ).unique()
        )
        if page_ids
        else []
    )
    if items:
        audit.record(
            session,
            actor,
            "worker.list",
            entity_type="person",
            purpose=purpose,
            subjects=[a.person_id for a in items],
            after={
                "q": shown_q,
                "platform": platform_code,
                "region": region,
                "status": status,
                "page": page,
                "shown": len(items),
            },
        )
    return Page(items, total, page, size)


def visible_accounts(session: Session, actor: Principal, person_id: int) -> list[PlatformAccount]:
    return list(
        session.scalars(
            select(PlatformAccount)
            .where(PlatformAccount.person_id == person_id, account_condition(actor))
            .order_by(PlatformAccount.id)
        )
    )


def get_person(
    session: Session, actor: Principal, person_id: int, *, full: bool = False, purpose: str | None = None
) -> tuple[Person, list[PlatformAccount], dict | None]:
    """A person and their registrations in the caller's scope. ``full`` decrypts the ID and phone
    numbers: it needs the permission and a stated purpose, and is audited as such. Platforms do not
    address people by id (``scope.sees_person_ids``): 404, as for a person outside the scope."""
    if not sees_person_ids(actor):
        raise out_of_scope("人员")
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
        clear = {
            "id_number": crypto.decrypt(person.id_enc, ID_CTX),
            "phones": {a.id: crypto.decrypt(a.phone_enc, PHONE_CTX) for a in accounts},
        }
    audit.record(
        session,
        actor,
        "worker.view_full" if full else "worker.view",
        entity_type="person",
        entity_id=person.id,
        subjects=[person.id],
        purpose=purpose or "查看人员详情",
        after={"accounts": [a.id for a in accounts]} if full else None,
    )
    return person, accounts, clear


def find_person(
    session: Session,
    actor: Principal,
    *,
    id_number: str | None = None,
    name: str | None = None,
    phone: str | None = None,
    purpose: str,
) -> int:
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
        cond, by = (
            [Person.name == name, PlatformAccount.phone_bidx == crypto.blind_index(mobile, PHONE_CTX)],
            "name_phone",
        )
    else:
        raise DomainError(
            "请填写身份证号码，或姓名和手机号码",
            field="id_number" if not (name or phone) else ("phone" if name else "name"),
        )
    ids = list(
        session.scalars(
            select(PlatformAccount.person_id)
            .join(Person, Person.id == PlatformAccount.person_id)
            .where(*cond, account_condition(actor))
            .distinct()
            .limit(2)
        )
    )
    if not ids:
        raise NotFound("未找到该人员，或其不在您的数据范围内", field=by if by == "id_number" else "name")
    if len(ids) > 1:
        raise DomainError("姓名和手机号码对应多名人员，请按身份证号码查询", field="id_number")
    audit.record(
        session,
        actor,
        "worker.find",
        entity_type="person",
        entity_id=ids[0],
        subjects=ids,
        purpose=purpose,
        after={"by": by},
    )
    return ids[0]


audit.register_actions({"worker.find": "按身份证号码或姓名、手机号查找人员"})


def account_counts(session: Session, actor: Principal, platform_id: int) -> dict[str, int]:
    """How many of a platform's accounts (in the caller's scope) are active and how many left."""
    rows = session.execute(
        select(PlatformAccount.status, func.count())
        .where(PlatformAccount.platform_id == platform_id, account_condition(actor))
        .group_by(PlatformAccount.status)
    )
    counts = {k: 0 for k in STATUSES}
    counts.update({s: n for s, n in rows})
    return counts


# ---- the public self-check -------------------------------------------------------------------------

CHECK_MAX_ATTEMPTS = 10  # per client IP ...
CHECK_WINDOW = dt.timedelta(minutes=10)  # ... within this window
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
    recent = (
        session.scalar(
            select(func.count()).select_from(LoginAttempt).where(LoginAttempt.username == key, LoginAttempt.at > since)
        )
        or 0
    )
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
    audit.record(
        session,
        audit.SystemActor(label="本人（公开查询）", ip=ip),
        "worker.self_check",
        entity_type="person",
        entity_id=person.id,
        subjects=[person.id],
        purpose="本人查询参保登记情况",
    )
    return list(person.accounts)


# ---- batches -------------------------------------------------------------------------------------


def batches(
    session: Session, actor: Principal, platform_id: int | None = None, limit: int = 50
) -> list[RegistrationBatch]:
    """Recent registration batches in the caller's scope (``scope.batch_condition``): a platform its
    own, the province every platform's, a city or county the ones its agencies uploaded."""
    q = (
        select(RegistrationBatch)
        .where(batch_condition(actor))
        .order_by(RegistrationBatch.id.desc())
        .limit(max(1, min(limit, 500)))
    )
    if platform_id:
        q = q.where(RegistrationBatch.platform_id == platform_id)
    return list(session.scalars(q))


def get_batch(session: Session, actor: Principal, batch_id: int) -> RegistrationBatch:
    b = session.scalar(select(RegistrationBatch).where(RegistrationBatch.id == batch_id, batch_condition(actor)))
    if b is None:
        raise out_of_scope("批次")
    return b
