"""The register of insurer contracts.

A contract is edited in place (amendments are audited with before and after, and ``version``
makes a concurrent second edit a conflict); see oip.insurers.service for why."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import CheckConstraint, Date, ForeignKey, Integer, String, Text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column, relationship

from oip.auth.models import Organisation
from oip.core.db import Base, IdMixin, TimestampMixin
from oip.insurers import rules


class InsurerContract(IdMixin, TimestampMixin, Base):
    """`InsurerContract` — 委托服务协议: an agreement under which a contracted commercial insurer
    (an ``Organisation`` of kind ``insurer``) does case work for 人社 — the services it covers
    (``rules.SERVICE_NAMES``), in which cities, from ``valid_from`` to ``valid_to`` (both days
    included). ``terminated_on`` is the day a termination takes effect (the contract was last in
    force the day before)."""

    __tablename__ = "insurer_contracts"
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    document_no: Mapped[str] = mapped_column(String(128), unique=True)
    services: Mapped[list[str]] = mapped_column(ARRAY(String(32)))
    valid_from: Mapped[dt.date] = mapped_column(Date)
    valid_to: Mapped[dt.date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16), default="active", index=True)
    terminated_on: Mapped[dt.date | None] = mapped_column(Date)
    termination_reason: Mapped[str | None] = mapped_column(Text)
    terminated_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    notes: Mapped[str] = mapped_column(Text, default="")
    version: Mapped[int] = mapped_column(Integer, default=1)

    organisation: Mapped[Organisation] = relationship(lazy="joined")
    city_rows: Mapped[list[InsurerContractCity]] = relationship(
        lazy="selectin", cascade="all, delete-orphan", order_by="InsurerContractCity.city_code"
    )

    __table_args__ = (
        CheckConstraint("valid_to >= valid_from", name="period"),
        CheckConstraint("status IN ('active', 'terminated')", name="status"),
        CheckConstraint("(status = 'terminated') = (terminated_on IS NOT NULL)", name="terminated_on"),
    )

    @property
    def cities(self) -> list[str]:
        return sorted(c.city_code for c in self.city_rows)

    @property
    def last_day(self) -> dt.date:
        """The last day the contract is in force (its end, or the day before its termination)."""
        return rules.last_day_in_force(self.valid_to, self.terminated_on)

    def in_force(self, day: dt.date) -> bool:
        return self.valid_from <= day <= self.last_day

    def term(self) -> rules.Term:
        return rules.Term(
            id=self.id,
            document_no=self.document_no,
            cities=frozenset(self.cities),
            services=frozenset(self.services),
            valid_from=self.valid_from,
            valid_to=self.valid_to,
            terminated_on=self.terminated_on,
        )


class InsurerContractCity(Base):
    """A city (a Guangxi city's region code, e.g. 450100) a contract covers."""

    __tablename__ = "insurer_contract_cities"
    contract_id: Mapped[int] = mapped_column(ForeignKey("insurer_contracts.id", ondelete="CASCADE"), primary_key=True)
    city_code: Mapped[str] = mapped_column(ForeignKey("regions.code"), primary_key=True, index=True)
