"""HTML pages of labour-capacity appraisal: the committees' expert pools (/appraisal/experts)."""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from oip.appraisal import experts, schemas as S, specialties
from oip.appraisal.scope import committee_of, manages_committee
from oip.auth import permissions as P
from oip.auth.deps import Require
from oip.auth.service import Principal
from oip.core import clock, layout
from oip.core.errors import DomainError
from oip.core.layout import render
from oip.core.pagination import page_window
from oip.core.web import DB, TransactionRoute
from oip.platforms.models import Platform
from oip.platforms.scope import admitted

pages = APIRouter(include_in_schema=False, route_class=TransactionRoute)
layout.register_nav(layout.NavItem("鉴定专家库", "/appraisal/experts", P.APPRAISAL_READ, order=58))

DONE = {
    "created": "鉴定专家已登记。",
    "updated": "专家信息已保存。",
    "deactivated": "专家已停用，今后不再参加抽取。",
    "activated": "专家已恢复在册。",
    "tied": "回避关系已登记。",
    "untied": "回避关系已解除。",
}
ACTIVE_CHOICES = {"1": "在册", "0": "已停用"}


async def form_data(request: Request) -> FormData:
    return await request.form()


def _fields(form: FormData) -> dict[str, str]:
    return {k: v for k, v in form.items() if isinstance(v, str) and k != "csrf_token"}


def _redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


@pages.get("/appraisal/experts")
def expert_list(
    request: Request,
    committee: str | None = None,
    specialty: str | None = None,
    active: str | None = None,
    q: str | None = None,
    page: str | None = None,
    p: Principal = Depends(Require(P.APPRAISAL_READ)),
    db: Session = DB,
):
    visible = experts.visible_committees(db, p)
    committee = committee if committee in visible else None
    specialty = specialty if specialty in specialties.specialties() else None
    active = active if active in ACTIVE_CHOICES else None
    result = experts.list_experts(
        db,
        p,
        committee=committee,
        specialty=specialty,
        active=None if active is None else active == "1",
        q=q,
        page=int(page) if (page or "").isdigit() else 1,
    )
    kept = {k: v for k, v in {"committee": committee, "specialty": specialty, "active": active, "q": q}.items() if v}

    def page_url(n: int) -> str:
        return "/appraisal/experts?" + urlencode({**kept, "page": n})

    mine = committee_of(p)
    return render(
        request,
        "expert_list.html",
        title="鉴定专家库",
        result=result,
        committees=visible,
        specialties=specialties.specialties(),
        active_choices=ACTIVE_CHOICES,
        committee=committee or "",
        specialty=specialty or "",
        active=active or "",
        q=q or "",
        kept=kept,
        page_url=page_url,
        window=page_window(result.page, result.pages),
        can_add=mine is not None and manages_committee(p, mine),
        my_committee=visible.get(mine or "", ""),
    )


def _new_form(request: Request, db: Session, p: Principal, values: dict, error: DomainError | None = None):
    return render(
        request,
        "expert_new.html",
        status_code=error.status_code if error else 200,
        title="登记鉴定专家",
        values=values,
        error=error,
        committee_name=experts.committee_name(db, committee_of(p) or ""),
        specialties=specialties.specialties(),
        titles=specialties.titles(),
    )


@pages.get("/appraisal/experts/new")
def expert_new(request: Request, p: Principal = Depends(Require(P.APPRAISAL_MANAGE)), db: Session = DB):
    return _new_form(request, db, p, {})


@pages.post("/appraisal/experts/new")
def expert_create(
    request: Request,
    p: Principal = Depends(Require(P.APPRAISAL_MANAGE)),
    form: FormData = Depends(form_data),
    db: Session = DB,
):
    values = _fields(form)
    try:
        body = S.from_form(S.ExpertIn, values)
        e = experts.create_expert(db, p, **body.model_dump())
    except DomainError as err:
        db.rollback()
        return _new_form(request, db, p, values, err)
    return _redirect(f"/appraisal/experts/{e.id}?done=created")


def _detail(
    request: Request,
    db: Session,
    p: Principal,
    expert_id: int,
    error: DomainError | None = None,
    form: dict | None = None,
):
    e = experts.view_expert(db, p, expert_id)
    today = clock.today()
    can_manage = manages_committee(p, e.committee_code)
    platforms = list(db.scalars(select(Platform).where(admitted()).order_by(Platform.code))) if can_manage else []
    return render(
        request,
        "expert_detail.html",
        status_code=error.status_code if error else 200,
        title=f"鉴定专家 {e.name}",
        e=e,
        d=S.expert_out(e, experts.committees(db), today),
        can_manage=can_manage,
        specialties=specialties.specialties(),
        titles=specialties.titles(),
        platforms=[(x.code, x.display_name(today)) for x in platforms],
        relations=experts.RELATIONS,
        error=error,
        form=form or {},
        done=DONE.get(request.query_params.get("done", "")),
    )


@pages.get("/appraisal/experts/{expert_id}")
def expert_detail(
    request: Request, expert_id: int, p: Principal = Depends(Require(P.APPRAISAL_READ)), db: Session = DB
):
    return _detail(request, db, p, expert_id)


def _act(request: Request, db: Session, p: Principal, expert_id: int, form: FormData, done: str, fn):
    values = _fields(form)
    try:
        fn(values)
    except DomainError as err:
        db.rollback()
        if err.status_code == 404:
            raise
        return _detail(request, db, p, expert_id, err, values)
    return _redirect(f"/appraisal/experts/{expert_id}?done={done}")


@pages.post("/appraisal/experts/{expert_id}/edit")
def expert_edit(
    request: Request,
    expert_id: int,
    p: Principal = Depends(Require(P.APPRAISAL_MANAGE)),
    form: FormData = Depends(form_data),
    db: Session = DB,
):
    def run(v: dict):
        changes = {k: v.get(k, "") for k in experts.FIELDS if k != "phone"}
        if v.get("phone", "").strip():  # blank: keep the number on file
            changes["phone"] = v["phone"]
        if v.get("remove_phone") == "1":
            changes["phone"] = ""
        experts.update_expert(db, p, expert_id, changes)

    return _act(request, db, p, expert_id, form, "updated", run)


@pages.post("/appraisal/experts/{expert_id}/deactivation")
def expert_deactivate(
    request: Request,
    expert_id: int,
    p: Principal = Depends(Require(P.APPRAISAL_MANAGE)),
    form: FormData = Depends(form_data),
    db: Session = DB,
):
    return _act(
        request,
        db,
        p,
        expert_id,
        form,
        "deactivated",
        lambda v: experts.set_active(db, p, expert_id, False, v.get("reason")),
    )


@pages.post("/appraisal/experts/{expert_id}/activation")
def expert_activate(
    request: Request,
    expert_id: int,
    p: Principal = Depends(Require(P.APPRAISAL_MANAGE)),
    form: FormData = Depends(form_data),
    db: Session = DB,
):
    return _act(
        request,
        db,
        p,
        expert_id,
        form,
        "activated",
        lambda v: experts.set_active(db, p, expert_id, True, v.get("reason")),
    )


@pages.post("/appraisal/experts/{expert_id}/ties")
def expert_tie(
    request: Request,
    expert_id: int,
    p: Principal = Depends(Require(P.APPRAISAL_MANAGE)),
    form: FormData = Depends(form_data),
    db: Session = DB,
):
    def run(v: dict):
        kind = v.get("kind")
        experts.add_tie(
            db,
            p,
            expert_id,
            platform_code=v.get("platform_code") if kind == "platform" else None,
            id_number=v.get("id_number") if kind == "person" else None,
            person_name=v.get("person_name", "") if kind == "person" else "",
            relation=v.get("relation", ""),
            note=v.get("note", ""),
        )

    return _act(request, db, p, expert_id, form, "tied", run)


@pages.post("/appraisal/experts/{expert_id}/ties/{tie_id}/removal")
def expert_untie(
    request: Request,
    expert_id: int,
    tie_id: int,
    p: Principal = Depends(Require(P.APPRAISAL_MANAGE)),
    form: FormData = Depends(form_data),
    db: Session = DB,
):
    return _act(
        request,
        db,
        p,
        expert_id,
        form,
        "untied",
        lambda v: experts.remove_tie(db, p, expert_id, tie_id, v.get("reason")),
    )
