"""Text messages to the worker about their case (issue 11 §6): materials missing, accepted, decided.
Each goes through the notifications outbox (oip.exchange.notify) under a key made of the case and
the act, so it is never lost (the outbox row is written in the step's own transaction) and never
sent twice (the key is unique, the SMS adapter sends an id once). The letters part texts when a
letter is ready."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from oip.cases import decision, intake
from oip.cases.models import Case, CorrectionNotice, Decision
from oip.core import crypto
from oip.exchange import notify
from oip.workers.models import PlatformAccount
from oip.workers.service import PHONE_CTX


def _phone(session: Session, case: Case) -> str | None:
    account = session.get(PlatformAccount, case.platform_account_id)
    if account is None or not account.phone_enc:
        return None
    return crypto.decrypt(account.phone_enc, PHONE_CTX)


def _send(session: Session, case: Case, key: str, template: str, params: dict[str, Any]) -> None:
    phone = _phone(session, case)
    if phone:
        notify.enqueue(
            session,
            dedup_key=f"case:{case.id}:{key}",
            phone=phone,
            person_id=case.person_id,
            template=template,
            params={"case_number": case.number, **params},
            region_code=case.county_code,
        )


def on_intake_act(session: Session, actor: Any, case: Case, kind: str, source_id: int, on) -> None:
    if kind == "correction":
        notice = session.get(CorrectionNotice, source_id) or session.scalar(
            select(CorrectionNotice).where(CorrectionNotice.case_id == case.id).order_by(CorrectionNotice.id.desc())
        )
        due = notice.due_on if notice is not None else None
        _send(session, case, f"correction:{source_id}", "case.materials_missing", {"due_on": str(due or "")})
    elif kind == "acceptance":
        _send(
            session,
            case,
            "accepted",
            "case.accepted",
            {"accepted_on": str(case.accepted_on), "decision_due": str(case.decision_due or "（期限待定）")},
        )


def on_decision(session: Session, actor: Any, case: Case, d: Decision) -> None:
    _send(session, case, f"decision:{d.id}", "case.decided", {})


intake.ON_LETTER.append(on_intake_act)
decision.ON_DECISION.append(on_decision)
