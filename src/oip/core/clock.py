"""Time: always timezone-aware; shown in Asia/Shanghai."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def today() -> dt.date:
    """Today's date in Guangxi."""
    return now().astimezone(SHANGHAI).date()


def local(t: dt.datetime | None) -> dt.datetime | None:
    return t.astimezone(SHANGHAI) if t is not None else None


def fmt(t: dt.datetime | None) -> str:
    return local(t).strftime("%Y-%m-%d %H:%M:%S") if t is not None else ""
