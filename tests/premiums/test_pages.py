"""Pages and the JSON API, signed in as officers of several roles and as platforms; data scope."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from oip.core.db import session_scope
from oip.exchange import tax
from oip.platforms.models import Platform
from oip.premiums import reconciliation, service
from oip.premiums.models import Declaration
from tests.conftest import bearer
from tests.premiums.conftest import make_platform, officer, orders, publish

HTML = {"accept": "text/html"}
MONTH = "2025-07"


@pytest.fixture(scope="module")
def pilot_month(database, tmp_path_factory):
    """美团 and 滴滴 declared and sent for 2025-07; 美团 underpaid (arrears), 滴滴 paid in full."""
    gw = tax.FileTaxGateway(tmp_path_factory.mktemp("tax"))
    with session_scope() as s:
        plats = {p.code: p for p in s.scalars(select(Platform).where(Platform.code.in_(["meituan", "didi"])))}
        publish(s, plats["meituan"], MONTH, orders("mt", 200))  # 200 × 0.07 = 14.00 yuan
        publish(s, plats["didi"], MONTH, orders("dd", 300))  # 300 × 0.01 = 3.00 yuan
        si = officer(s)
        service.send(s, si, MONTH, platforms_=["meituan", "didi"], gateway=gw)
        body, sig = tax.returns_message(
            [
                {
                    "platform_code": "meituan",
                    "month": MONTH,
                    "declared_fen": 1400,
                    "paid_fen": 1000,
                    "paid_on": "2025-08-12",
                    "tax_reference": "PAGE-MT-1",
                },
                {
                    "platform_code": "didi",
                    "month": MONTH,
                    "declared_fen": 300,
                    "paid_fen": 300,
                    "paid_on": "2025-08-12",
                    "tax_reference": "PAGE-DD-1",
                },
            ]
        )
        gw.inbox.mkdir(parents=True, exist_ok=True)
        (gw.inbox / "r.json").write_bytes(body)
        (gw.inbox / "r.json.sig").write_text(sig)
        rep = reconciliation.fetch_returns(s, si, gw)
    rep.settle()
    return gw


def test_officer_page_compute_and_send(client, as_user, tmp_path, monkeypatch):
    from oip.core import config

    monkeypatch.setattr(config.get_settings(), "tax_dir", tmp_path)  # the configured file gateway
    with session_scope() as s:
        p = make_platform(s)
        publish(s, p, "2025-10", orders("pg", 30))
        code = p.code
    csrf = as_user("gx_si")["X-CSRF-Token"]
    page = client.get("/premiums", params={"month": "2025-10"})
    assert page.status_code == 200 and "保障费申报 · 2025-10 订单月份" in page.text
    assert 'action="/premiums/compute"' in page.text and 'action="/premiums/send"' in page.text
    assert 'name="csrf_token"' in page.text and "年度费率浮动档次" in page.text and "按业务数据计算" in page.text
    r = client.post("/premiums/compute", data={"csrf_token": csrf, "month": "2025-10"}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/premiums?month=2025-10&done=computed"
    page = client.get(r.headers["location"])
    row = re.search(rf'<tr data-platform="{code}">(.*?)</tr>', page.text, re.S).group(1)
    assert "核定中（未推送）" in row and ">30<" in row and "2.10" in row  # 30 × 0.07
    r = client.post("/premiums/send", data={"csrf_token": csrf, "month": "2025-10"}, follow_redirects=False)
    assert r.status_code == 303 and "done=sent" in r.headers["location"]
    row = re.search(rf'<tr data-platform="{code}">(.*?)</tr>', client.get(r.headers["location"]).text, re.S).group(1)
    assert "已推送税务" in row and "DECL-202510-" in row
    assert list((tmp_path / "outbox").glob("DECL-202510-*.json"))
    # without the CSRF token nothing happens
    r = client.post("/premiums/compute", data={"month": "2025-10"}, headers=HTML)
    assert r.status_code == 403
    assert (
        client.post("/premiums/compute", data={"csrf_token": csrf, "month": "2025-13"}, headers=HTML).status_code == 400
    )
    assert client.get("/exchange").status_code == 200


def test_read_only_roles(client, as_user, pilot_month):
    for user in ("nn_si", "gx_tax", "gx_finance"):
        client.cookies.clear()
        as_user(user)
        page = client.get("/premiums", params={"month": MONTH})
        assert page.status_code == 200, user
        assert "美团" in page.text and "14.00" in page.text
        assert 'action="/premiums/compute"' not in page.text and "年度费率浮动档次" not in page.text
        # The tax bureau reads the worklist (it collects the arrears); the others may not.
        worklist = client.get("/reconciliation", headers=HTML)
        if user == "gx_tax":
            assert worklist.status_code == 200 and 'action="/reconciliation/run"' not in worklist.text
        else:
            assert worklist.status_code == 403


def test_reconciliation_worklist(client, as_user, pilot_month):
    csrf = as_user("gx_si")["X-CSRF-Token"]
    page = client.get("/reconciliation", params={"month": MONTH, "platform_code": "meituan"})
    assert page.status_code == 200 and 'data-flag="arrears"' in page.text and "欠缴 4.00 元" in page.text
    assert (
        'data-flag="arrears"'
        not in client.get("/reconciliation", params={"month": MONTH, "platform_code": "didi"}).text
    )
    flag_id = int(re.search(r'action="/reconciliation/flags/(\d+)/handle"', page.text).group(1))
    r = client.post(
        f"/reconciliation/flags/{flag_id}/handle",
        data={"csrf_token": csrf, "note": "已发催缴通知"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    page = client.get(r.headers["location"])
    assert "已发催缴通知" in page.text and "已处理" in page.text
    r = client.post("/reconciliation/run", data={"csrf_token": csrf, "month": MONTH}, follow_redirects=False)
    assert r.status_code == 303 and "done=reconciled" in r.headers["location"]


def test_platform_portal_shows_what_it_owes(client, as_user, pilot_month):
    as_user("meituan_admin")
    for url in ("/premiums", "/portal/premiums"):
        page = client.get(url)
        assert page.status_code == 200 and "保障费与欠费" in page.text
        assert 'data-testid="arrears-notice"' in page.text and "4.00 元" in page.text
        assert "欠费" in page.text and "2025-08-15" in page.text
        assert "滴滴" not in page.text
    assert client.get("/reconciliation", headers=HTML).status_code == 403
    client.cookies.clear()
    as_user("didi_admin")
    page = client.get("/portal/premiums")
    row = re.search(r"<tr><td>2025-07</td>(.*?)</tr>", page.text, re.S).group(1)
    assert "已缴清" in row and "3.00" in row


def test_api_scope(client, pilot_month):
    mt = bearer("meituan_admin")
    rows = client.get("/api/v1/premiums/declarations", headers=mt).json()
    assert rows and {r["platform_code"] for r in rows} == {"meituan"}
    assert all(r["status"] in ("sent", "acknowledged") for r in rows)
    assert client.get("/api/v1/premiums/declarations", params={"platform_code": "didi"}, headers=mt).json() == []
    flags = client.get("/api/v1/premiums/flags", headers=mt).json()
    assert flags and {f["platform_code"] for f in flags} == {"meituan"}
    st = client.get("/api/v1/premiums/statement", params={"platform_code": "didi"}, headers=mt).json()
    assert st["platform_code"] == "meituan" and st["owed_overdue_fen"] >= 400
    rec = client.get("/api/v1/premiums/reconciliation", params={"month": MONTH}, headers=mt).json()
    assert [r["platform_code"] for r in rec] == ["meituan"]
    assert client.post("/api/v1/premiums/declarations/compute", json={"month": MONTH}, headers=mt).status_code == 403

    si = bearer("gx_si")
    rows = client.get("/api/v1/premiums/declarations", params={"month": MONTH}, headers=si).json()
    assert {"meituan", "didi"} <= {r["platform_code"] for r in rows}
    mt_row = next(r for r in rows if r["platform_code"] == "meituan")
    assert (mt_row["orders"], mt_row["rate_yuan"], mt_row["total_fen"]) == (200, "0.07", 1400)
    r = client.get("/api/v1/premiums/statement", headers=si)
    assert r.status_code == 400 and r.json()["error"]["field"] == "platform_code"
    rec = client.get("/api/v1/premiums/reconciliation", params={"month": MONTH, "flag": "arrears"}, headers=si).json()
    assert "meituan" in {r["platform_code"] for r in rec} and "didi" not in {r["platform_code"] for r in rec}
    r = client.post("/api/v1/premiums/declarations/compute", json={"month": "2025-7"}, headers=si)
    assert r.status_code == 400 and r.json()["error"]["field"] == "month"
    r = client.post("/api/v1/premiums/declarations/compute", json={"month": MONTH, "engine": "sqlite"}, headers=si)
    assert r.status_code == 400 and r.json()["error"] == {
        "code": "invalid",
        "field": "engine",
        "reason": "计算引擎应为 duckdb 或 spark",
    }
    assert client.get("/api/v1/premiums/parameters", headers=si).status_code == 200
    assert client.get("/api/v1/exchange/messages", headers=si).json()


def test_returns_upload_through_the_api(client, pilot_month):
    si = bearer("gx_si")
    body, sig = tax.returns_message(
        [
            {
                "platform_code": "meituan",
                "month": MONTH,
                "declared_fen": 0,
                "paid_fen": 400,
                "paid_on": "2025-09-01",
                "tax_reference": "PAGE-MT-2",
            }
        ]
    )
    files = {"file": ("returns.json", body, "application/json")}
    r = client.post(
        "/api/v1/premiums/returns",
        files=files,
        data={"signature": sig[:-1] + ("1" if sig.endswith("0") else "0")},
        headers=si,
    )  # one character changed (appending "0" to a signature ending in "0" changed nothing)
    assert r.status_code == 400 and "签名校验失败" in r.json()["error"]["reason"]
    r = client.post("/api/v1/premiums/returns", files=files, data={"signature": sig}, headers=si)
    assert r.status_code == 200, r.text
    assert r.json()["messages"][0]["status"] == "imported" and r.json()["reconciled_months"] == [MONTH]
    flags = client.get("/api/v1/premiums/flags", params={"platform_code": "meituan", "month": MONTH}, headers=si).json()
    assert {f["kind"] for f in flags} == {"late"}  # the arrears are paid (late)
    with session_scope() as s:
        d = s.scalar(select(Declaration).join(Platform).where(Platform.code == "meituan", Declaration.month == MONTH))
        assert d.status == "acknowledged"


def test_the_tax_bureau_sees_a_declaration_only_once_it_was_sent(client, as_user, tmp_path):
    """A draft is the agency's work in progress: the tax bureau (like the platform) sees declarations
    once they were pushed to it — in the API and on the page."""
    with session_scope() as s:
        p = make_platform(s)
        code = p.code
        publish(s, p, "2025-09", orders("tx", 120))
        service.declare(s, officer(s), "2025-09", platforms_=[code])
    q = {"month": "2025-09", "platform_code": code}
    si = client.get("/api/v1/premiums/declarations", params=q, headers=bearer("gx_si")).json()
    assert [d["status"] for d in si] == ["draft"]
    assert client.get("/api/v1/premiums/declarations", params=q, headers=bearer("gx_tax")).json() == []
    as_user("gx_tax")
    page = client.get("/premiums", params={"month": "2025-09"})
    assert page.status_code == 200 and "核定中（未推送）" not in page.text
    with session_scope() as s:
        service.send(s, officer(s), "2025-09", platforms_=[code], gateway=tax.FileTaxGateway(tmp_path))
    sent = client.get("/api/v1/premiums/declarations", params=q, headers=bearer("gx_tax")).json()
    assert [d["status"] for d in sent] == ["sent"] and sent[0]["total_fen"] == 840
