"""HTML pages: the register, a platform's own API credentials (/portal/credentials), the admission
workflow, and the public notice board (/notices, no sign-in)."""

from __future__ import annotations

import datetime as dt

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from oip.auth import permissions as P
from oip.auth.deps import Require, optional_principal
from oip.auth.service import Principal
from oip.core import clock, layout
from oip.core.config import get_settings
from oip.core.errors import DomainError
from oip.core.layout import render
from oip.core.validation import from_form
from oip.core.web import DB, TransactionRoute, form_text
from oip.platforms import admission, rates, schemas as S, service
from oip.platforms.models import Admission, Platform
from oip.platforms.scope import admitted, platform_condition

pages = APIRouter(include_in_schema=False, route_class=TransactionRoute)
layout.register_nav(
    layout.NavItem("平台企业名录", "/platforms", P.PLATFORM_READ, order=20, titles={"platform": "本企业登记信息"}),
    layout.NavItem("接口凭证", "/portal/credentials", P.CREDENTIALS_SELF, order=25, scopes=frozenset({"platform"})),
    layout.NavItem("试点纳入申请", "/admissions", P.ADMISSION_READ, order=30),
)


def _pilot_platforms(db: Session, p: Principal) -> int:
    return db.scalar(select(func.count()).select_from(Platform).where(platform_condition(p), admitted()))


def _open_admissions(db: Session, p: Principal) -> int:
    return db.scalar(select(func.count()).select_from(Admission).where(Admission.state.notin_(admission.FINAL_STATES)))


layout.register_stat(
    layout.Stat("试点平台企业", P.PLATFORM_READ, _pilot_platforms, order=10),
    layout.Stat("办理中的纳入申请", P.ADMISSION_READ, _open_admissions, order=20),
)

DONE = {
    "created": "平台企业已登记。",
    "updated": "平台企业信息已保存。",
    "name": "名称变更已登记。",
    "rate": "缴费基准额已调整。",
    "regions": "经营地区已保存。",
    "revoked": "接口凭证已吊销，其访问令牌同时失效。",
    "objection": "异议已登记。",
    "resolved": "异议处理结果已登记。",
    **{a: f"已办理：{n}。" for a, n in admission.ACTION_NAMES.items()},
}

# Which inputs each action's form shows (decisions come from the transition table).
ACTION_FIELDS = {
    "assess": ("decision", "comment", "reason"),
    "report": ("comment",),
    "consent": ("decision", "comment", "reason"),
    "publish": ("notice_from", "notice_to", "comment"),
    "conclude": ("decision", "included_from", "comment", "reason"),
    "reject": ("reason", "comment"),
    "withdraw": ("comment",),
}
COMMENT_HINTS = {
    "assess": "评估意见（试点条件、经营规模、用工管理等）",
    "report": "必填：上报文件的文号和日期，如“桂人社函〔2026〕12号，2026-03-02 报人力资源社会保障部”",
    "consent": "国家有关部门复函的文号和日期",
    "publish": "公示渠道，如“自治区人社厅门户网站”",
    "conclude": "决定文号",
    "reject": "补充说明",
    "withdraw": "申请人撤回申请的书面材料和日期",
}


async def form_data(request: Request) -> FormData:
    return await request.form()


def _uploads(form: FormData) -> list[admission.Upload]:
    """Files of the ``attachments`` inputs (empty inputs skipped; reading stops past the limit)."""
    limit = get_settings().upload_max_bytes
    out = []
    for f in form.getlist("attachments"):
        if isinstance(f, str) or not f.filename:
            continue
        out.append(admission.Upload(f.filename, f.file.read(limit + 1)))
    return out


def _redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


# ---- register ------------------------------------------------------------------------------------


@pages.get("/platforms")
def platform_list(
    request: Request, status: str | None = None, p: Principal = Depends(Require(P.PLATFORM_READ)), db: Session = DB
):
    industries, today = service.industries(db), clock.today()
    rows = [
        S.platform_out(x, industries[x.industry_code], today) for x in service.list_platforms(db, p, status or None)
    ]
    return render(
        request,
        "platform_list.html",
        title="平台企业名录",
        rows=rows,
        status=status or "",
        statuses=service.STATUS_NAMES,
        can_write=p.can(P.PLATFORM_WRITE),
    )


def _new_form(request: Request, db: Session, values: dict, error: DomainError | None = None):
    return render(
        request,
        "platform_new.html",
        status_code=error.status_code if error else 200,
        title="登记国家确定的试点平台企业",
        values=values,
        error=error,
        industries=service.industries(db).values(),
        defaults=rates.DEFAULT_BASE_YUAN,
        labels=S.FIELD_LABELS,
    )


@pages.get("/platforms/new")
def platform_new(request: Request, p: Principal = Depends(Require(P.PLATFORM_WRITE)), db: Session = DB):
    return _new_form(request, db, {"covered_from": clock.today().isoformat()})


@pages.post("/platforms/new")
def platform_create(
    request: Request,
    p: Principal = Depends(Require(P.PLATFORM_WRITE)),
    form: FormData = Depends(form_data),
    db: Session = DB,
):
    values = form_text(form)
    try:
        body = from_form(S.PlatformCreate, values)
        plat = service.create_platform(db, p, **body.model_dump())
    except DomainError as e:
        db.rollback()
        return _new_form(request, db, values, e)
    return _redirect(f"/platforms/{plat.code}?done=created")


@pages.get("/platforms/{code}")
def platform_detail(
    request: Request,
    code: str,
    done: str | None = None,
    p: Principal = Depends(Require(P.PLATFORM_READ)),
    db: Session = DB,
):
    plat = service.get_platform(db, p, code)
    industries, today = service.industries(db), clock.today()
    regions = service.regions_of(db, plat)
    creds = service.list_credentials(db, p, code) if service.may_manage_credentials(p, plat) else None
    adms = admission.admissions_of(db, p, plat) if p.can(P.ADMISSION_READ) else []
    return render(
        request,
        "platform_detail.html",
        title=plat.display_name(today),
        plat=plat,
        d=S.platform_detail(plat, industries[plat.industry_code], regions, today),
        hq_region=service.region_label(db, plat.headquarters_region),
        today=today,
        can_write=p.can(P.PLATFORM_WRITE),
        credentials=creds,
        admissions=adms,
        state_names=admission.STATE_NAMES,
        choices=service.operating_region_choices(db) if p.can(P.PLATFORM_WRITE) else [],
        selected={r.code for r in regions},
        done=DONE.get(done or ""),
    )


@pages.post("/platforms/{code}/edit")
def platform_edit(
    code: str, p: Principal = Depends(Require(P.PLATFORM_WRITE)), form: FormData = Depends(form_data), db: Session = DB
):
    values = form_text(form)
    changes = {k: values.get(k, "") for k in service.DETAIL_FIELDS if k != "contact_phone"}
    if values.get("contact_phone", "").strip():  # blank: keep the number on file
        changes["contact_phone"] = values["contact_phone"]
    service.update_platform(db, p, code, changes)
    return _redirect(f"/platforms/{code}?done=updated")


@pages.post("/platforms/{code}/names")
def platform_add_name(
    code: str, p: Principal = Depends(Require(P.PLATFORM_WRITE)), form: FormData = Depends(form_data), db: Session = DB
):
    body = from_form(S.NameIn, form_text(form))
    service.add_name(db, p, code, **body.model_dump())
    return _redirect(f"/platforms/{code}?done=name")


@pages.post("/platforms/{code}/rates")
def platform_add_rate(
    code: str, p: Principal = Depends(Require(P.PLATFORM_WRITE)), form: FormData = Depends(form_data), db: Session = DB
):
    body = from_form(S.RateIn, form_text(form))
    service.add_rate(db, p, code, **body.model_dump())
    return _redirect(f"/platforms/{code}?done=rate")


@pages.post("/platforms/{code}/regions")
def platform_set_regions(
    code: str, p: Principal = Depends(Require(P.PLATFORM_WRITE)), form: FormData = Depends(form_data), db: Session = DB
):
    service.set_regions(db, p, code, [c for c in form.getlist("region_codes") if isinstance(c, str)])
    return _redirect(f"/platforms/{code}?done=regions")


# ---- API credentials -----------------------------------------------------------------------------

CREDENTIALS = Require(P.CREDENTIALS_MANAGE, P.CREDENTIALS_SELF)


def _secret_page(request: Request, db: Session, p: Principal, code: str, label: str, back: str):
    client_id, secret = service.issue_credential(db, p, code, label)
    resp = render(
        request, "credential_secret.html", title="新的接口凭证", client_id=client_id, secret=secret, back=back
    )
    resp.headers["Cache-Control"] = "no-store"
    return resp


@pages.post("/platforms/{code}/credentials")
def platform_credential_create(
    request: Request,
    code: str,
    p: Principal = Depends(CREDENTIALS),
    form: FormData = Depends(form_data),
    db: Session = DB,
):
    return _secret_page(request, db, p, code, form_text(form).get("label", ""), f"/platforms/{code}#credentials")


@pages.post("/platforms/{code}/credentials/{client_id}/revoke")
def platform_credential_revoke(code: str, client_id: str, p: Principal = Depends(CREDENTIALS), db: Session = DB):
    service.revoke_credential(db, p, code, client_id)
    return _redirect(f"/platforms/{code}?done=revoked#credentials")


def _own(db: Session, p: Principal) -> Platform:
    return service.own_platform(db, p)


@pages.get("/portal/credentials")
def portal_credentials(
    request: Request, done: str | None = None, p: Principal = Depends(Require(P.CREDENTIALS_SELF)), db: Session = DB
):
    plat = _own(db, p)
    return render(
        request,
        "platform_credentials.html",
        title="接口凭证",
        plat=plat,
        platform_name=plat.display_name(clock.today()),
        credentials=service.list_credentials(db, p, plat.code),
        cred_action="/portal/credentials",
        done=DONE.get(done or ""),
    )


@pages.post("/portal/credentials")
def portal_credential_create(
    request: Request,
    p: Principal = Depends(Require(P.CREDENTIALS_SELF)),
    form: FormData = Depends(form_data),
    db: Session = DB,
):
    plat = _own(db, p)
    return _secret_page(request, db, p, plat.code, form_text(form).get("label", ""), "/portal/credentials")


@pages.post("/portal/credentials/{client_id}/revoke")
def portal_credential_revoke(client_id: str, p: Principal = Depends(Require(P.CREDENTIALS_SELF)), db: Session = DB):
    service.revoke_credential(db, p, _own(db, p).code, client_id)
    return _redirect("/portal/credentials?done=revoked")


# ---- admissions ----------------------------------------------------------------------------------


@pages.get("/admissions")
def admission_list(
    request: Request, state: str | None = None, p: Principal = Depends(Require(P.ADMISSION_READ)), db: Session = DB
):
    today = clock.today()
    rows = [S.admission_out(a, today) for a in admission.list_admissions(db, p, state or None)]
    return render(
        request,
        "admission_list.html",
        title="试点纳入申请",
        rows=rows,
        state=state or "",
        states=admission.STATE_NAMES,
        can_decide=p.can(P.ADMISSION_DECIDE),
        industry_names={code: i.name for code, i in service.industries(db).items()},
    )


def _application_form(request: Request, db: Session, values: dict, error: DomainError | None = None):
    return render(
        request,
        "admission_new.html",
        status_code=error.status_code if error else 200,
        title="受理试点纳入申请",
        values=values,
        error=error,
        industries=service.industries(db).values(),
        defaults=rates.DEFAULT_BASE_YUAN,
        labels=S.FIELD_LABELS,
        extensions=", ".join(sorted(admission.ALLOWED_EXTENSIONS)),
        max_mb=get_settings().upload_max_bytes // (1024 * 1024),
    )


@pages.get("/admissions/new")
def admission_new(request: Request, p: Principal = Depends(Require(P.ADMISSION_DECIDE)), db: Session = DB):
    return _application_form(request, db, {"applied_on": clock.today().isoformat()})


@pages.post("/admissions/new")
def admission_apply(
    request: Request,
    p: Principal = Depends(Require(P.ADMISSION_DECIDE)),
    form: FormData = Depends(form_data),
    db: Session = DB,
):
    values = form_text(form)
    try:
        body = from_form(S.ApplicationIn, values)
        adm = admission.apply(db, p, **body.model_dump(exclude={"attachments"}), attachments=_uploads(form))
    except DomainError as e:
        db.rollback()
        return _application_form(request, db, values, e)
    return _redirect(f"/admissions/{adm.id}?done=apply")


@pages.get("/admissions/{admission_id}")
def admission_detail(
    request: Request,
    admission_id: int,
    done: str | None = None,
    p: Principal = Depends(Require(P.ADMISSION_READ)),
    db: Session = DB,
):
    adm = admission.get_admission(db, p, admission_id)
    today = clock.today()
    can_decide = p.can(P.ADMISSION_DECIDE)
    blockers = admission.conclude_blockers(adm, today) if adm.state == "publicised" else []
    forms = (
        [
            (a, ACTION_FIELDS[a], admission.decisions_for(adm.state, a))
            for a in admission.legal_actions(adm.state)
            if not (a == "conclude" and blockers)
        ]
        if can_decide
        else []
    )
    return render(
        request,
        "admission_detail.html",
        title=f"纳入申请 {adm.id}",
        adm=adm,
        d=S.admission_detail(adm, today),
        plat=adm.platform,
        today=today,
        industry=service.industries(db)[adm.platform.industry_code],
        hq_region=service.region_label(db, adm.platform.headquarters_region),
        forms=forms,
        can_decide=can_decide,
        labels=S.FIELD_LABELS,
        hints=COMMENT_HINTS,
        decision_names=admission.DECISION_NAMES,
        action_names=admission.ACTION_NAMES,
        state_names=admission.STATE_NAMES,
        min_days=admission.NOTICE_MIN_DAYS,
        default_notice_to=today + dt.timedelta(days=admission.NOTICE_MIN_DAYS - 1),
        after_notice=adm.notice_to + dt.timedelta(days=1) if adm.notice_to else None,
        blockers=blockers,
        extensions=", ".join(sorted(admission.ALLOWED_EXTENSIONS)),
        done=DONE.get(done or ""),
    )


@pages.post("/admissions/{admission_id}/actions/{action}")
def admission_act(
    admission_id: int,
    action: str,
    p: Principal = Depends(Require(P.ADMISSION_DECIDE)),
    form: FormData = Depends(form_data),
    db: Session = DB,
):
    body = from_form(S.ActionIn, form_text(form))
    admission.act(db, p, admission_id, action, body.step(), _uploads(form))
    return _redirect(f"/admissions/{admission_id}?done={action}")


@pages.post("/admissions/{admission_id}/objections")
def admission_objection(
    admission_id: int,
    p: Principal = Depends(Require(P.ADMISSION_DECIDE)),
    form: FormData = Depends(form_data),
    db: Session = DB,
):
    body = from_form(S.ObjectionIn, form_text(form))
    admission.record_objection(
        db, p, admission_id, **body.model_dump(exclude={"attachments"}), attachments=_uploads(form)
    )
    return _redirect(f"/admissions/{admission_id}?done=objection")


@pages.post("/admissions/{admission_id}/objections/{objection_id}/resolve")
def admission_resolve(
    admission_id: int,
    objection_id: int,
    p: Principal = Depends(Require(P.ADMISSION_DECIDE)),
    form: FormData = Depends(form_data),
    db: Session = DB,
):
    body = from_form(S.ResolutionIn, form_text(form))
    admission.resolve_objection(
        db, p, admission_id, objection_id, **body.model_dump(exclude={"attachments"}), attachments=_uploads(form)
    )
    return _redirect(f"/admissions/{admission_id}?done=resolved")


# ---- the public notice board ---------------------------------------------------------------------


def _public(adm, today: dt.date) -> dict:
    plat = adm.platform
    return {
        "id": adm.id,
        "name": plat.display_name(today),
        "uscc": plat.uscc,
        "headquarters": plat.headquarters,
        "notice_from": adm.notice_from,
        "notice_to": adm.notice_to,
        "included_from": adm.included_from,
        "state": adm.state,
        "industry_code": plat.industry_code,
    }


@pages.get("/notices")
def notices(request: Request, p: Principal | None = Depends(optional_principal), db: Session = DB):
    today = clock.today()
    current, admitted = admission.public_notices(db)
    return render(
        request,
        "notice_list.html",
        title="试点纳入公示",
        today=today,
        current=[_public(a, today) for a in current],
        admitted=[_public(a, today) for a in admitted],
        industries=service.industries(db),
        addressee=admission.OBJECTION_ADDRESSEE,
        days=admission.ADMITTED_SHOWN_DAYS,
    )


@pages.get("/notices/{admission_id}")
def notice(request: Request, admission_id: int, p: Principal | None = Depends(optional_principal), db: Session = DB):
    today = clock.today()
    adm = admission.public_notice(db, admission_id)
    return render(
        request,
        "notice_detail.html",
        title="试点纳入公示",
        n=_public(adm, today),
        today=today,
        industries=service.industries(db),
        addressee=admission.OBJECTION_ADDRESSEE,
        state_names=admission.STATE_NAMES,
    )
