"""API credentials of platforms: list without secrets, issue once, revoke; rotation; scope."""

from __future__ import annotations

from sqlalchemy import select

from oip.core.audit_models import AuditEvent
from tests.conftest import bearer


def token(client, client_id: str, secret: str):
    return client.post(
        "/api/v1/auth/token", data={"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret}
    )


def test_issue_list_and_rotate(client, db):
    si = bearer("gx_si")
    r = client.post("/api/v1/platforms/huolala/credentials", json={"label": "生产环境 2026"}, headers=si)
    assert r.status_code == 201, r.text
    assert r.headers["cache-control"] == "no-store"
    new = r.json()
    assert new["client_id"].startswith("platform-huolala-") and len(new["client_secret"]) >= 32

    listed = client.get("/api/v1/platforms/huolala/credentials", headers=si)
    assert listed.status_code == 200
    assert new["client_secret"] not in listed.text and "secret" not in listed.text
    row = next(c for c in listed.json() if c["client_id"] == new["client_id"])
    assert row["label"] == "生产环境 2026" and row["revoked_at"] is None and row["last_used_at"] is None

    # the new credential works
    t = token(client, new["client_id"], new["client_secret"])
    assert t.status_code == 200, t.text
    bearer_new = {"Authorization": f"Bearer {t.json()['access_token']}"}
    assert client.get("/api/v1/platforms", headers=bearer_new).json()[0]["code"] == "huolala"

    # rotate: a second one, then revoke the first
    second = client.post("/api/v1/platforms/huolala/credentials", json={"label": "轮换"}, headers=si).json()
    r = client.post(f"/api/v1/platforms/huolala/credentials/{new['client_id']}/revoke", headers=si)
    assert r.status_code == 200 and r.json()["revoked_at"] is not None
    assert token(client, new["client_id"], new["client_secret"]).status_code == 401
    assert client.get("/api/v1/platforms", headers=bearer_new).status_code == 401
    assert token(client, second["client_id"], second["client_secret"]).status_code == 200

    r = client.post(f"/api/v1/platforms/huolala/credentials/{new['client_id']}/revoke", headers=si)
    assert r.status_code == 409 and r.json()["error"]["field"] == "client_id"
    actions = list(
        db.scalars(select(AuditEvent.action).where(AuditEvent.entity_id == new["client_id"]).order_by(AuditEvent.seq))
    )
    assert actions[0] == "credential.create" and "credential.revoke" in actions


def test_a_platform_manages_its_own_credentials_only(client):
    h = bearer("didi_admin")
    r = client.post("/api/v1/platforms/didi/credentials", json={"label": "自助"}, headers=h)
    assert r.status_code == 201
    cid = r.json()["client_id"]
    assert any(c["client_id"] == cid for c in client.get("/api/v1/platforms/didi/credentials", headers=h).json())
    assert client.post(f"/api/v1/platforms/didi/credentials/{cid}/revoke", headers=h).status_code == 200
    for method, url in [
        ("GET", "/api/v1/platforms/meituan/credentials"),
        ("POST", "/api/v1/platforms/meituan/credentials"),
        ("POST", "/api/v1/platforms/meituan/credentials/meituan-demo/revoke"),
    ]:
        r = client.request(method, url, headers=h, json={})
        assert r.status_code == 404, (url, r.status_code)
    # the demo credential of meituan still works
    assert token(client, "meituan-demo", "demo-secret-meituan").status_code == 200


def test_revoking_another_platforms_credential_by_id_is_not_found(client):
    r = client.post("/api/v1/platforms/huolala/credentials/meituan-demo/revoke", headers=bearer("gx_si"))
    assert r.status_code == 404 and r.json()["error"]["field"] == "client_id"


def test_officers_without_credentials_permission_are_refused(client):
    for user in ("gx_hrss", "nn_si", "gx_tax"):
        assert client.get("/api/v1/platforms/didi/credentials", headers=bearer(user)).status_code == 403
        assert client.post("/api/v1/platforms/didi/credentials", json={}, headers=bearer(user)).status_code == 403


def test_no_credentials_for_a_platform_not_admitted(client, run_admission):
    adm = run_admission()
    r = client.post(f"/api/v1/platforms/{adm['platform_code']}/credentials", json={}, headers=bearer("gx_si"))
    assert r.status_code == 400 and "纳入试点后" in r.json()["error"]["reason"]


def test_credentials_for_a_newly_designated_platform(client, create_platform):
    p = create_platform()
    r = client.post(f"/api/v1/platforms/{p['code']}/credentials", json={"label": "首个"}, headers=bearer("gx_si"))
    assert r.status_code == 201, r.text
    t = token(client, r.json()["client_id"], r.json()["client_secret"])
    assert t.status_code == 200
    mine = client.get("/api/v1/platforms", headers={"Authorization": f"Bearer {t.json()['access_token']}"}).json()
    assert [x["code"] for x in mine] == [p["code"]]
