"""Pages outside any one domain: the 404 and 403 pages, the console, the sign-in page, and a worker's
own orders and coverage."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from sqlalchemy import func, select

from oip.auth.models import InsurerAssignment, Organisation, User
from oip.core import clock
from oip.core.db import session_scope
from tests.conftest import sign_in

HTML = {"accept": "text/html,application/xhtml+xml"}


def test_an_unknown_url_is_a_chinese_page_for_a_browser_and_chinese_json_for_the_api(client):
    r = client.get("/no-such-page", headers=HTML)
    assert r.status_code == 404 and r.headers["content-type"].startswith("text/html")
    assert "页面不存在" in r.text and "Not Found" not in r.text and '<nav class="side">' not in r.text
    for url, headers in (("/api/v1/no-such-thing", HTML), ("/no-such-page", {"accept": "application/json"})):
        r = client.get(url, headers=headers)
        assert r.status_code == 404
        assert r.json() == {"error": {"code": "not_found", "field": None, "reason": "页面或接口不存在，请检查地址"}}
    r = client.delete("/api/v1/me")
    assert r.status_code == 405 and r.json()["error"]["code"] == "method_not_allowed"


def test_signed_in_the_404_page_keeps_the_navigation(client):
    sign_in(client, "nn_si")
    r = client.get("/workers/x/y/z", headers=HTML)
    assert r.status_code == 404 and '<nav class="side">' in r.text and "页面不存在" in r.text
    assert 'data-testid="who"' in r.text and "返回首页" in r.text


def test_the_403_page_shows_who_is_signed_in_and_their_navigation(client):
    sign_in(client, "gx_tax")
    r = client.get("/audit", headers=HTML)
    assert r.status_code == 403 and "无权执行此操作" in r.text
    assert '<nav class="side">' in r.text and 'href="/reconciliation"' in r.text and "退出" in r.text


@pytest.mark.parametrize(("username", "target"), [("worker_demo", "/me"), ("meituan_admin", "/portal")])
def test_the_console_sends_workers_and_platforms_to_their_own_start_page(client, username, target):
    sign_in(client, username)
    r = client.get("/console", headers=HTML, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == target


def test_an_insurers_console_counts_its_assigned_people(client):
    sign_in(client, "insurer_a")
    with session_scope() as s:
        n = s.scalar(
            select(func.count())
            .select_from(InsurerAssignment)
            .join(Organisation, Organisation.id == InsurerAssignment.organisation_id)
            .where(Organisation.code == "insurer-a", InsurerAssignment.closed_at.is_(None))
        )
    page = client.get("/console", headers=HTML).text
    assert n > 0 and f"数据范围：受托人员 {n} 人" in page and "区划代码前缀" not in page


def test_the_sign_in_page_is_for_everyone_and_tells_workers_what_they_find(client):
    page = client.get("/login", headers=HTML).text
    assert "<h1>登录</h1>" in page and "工作人员登录" not in page
    assert "从业人员" in page and "订单与保障" in page


def test_the_tax_bureau_reads_the_reconciliation_worklist_without_the_officers_forms(client):
    sign_in(client, "gx_tax")
    page = client.get("/reconciliation", headers=HTML)
    assert page.status_code == 200 and 'data-testid="flags"' in page.text and 'data-testid="read-only"' in page.text
    assert 'action="/reconciliation/run"' not in page.text and 'href="/exchange"' not in page.text
    assert client.post("/reconciliation/run", data={"month": "2025-09"}).status_code == 403
    premiums = client.get("/premiums", headers=HTML).text
    assert 'href="/exchange"' not in premiums


# ---- a worker's orders and coverage ----------------------------------------------------------------


@pytest.fixture(scope="module")
def worker_with_orders(database, tmp_path_factory):
    """A worker on caocao who signs in, with orders three and two days ago (overlapping, across midnight)."""
    from oip.auth.service import hash_secret
    from oip.demo.generate import DEMO_PASSWORD
    from tests.orders.conftest import import_rows, order, register_workers

    ((account, person),) = register_workers("caocao", 1)
    d3 = (clock.today() - dt.timedelta(days=3)).isoformat()
    rows = [
        order(account, "caocao", day=d3, start="09:00", minutes=30),
        order(account, "caocao", day=d3, start="09:20", minutes=30),  # overlaps: 09:00–09:50 covered
        order(account, "caocao", day=d3, start="23:40", minutes=40),
    ]  # 20 min that day, 20 min the next
    import_rows(tmp_path_factory.mktemp("mine"), rows, platform="caocao")
    username = f"w{uuid.uuid4().hex[:10]}"
    with session_scope() as s:
        public = s.scalar(select(Organisation.id).where(Organisation.kind == "public"))
        s.add(
            User(
                username=username,
                display_name="测试骑手",
                role="worker",
                kind="worker",
                organisation_id=public,
                person_id=person,
                password_hash=hash_secret(DEMO_PASSWORD),
            )
        )
    return {"username": username, "person": person, "day": clock.today() - dt.timedelta(days=3)}


def test_covered_days_join_overlapping_orders_and_split_them_at_midnight(worker_with_orders):
    from oip.orders.coverage import covered_days

    d = worker_with_orders["day"]
    with session_scope() as s:
        days = covered_days(
            s, person_id=worker_with_orders["person"], since=d - dt.timedelta(days=1), until=d + dt.timedelta(days=2)
        )
    got = [(x.day, x.orders, x.covered_seconds) for x in days]
    assert got == [
        (d - dt.timedelta(days=1), 0, 0),
        (d, 3, 70 * 60),
        (d + dt.timedelta(days=1), 0, 20 * 60),
        (d + dt.timedelta(days=2), 0, 0),
    ]
    assert days[1].platforms == ["caocao"]


def test_a_worker_sees_their_last_90_days(client, worker_with_orders):
    sign_in(client, worker_with_orders["username"])
    page = client.get("/me/orders", headers=HTML)
    assert page.status_code == 200
    assert 'data-testid="total-orders">3<' in page.text and 'data-testid="covered-days">2<' in page.text
    assert "1 小时 10 分" in page.text and "20 分" in page.text and "曹操出行" in page.text
    assert page.text.count("<tr") == 1 + 90
    nav = page.text.split('<nav class="side">')[1].split("</nav>")[0]
    assert '<a href="/me/orders" class="on"' in nav and '<a href="/me" class="on"' not in nav


def test_a_worker_sees_organisations_not_usernames_of_who_viewed_their_data(client, worker_with_orders):
    from tests.conftest import bearer

    assert client.get(f"/api/v1/workers/{worker_with_orders['person']}", headers=bearer("nn_si")).status_code == 200
    sign_in(client, worker_with_orders["username"])
    page = client.get("/me", headers=HTML).text
    assert "南宁市社会保险事业局" in page and "nn_si" not in page
