"""The register through the JSON API: create, edit, names, rates, regions; validation;
data scope; audit; the list's query count."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from sqlalchemy import event, func, select

from oip.core import audit
from oip.core.audit_models import AuditEvent
from tests.conftest import bearer
from tests.platforms.conftest import new_code, new_platform_body, new_uscc, today


def events(db, code: str) -> list[AuditEvent]:
    return list(
        db.scalars(
            select(AuditEvent)
            .where(AuditEvent.entity_type == "platform", AuditEvent.entity_id == code)
            .order_by(AuditEvent.seq)
        )
    )


def platform_count(db) -> int:
    from oip.platforms.models import Platform

    return db.scalar(select(func.count()).select_from(Platform))


# ---- list and detail -----------------------------------------------------------------------------


def test_list_shows_the_pilot_platforms_with_current_names_and_rates(client):
    r = client.get("/api/v1/platforms", headers=bearer("gx_tax"))
    assert r.status_code == 200
    rows = {p["code"]: p for p in r.json()}
    assert rows["eleme"]["name"] == "饿了么 / 淘宝闪购"
    m = rows["meituan"]
    assert m["industry_code"] == "instant_delivery" and m["industry_name"] == "即时配送"
    assert m["status"] == "admitted" and m["base_yuan"] == "0.07" and m["k"] == 0 and m["rate_yuan"] == "0.07"
    assert m["coverage_start"] == "2025-07-01" and len(m["uscc"]) == 18
    assert rows["didi"]["base_yuan"] == "0.01" and rows["huolala"]["base_yuan"] == "0.18"


def test_detail_masks_the_contact_phone(client, hrss, create_platform):
    p = create_platform()
    r = client.patch(
        f"/api/v1/platforms/{p['code']}", json={"contact_phone": "13912345678", "contact_name": "李四"}, headers=hrss
    )
    assert r.status_code == 200, r.text
    d = client.get(f"/api/v1/platforms/{p['code']}", headers=bearer("nn_si")).json()
    assert d["contact"] == {"name": "李四", "phone": "139****5678", "email": ""}
    assert "13912345678" not in r.text
    assert [n["name"] for n in d["names"]] == [p["name"]]
    assert d["rates"] == [{"base_yuan": "0.01", "valid_from": "2025-07-01", "valid_to": None}]


def test_unknown_platform_is_404(client):
    r = client.get("/api/v1/platforms/nosuch", headers=bearer("gx_tax"))
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"


# ---- create --------------------------------------------------------------------------------------


def test_create_a_nationally_designated_platform(client, hrss, db):
    body = new_platform_body(
        industry_code="intracity_freight", base_yuan="0.18", covered_from="2026-01-01", basis="人社部函〔2025〕99号"
    )
    r = client.post("/api/v1/platforms", json=body, headers=hrss)
    assert r.status_code == 201, r.text
    d = r.json()
    assert d["status"] == "admitted" and d["covered_from"] == "2026-01-01" and d["coverage_start"] == "2026-01-01"
    assert d["base_yuan"] == "0.18" and d["name"] == body["name"]
    ev = events(db, body["code"])
    assert [e.action for e in ev] == ["platform.create"]
    assert ev[0].after["basis"] == "人社部函〔2025〕99号" and ev[0].actor.startswith("gx_hrss")
    # it has an organisation account, so credentials can be issued
    from oip.auth.models import Organisation

    assert db.scalar(select(Organisation).where(Organisation.code == f"platform-{body['code']}")) is not None


@pytest.mark.parametrize(
    "over,status,field,words",
    [
        ({"uscc": "91450100MA5K0000X1"}, 400, "uscc", "统一社会信用代码"),
        ({"base_yuan": "0"}, 400, "base_yuan", "大于 0"),
        ({"base_yuan": "10.5"}, 400, "base_yuan", "不超过 10"),
        ({"base_yuan": "abc"}, 422, "base_yuan", "缴费基准额"),
        ({"industry_code": "space_tourism"}, 400, "industry_code", "未知的行业"),
        ({"code": "Bad-Code"}, 400, "code", "小写字母"),
        ({"code": "new"}, 400, "code", "new"),
        ({"covered_from": "2025-13-01"}, 422, "covered_from", "日期"),
        ({"basis": ""}, 400, "basis", "依据文号"),
        ({"name": " "}, 400, "name", "名称"),
    ],
)
def test_create_validation(client, hrss, db, over, status, field, words):
    before = platform_count(db)
    r = client.post("/api/v1/platforms", json=new_platform_body(**over), headers=hrss)
    assert r.status_code == status, r.text
    err = r.json()["error"]
    assert err["field"] == field and words in err["reason"]
    assert platform_count(db) == before


def test_missing_field_is_reported_in_chinese(client, hrss):
    body = new_platform_body()
    del body["uscc"]
    r = client.post("/api/v1/platforms", json=body, headers=hrss)
    assert r.status_code == 422
    assert r.json()["error"]["field"] == "uscc" and r.json()["error"]["reason"] == "统一社会信用代码：必填"


def test_duplicate_code_and_uscc_are_409_and_nothing_is_written(client, hrss, create_platform, db):
    p = create_platform()
    before = platform_count(db)
    r = client.post("/api/v1/platforms", json=new_platform_body(code=p["code"]), headers=hrss)
    assert r.status_code == 409 and r.json()["error"]["field"] == "code"
    assert p["code"] in r.json()["error"]["reason"]
    r = client.post("/api/v1/platforms", json=new_platform_body(uscc=p["uscc"]), headers=hrss)
    assert r.status_code == 409 and r.json()["error"]["field"] == "uscc"
    r = client.post("/api/v1/platforms", json=new_platform_body(code="meituan"), headers=hrss)
    assert r.status_code == 409 and "美团" in r.json()["error"]["reason"]
    assert platform_count(db) == before
    assert [e.action for e in events(db, p["code"])] == ["platform.create"]


@pytest.mark.parametrize("user", ["nn_hrss", "gx_tax", "gx_union", "meituan_admin", "insurer_a"])
def test_create_needs_platform_write(client, user):
    r = client.post("/api/v1/platforms", json=new_platform_body(), headers=bearer(user))
    assert r.status_code == 403


def test_si_region_may_write_too(client):
    r = client.post("/api/v1/platforms", json=new_platform_body(), headers=bearer("gx_si"))
    assert r.status_code == 201, r.text


# ---- edit ----------------------------------------------------------------------------------------


def test_edit_is_audited_with_masked_phone(client, hrss, create_platform, db):
    p = create_platform()
    code = p["code"]
    r = client.patch(
        f"/api/v1/platforms/{code}",
        json={
            "headquarters": "北京市海淀区（测试）",
            "headquarters_region": "110108",
            "contact_name": "王五",
            "contact_phone": "+86 138-0013-8000",
            "contact_email": "ops@example.cn",
        },
        headers=hrss,
    )
    assert r.status_code == 200, r.text
    d = r.json()
    assert d["headquarters_region"] == "110108" and d["contact"]["phone"] == "138****8000"
    ev = events(db, code)[-1]
    assert ev.action == "platform.update"
    assert ev.after["contact_phone"] == "138****8000" and ev.before["contact_phone"] == ""
    assert "13800138000" not in str(ev.after) + str(ev.before)
    # the same number again changes nothing and writes no event
    n = len(events(db, code))
    assert (
        client.patch(f"/api/v1/platforms/{code}", json={"contact_phone": "13800138000"}, headers=hrss).status_code
        == 200
    )
    assert len(events(db, code)) == n
    # a different number with the same mask is still visible as a change
    client.patch(f"/api/v1/platforms/{code}", json={"contact_phone": "13899998000"}, headers=hrss)
    client.patch(f"/api/v1/platforms/{code}", json={"contact_phone": "13800008000"}, headers=hrss)
    assert events(db, code)[-1].after["contact_phone"] == "138****8000（已变更）"
    # the number itself is stored encrypted
    from oip.platforms.models import Platform
    from oip.platforms.service import contact_phone

    row = db.scalar(select(Platform).where(Platform.code == code))
    assert b"13800008000" not in row.contact_phone_enc and contact_phone(row) == "13800008000"


@pytest.mark.parametrize(
    "body,field",
    [
        ({"contact_phone": "12345"}, "contact_phone"),
        ({"uscc": "123"}, "uscc"),
        ({"uscc": None}, "uscc"),
        ({"contact_email": "not-an-email"}, "contact_email"),
        ({"headquarters_region": "459999"}, "headquarters_region"),
        ({"headquarters_region": "99x"}, "headquarters_region"),
        ({"status": "admitted"}, "status"),
        ({"code": "other"}, "code"),
    ],
)
def test_edit_validation(client, hrss, create_platform, body, field):
    p = create_platform()
    r = client.patch(f"/api/v1/platforms/{p['code']}", json=body, headers=hrss)
    assert r.status_code in (400, 422), r.text
    assert r.json()["error"]["field"] == field


def test_edit_uscc_of_another_platform_is_409(client, hrss, create_platform):
    a, b = create_platform(), create_platform()
    r = client.patch(f"/api/v1/platforms/{a['code']}", json={"uscc": b["uscc"]}, headers=hrss)
    assert r.status_code == 409 and r.json()["error"]["field"] == "uscc"


# ---- names ---------------------------------------------------------------------------------------


def test_renaming_replaces_the_current_name(client, hrss, create_platform, db):
    p = create_platform()
    r = client.post(
        f"/api/v1/platforms/{p['code']}/names",
        json={"name": "新名字", "valid_from": "2026-01-01", "replaces": True},
        headers=hrss,
    )
    assert r.status_code == 201, r.text
    names = r.json()["names"]
    assert names[0]["valid_to"] == "2025-12-31" and names[1] == {
        "name": "新名字",
        "valid_from": "2026-01-01",
        "valid_to": None,
    }
    expected = "新名字" if today() >= dt.date(2026, 1, 1) else p["name"]
    assert r.json()["name"] == expected
    assert events(db, p["code"])[-1].action == "platform.name_add"


def test_an_additional_name_is_used_alongside(client, hrss, create_platform):
    p = create_platform()
    r = client.post(
        f"/api/v1/platforms/{p['code']}/names", json={"name": "并用名", "valid_from": "2025-08-01"}, headers=hrss
    )
    assert r.status_code == 201
    assert r.json()["name"] == f"{p['name']} / 并用名"
    assert all(n["valid_to"] is None for n in r.json()["names"])


def test_name_validation(client, hrss, create_platform):
    p = create_platform()
    url = f"/api/v1/platforms/{p['code']}/names"
    r = client.post(url, json={"name": p["name"], "valid_from": "2026-01-01"}, headers=hrss)
    assert r.status_code == 409 and r.json()["error"]["field"] == "name"
    r = client.post(url, json={"name": "更早", "valid_from": "2025-07-01", "replaces": True}, headers=hrss)
    assert r.status_code == 400 and r.json()["error"]["field"] == "valid_from"
    r = client.post(url, json={"name": "", "valid_from": "2026-01-01"}, headers=hrss)
    assert r.status_code == 400 and r.json()["error"]["field"] == "name"


# ---- rates ---------------------------------------------------------------------------------------


def test_new_rate_closes_the_previous_one(client, hrss, create_platform, db):
    p = create_platform(industry_code="instant_delivery", base_yuan="0.07")
    r = client.post(
        f"/api/v1/platforms/{p['code']}/rates", json={"base_yuan": "0.25", "valid_from": "2026-01-01"}, headers=hrss
    )
    assert r.status_code == 201, r.text
    assert r.json()["rates"] == [
        {"base_yuan": "0.07", "valid_from": "2025-07-01", "valid_to": "2025-12-31"},
        {"base_yuan": "0.25", "valid_from": "2026-01-01", "valid_to": None},
    ]
    ev = events(db, p["code"])[-1]
    assert ev.action == "platform.rate_add" and ev.after == {"base_yuan": "0.25", "valid_from": "2026-01-01"}
    assert ev.before["valid_to"] == "2025-12-31"


@pytest.mark.parametrize(
    "body,status,field",
    [
        ({"base_yuan": "0.25", "valid_from": "2025-07-01"}, 400, "valid_from"),
        ({"base_yuan": "0.25", "valid_from": "2025-06-01"}, 400, "valid_from"),
        ({"base_yuan": "0", "valid_from": "2026-01-01"}, 400, "base_yuan"),
        ({"base_yuan": "-1", "valid_from": "2026-01-01"}, 400, "base_yuan"),
        ({"base_yuan": "0.25"}, 422, "valid_from"),
    ],
)
def test_rate_validation_writes_nothing(client, hrss, create_platform, body, status, field):
    p = create_platform()
    url = f"/api/v1/platforms/{p['code']}"
    r = client.post(url + "/rates", json=body, headers=hrss)
    assert r.status_code == status and r.json()["error"]["field"] == field
    assert len(client.get(url, headers=hrss).json()["rates"]) == 1


# ---- floats --------------------------------------------------------------------------------------


@pytest.mark.parametrize("year_offset", [0, 1])
def test_k_cannot_be_set_directly(client, hrss, create_platform, db, year_offset):
    """k is decided only by approving a yearly proposal (oip.premiums.floats), never set directly."""
    p = create_platform(industry_code="instant_delivery", base_yuan="0.07")
    r = client.put(f"/api/v1/platforms/{p['code']}/floats/{today().year + year_offset}", json={"k": 3}, headers=hrss)
    assert r.status_code in (404, 405)
    d = client.get(f"/api/v1/platforms/{p['code']}", headers=hrss).json()
    assert d["k"] == 0 and d["floats"] == [] and d["rate_yuan"] == "0.07"
    assert "/api/v1/platforms/{code}/floats/{year}" not in client.get("/openapi.json").json()["paths"]


# ---- regions -------------------------------------------------------------------------------------


def test_regions(client, hrss, create_platform, db):
    p = create_platform()
    url = f"/api/v1/platforms/{p['code']}/regions"
    r = client.put(url, json={"region_codes": ["450100", "450103", "450200", "450103"]}, headers=hrss)
    assert r.status_code == 200, r.text
    assert [x["code"] for x in r.json()["regions"]] == ["450100", "450103", "450200"]
    assert r.json()["regions"][0]["name"] == "南宁市"
    r = client.put(url, json={"region_codes": ["450200"]}, headers=hrss)
    assert [x["code"] for x in r.json()["regions"]] == ["450200"]
    ev = events(db, p["code"])[-1]
    assert ev.action == "platform.regions_set" and ev.before == {"region_codes": ["450100", "450103", "450200"]}


@pytest.mark.parametrize("codes", [["450000"], ["110105"], ["459999"], ["450100", "abc"]])
def test_regions_must_be_guangxi_cities_or_counties(client, hrss, create_platform, codes):
    p = create_platform()
    r = client.put(f"/api/v1/platforms/{p['code']}/regions", json={"region_codes": codes}, headers=hrss)
    assert r.status_code == 400 and r.json()["error"]["field"] == "region_codes"
    assert codes[-1] in r.json()["error"]["reason"]


# ---- scope ---------------------------------------------------------------------------------------


def test_a_platform_user_sees_only_its_own_platform(client):
    h = bearer("meituan_admin")
    rows = client.get("/api/v1/platforms", headers=h).json()
    assert [r["code"] for r in rows] == ["meituan"]
    assert client.get("/api/v1/platforms/meituan", headers=h).status_code == 200
    r = client.get("/api/v1/platforms/didi", headers=h)
    assert (
        r.status_code == 404
        and r.json()["error"]["reason"] == client.get("/api/v1/platforms/nosuch", headers=h).json()["error"]["reason"]
    )


def test_platform_users_cannot_edit_even_their_own(client):
    r = client.patch("/api/v1/platforms/meituan", json={"contact_name": "x"}, headers=bearer("meituan_admin"))
    assert r.status_code == 403


# ---- query count ---------------------------------------------------------------------------------


def test_list_query_count_does_not_grow_with_the_register(client, create_platform):
    from oip.core.db import get_engine

    h = bearer("gx_tax")
    counted = []

    def count(*_):
        if threading.current_thread().name != audit.CHAINER_THREAD:  # not the server's audit chainer
            counted[-1] += 1

    def run() -> int:
        counted.append(0)
        event.listen(get_engine(), "before_cursor_execute", count)
        try:
            assert client.get("/api/v1/platforms", headers=h).status_code == 200
        finally:
            event.remove(get_engine(), "before_cursor_execute", count)
        return counted[-1]

    first = run()
    for _ in range(3):
        create_platform(code=new_code(), uscc=new_uscc())
    assert run() == first
    assert first <= 12
