"""The tables of the injury case: one case per injury event, everything else hangs off it."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    Numeric,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from oip.core.db import Base, IdMixin


class Case(IdMixin, Base):
    """`Case` — 职业伤害案件（一件事）: one injury event of one worker, from the report to the close.

    ``county_code`` is the place of injury, which fixes the jurisdiction (the county-level 人社
    office there) and the data scope of officers. ``state`` follows oip.cases.rules; ``state_before``
    is where a correction, a suspension, an appeal or a merge returns to. ``version`` grows with every
    change: a writer who sends the version it read gets a conflict when somebody changed the case
    in between. ``decision_due`` and ``next_due`` are kept by the service for the worklists."""

    __tablename__ = "cases"
    number: Mapped[str] = mapped_column(String(32), unique=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id"), index=True)
    platform_id: Mapped[int] = mapped_column(ForeignKey("platforms.id"), index=True)
    platform_account_id: Mapped[int] = mapped_column(ForeignKey("platform_accounts.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # injury | death | missing
    outpatient_only: Mapped[bool] = mapped_column(Boolean, default=False)
    occurred_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    county_code: Mapped[str] = mapped_column(ForeignKey("regions.code"), index=True)
    address: Mapped[str] = mapped_column(Text)
    lat: Mapped[Decimal | None] = mapped_column(Numeric(9, 6))
    lon: Mapped[Decimal | None] = mapped_column(Numeric(9, 6))
    order_id: Mapped[str | None] = mapped_column(String(64))
    description: Mapped[str] = mapped_column(Text)
    injuries: Mapped[str] = mapped_column(Text, default="")
    coverage: Mapped[dict[str, Any] | None] = mapped_column(JSONB)  # the coverage check at report time

    state: Mapped[str] = mapped_column(String(16), index=True)
    state_before: Mapped[str | None] = mapped_column(String(16))
    version: Mapped[int] = mapped_column(Integer, default=1)

    reported_on: Mapped[dt.date] = mapped_column(Date)
    applicant: Mapped[str | None] = mapped_column(String(16))  # platform | worker | relative | union
    applied_on: Mapped[dt.date | None] = mapped_column(Date)
    late_explanation: Mapped[str | None] = mapped_column(Text)
    received_on: Mapped[dt.date | None] = mapped_column(Date)
    accepted_on: Mapped[dt.date | None] = mapped_column(Date)
    simple: Mapped[bool] = mapped_column(Boolean, default=False)
    # The day the decision clock counts from: the acceptance day, or the day an appeal sent the case
    # back for a new decision.
    clock_from: Mapped[dt.date | None] = mapped_column(Date)
    decision_due: Mapped[dt.date | None] = mapped_column(Date, index=True)
    # The date the open state waits on (rules.WAITS_ON): for the worklists, kept by the service.
    next_due: Mapped[dt.date | None] = mapped_column(Date, index=True)
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    closed_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        Index("ix_cases_worklist", "state", "county_code", "next_due"),
        Index("ix_cases_person_occurred", "person_id", "occurred_at"),
    )


class CaseReport(IdMixin, Base):
    """`CaseReport` — 报案: one report as received (a platform's 一键报案, the worker portal, a phone,
    desk or paper report registered by staff). Two reports of one event end on one case (merge);
    ``first_case_id`` is the case the report opened, so a merge can be undone."""

    __tablename__ = "case_reports"
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    first_case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    channel: Mapped[str] = mapped_column(String(16))  # platform_api | worker_portal | phone | desk | paper
    reported_on: Mapped[dt.date] = mapped_column(Date)
    received_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    reported_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id"), index=True)
    occurred_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    facts: Mapped[dict[str, Any]] = mapped_column(JSONB)  # the report's fields as submitted


class CaseEvent(IdMixin, Base):
    """`CaseEvent` — 办理记录: one step on the case's timeline (who, when, what, from which state to
    which), with what it carried (``detail``)."""

    __tablename__ = "case_events"
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    on: Mapped[dt.date] = mapped_column(Date)  # the day the step took effect (a paper act's real date)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    actor_name: Mapped[str] = mapped_column(String(128))
    action: Mapped[str] = mapped_column(String(32))
    from_state: Mapped[str | None] = mapped_column(String(16))
    to_state: Mapped[str | None] = mapped_column(String(16))
    note: Mapped[str] = mapped_column(Text, default="")
    detail: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)


class CaseSuspension(IdMixin, Base):
    """`CaseSuspension` — 中止审查: the decision clock stands while the case waits for another
    authority's conclusion (``other_authority``, e.g. the traffic police's liability finding) or for
    the materials of a correction notice (``correction``). Inclusive days; ``ended_on`` None: still
    suspended."""

    __tablename__ = "case_suspensions"
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    reason_kind: Mapped[str] = mapped_column(String(16))  # other_authority | correction
    reason: Mapped[str] = mapped_column(Text)
    started_on: Mapped[dt.date] = mapped_column(Date)
    expected_until: Mapped[dt.date | None] = mapped_column(Date)
    ended_on: Mapped[dt.date | None] = mapped_column(Date)
    # other_authority: the authority whose conclusion the case waits on (公安机关交通管理部门 …) and
    # the conclusion received when the suspension ended (migration 0016).
    authority: Mapped[str | None] = mapped_column(String(128))
    end_note: Mapped[str | None] = mapped_column(Text)


class CaseDocument(IdMixin, Base):
    """`CaseDocument` — 申请材料: an uploaded file (PDF, JPEG, PNG; type checked by content), stored
    with its SHA-256 and never overwritten: a new version is a new row. ``requirement`` is the
    checklist item it answers (oip.cases.intake CHECKLISTS), ``task_id`` an insurer's evidence."""

    __tablename__ = "case_documents"
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    requirement: Mapped[str | None] = mapped_column(String(32))
    filename: Mapped[str] = mapped_column(String(256))
    content_type: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    content: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)
    source: Mapped[str] = mapped_column(String(16))  # applicant | platform | officer | insurer
    task_id: Mapped[int | None] = mapped_column(BigInteger)
    uploaded_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    uploaded_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class CorrectionNotice(IdMixin, Base):
    """`CorrectionNotice` — 一次性补正告知书: everything missing, listed once; while it is pending
    the clock stops (a ``CaseSuspension`` of kind ``correction``)."""

    __tablename__ = "case_correction_notices"
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    items: Mapped[list[dict[str, Any]]] = mapped_column(JSONB)  # [{requirement, name, note}]
    issued_on: Mapped[dt.date] = mapped_column(Date)
    due_on: Mapped[dt.date] = mapped_column(Date)
    fulfilled_on: Mapped[dt.date | None] = mapped_column(Date)
    issued_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class CaseCode(Base):
    """`CaseCode` — 认定情形与排除情形代码: the confirmable situations (domain.md §3 items 1–6), the
    exclusions and other reasons for not confirming, and reasons to refuse an application. Codes are
    data with a validity period."""

    __tablename__ = "case_codes"
    kind: Mapped[str] = mapped_column(String(16), primary_key=True)  # situation | exclusion | reason | refusal
    code: Mapped[str] = mapped_column(String(16), primary_key=True)
    name: Mapped[str] = mapped_column(Text)
    basis: Mapped[str] = mapped_column(Text, default="")
    valid_from: Mapped[dt.date] = mapped_column(Date)
    valid_to: Mapped[dt.date | None] = mapped_column(Date)


class Decision(IdMixin, Base):
    """`Decision` — 职业伤害确认结论: confirmed (予以确认) with a situation code, or not confirmed
    (不予确认) with an exclusion or reason code, and the reasoning. A decision overturned on appeal
    stays, marked ``overturned_on``; the new one gets the next ``round``."""

    __tablename__ = "case_decisions"
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    round: Mapped[int] = mapped_column(Integer, default=1)
    outcome: Mapped[str] = mapped_column(String(16))  # confirmed | not_confirmed
    code_kind: Mapped[str] = mapped_column(String(16))
    code: Mapped[str] = mapped_column(String(16))
    reasoning: Mapped[str] = mapped_column(Text)
    decided_on: Mapped[dt.date] = mapped_column(Date)
    due_on: Mapped[dt.date | None] = mapped_column(Date)
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    overturned_on: Mapped[dt.date | None] = mapped_column(Date)
    __table_args__ = (UniqueConstraint("case_id", "round"),)


class Appeal(IdMixin, Base):
    """`Appeal` — 行政复议 / 行政诉讼 against a decision (or a refusal to accept): filed, then upheld
    (维持), overturned (撤销, the case is examined again with a new decision due) or withdrawn."""

    __tablename__ = "case_appeals"
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    decision_id: Mapped[int | None] = mapped_column(ForeignKey("case_decisions.id"))
    kind: Mapped[str] = mapped_column(String(16))  # review (行政复议) | litigation (行政诉讼)
    body: Mapped[str] = mapped_column(String(128))  # the reviewing authority or the court
    filed_on: Mapped[dt.date] = mapped_column(Date)
    expected_on: Mapped[dt.date | None] = mapped_column(Date)
    outcome: Mapped[str] = mapped_column(String(16), default="pending")  # pending | upheld | overturned | withdrawn
    outcome_on: Mapped[dt.date | None] = mapped_column(Date)
    note: Mapped[str] = mapped_column(Text, default="")
    recorded_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # Filed after the statutory window, and accepted anyway (a court may): why (migration 0016).
    late_reason: Mapped[str | None] = mapped_column(Text)


class Letter(IdMixin, Base):
    """`Letter` — 文书: a letter of the case as PDF (受理通知书, 一次性补正告知书, 不予受理通知书,
    职业伤害确认结论书, 不予确认职业伤害结论书, 劳动能力鉴定结论书 …). Generated once per
    (case, kind, source) — the source is the row it speaks for (a decision, a notice) — stored with its
    SHA-256 and never regenerated; delivery (送达) is recorded on it."""

    __tablename__ = "case_letters"
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    source_id: Mapped[int] = mapped_column(BigInteger, default=0)
    number: Mapped[str] = mapped_column(String(64), unique=True)
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(Integer)
    content: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)
    issued_on: Mapped[dt.date] = mapped_column(Date)
    generated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    generated_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    served_on: Mapped[dt.date | None] = mapped_column(Date)
    served_means: Mapped[str | None] = mapped_column(String(16))
    served_note: Mapped[str | None] = mapped_column(Text)
    served_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    __table_args__ = (UniqueConstraint("case_id", "kind", "source_id"),)


class InvestigationTask(IdMixin, Base):
    """`InvestigationTask` — 调查核实任务: a case offered to the insurer contracted in its city. The
    insurer records findings, site visits, evidence and a recommendation; the decision stays with 人社."""

    __tablename__ = "case_investigations"
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    contract_id: Mapped[int | None] = mapped_column(BigInteger)
    assigned_on: Mapped[dt.date] = mapped_column(Date)
    due_on: Mapped[dt.date] = mapped_column(Date, index=True)
    status: Mapped[str] = mapped_column(String(16), index=True)  # open | submitted | withdrawn
    findings: Mapped[str] = mapped_column(Text, default="")
    visits: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, default=list)
    recommendation: Mapped[str | None] = mapped_column(String(16))  # confirm | not_confirm | unclear
    recommendation_reason: Mapped[str | None] = mapped_column(Text)
    submitted_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    assigned_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # Added with the investigation part (migration 0013): who submitted, why a task was withdrawn, and
    # a version so that a second writer of the same task gets a conflict, not a silent overwrite.
    submitted_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    withdrawn_on: Mapped[dt.date | None] = mapped_column(Date)
    withdrawn_reason: Mapped[str | None] = mapped_column(Text)
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
