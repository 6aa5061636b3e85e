"""Registration through the JSON API: one record, batches, status changes, batch reports."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from oip.core.audit_models import AuditEvent
from oip.core.config import get_settings
from oip.workers.models import PlatformAccount, RegistrationBatch
from tests.conftest import bearer
from tests.workers.conftest import new_phone, person_id_of, record


@pytest.fixture(scope="module")
def meituan():
    return bearer("meituan-api")


def _account(db, account_id):
    db.expire_all()
    return db.scalar(select(PlatformAccount).where(PlatformAccount.account_id == account_id))


def test_single_registration_created_unchanged_updated(client, meituan, db):
    r = record()
    batches_before = db.scalar(select(func.count()).select_from(RegistrationBatch))
    res = client.post("/api/v1/workers", json=r, headers=meituan)
    assert res.status_code == 201, res.text
    body = res.json()
    assert body == {"person_id": None, "status": "created", "warnings": []}  # platforms are not told person ids
    again = client.post("/api/v1/workers", json=r, headers=meituan)
    assert again.status_code == 201 and again.json() == {**body, "status": "unchanged"}
    changed = client.post("/api/v1/workers", json={**r, "phone": new_phone(), "county_code": "450105"}, headers=meituan)
    assert changed.json()["status"] == "updated" and changed.json()["person_id"] is None
    acc = _account(db, r["platform_account_id"])
    assert acc.county_code == "450105" and acc.platform.code == "meituan"
    # single registrations are audited but do not clutter the batch list
    events = db.scalars(
        select(AuditEvent).where(
            AuditEvent.action == "worker.register", AuditEvent.entity_id == r["platform_account_id"]
        )
    ).all()
    assert len(events) == 3 and all(e.subjects == [person_id_of(r["id_number"])] for e in events)
    assert (
        db.scalar(
            select(func.count())
            .select_from(RegistrationBatch)
            .where(RegistrationBatch.platform_id == acc.platform_id, RegistrationBatch.source == "api")
        )
        == 0
    )
    assert db.scalar(select(func.count()).select_from(RegistrationBatch)) >= batches_before


def test_single_registration_rejected_with_every_reason(client, meituan, db):
    r = record(id_number="450103199001011235", phone="12345", registered_on="2025-02-30", county_code="110101")
    res = client.post("/api/v1/workers", json=r, headers=meituan)
    assert res.status_code == 422
    body = res.json()
    fields = [e["field"] for e in body["errors"]]
    assert fields == ["id_number", "phone", "county_code", "registered_on"]
    assert body["error"] == {"code": "invalid", **body["errors"][0]}
    assert "校验位" in body["errors"][0]["reason"]
    assert _account(db, r["platform_account_id"]) is None


def test_single_registration_body_must_be_an_object(client, meituan):
    res = client.post("/api/v1/workers", json=[record()], headers=meituan)
    assert res.status_code == 422 and "/api/v1/workers/batch" in res.json()["error"]["reason"]
    res = client.post("/api/v1/workers", content=b"{not json", headers={**meituan, "Content-Type": "application/json"})
    assert res.status_code == 400 and "JSON" in res.json()["error"]["reason"]


def test_platform_cannot_register_for_another_platform(client, meituan):
    res = client.post("/api/v1/workers", json=record(platform_code="didi"), headers=meituan)
    assert res.status_code == 403 and res.json()["error"]["field"] == "platform_code"


def test_agency_registers_on_behalf_of_a_named_platform_in_its_region(client, db):
    nn = bearer("nn_si")
    res = client.post("/api/v1/workers", json=record(), headers=nn)
    assert res.status_code == 400 and res.json()["error"]["field"] == "platform_code"
    res = client.post("/api/v1/workers", json=record(platform_code="nosuch"), headers=nn)
    assert res.status_code == 400 and "nosuch" in res.json()["error"]["reason"]
    r = record(platform_code="didi")
    res = client.post("/api/v1/workers", json=r, headers=nn)
    assert res.status_code == 201, res.text
    assert _account(db, r["platform_account_id"]).platform.code == "didi"
    guilin = client.post("/api/v1/workers", json=record(platform_code="didi", county_code="450305"), headers=nn)
    assert guilin.status_code == 422
    assert guilin.json()["error"]["field"] == "county_code" and "辖区" in guilin.json()["error"]["reason"]
    # and nobody without the permission
    assert (
        client.post("/api/v1/workers", json=record(platform_code="didi"), headers=bearer("gx_hrss")).status_code == 403
    )
    assert (
        client.post("/api/v1/workers", json=record(platform_code="didi"), headers=bearer("insurer_a")).status_code
        == 403
    )
    assert client.post("/api/v1/workers", json=record()).status_code == 401


def test_batch_array_and_object_forms(client, meituan, db):
    rows = [record(), record(), record(id_number="4501031990")]
    res = client.post("/api/v1/workers/batch", json=rows, headers=meituan)
    assert res.status_code == 200, res.text
    body = res.json()
    assert (body["received"], body["accepted"], body["rejected"]) == (3, 2, 1)
    assert [x["status"] for x in body["results"]] == ["created", "created", "rejected"]
    assert body["results"][2] == {
        "row": 3,
        "platform_account_id": rows[2]["platform_account_id"],
        "status": "rejected",
        "reasons": [{"field": "id_number", "reason": body["results"][2]["reasons"][0]["reason"]}],
    }
    assert "18 位" in body["results"][2]["reasons"][0]["reason"]
    batch = db.get(RegistrationBatch, body["batch_id"])
    assert (batch.source, batch.received, batch.accepted, batch.rejected) == ("json", 3, 2, 1)

    res = client.post(
        "/api/v1/workers/batch", json={"platform_code": "didi", "records": [record()]}, headers=bearer("gx_si")
    )
    assert res.status_code == 200 and res.json()["accepted"] == 1
    res = client.post("/api/v1/workers/batch", json={"records": [record()]}, headers=meituan)
    assert res.status_code == 200 and res.json()["accepted"] == 1


def test_batch_duplicate_account_and_conflicting_names(client, meituan):
    a, b = record(), record()
    same_id_other_name = record(id_number=b["id_number"], name=b["name"] + "甲")
    rows = [a, {**a, "phone": new_phone()}, b, same_id_other_name, "not an object"]
    body = client.post("/api/v1/workers/batch", json=rows, headers=meituan).json()
    assert (body["received"], body["accepted"], body["rejected"]) == (5, 2, 3)
    res = body["results"]
    assert res[1]["status"] == "rejected" and "与本批第 1 条记录的平台账号重复" in res[1]["reasons"][0]["reason"]
    assert res[3]["status"] == "rejected" and res[3]["reasons"][0]["field"] == "name"
    assert res[4]["status"] == "rejected" and res[4]["platform_account_id"] is None


def test_batch_refusals(client, meituan, monkeypatch):
    monkeypatch.setattr(get_settings(), "batch_max_records", 3)
    res = client.post("/api/v1/workers/batch", json=[record() for _ in range(4)], headers=meituan)
    assert res.status_code == 413 and "3" in res.json()["error"]["reason"] and "4" in res.json()["error"]["reason"]
    for body, status in [
        (b'[{"a": 1},', 400),
        (b"", 400),
        (b'"text"', 422),
        (b"42", 422),
        (b'{"records": {}}', 422),
        (b"[]", 422),
        (b'{"name": "x"}', 422),
    ]:
        res = client.post(
            "/api/v1/workers/batch", content=body, headers={**meituan, "Content-Type": "application/json"}
        )
        assert res.status_code == status, (body, res.text)
        assert res.json()["error"]["reason"]
    res = client.post("/api/v1/workers/batch", content=b"a,b", headers={**meituan, "Content-Type": "text/csv"})
    assert res.status_code == 400 and "application/json" in res.json()["error"]["reason"]


def test_received_equals_accepted_plus_rejected_for_every_batch(client, meituan, db):
    client.post("/api/v1/workers/batch", json=[record(), record(phone="1"), {}], headers=meituan)
    for b in db.scalars(select(RegistrationBatch)):
        assert b.received == b.accepted + b.rejected
        assert sum(1 for r in b.results if r["status"] == "rejected") == b.rejected


def test_a_batch_is_one_transaction(client, meituan, db, monkeypatch):
    from oip.core import audit

    rows = [record(), record()]

    def boom(*a, **k):
        raise RuntimeError("crash after the inserts")

    monkeypatch.setattr(audit, "record", boom)
    with pytest.raises(RuntimeError):
        client.post("/api/v1/workers/batch", json=rows, headers=meituan)
    monkeypatch.undo()
    for r in rows:
        assert _account(db, r["platform_account_id"]) is None


def test_status_change(client, meituan, db):
    r = record(registered_on="2025-08-01")
    client.post("/api/v1/workers", json=r, headers=meituan)
    acc = r["platform_account_id"]
    res = client.post(
        "/api/v1/workers/status",
        json={"platform_account_id": acc, "status": "left", "effective_on": "2025-09-30"},
        headers=meituan,
    )
    assert res.status_code == 200, res.text
    assert res.json() == {
        "platform_code": "meituan",
        "platform_account_id": acc,
        "status": "left",
        "status_on": "2025-09-30",
        "changed": True,
    }
    again = client.post(
        "/api/v1/workers/status",
        json={"platform_account_id": acc, "status": "left", "effective_on": "2025-09-30"},
        headers=meituan,
    )
    assert again.json()["changed"] is False
    listed = client.get("/api/v1/workers", params={"q": acc}, headers=meituan).json()
    assert [i["status"] for i in listed["items"]] == ["left"]
    assert _account(db, acc).status_on.isoformat() == "2025-09-30"
    for body, status, field in [
        ({"platform_account_id": acc, "status": "gone"}, 422, "status"),
        ({"platform_account_id": acc, "status": "active", "effective_on": "2099-01-01"}, 400, "effective_on"),
        ({"platform_account_id": acc, "status": "active", "effective_on": "2025-07-01"}, 400, "effective_on"),
        ({"platform_account_id": acc, "status": "active", "effective_on": "01/02"}, 422, "effective_on"),
        ({"status": "active"}, 422, "platform_account_id"),
    ]:
        res = client.post("/api/v1/workers/status", json=body, headers=meituan)
        assert res.status_code == status and res.json()["error"]["field"] == field, res.text
    # another platform's account answers like a missing one
    res = client.post(
        "/api/v1/workers/status", json={"platform_account_id": acc, "status": "active"}, headers=bearer("didi-api")
    )
    assert res.status_code == 404
    back = client.post("/api/v1/workers/status", json={"platform_account_id": acc, "status": "active"}, headers=meituan)
    assert back.json()["status"] == "active"


def test_batches_listing_detail_and_rejects_csv(client, meituan):
    body = client.post(
        "/api/v1/workers/batch", json=[record(), record(id_number="450103194902301234")], headers=meituan
    ).json()
    bid = body["batch_id"]
    listed = client.get("/api/v1/workers/batches", headers=meituan).json()
    assert listed[0]["batch_id"] == bid and all(b["platform_code"] == "meituan" for b in listed)
    detail = client.get(f"/api/v1/workers/batches/{bid}", headers=meituan).json()
    assert (detail["received"], detail["accepted"], detail["rejected"]) == (2, 1, 1), detail["results"]
    assert detail["results"][0]["row"] == 2 and detail["source"] == "json" and detail["platform_name"] == "美团"
    csv = client.get(f"/api/v1/workers/batches/{bid}/rejects.csv", headers=meituan)
    assert csv.status_code == 200 and csv.headers["content-type"].startswith("text/csv")
    assert csv.content.startswith(b"\xef\xbb\xbf")
    lines = csv.content.decode("utf-8-sig").splitlines()
    assert lines[0] == "row,platform_account_id,field,reason"
    assert lines[1].startswith("2,") and "19490230" in lines[1]
    # another platform cannot see it; an agency can; insurers and other roles cannot
    assert client.get(f"/api/v1/workers/batches/{bid}", headers=bearer("didi-api")).status_code == 404
    assert client.get(f"/api/v1/workers/batches/{bid}/rejects.csv", headers=bearer("didi-api")).status_code == 404
    assert client.get(f"/api/v1/workers/batches/{bid}", headers=bearer("gx_si")).status_code == 200
    assert bid in [
        b["batch_id"]
        for b in client.get(
            "/api/v1/workers/batches", params={"platform_code": "meituan"}, headers=bearer("gx_si")
        ).json()
    ]
    assert client.get("/api/v1/workers/batches", headers=bearer("insurer_a")).status_code == 403
    assert client.get(f"/api/v1/workers/batches/{bid}", headers=bearer("gx_hrss")).status_code == 403


def test_cookie_session_writes_need_the_csrf_token(client, as_user):
    headers = as_user("meituan_admin")
    assert client.post("/api/v1/workers", json=record()).status_code == 403
    assert client.post("/api/v1/workers", json=record(), headers=headers).status_code == 201


def test_openapi_documents_the_bodies(client):
    spec = client.get("/openapi.json").json()
    one = spec["paths"]["/api/v1/workers"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert "id_number" in one["properties"]
    assert "multipart/form-data" in spec["paths"]["/api/v1/workers/upload"]["post"]["requestBody"]["content"]
    json.dumps(spec)


def test_a_city_sees_only_the_batch_reports_its_agencies_uploaded(client, meituan, as_user):
    """A platform's report lists records of the whole province: the province sees it, a city does not;
    a city agency uploading on a platform's behalf sees its own report, another city does not."""
    own = client.post("/api/v1/workers/batch", json=[record(), record(name="")], headers=meituan).json()["batch_id"]
    body = {"platform_code": "meituan", "records": [record(), record(name="")]}
    nn = client.post("/api/v1/workers/batch", json=body, headers=bearer("nn_si"))
    assert nn.status_code == 200, nn.text
    by_nn = nn.json()["batch_id"]
    for bid, allowed, refused in [
        (own, ["gx_si", "meituan-api"], ["nn_si", "qx_si", "gl_si"]),
        (by_nn, ["gx_si", "nn_si", "meituan-api"], ["gl_si", "qx_si"]),
    ]:
        for user in allowed:
            assert client.get(f"/api/v1/workers/batches/{bid}", headers=bearer(user)).status_code == 200, user
        for user in refused:
            h = bearer(user)
            assert client.get(f"/api/v1/workers/batches/{bid}", headers=h).status_code == 404, user
            assert client.get(f"/api/v1/workers/batches/{bid}/rejects.csv", headers=h).status_code == 404
            listed = client.get("/api/v1/workers/batches", params={"platform_code": "meituan"}, headers=h).json()
            assert bid not in [b["batch_id"] for b in listed]
    as_user("gl_si")
    assert client.get(f"/workers/batches/{by_nn}").status_code == 404
    page = client.get("/workers/upload", params={"platform_code": "meituan"})
    assert page.status_code == 200 and f"/workers/batches/{by_nn}" not in page.text
