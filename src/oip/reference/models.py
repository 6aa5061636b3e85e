"""Reference data: effective-dated, loaded from files shipped in the package."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Date, String, Text
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

    def covered_on(self, day: dt.date) -> bool:
        return (self.covered_from is not None and self.covered_from <= day
                and (self.covered_to is None or day <= self.covered_to))
