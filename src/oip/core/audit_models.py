"""Audit trail tables (see oip.core.audit for the design).

``audit_events`` holds the events (append-only), ``audit_pending`` the events not yet linked into
the chain (a queue: the chainer deletes what it linked), ``audit_chain`` the keyed links
(append-only): ``hash = HMAC-SHA256(audit key, prev_hash + canonical(event))``.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, DateTime, ForeignKey, Index, Sequence, String, Text
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from oip.core.db import Base

EVENT_SEQ = Sequence("audit_events_seq")


class AuditEvent(Base):
    """`AuditEvent` — 审计日志. Append-only (a trigger refuses UPDATE, DELETE and TRUNCATE). ``seq``
    comes from a sequence (insertion order); the event's link in the chain is in ``audit_chain``."""

    __tablename__ = "audit_events"
    seq: Mapped[int] = mapped_column(BigInteger, EVENT_SEQ, primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    actor_user_id: Mapped[int | None] = mapped_column(BigInteger, index=True)
    actor: Mapped[str] = mapped_column(String(128))
    action: Mapped[str] = mapped_column(String(64), index=True)
    entity_type: Mapped[str | None] = mapped_column(String(64))
    entity_id: Mapped[str | None] = mapped_column(String(128))
    subjects: Mapped[list[int]] = mapped_column(ARRAY(BigInteger), default=list)
    purpose: Mapped[str | None] = mapped_column(Text)
    before: Mapped[dict | None] = mapped_column(JSONB)
    after: Mapped[dict | None] = mapped_column(JSONB)
    ip: Mapped[str | None] = mapped_column(String(64))

    __table_args__ = (Index("ix_audit_events_subjects", "subjects", postgresql_using="gin"),)


class AuditPending(Base):
    """An event recorded but not yet linked into the chain (written with the event, in its
    transaction; deleted by the chainer when it links the event)."""

    __tablename__ = "audit_pending"
    event_seq: Mapped[int] = mapped_column(BigInteger, ForeignKey("audit_events.seq"), primary_key=True)


class AuditLink(Base):
    """One link of the keyed chain, in the chainer's order (``pos`` 1, 2, …). Append-only."""

    __tablename__ = "audit_chain"
    pos: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    event_seq: Mapped[int] = mapped_column(BigInteger, ForeignKey("audit_events.seq"), unique=True)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))
