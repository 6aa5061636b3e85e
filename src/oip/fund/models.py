"""The tables of the fund (基金): the chart of accounts, the ledger and its periods, budgets and final
accounts, quarterly cash-use plans, supervision and the yearly disclosure.

The occupational-injury money is accounted inside the work-injury insurance fund under its own
subjects (seed 二(三)). Amounts are integer fen. Every ledger line carries the city it belongs to
(``city_code``, e.g. ``450100``; ``450000`` is the autonomous region itself, where the pooled fund's
fiscal special account is).

Only oip.fund's services write these tables; other domains tell the fund what happened through
domain events (oip.core.events), which oip.fund.posting turns into entries. Posted entries and
their lines never change, and a closed period takes no entries: triggers of migration 0019 refuse
it in the database itself.
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
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from oip.core.db import Base, IdMixin


class Subject(IdMixin, Base):
    """`Subject` — 会计科目: one account of the chart, effective-dated (``valid_from`` …
    ``valid_to``, None = open). ``kind``: asset (资产), liability (负债), net (基金结余), income
    (收入), expense (支出); ``side`` is its normal balance (debit or credit). ``item`` ties an
    expenditure sub-subject to a benefit item (oip.benefits.calc.ITEMS). ``parent_code`` groups
    sub-subjects under their subject (510101 under 5101)."""

    __tablename__ = "fund_subjects"
    code: Mapped[str] = mapped_column(String(16), index=True)
    name: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16))
    side: Mapped[str] = mapped_column(String(8))
    parent_code: Mapped[str | None] = mapped_column(String(16))
    item: Mapped[str | None] = mapped_column(String(32))
    valid_from: Mapped[dt.date] = mapped_column(Date)
    valid_to: Mapped[dt.date | None] = mapped_column(Date)
    note: Mapped[str] = mapped_column(Text, default="")
    __table_args__ = (
        UniqueConstraint("code", "valid_from"),
        CheckConstraint("kind IN ('asset', 'liability', 'net', 'income', 'expense')", name="kind"),
        CheckConstraint("side IN ('debit', 'credit')", name="side"),
    )


class Period(Base):
    """`Period` — 会计期间: a month (``YYYY-MM``). ``status`` open → closed (结账, by ``closed_by``,
    with the period's totals in ``totals``); a closed period takes no entries (trigger)."""

    __tablename__ = "fund_periods"
    month: Mapped[str] = mapped_column(String(7), primary_key=True)
    status: Mapped[str] = mapped_column(String(8), default="open")
    closed_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    closed_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    totals: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    __table_args__ = (CheckConstraint("status IN ('open', 'closed')", name="status"),)


class Entry(IdMixin, Base):
    """`Entry` — 记账凭证: a balanced journal entry. ``kind``: premium (保费到账), interest (利息),
    allocation (拨付支出户), payment (待遇支出), reversal_payment (退汇冲回), manual (手工凭证),
    reversal (红字冲销 of ``reverses_id``). ``source_type``/``source_id``/``source_ref`` trace it to
    what it records (a tax return, a payment batch, a cash plan, an interest voucher); the domain events it was
    posted from point to it through ``EventReceipt`` (an event is posted once).

    ``status``: a manual entry is draft → submitted → posted (checked by another user than
    ``made_by``) or rejected; generated entries are posted at once. Posted entries never change."""

    __tablename__ = "fund_entries"
    number: Mapped[str | None] = mapped_column(String(32), unique=True)
    period: Mapped[str] = mapped_column(String(7), index=True)
    entry_date: Mapped[dt.date] = mapped_column(Date)
    kind: Mapped[str] = mapped_column(String(24), index=True)
    status: Mapped[str] = mapped_column(String(12), index=True)
    summary: Mapped[str] = mapped_column(Text)
    source_type: Mapped[str | None] = mapped_column(String(32))
    source_id: Mapped[int | None] = mapped_column(BigInteger)
    source_ref: Mapped[str] = mapped_column(String(128), default="")
    reverses_id: Mapped[int | None] = mapped_column(ForeignKey("fund_entries.id"), unique=True)
    total_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    made_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    made_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    checked_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    checked_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    posted_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    note: Mapped[str] = mapped_column(Text, default="")
    __table_args__ = (
        CheckConstraint("status IN ('draft', 'submitted', 'posted', 'rejected')", name="status"),
        Index("ix_fund_entries_source", "source_type", "source_id"),
    )


class EntryLine(IdMixin, Base):
    """`EntryLine` — 分录: one side of an entry: a subject, a city, a debit or a credit (one of them
    zero, the other positive)."""

    __tablename__ = "fund_entry_lines"
    entry_id: Mapped[int] = mapped_column(ForeignKey("fund_entries.id", ondelete="CASCADE"), index=True)
    line_no: Mapped[int] = mapped_column(SmallInteger)
    subject_code: Mapped[str] = mapped_column(String(16))
    city_code: Mapped[str] = mapped_column(String(12))
    debit_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    credit_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    period: Mapped[str] = mapped_column(String(7))
    posted: Mapped[bool] = mapped_column(Boolean, default=False)
    summary: Mapped[str] = mapped_column(Text, default="")
    __table_args__ = (
        CheckConstraint("debit_fen >= 0 AND credit_fen >= 0 AND (debit_fen = 0) <> (credit_fen = 0)", name="one_side"),
        Index("ix_fund_entry_lines_tb", "period", "subject_code", "city_code"),
    )


class EventReceipt(Base):
    """`EventReceipt` — 事件入账记录: the fund handled this domain event (``entry_id``: the entry it
    made; None with ``note`` when it needed none)."""

    __tablename__ = "fund_event_receipts"
    event_id: Mapped[int] = mapped_column(ForeignKey("domain_events.id"), primary_key=True)
    entry_id: Mapped[int | None] = mapped_column(ForeignKey("fund_entries.id"))
    note: Mapped[str] = mapped_column(Text, default="")
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class InterestVoucher(IdMixin, Base):
    """`InterestVoucher` — 利息分摊凭据: interest the fiscal special account earned for the whole
    work-injury fund in a period, and the share apportioned to the occupational-injury money by
    its average balance (``oi_balance_fen`` / ``fund_balance_fen``)."""

    __tablename__ = "fund_interest_vouchers"
    month: Mapped[str] = mapped_column(String(7), index=True)
    received_on: Mapped[dt.date] = mapped_column(Date)
    bank_ref: Mapped[str] = mapped_column(String(64), unique=True)
    fund_interest_fen: Mapped[int] = mapped_column(BigInteger)
    fund_balance_fen: Mapped[int] = mapped_column(BigInteger)
    oi_balance_fen: Mapped[int] = mapped_column(BigInteger)
    apportioned_fen: Mapped[int] = mapped_column(BigInteger)
    entry_id: Mapped[int | None] = mapped_column(ForeignKey("fund_entries.id"))
    made_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    made_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class Budget(IdMixin, Base):
    """`Budget` — 职业伤害保障资金收支预算: one version of a year's budget. ``status``: draft →
    submitted (by the social insurance centre) → reviewed (finance) → approved; or returned (退回,
    back to draft with a reason). An adjustment (预算调整) is a new version (``basis`` adjustment)
    of an approved budget; the approved version with the highest number is in force."""

    __tablename__ = "fund_budgets"
    year: Mapped[int] = mapped_column(Integer, index=True)
    version: Mapped[int] = mapped_column(Integer)
    basis: Mapped[str] = mapped_column(String(16), default="original")
    status: Mapped[str] = mapped_column(String(12), index=True)
    income_forecast_fen: Mapped[int | None] = mapped_column(BigInteger)
    forecast_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    forecast_note: Mapped[str] = mapped_column(Text, default="")
    made_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    made_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    submitted_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    reviewed_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    reviewed_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    approved_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    approved_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    note: Mapped[str] = mapped_column(Text, default="")
    __table_args__ = (
        UniqueConstraint("year", "version"),
        CheckConstraint("status IN ('draft', 'submitted', 'reviewed', 'approved', 'returned')", name="status"),
    )


class BudgetLine(IdMixin, Base):
    """`BudgetLine` — 预算明细: the year's amount for one subject in one city."""

    __tablename__ = "fund_budget_lines"
    budget_id: Mapped[int] = mapped_column(ForeignKey("fund_budgets.id", ondelete="CASCADE"), index=True)
    subject_code: Mapped[str] = mapped_column(String(16))
    city_code: Mapped[str] = mapped_column(String(12))
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    basis: Mapped[str] = mapped_column(Text, default="")
    __table_args__ = (
        UniqueConstraint("budget_id", "subject_code", "city_code"),
        CheckConstraint("amount_fen >= 0", name="amount"),
    )


class FinalAccount(IdMixin, Base):
    """`FinalAccount` — 决算: a year's final accounts, drawn from the closed ledger. ``statements``
    keeps the income-and-expenditure statement and the balance sheet as drawn; ``status`` draft →
    submitted → approved (finance), or returned by finance (``note`` says why) to be redrawn or
    resubmitted."""

    __tablename__ = "fund_final_accounts"
    year: Mapped[int] = mapped_column(Integer, unique=True)
    status: Mapped[str] = mapped_column(String(12))
    statements: Mapped[dict[str, Any]] = mapped_column(JSONB)
    made_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    made_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    approved_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    approved_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    note: Mapped[str] = mapped_column(Text, default="")
    __table_args__ = (CheckConstraint("status IN ('draft', 'submitted', 'returned', 'approved')", name="status"),)


class CashPlan(IdMixin, Base):
    """`CashPlan` — 季度用款计划: a city's plan for a quarter of what it will pay from the fund,
    occupational-injury needs included. ``forecast_fen`` is the system's pre-filled forecast
    (case pipeline + monthly benefit schedules, see ``lines``), ``requested_fen`` what the city asks.
    ``status``: draft → submitted → approved (by the region, ``approved_fen``) → allocated (the
    region's finance records ``allocated_fen`` moved to the city's expenditure account, posted to
    the ledger) ; or returned."""

    __tablename__ = "fund_cash_plans"
    city_code: Mapped[str] = mapped_column(ForeignKey("regions.code"), index=True)
    year: Mapped[int] = mapped_column(Integer)
    quarter: Mapped[int] = mapped_column(SmallInteger)
    status: Mapped[str] = mapped_column(String(12), index=True)
    forecast_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    requested_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    approved_fen: Mapped[int | None] = mapped_column(BigInteger)
    allocated_fen: Mapped[int | None] = mapped_column(BigInteger)
    allocated_on: Mapped[dt.date | None] = mapped_column(Date)
    entry_id: Mapped[int | None] = mapped_column(ForeignKey("fund_entries.id"))
    made_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    made_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    submitted_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    reviewed_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    reviewed_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    allocated_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    note: Mapped[str] = mapped_column(Text, default="")
    __table_args__ = (
        UniqueConstraint("city_code", "year", "quarter"),
        CheckConstraint("quarter BETWEEN 1 AND 4", name="quarter"),
        CheckConstraint("status IN ('draft', 'submitted', 'approved', 'allocated', 'returned')", name="status"),
    )


class CashPlanLine(IdMixin, Base):
    """`CashPlanLine` — 用款计划明细: one benefit item's forecast (with how it was reckoned) and the
    amount requested."""

    __tablename__ = "fund_cash_plan_lines"
    plan_id: Mapped[int] = mapped_column(ForeignKey("fund_cash_plans.id", ondelete="CASCADE"), index=True)
    item: Mapped[str] = mapped_column(String(32))
    forecast_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    requested_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    basis: Mapped[str] = mapped_column(Text, default="")
    __table_args__ = (UniqueConstraint("plan_id", "item"),)


class Campaign(IdMixin, Base):
    """`Campaign` — 基金监督检查: a supervision campaign. ``kind``: self_check (风险自查),
    suspicious (疑点核查), cross_check (交叉互查). ``status`` open → closed (every task closed)."""

    __tablename__ = "fund_campaigns"
    kind: Mapped[str] = mapped_column(String(16))
    title: Mapped[str] = mapped_column(String(128))
    scope_note: Mapped[str] = mapped_column(Text, default="")
    due_on: Mapped[dt.date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(8), index=True)
    made_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    made_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    closed_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    __table_args__ = (
        CheckConstraint("kind IN ('self_check', 'suspicious', 'cross_check')", name="kind"),
        CheckConstraint("status IN ('open', 'closed')", name="status"),
    )


class CampaignTask(IdMixin, Base):
    """`CampaignTask` — 检查任务: one city checked (``city_code``) by a checker (``checker_code``: the
    city itself for a self-check, another city for a cross-check, the region for suspicious data).
    ``status``: assigned → reported (findings in) → closed (every finding closed)."""

    __tablename__ = "fund_campaign_tasks"
    campaign_id: Mapped[int] = mapped_column(ForeignKey("fund_campaigns.id", ondelete="CASCADE"), index=True)
    city_code: Mapped[str] = mapped_column(ForeignKey("regions.code"), index=True)
    checker_code: Mapped[str] = mapped_column(ForeignKey("regions.code"), index=True)
    status: Mapped[str] = mapped_column(String(12))
    report: Mapped[str] = mapped_column(Text, default="")
    reported_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    reported_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    closed_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    __table_args__ = (CheckConstraint("status IN ('assigned', 'reported', 'closed')", name="status"),)


class Finding(IdMixin, Base):
    """`Finding` — 检查发现问题: a problem found by a task, with the money involved, the
    rectification asked by ``rectify_by`` and what was done. ``status``: open → rectified (the
    checked city reports what it did) → closed (the checker verifies: 销号) ; or reopened."""

    __tablename__ = "fund_findings"
    task_id: Mapped[int] = mapped_column(ForeignKey("fund_campaign_tasks.id", ondelete="CASCADE"), index=True)
    description: Mapped[str] = mapped_column(Text)
    severity: Mapped[str] = mapped_column(String(8))
    amount_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    rectify_by: Mapped[dt.date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(12), index=True)
    rectification: Mapped[str] = mapped_column(Text, default="")
    rectified_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    closed_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    made_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    made_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    __table_args__ = (
        CheckConstraint("severity IN ('low', 'medium', 'high')", name="severity"),
        CheckConstraint("status IN ('open', 'rectified', 'closed')", name="status"),
    )


class MajorReport(IdMixin, Base):
    """`MajorReport` — 要情报告: a major situation (fund loss, fraud, a large incident) reported by a
    city to the region. ``due_at`` is the deadline from ``occurred_at`` (a parameter);
    ``status``: submitted → acknowledged (the region) → closed (handled, with what was done)."""

    __tablename__ = "fund_major_reports"
    region_code: Mapped[str] = mapped_column(ForeignKey("regions.code"), index=True)
    category: Mapped[str] = mapped_column(String(24))
    title: Mapped[str] = mapped_column(String(128))
    content: Mapped[str] = mapped_column(Text)
    amount_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    occurred_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    due_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    reported_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    reported_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    late: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(16), index=True)
    acknowledged_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    acknowledged_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    outcome: Mapped[str] = mapped_column(Text, default="")
    closed_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    __table_args__ = (CheckConstraint("status IN ('submitted', 'acknowledged', 'closed')", name="status"),)


class Disclosure(IdMixin, Base):
    """`Disclosure` — 年度信息公开: the figures of a year published to the public (aggregated, cells
    under the threshold suppressed when drawn), as published by ``published_by``."""

    __tablename__ = "fund_disclosures"
    year: Mapped[int] = mapped_column(Integer, unique=True)
    figures: Mapped[dict[str, Any]] = mapped_column(JSONB)
    threshold: Mapped[int] = mapped_column(Integer)
    published_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    published_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
