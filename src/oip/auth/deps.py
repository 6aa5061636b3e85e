"""The one shared dependency that checks who is calling, the permission, and CSRF.

``Depends(Require(permission))`` on every route: it authenticates (bearer token, else session
cookie), checks the role's permission, and for cookie-authenticated unsafe methods the CSRF token
(header ``X-CSRF-Token`` or form field ``csrf_token``). The data scope is then applied by the
service queries through the returned Principal (oip.auth.scope).

A session whose password an administrator chose (``must_change_password``) gets only the routes
marked ``Require(password_change=True)`` (the change-password page, sign-out): everything else
answers ``PasswordChangeRequired`` — a redirect to ``CHANGE_PASSWORD_URL`` for pages, a 403 with a
Chinese reason for the API."""

from __future__ import annotations

import hmac

from fastapi import Request
from sqlalchemy.orm import Session

from oip.auth import service
from oip.auth.service import PasswordChangeRequired, Principal
from oip.core.errors import DomainError
from oip.core.web import DB, client_ip, in_transaction

SESSION_COOKIE = "oip_session"
UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}
CHANGE_PASSWORD_URL = "/password"


class Unauthenticated(DomainError):
    status_code = 401
    code = "unauthenticated"


class PermissionDenied(DomainError):
    status_code = 403
    code = "permission_denied"


class CsrfFailed(DomainError):
    status_code = 403
    code = "csrf"


def authenticate(db: Session, request: Request) -> Principal | None:
    ip = client_ip(request)
    auth = request.headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        p = service.resume_token(db, auth[7:].strip(), ip)
        if p is None:
            raise Unauthenticated("令牌无效或已过期")
        return p
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        p = service.resume_session(db, cookie, ip)
        db.commit()  # keep the idle clock moving even if the route fails
        return p
    return None


class Require:
    """A route's permission (any one of several). ``Require()`` means: any signed-in user."""

    def __init__(self, *permissions: str, password_change: bool = False):
        self.permissions = permissions
        self.password_change = password_change  # open to a session that must still change its password

    async def __call__(self, request: Request, db: Session = DB) -> Principal:
        # The look-up's transaction ends in its thread: nothing is held while the route waits for one.
        p = await in_transaction(authenticate, db, request)
        if p is None:
            raise Unauthenticated("请先登录")
        request.state.principal = p  # an error page (403, CSRF) still shows who is signed in, with their navigation
        if p.must_change_password and p.via == "session" and not self.password_change:
            raise PasswordChangeRequired("您的密码由管理人员设置，请先修改密码后再继续使用", field="password")
        if self.permissions and not any(p.can(x) for x in self.permissions):
            raise PermissionDenied(f"当前角色（{p.role.name}）无权执行此操作")
        if p.via == "session" and request.method in UNSAFE:
            sent = request.headers.get("x-csrf-token")
            if sent is None and request.headers.get("content-type", "").startswith(
                ("application/x-www-form-urlencoded", "multipart/form-data")
            ):
                sent = (await request.form()).get("csrf_token")
            if not sent or not p.csrf_token or not hmac.compare_digest(str(sent), p.csrf_token):
                raise CsrfFailed("CSRF 校验失败，请刷新页面后重试")
        request.state.principal = p
        return p


async def optional_principal(request: Request, db: Session = DB) -> Principal | None:
    """For public pages that look different when someone is signed in."""
    try:
        p = await in_transaction(authenticate, db, request)
    except Unauthenticated:
        return None
    request.state.principal = p
    return p
