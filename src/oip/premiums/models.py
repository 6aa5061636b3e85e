"""Monthly premium declarations, the tax bureau's returns, reconciliation and the yearly float.

Money is integer fen (``*_fen``, BIGINT); base amounts and rates are exact NUMERIC yuan per order.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Integer,
    Numeric,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column, relationship

from oip.core.db import Base, IdMixin

DECLARATION_STATUSES = {
    "draft": "核定中（未推送）",
    "queued": "推送中",
    "sent": "已推送税务",
    "acknowledged": "税务已受理",
}


class Declaration(IdMixin, Base):
    """`Declaration` — 职业伤害保障费核定（月度申报）: what a platform owes for the orders taken in
    Guangxi in one month (``month`` = the order month), pushed to the tax bureau.

    ``amount_fen`` = orders × rate, rounded half-up once; ``adjustment_*`` carries late changes of
    earlier months that were already sent (see DeclarationAdjustment); ``total_fen`` = amount +
    adjustment is what the platform declares and pays by ``due_date``.

    ``status``: draft (recomputed from the ledger on every run), queued (in the outbox, frozen),
    sent (the tax bureau's system confirmed receipt; never changed again), acknowledged (a return of
    the tax bureau for this platform and month was imported)."""

    __tablename__ = "premium_declarations"
    platform_id: Mapped[int] = mapped_column(ForeignKey("platforms.id"), index=True)
    month: Mapped[str] = mapped_column(String(7), index=True)
    orders: Mapped[int] = mapped_column(BigInteger)
    base_yuan: Mapped[Decimal] = mapped_column(Numeric(12, 4))
    k: Mapped[int] = mapped_column(SmallInteger)
    rate_yuan: Mapped[Decimal] = mapped_column(Numeric(16, 6))
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    adjustment_orders: Mapped[int] = mapped_column(BigInteger, default=0)
    adjustment_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    total_fen: Mapped[int] = mapped_column(BigInteger)
    covered_from: Mapped[dt.date] = mapped_column(Date)  # first covered day of the month (base taken that day)
    billable_statuses: Mapped[list[str]] = mapped_column(JSONB)
    due_date: Mapped[dt.date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16), default="draft", index=True)
    engine: Mapped[str] = mapped_column(String(16))
    computed_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    computed_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    message_id: Mapped[str | None] = mapped_column(String(64), index=True)
    sent_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    acknowledged_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    # What the ledger held for this platform and month when it was last counted (files, superseded
    # versions): an unchanged mark means an unchanged count, so a sent month is only recounted
    # after the ledger changed for it.
    ledger_mark: Mapped[dict[str, Any] | None] = mapped_column(JSONB)

    platform = relationship("Platform", lazy="joined")
    adjustments: Mapped[list[DeclarationAdjustment]] = relationship(
        foreign_keys="DeclarationAdjustment.declaration_id",
        lazy="selectin",
        cascade="all, delete-orphan",
        order_by="DeclarationAdjustment.origin_month",
    )

    __table_args__ = (
        UniqueConstraint("platform_id", "month"),
        CheckConstraint("orders >= 0 AND amount_fen >= 0", name="non_negative"),
        CheckConstraint("total_fen = amount_fen + adjustment_fen", name="total"),
        CheckConstraint("k BETWEEN -5 AND 5", name="k_range"),
        CheckConstraint("status IN ('draft', 'queued', 'sent', 'acknowledged')", name="status"),
    )


class DeclarationAdjustment(IdMixin, Base):
    """`DeclarationAdjustment` — 以前月份补差: orders of an earlier, already-sent month that reached
    the ledger (or were corrected) after it was sent, carried into a later declaration at the rate
    of the origin month. ``amount_fen`` is chosen so that everything declared for the origin month
    adds up to the half-up rounded amount of its current order count (no rounding drift)."""

    __tablename__ = "premium_adjustments"
    declaration_id: Mapped[int] = mapped_column(ForeignKey("premium_declarations.id", ondelete="CASCADE"), index=True)
    origin_id: Mapped[int] = mapped_column(ForeignKey("premium_declarations.id"), index=True)
    origin_month: Mapped[str] = mapped_column(String(7))
    orders: Mapped[int] = mapped_column(BigInteger)
    rate_yuan: Mapped[Decimal] = mapped_column(Numeric(16, 6))
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    ledger_mark: Mapped[dict[str, Any] | None] = mapped_column(JSONB)  # the origin month's ledger when counted
    __table_args__ = (UniqueConstraint("declaration_id", "origin_id"),)


class TaxReturn(IdMixin, Base):
    """`TaxReturn` — 税务回执: one declaration-and-payment event of a platform at the tax bureau for
    an order month. Amounts add up over events (a supplementary declaration or a second payment
    is another record with its own ``tax_reference``)."""

    __tablename__ = "tax_returns"
    platform_id: Mapped[int] = mapped_column(ForeignKey("platforms.id"), index=True)
    month: Mapped[str] = mapped_column(String(7), index=True)
    declared_fen: Mapped[int] = mapped_column(BigInteger)
    paid_fen: Mapped[int] = mapped_column(BigInteger)
    declared_on: Mapped[dt.date | None] = mapped_column(Date)
    paid_on: Mapped[dt.date | None] = mapped_column(Date)
    tax_reference: Mapped[str] = mapped_column(String(64), unique=True)
    exchange_message_id: Mapped[int | None] = mapped_column(ForeignKey("exchange_messages.id"))
    imported_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))

    platform = relationship("Platform", lazy="joined")
    __table_args__ = (CheckConstraint("paid_fen >= 0", name="paid_non_negative"),)


class Reconciliation(IdMixin, Base):
    """`Reconciliation` — 对账结果: one platform and order month, as of ``reconciled_at``: orders in
    the ledger (all statuses, billable) against orders declared, the amount due against what was
    declared and paid at the tax bureau."""

    __tablename__ = "premium_reconciliations"
    platform_id: Mapped[int] = mapped_column(ForeignKey("platforms.id"), index=True)
    month: Mapped[str] = mapped_column(String(7), index=True)
    orders_reported: Mapped[int] = mapped_column(BigInteger)
    orders_billable: Mapped[int] = mapped_column(BigInteger)
    orders_declared: Mapped[int] = mapped_column(BigInteger)
    due_fen: Mapped[int] = mapped_column(BigInteger)
    tax_declared_fen: Mapped[int] = mapped_column(BigInteger)
    paid_fen: Mapped[int] = mapped_column(BigInteger)
    owed_fen: Mapped[int] = mapped_column(BigInteger)
    due_date: Mapped[dt.date | None] = mapped_column(Date)
    last_paid_on: Mapped[dt.date | None] = mapped_column(Date)
    reconciled_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))

    platform = relationship("Platform", lazy="joined")
    __table_args__ = (UniqueConstraint("platform_id", "month"),)


FLAG_NAMES = {
    "order_mismatch": "订单数与申报数不一致",
    "declared_mismatch": "申报金额与核定金额不一致",
    "arrears": "欠费",
    "late": "逾期缴费",
    "overpaid": "多缴",
}
FLAG_STATUSES = {"open": "待处理", "handled": "已处理", "resolved": "已消除"}


class ReconciliationFlag(IdMixin, Base):
    """`ReconciliationFlag` — 对账差异: a difference found for a platform and month (one row per
    kind, see FLAG_NAMES). ``status``: open, handled (an officer recorded what was done), resolved
    (the next reconciliation no longer finds it). A resolved flag reopens if the difference returns."""

    __tablename__ = "premium_flags"
    platform_id: Mapped[int] = mapped_column(ForeignKey("platforms.id"), index=True)
    month: Mapped[str] = mapped_column(String(7), index=True)
    kind: Mapped[str] = mapped_column(String(24))
    status: Mapped[str] = mapped_column(String(16), index=True)
    detail: Mapped[str] = mapped_column(Text)
    amount_fen: Mapped[int | None] = mapped_column(BigInteger)
    opened_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    resolved_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    handled_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    handled_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    note: Mapped[str] = mapped_column(Text, default="")

    platform = relationship("Platform", lazy="joined")
    __table_args__ = (UniqueConstraint("platform_id", "month", "kind"),)


class PlatformYearExperience(IdMixin, Base):
    """`PlatformYearExperience` — 平台企业年度赔付与伤害情况（人工录入）: an officer's override of the
    figures of a platform's year for the yearly float (claims paid, confirmed injuries, average
    insured workers), which otherwise come from the data (oip.premiums.float_figures).
    ``source`` is ``override``; ``reason`` (mandatory) says why the data is not used. Audited."""

    __tablename__ = "platform_year_experience"
    platform_id: Mapped[int] = mapped_column(ForeignKey("platforms.id"), index=True)
    year: Mapped[int] = mapped_column(Integer)
    claims_fen: Mapped[int] = mapped_column(BigInteger)
    injuries: Mapped[int] = mapped_column(Integer)
    insured_avg: Mapped[int] = mapped_column(Integer)
    source: Mapped[str] = mapped_column(Text)
    reason: Mapped[str] = mapped_column(Text, default="", server_default="")
    entered_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    entered_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    __table_args__ = (
        UniqueConstraint("platform_id", "year"),
        CheckConstraint("claims_fen >= 0 AND injuries >= 0 AND insured_avg >= 0", name="non_negative"),
    )


PROPOSAL_STATUSES = {"proposed": "待审核", "approved": "已核定", "rejected": "已退回"}


class FloatProposal(IdMixin, Base):
    """`FloatProposal` — 费率浮动档次测算: the k the rules propose for a platform and year, with the
    inputs and the rules' version that produced it; an officer approves it (possibly with another
    k and a reason), which sets the platform's float from 1 January of ``year``."""

    __tablename__ = "float_proposals"
    platform_id: Mapped[int] = mapped_column(ForeignKey("platforms.id"), index=True)
    year: Mapped[int] = mapped_column(Integer)
    inputs: Mapped[dict[str, Any]] = mapped_column(JSONB)
    proposed_k: Mapped[int] = mapped_column(SmallInteger)
    reasons: Mapped[list[str]] = mapped_column(JSONB)
    rule_version: Mapped[str] = mapped_column(String(96))
    status: Mapped[str] = mapped_column(String(16))
    proposed_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    proposed_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    decided_k: Mapped[int | None] = mapped_column(SmallInteger)
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    decision_reason: Mapped[str] = mapped_column(Text, default="")

    platform = relationship("Platform", lazy="joined")
    __table_args__ = (
        UniqueConstraint("platform_id", "year"),
        CheckConstraint("proposed_k BETWEEN -5 AND 5", name="k_range"),
    )
