"""Pages of the case core: the case list with its worklist tabs, and one case — head, deadlines,
timeline, and the panels each part of the case registers (``register_panel``): intake, investigation,
decision, letters, appraisal each show their part and their forms on the one case page."""

from __future__ import annotations

from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import RedirectResponse
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from oip.auth import permissions as P
from oip.auth.deps import Require
from oip.auth.service import Principal
from oip.cases import rules, service
from oip.cases.models import Case
from oip.cases.scope import case_condition
from oip.core import clock, layout
from oip.core.errors import DomainError
from oip.core.layout import render
from oip.core.pagination import page_count, page_window
from oip.core.web import DB, TransactionRoute

pages = APIRouter(include_in_schema=False, route_class=TransactionRoute)
layout.register_nav(
    layout.NavItem(
        "职业伤害案件",
        "/cases",
        P.CASE_READ,
        order=40,
        titles={"platform": "本企业人员案件", "self": "我的职业伤害案件", "insurer": "受托调查的案件"},
    )
)


def _overdue(db: Session, p: Principal) -> int:
    return (
        db.scalar(
            select(func.count())
            .select_from(Case)
            .where(case_condition(p), Case.state.in_(rules.OPEN_STATES), Case.next_due < clock.today())
        )
        or 0
    )


layout.register_stat(layout.Stat("已超期的职业伤害案件", P.CASE_READ, _overdue, order=40, scopes=frozenset({"region"})))


@dataclass(frozen=True)
class Panel:
    """A part of the case page: ``template`` rendered with ``panel`` = ``context(db, principal, case)``
    (None: the panel is not shown to this principal or in this state)."""

    name: str
    template: str
    context: Callable[[Session, Principal, Case], dict[str, Any] | None]
    order: int = 100


_PANELS: dict[str, Panel] = {}


def register_panel(panel: Panel) -> None:
    _PANELS[panel.name] = panel


def panels_for(db: Session, p: Principal, case: Case) -> list[tuple[str, dict[str, Any]]]:
    out = []
    for panel in sorted(_PANELS.values(), key=lambda x: (x.order, x.name)):
        ctx = panel.context(db, p, case)
        if ctx is not None:
            out.append((panel.template, ctx))
    return out


@pages.get("/cases")
def case_list(
    request: Request,
    bucket: str | None = Query(None, max_length=16),
    state: str | None = Query(None, max_length=16),
    q: str | None = Query(None, max_length=32),
    page: int = Query(1, ge=1, le=100_000),
    p: Principal = Depends(Require(P.CASE_READ)),
    db: Session = DB,
):
    bucket = bucket or None
    state = state or None
    items, total = service.list_cases(db, p, state=state, bucket=bucket, q=q or None, page=page)
    pages_ = page_count(total, service.LIST_PAGE)
    page = min(page, pages_)
    kept = {k: v for k, v in {"bucket": bucket, "state": state, "q": q}.items() if v}

    def page_url(n: int) -> str:
        return "/cases?" + urlencode({**kept, "page": n})

    return render(
        request,
        "cases/case_list.html",
        title="职业伤害案件",
        items=items,
        total=total,
        page=page,
        pages=pages_,
        page_url=page_url,
        window=page_window(page, pages_),
        kept=kept,
        bucket=bucket,
        state=state,
        q=q or "",
        buckets=service.BUCKETS,
        states=rules.STATE_NAMES,
    )


def render_case(request: Request, db: Session, p: Principal, case: Case, *, status_code: int = 200, **extra):
    """The case page: head, deadlines, every part's panel, the timeline (a read of the person's data,
    audited). ``extra``: what a part's panel needs after a refused form (its error, what was typed)."""
    view = service.describe(db, p, case)
    service.view_audit(db, p, case)
    return render(
        request,
        "cases/case.html",
        status_code=status_code,
        title=f"案件 {case.number}",
        case=case,
        c=view,
        events=service.timeline(db, case),
        event_name=service.event_name,
        state_names=rules.STATE_NAMES,
        panels=panels_for(db, p, case),
        local=clock.local,
        **extra,
    )


class PanelForms:
    """The forms a part's panel posts from the case page, answered one way: on success back to the
    case at the panel's anchor (303); on a refusal (DomainError other than 404) the transaction is
    rolled back and the case page drawn again with the error in that panel (``error_for``), with the
    refusal's status code."""

    def __init__(self, anchor: str) -> None:
        self.anchor = anchor
        self._error: ContextVar[tuple[int, DomainError] | None] = ContextVar(f"{anchor}_form_error", default=None)

    def error_for(self, case: Case) -> DomainError | None:
        """The refusal to show in the panel of ``case``, while its page is drawn again."""
        failed = self._error.get()
        return failed[1] if failed and failed[0] == case.id else None

    def back(self, case_id: int) -> RedirectResponse:
        return RedirectResponse(f"/cases/{case_id}#{self.anchor}", status_code=303)

    def step(self, request: Request, db: Session, p: Principal, case_id: int, fn: Callable[[], Any]):
        """Run ``fn`` (the service call of a posted form) and answer as above."""
        try:
            fn()
        except DomainError as err:
            db.rollback()
            if err.status_code == 404:
                raise
            token = self._error.set((case_id, err))
            try:
                return render_case(request, db, p, service.get_case(db, p, case_id), status_code=err.status_code)
            finally:
                self._error.reset(token)
        return self.back(case_id)


@pages.get("/cases/{case_id}")
def case_page(request: Request, case_id: int, p: Principal = Depends(Require(P.CASE_READ)), db: Session = DB):
    return render_case(request, db, p, service.get_case(db, p, case_id))


def _guide_panel(db: Session, p: Principal, case: Case) -> dict[str, Any] | None:
    """进展与下一步: where the case stands, what is missing, what comes next and by when — in plain
    words, for everyone who may see the case (first of all the worker and the platform)."""
    from oip.cases import guide
    from oip.cases.models import CaseCode, CaseSuspension, CorrectionNotice, InvestigationTask

    facts: dict[str, Any] = {
        "jurisdiction": service.jurisdiction(db, case.county_code)["name"],
        "next_due": case.next_due,
        "decision_due": case.decision_due,
        "accepted_on": case.accepted_on,
    }
    try:
        limits = service.application_limits(db, case)
        facts.update(platform_due=limits.platform_due, worker_due=limits.worker_due)
    except DomainError as e:  # a year without a holiday arrangement: the dates stay unsaid
        if not service.calendar_gap(e):
            raise
    d = service.current_decision(db, case)
    if d is not None:
        facts["decided_on"] = d.decided_on
        code = db.get(CaseCode, (d.code_kind, d.code))
        facts["outcome_reason"] = code.name if code is not None and d.outcome != "confirmed" else None
    if case.state == "refused":
        ev = next((e for e in reversed(service.timeline(db, case)) if e.action == "refuse"), None)
        facts["outcome_reason"] = ev.note if ev is not None else None
    if case.state in ("confirmed", "not_confirmed", "refused"):
        facts["appeal_due"] = case.next_due
    notice = db.scalar(
        select(CorrectionNotice).where(CorrectionNotice.case_id == case.id, CorrectionNotice.fulfilled_on.is_(None))
    )
    if notice is not None:
        facts["missing"] = [i.get("name") or i.get("requirement") for i in notice.items]
    susp = db.scalar(
        select(CaseSuspension).where(
            CaseSuspension.case_id == case.id,
            CaseSuspension.ended_on.is_(None),
            CaseSuspension.reason_kind != "correction",
        )
    )
    facts["suspension_reason"] = susp.reason if susp is not None else None
    facts["investigating"] = (
        db.scalar(
            select(InvestigationTask.id).where(InvestigationTask.case_id == case.id, InvestigationTask.status == "open")
        )
        is not None
    )
    viewer = {"self": "worker", "platform": "platform"}.get(p.role.scope, "staff")
    return {"g": guide.guide(case.state, facts, viewer), "viewer": viewer}


register_panel(Panel("guide", "cases/_guide.html", _guide_panel, order=5))
