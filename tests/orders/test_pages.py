"""The officers' month, a batch with its rejects, the platform portal (upload form), coverage."""

from __future__ import annotations

import re

import pytest

from tests.conftest import csrf_of
from tests.orders.conftest import csv_bytes, import_rows, order, register_workers


@pytest.fixture(scope="module")
def batch(database, tmp_path_factory):
    (a, _), = register_workers("meituan", 1)
    res = import_rows(tmp_path_factory.mktemp("pg"), [order(a, day="2025-10-25"), order(a, status="done")])
    return a, res


def test_officers_month_page(client, as_user, batch):
    as_user("nn_si")
    r = client.get("/orders", params={"month": "2025-10"})
    assert r.status_code == 200
    assert "订单数据 · 2025-10" in r.text and 'data-testid="by-city"' in r.text and "南宁市" in r.text
    assert f'href="/orders/batches/{batch[1].batch_id}"' in r.text
    assert client.get("/orders", params={"month": "2025-13"}).status_code == 400
    # The default month exists even when nothing was imported yet.
    assert client.get("/orders").status_code == 200


def test_batch_page_shows_counts_and_the_first_rejects(client, as_user, batch):
    as_user("nn_si")
    r = client.get(f"/orders/batches/{batch[1].batch_id}")
    assert r.status_code == 200
    assert re.search(r'data-testid="accepted">1<', r.text) and re.search(r'data-testid="rejected">1<', r.text)
    assert "status：应为 completed 或 cancelled" in r.text
    assert f"/api/v1/orders/batches/{batch[1].batch_id}/rejects.csv" in r.text


def test_platform_portal_upload(client, as_user, batch):
    as_user("meituan_admin")
    r = client.get("/orders", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/portal/orders")
    page = client.get("/portal/orders")
    assert page.status_code == 200 and 'action="/portal/orders/upload"' in page.text and 'name="csrf_token"' in page.text
    (a, _), = register_workers("meituan", 1)
    data = csv_bytes([order(a, day="2025-10-26"), order(a, day="2025-10-26", start="15:00")])
    r = client.post("/portal/orders/upload", files={"file": ("今天.csv", data, "text/csv")},
                    data={"csrf_token": csrf_of(client), "format": ""}, follow_redirects=False)
    assert r.status_code == 303 and "?new=1" in r.headers["location"]
    done = client.get(r.headers["location"])
    assert "文件已导入：2 条已接收" in done.text and "今天.csv" in done.text
    # Its own batches only.
    assert client.get(f"/orders/batches/{batch[1].batch_id}").status_code == 200


def test_another_platform_cannot_see_the_batch(client, as_user, batch):
    as_user("didi_admin")
    assert client.get(f"/orders/batches/{batch[1].batch_id}").status_code == 404


def test_coverage_page(client, as_user, batch):
    as_user("nn_si")
    form = client.get("/coverage")
    assert form.status_code == 200 and 'name="at"' in form.text
    r = client.get("/coverage", params={"at": "2025-10-25T12:10:00+08:00", "platform_code": "meituan",
                                        "account_id": batch[0]})
    assert 'data-testid="coverage-result"' in r.text and "在保" in r.text
    r = client.get("/coverage", params={"at": "2025-10-25T12:10:00", "platform_code": "meituan", "account_id": batch[0]})
    assert "须带时区" in r.text
    as_user("gl_si")
    assert client.get("/coverage", params={"at": "2025-10-25T12:10:00+08:00", "platform_code": "meituan",
                                           "account_id": batch[0]}).status_code == 404
