"""The tables of benefits (待遇): determinations and their lines, dependants, claims and their bills,
monthly benefits with their rates and eligibility confirmations, and what is owed (payables).

Everything hangs off the case (``case_id``). Money is integer fen. A determination is versioned: a
new version supersedes the one before (``chain_id`` is the first version's id, so every version of
one determination shares it). A payable is one amount owed to one payee for one determination line
(and, for a monthly item, one month); the payments domain pays it, and a payable is paid once.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from oip.core.db import Base, IdMixin


class Dependant(IdMixin, Base):
    """`Dependant` — 供养亲属: a person the deceased (or missing) worker supported, who may draw a
    dependants' pension (供养亲属抚恤金). ``relation``: spouse | child | parent | other. The ID
    number is encrypted (context ``dependant.id_number``) with a masked copy for screens. A pension
    stops on ``died_on``, and for a child on the 18th birthday unless in school (``school_until``)."""

    __tablename__ = "benefit_dependants"
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    name: Mapped[str] = mapped_column(String(64))
    relation: Mapped[str] = mapped_column(String(16))
    orphan_or_lone_elderly: Mapped[bool] = mapped_column(Boolean, default=False)
    birth_date: Mapped[dt.date] = mapped_column(Date)
    id_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    id_masked: Mapped[str | None] = mapped_column(String(18))
    phone_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    phone_masked: Mapped[str | None] = mapped_column(String(11))
    school_until: Mapped[dt.date | None] = mapped_column(Date)  # a child in school past 18
    died_on: Mapped[dt.date | None] = mapped_column(Date)
    note: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    __table_args__ = (CheckConstraint("relation IN ('spouse', 'child', 'parent', 'other')", name="relation"),)


class Determination(IdMixin, Base):
    """`Determination` — 待遇核定 (``purpose='benefits'``) or 费用核定 of one claim
    (``purpose='claim'``): the calculator's proposal, the officer's adjustments, and the approval.

    ``status``: draft → submitted → approved | returned (back to draft with the checker's reason);
    an approved version is ``superseded`` when a later version of the same chain is approved.
    ``inputs`` are the calculator's inputs as used (event date, region, kind, grade, self-care,
    dependants, bills, hospital days). ``made_by`` calculated and submitted it; ``approved_by`` must be
    somebody else (maker-checker) whose role's limit covers ``total_once_fen`` (+ 12 × monthly)."""

    __tablename__ = "benefit_determinations"
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    purpose: Mapped[str] = mapped_column(String(16), default="benefits")  # benefits | claim
    claim_id: Mapped[int | None] = mapped_column(ForeignKey("benefit_claims.id"), index=True)
    chain_id: Mapped[int | None] = mapped_column(BigInteger, index=True)  # the first version's id
    version: Mapped[int] = mapped_column(Integer, default=1)
    supersedes_id: Mapped[int | None] = mapped_column(ForeignKey("benefit_determinations.id"))
    status: Mapped[str] = mapped_column(String(16), index=True)
    event_date: Mapped[dt.date] = mapped_column(Date)
    region_code: Mapped[str] = mapped_column(ForeignKey("regions.code"))
    kind: Mapped[str] = mapped_column(String(16))  # injury | death | missing
    inputs: Mapped[dict[str, Any]] = mapped_column(JSONB)
    total_once_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    total_monthly_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    note: Mapped[str] = mapped_column(Text, default="")
    made_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    made_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    submitted_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    approved_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    approved_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    approved_on: Mapped[dt.date | None] = mapped_column(Date)
    review_note: Mapped[str] = mapped_column(Text, default="")  # the checker's note (or reason to return)
    letter_id: Mapped[int | None] = mapped_column(ForeignKey("case_letters.id"))
    version_lock: Mapped[int] = mapped_column(Integer, default=1)  # optimistic lock for forms
    __table_args__ = (
        UniqueConstraint("chain_id", "version"),
        CheckConstraint("purpose IN ('benefits', 'claim')", name="purpose"),
        CheckConstraint(
            "status IN ('draft', 'submitted', 'approved', 'returned', 'superseded', 'cancelled')", name="status"
        ),
    )


class DeterminationLine(IdMixin, Base):
    """`DeterminationLine` — 核定明细: one item of a determination (``item`` as the calculator names
    it: medical, meal_subsidy, devices, disability_once, disability_monthly, nursing, funeral,
    dependants, death_once, death_once_advance). ``proposed_fen`` is the calculator's,
    ``amount_fen`` the determined amount; they differ only with ``adjust_reason``. ``monthly`` lines
    are amounts per month (a monthly benefit starts from ``starts_on``). ``formula`` says in words how
    the amount was reached; ``parameters`` lists the parameter versions used (key@valid_from[/region]).
    A dependants' pension has one line per dependant (``dependant_id``)."""

    __tablename__ = "benefit_determination_lines"
    determination_id: Mapped[int] = mapped_column(ForeignKey("benefit_determinations.id"), index=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    item: Mapped[str] = mapped_column(String(32))
    monthly: Mapped[bool] = mapped_column(Boolean, default=False)
    proposed_fen: Mapped[int] = mapped_column(BigInteger)
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    adjust_reason: Mapped[str | None] = mapped_column(Text)
    formula: Mapped[str] = mapped_column(Text)
    parameters: Mapped[list[str]] = mapped_column(JSONB, default=list)
    detail: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)  # e.g. excluded bills, months
    dependant_id: Mapped[int | None] = mapped_column(ForeignKey("benefit_dependants.id"))
    starts_on: Mapped[dt.date | None] = mapped_column(Date)  # monthly lines: first month's day
    payer: Mapped[str] = mapped_column(String(16), default="fund")  # fund | platform


class Claim(IdMixin, Base):
    """`Claim` — 费用申报: one batch of bills (medical, rehabilitation, meals in hospital, assistive
    devices) handed in for a case. Several claims per case, over time. ``fast_lane`` marks a 小伤快赔
    claim, with its own clock: ``confirm_due`` (2 working days) and ``pay_due`` (5 working days).
    ``status``: received → checked (a claim determination is drafted) → approved | rejected;
    ``fast_lane_left_reason`` says why a claim moved to the normal path (everything is kept)."""

    __tablename__ = "benefit_claims"
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    number: Mapped[str] = mapped_column(String(32), unique=True)
    received_on: Mapped[dt.date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16), index=True)
    hospital_days: Mapped[int] = mapped_column(Integer, default=0)
    claimed_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    accepted_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    fast_lane: Mapped[bool] = mapped_column(Boolean, default=False, index=True)
    confirm_due: Mapped[dt.date | None] = mapped_column(Date)
    pay_due: Mapped[dt.date | None] = mapped_column(Date)
    fast_lane_left_on: Mapped[dt.date | None] = mapped_column(Date)
    fast_lane_left_reason: Mapped[str | None] = mapped_column(Text)
    documents: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, default=list)  # [{requirement, document_id}]
    note: Mapped[str] = mapped_column(Text, default="")
    rejected_reason: Mapped[str | None] = mapped_column(Text)
    received_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    version: Mapped[int] = mapped_column(Integer, default=1)
    __table_args__ = (CheckConstraint("status IN ('received', 'checked', 'approved', 'rejected')", name="status"),)


class Bill(IdMixin, Base):
    """`Bill` — 票据明细: one receipt of a claim. ``receipt_no`` is unique across all claims and cases
    (a receipt is reimbursed once); ``in_catalogue`` False excludes it with ``excluded_reason``."""

    __tablename__ = "benefit_bills"
    claim_id: Mapped[int] = mapped_column(ForeignKey("benefit_claims.id"), index=True)
    receipt_no: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(16), default="medical")  # medical | rehab | devices
    provider: Mapped[str] = mapped_column(String(128))
    issued_on: Mapped[dt.date] = mapped_column(Date)
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    in_catalogue: Mapped[bool] = mapped_column(Boolean, default=True)
    inpatient: Mapped[bool] = mapped_column(Boolean, default=False)
    excluded_reason: Mapped[str | None] = mapped_column(Text)
    __table_args__ = (CheckConstraint("amount_fen >= 0", name="amount"),)


class MonthlyBenefit(IdMixin, Base):
    """`MonthlyBenefit` — 定期待遇: one monthly item for one recipient (the worker, or a dependant),
    from an approved determination line. ``status``: active | paused (eligibility not confirmed in
    time: nothing is paid, arrears follow on confirmation) | stopped (on ``stopped_on`` with
    ``stop_reason``: death, a child turning 18 or leaving school, refusal of review or treatment).
    ``paid_through`` is the last month with a payable. Its rate over time is ``MonthlyRate``."""

    __tablename__ = "benefit_monthly"
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    line_id: Mapped[int] = mapped_column(ForeignKey("benefit_determination_lines.id"), index=True)
    item: Mapped[str] = mapped_column(String(32))
    person_id: Mapped[int | None] = mapped_column(ForeignKey("persons.id"))
    dependant_id: Mapped[int | None] = mapped_column(ForeignKey("benefit_dependants.id"))
    region_code: Mapped[str] = mapped_column(ForeignKey("regions.code"))
    starts_on: Mapped[dt.date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16), index=True, default="active")
    stopped_on: Mapped[dt.date | None] = mapped_column(Date)
    stop_reason: Mapped[str | None] = mapped_column(Text)
    paused_on: Mapped[dt.date | None] = mapped_column(Date)
    paid_through: Mapped[dt.date | None] = mapped_column(Date)  # first day of the last month owed
    eligibility_due: Mapped[dt.date | None] = mapped_column(Date, index=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    __table_args__ = (CheckConstraint("status IN ('active', 'paused', 'stopped')", name="status"),)


class MonthlyRate(IdMixin, Base):
    """`MonthlyRate` — 定期待遇标准: the monthly amount of a monthly benefit from a month on, with why
    (the determination, or a re-rating 调整 after a parameter change) and the formula."""

    __tablename__ = "benefit_monthly_rates"
    monthly_id: Mapped[int] = mapped_column(ForeignKey("benefit_monthly.id"), index=True)
    from_month: Mapped[dt.date] = mapped_column(Date)  # the first day of a month
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    reason: Mapped[str] = mapped_column(String(16))  # determination | adjustment
    formula: Mapped[str] = mapped_column(Text, default="")
    parameters: Mapped[list[str]] = mapped_column(JSONB, default=list)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    __table_args__ = (UniqueConstraint("monthly_id", "from_month"),)


class EligibilityConfirmation(IdMixin, Base):
    """`EligibilityConfirmation` — 领取待遇资格认证: a recipient of a monthly benefit confirmed alive
    and eligible on a day, by what means (face recognition in the portal, at a desk, by a visit)."""

    __tablename__ = "benefit_eligibility"
    monthly_id: Mapped[int] = mapped_column(ForeignKey("benefit_monthly.id"), index=True)
    confirmed_on: Mapped[dt.date] = mapped_column(Date)
    means: Mapped[str] = mapped_column(String(16))  # portal | desk | visit | data
    note: Mapped[str] = mapped_column(Text, default="")
    recorded_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    recorded_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class Payable(IdMixin, Base):
    """`Payable` — 应付明细: one amount owed to one payee, traced to its determination line and case.

    ``key`` is the idempotency key (e.g. ``line:812`` for a once item, ``monthly:33:2026-05`` for a
    month, ``arrears:33:2026-05:r2`` for a re-rating difference): the same thing is never owed twice.
    ``status``: due → batched (on a payment line) → paid; a failed payment puts it back to ``due``
    with ``failure_reason``; ``held`` (no payee account, a paused recipient) is not batched;
    ``cancelled`` (a superseded version's unpaid line) never pays. ``period`` is the month of a
    monthly item. The payee is the worker (``person_id``) or a dependant (``dependant_id``)."""

    __tablename__ = "benefit_payables"
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    line_id: Mapped[int] = mapped_column(ForeignKey("benefit_determination_lines.id"), index=True)
    monthly_id: Mapped[int | None] = mapped_column(ForeignKey("benefit_monthly.id"), index=True)
    claim_id: Mapped[int | None] = mapped_column(ForeignKey("benefit_claims.id"), index=True)
    item: Mapped[str] = mapped_column(String(32))
    kind: Mapped[str] = mapped_column(String(16), default="once")  # once | monthly | arrears
    period: Mapped[dt.date | None] = mapped_column(Date)
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    key: Mapped[str] = mapped_column(String(96), unique=True)
    person_id: Mapped[int | None] = mapped_column(ForeignKey("persons.id"), index=True)
    dependant_id: Mapped[int | None] = mapped_column(ForeignKey("benefit_dependants.id"))
    region_code: Mapped[str] = mapped_column(ForeignKey("regions.code"), index=True)
    status: Mapped[str] = mapped_column(String(16), index=True, default="due")
    due_on: Mapped[dt.date] = mapped_column(Date, index=True)
    failure_reason: Mapped[str | None] = mapped_column(Text)
    paid_on: Mapped[dt.date | None] = mapped_column(Date)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    __table_args__ = (
        CheckConstraint("amount_fen > 0", name="amount"),
        CheckConstraint("status IN ('due', 'held', 'batched', 'paid', 'cancelled')", name="status"),
        CheckConstraint("kind IN ('once', 'monthly', 'arrears')", name="kind"),
        Index("ix_benefit_payables_open", "region_code", "due_on", postgresql_where="status IN ('due', 'held')"),
    )
