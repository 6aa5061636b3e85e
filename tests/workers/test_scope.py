"""Who sees whom: one person on two platforms, data scopes of every kind, masking, the full view
and personal numbers at rest."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select, text

from oip.auth.models import InsurerAssignment, Organisation
from oip.core.audit_models import AuditEvent
from oip.workers.models import Person
from tests.conftest import bearer
from tests.workers.conftest import MASKED_ID, MASKED_PHONE, new_account, new_phone, person_id_of, record


@pytest.fixture(scope="module")
def two_platforms(app):
    """One person registered by 美团 and by 滴滴出行 (different accounts and phones) in Nanning."""
    from fastapi.testclient import TestClient

    base = record(county_code="450103")
    meituan = {**base, "platform_account_id": new_account("MT")}
    didi = {**base, "platform_account_id": new_account("DD"), "phone": new_phone(), "county_code": "450107"}
    with TestClient(app) as c:
        a = c.post("/api/v1/workers", json=meituan, headers=bearer("meituan-api")).json()
        b = c.post("/api/v1/workers", json=didi, headers=bearer("didi-api")).json()
    assert a["status"] == b["status"] == "created"
    assert a["person_id"] is None and b["person_id"] is None  # platforms are not told person ids
    return {"person_id": person_id_of(base["id_number"]), "meituan": meituan, "didi": didi}


@pytest.fixture(scope="module")
def guilin_only(app):
    from fastapi.testclient import TestClient

    r = record(county_code="450305")  # 七星区, 桂林市
    with TestClient(app) as c:
        assert c.post("/api/v1/workers", json=r, headers=bearer("meituan-api")).status_code == 201
    return {"person_id": person_id_of(r["id_number"]), **r}


@pytest.mark.parametrize("officer", ["gx_si", "nn_si"])
def test_same_person_on_two_platforms_is_one_person_with_two_accounts(client, two_platforms, officer):
    h = bearer(officer)
    pid = two_platforms["person_id"]
    listed = client.get("/api/v1/workers", params={"q": two_platforms["meituan"]["id_number"]}, headers=h).json()
    assert listed["total"] == 2
    assert {i["person_id"] for i in listed["items"]} == {pid}
    assert {i["platform_code"] for i in listed["items"]} == {"meituan", "didi"}
    detail = client.get(f"/api/v1/workers/{pid}", headers=h).json()
    assert sorted(a["platform_account_id"] for a in detail["accounts"]) == sorted(
        [two_platforms["meituan"]["platform_account_id"], two_platforms["didi"]["platform_account_id"]]
    )
    assert {a["county_name"] for a in detail["accounts"]} == {"青秀区", "西乡塘区"}


def test_search_by_phone_uses_the_blind_index(client, two_platforms):
    listed = client.get("/api/v1/workers", params={"q": two_platforms["didi"]["phone"]}, headers=bearer("gx_si")).json()
    assert [i["platform_code"] for i in listed["items"]] == ["didi"]
    posted = client.post("/api/v1/workers/search", json={"q": two_platforms["didi"]["phone"]}, headers=bearer("gx_si"))
    assert posted.status_code == 200 and posted.json() == listed
    posted = client.post(
        "/api/v1/workers/search", json={"q": two_platforms["meituan"]["id_number"], "size": 1}, headers=bearer("gx_si")
    ).json()
    assert posted["total"] == 2 and len(posted["items"]) == 1
    assert client.post("/api/v1/workers/search", json={"size": 500}, headers=bearer("gx_si")).status_code == 422
    assert client.post("/api/v1/workers/search", json=[], headers=bearer("gx_si")).status_code == 422


def test_searched_numbers_are_not_in_the_audit_trail(client, db, two_platforms):
    r = two_platforms["meituan"]
    for q in (r["id_number"], "+86" + r["phone"], r["phone"]):
        assert client.get("/api/v1/workers", params={"q": q}, headers=bearer("gx_si")).json()["total"] >= 1
    events = db.scalars(
        select(AuditEvent).where(AuditEvent.action == "worker.list").order_by(AuditEvent.seq.desc()).limit(3)
    ).all()
    assert [e.after["q"] for e in events] == ["（手机号码）", "（手机号码）", "（身份证号码）"]


def test_a_platform_sees_only_its_own_account_of_that_person(client, two_platforms):
    pid = two_platforms["person_id"]
    for user, mine in [("meituan-api", "meituan"), ("didi-api", "didi")]:
        h = bearer(user)
        listed = client.get("/api/v1/workers", params={"q": two_platforms["meituan"]["id_number"]}, headers=h).json()
        assert [i["platform_code"] for i in listed["items"]] == [mine]
        assert [i["platform_account_id"] for i in listed["items"]] == [two_platforms[mine]["platform_account_id"]]
        assert [i["person_id"] for i in listed["items"]] == [None]  # platforms name workers by account
        # and cannot probe person ids: the same 404 as for a person not theirs
        assert client.get(f"/api/v1/workers/{pid}", headers=h).status_code == 404
    page = client.get("/api/v1/workers", params={"size": 200}, headers=bearer("didi-api")).json()
    assert page["items"] and {i["platform_code"] for i in page["items"]} == {"didi"}
    # a third platform does not see the person at all
    assert client.get(f"/api/v1/workers/{pid}", headers=bearer("huolala-api")).status_code == 404


def test_city_scope(client, guilin_only):
    pid = guilin_only["person_id"]
    nn = bearer("nn_si")
    res = client.get(f"/api/v1/workers/{pid}", headers=nn)
    assert res.status_code == 404
    assert res.json()["error"]["reason"] == "人员不存在或不在您的数据范围内"
    assert client.get(f"/api/v1/workers/{10**12}", headers=nn).json() == res.json()  # same answer as a missing one
    assert client.get("/api/v1/workers", params={"q": guilin_only["id_number"]}, headers=nn).json()["total"] == 0
    page = client.get("/api/v1/workers", params={"size": 200}, headers=nn).json()
    assert pid not in {i["person_id"] for i in page["items"]}
    assert all(i["county_code"].startswith("4501") for i in page["items"])
    assert client.get("/api/v1/workers", params={"region": "4503"}, headers=nn).json()["total"] == 0
    # 桂林 and the region see it; the 青秀区 county office does not
    assert client.get(f"/api/v1/workers/{pid}", headers=bearer("gl_si")).status_code == 200
    assert client.get(f"/api/v1/workers/{pid}", headers=bearer("gx_si")).status_code == 200
    assert client.get(f"/api/v1/workers/{pid}", headers=bearer("qx_si")).status_code == 404
    qx = client.get("/api/v1/workers", params={"size": 200}, headers=bearer("qx_si")).json()
    assert qx["items"] and all(i["county_code"] == "450103" for i in qx["items"])


def test_insurer_sees_only_assigned_persons(client, db, guilin_only):
    org = db.scalar(select(Organisation).where(Organisation.code == "insurer-a"))
    assigned = set(
        db.scalars(
            select(InsurerAssignment.person_id).where(
                InsurerAssignment.organisation_id == org.id, InsurerAssignment.closed_at.is_(None)
            )
        )
    )
    assert assigned
    h = bearer("insurer_a")
    page = client.get("/api/v1/workers", params={"size": 200}, headers=h).json()
    assert page["items"] and {i["person_id"] for i in page["items"]} <= assigned
    some = next(iter(assigned))
    assert client.get(f"/api/v1/workers/{some}", headers=h).status_code == 200
    assert client.get(f"/api/v1/workers/{guilin_only['person_id']}", headers=h).status_code == 404
    other = bearer("insurer_b")
    assert client.get(f"/api/v1/workers/{some}", headers=other).status_code == 404
    # workers and roles without the permission see nothing
    assert client.get("/api/v1/workers", headers=bearer("worker_demo")).status_code == 403


def test_masking_in_api(client, two_platforms):
    r = two_platforms["meituan"]
    for user in ["gx_si", "nn_si", "meituan-api", "gx_hrss"]:
        h = bearer(user)
        res = client.get("/api/v1/workers", params={"q": r["id_number"]}, headers=h)
        assert r["id_number"] not in res.text and r["phone"] not in res.text
        for i in res.json()["items"]:
            assert MASKED_ID.match(i["id_number"]) and MASKED_PHONE.match(i["phone"])
        detail = client.get(f"/api/v1/workers/{two_platforms['person_id']}", headers=h)
        if user == "meituan-api":
            assert detail.status_code == 404  # platforms do not address people by id
            continue
        assert detail.json()["full"] is False and detail.json()["birth_date"] is None
        assert r["id_number"] not in detail.text and r["phone"] not in detail.text
        assert MASKED_ID.match(detail.json()["id_number"])


def test_full_view_needs_permission_and_purpose_and_is_audited(client, db, two_platforms):
    pid, r = two_platforms["person_id"], two_platforms["meituan"]
    nn = bearer("nn_si")
    url = f"/api/v1/workers/{pid}/full"
    no_purpose = client.post(url, json={}, headers=nn)
    assert no_purpose.status_code == 400 and no_purpose.json()["error"]["field"] == "purpose"
    blank = client.post(url, json={"purpose": "  "}, headers=nn)
    assert blank.status_code == 400
    for user, status in [("meituan-api", 403), ("gx_hrss", 403), ("nn_hrss", 403)]:
        res = client.post(url, json={"purpose": "核实"}, headers=bearer(user))
        assert res.status_code == status and r["id_number"] not in res.text
    res = client.post(url, json={"purpose": "职业伤害确认受理核实身份"}, headers=nn)
    assert res.status_code == 200 and res.headers["cache-control"] == "no-store"
    body = res.json()
    assert body["full"] is True and body["id_number"] == r["id_number"] and body["birth_date"]
    assert {a["phone"] for a in body["accounts"]} == {r["phone"], two_platforms["didi"]["phone"]}
    ev = db.scalars(
        select(AuditEvent)
        .where(AuditEvent.action == "worker.view_full", AuditEvent.subjects.contains([pid]))
        .order_by(AuditEvent.seq.desc())
    ).first()
    assert ev is not None and ev.purpose == "职业伤害确认受理核实身份" and ev.actor.startswith("nn_si")
    assert r["id_number"] not in str(ev.after) and r["phone"] not in str(ev.after)


def test_personal_numbers_are_not_stored_in_clear(db, two_platforms):
    r, d = two_platforms["meituan"], two_platforms["didi"]
    secrets_ = [r["id_number"], r["phone"], d["phone"]]
    person = db.get(Person, two_platforms["person_id"])
    assert person.id_masked != r["id_number"]
    tables = {
        "persons": "id = :pid",
        "platform_accounts": "person_id = :pid",
        "audit_events": ":pid = ANY(subjects)",
        "registration_batches": "true",
    }
    for table, where in tables.items():
        rows = db.execute(text(f"SELECT * FROM {table} WHERE {where}"), {"pid": person.id}).all()
        assert rows, table
        for row in rows:
            for value in row:
                blob = value if isinstance(value, (bytes, memoryview)) else str(value).encode()
                for s in secrets_:
                    assert s.encode() not in bytes(blob), (table, s)


def test_full_view_is_a_post_with_csrf_not_a_link(client, as_user, db, two_platforms):
    """A cross-site link (a GET with the cookie, no CSRF token) cannot trigger an audited full view."""
    pid, r = two_platforms["person_id"], two_platforms["meituan"]

    def full_views() -> int:
        return db.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.action == "worker.view_full", AuditEvent.subjects.contains([pid]))
        )

    csrf = as_user("nn_si")["X-CSRF-Token"]
    before = full_views()
    old = client.get(f"/api/v1/workers/{pid}", params={"full": "true", "purpose": "攻击者写的事由"})
    assert old.status_code == 405 and r["id_number"] not in old.text
    assert "POST /api/v1/workers/" in old.json()["error"]["reason"]
    assert client.get(f"/api/v1/workers/{pid}", params={"full": "false"}).status_code == 200
    forged = client.post(f"/api/v1/workers/{pid}/full", json={"purpose": "攻击者写的事由"})
    assert forged.status_code == 403 and forged.json()["error"]["code"] == "csrf"
    page = client.get(f"/workers/{pid}/full", headers={"Accept": "text/html"})
    assert page.status_code == 405 and r["id_number"] not in page.text
    db.expire_all()
    assert full_views() == before
    ok = client.post(f"/api/v1/workers/{pid}/full", json={"purpose": "核实身份"}, headers={"X-CSRF-Token": csrf})
    assert ok.status_code == 200 and ok.json()["id_number"] == r["id_number"]
    db.expire_all()
    assert full_views() == before + 1
