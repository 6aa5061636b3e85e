"""Sign-in and sign-out pages, the change-password page, and the users page (list, create,
disable/enable, reset password, change role and organisation)."""

from __future__ import annotations

import secrets
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse
from sqlalchemy.orm import Session

from oip.auth import permissions as P, service
from oip.auth.deps import CHANGE_PASSWORD_URL, SESSION_COOKIE, Require
from oip.auth.permissions import ORG_KIND_NAMES, ROLES
from oip.auth.service import Principal
from oip.core import crypto, layout
from oip.core.config import get_settings
from oip.core.errors import DomainError
from oip.core.layout import render
from oip.core.pagination import page_window
from oip.core.web import DB, TransactionRoute, client_ip

pages = APIRouter(include_in_schema=False, route_class=TransactionRoute)
layout.register_nav(
    layout.NavItem("用户", "/users", P.USER_READ, order=110),
    layout.NavItem("修改密码", CHANGE_PASSWORD_URL, None, order=990, scopes=None),
)
layout.register_stat(
    layout.Stat("受托人员（未结事项）", None, service.assigned_people, order=5, scopes=frozenset({"insurer"}))
)


def _safe_next(url: str | None) -> str:
    return url if url and url.startswith("/") and not url.startswith("//") else "/console"


# Login CSRF: a signed double-submit token. GET /login sets a random nonce in a cookie (path /login)
# and puts its HMAC (the session key) in the form; POST /login needs both, matching. A cross-site
# form cannot read the cookie to compute the HMAC, and a cookie planted by a sibling site cannot
# come with a valid one: an attacker cannot sign a victim into the attacker's account.
LOGIN_CSRF_COOKIE = "oip_login_csrf"
_LOGIN_CSRF_CTX = "login-csrf:"


def _login_nonce(request: Request) -> str:
    nonce = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    return nonce if 16 <= len(nonce) <= 64 and nonce.replace("-", "").replace("_", "").isalnum() else ""


def _login_form(request: Request, status_code: int = 200, **ctx):
    nonce = _login_nonce(request) or secrets.token_urlsafe(24)
    resp = render(
        request,
        "login.html",
        status_code=status_code,
        title="登录",
        login_csrf=crypto.sign(_LOGIN_CSRF_CTX + nonce),
        **ctx,
    )
    resp.set_cookie(
        LOGIN_CSRF_COOKIE,
        nonce,
        httponly=True,
        samesite="lax",
        secure=get_settings().session_cookie_secure,
        path="/login",
        max_age=12 * 3600,
    )
    return resp


def _login_csrf_ok(request: Request, sent: str) -> bool:
    nonce = _login_nonce(request)
    return bool(nonce and sent) and crypto.verify_signature(_LOGIN_CSRF_CTX + nonce, sent)


@pages.get("/login")
def login_form(request: Request, next: str | None = None):
    return _login_form(request, next=_safe_next(next))


@pages.post("/login")
def login(
    request: Request,
    username: str = Form(""),
    password: str = Form(""),
    next: str = Form("/console"),
    csrf_token: str = Form(""),
    db: Session = DB,
):
    if not _login_csrf_ok(request, csrf_token):
        return _login_form(
            request,
            status_code=403,
            error="登录页面已过期或来源不明（CSRF 校验失败），请在本页重新输入用户名和密码",
            username=username,
            next=_safe_next(next),
        )
    try:
        token, p = service.sign_in(db, username, password, client_ip(request))
    except DomainError as e:
        resp = _login_form(request, status_code=e.status_code, error=e.reason, username=username, next=_safe_next(next))
        for k, v in (getattr(e, "headers", None) or {}).items():
            resp.headers[k] = v
        return resp
    target = _safe_next(next)
    if p.must_change_password:
        target = CHANGE_PASSWORD_URL
    elif target == "/console":
        target = {"platform": "/portal", "self": "/me"}.get(p.role.scope, "/console")
    resp = RedirectResponse(target, status_code=303)
    resp.set_cookie(
        SESSION_COOKIE, token, httponly=True, samesite="lax", secure=get_settings().session_cookie_secure, path="/"
    )
    return resp


@pages.get(CHANGE_PASSWORD_URL)
def password_form(request: Request, done: str | None = None, p: Principal = Depends(Require(password_change=True))):
    return render(
        request,
        "password.html",
        title="修改密码",
        forced=p.must_change_password,
        done=bool(done),
        min=service.PASSWORD_MIN,
    )


@pages.post(CHANGE_PASSWORD_URL)
def password_change(
    request: Request,
    current_password: str = Form(""),
    new_password: str = Form(""),
    new_password_repeat: str = Form(""),
    p: Principal = Depends(Require(password_change=True)),
    db: Session = DB,
):
    try:
        service.change_own_password(
            db,
            p,
            current=current_password,
            new=new_password,
            repeat=new_password_repeat,
            session_token=request.cookies.get(SESSION_COOKIE),
        )
    except DomainError as e:
        db.rollback()
        return render(
            request,
            "password.html",
            status_code=e.status_code,
            title="修改密码",
            forced=p.must_change_password,
            error=e,
            min=service.PASSWORD_MIN,
        )
    return RedirectResponse(f"{CHANGE_PASSWORD_URL}?done=1", status_code=303)


@pages.post("/logout")
def logout(request: Request, p: Principal = Depends(Require(password_change=True)), db: Session = DB):
    service.sign_out(db, request.cookies.get(SESSION_COOKIE, ""), p)
    resp = RedirectResponse("/login", status_code=303)
    resp.delete_cookie(SESSION_COOKIE, path="/")
    return resp


# ---- users ---------------------------------------------------------------------------------------

DONE = {
    "created": "用户已建立，请将用户名和初始密码告知本人；本人首次登录时须修改密码。",
    "updated": "角色和机构已调整，数据范围随机构变化。",
    "disabled": "用户已停用，其登录会话已结束。",
    "enabled": "用户已启用。",
    "password": "密码已重置，该用户须用新密码重新登录，并在登录后修改密码。",
}


def _users_page(
    request: Request,
    db: Session,
    p: Principal,
    *,
    organisation_id: int | None,
    role: str | None,
    q: str | None,
    page: int,
    status_code: int = 200,
    error: DomainError | None = None,
    form: dict | None = None,
):
    result = service.list_users(db, p, organisation_id=organisation_id, role_code=role or None, q=q, page=page)
    orgs = service.organisations_in_scope(db, p)

    kept = {k: v for k, v in {"organisation_id": organisation_id, "role": role, "q": q}.items() if v not in ("", None)}

    def page_url(n: int) -> str:
        return "/users?" + urlencode({**kept, "page": n})

    return render(
        request,
        "users.html",
        status_code=status_code,
        title="用户",
        result=result,
        orgs=orgs,
        roles=ROLES,
        kind_names=ORG_KIND_NAMES,
        organisation_id=organisation_id,
        role=role or "",
        q=q or "",
        page_url=page_url,
        kept=kept,
        window=page_window(result.page, result.pages),
        can_manage=p.can(P.USER_MANAGE),
        grantable=service.grantable_roles(p),
        error=error,
        form=form or {},
        done=DONE.get(request.query_params.get("done", "")),
    )


@pages.get("/users")
def users_page(
    request: Request,
    organisation_id: str | None = None,
    role: str | None = None,
    q: str | None = None,
    page: str | None = None,
    p: Principal = Depends(Require(P.USER_READ)),
    db: Session = DB,
):
    # The filter form sends empty fields for "all".
    org = int(organisation_id) if (organisation_id or "").isdigit() else None
    return _users_page(
        request, db, p, organisation_id=org, role=role, q=q, page=int(page) if (page or "").isdigit() else 1
    )


@pages.post("/users")
def users_create(
    request: Request,
    username: str = Form(""),
    display_name: str = Form(""),
    organisation_id: str = Form(""),
    role: str = Form(""),
    password: str = Form(""),
    p: Principal = Depends(Require(P.USER_MANAGE)),
    db: Session = DB,
):
    try:
        u = service.create_user(
            db,
            p,
            username=username,
            display_name=display_name,
            organisation_id=organisation_id,
            role_code=role,
            password=password,
        )
    except DomainError as e:
        db.rollback()
        return _users_page(
            request,
            db,
            p,
            organisation_id=None,
            role=None,
            q=None,
            page=1,
            status_code=e.status_code,
            error=e,
            form={"username": username, "display_name": display_name, "organisation_id": organisation_id, "role": role},
        )
    return RedirectResponse(f"/users/{u.id}?done=created", status_code=303)


@pages.get("/users/{id}")
def user_page(
    request: Request,
    id: int,
    done: str | None = None,  # noqa: A002
    p: Principal = Depends(Require(P.USER_READ)),
    db: Session = DB,
):
    u = service.get_user(db, p, id)
    manageable = (
        p.can(P.USER_MANAGE) and u.id != p.user_id and u.kind == "staff" and service.grantable(p, ROLES[u.role])
    )
    return render(
        request,
        "user.html",
        title=f"用户 {u.display_name}",
        u=u,
        roles=ROLES,
        kind_names=ORG_KIND_NAMES,
        orgs=service.organisations_in_scope(db, p) if manageable else [],
        grantable=service.grantable_roles(p),
        manageable=manageable,
        is_self=u.id == p.user_id,
        done=DONE.get(done or ""),
    )


@pages.post("/users/{id}/role")
def user_change_role(
    id: int,
    organisation_id: str = Form(""),
    role: str = Form(""),  # noqa: A002
    p: Principal = Depends(Require(P.USER_MANAGE)),
    db: Session = DB,
):
    service.change_role(db, p, id, organisation_id=organisation_id, role_code=role)
    return RedirectResponse(f"/users/{id}?done=updated", status_code=303)


@pages.post("/users/{id}/active")
def user_set_active(
    id: int,
    active: str = Form(""),  # noqa: A002
    p: Principal = Depends(Require(P.USER_MANAGE)),
    db: Session = DB,
):
    on = active == "1"
    service.set_active(db, p, id, on)
    return RedirectResponse(f"/users/{id}?done={'enabled' if on else 'disabled'}", status_code=303)


@pages.post("/users/{id}/password")
def user_reset_password(
    id: int,
    password: str = Form(""),  # noqa: A002
    p: Principal = Depends(Require(P.USER_MANAGE)),
    db: Session = DB,
):
    service.reset_password(db, p, id, password)
    return RedirectResponse(f"/users/{id}?done=password", status_code=303)
