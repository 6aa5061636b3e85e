"""The appraisal committees' expert pools (劳动能力鉴定医疗卫生专家库), who each expert must stand
aside for (回避), and the appraisals of a case with their panel draws."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    LargeBinary,
    SmallInteger,
    String,
    Text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column, relationship

from oip.core.db import Base, IdMixin, TimestampMixin


class Expert(IdMixin, TimestampMixin, Base):
    """`Expert` — 鉴定专家库成员: a medical expert of a city's appraisal committee (市劳动能力鉴定委员会,
    ``committee_code`` the city's region code) or of the regional committee (``450000``), with their
    specialty, organisation and senior title. An inactive expert is never drawn. The phone number is
    personal data: encrypted at rest, shown masked."""

    __tablename__ = "appraisal_experts"
    committee_code: Mapped[str] = mapped_column(ForeignKey("regions.code"), index=True)
    name: Mapped[str] = mapped_column(String(64))
    specialty_code: Mapped[str] = mapped_column(String(32), index=True)
    organisation: Mapped[str] = mapped_column(String(128))
    title: Mapped[str] = mapped_column(String(32))
    active: Mapped[bool] = mapped_column(default=True)
    inactive_reason: Mapped[str | None] = mapped_column(Text)
    phone_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    phone_hint: Mapped[str] = mapped_column(String(16), default="")
    note: Mapped[str] = mapped_column(Text, default="")

    ties: Mapped[list[ExpertTie]] = relationship(order_by="ExpertTie.id", lazy="selectin", back_populates="expert")

    @property
    def current_ties(self) -> list[ExpertTie]:
        return [t for t in self.ties if t.removed_at is None]


class ExpertTie(IdMixin, Base):
    """`ExpertTie` — 回避关系: a platform (the expert is its medical consultant, works for it) or a
    person (a relative, 利害关系) the expert is excluded for. A person is named by resident ID number
    (blind index, encrypted, masked), so a tie holds whether or not the person is registered; removal
    is recorded, never deleted."""

    __tablename__ = "appraisal_expert_ties"
    expert_id: Mapped[int] = mapped_column(ForeignKey("appraisal_experts.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    platform_id: Mapped[int | None] = mapped_column(ForeignKey("platforms.id"), index=True)
    person_id: Mapped[int | None] = mapped_column(ForeignKey("persons.id"), index=True)
    person_name: Mapped[str] = mapped_column(String(64), default="")
    id_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    id_bidx: Mapped[bytes | None] = mapped_column(LargeBinary, index=True)
    id_masked: Mapped[str] = mapped_column(String(18), default="")
    relation: Mapped[str] = mapped_column(String(64))
    note: Mapped[str] = mapped_column(Text, default="")
    added_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    added_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    removed_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    removed_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    removed_reason: Mapped[str | None] = mapped_column(Text)

    expert: Mapped[Expert] = relationship(back_populates="ties")
    platform = relationship("Platform", lazy="joined")

    __table_args__ = (
        CheckConstraint(
            "(kind = 'platform' AND platform_id IS NOT NULL) OR (kind = 'person' AND id_bidx IS NOT NULL)",
            name="tie_target",
        ),
    )


class Appraisal(IdMixin, TimestampMixin, Base):
    """`Appraisal` — 劳动能力鉴定: one application of a case to an appraisal committee, from the
    application (after treatment ended) through acceptance, the panel draw and the one extension to
    the conclusion (disability grade 1–10 or none, self-care dependency).

    ``kind``: initial | reappraisal (再次鉴定, at the regional committee, final) | review (复查鉴定);
    ``previous_id`` the appraisal a re-appraisal or review follows. ``status``: applied | accepted |
    concluded. ``due_on`` is the last day for the conclusion in force (``original_due_on`` before an
    extension)."""

    __tablename__ = "appraisals"
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    number: Mapped[str] = mapped_column(String(32), unique=True)
    kind: Mapped[str] = mapped_column(String(16))
    previous_id: Mapped[int | None] = mapped_column(ForeignKey("appraisals.id"))
    committee_code: Mapped[str] = mapped_column(ForeignKey("regions.code"))
    status: Mapped[str] = mapped_column(String(16))
    applicant: Mapped[str] = mapped_column(String(16))
    applied_on: Mapped[dt.date] = mapped_column(Date)
    treatment_ended_on: Mapped[dt.date] = mapped_column(Date)
    statement: Mapped[str] = mapped_column(Text, default="")
    registered_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    accepted_on: Mapped[dt.date | None] = mapped_column(Date)
    accepted_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    needed_specialties: Mapped[list[str]] = mapped_column(JSONB, default=list)
    panel_size: Mapped[int | None] = mapped_column(SmallInteger)
    original_due_on: Mapped[dt.date | None] = mapped_column(Date)
    due_on: Mapped[dt.date | None] = mapped_column(Date)
    extended_on: Mapped[dt.date | None] = mapped_column(Date)
    extension_reason: Mapped[str | None] = mapped_column(Text)
    extended_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    grade: Mapped[int | None] = mapped_column(SmallInteger)
    dependency: Mapped[str | None] = mapped_column(String(16))
    concluded_on: Mapped[dt.date | None] = mapped_column(Date)
    conclusion_received_on: Mapped[dt.date | None] = mapped_column(Date)
    conclusion_note: Mapped[str | None] = mapped_column(Text)
    concluded_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    letter_id: Mapped[int | None] = mapped_column(ForeignKey("case_letters.id"))

    draws: Mapped[list[AppraisalDraw]] = relationship(order_by="AppraisalDraw.id", lazy="selectin")

    __table_args__ = (
        CheckConstraint("kind IN ('initial', 'reappraisal', 'review')", name="kind"),
        CheckConstraint("status IN ('applied', 'accepted', 'concluded')", name="status"),
        CheckConstraint("grade IS NULL OR grade BETWEEN 1 AND 10", name="grade"),
        CheckConstraint(
            "dependency IS NULL OR dependency IN ('complete', 'most', 'partial', 'none')", name="dependency"
        ),
        Index("ix_appraisals_worklist", "status", "committee_code", "due_on"),
    )

    @property
    def draw(self) -> AppraisalDraw | None:
        """The draw in force (a later draw supersedes an earlier one)."""
        current = [d for d in self.draws if d.superseded_at is None]
        return current[-1] if current else None

    @property
    def final(self) -> bool:
        return self.kind == "reappraisal"


class AppraisalDraw(IdMixin, Base):
    """`AppraisalDraw` — 专家组抽取: one random draw of an appraisal's panel, stored so that it can be
    re-run and compared: the seed, the panel size and needed specialties, every candidate considered
    with its specialty at the time (``[[id, specialty], …]``), the excluded ones with the reason code
    (``[[id, reason], …]``: tied to the person or platform, on the earlier panel, inactive), the panel
    (expert ids in the order drawn) and which expert covers which specialty. A new draw (an expert
    could not serve) supersedes the one before, with its reason."""

    __tablename__ = "appraisal_draws"
    appraisal_id: Mapped[int] = mapped_column(ForeignKey("appraisals.id"), index=True)
    seed: Mapped[int] = mapped_column(BigInteger)
    size: Mapped[int] = mapped_column(SmallInteger)
    needed_specialties: Mapped[list[str]] = mapped_column(JSONB)
    candidates: Mapped[list[Any]] = mapped_column(JSONB)
    excluded: Mapped[list[Any]] = mapped_column(JSONB)
    panel: Mapped[list[int]] = mapped_column(JSONB)
    covers: Mapped[list[Any]] = mapped_column(JSONB)
    reason: Mapped[str] = mapped_column(Text, default="")
    drawn_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    drawn_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    superseded_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
