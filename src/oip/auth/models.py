"""Organisations, users, sessions, API credentials and tokens."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    false,
    func,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from oip.core.db import Base, IdMixin, TimestampMixin


class Organisation(IdMixin, TimestampMixin, Base):
    """`Organisation` — 机构: an HRSS department or bureau (人社厅/局), a social insurance agency
    (社保中心/经办机构), finance, tax, regulators, the trade union, a contracted insurer
    (受托商业保险机构), a platform enterprise (平台企业), or the public (workers).

    ``region_code`` is where it has authority; with ``kind`` it fixes the data scope of its users."""

    __tablename__ = "organisations"
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(128))
    kind: Mapped[str] = mapped_column(String(32))
    region_code: Mapped[str] = mapped_column(ForeignKey("regions.code"))
    platform_id: Mapped[int | None] = mapped_column(ForeignKey("platforms.id"), unique=True)


class User(IdMixin, TimestampMixin, Base):
    """`User` — 用户. ``kind``: staff (password + session), service (a platform system using API
    credentials), worker (a platform worker signed in to see their own data)."""

    __tablename__ = "users"
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(128))
    role: Mapped[str] = mapped_column(String(32), index=True)
    kind: Mapped[str] = mapped_column(String(16), default="staff")
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    person_id: Mapped[int | None] = mapped_column(ForeignKey("persons.id"), unique=True)
    password_hash: Mapped[str | None] = mapped_column(String(256))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Set when an administrator chose the password (a new account, a reset): the user must choose
    # their own at next sign-in. The demo's accounts have a published password and are not marked.
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())

    organisation: Mapped[Organisation] = relationship(lazy="joined")


class StaffSession(Base):
    """A signed-in browser session. Only the SHA-256 of the cookie value is stored."""

    __tablename__ = "staff_sessions"
    token_hash: Mapped[bytes] = mapped_column(LargeBinary, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    last_seen_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    ip: Mapped[str | None] = mapped_column(String(64))


class LoginAttempt(IdMixin, Base):
    """Public checks of the last 30 days (under ``check:<ip>``), for throttling them. Sign-ins are
    throttled through ``SignInThrottle``; the audit trail keeps every sign-in for good."""

    __tablename__ = "login_attempts"
    username: Mapped[str] = mapped_column(String(64), index=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), index=True)
    success: Mapped[bool] = mapped_column(Boolean)
    ip: Mapped[str | None] = mapped_column(String(64))


class SignInThrottle(Base):
    """Failed sign-ins (``/login``) or token requests (``/api/v1/auth/token``) counted under one key
    — an (account, address) pair, an address, or an account — with the back-off they earned
    (oip.auth.throttle_rules). ``key`` is ``<endpoint>:<scope>:`` and a keyed hash (the blind-index
    key) of the account and/or address, so the table names no one. Rows nobody has failed on for a
    day (and, for pairs, that saw no success for 30 days) are pruned as new failures come in."""

    __tablename__ = "sign_in_throttles"
    key: Mapped[str] = mapped_column(String(96), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    last_failure_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), index=True)
    blocked_until: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    last_success_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


class ApiCredential(IdMixin, TimestampMixin, Base):
    """`ApiCredential` — 接口凭证 of a platform's system: client id + secret (argon2 hash).
    Rotating creates a new one; revoking sets ``revoked_at`` and kills its tokens."""

    __tablename__ = "api_credentials"
    client_id: Mapped[str] = mapped_column(String(64), unique=True)
    secret_hash: Mapped[str] = mapped_column(String(256))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    label: Mapped[str] = mapped_column(String(128), default="")
    revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    last_used_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


class ApiToken(Base):
    """A short-lived bearer token (SHA-256 stored)."""

    __tablename__ = "api_tokens"
    token_hash: Mapped[bytes] = mapped_column(LargeBinary, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    credential_id: Mapped[int | None] = mapped_column(ForeignKey("api_credentials.id", ondelete="CASCADE"))
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class InsurerAssignment(IdMixin, TimestampMixin, Base):
    """`InsurerAssignment` — 委托事项分派: a person whose matter is assigned to a contracted insurer.
    An insurer's users see only the people assigned to their organisation."""

    __tablename__ = "insurer_assignments"
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id"), index=True)
    matter: Mapped[str] = mapped_column(String(128))
    assigned_by: Mapped[int | None] = mapped_column(BigInteger)
    closed_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
