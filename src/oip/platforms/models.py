"""Register of platform enterprises and the admission workflow."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Integer,
    LargeBinary,
    Numeric,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, lazyload, mapped_column, relationship

from oip.core.db import Base, IdMixin, TimestampMixin
from oip.platforms.phasing import ADMITTED


def in_force(row, day: dt.date) -> bool:
    """An effective-dated row (valid_from, valid_to inclusive) in force on ``day``."""
    return row.valid_from <= day and (row.valid_to is None or day <= row.valid_to)


class Platform(IdMixin, TimestampMixin, Base):
    """`Platform` — 平台企业. ``code`` is stable; names change (see PlatformName).
    ``status``: applicant (admission under way), admitted (in the pilot), rejected, withdrawn.
    Coverage of its workers starts at max(industry.covered_from, covered_from)."""

    __tablename__ = "platforms"
    code: Mapped[str] = mapped_column(String(32), unique=True)
    uscc: Mapped[str | None] = mapped_column(String(18), unique=True)
    industry_code: Mapped[str] = mapped_column(ForeignKey("industries.code"))
    status: Mapped[str] = mapped_column(String(16), default="applicant")
    covered_from: Mapped[dt.date | None] = mapped_column(Date)
    headquarters: Mapped[str] = mapped_column(String(256), default="")
    headquarters_region: Mapped[str | None] = mapped_column(String(6))
    contact_name: Mapped[str] = mapped_column(String(64), default="")
    contact_phone_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    contact_phone_hint: Mapped[str] = mapped_column(String(16), default="")
    contact_email: Mapped[str] = mapped_column(String(128), default="")

    names: Mapped[list[PlatformName]] = relationship(
        order_by="[PlatformName.valid_from, PlatformName.id]", lazy="selectin", cascade="all, delete-orphan"
    )
    rates: Mapped[list[PlatformRate]] = relationship(
        order_by="PlatformRate.valid_from", lazy="selectin", cascade="all, delete-orphan"
    )
    floats: Mapped[list[PlatformFloat]] = relationship(
        order_by="PlatformFloat.year", lazy="selectin", cascade="all, delete-orphan"
    )
    regions: Mapped[list[PlatformRegion]] = relationship(lazy="selectin", cascade="all, delete-orphan")

    @property
    def is_admitted(self) -> bool:
        """In the pilot (已纳入试点)."""
        return self.status == ADMITTED

    def names_on(self, day: dt.date) -> list[str]:
        """Every name in force on ``day`` (饿了么 and 淘宝闪购 both); else the latest known name."""
        current = [n.name for n in self.names if in_force(n, day)]
        return current or ([self.names[-1].name] if self.names else [self.code])

    def display_name(self, day: dt.date) -> str:
        return " / ".join(self.names_on(day))

    def base_on(self, day: dt.date) -> Decimal | None:
        for r in reversed(self.rates):
            if in_force(r, day):
                return r.base_yuan
        return None

    def k_for(self, year: int) -> int:
        for f in self.floats:
            if f.year == year:
                return f.k
        return 0


class PlatformName(IdMixin, Base):
    """`PlatformName` — 平台名称（含更名）: 饿了么 → also 淘宝闪购; 达达 → also 京东秒送."""

    __tablename__ = "platform_names"
    platform_id: Mapped[int] = mapped_column(ForeignKey("platforms.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(128))
    valid_from: Mapped[dt.date] = mapped_column(Date)
    valid_to: Mapped[dt.date | None] = mapped_column(Date)


class PlatformRate(IdMixin, Base):
    """`PlatformRate` — 缴费基准额 (yuan per order), effective-dated."""

    __tablename__ = "platform_rates"
    platform_id: Mapped[int] = mapped_column(ForeignKey("platforms.id", ondelete="CASCADE"), index=True)
    base_yuan: Mapped[Decimal] = mapped_column(Numeric(12, 4))
    valid_from: Mapped[dt.date] = mapped_column(Date)
    valid_to: Mapped[dt.date | None] = mapped_column(Date)
    __table_args__ = (CheckConstraint("base_yuan > 0", name="base_positive"),)


class PlatformFloat(IdMixin, Base):
    """`PlatformFloat` — 费率浮动档次 k (−5…+5) for a year, effective 1 January:
    rate = base × (1 + 0.10·k)."""

    __tablename__ = "platform_floats"
    platform_id: Mapped[int] = mapped_column(ForeignKey("platforms.id", ondelete="CASCADE"))
    year: Mapped[int] = mapped_column(Integer)
    k: Mapped[int] = mapped_column(SmallInteger)
    decided_by: Mapped[int | None] = mapped_column(BigInteger)
    decided_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    __table_args__ = (UniqueConstraint("platform_id", "year"), CheckConstraint("k BETWEEN -5 AND 5", name="k_range"))


class PlatformRegion(IdMixin, Base):
    """Where a platform operates (经营地区): a city or county code."""

    __tablename__ = "platform_regions"
    platform_id: Mapped[int] = mapped_column(ForeignKey("platforms.id", ondelete="CASCADE"))
    region_code: Mapped[str] = mapped_column(ForeignKey("regions.code"))
    __table_args__ = (UniqueConstraint("platform_id", "region_code"),)


class Admission(IdMixin, TimestampMixin, Base):
    """`Admission` — 试点纳入申请: a platform's written application to the regional HRSS department,
    through assessment, national consent and public notice (公示) to inclusion, or rejection."""

    __tablename__ = "admissions"
    platform_id: Mapped[int] = mapped_column(ForeignKey("platforms.id"), index=True)
    state: Mapped[str] = mapped_column(String(16))
    applied_on: Mapped[dt.date] = mapped_column(Date)
    notice_from: Mapped[dt.date | None] = mapped_column(Date)
    notice_to: Mapped[dt.date | None] = mapped_column(Date)
    included_from: Mapped[dt.date | None] = mapped_column(Date)
    rejection_reason: Mapped[str | None] = mapped_column(Text)

    platform: Mapped[Platform] = relationship(lazy="joined")
    steps: Mapped[list[AdmissionStep]] = relationship(order_by="AdmissionStep.id", lazy="selectin")
    objections: Mapped[list[NoticeObjection]] = relationship(order_by="NoticeObjection.id", lazy="selectin")


class AdmissionStep(IdMixin, Base):
    """One step of an admission: who, when, which action, decision, comment, attachments."""

    __tablename__ = "admission_steps"
    admission_id: Mapped[int] = mapped_column(ForeignKey("admissions.id"), index=True)
    action: Mapped[str] = mapped_column(String(32))
    from_state: Mapped[str | None] = mapped_column(String(16))
    to_state: Mapped[str] = mapped_column(String(16))
    decision: Mapped[str] = mapped_column(String(32))
    comment: Mapped[str] = mapped_column(Text, default="")
    officer_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))

    officer = relationship("User", lazy="joined")
    attachments: Mapped[list[Attachment]] = relationship(lazy="selectin")


class Attachment(IdMixin, TimestampMixin, Base):
    """A document attached to an admission step (stored in the database with its SHA-256)."""

    __tablename__ = "attachments"
    step_id: Mapped[int | None] = mapped_column(ForeignKey("admission_steps.id"), index=True)
    filename: Mapped[str] = mapped_column(String(256))
    content_type: Mapped[str] = mapped_column(String(128))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    content: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)


class NoticeObjection(IdMixin, TimestampMixin, Base):
    """`NoticeObjection` — 公示期异议, recorded by an officer, with how it was resolved."""

    __tablename__ = "notice_objections"
    admission_id: Mapped[int] = mapped_column(ForeignKey("admissions.id"), index=True)
    received_on: Mapped[dt.date] = mapped_column(Date)
    objector: Mapped[str] = mapped_column(String(128))
    content: Mapped[str] = mapped_column(Text)
    resolution: Mapped[str | None] = mapped_column(Text)
    upheld: Mapped[bool | None] = mapped_column()
    recorded_by: Mapped[int] = mapped_column(ForeignKey("users.id"))


def names_only() -> tuple:
    """Loader options for hot reads that need a platform's names only (a worker list, a coverage
    look-up): its rates, floats and regions are not loaded (each would be one more query per request).
    A function, not a constant: building the options configures the mappers, which needs every model."""
    return (lazyload(Platform.rates), lazyload(Platform.floats), lazyload(Platform.regions))
