"""Portal navigation: the public home page, the staff console and a worker's own page."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse
from sqlalchemy import select
from sqlalchemy.orm import Session

from oip.auth import permissions as P
from oip.auth.audit_web import ACTION_NAMES, access_log
from oip.auth.deps import Require, optional_principal
from oip.auth.service import Principal
from oip.core import layout
from oip.core.layout import render
from oip.core.web import DB
from oip.workers.models import PlatformAccount
from oip.workers.scope import account_condition

pages = APIRouter(include_in_schema=False)
layout.register_nav(
    layout.NavItem("工作台", "/console", order=10, scopes=frozenset({"region", "insurer"})),
    layout.NavItem("我的信息", "/me", P.SELF_READ, order=90))


@pages.get("/")
def home(request: Request, p: Principal | None = Depends(optional_principal)):
    if p is not None:
        return RedirectResponse({"platform": "/portal", "self": "/me"}.get(p.role.scope, "/console"), status_code=303)
    return render(request, "home.html", title="首页")


@pages.get("/console")
def console(request: Request, p: Principal = Depends(Require()), db: Session = DB):
    """The staff workbench: what this role can do, and counts within its data scope."""
    return render(request, "console.html", title="工作台", stats=layout.stats_for(db, p),
                  permissions=[P.PERMISSION_NAMES[x] for x in P.ALL_PERMISSIONS if p.can(x)])


@pages.get("/me")
def me(request: Request, p: Principal = Depends(Require(P.SELF_READ)), db: Session = DB):
    """A worker's own registrations and everyone who viewed their data."""
    accounts = list(db.scalars(select(PlatformAccount).where(account_condition(p)).order_by(PlatformAccount.id)))
    return render(request, "me.html", title="我的信息", accounts=accounts, log=access_log(db, p.person_id),
                  names=ACTION_NAMES)
