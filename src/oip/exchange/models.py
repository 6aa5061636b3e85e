"""The message log and the outbox of the exchanges with other systems (tax bureau first), and the
outbox of text messages to people (notifications)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import BigInteger, DateTime, Index, Integer, LargeBinary, String, Text
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


class Notification(IdMixin, Base):
    """`Notification` — 短信通知: one text message to a person, kept in an outbox until it has gone out.

    ``dedup_key`` is the caller's idempotency key (``case:123:decision:1``): a second request with
    the same key finds this row and sends nothing new. The phone number is encrypted
    (``phone_enc``, context ``notification.phone``) and shown masked. ``status``: pending (not tried
    yet), sent (handed to the SMS gateway), failed (the last attempt failed: ``last_error``; tried
    again from ``next_attempt_at``, never when that is empty). ``region_code``: the county the matter
    belongs to (the data scope of the staff page; empty: region-wide staff only)."""

    __tablename__ = "notifications"
    dedup_key: Mapped[str] = mapped_column(String(128), unique=True)
    channel: Mapped[str] = mapped_column(String(8), default="sms")
    phone_enc: Mapped[bytes] = mapped_column(LargeBinary)
    phone_masked: Mapped[str] = mapped_column(String(11))
    person_id: Mapped[int | None] = mapped_column(BigInteger, index=True)
    region_code: Mapped[str | None] = mapped_column(String(6))
    template: Mapped[str] = mapped_column(String(48))
    params: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    text: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(8))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), index=True)
    last_attempt_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    next_attempt_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    sent_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    provider_message_id: Mapped[str | None] = mapped_column(String(96))
    __table_args__ = (Index("ix_notifications_status_next_attempt_at", "status", "next_attempt_at"),)

    @property
    def message_id(self) -> str:
        """The stable id every delivery attempt carries: the adapter sends an id once."""
        return f"oip-ntf-{self.id}"
