"""The expert pool's pages, signed in through the login form: list and filter, add, edit, ties,
deactivate; who sees the forms."""

from __future__ import annotations

import re

from tests.appraisal.conftest import new_expert, new_id_number, unique_name

HTML = {"accept": "text/html"}


def form(csrf: dict, **fields) -> dict:
    return {"csrf_token": csrf["X-CSRF-Token"], **fields}


def test_the_list_filters_and_pages(client, as_user):
    as_user("gx_hrss")
    r = client.get("/appraisal/experts")
    assert r.status_code == 200 and "鉴定专家库" in r.text and "自治区劳动能力鉴定委员会" in r.text
    assert 'href="/appraisal/experts"' in r.text  # in the navigation
    assert "专家分页" in r.text  # ~200 experts, 50 a page
    r = client.get("/appraisal/experts?committee=450200&specialty=neurology")
    rows = re.findall(r"<tr><td><a href=\"/appraisal/experts/\d+\">", r.text)
    assert len(rows) >= 1 and "柳州市劳动能力鉴定委员会" in r.text and "神经内科" in r.text
    assert "/appraisal/experts/new" in r.text  # the region keeps its own pool
    r = client.get("/appraisal/experts?active=0")
    assert "已停用" in r.text


def test_a_county_officer_reads_without_forms(client, as_user):
    e = new_expert(client, "nn_hrss")
    as_user("qx_hrss")
    r = client.get("/appraisal/experts")
    assert r.status_code == 200 and "/appraisal/experts/new" not in r.text and 'id="f_committee"' not in r.text
    r = client.get(f"/appraisal/experts/{e['id']}")
    assert r.status_code == 200 and e["name"] in r.text and "停用专家" not in r.text and "修改专家信息" not in r.text
    assert client.get("/appraisal/experts/new", headers=HTML).status_code == 403


def test_the_region_reads_a_city_pool_without_forms(client, as_user):
    e = new_expert(client, "nn_hrss")
    as_user("gx_hrss")
    r = client.get(f"/appraisal/experts/{e['id']}")
    assert r.status_code == 200 and "停用专家" not in r.text


def test_add_edit_tie_and_deactivate_through_the_forms(client, as_user):
    csrf = as_user("nn_hrss")
    assert client.get("/appraisal/experts/new").status_code == 200
    name = unique_name()
    fields = {"name": name, "specialty_code": "neurosurgery", "title": "主治医师", "organisation": "南宁市第一人民医院"}
    r = client.post("/appraisal/experts/new", data=form(csrf, **fields), follow_redirects=False)
    assert r.status_code == 400 and "高级专业技术职务" in r.text and f'value="{name}"' in r.text
    fields["title"] = "主任医师"
    r = client.post("/appraisal/experts/new", data=form(csrf, phone="13807710000", **fields), follow_redirects=False)
    assert r.status_code == 303
    url = r.headers["location"].split("?")[0]
    page = client.get(r.headers["location"])
    assert "鉴定专家已登记" in page.text and "神经外科" in page.text and "138****0000" in page.text
    assert "13807710000" not in page.text

    r = client.post(
        f"{url}/edit",
        data=form(
            csrf,
            name=name,
            specialty_code="neurology",
            title="副主任医师",
            organisation="南宁市第二人民医院",
            note="周三门诊",
        ),
        follow_redirects=True,
    )
    assert "专家信息已保存" in r.text and "神经内科" in r.text and "138****0000" in r.text  # phone kept

    r = client.post(
        f"{url}/ties",
        data=form(csrf, kind="platform", platform_code="didi", relation="平台企业医疗顾问"),
        follow_redirects=True,
    )
    assert "回避关系已登记" in r.text and "滴滴出行" in r.text
    number = new_id_number()
    r = client.post(
        f"{url}/ties",
        data=form(csrf, kind="person", person_name="陆某", id_number=number, relation="近亲属"),
        follow_redirects=True,
    )
    assert "回避关系已登记" in r.text and "陆某" in r.text and number not in r.text
    r = client.post(
        f"{url}/ties", data=form(csrf, kind="person", person_name="陆某", id_number="123", relation="近亲属")
    )
    assert r.status_code == 400 and "身份证号码" in r.text
    tie = re.search(r"/ties/(\d+)/removal", r.text).group(1)
    r = client.post(f"{url}/ties/{tie}/removal", data=form(csrf, reason="已解聘"), follow_redirects=True)
    assert "回避关系已解除" in r.text and "已解聘" in r.text

    r = client.post(f"{url}/deactivation", data=form(csrf, reason=""))
    assert r.status_code == 400 and "请填写理由" in r.text
    r = client.post(f"{url}/deactivation", data=form(csrf, reason="调离本市"), follow_redirects=True)
    assert "专家已停用" in r.text and "调离本市" in r.text and "恢复在册" in r.text
    r = client.post(f"{url}/activation", data=form(csrf, reason=""), follow_redirects=True)
    assert "专家已恢复在册" in r.text


def test_another_citys_expert_is_not_found(client, as_user):
    e = new_expert(client, "nn_hrss")
    csrf = as_user("lz_hrss")
    assert client.get(f"/appraisal/experts/{e['id']}", headers=HTML).status_code == 404
    r = client.post(f"/appraisal/experts/{e['id']}/deactivation", data=form(csrf, reason="x"), headers=HTML)
    assert r.status_code == 404


def test_no_codes_as_labels(client, as_user):
    from oip.appraisal import specialties
    from tests.test_pages_language import _Text

    codes = set(specialties.specialties()) | {"platform", "person", "inactive", "tied_person", "tied_platform"}
    e = new_expert(client, "nn_hrss", specialty_code="burns_plastic")
    csrf = as_user("nn_hrss")
    client.post(
        f"/appraisal/experts/{e['id']}/ties", data=form(csrf, kind="platform", platform_code="meituan", relation="顾问")
    )
    for url in ("/appraisal/experts", f"/appraisal/experts/{e['id']}", "/appraisal/experts/new"):
        p = _Text()
        p.feed(client.get(url).text)
        assert not [w for w, _ in p.words if w in codes], url
