"""Portal navigation: the public home page, the staff console and a worker's own page."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from oip.auth import permissions as P
from oip.auth.deps import Require, optional_principal
from oip.auth.scope import account_condition, platform_condition
from oip.auth.service import Principal
from oip.core.audit_web import ACTION_NAMES, access_log
from oip.core.web import DB
from oip.platforms.admission import FINAL_STATES
from oip.platforms.models import Admission, Platform
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
    """The staff workbench: what this role can do, and counts within its data scope."""
    stats = {}
    if p.can(P.PLATFORM_READ):
        stats["试点平台企业"] = db.scalar(select(func.count()).select_from(Platform).where(
            platform_condition(p), Platform.status == "admitted"))
    if p.can(P.ADMISSION_READ):
        stats["办理中的纳入申请"] = db.scalar(select(func.count()).select_from(Admission).where(
            Admission.state.notin_(FINAL_STATES)))
    if p.can(P.WORKER_READ):
        stats["登记在册的平台账号（本辖区）"] = db.scalar(select(func.count()).select_from(PlatformAccount).where(
            account_condition(p), PlatformAccount.status == "active"))
    return render(request, "console.html", title="工作台", stats=stats,
                  permissions=[P.PERMISSION_NAMES[x] for x in P.ALL_PERMISSIONS if p.can(x)])


@pages.get("/me")
def me(request: Request, p: Principal = Depends(Require(P.SELF_READ)), db: Session = DB):
    """A worker's own registrations and everyone who viewed their data."""
    accounts = list(db.scalars(select(PlatformAccount).where(account_condition(p)).order_by(PlatformAccount.id)))
    return render(request, "me.html", title="我的信息", accounts=accounts, log=access_log(db, p.person_id),
                  names=ACTION_NAMES)
