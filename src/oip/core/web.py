"""Request-level plumbing shared by every domain: the database session of a request.

**A request's transaction lives and ends inside one worker thread.** Sync endpoints run in the
threadpool (anyio's default limiter); FastAPI then serialises their ``response_model`` in *another*
threadpool call, and only after that exits the ``DB`` dependency. Committing in that exit meant a
transaction — and its pooled connection, and any lock it took — stayed open while the request
waited for a free thread to serialise its answer. Under load every thread was busy waiting for a
connection, every connection was "idle in transaction" waiting for a thread: the server wedged.

So the rule is: whoever runs a request's database work in a thread ends the transaction in that
same thread before giving the thread back.

- ``TransactionRoute`` (every router's ``route_class``) wraps each *sync* endpoint: after it returns
  (or raises), still in its thread, the request's session commits (or rolls back) and closes, so its
  connection is back in the pool before serialisation starts. Templates render inside the endpoint
  (Starlette renders in ``TemplateResponse``), so pages are done by then too.
- ``in_transaction`` does the same for async endpoints and dependencies that hand a step to the
  threadpool (``await in_transaction(fn, db, ...)``): the step's transaction commits in its thread.
- ``request_transaction``'s own exit (commit, rollback, close) is the backstop for async endpoints'
  last step; FastAPI runs a sync dependency's exit on a private capacity limiter, so it never waits
  for a slot either.

Together with the admission limit (``oip.web.limits``: fewer requests in flight than threads and
pooled connections) no request ever holds a connection while waiting for a thread, and no thread
waits for a connection longer than the pool's short timeout."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Iterator
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Path, Query, Request
from fastapi.routing import APIRoute
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from oip.core.db import get_sessionmaker

_REQUEST = "oip_request_transaction"
T = TypeVar("T")


def request_transaction() -> Iterator[Session]:
    """One transaction per request: committed when the route returns, rolled back on error."""
    session = get_sessionmaker()()
    session.info[_REQUEST] = True
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
# (For sync endpoints ``TransactionRoute`` commits earlier still, in the endpoint's own thread.)
DB = Depends(request_transaction, scope="function")


def _end(sessions: list[Session], ok: bool) -> None:
    try:
        for s in sessions:
            s.commit() if ok else s.rollback()
    finally:
        for s in sessions:
            s.close()


def _request_sessions(values: dict[str, Any]) -> list[Session]:
    return [v for v in values.values() if isinstance(v, Session) and v.info.get(_REQUEST)]


def _ending_transaction(endpoint: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(endpoint)
    def run(*args: Any, **kwargs: Any) -> Any:
        sessions = _request_sessions(kwargs)
        try:
            result = endpoint(*args, **kwargs)
        except BaseException:
            _end(sessions, ok=False)
            raise
        _end(sessions, ok=True)
        return result

    return run


class TransactionRoute(APIRoute):
    """The route class of every router: a sync endpoint's transaction ends in the endpoint's thread."""

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        if not inspect.iscoroutinefunction(endpoint) and not inspect.isgeneratorfunction(endpoint):
            endpoint = _ending_transaction(endpoint)
        super().__init__(path, endpoint, **kwargs)


def _run_and_commit(fn: Callable[..., T], db: Session, *args: Any) -> T:
    try:
        result = fn(db, *args)
    except BaseException:
        db.rollback()
        raise
    db.commit()
    return result


async def in_transaction(fn: Callable[..., T], db: Session, *args: Any) -> T:
    """``fn(db, *args)`` in the threadpool; its transaction commits (or rolls back) in that thread."""
    return await run_in_threadpool(_run_and_commit, fn, db, *args)


def client_ip(request: Request) -> str | None:
    return request.client.host if request.client else None


def form_text(form) -> dict[str, str]:
    """The text fields of a posted form (files and the CSRF token left out)."""
    return {k: v for k, v in form.items() if isinstance(v, str) and k != "csrf_token"}


# A year in a URL: the path's ``{year}`` or ``?year=`` (a calendar year the system can hold; anything
# else is a 422 with the reason, never a 500 from a date that cannot exist).
YearPath = Annotated[int, Path(ge=2000, le=2100, description="公历年份，如 2026")]
YearQuery = Annotated[int, Query(ge=2000, le=2100, description="公历年份，如 2026")]
QuarterQuery = Annotated[int, Query(ge=1, le=4, description="季度 1–4")]


async def form_data(request: Request):
    """A posted form (a dependency of page routes that take one)."""
    return await request.form()


def attempt(db: Session, fn: Callable[[], T], refused: Callable[[Any], Any]) -> tuple[T | None, Any]:
    """Run a page's act. A refusal (a DomainError other than "not found") rolls the act back and gives
    ``(None, refused(error))`` — the page again, with the reason; a 404 goes up to the Chinese 404
    page. Success gives ``(result, None)``; the caller redirects."""
    from oip.core.errors import DomainError

    try:
        return fn(), None
    except DomainError as err:
        db.rollback()
        if err.status_code == 404:
            raise
        return None, refused(err)
