"""Pages of the order ledger: the officers' month (orders and insured workers by platform and by
city, recent batches), a batch with its rejects, the platform portal's order page (upload, its
batches) and the coverage look-up."""

from __future__ import annotations

import datetime as dt

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse
from sqlalchemy import select
from sqlalchemy.orm import Session

from oip.auth import permissions as P
from oip.auth.deps import Require
from oip.auth.service import Principal
from oip.core import clock, layout
from oip.core.config import get_settings
from oip.core.errors import DomainError
from oip.core.layout import render
from oip.core.months import month_of, parse_month, previous_month
from oip.core.web import DB, TransactionRoute
from oip.orders import api as orders_api, coverage, coverage_rules, ingest, schemas as S, scope, service
from oip.platforms import service as platforms_service
from oip.platforms.models import Platform
from oip.reference.service import region_names
from oip.workers import service as workers_service
from oip.workers.models import Person


def reason_parts(reason: str, names: dict[str, str]) -> list[tuple[str, str, str]]:
    """A reject reason as people read it: each '；'-separated part that starts with an interface
    field ("accepted_at：晚于当前时间") as (its Chinese name, the field, the text); other parts as
    ("", "", text). The rejects CSV keeps the field names for the platforms' engineers."""
    out = []
    for part in (reason or "").split("；"):
        field, sep, text = part.partition("：")
        out.append((names[field], field, text) if sep and field in names else ("", "", part))
    return out


pages = APIRouter(include_in_schema=False, route_class=TransactionRoute)
layout.register_nav(
    layout.NavItem("订单数据", "/orders", P.ORDER_READ, order=60, titles={"platform": "订单报送"}),
    layout.NavItem("保障状态查询", "/coverage", P.COVERAGE_READ, order=65),
)


def _month_choice(db: Session, p: Principal, month: str | None) -> tuple[str, list[str]]:
    months = service.months_with_data(db, p)
    chosen = (month or "").strip() or (months[0] if months else previous_month(month_of(clock.today())))
    chosen = parse_month(chosen)
    if chosen not in months:
        months = sorted(set(months) | {chosen}, reverse=True)
    return chosen, months


@pages.get("/orders")
def orders_month(
    request: Request, month: str | None = None, p: Principal = Depends(Require(P.ORDER_READ)), db: Session = DB
):
    if p.role.scope == "platform":
        return RedirectResponse("/portal/orders" + (f"?month={month}" if month else ""), status_code=303)
    chosen, months = _month_choice(db, p, month)
    counts = service.insured_counts(db, p, month=chosen)
    days = service.daily_insured(db, p, month=chosen)
    batches = [service.batch_dict(b) for b in service.list_batches(db, p, limit=20)]
    return render(
        request,
        "orders_month.html",
        title=f"订单数据 · {chosen}",
        month=chosen,
        months=months,
        counts=counts,
        days=days,
        batches=batches,
        scope_name=p.organisation_name,
        peak=max((d["insured"] for d in days), default=0),
    )


def _batch_page(request: Request, db: Session, p: Principal, batch_id: int, new: bool):
    b = service.get_batch(db, p, batch_id)
    back = "/portal/orders" if p.role.scope == "platform" else "/orders"
    return render(
        request,
        "orders_batch.html",
        title=f"订单数据批次 · 第 {b.id} 批",
        batch=service.batch_dict(b),
        rejects=service.rejects_preview(b, p),
        rejects_in_region=None if scope.sees_every_reject(p) else p.organisation_name,
        preview=service.REJECTS_PREVIEW,
        back=back,
        new=new,
        fields=ingest.FIELDS,
        field_names=S.ORDER_FIELD_NAMES,
        reason_parts=reason_parts,
        format_names=S.FORMAT_NAMES,
        status_names=coverage_rules.STATUS_NAMES,
    )


@pages.get("/orders/batches/{batch_id}")
def batch_page(
    request: Request, batch_id: int, new: bool = False, p: Principal = Depends(Require(P.ORDER_READ)), db: Session = DB
):
    return _batch_page(request, db, p, batch_id, new)


@pages.get("/portal/orders")
def portal_orders(
    request: Request, month: str | None = None, p: Principal = Depends(Require(P.PORTAL)), db: Session = DB
):
    plat = db.get(Platform, p.platform_id) if p.platform_id else None
    if plat is None:
        raise DomainError("账号未关联平台企业")
    chosen, months = _month_choice(db, p, month)
    counts = service.insured_counts(db, p, month=chosen)
    batches = [service.batch_dict(b) for b in service.list_batches(db, p, limit=30)]
    return render(
        request,
        "orders_portal.html",
        title="订单报送",
        platform=plat,
        platform_name=plat.display_name(clock.today()),
        batches=batches,
        counts=counts,
        month=chosen,
        months=months,
        fields=ingest.FIELDS,
        required=ingest.REQUIRED,
        field_names=S.ORDER_FIELD_NAMES,
        max_size=f"{get_settings().order_upload_max_bytes / 1024**3:g} GiB",
        can_import=p.can(P.ORDER_IMPORT),
    )


@pages.post("/portal/orders/upload", max_body_size=orders_api._UPLOAD_LIMIT)
async def portal_upload(request: Request, p: Principal = Depends(Require(P.ORDER_IMPORT)), db: Session = DB):
    """The portal's upload form (multipart: file, format, csrf_token): imported like the API upload,
    then the batch's page."""
    if p.role.scope != "platform":
        raise DomainError("门户上传仅供平台企业使用；社保经办机构请使用 oip orders import 或接口上传")
    res = await orders_api.upload_and_import(request, db, p, None, None, "portal")
    return RedirectResponse(f"/orders/batches/{res['batch_id']}?new=1", status_code=303)


def _picker_value(t: dt.datetime) -> str:
    """The value of a ``datetime-local`` input for a moment: Beijing wall time, to the second."""
    return clock.local(t).strftime("%Y-%m-%dT%H:%M:%S")


_LOOKUP_NAMES = {
    "id_number": "按身份证号码",
    "name_phone": "按姓名和手机号码",
    "person": "按人员",
    "account": "按平台账号",
}


def _coverage_view(db: Session, result: coverage.CoverageResult) -> dict:
    """The answer in names: platforms by their registered name on the order's date, places as
    "南宁市青秀区", statuses in Chinese; the codes go to a muted second line."""
    plats = {x.code: x for x in db.scalars(select(Platform))}
    regions = region_names(db)

    def place(code: str) -> str:
        if not code:
            return ""
        city = regions.get(code[:4] + "00", "") if code[4:] != "00" else ""
        return (city + regions.get(code, "")) or code

    def plat_name(code: str, day: dt.date) -> str:
        x = plats.get(code)
        return x.display_name(day) if x is not None else code

    def order(o: coverage_rules.OrderRef | None) -> dict | None:
        if o is None:
            return None
        day = clock.local(o.accepted_at).date()
        return {
            "order_id": o.order_id,
            "platform": plat_name(o.platform_code, day),
            "platform_code": o.platform_code,
            "account_id": o.account_id,
            "accepted_at": o.accepted_at,
            "finished_at": o.finished_at,
            "status": coverage_rules.STATUS_NAMES.get(o.status, o.status),
            "status_code": o.status,
            "place": place(o.county_code),
            "county_code": o.county_code,
        }

    today = clock.today()
    return {
        "covered": result.covered,
        "reason": result.reason,
        "at": result.at,
        "covering": [order(o) for o in result.covering],
        "before": order(result.nearest_before),
        "after": order(result.nearest_after),
        "accounts": [
            {"platform": plat_name(c, today), "platform_code": c, "account_id": a} for c, a in result.accounts
        ],
    }


def _coverage_page(request: Request, db: Session, p: Principal, form: dict):
    """The look-up form; with a moment and a person (ID number, name + phone, person ID) or a
    platform account, the answer below it. A person found by ID number or name + phone is audited
    as a read of personal data (``worker.find``)."""
    result = error = lookup = None
    if form["at"]:
        try:
            when = coverage.parse_at(form["at"], naive_in_beijing=True)
            form["at"] = _picker_value(when)
            pid = None
            if form["id_number"] or form["name"] or form["phone"]:
                lookup = "id_number" if form["id_number"] else "name_phone"
                pid = workers_service.find_person(
                    db,
                    p,
                    id_number=form["id_number"],
                    name=form["name"],
                    phone=form["phone"],
                    purpose="查询某时点的保障状态",
                )
            elif form["person_id"]:
                if not form["person_id"].isdigit():
                    raise DomainError("人员 ID 应为数字", field="person_id")
                lookup, pid = "person", int(form["person_id"])
            else:
                lookup = "account"
            found = coverage.covered_at(
                db,
                at=when,
                person_id=pid,
                platform_code=form["platform_code"] or None,
                account_id=form["account_id"] or None,
                actor=p,
            )
            result = _coverage_view(db, found)
            if lookup in ("id_number", "name_phone"):  # found by find_person: that read is audited
                person = db.get(Person, pid)
                result["person"] = {"name": person.name, "id_masked": person.id_masked}
        except DomainError as e:
            if e.status_code == 404 and lookup not in ("id_number", "name_phone"):
                raise
            error = e.reason
    platforms = [(x.code, x.display_name(clock.today())) for x in platforms_service.admitted_platforms(db)]
    default_at = _picker_value(clock.now().replace(second=0, microsecond=0))
    resp = render(
        request,
        "coverage.html",
        title="保障状态查询",
        form=form,
        result=result,
        error=error,
        platforms=platforms,
        default_at=default_at,
        lookup=_LOOKUP_NAMES.get(lookup or ""),
        show_codes=p.role.scope == "region",
    )
    if lookup in ("id_number", "name_phone"):
        resp.headers["Cache-Control"] = "no-store"
    return resp


def _coverage_form(**kw) -> dict:
    keys = ("at", "id_number", "name", "phone", "person_id", "platform_code", "account_id")
    return {k: (kw.get(k) or "").strip() for k in keys}


@pages.get("/coverage")
def coverage_page(
    request: Request,
    at: str | None = None,
    person_id: str | None = None,
    platform_code: str | None = None,
    account_id: str | None = None,
    p: Principal = Depends(Require(P.COVERAGE_READ)),
    db: Session = DB,
):
    """Bookmarkable look-ups by platform account or person ID; ID numbers and phones are posted."""
    return _coverage_page(
        request, db, p, _coverage_form(at=at, person_id=person_id, platform_code=platform_code, account_id=account_id)
    )


@pages.post("/coverage")
def coverage_search(
    request: Request,
    at: str = Form(""),
    id_number: str = Form(""),
    name: str = Form(""),
    phone: str = Form(""),
    person_id: str = Form(""),
    platform_code: str = Form(""),
    account_id: str = Form(""),
    p: Principal = Depends(Require(P.COVERAGE_READ)),
    db: Session = DB,
):
    """The form posts here, so that an ID number or mobile number never appears in a URL (browser
    history, proxy and access logs)."""
    return _coverage_page(
        request,
        db,
        p,
        _coverage_form(
            at=at,
            id_number=id_number,
            name=name,
            phone=phone,
            person_id=person_id,
            platform_code=platform_code,
            account_id=account_id,
        ),
    )
