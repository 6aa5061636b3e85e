"""Request-level plumbing shared by every domain: the database session of a request."""

from __future__ import annotations

from collections.abc import Iterator

from fastapi import Request
from sqlalchemy.orm import Session

from oip.core.db import get_sessionmaker


def get_db() -> Iterator[Session]:
    """One transaction per request: committed when the route returns, rolled back on error."""
    session = get_sessionmaker()()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def client_ip(request: Request) -> str | None:
    return request.client.host if request.client else None
