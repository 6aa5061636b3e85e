"""Register of workers, from platforms' data."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Date, DateTime, ForeignKey, Integer, LargeBinary, String, UniqueConstraint
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column, relationship

from oip.core.db import Base, IdMixin, TimestampMixin


class Person(IdMixin, TimestampMixin, Base):
    """`Person` — 新就业形态人员: one human, however many platforms they work for. Identified by
    the keyed blind index of the resident ID number; the number itself is encrypted at rest."""

    __tablename__ = "persons"
    name: Mapped[str] = mapped_column(String(64), index=True)
    id_enc: Mapped[bytes] = mapped_column(LargeBinary)
    id_bidx: Mapped[bytes] = mapped_column(LargeBinary, unique=True)
    id_masked: Mapped[str] = mapped_column(String(18))
    birth_date: Mapped[dt.date] = mapped_column(Date)
    sex: Mapped[str] = mapped_column(String(1))

    accounts: Mapped[list[PlatformAccount]] = relationship(
        back_populates="person", lazy="selectin", order_by="PlatformAccount.id"
    )


class PlatformAccount(IdMixin, TimestampMixin, Base):
    """`PlatformAccount` — 平台账号: a person's registration on one platform, with the county where
    they take orders (按接单地参保) and its status (active / left)."""

    __tablename__ = "platform_accounts"
    platform_id: Mapped[int] = mapped_column(ForeignKey("platforms.id"), index=True)
    account_id: Mapped[str] = mapped_column(String(64))
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id"), index=True)
    county_code: Mapped[str] = mapped_column(ForeignKey("regions.code"), index=True)
    phone_enc: Mapped[bytes] = mapped_column(LargeBinary)
    phone_bidx: Mapped[bytes] = mapped_column(LargeBinary, index=True)
    phone_masked: Mapped[str] = mapped_column(String(11))
    registered_on: Mapped[dt.date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16), default="active")
    status_on: Mapped[dt.date | None] = mapped_column(Date)
    # The name the platform sent, when it differs from the person's name on file (an ID number another
    # platform registered first): the platform is shown this name, the agencies both, and verify.
    reported_name: Mapped[str | None] = mapped_column(String(64))

    person: Mapped[Person] = relationship(back_populates="accounts", lazy="joined")
    platform = relationship("Platform", lazy="joined")
    __table_args__ = (UniqueConstraint("platform_id", "account_id"),)


class RegistrationBatch(IdMixin, Base):
    """`RegistrationBatch` — 人员信息报送批次: one API batch or CSV upload, with its counts and the
    reasons for every rejected record (personal numbers in the report are masked)."""

    __tablename__ = "registration_batches"
    platform_id: Mapped[int] = mapped_column(ForeignKey("platforms.id"), index=True)
    source: Mapped[str] = mapped_column(String(16))
    filename: Mapped[str | None] = mapped_column(String(256))
    submitted_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    received: Mapped[int] = mapped_column(Integer)
    accepted: Mapped[int] = mapped_column(Integer)
    rejected: Mapped[int] = mapped_column(Integer)
    results: Mapped[list] = mapped_column(JSONB, default=list)
