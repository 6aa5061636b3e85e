"""The pages of the register, signed in through the login form: the list (names, not codes), the
form with date pickers and checkboxes, a contract's page with its history, amending and
terminating through the forms, and the navigation of the roles that may use them."""

from __future__ import annotations

import re

from tests.insurers.conftest import fresh_year

HTML = {"accept": "text/html"}


def _table(html: str) -> str:
    return re.search(r'<table data-testid="contracts">.*?</table>', html, re.S).group(0)


def _nav(html: str) -> str:
    return re.search(r"<nav.*?</nav>", html, re.S).group(0)


def test_the_list_shows_names_not_codes(client, as_user):
    as_user("gx_si")
    r = client.get("/insurers/contracts")
    assert r.status_code == 200, r.text
    assert "甲财产保险股份有限公司广西分公司（演示）" in r.text and "乙财产保险股份有限公司广西分公司（演示）" in r.text
    assert "南宁市" in r.text and "调查核实" in r.text and "协助收集材料" in r.text
    assert "2025-07-01 至" in r.text and "已终止" in r.text and "履行中" in r.text
    assert "investigation" not in re.sub(r'value="[^"]*"', "", r.text)
    assert 'href="/insurers/contracts/new"' in r.text
    assert "受托保险机构协议" in _nav(r.text)
    terminated = client.get("/insurers/contracts?status=terminated")
    assert "桂社保委〔2024〕7号（演示）" in terminated.text and "桂社保委〔2025〕3号（演示）" not in terminated.text
    assert client.get("/insurers/contracts?insurer=insurer-b&page=1").status_code == 200


def test_register_amend_and_terminate_through_the_forms(client, as_user):
    csrf = as_user("gx_si")["X-CSRF-Token"]
    y = fresh_year()
    form = client.get("/insurers/contracts/new")
    assert form.status_code == 200
    assert form.text.count('type="date"') == 2 and 'type="checkbox" name="services"' in form.text
    assert form.text.count('name="cities"') == 14 and "防城港市" in form.text
    doc = f"页面协议〔{y}〕1号"
    data = {
        "csrf_token": csrf,
        "insurer_code": "insurer-b",
        "document_no": doc,
        "services": ["payment_support", "appraisal_support"],
        "cities": ["451300", "451400"],
        "valid_from": f"{y}-01-01",
        "valid_to": f"{y}-12-31",
        "notes": "页面登记",
    }
    bad = client.post("/insurers/contracts/new", data={**data, "services": []})
    assert bad.status_code == 400 and "受托服务事项：请至少选择一项受托服务事项" in bad.text
    assert f'value="{doc}"' in bad.text  # the form keeps what was typed
    backwards = client.post("/insurers/contracts/new", data={**data, "valid_to": f"{y - 1}-01-01"})
    assert backwards.status_code == 400 and "协议截止日期" in backwards.text
    r = client.post("/insurers/contracts/new", data=data, follow_redirects=False)
    assert r.status_code == 303, r.text
    url = r.headers["location"].split("?")[0]
    page = client.get(r.headers["location"])
    assert "协议已登记" in page.text and "来宾市、崇左市" in page.text and "协助劳动能力鉴定、协助待遇支付" in page.text
    assert "登记（第 1 版）" in page.text and "终止协议" in page.text

    edit = client.get(f"{url}/edit")
    assert edit.status_code == 200 and 'name="version" value="1"' in edit.text and 'value="451300" checked' in edit.text
    changed = {**data, "cities": ["451300"], "reason": "补充协议一", "version": "1"}
    del changed["insurer_code"]
    r = client.post(f"{url}/edit", data=changed, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].endswith("done=amended")
    page = client.get(r.headers["location"])
    assert "服务城市：来宾市、崇左市 → 来宾市" in page.text and "依据：补充协议一" in page.text
    stale = client.post(f"{url}/edit", data={**changed, "notes": "迟到", "version": "1"})
    assert stale.status_code == 409 and "已被他人修改" in stale.text

    r = client.post(
        f"{url}/terminate",
        data={"csrf_token": csrf, "terminated_on": f"{y}-09-01", "reason": "机构撤出", "version": "2"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    page = client.get(r.headers["location"])
    assert (
        "协议已终止" in page.text and f"自 {y}-09-01 起不再履行" in page.text and f"最后履行日 {y}-08-31" in page.text
    )
    assert 'action="' + url + '/terminate"' not in page.text  # nothing left to manage


def test_who_finds_the_pages(client, as_user):
    as_user("nn_hrss")
    r = client.get("/insurers/contracts")
    rows = _table(r.text)  # 南宁: insurer-a now, insurer-b's contract before the pilot
    assert r.status_code == 200 and "甲财产保险" in rows and "桂社保委〔2024〕7号（演示）" in rows
    assert "桂社保委〔2025〕4号（演示）" not in rows and "柳州市" in rows  # (the old contract also covered 柳州)
    assert 'href="/insurers/contracts/new"' not in r.text and "受托保险机构协议" in _nav(r.text)
    assert client.get("/insurers/contracts/new", headers=HTML).status_code == 403

    as_user("insurer_b")
    r = client.get("/insurers/contracts")
    assert "本机构委托服务协议" in _nav(r.text) and "甲财产保险" not in r.text and "乙财产保险" in _table(r.text)
    assert 'id="insurer"' not in r.text  # no choice of insurer to filter by

    as_user("meituan_admin")
    home = client.get("/portal")
    assert "/insurers/contracts" not in _nav(home.text)
    assert client.get("/insurers/contracts", headers=HTML).status_code == 403


def test_no_codes_as_labels(client, as_user):
    from tests.test_pages_language import _Text

    codes = {"investigation", "material_collection", "appraisal_support", "payment_support", "active", "terminated"}
    codes |= {"insurer-a", "insurer-b", "450100", "450200", "insurer_contract", "document_no", "cities", "services"}
    as_user("gx_hrss")
    contract = re.search(r'href="(/insurers/contracts/\d+)"', client.get("/insurers/contracts?status=terminated").text)
    found = {}
    for url in ("/insurers/contracts", "/insurers/contracts/new", contract.group(1), contract.group(1) + "/edit"):
        r = client.get(url)
        if url.endswith("/edit"):
            assert r.status_code == 409 and "协议已终止，不能变更" in r.text  # a terminated contract: no form
            continue
        assert r.status_code == 200, url
        p = _Text()
        p.feed(r.text)
        if bad := [(w, ctx) for w, ctx in p.words if w in codes]:
            found[url] = bad[:5]
    assert not found, found
