"""The demo's past: services run as if at a moment before the generation, so that what they
stamp (admission steps, declarations, messages to the tax bureau, audit events) carries a
realistic date instead of the second the demo was generated.

Only the demo uses this, before anything is served: for the length of a ``with`` block the clock
(``oip.core.clock``) runs from the chosen moment, ticking with the real one so that events keep
their order; a moment in the future is taken as now."""

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
    with clock.running_from(min(when, clock.now())) as start:
        yield start
