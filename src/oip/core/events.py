"""Domain events (业务事件): the outbox through which one domain tells the others what happened.

A domain that does something other parts of the system account for — the tax bureau's return of a
premium payment, a benefit paid by the bank or reversed — calls ``emit`` in the same transaction as
the act itself, so the event exists exactly when the act does. Consumers (the fund's ledger,
oip.fund.posting) read the events they have not yet handled and record, in their own tables, that
they handled each one: no domain writes another's tables, and a consumer that crashes half-way
simply handles the rest next time.

Events are append-only: never updated or deleted (a trigger of migration 0019 refuses it). A
correction is a new event (a reversal)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import BigInteger, Date, DateTime, Index, String
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, Session, mapped_column

from oip.core import clock
from oip.core.db import Base

# What each kind means (shown on the fund's pages next to the entry an event made).
KINDS = {
    "premium.received": "职业伤害保障费到账（税务回执）",
    "benefit.paid": "待遇支付成功（银行回盘）",
    "benefit.reversed": "待遇退汇",
}


class DomainEvent(Base):
    """`DomainEvent` — 业务事件: one thing that happened, with the money it moved (``amount_fen``,
    never negative), the day it happened (``occurred_on``: the accounting date), the region it
    belongs to and its source row (``source_type``/``source_id``: e.g. ``tax_return`` 17). ``payload``
    carries what a consumer needs without reading the source domain's tables (the benefit item, the
    batch number, the platform)."""

    __tablename__ = "domain_events"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    kind: Mapped[str] = mapped_column(String(48))
    source_type: Mapped[str] = mapped_column(String(32))
    source_id: Mapped[int] = mapped_column(BigInteger)
    occurred_on: Mapped[dt.date] = mapped_column(Date)
    region_code: Mapped[str] = mapped_column(String(12))
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    payload: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    recorded_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    __table_args__ = (
        Index("ix_domain_events_kind", "kind"),
        Index("ix_domain_events_source", "source_type", "source_id"),
    )


def emit(
    session: Session,
    kind: str,
    *,
    source_type: str,
    source_id: int,
    occurred_on: dt.date,
    region_code: str,
    amount_fen: int,
    payload: dict[str, Any] | None = None,
) -> DomainEvent:
    """Record an event in the caller's transaction (it commits or rolls back with the act)."""
    if kind not in KINDS:
        raise ValueError(f"unknown event kind {kind!r}")
    if amount_fen < 0:
        raise ValueError("an event's amount is never negative (a reversal is its own kind)")
    ev = DomainEvent(
        kind=kind,
        source_type=source_type,
        source_id=source_id,
        occurred_on=occurred_on,
        region_code=region_code,
        amount_fen=int(amount_fen),
        payload=payload or {},
        recorded_at=clock.now(),
    )
    session.add(ev)
    return ev
