"""The tables of payment (支付): payee bank accounts, payment batches and their lines, the files
exchanged with the bank, and reversals.

A payment line pays one payable (oip.benefits.models.Payable) once: its ``idempotency_key`` is what
the bank sees, and a partial unique index allows at most one line per payable that is not failed
or reversed — so a re-sent batch, a re-imported result or a crash between sending and recording
can never produce a second payment.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from oip.core.db import Base, IdMixin


class PayeeAccount(IdMixin, Base):
    """`PayeeAccount` — 收款账户: the bank card a worker's (``person_id``) or a dependant's
    (``dependant_id``) benefits go to. The card number is Luhn-checked, encrypted (context
    ``payee.card``) with a blind index and a masked copy (``6222 **** **** 1234``). An account is
    never edited: a change ends the old one (``valid_to``) and starts a new one, with a reason."""

    __tablename__ = "payee_accounts"
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"), index=True)
    person_id: Mapped[int | None] = mapped_column(ForeignKey("persons.id"), index=True)
    dependant_id: Mapped[int | None] = mapped_column(ForeignKey("benefit_dependants.id"), index=True)
    holder_name: Mapped[str] = mapped_column(String(64))
    bank_name: Mapped[str] = mapped_column(String(64))
    card_enc: Mapped[bytes] = mapped_column(LargeBinary)
    card_bidx: Mapped[bytes] = mapped_column(LargeBinary, index=True)
    card_masked: Mapped[str] = mapped_column(String(32))
    valid_from: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    valid_to: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    reason: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    __table_args__ = (CheckConstraint("(person_id IS NULL) <> (dependant_id IS NULL)", name="one_payee"),)


class PaymentBatch(IdMixin, Base):
    """`PaymentBatch` — 支付批次: payables gathered for the bank. ``status``: draft → approved (by
    somebody other than ``made_by``, within the approver's limit) → sent (the signed file is made and
    delivered; ``file_sha256``) → settled (every line has a result). ``region_code`` is the paying
    agency's region."""

    __tablename__ = "payment_batches"
    number: Mapped[str] = mapped_column(String(32), unique=True)
    region_code: Mapped[str] = mapped_column(ForeignKey("regions.code"), index=True)
    status: Mapped[str] = mapped_column(String(16), index=True)
    line_count: Mapped[int] = mapped_column(Integer, default=0)
    total_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    made_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    made_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    approved_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    approved_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    sent_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    send_attempts: Mapped[int] = mapped_column(Integer, default=0)
    file_name: Mapped[str | None] = mapped_column(String(128))
    file_sha256: Mapped[str | None] = mapped_column(String(64))
    file_content: Mapped[bytes | None] = mapped_column(LargeBinary, deferred=True)
    settled_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    note: Mapped[str] = mapped_column(Text, default="")
    __table_args__ = (
        CheckConstraint("status IN ('draft', 'approved', 'sent', 'settled', 'cancelled')", name="status"),
    )


class PaymentLine(IdMixin, Base):
    """`PaymentLine` — 支付明细: one payable in one batch, to one account. ``idempotency_key`` is
    sent to the bank (``<payable key>#<attempt>``). ``status``: pending (in a batch not yet sent) →
    sent → paid | failed (``failure_code``/``failure_reason`` from the bank: the payable goes back on
    the worklist) ; a paid line may later be ``reversed`` (退汇, with reason). At most one line per
    payable is pending, sent or paid (``uq_payment_lines_live``)."""

    __tablename__ = "payment_lines"
    batch_id: Mapped[int] = mapped_column(ForeignKey("payment_batches.id"), index=True)
    payable_id: Mapped[int] = mapped_column(ForeignKey("benefit_payables.id"), index=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("payee_accounts.id"))
    attempt: Mapped[int] = mapped_column(Integer, default=1)
    idempotency_key: Mapped[str] = mapped_column(String(112), unique=True)
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(16), index=True)
    bank_ref: Mapped[str | None] = mapped_column(String(64))
    result_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    paid_on: Mapped[dt.date | None] = mapped_column(Date)
    failure_code: Mapped[str | None] = mapped_column(String(16))
    failure_reason: Mapped[str | None] = mapped_column(Text)
    reversed_on: Mapped[dt.date | None] = mapped_column(Date)
    reversal_reason: Mapped[str | None] = mapped_column(Text)
    __table_args__ = (
        CheckConstraint("amount_fen > 0", name="amount"),
        CheckConstraint("status IN ('pending', 'sent', 'paid', 'failed', 'reversed')", name="status"),
        Index(
            "uq_payment_lines_live",
            "payable_id",
            unique=True,
            postgresql_where="status IN ('pending', 'sent', 'paid')",
        ),
    )


class BankFile(IdMixin, Base):
    """`BankFile` — 银行文件: every file exchanged with the bank, in or out, with its signature check
    and counts (received = applied + ignored as already recorded + rejected). A result file imported
    twice is recognised by its SHA-256 and changes nothing the second time."""

    __tablename__ = "payment_bank_files"
    direction: Mapped[str] = mapped_column(String(8))  # out | in
    batch_id: Mapped[int | None] = mapped_column(ForeignKey("payment_batches.id"), index=True)
    file_name: Mapped[str] = mapped_column(String(128))
    sha256: Mapped[str] = mapped_column(String(64))
    signature_ok: Mapped[bool | None] = mapped_column()
    received: Mapped[int] = mapped_column(Integer, default=0)
    applied: Mapped[int] = mapped_column(Integer, default=0)
    duplicates: Mapped[int] = mapped_column(Integer, default=0)
    rejected: Mapped[int] = mapped_column(Integer, default=0)
    problems: Mapped[str] = mapped_column(Text, default="")
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    __table_args__ = (
        Index("ix_payment_bank_files_in_sha", "sha256", unique=True, postgresql_where="direction = 'in'"),
    )
