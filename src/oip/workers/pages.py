"""Pages of the register of workers: the officers' roster and person view, the platform portal
(upload, batches and their reports), the agencies' upload on behalf of a platform, and the
public self-check (/check) where a worker sees on which platforms they are registered."""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from oip.auth import permissions as P
from oip.auth.deps import Require
from oip.auth.models import User
from oip.auth.service import Principal
from oip.core import layout
from oip.core.config import get_settings
from oip.core.errors import DomainError
from oip.core.ids import mask_id, mask_phone
from oip.core.layout import render
from oip.core.pagination import page_count, page_window
from oip.core.web import DB, TransactionRoute, client_ip
from oip.platforms import service as platforms_service
from oip.platforms.models import Platform
from oip.reference.models import Region
from oip.reference.service import region_names
from oip.workers import csvio, rules, schemas as S, service
from oip.workers.models import PlatformAccount
from oip.workers.scope import account_condition, sees_person_ids

pages = APIRouter(include_in_schema=False, route_class=TransactionRoute)
layout.register_nav(
    layout.NavItem("从业人员", "/workers", P.WORKER_READ, order=40, titles={"platform": "本企业从业人员"}),
    layout.NavItem("企业门户", "/portal", P.PORTAL, order=50),
)


def _active_accounts(db: Session, p: Principal) -> int:
    return db.scalar(
        select(func.count())
        .select_from(PlatformAccount)
        .where(account_condition(p), PlatformAccount.status == "active")
    )


layout.register_stat(
    layout.Stat(
        "登记在册的平台账号（本辖区）",
        P.WORKER_READ,
        _active_accounts,
        order=30,
        titles={"insurer": "登记在册的平台账号（受托人员）"},
    )
)

ROSTER_PAGE = 50  # registrations per page of the roster
REPORT_PAGE = 100  # records per page in each list of a batch report (the rejects CSV has them all)


OUTCOMES = {"created": "新增", "updated": "更新", "unchanged": "无变化", "rejected": "拒绝"}


def _blank(v: str | None) -> str | None:
    return v.strip() if v and v.strip() else None


def _region_options(db: Session, p: Principal) -> list[tuple[str, str, str]]:
    """(code, name, level) of the cities and counties a principal may filter by."""
    q = select(Region).where(Region.level.in_(("city", "county")), Region.valid_to.is_(None)).order_by(Region.code)
    if p.role.scope == "region":
        q = q.where(Region.code.startswith(p.region_prefix, autoescape=True))
    return [(r.code, r.name, r.level) for r in db.scalars(q)]


def _platform_options(db: Session, p: Principal) -> list[tuple[str, str]]:
    if p.role.scope == "platform":
        return []
    return [(x.code, S.platform_name(x)) for x in platforms_service.admitted_platforms(db)]


# ---- officers: roster and person -------------------------------------------------------------------


def _roster(request: Request, db: Session, p: Principal, filters: dict[str, str | None], page: int):
    res = service.search(db, p, page=page, size=ROSTER_PAGE, **filters)
    counties = region_names(db)
    searched_for = None
    if filters["q"]:
        kind, value = service.query_kind(filters["q"])
        if kind != "text":  # a personal number is never echoed back, nor put in a link
            searched_for = ("身份证号码 " + mask_id(value)) if kind == "id" else ("手机号码 " + mask_phone(value))
    kept = {k: v for k, v in filters.items() if v and not (k == "q" and searched_for)}

    def page_url(n: int) -> str:
        return "/workers?" + urlencode({**kept, "page": n})

    if res.page > res.pages and not searched_for:  # a page past the end (a jump, an old link): the last one
        return RedirectResponse(page_url(res.pages), status_code=303)
    shown = {k: v or "" for k, v in filters.items()}
    if searched_for:
        shown["q"] = ""
    return render(
        request,
        "workers_list.html",
        title="从业人员名册",
        items=[S.worker_item(a, counties, not sees_person_ids(p)) for a in res.items],
        result=res,
        filters=shown,
        searched_for=searched_for,
        page_url=page_url,
        kept=kept,
        window=page_window(res.page, res.pages),
        regions=_region_options(db, p),
        platforms=_platform_options(db, p),
        statuses=service.STATUSES,
        can_upload=p.can(P.WORKER_REGISTER) and p.role.scope == "region",
    )


@pages.get("/workers")
def workers_page(
    request: Request,
    q: str | None = None,
    platform_code: str | None = None,
    region: str | None = None,
    status: str | None = None,
    page: int = Query(1, ge=1),
    p: Principal = Depends(Require(P.WORKER_READ)),
    db: Session = DB,
):
    filters = {
        "q": _blank(q),
        "platform_code": _blank(platform_code),
        "region": _blank(region),
        "status": _blank(status),
    }
    return _roster(request, db, p, filters, page)


@pages.post("/workers")
def workers_search(
    request: Request,
    q: str = Form(""),
    platform_code: str = Form(""),
    region: str = Form(""),
    status: str = Form(""),
    p: Principal = Depends(Require(P.WORKER_READ)),
    db: Session = DB,
):
    """The search form posts here, so that an ID or mobile number searched for never appears in a
    URL (browser history, proxy and access logs): such a search is answered directly, any other is
    redirected to the bookmarkable GET /workers."""
    filters = {
        "q": _blank(q),
        "platform_code": _blank(platform_code),
        "region": _blank(region),
        "status": _blank(status),
    }
    if filters["q"] and service.query_kind(filters["q"])[0] != "text":
        return _roster(request, db, p, filters, 1)
    return RedirectResponse("/workers?" + urlencode({k: v for k, v in filters.items() if v}), status_code=303)


def _person_page(
    request: Request,
    db: Session,
    p: Principal,
    person_id: int,
    *,
    full: bool = False,
    purpose: str | None = None,
    status_code: int = 200,
):
    person, accounts, clear = service.get_person(db, p, person_id, full=full, purpose=purpose)
    view = S.person_out(person, accounts, clear, region_names(db), p.role.scope == "platform")
    resp = render(
        request,
        "workers_detail.html",
        title=f"从业人员 · {view.name}",
        person=view,
        purpose=(purpose or "").strip(),
        can_full=p.can(P.WORKER_READ_FULL),
        status_code=status_code,
    )
    if clear is not None:
        resp.headers["Cache-Control"] = "no-store"
    return resp


# ---- agencies: upload on behalf of a platform, batch reports ----------------------------------------


@pages.get("/workers/upload")
def upload_page(
    request: Request,
    platform_code: str | None = None,
    p: Principal = Depends(Require(P.WORKER_REGISTER)),
    db: Session = DB,
):
    if p.role.scope == "platform":
        return RedirectResponse("/portal", status_code=303)
    plat_id = None
    if _blank(platform_code):
        plat_id = db.scalar(select(Platform.id).where(Platform.code == platform_code.strip()))
    rows = service.batches(db, p, platform_id=plat_id, limit=50) if plat_id or not _blank(platform_code) else []
    plats = {x.id: x for x in db.scalars(select(Platform))}
    return render(
        request,
        "workers_upload.html",
        title="代平台企业报送人员",
        platforms=_platform_options(db, p),
        platform_code=_blank(platform_code) or "",
        batches=[S.batch_summary(b, plats) for b in rows],
        headers_cn=",".join(csvio.CHINESE_HEADERS.values()),
        headers_en=",".join(rules.FIELDS),
    )


async def _upload_and_report(request: Request, db: Session, p: Principal, report_base: str):
    up = await csvio.read_upload(request)
    result, _parsed = await run_in_threadpool(csvio.import_upload, db, p, up)
    return RedirectResponse(f"{report_base}/{result.batch_id}?new=1", status_code=303)


@pages.post("/workers/upload")
async def upload_for_platform(
    request: Request,
    _limit: None = Depends(csvio.limit_body),
    p: Principal = Depends(Require(P.WORKER_REGISTER)),
    db: Session = DB,
):
    base = "/portal/batches" if p.role.scope == "platform" else "/workers/batches"
    return await _upload_and_report(request, db, p, base)


def _batch_page(request: Request, db: Session, p: Principal, batch_id: int, back: str, new: bool, rp: int, wp: int):
    """A batch's report: its rejected records and the accepted ones with warnings, each list paged
    on its own (``rp``, ``wp``) — a batch of 20,000 lines may carry as many warnings."""
    b = service.get_batch(db, p, batch_id)
    plat = db.get(Platform, b.platform_id)
    detail = S.batch_detail(b, {plat.id: plat})
    submitter = db.get(User, b.submitted_by)
    rejected = [r for r in detail.results if r.status == "rejected"]
    warned = [r for r in detail.results if r.status != "rejected" and r.warnings]
    rpages, wpages = page_count(len(rejected), REPORT_PAGE), page_count(len(warned), REPORT_PAGE)
    rp, wp = min(rp, rpages), min(wp, wpages)
    path = request.url.path

    def rejected_url(n: int) -> str:
        return f"{path}?{urlencode({'rp': n, 'wp': wp})}#rejected"

    def warned_url(n: int) -> str:
        return f"{path}?{urlencode({'rp': rp, 'wp': n})}#warnings"

    return render(
        request,
        "workers_batch.html",
        title=f"报送结果 · 第 {b.id} 批",
        batch=detail,
        back=back,
        new=new,
        submitter=submitter.display_name if submitter else "",
        path=path,
        rejected=rejected[(rp - 1) * REPORT_PAGE : rp * REPORT_PAGE],
        rejected_total=len(rejected),
        rp=rp,
        rpages=rpages,
        rwindow=page_window(rp, rpages),
        rejected_url=rejected_url,
        warned=warned[(wp - 1) * REPORT_PAGE : wp * REPORT_PAGE],
        warned_total=len(warned),
        wp=wp,
        wpages=wpages,
        wwindow=page_window(wp, wpages),
        warned_url=warned_url,
        first_row=lambda page: (page - 1) * REPORT_PAGE + 1,
        reason_names=rules.FIELD_NAMES,
        outcome_names=OUTCOMES,
    )


@pages.get("/workers/batches/{batch_id}")
def officer_batch_page(
    request: Request,
    batch_id: int,
    new: bool = False,
    rp: int = Query(1, ge=1),
    wp: int = Query(1, ge=1),
    p: Principal = Depends(Require(P.WORKER_REGISTER)),
    db: Session = DB,
):
    if p.role.scope == "platform":
        return RedirectResponse(f"/portal/batches/{batch_id}", status_code=303)
    return _batch_page(request, db, p, batch_id, "/workers/upload", new, rp, wp)


@pages.get("/workers/{person_id}")
def person_page(request: Request, person_id: int, p: Principal = Depends(Require(P.WORKER_READ)), db: Session = DB):
    return _person_page(request, db, p, person_id)


@pages.post("/workers/{person_id}/full")
def person_full_page(
    request: Request,
    person_id: int,
    purpose: str = Form(""),
    p: Principal = Depends(Require(P.WORKER_READ_FULL)),
    db: Session = DB,
):
    """The clear ID and phone numbers, shown once in this response (not cached) and audited with
    the stated purpose."""
    if not purpose.strip():
        raise DomainError("查看完整信息须填写查询事由", field="purpose")
    return _person_page(request, db, p, person_id, full=True, purpose=purpose)


# ---- the platform portal ---------------------------------------------------------------------------


@pages.get("/portal")
def portal(request: Request, p: Principal = Depends(Require(P.PORTAL)), db: Session = DB):
    plat = db.get(Platform, p.platform_id) if p.platform_id else None
    if plat is None:
        raise DomainError("账号未关联平台企业")
    rows = service.batches(db, p, limit=20)
    return render(
        request,
        "workers_portal.html",
        title="企业门户",
        platform=plat,
        platform_name=S.platform_name(plat),
        counts=service.account_counts(db, p, plat.id),
        batches=[S.batch_summary(b, {plat.id: plat}) for b in rows],
        headers_cn=",".join(csvio.CHINESE_HEADERS.values()),
        headers_en=",".join(rules.FIELDS),
        max_mb=csvio.human_size(get_settings().upload_max_bytes),
        can_credentials=p.can(P.CREDENTIALS_SELF),
    )


@pages.get("/portal/template.csv")
def portal_template(lang: str = "zh", p: Principal = Depends(Require(P.PORTAL, P.WORKER_REGISTER))):
    english = lang == "en"
    name = "workers-template-en.csv" if english else "workers-template.csv"
    return Response(
        csvio.template_csv(chinese=not english),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@pages.post("/portal/upload")
async def portal_upload(
    request: Request,
    _limit: None = Depends(csvio.limit_body),
    p: Principal = Depends(Require(P.PORTAL)),
    db: Session = DB,
):
    return await _upload_and_report(request, db, p, "/portal/batches")


@pages.get("/portal/batches/{batch_id}")
def portal_batch_page(
    request: Request,
    batch_id: int,
    new: bool = False,
    rp: int = Query(1, ge=1),
    wp: int = Query(1, ge=1),
    p: Principal = Depends(Require(P.PORTAL)),
    db: Session = DB,
):
    return _batch_page(request, db, p, batch_id, "/portal", new, rp, wp)


# ---- the public self-check -------------------------------------------------------------------------

NOT_FOUND = "未查询到登记信息"


def _check_page(request: Request, status_code: int = 200, **ctx):
    resp = render(
        request,
        "workers_check.html",
        title="参保登记查询",
        challenge=service.new_challenge(),
        status_code=status_code,
        **ctx,
    )
    resp.headers["Cache-Control"] = "no-store"
    return resp


@pages.get("/check")
def check_form(request: Request):
    return _check_page(request)


@pages.post("/check")
def check(
    request: Request,
    id_number: str = Form(""),
    phone: str = Form(""),
    answer: str = Form(""),
    token: str = Form(""),
    db: Session = DB,
):
    """Every outcome returns normally (no exception), so that the attempt is counted even when the
    check is refused."""
    ip = client_ip(request)
    try:
        service.record_check_attempt(db, ip)
    except service.CheckThrottled as e:
        return _check_page(request, status_code=429, error=e.reason)
    if not service.challenge_passed(token, answer):
        return _check_page(request, status_code=400, error="验证题答案不正确或已过期，请重新作答")
    if not id_number.strip() or not phone.strip():
        return _check_page(request, status_code=400, error="请填写身份证号码和手机号码")
    try:
        accounts = service.self_check(db, id_number, phone, ip)
    except DomainError as e:
        return _check_page(request, status_code=400, error=e.reason)
    rows = [
        {
            "platform": S.platform_name(a.platform),
            "registered_on": a.registered_on,
            "status": service.STATUSES.get(a.status, a.status),
        }
        for a in accounts
    ]
    return _check_page(request, checked=True, rows=rows, not_found=NOT_FOUND)
