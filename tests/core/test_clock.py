"""The clock can be frozen or shifted (tests, replays) and is the system clock otherwise."""

from __future__ import annotations

import datetime as dt

import pytest

from oip.core import clock


def test_frozen_at_a_date_and_at_a_moment():
    with clock.frozen(dt.date(2027, 1, 1)) as at:
        assert clock.today() == dt.date(2027, 1, 1) and clock.now() == at
        assert clock.fmt(clock.now()) == "2027-01-01 09:00:00" and clock.now().tzinfo is not None
        moment = dt.datetime(2026, 12, 31, 23, 30, tzinfo=dt.UTC)  # already 1 January in Guangxi
        with clock.frozen(moment):
            assert clock.now() == moment and clock.today() == dt.date(2027, 1, 1)
        assert clock.now() == at  # the outer block's time comes back
    assert abs(clock.now() - clock.system_now()) < dt.timedelta(seconds=5)


def test_shifted_runs_ahead_of_the_system_clock():
    with clock.shifted(dt.timedelta(days=400)):
        assert dt.timedelta(days=399) < clock.now() - clock.system_now() <= dt.timedelta(days=400)
    assert abs(clock.now() - clock.system_now()) < dt.timedelta(seconds=5)


def test_a_naive_moment_is_refused():
    with pytest.raises(ValueError):
        with clock.frozen(dt.datetime(2027, 1, 1, 9)):
            pass
