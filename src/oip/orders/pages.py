"""Pages of the order ledger: the officers' month (orders and insured workers by platform and by
city, recent batches), a batch with its rejects, the platform portal's order page (upload, its
batches) and the coverage look-up."""

from __future__ import annotations

import datetime as dt

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse
from sqlalchemy.orm import Session

from oip.auth import permissions as P
from oip.auth.deps import Require
from oip.auth.service import Principal
from oip.core import clock, layout
from oip.core.config import get_settings
from oip.core.errors import DomainError
from oip.core.layout import render
from oip.core.months import month_of, parse_month, previous_month
from oip.core.web import DB
from oip.orders import api as orders_api, coverage, ingest, service
from oip.platforms import service as platforms_service
from oip.platforms.models import Platform

pages = APIRouter(include_in_schema=False)
layout.register_nav(layout.NavItem("订单数据", "/orders", P.ORDER_READ, order=60, titles={"platform": "订单报送"}),
                    layout.NavItem("保障状态查询", "/coverage", P.COVERAGE_READ, order=65))


def _month_choice(db: Session, p: Principal, month: str | None) -> tuple[str, list[str]]:
    months = service.months_with_data(db, p)
    chosen = (month or "").strip() or (months[0] if months else previous_month(month_of(clock.today())))
    chosen = parse_month(chosen)
    if chosen not in months:
        months = sorted(set(months) | {chosen}, reverse=True)
    return chosen, months


@pages.get("/orders")
def orders_month(request: Request, month: str | None = None, p: Principal = Depends(Require(P.ORDER_READ)),
                 db: Session = DB):
    if p.role.scope == "platform":
        return RedirectResponse("/portal/orders" + (f"?month={month}" if month else ""), status_code=303)
    chosen, months = _month_choice(db, p, month)
    counts = service.insured_counts(db, p, month=chosen)
    days = service.daily_insured(db, p, month=chosen)
    batches = [service.batch_dict(b) for b in service.list_batches(db, p, limit=20)]
    return render(request, "orders_month.html", title=f"订单数据 · {chosen}", month=chosen, months=months,
                  counts=counts, days=days, batches=batches, scope_name=p.organisation_name,
                  peak=max((d["insured"] for d in days), default=0))


def _batch_page(request: Request, db: Session, p: Principal, batch_id: int, new: bool):
    b = service.get_batch(db, p, batch_id)
    back = "/portal/orders" if p.role.scope == "platform" else "/orders"
    return render(request, "orders_batch.html", title=f"订单数据批次 · 第 {b.id} 批", batch=service.batch_dict(b),
                  rejects=service.rejects_preview(b), preview=service.REJECTS_PREVIEW, back=back, new=new,
                  fields=ingest.FIELDS)


@pages.get("/orders/batches/{batch_id}")
def batch_page(request: Request, batch_id: int, new: bool = False, p: Principal = Depends(Require(P.ORDER_READ)),
               db: Session = DB):
    return _batch_page(request, db, p, batch_id, new)


@pages.get("/portal/orders")
def portal_orders(request: Request, month: str | None = None, p: Principal = Depends(Require(P.PORTAL)),
                  db: Session = DB):
    plat = db.get(Platform, p.platform_id) if p.platform_id else None
    if plat is None:
        raise DomainError("账号未关联平台企业")
    chosen, months = _month_choice(db, p, month)
    counts = service.insured_counts(db, p, month=chosen)
    batches = [service.batch_dict(b) for b in service.list_batches(db, p, limit=30)]
    return render(request, "orders_portal.html", title="订单报送", platform=plat,
                  platform_name=plat.display_name(clock.today()), batches=batches, counts=counts, month=chosen,
                  months=months, fields=ingest.FIELDS, required=ingest.REQUIRED,
                  max_size=f"{get_settings().order_upload_max_bytes / 1024 ** 3:g} GiB",
                  can_import=p.can(P.ORDER_IMPORT))


@pages.post("/portal/orders/upload", max_body_size=orders_api._UPLOAD_LIMIT)
async def portal_upload(request: Request, p: Principal = Depends(Require(P.ORDER_IMPORT)),
                        db: Session = DB):
    """The portal's upload form (multipart: file, format, csrf_token): imported like the API upload,
    then the batch's page."""
    if p.role.scope != "platform":
        raise DomainError("门户上传仅供平台企业使用；社保经办机构请使用 oip orders import 或接口上传")
    res = await orders_api.upload_and_import(request, db, p, None, None, "portal")
    return RedirectResponse(f"/orders/batches/{res['batch_id']}?new=1", status_code=303)


@pages.get("/coverage")
def coverage_page(request: Request, at: str | None = None, person_id: str | None = None,
                  platform_code: str | None = None, account_id: str | None = None,
                  p: Principal = Depends(Require(P.COVERAGE_READ)), db: Session = DB):
    """The look-up form; with ``at`` and a person or account, the answer below it."""
    form = {"at": (at or "").strip(), "person_id": (person_id or "").strip(),
            "platform_code": (platform_code or "").strip(), "account_id": (account_id or "").strip()}
    result = error = None
    if form["at"]:
        try:
            when = coverage.parse_at(form["at"])
            pid = None
            if form["person_id"]:
                if not form["person_id"].isdigit():
                    raise DomainError("人员 ID 应为数字", field="person_id")
                pid = int(form["person_id"])
            result = coverage.covered_at(db, at=when, person_id=pid, platform_code=form["platform_code"] or None,
                                         account_id=form["account_id"] or None, actor=p)
        except DomainError as e:
            if e.status_code == 404:
                raise
            error = e.reason
    platforms = [(x.code, x.display_name(clock.today())) for x in platforms_service.admitted_platforms(db)]
    example = (clock.now().astimezone(clock.SHANGHAI) - dt.timedelta(days=1)).replace(hour=12, minute=30, second=0,
                                                                                 microsecond=0).isoformat()
    return render(request, "coverage.html", title="保障状态查询", form=form, result=result, error=error,
                  platforms=platforms, example=example, status_names=coverage.STATUS_NAMES)

