"""POST /api/v1/benefits/quote and the page 待遇试算 (/benefits/quote)."""

from __future__ import annotations

import re

import pytest

from tests.conftest import bearer

URL = "/api/v1/benefits/quote"


def body(**over):
    b = {
        "event_date": "2025-09-10",
        "region_code": "450103",
        "kind": "injury",
        "grade": 4,
        "self_care": "partial",
        "dependants": [],
        "medical_bills": [{"amount_fen": 120_000, "in_catalogue": True}, {"amount_fen": 3_000, "in_catalogue": False}],
        "hospital_days": 10,
    }
    b.update(over)
    return b


def test_officer_gets_lines_with_formulas_and_versions(client):
    r = client.post(URL, json=body(), headers=bearer("nn_si"))
    assert r.status_code == 200, r.text
    out = r.json()
    items = [x["item"] for x in out["lines"]]
    assert items == ["medical", "meal_subsidy", "disability_once", "disability_monthly", "nursing"]
    line = {x["item"]: x for x in out["lines"]}
    assert set(line["medical"]) >= {"item", "amount_fen", "monthly", "formula", "parameters"}
    assert line["medical"]["amount_fen"] == 120_000 and line["medical"]["detail"]["excluded_fen"] == 3_000
    assert line["disability_once"]["amount_fen"] == 21 * 677_200
    assert line["disability_monthly"]["monthly"] is True and line["disability_monthly"]["amount_fen"] == 507_900
    assert line["nursing"]["amount_fen"] == 203_160 and line["nursing"]["name"] == "生活护理费"
    assert any(v.startswith("benefit.base_monthly_fen@2025-07-01") for v in line["disability_once"]["parameters"])
    assert out["total_once_fen"] == 120_000 + 50_000 + 21 * 677_200
    assert out["total_monthly_fen"] == 507_900 + 203_160


def test_a_death_with_dependants(client):
    r = client.post(
        URL,
        json=body(
            kind="death",
            grade=None,
            self_care="none",
            medical_bills=[],
            hospital_days=0,
            dependants=[
                {"relation": "spouse", "orphan_or_lone_elderly": False},
                {"relation": "child", "orphan_or_lone_elderly": True},
                {"relation": "parent", "orphan_or_lone_elderly": True},
            ],
        ),
        headers=bearer("qx_si"),
    )
    assert r.status_code == 200, r.text
    out = r.json()
    deps = [x for x in out["lines"] if x["item"] == "dependants"]
    assert [d["dependant"] for d in deps] == [0, 1, 2] and sum(d["amount_fen"] for d in deps) <= 677_200
    assert all("核减" in d["formula"] and d["starts_on"] == "2025-10-01" for d in deps)
    once = next(x for x in out["lines"] if x["item"] == "death_once")
    assert once["amount_fen"] == 108_376_000  # 1,083,760 yuan


def test_a_missing_worker(client):
    r = client.post(
        URL,
        json=body(
            kind="missing",
            grade=None,
            self_care="none",
            medical_bills=[],
            hospital_days=0,
            dependants=[{"relation": "spouse"}],
        ),
        headers=bearer("nn_si"),
    )
    out = r.json()
    assert [x["item"] for x in out["lines"]] == ["dependants", "death_once_advance"]
    assert out["lines"][0]["starts_on"] == "2025-12-01"  # September (1st) … December (4th)
    assert out["lines"][1]["amount_fen"] == 54_188_000


@pytest.mark.parametrize(
    ("over", "field", "words"),
    [
        ({"grade": 11}, "grade", "伤残等级"),
        ({"kind": "death", "grade": 3, "self_care": "none"}, "grade", "死亡的情形不应填写伤残等级"),
        ({"medical_bills": [{"amount_fen": -5, "in_catalogue": True}]}, "medical_bills.0.amount_fen", "金额"),
        ({"event_date": "2025-06-30"}, "event_date", "早于试点开始日"),
        ({"hospital_days": -1}, "hospital_days", "住院天数"),
        ({"kind": "fall"}, "kind", "事件类型"),
        ({"region_code": "450999"}, "region_code", "不是广西的行政区划"),
        ({"event_date": "2025-02-30"}, "event_date", "事件日期（event_date）：应为日期"),
        ({"kind": None}, "kind", "事件类型（kind）"),
        ({"grade": "3"}, "grade", "伤残等级（grade）：应为整数"),
        ({"medical_bills": [{"amount_fen": 1.5}]}, "medical_bills.0.amount_fen", "票据金额"),
        ({"dependants": [{"relation": "spouse"}]}, "dependants", "受伤的情形不应填写供养亲属"),
    ],
)
def test_bad_input_is_422_in_chinese_naming_the_field(client, over, field, words):
    r = client.post(URL, json=body(**over), headers=bearer("nn_si"))
    assert r.status_code == 422, r.text
    err = r.json()["error"]
    assert err["field"] == field and words in err["reason"], err


def test_a_missing_field_is_named(client):
    b = body()
    del b["event_date"]
    r = client.post(URL, json=b, headers=bearer("nn_si"))
    assert r.status_code == 422 and r.json()["error"]["reason"] == "事件日期（event_date）：必填"


def test_who_may_quote(client):
    assert client.post(URL, json=body()).status_code == 401
    assert client.post(URL, json=body(), headers=bearer("worker_demo")).status_code == 200
    assert client.post(URL, json=body(), headers=bearer("qx_hrss")).status_code == 200
    r = client.post(URL, json=body(), headers=bearer("gx_tax"))  # the tax bureau: no benefit.quote
    assert r.status_code == 403


def test_signed_in_worker_needs_csrf(client, as_user):
    headers = as_user("worker_demo")
    assert client.post(URL, json=body()).status_code == 403  # the session without its CSRF token
    assert client.post(URL, json=body(), headers=headers).status_code == 200


# ---- the page ----------------------------------------------------------------------------------------


def csrf(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def test_page_renders_and_calculates(client, as_user):
    as_user("nn_si")
    r = client.get("/benefits/quote")
    assert r.status_code == 200 and 'type="date"' in r.text and "青秀区" in r.text
    assert '<a href="/benefits/quote"' in r.text or 'href="/benefits/quote"' in r.text  # in the navigation
    form = {
        "csrf_token": csrf(r.text),
        "event_date": "2025-10-03",
        "region_code": "450103",
        "kind": "death",
        "grade": "",
        "self_care": "none",
        "hospital_days": "3",
        "dep_relation_0": "spouse",
        "dep_relation_1": "child",
        "dep_orphan_1": "1",
        "bill_amount_0": "1,234.50",
        "bill_catalogue_0": "1",
        "bill_amount_1": "80",
        "bill_catalogue_1": "0",
        "bill_ref_1": "RX-9",
    }
    r = client.post("/benefits/quote", data=form)
    assert r.status_code == 200, r.text
    assert 'data-item="death_once"' in r.text and "1,083,760.00 元" in r.text
    assert 'data-item="funeral"' in r.text and "40,632.00 元" in r.text
    assert r.text.count('data-item="dependants"') == 2 and "2025 年 11 月" in r.text
    assert "1,234.50 元" in r.text and "RX-9（80.00 元）" in r.text
    assert (
        "benefit.national_disposable_income_fen@2025-07-01" in r.text
        and "全国城镇居民人均可支配收入 I（元/年，以分计）：2025-07-01 起（全区通用" in r.text
    )
    # The form keeps what was typed.
    assert 'value="2025-10-03"' in r.text and 'value="1,234.50"' in r.text


def test_page_shows_the_reason(client, as_user):
    as_user("worker_demo")
    r = client.get("/benefits/quote")
    assert r.status_code == 200 and 'href="/benefits/quote"' in r.text  # in the worker portal's navigation
    form = {
        "csrf_token": csrf(r.text),
        "event_date": "2025-08-01",
        "region_code": "450103",
        "kind": "injury",
        "grade": "3",
        "dep_relation_0": "spouse",
    }
    r = client.post("/benefits/quote", data=form)
    assert r.status_code == 400 and 'data-field="dependants"' in r.text and "受伤的情形不应填写供养亲属" in r.text
    form.update({"dep_relation_0": "", "bill_amount_2": "12.345"})
    r = client.post("/benefits/quote", data=form)
    assert r.status_code == 400 and 'data-field="bill_amount_2"' in r.text
