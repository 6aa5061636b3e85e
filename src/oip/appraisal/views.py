"""How an appraisal is shown (JSON and pages): names, not codes; the panel and the draw only to the
officers of appraisal (``appraisal.read``) — the parties see the dates, the status and the conclusion."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from oip.appraisal import draw as drawing, experts, rules, service, specialties
from oip.appraisal.models import Appraisal
from oip.auth import permissions as P
from oip.auth.service import Principal
from oip.cases.models import Case
from oip.core import audit, clock

audit.register_actions({"appraisal.view": "查看劳动能力鉴定"})


def _iso(d) -> str | None:
    return d.isoformat() if d is not None else None


def view_audit(session: Session, actor: Principal, case: Case, rows: list[Appraisal]) -> None:
    """An appraisal holds health data (the disability grade): reading it is audited."""
    if rows:
        audit.record(
            session,
            actor,
            "appraisal.view",
            entity_type="case",
            entity_id=case.id,
            subjects=[case.person_id],
            after={"appraisals": [a.id for a in rows]},
        )


def appraisal_out(session: Session, p: Principal, a: Appraisal, case: Case) -> dict[str, Any]:
    today = clock.today()
    officer = p.can(P.APPRAISAL_READ)
    d = a.draw
    panel = None
    draw = None
    if d is not None and officer:
        members = {e.id: e for e in service.panel_experts(session, a)}
        covers = {int(i): s for s, i in d.covers}
        panel = [
            {
                "expert_id": i,
                "name": members[i].name if i in members else None,
                "specialty_code": members[i].specialty_code if i in members else None,
                "specialty_name": specialties.name(members[i].specialty_code) if i in members else None,
                "organisation": members[i].organisation if i in members else None,
                "title": members[i].title if i in members else None,
                "covers": covers.get(i),
            }
            for i in d.panel
        ]
        draw = {
            "id": d.id,
            "seed": str(d.seed),
            "drawn_at": clock.iso(d.drawn_at),
            "candidates": len(d.candidates),
            "excluded": [
                {"expert_id": i, "reason": r, "reason_name": drawing.EXCLUSION_REASONS.get(r, r)} for i, r in d.excluded
            ],
            "reason": d.reason or None,
            "redraws": len(a.draws) - 1,
        }
    concluded = a.status == "concluded"
    reappraisal_due = service.reappraisal_due(session, a) if concluded else None
    review_from = service.review_opens(session, a) if concluded else None
    return {
        "id": a.id,
        "number": a.number,
        "case_id": case.id,
        "case_number": case.number,
        "case_state": case.state,
        "case_version": case.version,
        "kind": a.kind,
        "kind_name": rules.KIND_NAMES[a.kind],
        "previous_id": a.previous_id,
        "committee_code": a.committee_code,
        "committee_name": experts.committee_name(session, a.committee_code),
        "status": a.status,
        "status_name": rules.STATUS_NAMES[a.status],
        "applicant": a.applicant,
        "applicant_name": rules.APPLICANT_NAMES.get(a.applicant, a.applicant),
        "applied_on": _iso(a.applied_on),
        "treatment_ended_on": _iso(a.treatment_ended_on),
        "statement": a.statement,
        "accepted_on": _iso(a.accepted_on),
        "needed_specialties": [{"code": c, "name": specialties.name(c)} for c in a.needed_specialties or []],
        "panel_size": a.panel_size,
        "due_on": _iso(a.due_on),
        "original_due_on": _iso(a.original_due_on),
        "overdue": bool(a.status == "accepted" and a.due_on and a.due_on < today),
        "extension": None
        if a.extended_on is None
        else {"on": _iso(a.extended_on), "reason": a.extension_reason, "due_before": _iso(a.original_due_on)},
        "panel_drawn": d is not None,
        "panel": panel,
        "draw": draw,
        "conclusion": None
        if not concluded
        else {
            "grade": a.grade,
            "grade_name": rules.grade_name(a.grade),
            "dependency": a.dependency,
            "dependency_name": rules.DEPENDENCY_NAMES.get(a.dependency or "", a.dependency),
            "concluded_on": _iso(a.concluded_on),
            "received_on": _iso(a.conclusion_received_on),
            "on_time": not (a.due_on and a.concluded_on and a.concluded_on > a.due_on),
            "final": a.final,
            "note": a.conclusion_note,
            "reappraisal_due": _iso(reappraisal_due),
            "review_from": _iso(review_from),
            "letter_id": a.letter_id,
        },
    }


def worklist_row(a: Appraisal, case: Case, committee_names: dict[str, str]) -> dict[str, Any]:
    today = clock.today()
    return {
        "id": a.id,
        "number": a.number,
        "case_id": case.id,
        "case_number": case.number,
        "kind": a.kind,
        "kind_name": rules.KIND_NAMES[a.kind],
        "committee_code": a.committee_code,
        "committee_name": committee_names.get(a.committee_code, a.committee_code),
        "status": a.status,
        "status_name": rules.STATUS_NAMES[a.status],
        "applied_on": _iso(a.applied_on),
        "accepted_on": _iso(a.accepted_on),
        "due_on": _iso(a.due_on),
        "extended": a.extended_on is not None,
        "overdue": bool(a.status == "accepted" and a.due_on and a.due_on < today),
        "panel_drawn": a.draw is not None,
        "concluded_on": _iso(a.concluded_on),
        "grade_name": rules.grade_name(a.grade) if a.status == "concluded" else None,
    }
