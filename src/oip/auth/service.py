"""Authentication: passwords (argon2id), staff sessions, API credentials and bearer tokens.

The only write path for users, sessions, credentials and tokens; each write is audited."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass, field
from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from oip.auth.models import ApiCredential, ApiToken, LoginAttempt, Organisation, StaffSession, User
from oip.auth.permissions import Role, role
from oip.core import audit, clock
from oip.core.config import get_settings
from oip.core.errors import DomainError, NotFound


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
    extra: dict = field(default_factory=dict)

    @property
    def label(self) -> str:
        return f"{self.username}（{self.organisation_name}）"

    def can(self, permission: str) -> bool:
        return permission in self.role.permissions


def principal_for(session: Session, user: User, *, via: str = "session", csrf_token: str | None = None,
                  ip: str | None = None) -> Principal:
    from oip.reference.models import Region

    org = user.organisation
    region = session.get(Region, org.region_code)
    return Principal(
        user_id=user.id, username=user.username, display_name=user.display_name, role=role(user.role),
        organisation_id=org.id, organisation_name=org.name, region_code=org.region_code,
        region_prefix=region.scope_prefix if region else org.region_code, platform_id=org.platform_id,
        person_id=user.person_id, via=via, csrf_token=csrf_token, ip=ip,
    )


class Throttled(DomainError):
    status_code = 429
    code = "throttled"


class BadCredentials(DomainError):
    status_code = 401
    code = "unauthenticated"


def _recent_failures(session: Session, username: str) -> int:
    s = get_settings()
    since = clock.now() - dt.timedelta(minutes=s.login_window_minutes)
    last_ok = session.scalar(select(func.max(LoginAttempt.at)).where(
        LoginAttempt.username == username, LoginAttempt.success.is_(True)))
    if last_ok and last_ok > since:
        since = last_ok
    return session.scalar(select(func.count()).select_from(LoginAttempt).where(
        LoginAttempt.username == username, LoginAttempt.success.is_(False), LoginAttempt.at > since)) or 0


# Attempts only throttle (windows of minutes); every sign-in, failed or not, is also in the audit
# trail, which keeps it for good. Older attempts are removed as new ones come in.
ATTEMPT_RETENTION = dt.timedelta(days=30)


def record_attempt(session: Session, key: str, success: bool, ip: str | None) -> None:
    """Count an attempt under ``key`` (a username, or ``check:<ip>`` for the public check) and drop
    those older than ``ATTEMPT_RETENTION``."""
    now = clock.now()
    session.execute(delete(LoginAttempt).where(LoginAttempt.at < now - ATTEMPT_RETENTION))
    session.add(LoginAttempt(username=key, at=now, success=success, ip=ip))


def sign_in(session: Session, username: str, password: str, ip: str | None) -> tuple[str, Principal]:
    """Check a staff or worker password and open a session. Returns (cookie value, principal).

    After ``login_max_failures`` failures within the window the account is throttled (HTTP 429)
    until the window passes; failures and throttling are audited."""
    username = (username or "").strip()
    actor = audit.SystemActor(label=f"sign-in:{username}"[:128], ip=ip)
    if _recent_failures(session, username) >= get_settings().login_max_failures:
        audit.record(session, actor, "auth.sign_in_throttled", entity_type="user", entity_id=username)
        session.commit()
        raise Throttled(f"登录失败次数过多，请 {get_settings().login_window_minutes} 分钟后再试")
    user = session.scalar(select(User).where(User.username == username))
    ok = user is not None and user.is_active and user.kind in ("staff", "worker") and check_secret(
        user.password_hash, password)
    record_attempt(session, username, ok, ip)
    if not ok:
        audit.record(session, actor, "auth.sign_in_failed", entity_type="user", entity_id=username)
        session.commit()
        raise BadCredentials("用户名或密码错误")
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


def issue_token(session: Session, user: User, actor, credential: ApiCredential | None = None,
                minutes: int | None = None) -> tuple[str, dt.datetime]:
    token = "oip_" + secrets.token_urlsafe(32)
    expires = clock.now() + dt.timedelta(minutes=minutes or get_settings().token_minutes)
    session.add(ApiToken(token_hash=_sha(token), user_id=user.id,
                         credential_id=credential.id if credential else None, expires_at=expires))
    audit.record(session, actor, "auth.token_issued", entity_type="user", entity_id=user.id,
                 after={"credential": credential.client_id if credential else None, "expires_at": expires})
    return token, expires


def exchange_credentials(session: Session, client_id: str, client_secret: str, ip: str | None) -> tuple[str, dt.datetime]:
    """OAuth2 client-credentials: a platform's client id + secret for a short-lived bearer token."""
    cred = session.scalar(select(ApiCredential).where(ApiCredential.client_id == (client_id or "")))
    actor = audit.SystemActor(label=f"client:{client_id}"[:128], ip=ip)
    if cred is None or cred.revoked_at is not None or not check_secret(cred.secret_hash, client_secret or ""):
        audit.record(session, actor, "auth.token_refused", entity_type="api_credential", entity_id=client_id)
        session.commit()
        raise BadCredentials("client_id 或 client_secret 无效，或凭证已吊销")
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
        user = User(username=f"{org.code}-api", display_name=f"{org.name} 接口", role="platform", kind="service",
                    organisation_id=org.id)
        session.add(user)
        session.flush()
        audit.record(session, actor, "user.create", entity_type="user", entity_id=user.id,
                     after={"username": user.username, "role": "platform", "kind": "service"})
    client_id = f"{org.code}-{secrets.token_hex(4)}"
    secret = secrets.token_urlsafe(32)
    cred = ApiCredential(client_id=client_id, secret_hash=hash_secret(secret), user_id=user.id, label=label)
    session.add(cred)
    session.flush()
    audit.record(session, actor, "credential.create", entity_type="api_credential", entity_id=client_id,
                 after={"platform_id": platform_id, "label": label})
    return client_id, secret


def revoke_credential(session: Session, actor, cred: ApiCredential) -> None:
    if cred.revoked_at is not None:
        return
    cred.revoked_at = clock.now()
    session.execute(delete(ApiToken).where(ApiToken.credential_id == cred.id))
    audit.record(session, actor, "credential.revoke", entity_type="api_credential", entity_id=cred.client_id)


def credentials_of_platform(session: Session, platform_id: int) -> list[ApiCredential]:
    return list(session.scalars(select(ApiCredential).join(User, User.id == ApiCredential.user_id)
                                .join(Organisation, Organisation.id == User.organisation_id)
                                .where(Organisation.platform_id == platform_id).order_by(ApiCredential.id)))


def set_password(session: Session, actor, user: User, password: str) -> None:
    user.password_hash = hash_secret(password)
    session.execute(update(StaffSession).where(StaffSession.user_id == user.id).values(
        last_seen_at=clock.now() - dt.timedelta(days=365)))
    audit.record(session, actor, "user.set_password", entity_type="user", entity_id=user.id)


# ---- names of audited objects (the audit page) ----------------------------------------------------

def _user_names(session: Session, ids: list[str]) -> dict[str, str]:
    """Staff and platform systems by username and organisation; a worker's own account is not named
    (their name is personal data). Failed sign-ins are recorded under the username typed."""
    numeric = [int(i) for i in ids if i.isdigit()]
    rows = session.execute(select(User.id, User.username, User.kind, Organisation.name).join(
        Organisation, Organisation.id == User.organisation_id).where(User.id.in_(numeric))).all() if numeric else []
    out = {str(i): ("从业人员本人账号" if kind == "worker" else f"{name}（{org}）") for i, name, kind, org in rows}
    out.update({i: i for i in ids if not i.isdigit()})
    return out


def _organisation_names(session: Session, ids: list[str]) -> dict[str, str]:
    numeric = [int(i) for i in ids if i.isdigit()]
    return {str(i): n for i, n in session.execute(select(Organisation.id, Organisation.name)
                                                  .where(Organisation.id.in_(numeric)))} if numeric else {}


audit.register_entity_names("user", "用户", _user_names)
audit.register_entity_names("organisation", "机构", _organisation_names)
