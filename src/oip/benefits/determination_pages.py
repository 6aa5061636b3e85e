"""Pages of determinations (待遇核定): the case page's panel (order 60) — the dependants of a death
or missing case, every version with its lines (formula, parameter versions, adjustments with their
reasons) and the forms the signed-in user may use now — and the checkers' worklist
``/benefits/approvals`` (待遇核定审批). The worker sees the approved versions of their own case and
downloads the letter. Forms post here and come back to the case (or the worklist); a refused form
shows the case page again with the reason in the panel."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import RedirectResponse
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from oip.auth import permissions as P
from oip.auth.deps import Require
from oip.auth.service import Principal
from oip.benefits import determination as D, determination_views as V
from oip.cases import service as cases
from oip.cases.models import Case
from oip.cases.pages import Panel, PanelForms, register_panel
from oip.core import clock, layout
from oip.core.errors import DomainError
from oip.core.layout import render
from oip.core.pagination import page_count, page_window
from oip.core.web import DB, TransactionRoute

pages = APIRouter(include_in_schema=False, route_class=TransactionRoute)

layout.register_nav(layout.NavItem("待遇核定审批", "/benefits/approvals", P.BENEFIT_APPROVE, order=61))

PAGE_SIZE = 30


async def form_data(request: Request) -> FormData:
    return await request.form()


def _fields(form: FormData) -> dict[str, str]:
    return {k: v for k, v in form.items() if isinstance(v, str) and k != "csrf_token"}


def _lock(v: dict[str, str]) -> int | None:
    return int(v["version_lock"]) if (v.get("version_lock") or "").isdigit() else None


def _fen(text: str | None, field: str = "amount_fen") -> int:
    """Yuan as typed on a form (12,345.6) → fen; a DomainError naming the field otherwise."""
    raw = (text or "").replace(",", "").replace("，", "").strip()
    try:
        value = Decimal(raw)
    except InvalidOperation:
        raise DomainError("金额应为数字（元，最多两位小数）", field=field) from None
    if not value.is_finite() or value < 0 or value != value.quantize(Decimal("0.01")):
        raise DomainError("金额应为不小于零的数字（元，最多两位小数）", field=field)
    return int(value * 100)


def _date(text: str | None, field: str, label: str, *, required: bool = False) -> dt.date | None:
    raw = (text or "").strip()
    if not raw:
        if required:
            raise DomainError(f"请填写{label}", field=field)
        return None
    try:
        return dt.date.fromisoformat(raw)
    except ValueError:
        raise DomainError(f"{label}应为日期（YYYY-MM-DD）", field=field) from None


# ---- the case panel --------------------------------------------------------------------------------


def _panel(db: Session, p: Principal, case: Case) -> dict[str, Any] | None:
    if not p.can(P.BENEFIT_READ):
        return None
    staff = p.role.scope == "region"
    rows = D.determinations_of(db, p, case)
    may_determine = staff and p.can(P.BENEFIT_DETERMINE)
    confirmed = D.confirmed_decision(db, case) is not None
    open_version = next((d for d in rows if d.status in ("draft", "submitted", "returned")), None)
    can_open = may_determine and confirmed and open_version is None
    if case.kind == "injury" and D.latest_appraisal(db, case) is None:
        can_open = False
    has_dependants = case.kind in ("death", "missing")
    dependants = D.dependants_of(db, case) if has_dependants and staff else []
    if not rows and not can_open and not (has_dependants and may_determine and confirmed):
        return None
    names = V.user_names(db, {u for d in rows for u in (d.made_by, d.approved_by)})
    return {
        "items": [V.determination_out(db, p, case, d, names=names) for d in rows],
        "staff": staff,
        "may_determine": may_determine,
        "may_approve": staff and p.can(P.BENEFIT_APPROVE),
        "can_open": can_open,
        "has_dependants": has_dependants,
        "dependants": [V.dependant_out(d) for d in dependants],
        "relations": D.RELATION_NAMES,
        "today": clock.today().isoformat(),
        "error": FORMS.error_for(case),
    }


# Forms posted from the case page: back to the panel, or the page again with the refusal in the panel.
FORMS = PanelForms("determination")

register_panel(Panel("determination", "determination_panel.html", _panel, order=60))


def _det_step(request: Request, db: Session, p: Principal, determination_id: int, fn) -> Any:
    case, _ = D.get_determination(db, p, determination_id)
    return FORMS.step(request, db, p, case.id, fn)


@pages.post("/cases/{case_id}/determinations")
def determination_open(
    request: Request,
    case_id: int,
    p: Principal = Depends(Require(P.BENEFIT_DETERMINE)),
    form: FormData = Depends(form_data),
    db: Session = DB,
):
    v = _fields(form)
    return FORMS.step(request, db, p, case_id, lambda: D.open_determination(db, p, case_id, note=v.get("note", "")))


@pages.post("/determinations/{determination_id}/lines/{line_id}")
def determination_adjust(
    request: Request,
    determination_id: int,
    line_id: int,
    p: Principal = Depends(Require(P.BENEFIT_DETERMINE)),
    form: FormData = Depends(form_data),
    db: Session = DB,
):
    v = _fields(form)
    return _det_step(
        request,
        db,
        p,
        determination_id,
        lambda: D.adjust_line(
            db,
            p,
            determination_id,
            line_id,
            amount_fen=_fen(v.get("amount_yuan")),
            reason=v.get("reason", ""),
            version=_lock(v),
        ),
    )


def _simple(step: str, permission: str, fn, text_field: str):
    def route(
        request: Request,
        determination_id: int,
        p: Principal = Depends(Require(permission)),
        form: FormData = Depends(form_data),
        db: Session = DB,
    ):
        v = _fields(form)
        kwargs = {text_field: v.get(text_field, "")}
        after = v.get("after") if v.get("after") in ("approvals",) else None

        def run():
            fn(db, p, determination_id, version=_lock(v), **kwargs)

        if after == "approvals":
            D.get_determination(db, p, determination_id)  # 404 outside the scope, as everywhere
            try:
                run()
            except DomainError as err:
                db.rollback()
                if err.status_code == 404:
                    raise
                return _approvals(request, db, p, 1, error=err, status_code=err.status_code)
            return RedirectResponse("/benefits/approvals", status_code=303)
        return _det_step(request, db, p, determination_id, run)

    route.__name__ = f"determination_{step}"
    pages.add_api_route(f"/determinations/{{determination_id}}/{step}", route, methods=["POST"])


_simple("submit", P.BENEFIT_DETERMINE, D.submit, "note")
_simple("approve", P.BENEFIT_APPROVE, D.approve, "note")
_simple("return", P.BENEFIT_APPROVE, D.return_, "reason")
_simple("cancel", P.BENEFIT_DETERMINE, D.cancel_draft, "reason")


def _dependant_values(v: dict[str, str]) -> dict[str, Any]:
    return {
        "name": v.get("name", ""),
        "relation": v.get("relation", ""),
        "orphan_or_lone_elderly": v.get("orphan_or_lone_elderly") in ("1", "on", "true"),
        "birth_date": _date(v.get("birth_date"), "birth_date", "出生日期", required=True),
        "id_number": v.get("id_number", ""),
        "phone": v.get("phone", ""),
        "school_until": _date(v.get("school_until"), "school_until", "在校至"),
        "died_on": _date(v.get("died_on"), "died_on", "死亡日期"),
        "note": v.get("note", ""),
    }


@pages.post("/cases/{case_id}/dependants")
def dependant_add(
    request: Request,
    case_id: int,
    p: Principal = Depends(Require(P.BENEFIT_DETERMINE)),
    form: FormData = Depends(form_data),
    db: Session = DB,
):
    v = _fields(form)
    return FORMS.step(request, db, p, case_id, lambda: D.add_dependant(db, p, case_id, **_dependant_values(v)))


@pages.post("/cases/{case_id}/dependants/{dependant_id}")
def dependant_edit(
    request: Request,
    case_id: int,
    dependant_id: int,
    p: Principal = Depends(Require(P.BENEFIT_DETERMINE)),
    form: FormData = Depends(form_data),
    db: Session = DB,
):
    v = _fields(form)
    return FORMS.step(
        request,
        db,
        p,
        case_id,
        lambda: D.update_dependant(db, p, case_id, dependant_id, **_dependant_values(v)),
    )


# ---- the checkers' worklist -----------------------------------------------------------------------


def _approvals(request: Request, db: Session, p: Principal, page: int, *, error=None, status_code: int = 200):
    rows, total = D.pending_approvals(db, p, page=page, size=PAGE_SIZE)
    pages_ = page_count(total, PAGE_SIZE)
    names = V.user_names(db, {d.made_by for d in rows})
    items = []
    for det in rows:
        case = cases.get_case(db, p, det.case_id)
        items.append(V.determination_out(db, p, case, det, names=names))

    def page_url(n: int) -> str:
        return "/benefits/approvals?" + urlencode({"page": n})

    return render(
        request,
        "determination_approvals.html",
        status_code=status_code,
        title="待遇核定审批",
        items=items,
        total=total,
        page=page,
        pages=pages_,
        page_url=page_url,
        window=page_window(page, pages_),
        error=error,
    )


@pages.get("/benefits/approvals")
def approvals_page(
    request: Request,
    page: int = Query(1, ge=1, le=100_000),
    p: Principal = Depends(Require(P.BENEFIT_APPROVE)),
    db: Session = DB,
):
    return _approvals(request, db, p, page)
