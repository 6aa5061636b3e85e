"""Portal navigation: the public home page, the staff console and a worker's own page."""

from __future__ import annotations

import datetime as dt

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import RedirectResponse
from sqlalchemy import select
from sqlalchemy.orm import Session

from oip.auth import permissions as P
from oip.auth.audit_web import ACTION_NAMES, access_log, list_appearances, viewers
from oip.auth.deps import Require, optional_principal
from oip.auth.service import Principal, assigned_people
from oip.core import clock, layout
from oip.core.layout import render
from oip.core.pagination import page_window
from oip.core.web import DB, TransactionRoute
from oip.orders.coverage import covered_days
from oip.platforms.models import Platform
from oip.reference.models import Region
from oip.workers.models import PlatformAccount
from oip.workers.scope import account_condition

pages = APIRouter(include_in_schema=False, route_class=TransactionRoute)
layout.register_nav(
    layout.NavItem("工作台", "/console", order=10, scopes=frozenset({"region", "insurer"})),
    layout.NavItem("我的信息", "/me", P.SELF_READ, order=90),
    layout.NavItem("我的订单与保障", "/me/orders", P.SELF_READ, order=91),
)


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
    if p.role.scope == "insurer":
        scope = f"受托人员 {assigned_people(db, p):,} 人"
    else:
        scope = f"{p.organisation_name}（区划代码前缀 {p.region_prefix}）"
    return render(
        request,
        "console.html",
        title="工作台",
        stats=layout.stats_for(db, p),
        scope=scope,
        permissions=[P.PERMISSION_NAMES[x] for x in P.ALL_PERMISSIONS if p.can(x)],
    )


@pages.get("/me")
def me(
    request: Request,
    lp: int = Query(1, ge=1, le=1_000_000),
    ap: int = Query(1, ge=1, le=1_000_000),
    p: Principal = Depends(Require(P.SELF_READ)),
    db: Session = DB,
):
    """A worker's own registrations; everyone who viewed or changed their data (every event, paged by
    ``lp``); and how often they appeared in search results, per day and organisation (paged by ``ap``)."""
    accounts = list(db.scalars(select(PlatformAccount).where(account_condition(p)).order_by(PlatformAccount.id)))
    log = access_log(db, p.person_id, lp)
    seen = list_appearances(db, p.person_id, ap, self_user_id=p.user_id)
    regions = {a.county_code: db.get(Region, a.county_code) for a in accounts}

    def log_url(n: int) -> str:
        return f"/me?lp={n}&ap={seen.page}#access-log"

    def seen_url(n: int) -> str:
        return f"/me?lp={log.page}&ap={n}#list-appearances"

    return render(
        request,
        "me.html",
        title="我的信息",
        accounts=accounts,
        log=log,
        log_window=page_window(log.page, log.pages),
        log_url=log_url,
        seen=seen,
        seen_window=page_window(seen.page, seen.pages),
        seen_url=seen_url,
        who=viewers(db, log.items, p.user_id),
        names=ACTION_NAMES,
        regions={c: r.name for c, r in regions.items() if r is not None},
    )


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
    return render(
        request,
        "me_orders.html",
        title="我的订单与保障",
        days=days,
        since=since,
        until=until,
        platform_names=names,
        longest=longest,
        total_orders=sum(d.orders for d in days),
        covered_days=sum(1 for d in days if d.covered_seconds),
        hours=_hours,
    )


def _hours(seconds: int) -> str:
    """3 小时 25 分 / 40 分 / —"""
    if not seconds:
        return "—"
    h, m = divmod(round(seconds / 60), 60)
    return f"{h} 小时 {m} 分" if h else f"{max(m, 1)} 分"
