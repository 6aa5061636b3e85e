"""Sign-in and sign-out pages."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse
from sqlalchemy.orm import Session

from oip.auth import permissions as P, service
from oip.auth.deps import SESSION_COOKIE, Require
from oip.auth.service import Principal
from oip.core import layout
from oip.core.config import get_settings
from oip.core.errors import DomainError
from oip.core.layout import render
from oip.core.web import DB, client_ip

pages = APIRouter(include_in_schema=False)
layout.register_nav(layout.NavItem("用户", "/users", P.USER_READ, order=110))


def _safe_next(url: str | None) -> str:
    return url if url and url.startswith("/") and not url.startswith("//") else "/console"


@pages.get("/login")
def login_form(request: Request, next: str | None = None):
    return render(request, "login.html", title="登录", next=_safe_next(next))


@pages.post("/login")
def login(request: Request, username: str = Form(""), password: str = Form(""), next: str = Form("/console"),
          db: Session = DB):
    try:
        token, p = service.sign_in(db, username, password, client_ip(request))
    except DomainError as e:
        return render(request, "login.html", status_code=e.status_code, title="登录", error=e.reason,
                      username=username, next=_safe_next(next))
    target = _safe_next(next)
    if target == "/console":
        target = {"platform": "/portal", "self": "/me"}.get(p.role.scope, "/console")
    resp = RedirectResponse(target, status_code=303)
    resp.set_cookie(SESSION_COOKIE, token, httponly=True, samesite="lax", secure=get_settings().session_cookie_secure,
                    path="/")
    return resp


@pages.post("/logout")
def logout(request: Request, p: Principal = Depends(Require()), db: Session = DB):
    service.sign_out(db, request.cookies.get(SESSION_COOKIE, ""), p)
    resp = RedirectResponse("/login", status_code=303)
    resp.delete_cookie(SESSION_COOKIE, path="/")
    return resp
