"""A job beside the server (oip.core.background.Periodic): it runs every interval, survives a failing
run, and runs once more when stopped; the fund's poster is one, off when its interval is 0."""

from __future__ import annotations

import threading
import time

from oip.core.background import Periodic


def test_a_periodic_job_runs_again_after_a_failure_and_once_more_when_stopped():
    runs: list[int] = []
    second = threading.Event()

    def job():
        runs.append(len(runs))
        if len(runs) == 1:
            raise RuntimeError("the database is down for a moment")
        second.set()

    p = Periodic("test-job", 0.01, job).start()
    assert second.wait(5)
    before = len(runs)
    p.stop()
    assert len(runs) >= before + 1  # the last run, on the way out
    assert not p._thread.is_alive()
    n = len(runs)
    time.sleep(0.05)
    assert len(runs) == n  # nothing after the stop


def test_the_fund_poster_is_off_when_its_interval_is_zero():
    from oip.fund import posting

    assert posting.start_background_poster(interval=0) is None
