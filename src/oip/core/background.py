"""A job the server runs beside itself every few seconds (a daemon thread): ``Periodic(name,
interval, job)`` calls ``job()`` every ``interval`` seconds and once more when stopped. A failing run
is logged and tried again next time (the database may be down for a moment)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

log = logging.getLogger(__name__)


class Periodic:
    def __init__(self, name: str, interval: float, job: Callable[[], object]):
        self.name = name
        self.interval = interval
        self.job = job
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def start(self) -> Periodic:
        self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        self._thread.join(timeout)

    def _run(self) -> None:
        while True:
            stopping = self._stop.wait(self.interval)
            try:
                self.job()
            except Exception as e:  # noqa: BLE001  (logged; the next run tries again)
                log.warning("%s: %s: %s", self.name, type(e).__name__, e)
            if stopping:
                return
