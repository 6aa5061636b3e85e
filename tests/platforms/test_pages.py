"""HTML pages, signed in through the login form: GET each page, POST the forms with the CSRF token."""

from __future__ import annotations

import re

from sqlalchemy import select

from tests.platforms.conftest import application, days, new_code, new_uscc, today

HTML = {"accept": "text/html"}


def form(csrf: dict, **fields) -> dict:
    return {"csrf_token": csrf["X-CSRF-Token"], **fields}


def test_register_pages(client, as_user):
    as_user("gx_hrss")
    r = client.get("/platforms")
    assert r.status_code == 200 and "饿了么 / 淘宝闪购" in r.text and "/platforms/new" in r.text
    assert client.get("/platforms?status=applicant").text.count("申请中") >= 2
    r = client.get("/platforms/meituan")
    assert r.status_code == 200 and "美团" in r.text and "0.07 元/单" in r.text and "修改登记信息" in r.text
    assert 'id="credentials"' not in r.text  # hrss_region does not manage credentials
    assert client.get("/platforms/new").status_code == 200
    assert client.get("/platforms/nosuch", headers=HTML).status_code == 404


def test_create_and_edit_through_the_forms(client, as_user):
    csrf = as_user("gx_hrss")
    code = new_code()
    r = client.post(
        "/platforms/new",
        data=form(
            csrf,
            code=code,
            uscc=new_uscc(),
            industry_code="instant_delivery",
            name="页面登记",
            base_yuan="0.25",
            covered_from="2025-07-01",
            basis="人社部发〔2025〕24号",
        ),
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"] == f"/platforms/{code}?done=created"
    page = client.get(r.headers["location"])
    assert "平台企业已登记" in page.text and "0.25 元/单" in page.text

    steps = [
        (
            "edit",
            {
                "uscc": re.search(r'name="uscc" value="(\w+)"', page.text).group(1),
                "headquarters": "上海",
                "headquarters_region": "310104",
                "contact_name": "赵六",
                "contact_phone": "13700001111",
                "contact_email": "z@example.cn",
            },
        ),
        ("names", {"name": "页面新名", "valid_from": "2026-03-01", "replaces": "true"}),
        ("rates", {"base_yuan": "0.07", "valid_from": "2026-07-01"}),
        ("regions", {"region_codes": ["450100", "450300"]}),
    ]
    for path, fields in steps:
        r = client.post(f"/platforms/{code}/{path}", data=form(csrf, **fields), follow_redirects=False)
        assert r.status_code == 303, (path, r.text)
    page = client.get(f"/platforms/{code}").text
    for text in (
        "137****1111",
        "上海市",
        '<span class="muted">310104</span>',
        "页面新名",
        "2026-02-28",
        "南宁市、桂林市",
    ):
        assert text in page, text
    assert "13700001111" not in page


def test_form_errors_keep_the_input(client, as_user, db):
    csrf = as_user("gx_hrss")
    code = new_code()
    r = client.post(
        "/platforms/new",
        data=form(
            csrf,
            code=code,
            uscc="123",
            industry_code="ride_hailing",
            name="保留输入",
            base_yuan="0.01",
            covered_from="2025-07-01",
            basis="文号",
        ),
    )
    assert r.status_code == 400 and "统一社会信用代码" in r.text and 'value="保留输入"' in r.text
    r = client.post(
        "/platforms/new",
        data=form(
            csrf,
            code=code,
            uscc=new_uscc(),
            industry_code="ride_hailing",
            name="缺日期",
            base_yuan="0.01",
            basis="文号",
        ),
    )
    assert r.status_code == 400 and "纳入试点日期：必填" in r.text
    from oip.platforms.models import Platform

    assert db.scalar(select(Platform).where(Platform.code == code)) is None
    # a sub-form error shows the message page
    r = client.post("/platforms/meituan/rates", data=form(csrf, base_yuan="-1", valid_from="2026-07-01"), headers=HTML)
    assert r.status_code == 400 and "基准额" in r.text
    # k is never set on the platform's page (only by approving a yearly proposal)
    page = client.get("/platforms/meituan").text
    assert 'action="/platforms/meituan/floats"' not in page and "1 月 1 日前核定" in page
    r = client.post("/platforms/meituan/floats", data=form(csrf, year=str(today().year + 1), k="1"), headers=HTML)
    assert r.status_code in (404, 405)


def test_posting_without_the_csrf_token_is_refused(client, as_user):
    as_user("gx_hrss")
    r = client.post("/platforms/meituan/rates", data={"base_yuan": "0.07", "valid_from": "2026-07-01"}, headers=HTML)
    assert r.status_code == 403 and "CSRF" in r.text


def test_admission_pages_and_forms(client, as_user):
    csrf = as_user("gx_hrss")
    assert client.get("/admissions").status_code == 200
    assert "申请材料" in client.get("/admissions/new").text
    body = application()
    body.pop("code")
    code = new_code()
    r = client.post(
        "/admissions/new",
        data=form(csrf, code=code, **{k: v for k, v in body.items()}),
        files=[
            ("attachments", ("申请书.pdf", b"%PDF-1.4 page upload", "application/pdf")),
            ("attachments", ("", b"", "application/octet-stream")),
        ],
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    url = r.headers["location"].split("?")[0]
    page = client.get(r.headers["location"]).text
    assert "已办理：受理书面申请" in page and "申请书.pdf" in page and "/api/v1/attachments/" in page
    assert set(re.findall(r'data-action="(\w+)"', page)) == {"assess", "reject", "withdraw"}
    att = re.search(r'href="(/api/v1/attachments/\d+)"', page).group(1)
    assert client.get(att).content == b"%PDF-1.4 page upload"

    r = client.post(
        f"{url}/actions/assess",
        data=form(csrf, decision="pass", comment="页面评估"),
        files=[("attachments", ("评估报告.docx", b"docx bytes", "application/octet-stream"))],
        follow_redirects=False,
    )
    assert r.status_code == 303
    page = client.get(url).text
    assert "评估通过" in page and "评估报告.docx" in page and "页面评估" in page
    assert set(re.findall(r'data-action="(\w+)"', page)) == {"report", "reject", "withdraw"}
    # an illegal action through the page answers with the message page
    r = client.post(f"{url}/actions/conclude", data=form(csrf, decision="include"), headers=HTML)
    assert r.status_code == 409 and "评估通过" in r.text


def test_application_form_error_keeps_the_input(client, as_user):
    csrf = as_user("gx_hrss")
    body = application(contact_phone="12")
    r = client.post("/admissions/new", data=form(csrf, **body))
    assert r.status_code == 400 and "手机号码" in r.text and body["name"] in r.text


def test_objection_forms_on_the_demo_notice(client, as_user):
    csrf = as_user("gx_hrss")
    bagui = next(a for a in client.get("/api/v1/admissions").json() if a["platform_code"] == "bagui")
    url = f"/admissions/{bagui['id']}"
    page = client.get(url).text
    assert "登记公示期异议" in page and "/objections/" in page and "方可作出决定" in page
    assert set(re.findall(r'data-action="(\w+)"', page)) == {"reject", "withdraw", "record_objection"}
    r = client.post(
        f"{url}/objections",
        data=form(csrf, received_on=days(0), objector="页面异议人", content="内容"),
        follow_redirects=False,
    )
    assert r.status_code == 303
    assert "页面异议人" in client.get(url).text


def test_read_only_roles_see_no_forms(client, as_user):
    as_user("gx_union")
    adm = client.get("/api/v1/admissions").json()[0]
    page = client.get(f"/admissions/{adm['id']}")
    assert page.status_code == 200 and "data-action" not in page.text
    assert "/admissions/new" not in client.get("/admissions").text


def test_credentials_pages_for_officers(client, as_user):
    csrf = as_user("gx_si")
    page = client.get("/platforms/kuaigou").text
    assert 'id="credentials"' in page and "kuaigou-demo" in page
    r = client.post("/platforms/kuaigou/credentials", data=form(csrf, label="页面签发"))
    assert r.status_code == 200 and r.headers["cache-control"] == "no-store"
    client_id = re.search(r'data-testid="client-id">([^<]+)<', r.text).group(1)
    assert re.search(r'data-testid="client-secret">([^<]{32,})<', r.text)
    assert "页面签发" in client.get("/platforms/kuaigou").text
    r = client.post(f"/platforms/kuaigou/credentials/{client_id}/revoke", data=form(csrf), follow_redirects=False)
    assert r.status_code == 303
    assert "已于" in client.get("/platforms/kuaigou").text


def test_portal_credentials_page(client, as_user):
    csrf = as_user("meituan_admin")
    page = client.get("/portal/credentials")
    assert page.status_code == 200 and "meituan-demo" in page.text and "didi-demo" not in page.text
    r = client.post("/portal/credentials", data=form(csrf, label="门户自助"))
    assert r.status_code == 200 and "只显示这一次" in r.text
    client_id = re.search(r'data-testid="client-id">([^<]+)<', r.text).group(1)
    secret = re.search(r'data-testid="client-secret">([^<]+)<', r.text).group(1)
    assert (
        client.post(
            "/api/v1/auth/token",
            data={"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret},
        ).status_code
        == 200
    )
    r = client.post(f"/portal/credentials/{client_id}/revoke", data=form(csrf), follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/portal/credentials?done=revoked"
    assert (
        client.post(
            "/api/v1/auth/token",
            data={"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret},
        ).status_code
        == 401
    )
    # its own detail page works; another platform's answers as not found
    assert client.get("/platforms/meituan").status_code == 200
    assert client.get("/platforms/didi", headers=HTML).status_code == 404
    assert client.post("/platforms/didi/credentials", data=form(csrf), headers=HTML).status_code == 404


def test_portal_credentials_is_for_platform_users(client, as_user):
    as_user("gx_si")
    assert client.get("/portal/credentials", headers=HTML).status_code == 403


def test_conclude_form_appears_once_the_notice_is_over(client, as_user, run_admission):
    from tests.platforms.conftest import past_notice

    adm = run_admission(past_notice())
    csrf = as_user("gx_hrss")
    url = f"/admissions/{adm['id']}"
    page = client.get(url).text
    assert "conclude" in re.findall(r'data-action="(\w+)"', page) and 'data-testid="blocker"' not in page
    r = client.post(
        f"{url}/actions/conclude", data=form(csrf, decision="include", included_from=days(1)), follow_redirects=False
    )
    assert r.status_code == 303
    page = client.get(url).text
    assert "已纳入试点" in page and "data-action" not in page
