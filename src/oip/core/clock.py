"""Time: always timezone-aware; shown in Asia/Shanghai.

Everything that asks what time or day it is asks ``now()`` / ``today()`` here, so a test (or a
replay) can fix the time: ``with clock.frozen(dt.datetime(2026, 12, 1, 9, tzinfo=clock.SHANGHAI)):``
or ``with clock.frozen(dt.date(2026, 12, 1)):`` (09:00 that day in Guangxi), or move it by an offset
with ``clock.shifted(dt.timedelta(days=400))``. Outside such a block it is the system clock.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Callable, Iterator
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")


def system_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


_provider: Callable[[], dt.datetime] = system_now


def now() -> dt.datetime:
    return _provider()


def today() -> dt.date:
    """Today's date in Guangxi."""
    return now().astimezone(SHANGHAI).date()


def _aware(at: dt.datetime | dt.date) -> dt.datetime:
    if isinstance(at, dt.datetime):
        if at.tzinfo is None:
            raise ValueError("clock.frozen needs a timezone-aware datetime (or a date)")
        return at.astimezone(dt.UTC)
    return dt.datetime.combine(at, dt.time(9), tzinfo=SHANGHAI).astimezone(dt.UTC)


@contextlib.contextmanager
def provided_by(provider: Callable[[], dt.datetime]) -> Iterator[None]:
    """Inside the block, ``now()`` is ``provider()`` (which returns an aware datetime)."""
    global _provider
    before = _provider
    _provider = provider
    try:
        yield
    finally:
        _provider = before


@contextlib.contextmanager
def frozen(at: dt.datetime | dt.date) -> Iterator[dt.datetime]:
    """Time stands still at ``at`` inside the block (a date means 09:00 that day in Guangxi)."""
    fixed = _aware(at)
    with provided_by(lambda: fixed):
        yield fixed


@contextlib.contextmanager
def shifted(by: dt.timedelta) -> Iterator[None]:
    """Time runs, ``by`` ahead of (or behind) the clock outside the block, inside the block."""
    before = _provider
    with provided_by(lambda: before() + by):
        yield


@contextlib.contextmanager
def running_from(at: dt.datetime | dt.date) -> Iterator[dt.datetime]:
    """Time runs from ``at`` inside the block, ticking with the clock outside it (a replay of the
    past that keeps the order of events)."""
    start = _aware(at)
    with shifted(start - now()):
        yield start


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
