"""The appraisal on the case page, through its forms (signed in, with the CSRF token): apply, accept,
draw, extend, conclude; errors shown in the panel; the committees' worklist; what the parties see."""

from __future__ import annotations

import re

from tests.appraisal.conftest import confirmed_case, days_from_today
from tests.conftest import bearer

HTML = {"accept": "text/html"}


def form(csrf: dict, **fields) -> dict:
    return {"csrf_token": csrf["X-CSRF-Token"], **fields}


def _version(html: str) -> str:
    return re.search(r'name="version" value="(\d+)"', html).group(1)


def _appraisal_id(html: str) -> str:
    return re.search(r'action="/appraisals/(\d+)/acceptance"', html).group(1)


def test_an_officer_walks_an_appraisal_through_the_case_page(client, as_user):
    cid = confirmed_case(county="450103")
    csrf = as_user("nn_hrss")
    page = client.get(f"/cases/{cid}")
    assert page.status_code == 200 and 'id="appraisal"' in page.text and "申请劳动能力鉴定" in page.text
    # A missing date comes back on the case page, in the panel.
    r = client.post(
        f"/cases/{cid}/appraisals", data=form(csrf, kind="initial", applicant="worker", version=_version(page.text))
    )
    assert r.status_code == 400 and 'data-field="treatment_ended_on"' in r.text and "请填写治疗终结" in r.text
    r = client.post(
        f"/cases/{cid}/appraisals",
        data=form(
            csrf,
            kind="initial",
            applicant="relative",
            treatment_ended_on=days_from_today(-7),
            version=_version(page.text),
        ),
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"] == f"/cases/{cid}#appraisal"
    page = client.get(f"/cases/{cid}")
    assert "初次鉴定" in page.text and "已申请，待受理" in page.text and "近亲属" in page.text
    aid = _appraisal_id(page.text)

    # A stale form (the version it was drawn with) is refused.
    r = client.post(f"/appraisals/{aid}/acceptance", data=form(csrf, needed_specialties="orthopaedics", version="1"))
    assert r.status_code == 409 and "已被他人更新" in r.text
    r = client.post(
        f"/appraisals/{aid}/acceptance",
        data=form(
            csrf, needed_specialties=["orthopaedics", "rehabilitation"], panel_size="3", version=_version(page.text)
        ),
        follow_redirects=True,
    )
    assert "已受理，鉴定中" in r.text and "骨科、康复医学科" in r.text and "鉴定结论期限" in r.text
    r = client.post(f"/appraisals/{aid}/panel", data=form(csrf, version=_version(r.text)), follow_redirects=True)
    assert "随机抽取" in r.text and "专家组" in r.text and "重新抽取" in r.text
    members = re.findall(r'name="unavailable_expert_ids" value="(\d+)"', r.text)
    assert len(members) == 3
    r = client.post(
        f"/appraisals/{aid}/extension",
        data=form(csrf, reason="待复查影像", version=_version(r.text)),
        follow_redirects=True,
    )
    assert "延长，原期限" in r.text and "待复查影像" in r.text and "延长鉴定结论期限 30 日" not in r.text
    r = client.post(
        f"/appraisals/{aid}/conclusion", data=form(csrf, grade="", dependency="none", version=_version(r.text))
    )
    assert r.status_code == 400 and 'data-field="grade"' in r.text
    r = client.post(
        f"/appraisals/{aid}/conclusion",
        data=form(csrf, grade="10", dependency="none", note="左手示指末节缺失", version=_version(r.text)),
        follow_redirects=True,
    )
    assert "十级伤残，无护理依赖" in r.text and "申请再次鉴定" in r.text and "复查鉴定" in r.text
    assert "已作出鉴定结论" in r.text  # the case's state
    # What may be asked for now: a re-appraisal (the window is open), not yet a review.
    assert '<option value="reappraisal">' in r.text and '<option value="review">' not in r.text

    # The committees' worklist.
    r = client.get("/appraisals?bucket=concluded")
    assert r.status_code == 200 and f'href="/cases/{cid}#appraisal"' in r.text and "十级伤残" in r.text
    assert client.get("/appraisals?bucket=nonsense").status_code == 200  # an unknown tab shows all
    assert 'href="/appraisals"' in client.get("/appraisals").text  # in the navigation


def test_the_platform_applies_and_sees_no_panel_or_committee_forms(client, as_user):
    cid = confirmed_case(county="450103", platform="meituan")
    csrf = as_user("meituan_admin")
    page = client.get(f"/cases/{cid}")
    assert "申请劳动能力鉴定" in page.text and 'name="applicant"' not in page.text  # it applies as the platform
    r = client.post(
        f"/cases/{cid}/appraisals",
        data=form(csrf, kind="initial", treatment_ended_on=days_from_today(-3), version=_version(page.text)),
        follow_redirects=True,
    )
    assert r.status_code == 200 and "平台企业，" in r.text and '/acceptance"' not in r.text
    aid = client.get(f"/api/v1/cases/{cid}/appraisals", headers=bearer("nn_hrss")).json()[0]["id"]
    client.post(
        f"/api/v1/appraisals/{aid}/acceptance", json={"needed_specialties": ["orthopaedics"]}, headers=bearer("nn_hrss")
    )
    client.post(f"/api/v1/appraisals/{aid}/panel", json={}, headers=bearer("nn_hrss"))
    page = client.get(f"/cases/{cid}")
    assert "已随机抽取" in page.text and "unavailable_expert_ids" not in page.text
    assert f'action="/appraisals/{aid}/conclusion"' not in page.text
    # Its form posted anyway is refused.
    r = client.post(f"/appraisals/{aid}/conclusion", data=form(csrf, grade="9", dependency="none"), headers=HTML)
    assert r.status_code == 403
    assert client.get("/appraisals", headers=HTML).status_code == 403


def test_a_county_officer_reads_the_appraisal_without_forms(client, as_user):
    cid = confirmed_case(county="450103")
    a = client.post(
        f"/api/v1/cases/{cid}/appraisals",
        json={"treatment_ended_on": days_from_today(-3)},
        headers=bearer("meituan_admin"),
    ).json()
    as_user("qx_hrss")
    page = client.get(f"/cases/{cid}")
    assert a["number"] in page.text and '/acceptance"' not in page.text
    assert a["number"] in client.get("/appraisals?bucket=pending").text
    as_user("lz_hrss")
    assert a["number"] not in client.get("/appraisals?bucket=pending").text


def test_no_codes_as_labels_on_the_panel_and_the_worklist(client, as_user):
    from oip.appraisal import specialties
    from tests.test_pages_language import _Text

    codes = set(specialties.specialties()) | {
        "initial",
        "reappraisal",
        "review",
        "applied",
        "accepted",
        "concluded",
        "complete",
        "partial",
        "tied_person",
        "tied_platform",
        "worker",
        "relative",
        "platform",
    }
    cid = confirmed_case(county="450103")
    h = bearer("nn_hrss")
    a = client.post(
        f"/api/v1/cases/{cid}/appraisals", json={"treatment_ended_on": days_from_today(-5)}, headers=h
    ).json()
    client.post(f"/api/v1/appraisals/{a['id']}/acceptance", json={"needed_specialties": ["urology"]}, headers=h)
    client.post(f"/api/v1/appraisals/{a['id']}/panel", json={}, headers=h)
    as_user("nn_hrss")
    for url in (f"/cases/{cid}", "/appraisals", "/appraisals?bucket=open"):
        p = _Text()
        p.feed(client.get(url).text)
        assert not [w for w, _ in p.words if w in codes], url
