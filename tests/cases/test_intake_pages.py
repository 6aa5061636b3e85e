"""The intake's pages: the report forms of staff and workers, and the intake panel of the case page
with the forms each role may use in each state (posted with the CSRF token and the case version)."""

from __future__ import annotations

import datetime as dt
import re

from oip.core import clock
from tests.cases._intake_support import case_json, fresh_worker, jpeg, new_case, worker_demo_accounts
from tests.conftest import bearer


def recent(hours: int = 30) -> dt.datetime:
    return clock.local(clock.now() - dt.timedelta(hours=hours)).replace(second=0, microsecond=0)


def api_case(client, user: str = "meituan_admin", account: str | None = None, hours: int = 30) -> dict:
    """A case reported through the API a little before now (the real clock)."""
    return new_case(client, user, account=account, occurred_at=recent(hours).isoformat(), at=None)


def form_version(html: str) -> str:
    return re.search(r'name="version" value="(\d+)"', html).group(1)


def test_navigation_offers_reporting_to_staff_platforms_and_workers(client, as_user):
    as_user("qx_si")
    assert 'href="/cases/new"' in client.get("/console").text
    as_user("meituan_admin")
    assert "为本企业人员报案" in client.get("/portal").text
    as_user("worker_demo")
    page = client.get("/me").text
    assert 'href="/me/cases/new"' in page and "我要报案" in page
    as_user("gx_union")
    assert "/cases/new" not in client.get("/console").text


def test_staff_register_a_report_on_the_page(client, as_user):
    csrf = as_user("qx_si")["X-CSRF-Token"]
    r = client.get("/cases/new")
    assert r.status_code == 200
    assert '<optgroup label="南宁市">' in r.text and "青秀区" in r.text and 'type="datetime-local"' in r.text
    assert "书面报案" in r.text and 'type="date"' in r.text
    account, _ = fresh_worker("didi")
    when = recent()
    form = {
        "csrf_token": csrf,
        "platform_code": "didi",
        "platform_account_id": account,
        "kind": "injury",
        "occurred_at": when.strftime("%Y-%m-%dT%H:%M"),  # the picker's Beijing time, no offset
        "county_code": "450999",
        "address": "青秀区金湖路 1 号",
        "description": "接送乘客途中发生追尾",
        "injuries": "颈部扭伤",
        "channel": "paper",
        "reported_on": when.date().isoformat(),
    }
    r = client.post("/cases/new", data=form, follow_redirects=False)
    assert r.status_code == 400 and "广西的县级行政区划" in r.text and "青秀区金湖路 1 号" in r.text
    r = client.post("/cases/new", data={**form, "county_code": "450103"}, follow_redirects=False)
    assert r.status_code == 303, r.text
    cid = int(r.headers["location"].rsplit("/", 1)[1])
    c = case_json(client, cid, "qx_hrss")
    assert c["occurred_at"][:16] == when.isoformat()[:16] and c["platform_code"] == "didi"
    page = client.get(f"/cases/{cid}")
    assert page.status_code == 200 and 'data-testid="intake-panel"' in page.text
    assert "书面报案" in page.text and "报案时的保障状态" in page.text
    assert 'data-testid="application-form"' in page.text  # staff register paper applications
    assert 'data-testid="acceptance-form"' not in page.text  # reported, not applied; and qx_si cannot accept


def test_a_worker_reports_in_the_worker_portal(client, as_user):
    csrf = as_user("worker_demo")["X-CSRF-Token"]
    code, account = worker_demo_accounts()[0]
    assert client.get("/cases/new", follow_redirects=False).headers["location"] == "/me/cases/new"
    r = client.get("/me/cases/new")
    assert r.status_code == 200 and f'value="{code}|{account}"' in r.text
    assert 'name="channel"' not in r.text and 'name="platform_account_id"' not in r.text
    form = {
        "csrf_token": csrf,
        "account": f"{code}|{account}",
        "kind": "injury",
        "occurred_at": recent().strftime("%Y-%m-%dT%H:%M"),
        "county_code": "450103",
        "address": "民族大道 1 号",
        "description": "送餐途中摔倒",
    }
    r = client.post("/me/cases/new", data=form, follow_redirects=False)
    assert r.status_code == 303, r.text
    page = client.get(r.headers["location"])
    assert page.status_code == 200 and "本人网上报案" in page.text
    other, _ = fresh_worker("didi")
    r = client.post("/me/cases/new", data={**form, "account": f"didi|{other}"}, follow_redirects=False)
    assert r.status_code == 400 and "只能为本人的平台账号报案" in r.text


def test_the_platform_sees_application_and_uploads_but_not_the_officers_forms(client, as_user):
    cid = api_case(client)["case_id"]
    as_user("meituan_admin")
    page = client.get(f"/cases/{cid}").text
    assert 'data-testid="application-form"' in page and 'enctype="multipart/form-data"' in page
    for form in ("acceptance-form", "refusal-form", "correction-form"):
        assert f'data-testid="{form}"' not in page
    assert '<option value="platform">' in page and 'value="relative"' not in page
    as_user("didi_admin")
    assert client.get(f"/cases/{cid}").status_code == 404


def test_the_officer_works_through_the_panel(client, as_user):
    cid = api_case(client)["case_id"]
    r = client.post(f"/api/v1/cases/{cid}/application", json={"applicant": "platform"}, headers=bearer("meituan_admin"))
    assert r.status_code == 200, r.text
    csrf = as_user("qx_hrss")["X-CSRF-Token"]
    page = client.get(f"/cases/{cid}").text
    for form in ("acceptance-form", "refusal-form", "correction-form", "checklist"):
        assert f'data-testid="{form}"' in page, form
    assert 'data-testid="application-form"' not in page
    v = form_version(page)

    # a correction notice from the checkboxes (the missing items come checked)
    data = {
        "csrf_token": csrf,
        "version": v,
        "issued_on": clock.today().isoformat(),
        "items": ["application_form", "identity", "medical_diagnosis", "accident_account"],
        "note_identity": "身份证复印件不清晰",
    }
    r = client.post(f"/cases/{cid}/correction", data=data, follow_redirects=False)
    assert r.status_code == 303, r.text
    page = client.get(f"/cases/{cid}").text
    assert "身份证复印件不清晰" in page and 'data-testid="fulfil-form"' in page and "待补正" in page

    # materials uploaded through the panel's forms (one refused by content, shown on the case page)
    def upload(name, content, requirement):
        v = form_version(client.get(f"/cases/{cid}").text)
        return client.post(
            f"/cases/{cid}/documents",
            data={"csrf_token": csrf, "version": v, "requirement": requirement},
            files={"file": (name, content, "application/octet-stream")},
            follow_redirects=False,
        )

    r = upload("身份证.pdf", jpeg(), "identity")
    assert r.status_code == 400 and 'data-testid="intake-error"' in r.text and "但其内容是JPEG 图片" in r.text
    for code in ("application_form", "identity", "medical_diagnosis", "accident_account"):
        r = upload(f"{code}.jpg", jpeg(len(code) + 100), code)
        assert r.status_code == 303, r.text
    page = client.get(f"/cases/{cid}").text
    assert page.count('class="tag confirmed">已提交') == 4

    # fulfil, then a stale acceptance form is refused, a fresh one accepted
    stale = form_version(page)
    r = client.post(
        f"/cases/{cid}/correction/fulfil",
        data={"csrf_token": csrf, "version": stale, "fulfilled_on": clock.today().isoformat()},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    r = client.post(
        f"/cases/{cid}/acceptance",
        data={"csrf_token": csrf, "version": stale, "simple": "true"},
        follow_redirects=False,
    )
    assert r.status_code == 409 and "已被他人更新" in r.text
    fresh = form_version(client.get(f"/cases/{cid}").text)
    r = client.post(
        f"/cases/{cid}/acceptance",
        data={"csrf_token": csrf, "version": fresh, "simple": "true", "accepted_on": clock.today().isoformat()},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    c = case_json(client, cid)
    assert (c["state"], c["simple"], c["accepted_on"]) == ("investigating", True, clock.today().isoformat())


def test_duplicates_with_a_merge_button_and_unmerge(client, as_user):
    account, _ = fresh_worker("meituan")
    first = api_case(client, account=account, hours=30)
    second = api_case(client, account=account, hours=29)
    csrf = as_user("qx_hrss")["X-CSRF-Token"]
    page = client.get(f"/cases/{second['case_id']}").text
    assert 'data-testid="duplicates"' in page and first["case_number"] in page and "把本案并入此案件" in page
    r = client.post(
        f"/cases/{second['case_id']}/merge",
        data={"csrf_token": csrf, "into_case_id": str(first["case_id"]), "version": form_version(page)},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    page = client.get(f"/cases/{second['case_id']}").text
    assert "本案已并入案件" in page and "撤销并案" in page
    r = client.post(
        f"/cases/{second['case_id']}/unmerge",
        data={"csrf_token": csrf, "version": form_version(page)},
        follow_redirects=False,
    )
    assert r.status_code == 303
    assert case_json(client, second["case_id"])["state"] == "reported"


def test_refusal_on_the_page(client, as_user):
    cid = api_case(client)["case_id"]
    client.post(f"/api/v1/cases/{cid}/application", json={"applicant": "platform"}, headers=bearer("meituan_admin"))
    csrf = as_user("qx_hrss")["X-CSRF-Token"]
    page = client.get(f"/cases/{cid}").text
    assert "同一事故已另案申请" in page  # the refusal codes by name
    r = client.post(
        f"/cases/{cid}/refusal",
        data={"csrf_token": csrf, "version": form_version(page), "code": "F1", "reason": "非本平台登记人员"},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    assert case_json(client, cid)["state"] == "refused"


def test_pages_render_for_the_roles_that_may_read(client, as_user):
    cid = api_case(client)["case_id"]
    for user in ("gx_hrss", "nn_si", "meituan_admin"):
        as_user(user)
        r = client.get(f"/cases/{cid}")
        assert r.status_code == 200 and 'data-testid="intake-panel"' in r.text, user
    as_user("lz_hrss")
    assert client.get(f"/cases/{cid}").status_code == 404
