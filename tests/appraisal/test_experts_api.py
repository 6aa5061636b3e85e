"""The expert pools through the API: who sees and keeps which committee's pool, the fields an
expert must have, deactivation, ties, personal data (phone, a tied person's ID number)."""

from __future__ import annotations

from sqlalchemy import select

from tests.appraisal.conftest import audit_actions, new_expert, new_id_number, unique_name
from tests.conftest import bearer

API = "/api/v1/appraisal/experts"


def test_specialties_are_data(client):
    r = client.get("/api/v1/appraisal/specialties", headers=bearer("qx_si"))
    assert r.status_code == 200
    names = {s["code"]: s["name"] for s in r.json()}
    assert names["orthopaedics"] == "骨科" and names["occupational"] == "职业病科"


def test_the_demo_pools(client):
    region = client.get(API, params={"committee": "450000"}, headers=bearer("gx_hrss")).json()
    assert 14 <= region["total"] <= 20
    nanning = client.get(API, params={"committee": "450100"}, headers=bearer("nn_hrss")).json()
    assert 12 <= nanning["total"] <= 20
    everyone = client.get(API, headers=bearer("gx_si")).json()
    assert everyone["total"] >= 14 * 12 + 14
    inactive = client.get(API, params={"active": "false"}, headers=bearer("gx_hrss")).json()
    assert inactive["total"] >= 1 and all(not e["active"] for e in inactive["items"])
    ortho = client.get(API, params={"committee": "450100", "specialty": "orthopaedics"}, headers=bearer("nn_hrss"))
    assert ortho.json()["total"] >= 2 and {e["specialty_name"] for e in ortho.json()["items"]} == {"骨科"}


def test_each_officer_sees_its_own_committee(client):
    nn = new_expert(client, "nn_hrss")
    assert nn["committee_code"] == "450100" and nn["committee_name"] == "南宁市劳动能力鉴定委员会"
    seen = {
        u: client.get(f"{API}/{nn['id']}", headers=bearer(u)).status_code
        for u in ("nn_hrss", "qx_hrss", "nn_si", "qx_si", "gx_hrss", "gx_si", "lz_hrss", "gl_si")
    }
    assert seen == {
        "nn_hrss": 200,
        "qx_hrss": 200,  # a county sees its city's pool
        "nn_si": 200,
        "qx_si": 200,
        "gx_hrss": 200,
        "gx_si": 200,
        "lz_hrss": 404,  # another city's pool: as if missing
        "gl_si": 404,
    }
    listed = client.get(API, params={"q": nn["name"]}, headers=bearer("lz_hrss")).json()
    assert listed["total"] == 0
    # A city officer lists only its own committee, whatever it asks for.
    other = client.get(API, params={"committee": "450200"}, headers=bearer("nn_hrss")).json()
    assert other["total"] == 0
    mine = client.get(API, headers=bearer("nn_hrss")).json()
    assert {e["committee_code"] for e in mine["items"]} == {"450100"}


def test_who_keeps_which_pool(client):
    assert new_expert(client, "gx_hrss")["committee_code"] == "450000"
    body = {"name": unique_name(), "specialty_code": "ent", "organisation": "某医院", "title": "副主任医师"}
    # The city keeps its own pool only; the region keeps the regional pool, not a city's.
    r = client.post(API, json={**body, "committee_code": "450000"}, headers=bearer("nn_hrss"))
    assert r.status_code == 403 and r.json()["error"]["field"] == "committee_code"
    r = client.post(API, json={**body, "committee_code": "450100"}, headers=bearer("gx_hrss"))
    assert r.status_code == 403
    nn = new_expert(client, "nn_hrss")
    assert client.patch(f"{API}/{nn['id']}", json={"note": "x"}, headers=bearer("gx_hrss")).status_code == 403
    assert client.patch(f"{API}/{nn['id']}", json={"note": "x"}, headers=bearer("lz_hrss")).status_code == 404
    for user in ("qx_hrss", "nn_si", "gx_si", "meituan_admin", "insurer_a", "worker_demo", "gx_union"):
        assert client.post(API, json=body, headers=bearer(user)).status_code == 403, user
    for user in ("meituan_admin", "insurer_a", "worker_demo", "gx_union", "gx_finance"):
        assert client.get(API, headers=bearer(user)).status_code == 403, user


def test_an_expert_must_be_complete_and_senior(client):
    h = bearer("nn_hrss")
    ok = {"name": unique_name(), "specialty_code": "ent", "organisation": "南宁市第二人民医院", "title": "主任医师"}
    cases = [
        ({"title": "主治医师"}, "title", "高级专业技术职务"),
        ({"specialty_code": "podiatry"}, "specialty_code", "未知的专业"),
        ({"name": " "}, "name", "请填写姓名"),
        ({"organisation": ""}, "organisation", "请填写所在单位"),
        ({"phone": "12345"}, "phone", None),
        ({"committee_code": "459999"}, "committee_code", "不存在"),
    ]
    for change, field, reason in cases:
        r = client.post(API, json={**ok, **change}, headers=h)
        assert r.status_code in (400, 422), (change, r.text)
        err = r.json()["error"]
        assert err["field"] == field, (change, err)
        if reason:
            assert reason in err["reason"]
    r = client.post(API, json={k: v for k, v in ok.items() if k != "title"}, headers=h)
    assert r.status_code == 422 and "职称" in r.json()["error"]["reason"]


def test_the_phone_is_encrypted_and_masked(client):
    from oip.appraisal.models import Expert
    from oip.core.db import session_scope

    e = new_expert(client, phone="13907712345")
    assert e["phone"] == "139****2345"
    with session_scope() as s:
        row = s.get(Expert, e["id"])
        assert b"13907712345" not in row.phone_enc and row.phone_hint == "139****2345"
    r = client.patch(f"{API}/{e['id']}", json={"phone": "", "title": "副主任医师"}, headers=bearer("nn_hrss"))
    assert r.status_code == 200 and r.json()["phone"] is None and r.json()["title"] == "副主任医师"
    from oip.core.audit_models import AuditEvent

    with session_scope() as s:
        ev = s.scalar(
            select(AuditEvent).where(
                AuditEvent.action == "appraisal.expert.update", AuditEvent.entity_id == str(e["id"])
            )
        )
        assert ev.before == {"phone": "139****2345", "title": "主任医师"} and ev.after == {
            "phone": "",
            "title": "副主任医师",
        }


def test_deactivate_with_a_reason_and_reactivate(client):
    e = new_expert(client)
    h = bearer("nn_hrss")
    r = client.post(f"{API}/{e['id']}/deactivation", json={}, headers=h)
    assert r.status_code == 400 and r.json()["error"]["field"] == "reason"
    r = client.post(f"{API}/{e['id']}/deactivation", json={"reason": "已退休"}, headers=h)
    assert r.status_code == 200 and r.json()["active"] is False and r.json()["inactive_reason"] == "已退休"
    assert client.post(f"{API}/{e['id']}/deactivation", json={"reason": "again"}, headers=h).status_code == 409
    r = client.post(f"{API}/{e['id']}/activation", json={}, headers=h)
    assert r.status_code == 200 and r.json()["active"] is True and r.json()["inactive_reason"] is None
    assert audit_actions("appraisal_expert", e["id"]) == [
        "appraisal.expert.create",
        "appraisal.expert.deactivate",
        "appraisal.expert.activate",
    ]


def test_ties_to_a_platform_and_to_a_person(client):
    from oip.appraisal.models import ExpertTie
    from oip.core.db import session_scope

    e = new_expert(client)
    h = bearer("nn_hrss")
    url = f"{API}/{e['id']}/ties"
    r = client.post(url, json={"platform_code": "meituan", "relation": "平台企业医疗顾问"}, headers=h)
    assert r.status_code == 201
    tie = r.json()["ties"][0]
    assert tie["kind"] == "platform" and tie["platform_code"] == "meituan" and tie["platform_name"] == "美团"
    assert client.post(url, json={"platform_code": "meituan", "relation": "x"}, headers=h).status_code == 409
    assert client.post(url, json={"platform_code": "nope", "relation": "x"}, headers=h).status_code == 404
    r = client.post(url, json={"platform_code": "didi", "id_number": new_id_number(), "relation": "x"}, headers=h)
    assert r.status_code == 400 and "只填一项" in r.json()["error"]["reason"]

    number = new_id_number()
    r = client.post(url, json={"id_number": number, "person_name": "黄某", "relation": "近亲属"}, headers=h)
    assert r.status_code == 201
    person = r.json()["ties"][1]
    assert person["kind"] == "person" and person["person_name"] == "黄某"
    assert person["id_masked"] == number[:4] + "*" * 10 + number[-4:]
    assert number not in r.text
    r = client.post(url, json={"id_number": number, "person_name": "黄某", "relation": "近亲属"}, headers=h)
    assert r.status_code == 409
    r = client.post(
        url, json={"id_number": "450103198803090000", "person_name": "黄某", "relation": "近亲属"}, headers=h
    )
    assert r.status_code == 400 and r.json()["error"]["field"] == "id_number"
    with session_scope() as s:
        row = s.get(ExpertTie, person["id"])
        assert number.encode() not in row.id_enc and row.id_bidx is not None

    # Ending a tie keeps it on record.
    r = client.post(f"{url}/{tie['id']}/removal", json={"reason": "已不再担任顾问"}, headers=h)
    assert r.status_code == 200
    ended = r.json()["ties"][0]
    assert ended["removed_at"] and ended["removed_reason"] == "已不再担任顾问"
    assert client.post(f"{url}/{tie['id']}/removal", json={"reason": "x"}, headers=h).status_code == 409
    assert client.post(f"{url}/987654/removal", json={"reason": "x"}, headers=h).status_code == 404
    # The platform may be tied again after the tie ended.
    assert (
        client.post(url, json={"platform_code": "meituan", "relation": "平台企业医疗顾问"}, headers=h).status_code
        == 201
    )
    assert audit_actions("appraisal_expert", e["id"]) == [
        "appraisal.expert.create",
        "appraisal.expert.tie",
        "appraisal.expert.tie",
        "appraisal.expert.untie",
        "appraisal.expert.tie",
    ]
    # Reading an expert whose ties name a person is a read of personal data.
    assert client.get(f"{API}/{e['id']}", headers=bearer("qx_si")).status_code == 200
    assert audit_actions("appraisal_expert", e["id"])[-1] == "appraisal.expert.view"


def test_a_tie_to_a_registered_person_by_person_id(client):
    from oip.core.db import session_scope
    from oip.workers.models import PlatformAccount

    with session_scope() as s:
        pid = s.scalar(select(PlatformAccount.person_id).where(PlatformAccount.county_code.startswith("4501")).limit(1))
        elsewhere = s.scalar(
            select(PlatformAccount.person_id).where(PlatformAccount.county_code.startswith("4503")).limit(1)
        )
    e = new_expert(client)
    h = bearer("nn_hrss")
    r = client.post(f"{API}/{e['id']}/ties", json={"person_id": pid, "relation": "近亲属"}, headers=h)
    assert r.status_code == 201, r.text
    assert r.json()["ties"][0]["person_name"] and r.json()["ties"][0]["id_masked"]
    # A person outside the officer's region answers like a missing one.
    r = client.post(f"{API}/{e['id']}/ties", json={"person_id": elsewhere, "relation": "近亲属"}, headers=h)
    assert r.status_code == 404
