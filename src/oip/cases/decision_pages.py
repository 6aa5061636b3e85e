"""Pages of the decision part: the panels "审查与结论" (suspension, resumption, the clock, the insurer's
recommendation, the decision and earlier decisions) and "复议与诉讼" (appeals, their outcome, closing)
on the case page, their form posts, and the office's worklist (/worklist, 待办工作台).

A form posts to ``/cases/{id}/...``; on success it redirects (303) back to the case page; a domain
error (a date out of order, a code of the wrong kind, a stale version …) shows the case page again
with the reason inside the panel of the form and the values entered."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import RedirectResponse
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from oip.auth import permissions as P
from oip.auth.deps import Require
from oip.auth.service import Principal
from oip.cases import decision as D, decision_views as V, parameters as CP, rules, service, worklist
from oip.cases.decision_schemas import (
    AppealIn,
    AppealOutcomeIn,
    CloseIn,
    DecisionIn,
    ResumptionIn,
    SuspensionIn,
    from_form,
)
from oip.cases.models import Case
from oip.cases.pages import Panel, register_panel, render_case
from oip.core import clock, layout
from oip.core.errors import DomainError
from oip.core.layout import render
from oip.core.pagination import page_window
from oip.core.web import DB, TransactionRoute
from oip.reference import parameters

pages = APIRouter(include_in_schema=False, route_class=TransactionRoute)
layout.register_nav(layout.NavItem("待办工作台", "/worklist", P.CASE_HANDLE, order=41))

AUTHORITIES = ("公安机关交通管理部门", "公安机关", "人民法院", "医疗机构", "市场监督管理部门", "应急管理部门")


# ---- panels ---------------------------------------------------------------------------------------


def _decision_panel(db: Session, p: Principal, case: Case) -> dict[str, Any] | None:
    """Shown once the case is accepted (the clock runs) or has a suspension or decision."""
    view = V.decision_part(db, p, case)
    if case.clock_from is None and not view["decisions"] and not view["suspensions"]:
        return None
    today = clock.today()
    view["today"] = today.isoformat()
    view["codes"] = D.decision_codes(db, today) if view["can"]["decide"] else {}
    view["code_kind_names"] = D.CODE_KIND_NAMES
    view["code_groups"] = {
        "situation": "予以确认：认定情形",
        "exclusion": "不予确认：排除情形",
        "reason": "不予确认：其他理由",
    }
    view["authorities"] = AUTHORITIES
    view["late"] = bool(case.decision_due and today > case.decision_due)
    return view


def _appeals_panel(db: Session, p: Principal, case: Case) -> dict[str, Any] | None:
    """Shown once there is something to appeal (a decision, a refusal) or an appeal."""
    view = V.decision_part(db, p, case)
    if not view["decisions"] and not view["appeals"] and case.state != "refused":
        return None
    today = clock.today()
    view["today"] = today.isoformat()
    view["kinds"] = D.APPEAL_KIND_NAMES
    view["outcome_days"] = parameters.get(db, CP.APPEAL_OUTCOME_DAYS, today)
    view["close_name"] = rules.DEADLINE_NAMES.get(rules.WAITS_ON.get(case.state, ""), "")
    view["next_due"] = case.next_due.isoformat() if case.next_due else None
    return view


register_panel(Panel("decision", "cases/_decision.html", _decision_panel, order=30))
register_panel(Panel("appeals", "cases/_appeals.html", _appeals_panel, order=35))


# ---- form posts -----------------------------------------------------------------------------------


async def form_data(request: Request) -> FormData:
    return await request.form()


def _values(form: FormData) -> dict[str, str]:
    return {k: v for k, v in form.items() if isinstance(v, str) and k != "csrf_token"}


def _case_page(request: Request, db: Session, p: Principal, case_id: int, *, status_code: int, **extra):
    """The case page as oip.cases.pages draws it, with this part's form error and values."""
    return render_case(request, db, p, service.get_case(db, p, case_id), status_code=status_code, **extra)


def _submit(
    request: Request,
    db: Session,
    p: Principal,
    case_id: int,
    form: FormData,
    name: str,
    anchor: str,
    step: Callable[[dict[str, str]], Any],
):
    values = _values(form)
    try:
        step(values)
    except DomainError as e:
        if e.status_code in (401, 403, 404):  # not a matter of the form: the app's own answer
            raise
        db.rollback()
        return _case_page(
            request,
            db,
            p,
            case_id,
            status_code=e.status_code,
            form_error={"form": name, "reason": e.reason, "field": e.field},
            form_values=values,
        )
    return RedirectResponse(f"/cases/{case_id}#{anchor}", status_code=303)


@pages.post("/cases/{case_id}/suspension")
def suspension_post(
    request: Request,
    case_id: int,
    p: Principal = Depends(Require(P.CASE_HANDLE)),
    form: FormData = Depends(form_data),
    db: Session = DB,
):
    def step(v):
        D.suspend(db, p, case_id, **from_form(SuspensionIn, v).model_dump())

    return _submit(request, db, p, case_id, form, "suspend", "decision", step)


@pages.post("/cases/{case_id}/resumption")
def resumption_post(
    request: Request,
    case_id: int,
    p: Principal = Depends(Require(P.CASE_HANDLE)),
    form: FormData = Depends(form_data),
    db: Session = DB,
):
    def step(v):
        D.resume(db, p, case_id, **from_form(ResumptionIn, v).model_dump())

    return _submit(request, db, p, case_id, form, "resume", "decision", step)


@pages.post("/cases/{case_id}/decision")
def decision_post(
    request: Request,
    case_id: int,
    p: Principal = Depends(Require(P.CASE_DECIDE)),
    form: FormData = Depends(form_data),
    db: Session = DB,
):
    def step(v):
        D.decide(db, p, case_id, **from_form(DecisionIn, v).model_dump())

    return _submit(request, db, p, case_id, form, "decide", "decision", step)


@pages.post("/cases/{case_id}/appeals")
def appeal_post(
    request: Request,
    case_id: int,
    p: Principal = Depends(Require(P.CASE_DECIDE)),
    form: FormData = Depends(form_data),
    db: Session = DB,
):
    def step(v):
        D.file_appeal(db, p, case_id, **from_form(AppealIn, v).model_dump())

    return _submit(request, db, p, case_id, form, "appeal", "appeals", step)


@pages.post("/cases/{case_id}/appeals/{appeal_id}/outcome")
def appeal_outcome_post(
    request: Request,
    case_id: int,
    appeal_id: int,
    p: Principal = Depends(Require(P.CASE_DECIDE)),
    form: FormData = Depends(form_data),
    db: Session = DB,
):
    def step(v):
        D.appeal_outcome(db, p, case_id, appeal_id, **from_form(AppealOutcomeIn, v).model_dump())

    return _submit(request, db, p, case_id, form, "appeal_outcome", "appeals", step)


@pages.post("/cases/{case_id}/close")
def close_post(
    request: Request,
    case_id: int,
    p: Principal = Depends(Require(P.CASE_DECIDE)),
    form: FormData = Depends(form_data),
    db: Session = DB,
):
    def step(v):
        D.close(db, p, case_id, **from_form(CloseIn, v).model_dump())

    return _submit(request, db, p, case_id, form, "close", "appeals", step)


# ---- worklist -------------------------------------------------------------------------------------


@pages.get("/worklist")
def worklist_page(
    request: Request,
    area: str | None = Query(None, max_length=6),
    due_soon_page: int = Query(1, ge=1, le=100_000),
    overdue_page: int = Query(1, ge=1, le=100_000),
    suspended_page: int = Query(1, ge=1, le=100_000),
    p: Principal = Depends(Require(P.CASE_HANDLE, P.CASE_DECIDE)),
    db: Session = DB,
):
    area = area or None
    asked = {"due_soon": due_soon_page, "overdue": overdue_page, "suspended": suspended_page}
    sections = {name: worklist.bucket(db, p, name, page=n, area=area) for name, n in asked.items()}
    kept = {f"{k}_page": s["page"] for k, s in sections.items() if s["page"] > 1}
    if area:
        kept["area"] = area

    def url_for(name: str) -> Callable[[int], str]:
        def url(n: int) -> str:
            return "/worklist?" + urlencode({**kept, f"{name}_page": n}) + f"#{name}"

        return url

    summary = worklist.summary(db, p)
    area_name = next((r["name"] for r in summary["rows"] if r["code"] == area), area) if area else None
    return render(
        request,
        "cases/worklist.html",
        title="待办工作台",
        summary=summary,
        sections=[
            (
                name,
                s,
                url_for(name),
                page_window(s["page"], s["pages"]),
                {k: v for k, v in kept.items() if k != f"{name}_page"},
            )
            for name, s in sections.items()
        ],
        area=area,
        area_name=area_name,
    )
