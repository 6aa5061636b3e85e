"""JSON routes: token exchange, the caller, users."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session

from oip.auth import permissions as P, service
from oip.auth.deps import Require
from oip.auth.models import Organisation, User
from oip.auth.service import Principal
from oip.core import clock
from oip.core.errors import DomainError
from oip.core.web import DB, client_ip

api = APIRouter(tags=["auth"])


class TokenOut(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_in: int


class MeOut(BaseModel):
    username: str
    display_name: str
    role: str
    role_name: str
    organisation: str
    region_code: str
    platform_id: int | None
    permissions: list[str]


@api.post("/auth/token", response_model=TokenOut, summary="客户端凭证换取访问令牌 (OAuth2 client_credentials)")
async def token(request: Request, db: Session = DB):
    """Send ``grant_type=client_credentials``, ``client_id`` and ``client_secret`` as a form or JSON."""
    if request.headers.get("content-type", "").startswith("application/json"):
        try:
            body = await request.json()
        except ValueError:
            raise DomainError("请求体不是合法的 JSON", field="body") from None
        if not isinstance(body, dict):
            raise DomainError("请求体应为 JSON 对象", field="body")
    else:
        body = dict(await request.form())
    if body.get("grant_type", "client_credentials") != "client_credentials":
        raise DomainError("仅支持 grant_type=client_credentials", field="grant_type")
    for f in ("client_id", "client_secret"):
        if not isinstance(body.get(f), str) or not body.get(f):
            raise DomainError(f"缺少 {f}", field=f)
    from starlette.concurrency import run_in_threadpool
    tok, expires = await run_in_threadpool(service.exchange_credentials, db, body["client_id"],
                                           body["client_secret"], client_ip(request))
    return TokenOut(access_token=tok, expires_in=int((expires - clock.now()).total_seconds()))


@api.get("/me", response_model=MeOut, summary="当前用户")
def me(p: Principal = Depends(Require())):
    return MeOut(username=p.username, display_name=p.display_name, role=p.role.code, role_name=p.role.name,
                 organisation=p.organisation_name, region_code=p.region_code, platform_id=p.platform_id,
                 permissions=sorted(p.role.permissions))


class UserOut(BaseModel):
    username: str
    display_name: str
    role: str
    kind: str
    organisation: str
    region_code: str
    is_active: bool


@api.get("/users", response_model=list[UserOut], summary="用户列表")
def users(p: Principal = Depends(Require(P.USER_READ)), db: Session = DB):
    return [UserOut(username=u.username, display_name=u.display_name, role=u.role, kind=u.kind,
                    organisation=u.organisation.name, region_code=u.organisation.region_code, is_active=u.is_active)
            for u in list_users(db, p)]


def list_users(db: Session, p: Principal) -> list[User]:
    return list(db.scalars(select(User).join(Organisation).where(
        Organisation.region_code.startswith(p.region_prefix)).order_by(User.id)))
