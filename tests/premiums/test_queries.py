"""The premiums lists' number of SQL queries does not grow with their rows (no N+1)."""

from __future__ import annotations

import pytest

from oip.core.db import session_scope
from tests.conftest import bearer
from tests.premiums.conftest import make_platform, officer, orders, publish
from tests.workers.test_queries import counted

FEW, MANY = "2026-07", "2026-01"


@pytest.fixture(scope="module")
def months(database):
    from oip.premiums import service

    with session_scope() as s:
        si = officer(s)
        few = make_platform(s)
        many = [make_platform(s) for _ in range(4)]
        publish(s, few, FEW, orders("f", 3))
        for p in many:
            publish(s, p, MANY, orders(p.code, 5))
        service.declare(s, si, FEW, platforms_=[few.code])
        service.declare(s, si, MANY, platforms_=[p.code for p in many])


def test_declaration_list_queries_do_not_grow(client, months):
    h = bearer("gx_si")
    client.get("/api/v1/premiums/declarations", params={"month": FEW}, headers=h)  # warm-up
    counts = {}
    for month in (FEW, MANY):
        with counted() as statements:
            rows = client.get("/api/v1/premiums/declarations", params={"month": month}, headers=h).json()
        counts[month] = len(statements)
        assert rows
    assert counts[FEW] == counts[MANY], counts


def test_officer_page_queries_do_not_grow(client, as_user, months):
    as_user("gx_si")
    client.get("/premiums", params={"month": FEW})
    with counted() as few:
        assert client.get("/premiums", params={"month": FEW}).status_code == 200
    with counted() as many:
        assert client.get("/premiums", params={"month": MANY}).status_code == 200
    assert len(few) == len(many)
