"""Months, pure: the one home of month arithmetic.

A month is a string ``YYYY-MM`` (the order month: the month in Asia/Shanghai in which an order was
taken; the ledger's partitions, declarations and insured counts all use it). Strings of this form
sort in time order, so ``"2025-12" < "2026-01"``.
"""

from __future__ import annotations

import datetime as dt
import re

from oip.core.errors import DomainError

MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")


def parse_month(value: object, field: str = "month") -> str:
    """A month ``YYYY-MM`` (also accepts ``YYYYMM``), or a Chinese error naming the field."""
    v = str(value or "").strip()
    if re.fullmatch(r"\d{6}", v):
        v = f"{v[:4]}-{v[4:]}"
    if not MONTH.match(v):
        raise DomainError("月份应为 YYYY-MM 格式，如 2025-07", field=field)
    return v


def _ym(month: str) -> tuple[int, int]:
    return int(month[:4]), int(month[5:7])


def first_day(month: str) -> dt.date:
    y, m = _ym(month)
    return dt.date(y, m, 1)


def month_bounds(month: str) -> tuple[dt.date, dt.date]:
    """First and last day of the month."""
    return first_day(month), first_day(next_month(month)) - dt.timedelta(days=1)


def month_span(month: str) -> tuple[dt.date, dt.date]:
    """First day of the month and first day of the next (half-open, for ``day >= a AND day < b``)."""
    return first_day(month), first_day(next_month(month))


def add_months(month: str, n: int) -> str:
    y, m = _ym(month)
    i = y * 12 + (m - 1) + n
    return f"{i // 12:04d}-{i % 12 + 1:02d}"


def next_month(month: str) -> str:
    return add_months(month, 1)


def previous_month(month: str) -> str:
    return add_months(month, -1)


def month_of(day: dt.date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def months_between(first: str, last: str) -> list[str]:
    """Every month from ``first`` to ``last``, both included (empty when ``last`` is earlier)."""
    out, m = [], first
    while m <= last:
        out.append(m)
        m = next_month(m)
    return out


def months_of_year(year: int) -> list[str]:
    return [f"{year:04d}-{m:02d}" for m in range(1, 13)]
