"""The officers' roster and person pages, the full-view form, the portal and the agencies' upload."""

from __future__ import annotations

import re

import pytest

from tests.conftest import bearer
from tests.workers.conftest import person_id_of, record


@pytest.fixture(scope="module")
def nanning_worker(app):
    from fastapi.testclient import TestClient

    r = record(county_code="450103")
    with TestClient(app) as c:
        assert c.post("/api/v1/workers", json=r, headers=bearer("meituan-api")).status_code == 201
    return {"person_id": person_id_of(r["id_number"]), **r}


def test_roster_page_is_masked_filtered_and_paginated(client, as_user, nanning_worker):
    csrf = as_user("nn_si")["X-CSRF-Token"]
    page = client.get("/workers")
    assert page.status_code == 200
    assert 'data-testid="workers"' in page.text and "已脱敏" in page.text
    assert "/workers?page=2" in page.text
    assert 'method="post" action="/workers"' in page.text and 'name="csrf_token"' in page.text
    # a search by ID or phone number is answered without the number in the URL or the page
    for number in (nanning_worker["id_number"], nanning_worker["phone"]):
        found = client.post("/workers", data={"csrf_token": csrf, "q": number}, follow_redirects=False)
        assert found.status_code == 200
        assert f'href="/workers/{nanning_worker["person_id"]}"' in found.text
        assert nanning_worker["id_number"] not in found.text and nanning_worker["phone"] not in found.text
    assert nanning_worker["phone"][:3] + "****" + nanning_worker["phone"][-4:] in found.text
    found = client.get("/workers", params={"q": nanning_worker["id_number"]})
    assert f'href="/workers/{nanning_worker["person_id"]}"' in found.text
    assert nanning_worker["id_number"] not in found.text
    assert nanning_worker["id_number"][:4] + "*" * 10 + nanning_worker["id_number"][-4:] in found.text
    # any other search goes to the bookmarkable GET form
    by_name = client.post(
        "/workers",
        data={"csrf_token": csrf, "q": nanning_worker["name"][:1], "status": "active"},
        follow_redirects=False,
    )
    assert by_name.status_code == 303 and by_name.headers["location"].startswith("/workers?q=")
    assert client.get(by_name.headers["location"]).status_code == 200
    assert 'value="4503"' not in page.text  # only the officer's own region in the filter
    second = client.get("/workers", params={"region": "450103", "status": "active", "page": 2}, follow_redirects=False)
    if second.status_code == 303:  # fewer than two pages: sent to the last page, filters kept
        assert second.headers["location"] == "/workers?region=450103&status=active&page=1"
    else:
        assert second.status_code == 200 and "region=450103" in second.text and "status=active" in second.text
    assert client.get("/workers", params={"status": "bogus"}, headers={"Accept": "text/html"}).status_code == 400


def test_person_page_and_full_view_form(client, as_user, db, nanning_worker):
    pid = nanning_worker["person_id"]
    csrf = as_user("nn_si")["X-CSRF-Token"]
    page = client.get(f"/workers/{pid}")
    assert page.status_code == 200
    assert nanning_worker["id_number"] not in page.text and nanning_worker["phone"] not in page.text
    assert "查看完整信息" in page.text and "查询事由" in page.text
    assert f'action="/workers/{pid}/full"' in page.text and 'name="csrf_token"' in page.text
    html = {"Accept": "text/html"}
    res = client.post(f"/workers/{pid}/full", data={"csrf_token": csrf, "purpose": ""}, headers=html)
    assert res.status_code == 400 and nanning_worker["id_number"] not in res.text
    res = client.post(f"/workers/{pid}/full", data={"purpose": "核实"}, headers=html)
    assert res.status_code == 403 and nanning_worker["id_number"] not in res.text
    res = client.post(f"/workers/{pid}/full", data={"csrf_token": csrf, "purpose": "工伤认定核实身份"})
    assert res.status_code == 200 and res.headers["cache-control"] == "no-store"
    assert nanning_worker["id_number"] in res.text and nanning_worker["phone"] in res.text
    assert "工伤认定核实身份" in res.text and 'data-testid="full-notice"' in res.text
    # shown once: the next ordinary view is masked again
    assert nanning_worker["id_number"] not in client.get(f"/workers/{pid}").text


def test_person_page_without_full_permission(client, as_user, nanning_worker):
    pid = nanning_worker["person_id"]
    csrf = as_user("gx_hrss")["X-CSRF-Token"]
    page = client.get(f"/workers/{pid}")
    assert page.status_code == 200 and "查看完整信息" not in page.text
    res = client.post(
        f"/workers/{pid}/full", data={"csrf_token": csrf, "purpose": "x"}, headers={"Accept": "text/html"}
    )
    assert res.status_code == 403 and nanning_worker["id_number"] not in res.text


def test_out_of_scope_person_page(client, as_user, app):
    from fastapi.testclient import TestClient

    r = record(county_code="450305")
    with TestClient(app) as c:
        assert c.post("/api/v1/workers", json=r, headers=bearer("meituan-api")).status_code == 201
    pid = person_id_of(r["id_number"])
    as_user("nn_si")
    res = client.get(f"/workers/{pid}", headers={"Accept": "text/html"})
    assert res.status_code == 404 and "不在您的数据范围内" in res.text


def test_platform_user_reaches_its_workers_and_portal(client, as_user, nanning_worker):
    as_user("meituan_admin")
    portal = client.get("/portal")
    assert portal.status_code == 200
    assert "美团 · 企业门户" in portal.text
    assert 'href="/portal/credentials"' in portal.text and 'href="/workers"' in portal.text
    assert 'enctype="multipart/form-data"' in portal.text and 'name="csrf_token"' in portal.text
    assert 'href="/portal/template.csv"' in portal.text
    active = int(re.search(r'data-testid="active">([\d,]+)<', portal.text).group(1).replace(",", ""))
    assert active >= 1
    assert 'data-testid="batches"' in portal.text
    roster = client.get("/workers")
    assert roster.status_code == 200 and "返回企业门户" in roster.text
    assert "滴滴出行" not in roster.text.split('data-testid="workers"')[1]
    # a platform names its workers by account: no person links, and person pages answer 404
    assert 'href="/workers/' + str(nanning_worker["person_id"]) not in roster.text
    assert client.get(f"/workers/{nanning_worker['person_id']}").status_code == 404
    assert client.get("/workers/upload", follow_redirects=False).headers["location"] == "/portal"


def test_template_csv(client, as_user):
    as_user("didi_admin")
    res = client.get("/portal/template.csv")
    assert res.status_code == 200 and res.headers["content-type"].startswith("text/csv")
    assert res.content.startswith(b"\xef\xbb\xbf")
    assert res.content.decode("utf-8-sig").strip() == "平台账号,姓名,身份证号码,手机号码,接单地区划代码,注册日期"
    assert "attachment" in res.headers["content-disposition"]
    en = client.get("/portal/template.csv", params={"lang": "en"}).content.decode("utf-8-sig").strip()
    assert en == "platform_account_id,name,id_number,phone,county_code,registered_on"


@pytest.mark.parametrize("user,status", [("nn_si", 403), ("insurer_a", 403), ("worker_demo", 403)])
def test_portal_is_for_platform_users_only(client, as_user, user, status):
    as_user(user)
    assert client.get("/portal", headers={"Accept": "text/html"}).status_code == status


def test_anonymous_is_sent_to_sign_in(client):
    res = client.get("/workers", headers={"Accept": "text/html"}, follow_redirects=False)
    assert res.status_code == 303 and res.headers["location"].startswith("/login")
    res = client.get("/portal", headers={"Accept": "text/html"}, follow_redirects=False)
    assert res.status_code == 303


def test_agency_upload_page(client, as_user):
    from tests.workers.conftest import csv_bytes

    csrf = as_user("nn_si")["X-CSRF-Token"]
    page = client.get("/workers/upload")
    assert page.status_code == 200 and 'name="platform_code"' in page.text and "滴滴出行" in page.text
    rows = [record(), record(county_code="450305")]
    res = client.post(
        "/workers/upload",
        data={"csrf_token": csrf, "platform_code": "didi"},
        files={"file": ("didi.csv", csv_bytes(rows), "text/csv")},
        follow_redirects=False,
    )
    assert res.status_code == 303
    report = client.get(res.headers["location"])
    assert report.status_code == 200 and "辖区" in report.text and 'data-testid="rejected">1<' in report.text
    listing = client.get("/workers/upload", params={"platform_code": "didi"})
    assert "didi.csv" in listing.text
    assert client.get("/workers").text.count("/workers/upload") >= 1
