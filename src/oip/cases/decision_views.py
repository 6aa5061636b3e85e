"""What the decision part shows (JSON and the case page's panels): suspensions, the decision clock,
the decisions of every round, the insurer's recommendation (officers only), appeals and their windows,
and which of this part's steps the viewer may take now. Read-only: names, not codes."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from oip.auth import permissions as P
from oip.auth.service import Principal
from oip.cases import decision as D, rules, service
from oip.cases.models import Appeal, Case, CaseCode, CaseSuspension, Decision, InvestigationTask
from oip.core import clock
from oip.core.errors import DomainError


def _iso(d) -> str | None:
    return d.isoformat() if d is not None else None


def code_out(c: CaseCode) -> dict[str, Any]:
    return {
        "kind": c.kind,
        "kind_name": D.CODE_KIND_NAMES.get(c.kind, c.kind),
        "code": c.code,
        "name": c.name,
        "basis": c.basis,
        "valid_from": _iso(c.valid_from),
        "valid_to": _iso(c.valid_to),
    }


def suspension_out(s: CaseSuspension) -> dict[str, Any]:
    return {
        "id": s.id,
        "reason_kind": s.reason_kind,
        "reason_kind_name": D.SUSPENSION_KIND_NAMES.get(s.reason_kind, s.reason_kind),
        "reason": s.reason,
        "authority": s.authority,
        "started_on": _iso(s.started_on),
        "expected_until": _iso(s.expected_until),
        "ended_on": _iso(s.ended_on),
        "end_note": s.end_note,
    }


def decision_out(d: Decision, codes: dict[tuple[str, str], CaseCode]) -> dict[str, Any]:
    code = codes.get((d.code_kind, d.code))
    return {
        "id": d.id,
        "round": d.round,
        "outcome": d.outcome,
        "outcome_name": D.OUTCOME_NAMES.get(d.outcome, d.outcome),
        "code_kind": d.code_kind,
        "code_kind_name": D.CODE_KIND_NAMES.get(d.code_kind, d.code_kind),
        "code": d.code,
        "code_name": code.name if code is not None else d.code,
        "reasoning": d.reasoning,
        "decided_on": _iso(d.decided_on),
        "due_on": _iso(d.due_on),
        **D.timeliness(d),
        "overturned_on": _iso(d.overturned_on),
    }


def appeal_out(a: Appeal) -> dict[str, Any]:
    return {
        "id": a.id,
        "kind": a.kind,
        "kind_name": D.APPEAL_KIND_NAMES.get(a.kind, a.kind),
        "body": a.body,
        "decision_id": a.decision_id,
        "filed_on": _iso(a.filed_on),
        "expected_on": _iso(a.expected_on),
        "late_reason": a.late_reason,
        "outcome": a.outcome,
        "outcome_name": D.APPEAL_OUTCOME_NAMES.get(a.outcome, a.outcome),
        "outcome_on": _iso(a.outcome_on),
        "note": a.note,
    }


def recommendation_out(session: Session, t: InvestigationTask) -> dict[str, Any]:
    from oip.auth.models import Organisation

    org = session.get(Organisation, t.organisation_id)
    return {
        "task_id": t.id,
        "insurer": org.name if org is not None else None,
        "recommendation": t.recommendation,
        "recommendation_name": D.RECOMMENDATION_NAMES.get(t.recommendation or "", t.recommendation),
        "reason": t.recommendation_reason,
        "findings": t.findings,
        "submitted_at": clock.iso(t.submitted_at),
    }


def _clock(session: Session, case: Case) -> dict[str, Any] | None:
    try:
        c = service.decision_clock(session, case)
    except DomainError as e:
        if not service.calendar_gap(e):
            raise
        return None
    if c is None:
        return None
    return {
        "from": _iso(case.clock_from),
        "limit_working_days": c.limit,
        "used_working_days": c.used,
        "left_working_days": c.left,
        "suspended": c.suspended,
        "suspended_working_days": c.suspended_days,
        "due": _iso(c.due),
    }


def decision_part(session: Session, p: Principal, case: Case) -> dict[str, Any]:
    codes = {(c.kind, c.code): c for c in session.scalars(select(CaseCode))}
    sus = D.suspensions(session, case)
    decs = D.decisions(session, case)
    apps = D.appeals(session, case)
    legal = set(rules.legal_actions(case.state))
    decide = p.can(P.CASE_DECIDE)
    handle = p.can(P.CASE_HANDLE)
    windows = D.appeal_windows(session, case) if case.state in ("confirmed", "not_confirmed", "refused") else None
    pending = next((a for a in apps if a.outcome == "pending"), None)
    examining = case.state in rules.CLOCK_STATES
    return {
        "state": case.state,
        "state_name": rules.STATE_NAMES[case.state],
        "version": case.version,
        "decision_due": _iso(case.decision_due),
        "clock": _clock(session, case) if examining else None,
        "suspensions": [suspension_out(s) for s in sus],
        "open_suspension": next((suspension_out(s) for s in sus if s.ended_on is None), None),
        "decisions": [decision_out(d, codes) for d in decs],
        "current_decision": next((decision_out(d, codes) for d in reversed(decs) if d.overturned_on is None), None),
        # The insurer's findings inform the officer; platforms and the worker do not see them here.
        "recommendations": [recommendation_out(session, t) for t in D.recommendations(session, case)]
        if p.role.scope == "region"
        else [],
        "appeals": [appeal_out(a) for a in apps],
        "pending_appeal": appeal_out(pending) if pending is not None else None,
        "appeal_windows": {k: v if isinstance(v, (bool, str)) else _iso(v) for k, v in windows.items()}
        if windows
        else None,
        "close_needs_reason": not D.close_allowed_without_reason(case),
        "can": {
            "suspend": handle and "suspend" in legal,
            "resume": handle and "resume" in legal,
            "decide": decide and "confirm" in legal,
            "appeal": decide and "appeal" in legal,
            "appeal_outcome": decide and pending is not None and "appeal_upheld" in legal,
            "close": decide and "close" in legal,
        },
    }
