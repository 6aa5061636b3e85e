"""The users page and /api/v1/users: who may see and manage which users, and what each change does."""

from __future__ import annotations

import dataclasses
import uuid

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from oip.auth import service
from oip.auth.models import Organisation, User
from oip.auth.permissions import ROLES
from oip.auth.service import principal_for
from oip.core.audit_models import AuditEvent
from oip.core.db import session_scope
from oip.core.errors import DomainError, Forbidden, NotFound
from tests.conftest import bearer, post_login, sign_in

PW = "Newpass2026x"
HTML = {"accept": "text/html"}


def _org(code: str) -> int:
    with session_scope() as s:
        return s.scalar(select(Organisation.id).where(Organisation.code == code))


def _name() -> str:
    return f"t{uuid.uuid4().hex[:10]}"


def _create(client, by: str, *, org: str = "450300-si", role: str = "si_city", **kw) -> dict:
    body = {
        "username": _name(),
        "display_name": "测试用户",
        "organisation_id": _org(org),
        "role": role,
        "password": PW,
    } | kw
    return client.post("/api/v1/users", json=body, headers=bearer(by))


def _first_sign_in(c, username: str, password: str) -> str:
    """Sign in with the password an administrator chose and replace it, as the user must; the new one."""
    csrf = sign_in(c, username, password)
    own = password + "-mine"
    r = c.post(
        "/password",
        data={"csrf_token": csrf, "current_password": password, "new_password": own, "new_password_repeat": own},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    return own


def _events(user_id: int) -> list[str]:
    with session_scope() as s:
        return list(
            s.scalars(
                select(AuditEvent.action)
                .where(
                    AuditEvent.entity_type == "user",
                    AuditEvent.action.startswith("user."),
                    AuditEvent.entity_id == str(user_id),
                )
                .order_by(AuditEvent.seq)
            )
        )


def test_si_region_creates_a_city_user_who_signs_in_with_the_scope_of_the_organisation(client):
    r = _create(client, "gx_si")
    assert r.status_code == 201, r.text
    u = r.json()
    assert u["role_name"] == "市社会保险经办机构" and u["organisation"] == "桂林市社会保险事业局"
    assert _events(u["id"]) == ["user.create"]
    with TestClient(client.app) as c:
        _first_sign_in(c, u["username"], PW)
        assert c.get("/api/v1/me").json()["region_code"] == "450300"


def test_the_role_must_suit_the_organisation_and_the_fields_are_named(client):
    r = _create(client, "gx_si", org="450300-si", role="tax")
    assert r.status_code == 400 and r.json()["error"]["field"] == "role"
    assert "税务机关" in r.json()["error"]["reason"]
    assert _create(client, "gx_si", username="Bad Name").json()["error"]["field"] == "username"
    assert _create(client, "gx_si", password="short1").json()["error"]["field"] == "password"
    assert _create(client, "gx_si", password="password1234").json()["error"]["field"] == "password"
    assert _create(client, "gx_si", username="gx_hrss").status_code == 409


def test_nobody_grants_more_than_they_hold(client):
    # 人社厅 may not create social insurance agency users (full ID numbers, registration) ...
    r = _create(client, "gx_hrss", org="450300-si", role="si_city")
    assert r.status_code == 403 and r.json()["error"]["field"] == "role"
    # ... nor reset the password of the 社保中心's regional user, which would hand it that power.
    with session_scope() as s:
        gx_si = s.scalar(select(User.id).where(User.username == "gx_si"))
    r = client.post(f"/api/v1/users/{gx_si}/password", json={"password": PW}, headers=bearer("gx_hrss"))
    assert r.status_code == 403
    # It may create a city HRSS officer.
    assert _create(client, "gx_hrss", org="450300-hrss", role="hrss_city").status_code == 201
    assert {r.code for r in service.grantable_roles(_principal("gx_hrss"))} >= {"hrss_city", "hrss_county", "union"}
    assert "hrss_region" not in {r.code for r in service.grantable_roles(_principal("gx_si"))}


def test_nobody_manages_their_own_account(client):
    with session_scope() as s:
        me = s.scalar(select(User).where(User.username == "gx_si"))
        org_id = me.organisation_id
    h = bearer("gx_si")
    assert client.patch(f"/api/v1/users/{me.id}", json={"is_active": False}, headers=h).status_code == 403
    assert (
        client.patch(
            f"/api/v1/users/{me.id}", json={"organisation_id": org_id, "role": "si_city"}, headers=h
        ).status_code
        == 403
    )
    assert client.post(f"/api/v1/users/{me.id}/password", json={"password": PW}, headers=h).status_code == 403


def test_disable_ends_the_sessions_and_enable_lets_the_user_back(client):
    u = _create(client, "gx_si").json()
    with TestClient(client.app) as c:
        sign_in(c, u["username"], PW)
        assert (
            client.patch(f"/api/v1/users/{u['id']}", json={"is_active": False}, headers=bearer("gx_si")).json()[
                "is_active"
            ]
            is False
        )
        assert c.get("/api/v1/me").status_code == 401
        r = post_login(c, u["username"], PW)
        assert r.status_code == 401
    client.patch(f"/api/v1/users/{u['id']}", json={"is_active": True}, headers=bearer("gx_si"))
    with TestClient(client.app) as c:
        sign_in(c, u["username"], PW)
    assert _events(u["id"]) == ["user.create", "user.disable", "user.enable"]


def test_reset_password_and_move_to_another_organisation(client):
    u = _create(client, "gx_si").json()
    r = client.post(f"/api/v1/users/{u['id']}/password", json={"password": "Another2026pw"}, headers=bearer("gx_si"))
    assert r.status_code == 200
    with TestClient(client.app) as c:
        assert post_login(c, u["username"], PW).status_code == 401
        _first_sign_in(c, u["username"], "Another2026pw")
        r = client.patch(
            f"/api/v1/users/{u['id']}",
            json={"organisation_id": _org("450100-si"), "role": "si_city"},
            headers=bearer("gx_si"),
        )
        assert r.status_code == 200 and r.json()["region_code"] == "450100"
        assert c.get("/api/v1/me").json()["region_code"] == "450100"  # the scope follows at once
    with session_scope() as s:
        ev = s.scalar(
            select(AuditEvent).where(AuditEvent.action == "user.update", AuditEvent.entity_id == str(u["id"]))
        )
        assert ev.before == {"organisation": "450300-si"} and ev.after == {"organisation": "450100-si"}
    assert _events(u["id"])[-2:] == ["user.reset_password", "user.update"]


def _principal(username: str, **change):
    with session_scope() as s:
        p = principal_for(s, s.scalar(select(User).where(User.username == username)))
    return dataclasses.replace(p, **change) if change else p


def test_an_officer_manages_only_users_of_organisations_inside_their_region(db):
    # A 社保中心 role whose organisation were Guilin's would not see Nanning's users.
    guilin = _principal("gx_si", region_prefix="4503", user_id=0)
    nn_si = db.scalar(select(User).where(User.username == "nn_si"))
    with pytest.raises(NotFound):
        service.get_user(db, guilin, nn_si.id)
    with pytest.raises(NotFound):
        service.set_active(db, guilin, nn_si.id, False)
    with pytest.raises(DomainError) as e:
        service.create_user(
            db,
            guilin,
            username=_name(),
            display_name="x",
            organisation_id=nn_si.organisation_id,
            role_code="si_city",
            password=PW,
        )
    assert e.value.field == "organisation_id"
    page = service.list_users(db, guilin, size=500)
    assert page.items and all(u.organisation.region_code.startswith("4503") for u in page.items)
    db.rollback()


def test_list_filters_paginates_and_leaves_out_workers(client):
    h = bearer("gx_si")
    all_ = client.get("/api/v1/users", params={"size": 5}, headers=h).json()
    assert len(all_["items"]) == 5 and all_["total"] > 5
    assert "worker_demo" not in {
        u["username"] for u in client.get("/api/v1/users", params={"size": 500}, headers=h).json()["items"]
    }
    second = client.get("/api/v1/users", params={"size": 5, "page": 2}, headers=h).json()["items"]
    assert not {u["id"] for u in second} & {u["id"] for u in all_["items"]}
    insurers = client.get("/api/v1/users", params={"role": "insurer"}, headers=h).json()["items"]
    assert {u["username"] for u in insurers} >= {"insurer_a", "insurer_b"} and {u["role"] for u in insurers} == {
        "insurer"
    }
    org = _org("gx-tax")
    assert [
        u["username"] for u in client.get("/api/v1/users", params={"organisation_id": org}, headers=h).json()["items"]
    ] == ["gx_tax"]
    assert client.get("/api/v1/users", headers=bearer("nn_si")).status_code == 403


def test_the_users_page_creates_and_manages_users(client):
    csrf = sign_in(client, "gx_si")
    page = client.get("/users", headers=HTML)
    assert page.status_code == 200 and 'data-testid="users"' in page.text and "新建用户" in page.text
    # The filter form as a browser sends it ("all" organisations: an empty field).
    page = client.get("/users", params={"organisation_id": "", "role": "insurer", "q": ""}, headers=HTML)
    assert page.status_code == 200 and "insurer_a" in page.text and "gx_tax" not in page.text
    name = _name()
    r = client.post(
        "/users",
        data={
            "csrf_token": csrf,
            "username": name,
            "display_name": "黄测试",
            "organisation_id": _org("450300-si"),
            "role": "finance",
            "password": PW,
        },
        headers=HTML,
    )
    assert r.status_code == 400 and "财政部门" in r.text and name in r.text  # the form keeps what was typed
    r = client.post(
        "/users",
        data={
            "csrf_token": csrf,
            "username": name,
            "display_name": "黄测试",
            "organisation_id": _org("450300-si"),
            "role": "si_city",
            "password": PW,
        },
        headers=HTML,
        follow_redirects=False,
    )
    assert r.status_code == 303
    detail = client.get(r.headers["location"], headers=HTML)
    assert "用户已建立" in detail.text and "停用该用户" in detail.text
    uid = int(r.headers["location"].split("/")[2].split("?")[0])
    r = client.post(f"/users/{uid}/active", data={"csrf_token": csrf, "active": "0"}, headers=HTML)
    assert r.status_code == 200 and "已停用" in r.text and "重新启用" in r.text
    r = client.post(f"/users/{uid}/password", data={"csrf_token": csrf, "password": "short"}, headers=HTML)
    assert r.status_code == 400 and "密码至少 12 个字符" in r.text
    assert _events(uid) == ["user.create", "user.disable"]


def test_hrss_region_sees_the_users_page_without_forms_for_more_powerful_users(client):
    sign_in(client, "gx_hrss")
    with session_scope() as s:
        gx_si = s.scalar(select(User.id).where(User.username == "gx_si"))
    page = client.get(f"/users/{gx_si}", headers=HTML)
    assert page.status_code == 200 and "重置密码" not in page.text
    assert ROLES["hrss_region"].permissions >= {"user.read", "user.manage"}


def test_service_refuses_a_forbidden_grant_with_forbidden(db):
    with pytest.raises(Forbidden):
        service.create_user(
            db,
            _principal("gx_hrss"),
            username=_name(),
            display_name="x",
            organisation_id=_org("450300-si"),
            role_code="si_city",
            password=PW,
        )
    db.rollback()
