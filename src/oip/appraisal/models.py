"""The appraisal committees' expert pools (劳动能力鉴定医疗卫生专家库) and who each expert must stand
aside for (回避)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import CheckConstraint, DateTime, ForeignKey, LargeBinary, String, Text
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
