"""The demo's past: services run as if at a moment before the generation, so that what they
stamp (admission steps, declarations, messages to the tax bureau, audit events) carries a
realistic date instead of the second the demo was generated.

Only the demo uses this, before anything is served: it swaps ``oip.core.clock.now`` (which
``clock.today`` follows) for the length of a ``with`` block, and puts it back after. The simulated
clock ticks with the real one from the chosen moment, so events keep their order; a moment in the
future is taken as now."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager

from oip.core import clock


def moment(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    """A time of day in Guangxi (Beijing time), timezone-aware."""
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=clock.SHANGHAI)


@contextmanager
def at(when: dt.datetime) -> Iterator[dt.datetime]:
    """Run the block as if it were ``when`` (or now, if that is later than now)."""
    real = clock.now
    started = real()
    start = min(when.astimezone(dt.UTC), started)
    clock.now = lambda: start + (real() - started)
    try:
        yield start
    finally:
        clock.now = real
