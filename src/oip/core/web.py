"""Request-level plumbing shared by every domain: the database session of a request."""

from __future__ import annotations

from collections.abc import Iterator

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from oip.core.db import get_sessionmaker


def request_transaction() -> Iterator[Session]:
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


# Routes take ``db: Session = DB``. The scope is "function": the transaction commits *before* the response is
# sent, so a client that is told "done" (or follows the redirect) finds the write in place, and a
# failed commit reaches the client as an error instead of after a success it has already received.
# FastAPI's default for a dependency with ``yield`` is "request" — exit code after the response.
DB = Depends(request_transaction, scope="function")


def client_ip(request: Request) -> str | None:
    return request.client.host if request.client else None
