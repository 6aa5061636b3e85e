"""The pages of the platforms, orders, premiums, exchange and audit speak Chinese: no platform code,
status code, parameter key, field name, object kind or file-system path as the only label. Codes may
stand in a muted second line (``<span class="muted">``), in ``<code>`` (formats for developers) and
in attributes; those are left out before looking."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest

from tests.conftest import sign_in
from tests.orders.conftest import import_rows, order, register_workers

PLATFORM_CODES = {
    "meituan",
    "didi",
    "huolala",
    "eleme",
    "caocao",
    "dada",
    "shansong",
    "sfcity",
    "kuaigou",
    "didifreight",
    "manbang",
    "bagui",
    "guijie",
}
CODES = PLATFORM_CODES | {
    "completed",
    "cancelled",
    "draft",
    "queued",
    "sent",
    "acknowledged",
    "published",
    "staging",
    "failed",
    "applicant",
    "admitted",
    "open",
    "handled",
    "resolved",
    "proposed",
    "approved",
    "ride_hailing",
    "instant_delivery",
    "intracity_freight",
    "billable_statuses",
    "float_rules",
    "premium",
    "order_id",
    "worker_account_id",
    "accepted_at",
    "finished_at",
    "county_code",
    "income_fen",
    "status",
    "person",
    "user",
    "organisation",
    "registration_batch",
    "api_credential",
    "admission",
    "platform",
    "order_batch",
    "docs",
    "interfaces",
    "var",
    "tmp",
    "exchange",
    "tax",
}


class _Text(HTMLParser):
    """The text a reader sees as labels: outside muted spans, <code>, <script>, <style> and <details>,
    and outside a rejected row's reason (it quotes the values the file must hold, e.g. completed)."""

    SKIP = {"code", "script", "style", "details", "pre"}
    VOID = {"input", "br", "meta", "link", "img", "hr"}

    def __init__(self):
        super().__init__()
        self.stack: list[bool] = []
        self.words: list[tuple[str, str]] = []

    def handle_starttag(self, tag, attrs):
        if tag in self.VOID:
            return
        classes = (dict(attrs).get("class") or "").split()
        skip = tag in self.SKIP or "muted" in classes or "reason" in classes
        self.stack.append((tag, skip or (self.stack[-1][1] if self.stack else False)))

    def handle_endtag(self, tag):
        while self.stack:
            t, _ = self.stack.pop()
            if t == tag:
                break

    def handle_data(self, data):
        if self.stack and self.stack[-1][1]:
            return
        for w in re.findall(r"[A-Za-z0-9_\-.@]+", data):  # whole tokens: a username like caocao-api is no code
            self.words.append((w, data.strip()[:100]))


def raw_codes(html: str) -> list[tuple[str, str]]:
    p = _Text()
    p.feed(html)
    return [(w, ctx) for w, ctx in p.words if w in CODES]


@pytest.fixture(scope="module")
def rejected_batch(database, tmp_path_factory):
    ((a, _),) = register_workers("meituan", 1)
    res = import_rows(tmp_path_factory.mktemp("lang"), [order(a, day="2025-10-24"), order(a, status="done")])
    assert res.rejected == 1
    return a, res.batch_id


def test_the_parser_sees_only_unmuted_text():
    html = '<td>美团<br><span class="muted">meituan</span></td><td><code>status</code></td><td>completed</td>'
    assert raw_codes(html) == [("completed", "completed")]


@pytest.mark.parametrize("username", ["gx_si", "gx_hrss", "meituan_admin"])
def test_no_codes_as_labels(client, username, rejected_batch):
    account, batch_id = rejected_batch
    sign_in(client, username)
    urls = ["/platforms", "/platforms/meituan", "/premiums", "/orders?month=2025-10", f"/orders/batches/{batch_id}"]
    if username == "meituan_admin":
        urls += ["/portal/orders"]
    else:
        urls += [
            "/admissions",
            "/admissions/1",
            "/coverage",
            "/audit",
            f"/coverage?at=2025-10-24T12:10&platform_code=meituan&account_id={account}",
        ]
    if username != "meituan_admin":
        urls += ["/fund/supervision", "/fund/supervision/major"]
    if username == "gx_si":
        urls += ["/exchange", "/reconciliation"]
    if username == "gx_hrss":
        urls += ["/platforms/new", "/admissions/new"]
    found = {}
    for url in urls:
        r = client.get(url)
        assert r.status_code == 200, (url, r.status_code)
        if bad := raw_codes(r.text):
            found[url] = bad[:5]
    assert not found, found


def test_audit_objects_are_named(client):
    sign_in(client, "gx_hrss")
    html = client.get("/audit", params={"action": "user.create"}).text
    assert re.search(r"<td>用户：\w+（[^）]+）", html)
    assert '<span class="muted">user ' in html
    html = client.get("/audit", params={"action": "admission."}).text
    assert "试点纳入申请：八桂快送" in html or "试点纳入申请：桂捷出行" in html


def test_rejects_table_has_chinese_headers(client, rejected_batch):
    sign_in(client, "gx_si")
    html = client.get(f"/orders/batches/{rejected_batch[1]}").text
    table = html[html.index('data-testid="rejects"') :]
    assert '<th>订单接单时间<br><span class="muted">accepted_at</span></th>' in table
    assert '<th>订单完成/取消时间<br><span class="muted">finished_at</span></th>' in table
