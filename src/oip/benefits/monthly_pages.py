"""Pages of monthly benefits (定期待遇): the case panel (order 70) with each benefit — recipient,
item, rate, status, eligibility date, the last 12 months, 应追回 — and its two forms (record an
eligibility confirmation, stop with a reason and date); one benefit's page with every month
(paginated); the worklist /benefits/monthly with its filters."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import RedirectResponse
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from oip.auth import permissions as P
from oip.auth.deps import Require
from oip.auth.service import Principal
from oip.benefits import monthly, monthly_rules as R
from oip.benefits.monthly_api import SCHEDULE_PAGE, EligibilityIn, StopIn
from oip.cases import service as cases
from oip.cases.models import Case
from oip.cases.pages import Panel, register_panel, render_case
from oip.core import clock, layout
from oip.core.errors import DomainError
from oip.core.layout import render
from oip.core.pagination import page_count, page_window
from oip.core.validation import from_form
from oip.core.web import DB, TransactionRoute

pages = APIRouter(include_in_schema=False, route_class=TransactionRoute)
layout.register_nav(
    layout.NavItem("定期待遇", "/benefits/monthly", P.BENEFIT_READ, order=62, titles={"self": "我的定期待遇"})
)
FORM_LABELS = {"confirmed_on": "认证日期", "means": "认证方式", "on": "停发日期", "reason": "停发原因", "note": "说明"}


def _panel(db: Session, p: Principal, case: Case) -> dict[str, Any] | None:
    if not p.can(P.BENEFIT_READ):
        return None
    rows = monthly.for_case(db, case)
    if not rows:
        return None
    return {
        "items": [monthly.describe(db, mb) for mb in rows],
        "can_manage": p.can(P.BENEFIT_DETERMINE),
        "means": R.MEANS,
        "reasons": {k: R.STOP_REASONS[k] for k in R.OFFICER_STOP_REASONS},
        "today": clock.today().isoformat(),
        "yuan": R.yuan,
    }


register_panel(Panel("monthly", "benefits/_monthly.html", _panel, order=70))


async def form_data(request: Request) -> FormData:
    return await request.form()


def _submit(
    request: Request, db: Session, p: Principal, case_id: int, monthly_id: int, form: FormData, name: str, step
):
    values = {k: v for k, v in form.items() if isinstance(v, str) and k != "csrf_token"}
    mb = monthly.get_monthly(db, p, monthly_id)
    if mb.case_id != case_id:
        raise DomainError("定期待遇不属于该案件", field="monthly_id")
    try:
        step(values)
    except DomainError as e:
        if e.status_code in (401, 403, 404):
            raise
        db.rollback()
        return render_case(
            request,
            db,
            p,
            cases.get_case(db, p, case_id),
            status_code=e.status_code,
            form_error={"form": f"{name}-{monthly_id}", "reason": e.reason, "field": e.field},
            form_values=values,
        )
    return RedirectResponse(f"/cases/{case_id}#monthly-{monthly_id}", status_code=303)


@pages.post("/cases/{case_id}/monthly/{monthly_id}/eligibility")
def eligibility_post(
    request: Request,
    case_id: int,
    monthly_id: int,
    p: Principal = Depends(Require(P.BENEFIT_DETERMINE)),
    form: FormData = Depends(form_data),
    db: Session = DB,
):
    def step(v):
        x = from_form(EligibilityIn, v, FORM_LABELS)
        monthly.confirm_eligibility(db, p, monthly_id, confirmed_on=x.confirmed_on, means=x.means, note=x.note)

    return _submit(request, db, p, case_id, monthly_id, form, "eligibility", step)


@pages.post("/cases/{case_id}/monthly/{monthly_id}/stop")
def stop_post(
    request: Request,
    case_id: int,
    monthly_id: int,
    p: Principal = Depends(Require(P.BENEFIT_DETERMINE)),
    form: FormData = Depends(form_data),
    db: Session = DB,
):
    def step(v):
        x = from_form(StopIn, v, FORM_LABELS)
        monthly.stop(db, p, monthly_id, on=x.on, reason=x.reason, note=x.note)

    return _submit(request, db, p, case_id, monthly_id, form, "stop", step)


@pages.get("/benefits/monthly")
def worklist(
    request: Request,
    filter: str | None = Query(None, max_length=16),
    page: int = Query(1, ge=1, le=100_000),
    p: Principal = Depends(Require(P.BENEFIT_READ)),
    db: Session = DB,
):
    filter = filter if filter in monthly.FILTERS else None
    out = monthly.list_monthly(db, p, filter=filter, page=page)
    pages_ = page_count(out.total, monthly.LIST_PAGE)
    page = min(page, pages_)
    kept = {"filter": filter} if filter else {}

    def page_url(n: int) -> str:
        return "/benefits/monthly?" + urlencode({**kept, "page": n})

    return render(
        request,
        "benefits/monthly_list.html",
        title="定期待遇",
        items=out.items,
        total=out.total,
        page=page,
        pages=pages_,
        page_url=page_url,
        window=page_window(page, pages_),
        kept=kept,
        filter=filter,
        filters=monthly.FILTERS,
        can_case=p.can(P.CASE_READ),
        yuan=R.yuan,
    )


@pages.get("/benefits/monthly/{monthly_id}")
def detail(
    request: Request,
    monthly_id: int,
    page: int = Query(1, ge=1, le=10_000),
    p: Principal = Depends(Require(P.BENEFIT_READ)),
    db: Session = DB,
):
    mb = monthly.get_monthly(db, p, monthly_id)
    view = monthly.describe(db, mb, months=None)
    pages_ = page_count(len(view["schedule"]), SCHEDULE_PAGE)
    page = min(page, pages_)
    view["schedule"] = view["schedule"][(page - 1) * SCHEDULE_PAGE : page * SCHEDULE_PAGE]
    number = db.get(Case, mb.case_id).number
    return render(
        request,
        "benefits/monthly_detail.html",
        title=f"定期待遇 · {view['item_name']} · {view['recipient']}",
        m=view,
        case_number=number,
        can_case=p.can(P.CASE_READ),
        page=page,
        pages=pages_,
        page_url=lambda n: f"/benefits/monthly/{monthly_id}?page={n}",
        window=page_window(page, pages_),
        yuan=R.yuan,
    )
