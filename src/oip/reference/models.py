"""Reference data: effective-dated, loaded from files shipped in the package."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import CheckConstraint, Date, DateTime, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from oip.core.db import Base


class Region(Base):
    """`Region` — 行政区划 (GB/T 2260). Levels: province, city, county. Effective-dated: codes change
    (横县 became 横州市 in 2021), so a code has a validity period."""

    __tablename__ = "regions"
    code: Mapped[str] = mapped_column(String(6), primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    level: Mapped[str] = mapped_column(String(16))
    parent_code: Mapped[str | None] = mapped_column(String(6), index=True)
    valid_from: Mapped[dt.date] = mapped_column(Date, default=dt.date(1980, 1, 1))
    valid_to: Mapped[dt.date | None] = mapped_column(Date)

    @property
    def scope_prefix(self) -> str:
        """The code prefix shared by everything inside this region."""
        return {"province": self.code[:2], "city": self.code[:4]}.get(self.level, self.code)


class Industry(Base):
    """`Industry` — 试点行业. Covered in Guangxi from ``covered_from``; new industries are data."""

    __tablename__ = "industries"
    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    description: Mapped[str] = mapped_column(Text, default="")
    covered_from: Mapped[dt.date | None] = mapped_column(Date)
    covered_to: Mapped[dt.date | None] = mapped_column(Date)


class CalendarDay(Base):
    """`CalendarDay` — 节假日安排: a day of a year an officer loaded (``oip calendar load``) that
    differs from the week: a holiday (法定节假日, off) or a working weekend day (调休上班). A loaded
    year replaces the chinese-calendar package's data for that year (oip.core.workdays)."""

    __tablename__ = "calendar_days"
    day: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    note: Mapped[str] = mapped_column(Text, default="")
    loaded_by: Mapped[str] = mapped_column(String(128))
    loaded_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    __table_args__ = (CheckConstraint("kind IN ('holiday', 'workday')", name="kind"),)
