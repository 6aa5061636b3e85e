"""HTML pages of labour-capacity appraisal: the committees' expert pools (/appraisal/experts), the
appraisal panel on the case page with its forms, and the committees' worklist (/appraisals)."""

from __future__ import annotations

import datetime as dt
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import RedirectResponse
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from oip.appraisal import experts, rules, schemas as S, service, specialties, views
from oip.appraisal.scope import committee_of, manages_committee
from oip.auth import permissions as P
from oip.auth.deps import Require
from oip.auth.service import Principal
from oip.cases import rules as case_rules
from oip.cases.models import Case
from oip.cases.pages import Panel, PanelForms, register_panel
from oip.core import clock, layout
from oip.core.errors import DomainError
from oip.core.layout import render
from oip.core.pagination import page_count, page_window
from oip.core.validation import from_form
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
        body = from_form(S.ExpertIn, values)
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


# ---- appraisal on the case page (a panel) and the committee's worklist ---------------------------

layout.register_nav(layout.NavItem("劳动能力鉴定", "/appraisals", P.APPRAISAL_READ, order=57))


def _apply_kinds(db: Session, case: Case, rows: list) -> list[tuple[str, str]]:
    """The kinds of appraisal the case allows asking for today: its state, and the re-appraisal
    window or the review's year (a paper application of an earlier date is checked on submit)."""
    concluded = [a for a in rows if a.status == "concluded"]
    last = max(concluded, key=lambda a: (a.concluded_on, a.id)) if concluded else None
    today = clock.today()
    out = []
    for kind, name in rules.KIND_NAMES.items():
        if (case.state, rules.CASE_ACTION[kind]) not in case_rules.TRANSITIONS:
            continue
        if kind == "initial" and last is not None:
            continue
        if kind != "initial" and last is None:
            continue
        if kind == "reappraisal" and (last.final or today > (service.reappraisal_due(db, last) or today)):
            continue
        if kind == "review" and today < service.review_opens(db, last):
            continue
        out.append((kind, name))
    return out


def _panel(db: Session, p: Principal, case: Case) -> dict | None:
    if not (p.can(P.APPRAISAL_READ) or p.can(P.CASE_READ)):
        return None
    rows = service.appraisals_of(db, case)
    may_apply = p.can(P.CASE_APPLY) or p.can(P.APPRAISAL_MANAGE)
    kinds = _apply_kinds(db, case, rows) if may_apply else []
    if not rows and not kinds:
        return None
    views.view_audit(db, p, case, rows)
    today = clock.today()
    items = []
    for a in rows:
        d = views.appraisal_out(db, p, a, case)
        manage = manages_committee(p, a.committee_code)
        window = d["conclusion"]["reappraisal_due"] if d["conclusion"] else None
        d["forms"] = {
            "accept": manage and a.status == "applied",
            "draw": manage and a.status == "accepted",
            "extend": manage and a.status == "accepted" and a.extended_on is None and a.due_on and a.due_on >= today,
            "conclude": manage and a.status == "accepted" and a.draw is not None,
            "close": manage
            and case.state == "appraised"
            and a.status == "concluded"
            and a.id == rows[-1].id
            and (window is None or today > dt.date.fromisoformat(window)),
        }
        items.append(d)
    return {
        "items": items,
        "kinds": kinds,
        "staff": p.role.scope == "region",
        "applicants": rules.APPLICANT_NAMES,
        "specialties": specialties.specialties(),
        "grades": rules.GRADE_NAMES,
        "no_grade": rules.NO_GRADE,
        "dependencies": rules.DEPENDENCY_NAMES,
        "today": today.isoformat(),
        "error": FORMS.error_for(case),
    }


# Forms posted from the case page: back to the panel, or the page again with the refusal in the panel.
FORMS = PanelForms("appraisal")

register_panel(Panel("appraisal", "appraisal_panel.html", _panel, order=50))


def _version(v: dict) -> int | None:
    return int(v["version"]) if (v.get("version") or "").isdigit() else None


@pages.post("/cases/{case_id}/appraisals")
def appraisal_apply(
    request: Request,
    case_id: int,
    p: Principal = Depends(Require(P.APPRAISAL_MANAGE, P.CASE_APPLY)),
    form: FormData = Depends(form_data),
    db: Session = DB,
):
    v = _fields(form)
    return FORMS.step(
        request,
        db,
        p,
        case_id,
        lambda: service.apply(
            db,
            p,
            case_id,
            kind=v.get("kind") or "initial",
            applicant=v.get("applicant"),
            applied_on=v.get("applied_on"),
            treatment_ended_on=v.get("treatment_ended_on"),
            statement=v.get("statement", ""),
            version=_version(v),
        ),
    )


def _appraisal_step(request: Request, db: Session, p: Principal, appraisal_id: int, fn):
    a = service.get_appraisal(db, p, appraisal_id)
    return FORMS.step(request, db, p, a.case_id, fn)


@pages.post("/appraisals/{appraisal_id}/acceptance")
def appraisal_accept(
    request: Request,
    appraisal_id: int,
    p: Principal = Depends(Require(P.APPRAISAL_MANAGE)),
    form: FormData = Depends(form_data),
    db: Session = DB,
):
    v = _fields(form)
    needed = [x for x in form.getlist("needed_specialties") if isinstance(x, str)]
    return _appraisal_step(
        request,
        db,
        p,
        appraisal_id,
        lambda: service.accept(
            db,
            p,
            appraisal_id,
            accepted_on=v.get("accepted_on"),
            needed_specialties=needed,
            panel_size=v.get("panel_size"),
            version=_version(v),
        ),
    )


@pages.post("/appraisals/{appraisal_id}/panel")
def appraisal_draw(
    request: Request,
    appraisal_id: int,
    p: Principal = Depends(Require(P.APPRAISAL_MANAGE)),
    form: FormData = Depends(form_data),
    db: Session = DB,
):
    v = _fields(form)
    unavailable = [x for x in form.getlist("unavailable_expert_ids") if isinstance(x, str) and x.isdigit()]
    return _appraisal_step(
        request,
        db,
        p,
        appraisal_id,
        lambda: service.draw_panel(
            db, p, appraisal_id, reason=v.get("reason", ""), unavailable_expert_ids=unavailable, version=_version(v)
        ),
    )


@pages.post("/appraisals/{appraisal_id}/extension")
def appraisal_extend(
    request: Request,
    appraisal_id: int,
    p: Principal = Depends(Require(P.APPRAISAL_MANAGE)),
    form: FormData = Depends(form_data),
    db: Session = DB,
):
    v = _fields(form)
    return _appraisal_step(
        request,
        db,
        p,
        appraisal_id,
        lambda: service.extend(
            db, p, appraisal_id, reason=v.get("reason", ""), extended_on=v.get("extended_on"), version=_version(v)
        ),
    )


@pages.post("/appraisals/{appraisal_id}/conclusion")
def appraisal_conclude(
    request: Request,
    appraisal_id: int,
    p: Principal = Depends(Require(P.APPRAISAL_MANAGE)),
    form: FormData = Depends(form_data),
    db: Session = DB,
):
    v = _fields(form)
    return _appraisal_step(
        request,
        db,
        p,
        appraisal_id,
        lambda: service.conclude(
            db,
            p,
            appraisal_id,
            grade=v.get("grade", ""),
            dependency=v.get("dependency", ""),
            concluded_on=v.get("concluded_on"),
            received_on=v.get("received_on"),
            note=v.get("note", ""),
            version=_version(v),
        ),
    )


@pages.post("/appraisals/{appraisal_id}/closure")
def appraisal_close(
    request: Request,
    appraisal_id: int,
    p: Principal = Depends(Require(P.APPRAISAL_MANAGE)),
    form: FormData = Depends(form_data),
    db: Session = DB,
):
    v = _fields(form)
    return _appraisal_step(
        request, db, p, appraisal_id, lambda: service.close(db, p, appraisal_id, version=_version(v))
    )


@pages.get("/appraisals")
def appraisal_worklist(
    request: Request,
    bucket: str | None = Query(None, max_length=16),
    page: int = Query(1, ge=1, le=100_000),
    p: Principal = Depends(Require(P.APPRAISAL_READ)),
    db: Session = DB,
):
    bucket = bucket if bucket in service.WORKLIST else None
    rows, total, page = service.worklist(db, p, bucket=bucket, page=page)
    pages_ = page_count(total, service.PAGE_SIZE)
    names = experts.committees(db)
    kept = {"bucket": bucket} if bucket else {}

    def page_url(n: int) -> str:
        return "/appraisals?" + urlencode({**kept, "page": n})

    return render(
        request,
        "appraisal_worklist.html",
        title="劳动能力鉴定",
        items=[views.worklist_row(a, c, names) for a, c in rows],
        total=total,
        page=page,
        pages=pages_,
        page_url=page_url,
        window=page_window(page, pages_),
        kept=kept,
        bucket=bucket,
        buckets=service.WORKLIST,
    )
