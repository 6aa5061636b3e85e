"""The message log and the outbox of the exchanges with other systems (tax bureau first)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import DateTime, Index, Integer, LargeBinary, String, Text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from oip.core.db import Base, IdMixin


class ExchangeMessage(IdMixin, Base):
    """`ExchangeMessage` — 数据交换日志: every message in or out, with its SHA-256 and signature.

    ``direction``: out (we sent it) or in (we received it). ``status``: out — sent, failed; in —
    imported, rejected, duplicate (the same bytes were imported before)."""

    __tablename__ = "exchange_messages"
    direction: Mapped[str] = mapped_column(String(3))
    system: Mapped[str] = mapped_column(String(16))
    kind: Mapped[str] = mapped_column(String(32))
    message_id: Mapped[str | None] = mapped_column(String(64), index=True)
    location: Mapped[str] = mapped_column(Text)  # file name or URL
    sha256: Mapped[str] = mapped_column(String(64))
    signature: Mapped[str | None] = mapped_column(String(128))
    status: Mapped[str] = mapped_column(String(16))
    error: Mapped[str | None] = mapped_column(Text)
    records: Mapped[int | None] = mapped_column(Integer)
    meta: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), index=True)
    __table_args__ = (Index("ix_exchange_messages_system_direction_sha256", "system", "direction", "sha256"),)


class OutboxItem(IdMixin, Base):
    """`OutboxItem` — 待发送消息: the exact signed bytes of a message, kept until the other system
    confirms receipt. ``status``: pending (not tried yet), sent (confirmed), failed (last attempt
    failed; replayed by ``oip premiums send`` or the exchange page), withdrawn (refused by the
    receiver and taken back by an officer; never sent again). A replay sends the same bytes under
    the same ``message_id``, so the receiver can ignore a message it already has."""

    __tablename__ = "exchange_outbox"
    system: Mapped[str] = mapped_column(String(16))
    kind: Mapped[str] = mapped_column(String(32))
    message_id: Mapped[str] = mapped_column(String(64), unique=True)
    filename: Mapped[str] = mapped_column(String(128))
    payload: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)
    sha256: Mapped[str] = mapped_column(String(64))
    signature: Mapped[str] = mapped_column(String(128))
    status: Mapped[str] = mapped_column(String(16), index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    receipt: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    last_attempt_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    sent_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
