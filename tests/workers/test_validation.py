"""Validation of registration records: worked examples for ID and phone numbers, dates, counties."""

from __future__ import annotations

import datetime as dt
import random

import pytest
from stdnum.cn import ric

from oip.core import clock
from oip.core.errors import DomainError
from oip.workers import rules
from tests.conftest import bearer
from tests.workers.conftest import new_account, new_id, person_id_of, record


@pytest.fixture(scope="module")
def meituan():
    return bearer("meituan-api")


def _one(client, headers, **fields) -> dict:
    body = client.post("/api/v1/workers/batch", json=[record(**fields)], headers=headers).json()
    assert body["received"] == body["accepted"] + body["rejected"] == 1
    return body["results"][0]


def _reason(result: dict, field: str) -> str:
    assert result["status"] == "rejected", result
    return next(r["reason"] for r in result["reasons"] if r["field"] == field)


def test_wrong_check_digit(client, meituan):
    good = new_id()
    bad = good[:17] + ("0" if good[17] != "0" else "1")
    reason = _reason(_one(client, meituan, id_number=bad), "id_number")
    assert "校验位" in reason and f"应为 {good[17]}" in reason
    assert bad not in reason


def test_impossible_birth_date(client, meituan):
    body = "45010319490230123"
    reason = _reason(_one(client, meituan, id_number=body + ric.calc_check_digit(body + "0")), "id_number")
    assert "19490230" in reason and "不存在" in reason


def test_lowercase_x_is_normalised(client, meituan):
    number = new_id(last="X")
    res = _one(client, meituan, id_number=number.lower())
    assert res["status"] == "created" and "warnings" not in res
    found = client.get("/api/v1/workers", params={"q": number}, headers=meituan).json()
    assert found["total"] == 1 and found["items"][0]["id_number"].endswith(number[-4:])


def test_fullwidth_digits_are_normalised(client, meituan):
    number = new_id()
    wide = "".join(chr(ord(c) + 0xFEE0) for c in number)
    assert _one(client, meituan, id_number=wide)["status"] == "created"
    assert client.get("/api/v1/workers", params={"q": number}, headers=meituan).json()["total"] == 1


def test_fifteen_digit_number_is_upgraded_with_a_warning(client, meituan):
    rng = random.Random()
    old = f"450103{rng.randrange(60, 99):02d}0{rng.randrange(1, 10)}{rng.randrange(10, 29)}{rng.randrange(0, 1000):03d}"
    res = _one(client, meituan, id_number=old)
    assert res["status"] == "created"
    assert "15 位旧号码已升级为 18 位" in res["warnings"]
    body = old[:6] + "19" + old[6:]
    upgraded = body + ric.calc_check_digit(body + "0")
    assert client.get("/api/v1/workers", params={"q": upgraded}, headers=meituan).json()["total"] == 1


@pytest.mark.parametrize("area", ["990000", "450199"])
def test_unknown_area_code_is_accepted_with_a_warning(client, meituan, area):
    res = _one(client, meituan, id_number=new_id(area=area))
    assert res["status"] == "created"
    assert any(f"地区码 {area}" in w for w in res["warnings"])


def test_phone_numbers(client, meituan):
    assert _one(client, meituan, phone="+86 138-0013-8000")["status"] == "created"
    assert _one(client, meituan, phone="１３８００１３８０００")["status"] == "created"
    for bad in ["12345678901", "1380013800", "138001380000", "010-12345678"]:
        reason = _reason(_one(client, meituan, phone=bad), "phone")
        assert "手机号码" in reason and bad not in reason
    assert "科学计数法" in _reason(_one(client, meituan, phone="1.38001E+10"), "phone")


def test_excel_scientific_notation_id(client, meituan):
    reason = _reason(_one(client, meituan, id_number="4.50103E+17"), "id_number")
    assert "科学计数法" in reason and "文本" in reason


def test_dates(client, meituan):
    for ok in ["2025/7/1", "2025年7月1日", "20250701", "2025-07-01 00:00:00", "2025-7-1"]:
        assert _one(client, meituan, registered_on=ok)["status"] == "created", ok
    tomorrow = (clock.today() + dt.timedelta(days=1)).isoformat()
    assert "晚于今天" in _reason(_one(client, meituan, registered_on=tomorrow), "registered_on")
    assert "序列号" in _reason(_one(client, meituan, registered_on="45839"), "registered_on")
    assert "2 月没有 30 日" in _reason(_one(client, meituan, registered_on="2025-02-30"), "registered_on")
    assert "早于出生日期" in _reason(
        _one(client, meituan, id_number=new_id(born=dt.date(2000, 5, 5)), registered_on="1999-01-01"), "registered_on"
    )


def test_county_name_account_and_missing_fields(client, meituan):
    assert "县级行政区划代码" in _reason(_one(client, meituan, county_code="450100"), "county_code")
    assert "县级行政区划代码" in _reason(_one(client, meituan, county_code="110101"), "county_code")
    assert "数字" in _reason(_one(client, meituan, name="韦小宝2"), "name")
    assert "长度" in _reason(_one(client, meituan, platform_account_id="A" * 65), "platform_account_id")
    res = _one(client, meituan, name="", phone=None, extra="x")
    assert _reason(res, "name") == "姓名必填" and _reason(res, "phone") == "手机号码必填"
    assert res["warnings"] == ["已忽略未知字段：extra"]
    assert _reason(_one(client, meituan, name=["韦"]), "name") == "姓名应为字符串"


def test_name_must_match_the_registered_person(client, meituan):
    """A platform that registered the person is told their name differs from the one on file."""
    r = record()
    assert _one(client, meituan, **r)["status"] == "created"
    res = _one(client, meituan, **{**r, "platform_account_id": new_account(), "name": r["name"] + "乙"})
    assert "姓名与该身份证号码已登记的姓名不一致" in _reason(res, "name")
    # a name written with another middle dot is the same name
    dotted = record(name="阿卜杜·买买提")
    assert _one(client, meituan, **dotted)["status"] == "created"
    assert (
        _one(client, bearer("didi-api"), **{**dotted, "platform_account_id": new_account(), "name": "阿卜杜•买买提"})[
            "status"
        ]
        == "created"
    )


def test_account_already_registered_for_another_person(client, meituan):
    r = record()
    _one(client, meituan, **r)
    res = _one(client, meituan, **{**r, "id_number": new_id()})
    assert "另一名人员" in _reason(res, "id_number")


def test_parse_day_unit():
    assert rules.parse_day("2025年7月1日") == dt.date(2025, 7, 1)
    assert rules.parse_day("2025-07-01T08:00:00+08:00") == dt.date(2025, 7, 1)
    with pytest.raises(DomainError, match="不是合法日期"):
        rules.parse_day("2025-13-01")


def test_another_platforms_worker_with_a_wrong_name_is_not_disclosed(client, meituan):
    """A platform sending an ID number another platform registered, with another name, gets the answer
    a new person gets — it can neither learn that the ID number is registered nor test names — and is
    shown the name it sent; the agency sees both names and verifies."""
    didi = bearer("didi-api")
    r = record(name="欧阳知远")  # a name the random pool never draws: no other worker of didi's has it
    assert _one(client, meituan, **r)["status"] == "created"
    fresh = _one(client, didi, **record(name="韦小明"))
    probe = _one(client, didi, **{**r, "platform_account_id": new_account(), "name": "韦小明"})
    strip = lambda res: {k: v for k, v in res.items() if k not in ("platform_account_id", "row")}  # noqa: E731
    assert strip(probe) == strip(fresh) and probe["status"] == "created"
    # its roster shows the name it sent; searching the true name finds nothing
    listed = client.get("/api/v1/workers", params={"q": probe["platform_account_id"]}, headers=didi).json()
    assert [i["name"] for i in listed["items"]] == ["韦小明"]
    assert r["name"] not in client.get("/api/v1/workers", params={"q": r["name"]}, headers=didi).text
    assert r["name"] not in str(listed) and "reported_name" not in listed["items"][0]
    # nor a person id: a low, old id would tell that the ID number was registered before
    assert listed["items"][0]["person_id"] is None
    huolala = bearer("huolala-api")  # the single registration, by a platform that has never seen this ID
    single = client.post(
        "/api/v1/workers", json={**r, "platform_account_id": new_account(), "name": "韦小明"}, headers=huolala
    ).json()
    new_person = client.post("/api/v1/workers", json=record(name="韦小明"), headers=huolala).json()
    assert single == new_person == {"person_id": None, "status": "created", "warnings": []}
    # the agency: the name on file, and the name the platform sent, to verify
    gx = client.get(f"/api/v1/workers/{person_id_of(r['id_number'])}", headers=bearer("gx_si")).json()
    assert gx["name"] == r["name"]
    assert {a["platform_code"]: a["reported_name"] for a in gx["accounts"]} == {
        "meituan": None,
        "didi": "韦小明",
        "huolala": "韦小明",
    }
