"""Authentication: passwords (argon2id), staff sessions, API credentials and bearer tokens.

The only write path for users, sessions, credentials and tokens; each write is audited."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import and_, delete, false, func, or_, select
from sqlalchemy.orm import Session

from oip.auth import password_rules, permissions as P, throttle, throttle_rules
from oip.auth.models import (
    ApiCredential,
    ApiToken,
    InsurerAssignment,
    LoginAttempt,
    Organisation,
    StaffSession,
    User,
)
from oip.auth.permissions import ORG_KIND_NAMES, ROLES, Role, role
from oip.core import audit, clock
from oip.core.config import get_settings
from oip.core.errors import Conflict, DomainError, Forbidden, NotFound
from oip.core.pagination import Page
from oip.reference.models import Region


@lru_cache
def _hasher() -> PasswordHasher:
    if get_settings().argon2_fast:
        return PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    return PasswordHasher()  # argon2id, RFC 9106 low-memory profile


def hash_secret(secret: str) -> str:
    return _hasher().hash(secret)


def check_secret(stored: str | None, secret: str) -> bool:
    if not stored:
        return False
    try:
        return _hasher().verify(stored, secret)
    except (VerificationError, InvalidHashError):
        return False


def _sha(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


@dataclass
class Principal:
    """Who is acting: the user, their role and the data scope that follows from their organisation."""

    user_id: int
    username: str
    display_name: str
    role: Role
    organisation_id: int
    organisation_name: str
    region_code: str
    region_prefix: str
    platform_id: int | None = None
    person_id: int | None = None
    via: str = "session"
    csrf_token: str | None = None
    ip: str | None = None
    must_change_password: bool = False
    extra: dict = field(default_factory=dict)

    @property
    def label(self) -> str:
        return f"{self.username}（{self.organisation_name}）"

    def can(self, permission: str) -> bool:
        return permission in self.role.permissions


def principal_for(
    session: Session, user: User, *, via: str = "session", csrf_token: str | None = None, ip: str | None = None
) -> Principal:
    org = user.organisation
    region = session.get(Region, org.region_code)
    return Principal(
        user_id=user.id,
        username=user.username,
        display_name=user.display_name,
        role=role(user.role),
        organisation_id=org.id,
        organisation_name=org.name,
        region_code=org.region_code,
        region_prefix=region.scope_prefix if region else org.region_code,
        platform_id=org.platform_id,
        person_id=user.person_id,
        via=via,
        csrf_token=csrf_token,
        ip=ip,
        must_change_password=bool(user.must_change_password),
    )


class Throttled(DomainError):
    """Too many failures lately: try again after ``retry_after`` seconds (HTTP 429, ``Retry-After``)."""

    status_code = 429
    code = "throttled"

    def __init__(self, reason: str, wait: dt.timedelta, field: str | None = None):
        super().__init__(reason, field)
        self.retry_after = throttle_rules.retry_after(wait)
        self.headers = {"Retry-After": str(self.retry_after)}


class BadCredentials(DomainError):
    status_code = 401
    code = "unauthenticated"


class PasswordChangeRequired(DomainError):
    """A session whose password an administrator chose: only the change-password page until it is changed."""

    status_code = 403
    code = "password_change_required"


@lru_cache
def _dummy_hash() -> str:
    """A hash made once with the same parameters as real ones: unknown names, accounts without a
    password and the like are checked against it, so every answer costs the same argon2 work."""
    return hash_secret(secrets.token_urlsafe(24))


def _verify_like_everyone(stored: str | None, secret: str) -> bool:
    """Check ``secret`` against ``stored``, or against the dummy hash when there is none (then False)."""
    if not stored:
        check_secret(_dummy_hash(), secret)
        return False
    return check_secret(stored, secret)


audit.register_actions(
    {
        "auth.token_throttled": "拒绝签发访问令牌（尝试过于频繁）",
        "auth.password_change": "修改本人密码",
    }
)


# Public checks only throttle (windows of minutes); older attempts are removed as new ones come in.
ATTEMPT_RETENTION = dt.timedelta(days=30)


def record_attempt(session: Session, key: str, success: bool, ip: str | None) -> None:
    """Count a public check under ``key`` (``check:<ip>``) and drop those older than ``ATTEMPT_RETENTION``.
    Sign-ins and token requests are throttled through oip.auth.throttle instead."""
    now = clock.now()
    session.execute(delete(LoginAttempt).where(LoginAttempt.at < now - ATTEMPT_RETENTION))
    session.add(LoginAttempt(username=key, at=now, success=success, ip=ip))


def _refuse_while_backing_off(
    session: Session, actor, kind: str, key: str, ip: str | None, entity_type: str, what: str
) -> None:
    """Before any password work: a try inside a back-off is refused (audited, committed) with when to retry."""
    wait = throttle.wait(session, kind, key, ip)
    if wait is None:
        return
    audit.record(
        session,
        actor,
        "auth.sign_in_throttled" if kind == "login" else "auth.token_throttled",
        entity_type=entity_type,
        entity_id=key[:64],
        after={"retry_after_seconds": throttle_rules.retry_after(wait)},
    )
    session.commit()
    raise Throttled(f"{what}，{throttle_rules.wait_text(wait)}", wait)


def sign_in(session: Session, username: str, password: str, ip: str | None) -> tuple[str, Principal]:
    """Check a staff or worker password and open a session. Returns (cookie value, principal).

    Failures earn a back-off per (account, address), per address and per account
    (oip.auth.throttle_rules); a try during a back-off is refused before the password is looked at,
    with when to try again (HTTP 429). Unknown names, disabled users and accounts that cannot sign
    in with a password cost the same argon2 verification as a wrong password. Failures and
    refusals are audited."""
    username = (username or "").strip()
    actor = audit.SystemActor(label=f"sign-in:{username}"[:128], ip=ip)
    _refuse_while_backing_off(session, actor, "login", username, ip, "user", "登录失败次数过多")
    user = session.scalar(select(User).where(User.username == username))
    matches = _verify_like_everyone(user.password_hash if user is not None else None, password or "")
    ok = matches and user is not None and user.is_active and user.kind in ("staff", "worker")
    if not ok:
        throttle.failed(session, "login", username, ip)
        audit.record(session, actor, "auth.sign_in_failed", entity_type="user", entity_id=username[:64])
        session.commit()
        raise BadCredentials("用户名或密码错误")
    throttle.succeeded(session, "login", username, ip)
    token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(24)
    session.add(StaffSession(token_hash=_sha(token), user_id=user.id, csrf_token=csrf, last_seen_at=clock.now(), ip=ip))
    p = principal_for(session, user, csrf_token=csrf, ip=ip)
    audit.record(session, p, "auth.sign_in", entity_type="user", entity_id=user.id)
    return token, p


def resume_session(session: Session, token: str, ip: str | None) -> Principal | None:
    """The principal behind a session cookie, or None when unknown or idle too long."""
    row = session.get(StaffSession, _sha(token))
    if row is None:
        return None
    now = clock.now()
    if now - row.last_seen_at > dt.timedelta(minutes=get_settings().session_idle_minutes):
        session.delete(row)
        return None
    user = session.get(User, row.user_id)
    if user is None or not user.is_active:
        return None
    if now - row.last_seen_at > dt.timedelta(seconds=30):
        row.last_seen_at = now
    return principal_for(session, user, csrf_token=row.csrf_token, ip=ip)


def sign_out(session: Session, token: str, actor: Principal) -> None:
    session.execute(delete(StaffSession).where(StaffSession.token_hash == _sha(token)))
    audit.record(session, actor, "auth.sign_out", entity_type="user", entity_id=actor.user_id)


def issue_token(
    session: Session, user: User, actor, credential: ApiCredential | None = None, minutes: int | None = None
) -> tuple[str, dt.datetime]:
    token = "oip_" + secrets.token_urlsafe(32)
    expires = clock.now() + dt.timedelta(minutes=minutes or get_settings().token_minutes)
    session.add(
        ApiToken(
            token_hash=_sha(token),
            user_id=user.id,
            credential_id=credential.id if credential else None,
            expires_at=expires,
        )
    )
    audit.record(
        session,
        actor,
        "auth.token_issued",
        entity_type="user",
        entity_id=user.id,
        after={"credential": credential.client_id if credential else None, "expires_at": expires},
    )
    return token, expires


def exchange_credentials(
    session: Session, client_id: str, client_secret: str, ip: str | None
) -> tuple[str, dt.datetime]:
    """OAuth2 client-credentials: a platform's client id + secret for a short-lived bearer token.

    Throttled like sign-in, per (client id, address), address and client id, *before* the argon2
    work; unknown and revoked client ids cost the same verification as a wrong secret."""
    client_id = client_id or ""
    actor = audit.SystemActor(label=f"client:{client_id}"[:128], ip=ip)
    _refuse_while_backing_off(session, actor, "token", client_id, ip, "api_credential", "换取令牌失败次数过多")
    cred = session.scalar(select(ApiCredential).where(ApiCredential.client_id == client_id))
    matches = _verify_like_everyone(cred.secret_hash if cred is not None else None, client_secret or "")
    if not matches or cred is None or cred.revoked_at is not None:
        throttle.failed(session, "token", client_id, ip)
        audit.record(session, actor, "auth.token_refused", entity_type="api_credential", entity_id=client_id[:64])
        session.commit()
        raise BadCredentials("client_id 或 client_secret 无效，或凭证已吊销")
    throttle.succeeded(session, "token", client_id, ip)
    user = session.get(User, cred.user_id)
    if user is None or not user.is_active:
        raise BadCredentials("凭证所属账号已停用")
    cred.last_used_at = clock.now()
    return issue_token(session, user, actor, credential=cred)


def resume_token(session: Session, token: str, ip: str | None) -> Principal | None:
    row = session.get(ApiToken, _sha(token))
    if row is None or row.expires_at < clock.now():
        return None
    user = session.get(User, row.user_id)
    if user is None or not user.is_active:
        return None
    return principal_for(session, user, via="token", ip=ip)


def create_credential(session: Session, actor, platform_id: int, label: str = "") -> tuple[str, str]:
    """A new client id + secret for a platform's system user. The secret is shown once."""
    org = session.scalar(select(Organisation).where(Organisation.platform_id == platform_id))
    if org is None:
        raise NotFound("该平台企业尚无机构账号")
    user = session.scalar(select(User).where(User.organisation_id == org.id, User.kind == "service"))
    if user is None:
        user = User(
            username=f"{org.code}-api",
            display_name=f"{org.name} 接口",
            role="platform",
            kind="service",
            organisation_id=org.id,
        )
        session.add(user)
        session.flush()
        audit.record(
            session,
            actor,
            "user.create",
            entity_type="user",
            entity_id=user.id,
            after={"username": user.username, "role": "platform", "kind": "service"},
        )
    client_id = f"{org.code}-{secrets.token_hex(4)}"
    secret = secrets.token_urlsafe(32)
    cred = ApiCredential(client_id=client_id, secret_hash=hash_secret(secret), user_id=user.id, label=label)
    session.add(cred)
    session.flush()
    audit.record(
        session,
        actor,
        "credential.create",
        entity_type="api_credential",
        entity_id=client_id,
        after={"platform_id": platform_id, "label": label},
    )
    return client_id, secret


def revoke_credential(session: Session, actor, cred: ApiCredential) -> None:
    if cred.revoked_at is not None:
        return
    cred.revoked_at = clock.now()
    session.execute(delete(ApiToken).where(ApiToken.credential_id == cred.id))
    audit.record(session, actor, "credential.revoke", entity_type="api_credential", entity_id=cred.client_id)


def credentials_of_platform(session: Session, platform_id: int) -> list[ApiCredential]:
    return list(
        session.scalars(
            select(ApiCredential)
            .join(User, User.id == ApiCredential.user_id)
            .join(Organisation, Organisation.id == User.organisation_id)
            .where(Organisation.platform_id == platform_id)
            .order_by(ApiCredential.id)
        )
    )


# ---- user management (the users page and /api/v1/users) ----------------------------------------------
#
# Who may manage whom: a principal with USER_MANAGE, on staff users of organisations inside their region
# prefix, never their own account, and only with roles that give no more than they hold themselves
# (``grantable``): an officer cannot create, reset the password of, or re-role an account that is more
# powerful than their own — that would be a way into more power.

USER_PAGE_SIZE = 50
USERNAME_RE = re.compile(r"^[a-z][a-z0-9_.-]{2,63}$")
PASSWORD_MIN = password_rules.MIN_LENGTH

# Permissions that only narrow someone's view of data they would see anyway add no power, and the
# right to manage every platform's credentials includes a platform's own.
_VIEW_ONLY = {P.PORTAL, P.SELF_READ}
_IMPLIES = {P.CREDENTIALS_MANAGE: {P.CREDENTIALS_SELF}}

audit.register_actions(
    {
        "user.update": "调整用户角色或机构",
        "user.disable": "停用用户",
        "user.enable": "启用用户",
        "user.reset_password": "重置用户密码",
    }
)


def _held(p: Principal) -> set[str]:
    held = set(p.role.permissions)
    for x in list(held):
        held |= _IMPLIES.get(x, set())
    return held


def grantable(p: Principal, r: Role) -> bool:
    """May ``p`` give (or manage an account holding) role ``r``: nothing in it that ``p`` lacks."""
    return p.role.scope == "region" and (set(r.permissions) - _VIEW_ONLY) <= _held(p)


def grantable_roles(p: Principal) -> list[Role]:
    return [r for r in ROLES.values() if r.code != "worker" and grantable(p, r)]


def _org_scope(p: Principal):
    if p.role.scope != "region":
        return false()
    return and_(Organisation.region_code.startswith(p.region_prefix, autoescape=True), Organisation.kind != "public")


def organisations_in_scope(session: Session, p: Principal) -> list[Organisation]:
    """The organisations whose users ``p`` sees (workers' "public" organisation aside), by region and name."""
    return list(
        session.scalars(
            select(Organisation)
            .where(_org_scope(p))
            .order_by(Organisation.region_code, Organisation.kind, Organisation.name)
        )
    )


def list_users(
    session: Session,
    p: Principal,
    *,
    organisation_id: int | None = None,
    role_code: str | None = None,
    q: str | None = None,
    page: int = 1,
    size: int = USER_PAGE_SIZE,
) -> Page[User]:
    """Staff and platform system users of the organisations in ``p``'s scope (workers have their own accounts)."""
    if role_code and role_code not in ROLES:
        raise DomainError("角色不存在", field="role")
    size = max(1, min(int(size), 500))
    cond = [_org_scope(p), User.kind.in_(("staff", "service"))]
    if organisation_id:
        cond.append(User.organisation_id == organisation_id)
    if role_code:
        cond.append(User.role == role_code)
    if q and q.strip():
        cond.append(
            or_(
                User.username.contains(q.strip(), autoescape=True),
                User.display_name.contains(q.strip(), autoescape=True),
            )
        )
    base = select(User).join(Organisation, Organisation.id == User.organisation_id).where(*cond)
    total = session.scalar(select(func.count()).select_from(base.subquery())) or 0
    pages = max(1, -(-total // size))
    page = max(1, min(int(page), pages))
    rows = list(
        session.scalars(
            base.order_by(Organisation.region_code, Organisation.name, User.username)
            .offset((page - 1) * size)
            .limit(size)
        )
    )
    return Page(rows, total, page, size)


def get_user(session: Session, p: Principal, user_id: int) -> User:
    """A user in ``p``'s scope, else NotFound (out-of-scope users answer like missing ones)."""
    u = session.scalar(
        select(User)
        .join(Organisation, Organisation.id == User.organisation_id)
        .where(User.id == user_id, _org_scope(p), User.kind.in_(("staff", "service")))
    )
    if u is None:
        raise NotFound("用户不存在或不在您的管理范围内", field="id")
    return u


def _organisation(session: Session, p: Principal, organisation_id: Any) -> Organisation:
    try:
        oid = int(organisation_id)
    except (TypeError, ValueError):
        raise DomainError("请选择机构", field="organisation_id") from None
    org = session.scalar(select(Organisation).where(Organisation.id == oid, _org_scope(p)))
    if org is None:
        raise DomainError("机构不存在或不在您的管理范围内", field="organisation_id")
    return org


def _role_fits(org: Organisation, role_code: Any) -> Role:
    """The staff role ``role_code`` if an organisation of ``org``'s kind may hold it."""
    r = ROLES.get(str(role_code or ""))
    if r is None or r.code == "worker":
        raise DomainError("请选择角色", field="role")
    if org.kind not in r.org_kinds:
        kinds = "、".join(ORG_KIND_NAMES.get(k, k) for k in r.org_kinds)
        raise DomainError(
            f"角色“{r.name}”只能授予{kinds}的用户，所选机构“{org.name}”是{ORG_KIND_NAMES.get(org.kind, org.kind)}",
            field="role",
        )
    if r.scope == "platform" and org.platform_id is None:
        raise DomainError(f"机构“{org.name}”未关联平台企业，不能授予平台企业角色", field="organisation_id")
    return r


def _role_for(p: Principal, org: Organisation, role_code: Any) -> Role:
    r = _role_fits(org, role_code)
    if not grantable(p, r):
        raise Forbidden(f"不能授予角色“{r.name}”：它含有您本人没有的权限", field="role")
    return r


def _check_password(password: Any, username: str, field: str = "password") -> str:
    """The password policy (oip.auth.password_rules) as a DomainError naming the field."""
    try:
        return password_rules.check(str(password or ""), username, field)
    except password_rules.WeakPassword as e:
        raise DomainError(e.reason, field=e.field) from None


def _manageable(session: Session, p: Principal, user_id: int) -> User:
    u = get_user(session, p, user_id)
    if u.id == p.user_id:
        raise Forbidden("不能管理本人账号（角色、机构、启用状态和密码重置须由其他管理人员办理）", field="id")
    if u.kind != "staff":
        raise Forbidden("平台企业系统账号通过接口凭证管理，不在此维护", field="id")
    if not grantable(p, role(u.role)):
        raise Forbidden(f"该用户的角色（{role(u.role).name}）含有您本人没有的权限，不能由您管理", field="id")
    return u


def _end_sessions(session: Session, user_id: int) -> None:
    session.execute(delete(StaffSession).where(StaffSession.user_id == user_id))
    session.execute(delete(ApiToken).where(ApiToken.user_id == user_id))


def _user_dict(u: User) -> dict:
    return {
        "username": u.username,
        "display_name": u.display_name,
        "role": u.role,
        "organisation": u.organisation.code if u.organisation else None,
        "is_active": u.is_active,
    }


def create_user(
    session: Session,
    p: Principal,
    *,
    username: Any,
    display_name: Any,
    organisation_id: Any,
    role_code: Any,
    password: Any,
) -> User:
    """A new staff user of an organisation in ``p``'s scope, with a role valid for that organisation."""
    username, display_name = _new_names(username, display_name)
    org = _organisation(session, p, organisation_id)
    r = _role_for(p, org, role_code)
    return _add_staff(session, p, username, display_name, org, r, password)


def _new_names(username: Any, display_name: Any) -> tuple[str, str]:
    username = str(username or "").strip()
    if not USERNAME_RE.match(username):
        raise DomainError("用户名须为 3–64 位小写字母、数字或 _ . -，以字母开头", field="username")
    display_name = str(display_name or "").strip()
    if not display_name:
        raise DomainError("请填写姓名（显示名）", field="display_name")
    if len(display_name) > 128:
        raise DomainError("姓名（显示名）不能超过 128 个字符", field="display_name")
    return username, display_name


def _add_staff(
    session: Session, actor, username: str, display_name: str, org: Organisation, r: Role, password: Any
) -> User:
    pw = _check_password(password, username)
    if session.scalar(select(User.id).where(User.username == username)) is not None:
        raise Conflict(f"用户名 {username} 已被使用", field="username")
    u = User(
        username=username,
        display_name=display_name,
        role=r.code,
        kind="staff",
        organisation_id=org.id,
        password_hash=hash_secret(pw),
        is_active=True,
        must_change_password=True,  # the administrator knows it: the user chooses their own at first sign-in
    )
    session.add(u)
    session.flush()
    session.refresh(u)
    audit.record(session, actor, "user.create", entity_type="user", entity_id=u.id, after=_user_dict(u))
    return u


def change_role(session: Session, p: Principal, user_id: int, *, organisation_id: Any, role_code: Any) -> User:
    """Move a user to another organisation and/or role; their data scope follows the organisation."""
    u = _manageable(session, p, user_id)
    org = _organisation(session, p, organisation_id)
    r = _role_for(p, org, role_code)
    before = _user_dict(u)
    if u.organisation_id == org.id and u.role == r.code:
        return u
    u.organisation_id, u.role = org.id, r.code
    session.flush()
    session.refresh(u)
    b, a = audit.diff(before, _user_dict(u))
    audit.record(session, p, "user.update", entity_type="user", entity_id=u.id, before=b, after=a)
    return u


def set_active(session: Session, p: Principal, user_id: int, active: bool) -> User:
    """Disable (their sessions and tokens end at once) or enable a user."""
    return _set_active(session, p, _manageable(session, p, user_id), active)


def _set_active(session: Session, actor, u: User, active: bool) -> User:
    if u.is_active == bool(active):
        return u
    u.is_active = bool(active)
    if not active:
        _end_sessions(session, u.id)
    session.flush()
    audit.record(
        session,
        actor,
        "user.enable" if active else "user.disable",
        entity_type="user",
        entity_id=u.id,
        before={"is_active": not active},
        after={"is_active": bool(active)},
    )
    return u


def reset_password(session: Session, p: Principal, user_id: int, password: Any) -> User:
    """Set a new password chosen by the officer (given to the user out of band); their sessions end
    and they must choose their own at next sign-in."""
    return _reset_password(session, p, _manageable(session, p, user_id), password)


def _reset_password(session: Session, actor, u: User, password: Any) -> User:
    u.password_hash = hash_secret(_check_password(password, u.username))
    u.must_change_password = True
    _end_sessions(session, u.id)
    session.flush()
    audit.record(session, actor, "user.reset_password", entity_type="user", entity_id=u.id)
    return u


def change_own_password(
    session: Session, p: Principal, *, current: Any, new: Any, repeat: Any, session_token: str | None = None
) -> User:
    """The signed-in user replaces their password: the current one (argon2-checked), the new one twice,
    by the policy. Their other sessions and bearer tokens end; ``session_token`` (this browser) stays.
    Clears a forced change."""
    u = session.get(User, p.user_id)
    if u is None or u.kind not in ("staff", "worker") or not u.password_hash:
        raise Forbidden("该账号不使用密码登录", field="current_password")
    if not check_secret(u.password_hash, str(current or "")):
        raise DomainError("当前密码不正确", field="current_password")
    pw = _check_password(new, u.username, field="new_password")
    if str(repeat or "") != pw:
        raise DomainError("两次输入的新密码不一致", field="new_password_repeat")
    if check_secret(u.password_hash, pw):
        raise DomainError("新密码不能与当前密码相同", field="new_password")
    u.password_hash = hash_secret(pw)
    u.must_change_password = False
    keep = _sha(session_token) if session_token else None
    cond = [StaffSession.user_id == u.id] + ([StaffSession.token_hash != keep] if keep else [])
    session.execute(delete(StaffSession).where(*cond))
    session.execute(delete(ApiToken).where(ApiToken.user_id == u.id))
    session.flush()
    audit.record(session, p, "auth.password_change", entity_type="user", entity_id=u.id)
    return u


# ---- the operator's provisioning (``oip orgs``, ``oip users`` on the server's terminal) ------------
#
# Whoever runs commands on the server holds the database and the keys: the root of trust. They set up
# what nobody in the application may: the organisations of a new deployment, its first administrators,
# and the accounts no role in the application may grant (finance's: fund.budget_review and
# fund.allocate are held by finance alone). Every act is audited with the system actor's label.


def one_time_password() -> str:
    """A random password the operator hands over out of band; the user replaces it at first sign-in."""
    while True:
        pw = "-".join(secrets.token_urlsafe(6).replace("-", "x").replace("_", "y") for _ in range(3))
        try:
            return password_rules.check(pw)
        except password_rules.WeakPassword:  # pragma: no cover - 24 random characters
            continue


def add_organisation(
    session: Session, actor: audit.SystemActor, *, code: Any, name: Any, kind: Any, region_code: Any
) -> Organisation:
    """A government body, insurer or other organisation whose users the platform will have (platform
    enterprises get theirs from the register, workers share the public one)."""
    code, name, kind, region_code = (str(x or "").strip() for x in (code, name, kind, region_code))
    if not re.fullmatch(r"[a-z0-9][a-z0-9_.-]{1,63}", code):
        raise DomainError("机构代码须为 2–64 位小写字母、数字或 _ . -", field="code")
    if not name or len(name) > 128:
        raise DomainError("请填写机构名称（不超过 128 个字符）", field="name")
    if kind in ("platform", "public") or kind not in ORG_KIND_NAMES:
        kinds = "、".join(f"{k}（{v}）" for k, v in ORG_KIND_NAMES.items() if k not in ("platform", "public"))
        raise DomainError(f"机构类型须为：{kinds}；平台企业的机构随平台登记产生", field="kind")
    region = session.get(Region, region_code)
    if region is None:
        raise DomainError(f"行政区划代码 {region_code} 不存在（先运行 oip reference load）", field="region_code")
    if session.scalar(select(Organisation.id).where(Organisation.code == code)) is not None:
        raise Conflict(f"机构代码 {code} 已被使用", field="code")
    return new_organisation(session, actor, code=code, name=name, kind=kind, region_code=region.code)


def new_organisation(
    session: Session,
    actor,
    *,
    code: str,
    name: str,
    kind: str,
    region_code: str,
    platform_id: int | None = None,
    platform_code: str | None = None,
) -> Organisation:
    """Write an organisation (checked by the caller) and audit it: the one writer of organisations."""
    org = Organisation(code=code, name=name, kind=kind, region_code=region_code, platform_id=platform_id)
    session.add(org)
    session.flush()
    after = {"code": code, "name": name, "kind": kind, "region_code": region_code}
    audit.record(
        session,
        actor,
        "organisation.create",
        entity_type="organisation",
        entity_id=org.id,
        after=after | ({"platform": platform_code} if platform_code else {}),
    )
    return org


def provision_user(
    session: Session,
    actor: audit.SystemActor,
    *,
    username: Any,
    display_name: Any,
    organisation_code: Any,
    role_code: Any,
    password: Any,
) -> User:
    """A staff user made by the operator: any role an organisation of that kind may hold."""
    username, display_name = _new_names(username, display_name)
    org = session.scalar(select(Organisation).where(Organisation.code == str(organisation_code or "").strip()))
    if org is None or org.kind == "public":
        raise DomainError(f"机构 {organisation_code} 不存在（oip orgs list 列出全部机构）", field="organisation")
    return _add_staff(session, actor, username, display_name, org, _role_fits(org, role_code), password)


def _staff_by_name(session: Session, username: Any) -> User:
    u = session.scalar(select(User).where(User.username == str(username or "").strip()))
    if u is None or u.kind != "staff":
        raise NotFound(f"没有工作人员账号 {username}", field="username")
    return u


def provision_password(session: Session, actor: audit.SystemActor, username: Any, password: Any) -> User:
    """The operator resets a staff user's password (e.g. the only administrator forgot theirs): their
    sessions end and they choose their own at next sign-in."""
    return _reset_password(session, actor, _staff_by_name(session, username), password)


def provision_active(session: Session, actor: audit.SystemActor, username: Any, active: bool) -> User:
    """The operator disables (sessions and tokens end at once) or enables a staff user."""
    return _set_active(session, actor, _staff_by_name(session, username), active)


def assigned_people(session: Session, p: Principal) -> int:
    """How many people are assigned to the principal's organisation (an insurer) in open matters."""
    return session.scalar(
        select(func.count())
        .select_from(InsurerAssignment)
        .where(InsurerAssignment.organisation_id == p.organisation_id, InsurerAssignment.closed_at.is_(None))
    )


# ---- names of audited objects (the audit page) ----------------------------------------------------


def _user_names(session: Session, ids: list[str]) -> dict[str, str]:
    """Staff and platform systems by username and organisation; a worker's own account is not named
    (their name is personal data). Failed sign-ins are recorded under the username typed."""
    numeric = [int(i) for i in ids if i.isdigit()]
    rows = (
        session.execute(
            select(User.id, User.username, User.kind, Organisation.name)
            .join(Organisation, Organisation.id == User.organisation_id)
            .where(User.id.in_(numeric))
        ).all()
        if numeric
        else []
    )
    out = {str(i): ("从业人员本人账号" if kind == "worker" else f"{name}（{org}）") for i, name, kind, org in rows}
    out.update({i: i for i in ids if not i.isdigit()})
    return out


def _organisation_names(session: Session, ids: list[str]) -> dict[str, str]:
    numeric = [int(i) for i in ids if i.isdigit()]
    return (
        {
            str(i): n
            for i, n in session.execute(select(Organisation.id, Organisation.name).where(Organisation.id.in_(numeric)))
        }
        if numeric
        else {}
    )


audit.register_entity_names("user", "用户", _user_names)
audit.register_entity_names("organisation", "机构", _organisation_names)
