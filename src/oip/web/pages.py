"""Portal navigation: the public home page, the staff console and a worker's own page."""

from __future__ import annotations

import datetime as dt

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from oip.auth import permissions as P
from oip.auth.deps import Require, optional_principal
from oip.auth.models import InsurerAssignment
from oip.auth.scope import account_condition, platform_condition
from oip.auth.service import Principal
from oip.core import clock
from oip.core.audit_web import ACTION_NAMES, access_log, viewers
from oip.core.web import DB
from oip.orders.coverage import covered_days
from oip.platforms.admission import FINAL_STATES
from oip.platforms.models import Admission, Platform
from oip.reference.models import Region
from oip.web.render import render
from oip.workers.models import PlatformAccount

pages = APIRouter(include_in_schema=False)


@pages.get("/")
def home(request: Request, p: Principal | None = Depends(optional_principal)):
    if p is not None:
        return RedirectResponse({"platform": "/portal", "self": "/me"}.get(p.role.scope, "/console"), status_code=303)
    return render(request, "home.html", title="首页")


@pages.get("/console")
def console(request: Request, p: Principal = Depends(Require()), db: Session = DB):
    """The staff workbench: what this role can do, and counts within its data scope. Platform users and
    workers have their own start pages (the portal, /me)."""
    if p.role.scope in ("platform", "self"):
        return RedirectResponse("/portal" if p.role.scope == "platform" else "/me", status_code=303)
    stats = {}
    if p.can(P.PLATFORM_READ):
        stats["试点平台企业"] = db.scalar(select(func.count()).select_from(Platform).where(
            platform_condition(p), Platform.status == "admitted"))
    if p.can(P.ADMISSION_READ):
        stats["办理中的纳入申请"] = db.scalar(select(func.count()).select_from(Admission).where(
            Admission.state.notin_(FINAL_STATES)))
    if p.role.scope == "insurer":
        assigned = db.scalar(select(func.count()).select_from(InsurerAssignment).where(
            InsurerAssignment.organisation_id == p.organisation_id, InsurerAssignment.closed_at.is_(None)))
        scope = f"受托人员 {assigned:,} 人"
        stats["受托人员（未结事项）"] = assigned
    else:
        scope = f"{p.organisation_name}（区划代码前缀 {p.region_prefix}）"
    if p.can(P.WORKER_READ):
        stats["登记在册的平台账号（受托人员）" if p.role.scope == "insurer" else "登记在册的平台账号（本辖区）"] = db.scalar(select(func.count()).select_from(PlatformAccount).where(
            account_condition(p), PlatformAccount.status == "active"))
    return render(request, "console.html", title="工作台", stats=stats, scope=scope,
                  permissions=[P.PERMISSION_NAMES[x] for x in P.ALL_PERMISSIONS if p.can(x)])


@pages.get("/me")
def me(request: Request, p: Principal = Depends(Require(P.SELF_READ)), db: Session = DB):
    """A worker's own registrations and everyone who viewed their data."""
    accounts = list(db.scalars(select(PlatformAccount).where(account_condition(p)).order_by(PlatformAccount.id)))
    log = access_log(db, p.person_id)
    regions = {a.county_code: db.get(Region, a.county_code) for a in accounts}
    return render(request, "me.html", title="我的信息", accounts=accounts, log=log, who=viewers(db, log, p.user_id),
                  names=ACTION_NAMES, regions={c: r.name for c, r in regions.items() if r is not None})


MY_DAYS = 90


@pages.get("/me/orders")
def my_orders(request: Request, p: Principal = Depends(Require(P.SELF_READ)), db: Session = DB):
    """我的订单与保障: the worker's last 90 days from the order ledger — orders accepted each day and
    the time covered that day (the union of their orders' windows on covered platforms)."""
    until = clock.today()
    since = until - dt.timedelta(days=MY_DAYS - 1)
    days = covered_days(db, person_id=p.person_id, since=since, until=until) if p.person_id else []
    days.reverse()  # newest first
    names = {pl.code: pl.display_name(until) for pl in db.scalars(select(Platform))}
    longest = max((d.covered_seconds for d in days), default=0)
    return render(request, "me_orders.html", title="我的订单与保障", days=days, since=since, until=until,
                  platform_names=names, longest=longest, total_orders=sum(d.orders for d in days),
                  covered_days=sum(1 for d in days if d.covered_seconds), hours=_hours)


def _hours(seconds: int) -> str:
    """3 小时 25 分 / 40 分 / —"""
    if not seconds:
        return "—"
    h, m = divmod(round(seconds / 60), 60)
    return f"{h} 小时 {m} 分" if h else f"{max(m, 1)} 分"
