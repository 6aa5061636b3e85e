"""Payee accounts (收款账户): the bank card a worker's or a dependant's benefits go to.

The card number is checked (oip.payments.rules.check_card), encrypted at rest (context
``payee.card``) with a blind index and a masked copy; only the masked copy is ever shown. The full
number is decrypted in one place only: the bank file of a batch (oip.payments.service.send), which
audits it. An account is never edited: a change ends the current one and starts a new one, with a
reason. Scope: the case's (region by the place of injury).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import and_, exists, or_, select
from sqlalchemy.orm import Session

from oip.auth import permissions as P
from oip.auth.service import Principal
from oip.benefits.models import Dependant, Payable
from oip.cases import service as cases
from oip.cases.models import Case
from oip.core import audit, clock, crypto
from oip.core.errors import Conflict, Forbidden, NotFound
from oip.core.validation import clean_text
from oip.payments import rules
from oip.payments.models import PayeeAccount
from oip.workers.models import Person

CARD_CONTEXT = "payee.card"

audit.register_actions(
    {
        "payee.register": "登记收款账户",
        "payee.change": "变更收款账户",
        "payee.card_read": "读取完整银行卡号（生成银行代发文件）",
    }
)
cases.register_event_names({"payee_register": "登记收款账户", "payee_change": "变更收款账户"})


@dataclass(frozen=True)
class Payee:
    """Whom an account or a payable pays: the worker (``person_id``) or a dependant."""

    person_id: int | None
    dependant_id: int | None


def current(session: Session, case_id: int, payee: Payee) -> PayeeAccount | None:
    """The account in force for ``payee`` on the case (None: no account yet)."""
    q = select(PayeeAccount).where(PayeeAccount.case_id == case_id, PayeeAccount.valid_to.is_(None))
    if payee.dependant_id is not None:
        q = q.where(PayeeAccount.dependant_id == payee.dependant_id)
    else:
        q = q.where(PayeeAccount.person_id == payee.person_id)
    return session.scalar(q.order_by(PayeeAccount.id.desc()).limit(1))


def for_payable(session: Session, p: Payable) -> PayeeAccount | None:
    return current(session, p.case_id, Payee(p.person_id, p.dependant_id))


def accounts_of(session: Session, case: Case) -> list[PayeeAccount]:
    """Every account of the case, current and ended, newest first."""
    return list(
        session.scalars(select(PayeeAccount).where(PayeeAccount.case_id == case.id).order_by(PayeeAccount.id.desc()))
    )


def payee_name(session: Session, a: PayeeAccount | Payable) -> str:
    """The payee's name (the worker or the dependant)."""
    if a.dependant_id is not None:
        d = session.get(Dependant, a.dependant_id)
        return d.name if d else ""
    person = session.get(Person, a.person_id) if a.person_id else None
    return person.name if person else ""


def _payee(session: Session, case: Case, dependant_id: int | None) -> Payee:
    if dependant_id is None:
        return Payee(case.person_id, None)
    d = session.get(Dependant, dependant_id)
    if d is None or d.case_id != case.id:
        raise NotFound("供养亲属不存在或不属于本案件", field="dependant_id")
    return Payee(None, d.id)


def _check(actor: Principal) -> None:
    if not actor.can(P.PAYEE_MANAGE):
        raise Forbidden("您无权登记或变更收款账户")


def _new(
    session: Session,
    actor: Principal,
    case: Case,
    payee: Payee,
    holder_name: str,
    bank_name: str,
    card_number: str,
    reason: str,
) -> PayeeAccount:
    holder = clean_text(holder_name, "holder_name", "开户人姓名", 64, required=True)
    bank = clean_text(bank_name, "bank_name", "开户银行", 64, required=True)
    number = rules.check_card(card_number)
    a = PayeeAccount(
        case_id=case.id,
        person_id=payee.person_id,
        dependant_id=payee.dependant_id,
        holder_name=holder,
        bank_name=bank,
        card_enc=crypto.encrypt(number, CARD_CONTEXT),
        card_bidx=crypto.blind_index(number, CARD_CONTEXT),
        card_masked=rules.mask_card(number),
        valid_from=clock.now(),
        reason=reason,
        created_by=actor.user_id,
    )
    session.add(a)
    session.flush()
    return a


def register(
    session: Session,
    actor: Principal,
    case_id: int,
    *,
    holder_name: str,
    bank_name: str,
    card_number: str,
    dependant_id: int | None = None,
    note: str = "",
) -> PayeeAccount:
    """The first account of a payee on the case."""
    _check(actor)
    case = cases.get_case(session, actor, case_id, for_update=True)
    payee = _payee(session, case, dependant_id)
    if current(session, case.id, payee) is not None:
        raise Conflict("该收款人已有收款账户；如需更换，请办理变更并说明原因", field="card_number")
    note = clean_text(note, "note", "备注", 500)
    a = _new(session, actor, case, payee, holder_name, bank_name, card_number, note)
    detail = {"account_id": a.id, "holder_name": a.holder_name, "bank_name": a.bank_name, "card": a.card_masked}
    audit.record(
        session,
        actor,
        "payee.register",
        entity_type="payee_account",
        entity_id=a.id,
        after=detail,
        subjects=[case.person_id],
    )
    cases.record_event(
        session,
        actor,
        case,
        "payee_register",
        note=f"{a.holder_name} {a.bank_name} {a.card_masked}",
        detail=detail,
        audit_action="case.payee_register",
    )
    return a


def change(
    session: Session,
    actor: Principal,
    account_id: int,
    *,
    holder_name: str,
    bank_name: str,
    card_number: str,
    reason: str,
) -> PayeeAccount:
    """End the account in force and start a new one for the same payee, with the reason."""
    _check(actor)
    old = session.get(PayeeAccount, account_id)
    if old is None or old.case_id is None:
        raise NotFound("收款账户不存在或不在您的数据范围内")
    case = cases.get_case(session, actor, old.case_id, for_update=True)
    session.refresh(old)
    if old.valid_to is not None:
        raise Conflict("该收款账户已停用，请在当前账户上办理变更", field="account_id")
    reason = clean_text(reason, "reason", "变更原因", 500, required=True)
    payee = Payee(old.person_id, old.dependant_id)
    new = _new(session, actor, case, payee, holder_name, bank_name, card_number, reason)
    old.valid_to = new.valid_from
    before = {"account_id": old.id, "holder_name": old.holder_name, "bank_name": old.bank_name, "card": old.card_masked}
    after = {"account_id": new.id, "holder_name": new.holder_name, "bank_name": new.bank_name, "card": new.card_masked}
    audit.record(
        session,
        actor,
        "payee.change",
        entity_type="payee_account",
        entity_id=new.id,
        before=before,
        after={**after, "reason": reason},
        subjects=[case.person_id],
    )
    cases.record_event(
        session,
        actor,
        case,
        "payee_change",
        note=f"{old.card_masked} → {new.card_masked}；原因：{reason}",
        detail={"from": before, "to": after},
        audit_action="case.payee_change",
    )
    return new


def full_card(a: PayeeAccount) -> str:
    """The full number, for the bank file only (the caller audits the read)."""
    return crypto.decrypt(a.card_enc, CARD_CONTEXT)


def as_dict(session: Session, a: PayeeAccount) -> dict:
    return {
        "id": a.id,
        "payee": "dependant" if a.dependant_id else "worker",
        "payee_name": payee_name(session, a),
        "dependant_id": a.dependant_id,
        "holder_name": a.holder_name,
        "bank_name": a.bank_name,
        "card": a.card_masked,
        "current": a.valid_to is None,
        "valid_from": clock.local(a.valid_from).isoformat(timespec="minutes"),
        "valid_to": clock.local(a.valid_to).isoformat(timespec="minutes") if a.valid_to else None,
        "reason": a.reason,
    }


def without_account_condition():
    """Payables whose payee has no account in force on the case (SQL condition)."""
    return ~exists(
        select(PayeeAccount.id).where(
            PayeeAccount.case_id == Payable.case_id,
            PayeeAccount.valid_to.is_(None),
            or_(
                and_(Payable.dependant_id.is_not(None), PayeeAccount.dependant_id == Payable.dependant_id),
                and_(Payable.dependant_id.is_(None), PayeeAccount.person_id == Payable.person_id),
            ),
        )
    )
