"""Small helpers for the SQL the import runs: one value of a DuckDB query, a progress watcher, ENUM
types, and PostgreSQL COPY to and from files. SQL literals come from ``oip.core.sqltext``."""

from __future__ import annotations

import contextlib
import threading
from pathlib import Path

from sqlalchemy.orm import Session

from oip.core.sqltext import literal
from oip.orders.ingest.interface import CHUNK, Progress


def scalar(con, sql: str, params=None):
    row = con.execute(sql, params or []).fetchone()
    return row[0] if row else None


@contextlib.contextmanager
def watch_progress(con, report: Progress, stage: str, lo: float, hi: float):
    """While inside, report the running DuckDB query's progress (its own estimate) from lo to hi."""
    done = threading.Event()

    def poll() -> None:
        while not done.wait(0.25):
            pct = con.query_progress()
            if pct >= 0:
                report(stage, lo + (hi - lo) * min(pct, 100.0) / 100.0)

    watcher = threading.Thread(target=poll, name="ingest-progress", daemon=True)
    watcher.start()
    try:
        yield
    finally:
        done.set()
        watcher.join()


def _driver(session: Session):
    """The psycopg connection under the session's current transaction (for COPY)."""
    return session.connection().connection.driver_connection


def copy_out(session: Session, sql: str, target: Path) -> None:
    with _driver(session).cursor() as cur, open(target, "wb") as fh:
        with cur.copy(f"COPY ({sql}) TO STDOUT (FORMAT csv)") as cp:
            for data in cp:
                fh.write(data)


def copy_in(session: Session, table: str, columns: str, source: Path) -> None:
    with _driver(session).cursor() as cur, open(source, "rb") as fh:
        with cur.copy(f"COPY {table} ({columns}) FROM STDIN (FORMAT csv)") as cp:
            while chunk := fh.read(CHUNK):
                cp.write(chunk)


def enum_type(values) -> str:
    return "ENUM(" + ", ".join(literal(v) for v in sorted(set(values))) + ")"
