"""The roster's number of SQL queries does not grow with the page size (no N+1)."""

from __future__ import annotations

import threading
from contextlib import contextmanager

import pytest
from sqlalchemy import event

from oip.core import audit
from oip.core.db import get_engine
from tests.conftest import bearer


@contextmanager
def counted():
    """The statements the requests run — not those of the server's audit chainer, which links queued
    events every second in a thread of its own on the same engine."""
    statements: list[str] = []

    def before(conn, cursor, statement, parameters, context, executemany):
        if threading.current_thread().name != audit.CHAINER_THREAD:
            statements.append(statement)

    engine = get_engine()
    event.listen(engine, "before_cursor_execute", before)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", before)


@pytest.mark.parametrize("user", ["gx_si", "meituan-api", "insurer_a"])
def test_roster_queries_do_not_grow_with_page_size(client, user):
    h = bearer(user)
    client.get("/api/v1/workers", params={"size": 5}, headers=h)  # warm-up
    counts = {}
    for size in (5, 50):
        with counted() as statements:
            res = client.get("/api/v1/workers", params={"size": size}, headers=h)
        assert res.status_code == 200
        assert len(res.json()["items"]) == min(size, res.json()["total"])
        counts[size] = len(statements)
    assert counts[5] == counts[50], counts


def test_roster_page_queries_do_not_grow_with_results(client, as_user):
    as_user("gx_si")
    client.get("/workers")
    with counted() as small:
        client.get("/workers", params={"region": "450103"})
    with counted() as large:
        client.get("/workers")
    assert len(small) == len(large)


def test_person_detail_queries_are_bounded(client):
    h = bearer("gx_si")
    items = client.get("/api/v1/workers", params={"size": 200}, headers=h).json()["items"]
    with counted() as statements:
        assert client.get(f"/api/v1/workers/{items[0]['person_id']}", headers=h).status_code == 200
    assert len(statements) < 25
