"""What the API and the pages show of determinations (待遇核定) and dependants (供养亲属): names not
codes, money in fen and in yuan, personal data masked. A worker (self scope) sees the decided
versions of their own case and no staff names."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from oip.auth import permissions as P
from oip.auth.models import User
from oip.benefits import calc, determination as D
from oip.benefits.models import Dependant, Determination, DeterminationLine
from oip.cases.models import Case


def _iso(d) -> str | None:
    return d.isoformat() if d is not None else None


def _staff(p: Any) -> bool:
    return getattr(getattr(p, "role", None), "scope", None) == "region"


def user_names(session: Session, ids: set[int]) -> dict[int, str]:
    ids = {i for i in ids if i is not None}
    if not ids:
        return {}
    return {u.id: u.display_name for u in session.scalars(select(User).where(User.id.in_(ids)))}


def dependant_out(d: Dependant) -> dict[str, Any]:
    return {
        "id": d.id,
        "name": d.name,
        "relation": d.relation,
        "relation_name": D.RELATION_NAMES.get(d.relation, d.relation),
        "orphan_or_lone_elderly": d.orphan_or_lone_elderly,
        "birth_date": _iso(d.birth_date),
        "id_masked": d.id_masked,
        "phone_masked": d.phone_masked,
        "school_until": _iso(d.school_until),
        "died_on": _iso(d.died_on),
        "note": d.note,
    }


def line_out(line: DeterminationLine, deps: dict[int, Dependant]) -> dict[str, Any]:
    dep = deps.get(line.dependant_id) if line.dependant_id is not None else None
    return {
        "id": line.id,
        "position": line.position,
        "item": line.item,
        "item_name": calc.ITEM_NAMES.get(line.item, line.item),
        "monthly": line.monthly,
        "proposed_fen": line.proposed_fen,
        "amount_fen": line.amount_fen,
        "amount_yuan": D.yuan(line.amount_fen),
        "proposed_yuan": D.yuan(line.proposed_fen),
        "adjusted": line.amount_fen != line.proposed_fen,
        "adjust_reason": line.adjust_reason,
        "formula": line.formula,
        "parameters": list(line.parameters or []),
        "detail": {k: v for k, v in (line.detail or {}).items() if k not in ("adjusted_by",)},
        "dependant_id": line.dependant_id,
        "dependant_name": dep.name if dep is not None else None,
        "dependant_relation": D.RELATION_NAMES.get(dep.relation) if dep is not None else None,
        "starts_on": _iso(line.starts_on),
        "payer": line.payer,
    }


def determination_out(
    session: Session, p: Any, case: Case, det: Determination, *, names: dict[int, str] | None = None
) -> dict[str, Any]:
    deps = {d.id: d for d in D.dependants_of(session, case)}
    lines = D.lines_of(session, det)
    staff = _staff(p)
    names = names if names is not None else user_names(session, {det.made_by, det.approved_by})
    refusal = D.approval_refusal(session, p, det) if staff and det.status == "submitted" else None
    may_edit = staff and det.status in D.EDITABLE and p.can(P.BENEFIT_DETERMINE)
    out = {
        "id": det.id,
        "case_id": case.id,
        "case_number": case.number,
        "purpose": det.purpose,
        "purpose_name": D.PURPOSE_NAMES.get(det.purpose, det.purpose),
        "claim_id": det.claim_id,
        "chain_id": det.chain_id,
        "version": det.version,
        "supersedes_id": det.supersedes_id,
        "status": det.status,
        "status_name": D.STATUS_NAMES.get(det.status, det.status),
        "event_date": _iso(det.event_date),
        "region_code": det.region_code,
        "kind": det.kind,
        "total_once_fen": det.total_once_fen,
        "total_monthly_fen": det.total_monthly_fen,
        "total_once_yuan": D.yuan(det.total_once_fen),
        "total_monthly_yuan": D.yuan(det.total_monthly_fen),
        "approval_amount_fen": D.approval_amount(det),
        "note": det.note,
        "made_at": _iso(det.made_at),
        "submitted_at": _iso(det.submitted_at),
        "approved_at": _iso(det.approved_at),
        "approved_on": _iso(det.approved_on),
        "review_note": det.review_note,
        "letter_id": det.letter_id,
        "letter_pdf": f"/api/v1/cases/{case.id}/letters/{det.letter_id}/pdf" if det.letter_id else None,
        "version_lock": det.version_lock,
        "lines": [line_out(ln, deps) for ln in lines],
    }
    if staff:
        inputs = {k: v for k, v in (det.inputs or {}).items() if k != "makers"}
        out.update(
            inputs=inputs,
            made_by=names.get(det.made_by),
            approved_by=names.get(det.approved_by),
            may_edit=may_edit,
            may_approve=det.status == "submitted" and refusal is None,
            approval_refusal=refusal,
        )
    return out
