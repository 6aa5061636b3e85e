"""JSON routes: token exchange, the caller, users."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel
from sqlalchemy.orm import Session

from oip.auth import permissions as P, service
from oip.auth.deps import Require
from oip.auth.models import User
from oip.auth.permissions import ROLES
from oip.auth.service import Principal
from oip.core import clock
from oip.core.errors import DomainError
from oip.core.web import DB, TransactionRoute, client_ip

api = APIRouter(tags=["auth"], route_class=TransactionRoute)


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

    tok, expires = await run_in_threadpool(
        service.exchange_credentials, db, body["client_id"], body["client_secret"], client_ip(request)
    )
    return TokenOut(access_token=tok, expires_in=int((expires - clock.now()).total_seconds()))


@api.get("/me", response_model=MeOut, summary="当前用户")
def me(p: Principal = Depends(Require())):
    return MeOut(
        username=p.username,
        display_name=p.display_name,
        role=p.role.code,
        role_name=p.role.name,
        organisation=p.organisation_name,
        region_code=p.region_code,
        platform_id=p.platform_id,
        permissions=sorted(p.role.permissions),
    )


class UserOut(BaseModel):
    id: int
    username: str
    display_name: str
    role: str
    role_name: str
    kind: str
    organisation_id: int
    organisation: str
    region_code: str
    is_active: bool


class UserPageOut(BaseModel):
    items: list[UserOut]
    total: int
    page: int
    size: int


class UserIn(BaseModel):
    username: str
    display_name: str
    organisation_id: int
    role: str
    password: str


class UserPatch(BaseModel):
    organisation_id: int | None = None
    role: str | None = None
    is_active: bool | None = None


class PasswordIn(BaseModel):
    password: str


def _out(u: User) -> UserOut:
    r = ROLES.get(u.role)
    return UserOut(
        id=u.id,
        username=u.username,
        display_name=u.display_name,
        role=u.role,
        role_name=r.name if r else u.role,
        kind=u.kind,
        organisation_id=u.organisation_id,
        organisation=u.organisation.name,
        region_code=u.organisation.region_code,
        is_active=u.is_active,
    )


@api.get("/users", response_model=UserPageOut, summary="用户列表（本辖区机构）")
def users(
    organisation_id: int | None = None,
    role: str | None = None,
    q: str | None = None,
    page: int = Query(1, ge=1),
    size: int = Query(service.USER_PAGE_SIZE, ge=1, le=500),
    p: Principal = Depends(Require(P.USER_READ)),
    db: Session = DB,
):
    res = service.list_users(db, p, organisation_id=organisation_id, role_code=role, q=q, page=page, size=size)
    return UserPageOut(items=[_out(u) for u in res.items], total=res.total, page=res.page, size=res.size)


@api.post("/users", response_model=UserOut, status_code=201, summary="新建用户")
def create_user(body: UserIn, p: Principal = Depends(Require(P.USER_MANAGE)), db: Session = DB):
    return _out(
        service.create_user(
            db,
            p,
            username=body.username,
            display_name=body.display_name,
            organisation_id=body.organisation_id,
            role_code=body.role,
            password=body.password,
        )
    )


@api.get("/users/{id}", response_model=UserOut, summary="用户详情")
def user(id: int, p: Principal = Depends(Require(P.USER_READ)), db: Session = DB):  # noqa: A002
    return _out(service.get_user(db, p, id))


@api.patch("/users/{id}", response_model=UserOut, summary="调整用户的机构、角色或启用状态")
def update_user(
    id: int,
    body: UserPatch,
    p: Principal = Depends(Require(P.USER_MANAGE)),  # noqa: A002
    db: Session = DB,
):
    u = service.get_user(db, p, id)
    if body.organisation_id is not None or body.role is not None:
        u = service.change_role(
            db, p, id, organisation_id=body.organisation_id or u.organisation_id, role_code=body.role or u.role
        )
    if body.is_active is not None:
        u = service.set_active(db, p, id, body.is_active)
    return _out(u)


@api.post("/users/{id}/password", response_model=UserOut, summary="重置用户密码")
def reset_password(
    id: int,
    body: PasswordIn,
    p: Principal = Depends(Require(P.USER_MANAGE)),  # noqa: A002
    db: Session = DB,
):
    return _out(service.reset_password(db, p, id, body.password))
