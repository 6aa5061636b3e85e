"""The register of insurer contracts (委托服务协议): the only write path (create, amend, terminate;
each audited in the caller's transaction), the scoped reads, and the look-up the case code calls:
``contracted_insurer(session, city_code, service, day)``.

Amendments edit the contract in place. A contract is one legal agreement with one document number;
a supplementary agreement (补充协议) changes its terms but not its identity, and whatever refers to
the contract (a task assigned under it) keeps referring to the same row. The history is the audit
trail: every amendment records the fields before and after, the reason (the supplementary
agreement's number) and who made it. ``version`` counts the edits: an amendment or termination
names the version it was made against, and a second writer gets a conflict instead of silently
overwriting the first.

Writes take one transaction-level advisory lock, so two concurrent writes cannot both pass the
overlap check (the register changes a few times a year: one writer at a time costs nothing)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from sqlalchemy import any_, func, select, text
from sqlalchemy.orm import Session

from oip.auth.models import Organisation
from oip.auth.scope import out_of_scope
from oip.auth.service import Principal
from oip.core import audit
from oip.core.errors import Conflict, DomainError, IllegalTransition
from oip.core.pagination import Page
from oip.core.validation import clean_text
from oip.insurers import rules
from oip.insurers.models import InsurerContract, InsurerContractCity
from oip.insurers.scope import contract_condition
from oip.reference.models import Region

_LOCK_KEY = 0x0A0D30  # pg_advisory_xact_lock: one writer of the register at a time

AUDIT_ACTION_NAMES = {
    "insurer.contract_create": "登记受托保险机构协议",
    "insurer.contract_amend": "变更受托保险机构协议",
    "insurer.contract_terminate": "终止受托保险机构协议",
}
audit.register_actions(AUDIT_ACTION_NAMES)

GUANGXI_PREFIX = "45"
AMENDABLE = ("document_no", "services", "cities", "valid_from", "valid_to", "notes")


# ---- reference: insurers and cities --------------------------------------------------------------


def insurers(session: Session) -> list[Organisation]:
    """The contracted commercial insurers (organisations of kind insurer), by name."""
    return list(session.scalars(select(Organisation).where(Organisation.kind == "insurer").order_by(Organisation.code)))


def guangxi_cities(session: Session) -> list[Region]:
    """The cities (设区市) of Guangxi in force, by code."""
    return list(
        session.scalars(
            select(Region)
            .where(Region.level == "city", Region.code.startswith(GUANGXI_PREFIX), Region.valid_to.is_(None))
            .order_by(Region.code)
        )
    )


def city_names(session: Session) -> dict[str, str]:
    return {r.code: r.name for r in guangxi_cities(session)}


def _insurer(session: Session, code: Any) -> Organisation:
    code = clean_text(code, "insurer_code", "受托保险机构", 64, required=True)
    org = session.scalar(select(Organisation).where(Organisation.code == code))
    if org is None or org.kind != "insurer":
        raise DomainError(f"未知的受托保险机构 {code}（应为已登记的受托商业保险机构的机构编码）", field="insurer_code")
    return org


def _cities(session: Session, codes: Any) -> list[str]:
    if isinstance(codes, str):
        codes = [codes]
    given = sorted({str(c).strip() for c in (codes or []) if str(c).strip()})
    if not given:
        raise DomainError("请至少选择一个城市", field="cities")
    known = city_names(session)
    wrong = [c for c in given if c not in known]
    if wrong:
        raise DomainError(
            f"{'、'.join(wrong)} 不是广西壮族自治区设区市的区划代码（应为如 450100 南宁市的 6 位代码）", field="cities"
        )
    return given


def _services(services: Any) -> list[str]:
    if isinstance(services, str):
        services = [services]
    try:
        return rules.clean_services(services)
    except ValueError as e:
        raise DomainError(str(e), field="services") from None


def _period(valid_from: Any, valid_to: Any) -> tuple[dt.date, dt.date]:
    if not isinstance(valid_from, dt.date):
        raise DomainError("请填写协议起始日期", field="valid_from")
    if not isinstance(valid_to, dt.date):
        raise DomainError("请填写协议截止日期", field="valid_to")
    if valid_to < valid_from:
        raise DomainError(f"协议截止日期（{valid_to}）不能早于起始日期（{valid_from}）", field="valid_to")
    return valid_from, valid_to


def _document_no(session: Session, raw: Any, contract_id: int | None = None) -> str:
    doc = clean_text(raw, "document_no", "协议文号", 128, required=True)
    other = session.scalar(select(InsurerContract).where(InsurerContract.document_no == doc))
    if other is not None and other.id != contract_id:
        raise Conflict(f"协议文号 {doc} 已登记（{other.organisation.name}）", field="document_no")
    return doc


def _lock(session: Session) -> None:
    session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _LOCK_KEY})


def _check_collisions(session: Session, new: rules.Term) -> None:
    """Refuse a contract that shares a city, a service and days in force with another."""
    if new.last_day < new.valid_from:
        return  # never in force: collides with nothing
    candidates = session.scalars(
        select(InsurerContract)
        .where(
            InsurerContract.id.in_(
                select(InsurerContractCity.contract_id).where(InsurerContractCity.city_code.in_(sorted(new.cities)))
            ),
            InsurerContract.services.overlap(sorted(new.services)),
            InsurerContract.valid_from <= new.last_day,
            InsurerContract.valid_to >= new.valid_from,
        )
        .order_by(InsurerContract.id)
    )
    found = rules.collisions(new, [c.term() for c in candidates])
    if not found:
        return
    names = city_names(session)
    orgs = {c.id: c.organisation.name for c in candidates}
    parts = [
        f"{names.get(x.city, x.city)}的“{rules.SERVICE_NAMES[x.service]}”已由协议 {x.other.document_no}"
        f"（{orgs.get(x.other.id, '')}，{x.other.valid_from} 至 {x.other.last_day}）承担，"
        f"与本协议在 {x.first_day} 至 {x.last_day} 重叠"
        for x in found[:3]
    ]
    more = f"等 {len(found)} 处" if len(found) > 3 else ""
    raise Conflict("；".join(parts) + more + "。同一城市同一服务事项同一时期只能委托一家保险机构", field="cities")


def _snapshot(c: InsurerContract) -> dict:
    return {
        "insurer": c.organisation.code,
        "document_no": c.document_no,
        "services": list(c.services),
        "cities": list(c.cities),
        "valid_from": c.valid_from,
        "valid_to": c.valid_to,
        "status": c.status,
        "terminated_on": c.terminated_on,
        "termination_reason": c.termination_reason,
        "notes": c.notes,
        "version": c.version,
    }


# ---- reads ---------------------------------------------------------------------------------------


def _scoped(actor: Principal):
    return select(InsurerContract).where(contract_condition(actor))


def get_contract(session: Session, actor: Principal, contract_id: int, *, for_update: bool = False) -> InsurerContract:
    q = _scoped(actor).where(InsurerContract.id == contract_id)
    if for_update:
        q = q.with_for_update(of=InsurerContract)
    c = session.scalar(q)
    if c is None:
        raise out_of_scope("受托保险机构协议")
    return c


def list_contracts(
    session: Session,
    actor: Principal,
    *,
    insurer_code: str | None = None,
    city_code: str | None = None,
    service: str | None = None,
    status: str | None = None,
    on: dt.date | None = None,
    page: int = 1,
    size: int = 50,
) -> Page[InsurerContract]:
    """Contracts in the caller's scope, newest period first; optionally of one insurer, covering one
    city, one service, in one status, or in force on one day."""
    conds = [contract_condition(actor)]
    if insurer_code:
        conds.append(
            InsurerContract.organisation_id.in_(select(Organisation.id).where(Organisation.code == insurer_code))
        )
    if city_code:
        conds.append(
            InsurerContract.id.in_(
                select(InsurerContractCity.contract_id).where(InsurerContractCity.city_code == city_code)
            )
        )
    if service:
        if service not in rules.SERVICE_NAMES:
            raise DomainError(f"未知的服务事项 {service}", field="service")
        conds.append(service == any_(InsurerContract.services))
    if status:
        if status not in rules.STATUS_NAMES:
            raise DomainError(f"未知的状态 {status}，应为 active（履行中）或 terminated（已终止）", field="status")
        conds.append(InsurerContract.status == status)
    if on is not None:
        conds.append(_in_force(on))
    total = session.scalar(select(func.count()).select_from(InsurerContract).where(*conds))
    items = list(
        session.scalars(
            select(InsurerContract)
            .where(*conds)
            .order_by(InsurerContract.valid_from.desc(), InsurerContract.id.desc())
            .limit(size)
            .offset((page - 1) * size)
        )
    )
    return Page(items=items, total=total, page=page, size=size)


def _in_force(day: dt.date):
    return (
        (InsurerContract.valid_from <= day)
        & (InsurerContract.valid_to >= day)
        & (InsurerContract.terminated_on.is_(None) | (InsurerContract.terminated_on > day))
    )


def contracted_insurer(session: Session, city_code: str, service: str, day: dt.date) -> InsurerContract | None:
    """The contract under which an insurer serves ``city_code`` (a city's code, e.g. 450100) for
    ``service`` on ``day``, or None when no insurer is contracted there then. (The register never
    holds two; should it, the older contract answers.)"""
    if service not in rules.SERVICE_NAMES:
        raise ValueError(f"unknown insurer service {service!r}")
    return session.scalar(
        select(InsurerContract)
        .where(
            InsurerContract.id.in_(
                select(InsurerContractCity.contract_id).where(InsurerContractCity.city_code == city_code)
            ),
            service == any_(InsurerContract.services),
            _in_force(day),
        )
        .order_by(InsurerContract.id)
        .limit(1)
    )


def history(session: Session, contract: InsurerContract) -> list:
    """The contract's audit events (registration, amendments, termination), oldest first."""
    from oip.core.audit_models import AuditEvent

    return list(
        session.scalars(
            select(AuditEvent)
            .where(
                AuditEvent.action.in_(sorted(AUDIT_ACTION_NAMES)),
                AuditEvent.entity_type == "insurer_contract",
                AuditEvent.entity_id == str(contract.id),
            )
            .order_by(AuditEvent.seq)
        )
    )


# ---- writes --------------------------------------------------------------------------------------


def create(
    session: Session,
    actor: Principal,
    *,
    insurer_code: Any,
    document_no: Any,
    services: Iterable[str] | Any,
    cities: Iterable[str] | Any,
    valid_from: Any,
    valid_to: Any,
    notes: Any = "",
) -> InsurerContract:
    """Register a contract (status active). Refused when it would share a city, a service and days
    in force with another contract."""
    org = _insurer(session, insurer_code)
    services = _services(services)
    cities = _cities(session, cities)
    valid_from, valid_to = _period(valid_from, valid_to)
    notes = clean_text(notes, "notes", "备注", 4000)
    _lock(session)
    document_no = _document_no(session, document_no)
    term = rules.Term(None, document_no, frozenset(cities), frozenset(services), valid_from, valid_to)
    _check_collisions(session, term)
    c = InsurerContract(
        organisation_id=org.id,
        document_no=document_no,
        services=services,
        valid_from=valid_from,
        valid_to=valid_to,
        status="active",
        created_by=getattr(actor, "user_id", None),
        notes=notes,
        version=1,
    )
    c.organisation = org
    c.city_rows = [InsurerContractCity(city_code=x) for x in cities]
    session.add(c)
    session.flush()
    audit.record(
        session, actor, "insurer.contract_create", entity_type="insurer_contract", entity_id=c.id, after=_snapshot(c)
    )
    return c


def _check_version(c: InsurerContract, version: Any) -> None:
    if version is None:
        return
    if not isinstance(version, int) or isinstance(version, bool):
        raise DomainError("版本号应为整数", field="version")
    if version != c.version:
        raise Conflict(
            f"该协议已被他人修改（当前为第 {c.version} 版，您提交的是第 {version} 版），请刷新后重试", field="version"
        )


def amend(
    session: Session,
    actor: Principal,
    contract_id: int,
    changes: dict[str, Any],
    *,
    reason: Any,
    version: Any = None,
) -> InsurerContract:
    """Change the terms of an active contract (document number, services, cities, period, notes),
    e.g. by a supplementary agreement; ``reason`` names it. The insurer cannot change: another
    insurer is another contract."""
    unknown = sorted(set(changes) - set(AMENDABLE))
    if unknown:
        raise DomainError(f"不能变更的字段：{'、'.join(unknown)}", field=unknown[0])
    reason = clean_text(reason, "reason", "变更依据（如补充协议文号）", 4000, required=True)
    _lock(session)
    c = get_contract(session, actor, contract_id, for_update=True)
    _check_version(c, version)
    if c.status != "active":
        raise IllegalTransition("协议已终止，不能变更；如需继续委托，请登记新的协议", field="status")
    before = _snapshot(c)
    services = _services(changes["services"]) if "services" in changes else list(c.services)
    cities = _cities(session, changes["cities"]) if "cities" in changes else c.cities
    valid_from, valid_to = _period(changes.get("valid_from", c.valid_from), changes.get("valid_to", c.valid_to))
    document_no = _document_no(session, changes["document_no"], c.id) if "document_no" in changes else c.document_no
    notes = clean_text(changes["notes"], "notes", "备注", 4000) if "notes" in changes else c.notes
    term = rules.Term(c.id, document_no, frozenset(cities), frozenset(services), valid_from, valid_to)
    _check_collisions(session, term)
    c.document_no, c.services, c.valid_from, c.valid_to, c.notes = document_no, services, valid_from, valid_to, notes
    if cities != c.cities:
        keep = [r for r in c.city_rows if r.city_code in cities]
        have = {r.city_code for r in keep}
        c.city_rows = keep + [InsurerContractCity(city_code=x) for x in cities if x not in have]
    after = _snapshot(c)
    if after == before:
        return c  # nothing changed: no new version, nothing to audit
    c.version += 1
    session.flush()
    b, a = audit.diff(before, {**after, "version": c.version})
    audit.record(
        session,
        actor,
        "insurer.contract_amend",
        entity_type="insurer_contract",
        entity_id=c.id,
        before=b,
        after={**a, "reason": reason},
    )
    return c


def terminate(
    session: Session,
    actor: Principal,
    contract_id: int,
    *,
    terminated_on: Any,
    reason: Any,
    version: Any = None,
) -> InsurerContract:
    """End an active contract early: from ``terminated_on`` on, it is no longer in force (a date in
    the past records a termination that already took effect; one in the future, a notice period)."""
    reason = clean_text(reason, "reason", "终止理由", 4000, required=True)
    if not isinstance(terminated_on, dt.date):
        raise DomainError("请填写终止日期", field="terminated_on")
    _lock(session)
    c = get_contract(session, actor, contract_id, for_update=True)
    _check_version(c, version)
    if c.status != "active":
        raise IllegalTransition(f"协议已于 {c.terminated_on} 终止", field="status")
    if terminated_on > c.valid_to:
        raise DomainError(
            f"终止日期不能晚于协议截止日期 {c.valid_to}（协议期满自然终止，无需办理）", field="terminated_on"
        )
    before = _snapshot(c)
    c.status, c.terminated_on, c.termination_reason = "terminated", terminated_on, reason
    c.terminated_by = getattr(actor, "user_id", None)
    c.version += 1
    session.flush()
    b, a = audit.diff(before, _snapshot(c))
    audit.record(
        session, actor, "insurer.contract_terminate", entity_type="insurer_contract", entity_id=c.id, before=b, after=a
    )
    return c


# ---- names of audited objects (the audit page) ----------------------------------------------------


def _contract_names(session: Session, ids: list[str]) -> dict[str, str]:
    numeric = [int(i) for i in ids if i.isdigit()]
    if not numeric:
        return {}
    rows = session.execute(
        select(InsurerContract.id, InsurerContract.document_no, Organisation.name)
        .join(Organisation, Organisation.id == InsurerContract.organisation_id)
        .where(InsurerContract.id.in_(numeric))
    ).all()
    return {str(i): f"{name} · {doc}" for i, doc, name in rows}


audit.register_entity_names("insurer_contract", "受托保险机构协议", _contract_names)
