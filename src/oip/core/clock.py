"""Time: always timezone-aware; shown in Asia/Shanghai."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")


def now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def today() -> dt.date:
    """Today's date in Guangxi."""
    return now().astimezone(SHANGHAI).date()


def local(t: dt.datetime | None) -> dt.datetime | None:
    return t.astimezone(SHANGHAI) if t is not None else None


def fmt(t: dt.datetime | None) -> str:
    return local(t).strftime("%Y-%m-%d %H:%M:%S") if t is not None else ""


def iso(t: dt.datetime | None) -> str | None:
    """ISO 8601 in Beijing time (``2026-08-01T12:30:00+08:00``), as the command line prints times."""
    return local(t).isoformat() if t is not None else None


def json_default(o):
    """``json.dumps(..., default=clock.json_default)``: times in Beijing time, dates as ISO dates,
    Decimal amounts as strings (never float)."""
    import decimal

    if isinstance(o, dt.datetime):
        if o.tzinfo is None:
            raise TypeError("naive datetime: times are always timezone-aware")
        return iso(o)
    if isinstance(o, dt.date):
        return o.isoformat()
    if isinstance(o, decimal.Decimal):
        return str(o)
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")
