"""A request's transaction commits before its response leaves: "done" means saved."""

import pytest
from sqlalchemy import event
from sqlalchemy.orm import Session


def _dependants(dependant):
    for sub in dependant.dependencies:
        yield sub
        yield from _dependants(sub)


def _api_routes(routes):
    from fastapi.routing import APIRoute

    for route in routes:
        if isinstance(route, APIRoute):
            yield route
        # FastAPI keeps an included router's routes on the router itself (the class is private).
        inner = getattr(route, "original_router", None)
        if inner is not None:
            yield from _api_routes(inner.routes)


def test_every_route_commits_before_it_answers(app):
    from oip.core.web import request_transaction

    checked = 0
    for route in _api_routes(app.routes):
        for dep in _dependants(route.dependant):
            if dep.call is request_transaction:
                assert dep.scope == "function", f"{route.path}: the transaction would commit after the response"
                checked += 1
    assert checked > 100


@pytest.fixture
def failing_commit():
    def refuse(session):
        raise RuntimeError("commit refused by the test")

    event.listen(Session, "before_commit", refuse)
    yield
    event.remove(Session, "before_commit", refuse)


def test_a_failed_commit_reaches_the_client_as_an_error(app, failing_commit):
    from fastapi.testclient import TestClient

    from oip.auth.deps import SESSION_COOKIE
    from oip.demo.generate import DEMO_PASSWORD
    from tests.conftest import post_login

    with TestClient(app, raise_server_exceptions=False) as client:
        r = post_login(client, "gx_si", DEMO_PASSWORD)
    # Before the fix the browser got 303 + a session cookie for a session that was never saved.
    assert r.status_code == 500 and "未保存任何数据" in r.text
    assert SESSION_COOKIE not in r.cookies


def test_every_route_with_a_transaction_ends_it_in_its_own_thread(app):
    """Sync endpoints commit and close in the endpoint's thread (TransactionRoute), not after FastAPI
    has waited for another thread to serialise the response (issue 10: the wedge under load)."""
    from oip.core.web import TransactionRoute, request_transaction

    routes = [
        r for r in _api_routes(app.routes) if any(d.call is request_transaction for d in _dependants(r.dependant))
    ]
    assert len(routes) > 100
    assert [r.path for r in routes if not isinstance(r, TransactionRoute)] == []
