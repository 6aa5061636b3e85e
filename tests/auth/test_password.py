"""Issue 10 §5: the password policy wherever a password is set, the change-password page, and the
forced change of a password an administrator chose."""

from __future__ import annotations

import uuid

from fastapi.testclient import TestClient
from sqlalchemy import select

from oip.auth import password_rules
from oip.auth.models import Organisation, User
from oip.auth.service import check_secret, hash_secret
from oip.core.db import session_scope
from oip.demo.generate import DEMO_PASSWORD
from tests.conftest import bearer, csrf_of, post_login, sign_in

HTML = {"accept": "text/html"}
ADMIN_PW = "Initial-2026-pw"


def _org(code: str) -> int:
    with session_scope() as s:
        return s.scalar(select(Organisation.id).where(Organisation.code == code))


def _own_user() -> str:
    """A user who chose their own password (not marked for a change)."""
    name = f"p{uuid.uuid4().hex[:10]}"
    with session_scope() as s:
        s.add(
            User(
                username=name,
                display_name=name,
                role="si_city",
                organisation_id=_org("450100-si"),
                password_hash=hash_secret(DEMO_PASSWORD),
            )
        )
    return name


def _created_by_admin(client, password: str = ADMIN_PW) -> dict:
    body = {
        "username": f"p{uuid.uuid4().hex[:10]}",
        "display_name": "新同事",
        "organisation_id": _org("450300-si"),
        "role": "si_city",
        "password": password,
    }
    r = client.post("/api/v1/users", json=body, headers=bearer("gx_si"))
    assert r.status_code == 201, r.text
    return r.json()


def _change(c, csrf: str, current: str, new: str, repeat: str | None = None):
    return c.post(
        "/password",
        data={
            "csrf_token": csrf,
            "current_password": current,
            "new_password": new,
            "new_password_repeat": new if repeat is None else repeat,
        },
        headers=HTML,
        follow_redirects=False,
    )


# ---- the policy -------------------------------------------------------------------------------------


def test_the_policy_refuses_short_common_and_username_passwords_with_chinese_reasons_naming_the_field():
    assert len(password_rules.common_passwords()) > 10_000
    for bad, words in (
        ("Short-1", "至少 12 个字符"),
        ("password1234", "常见密码"),
        ("QWERTYUIOP123", "常见密码"),  # case does not help
        ("zhang.wei-2026!", "用户名"),
    ):
        try:
            password_rules.check(bad, "zhang.wei", "new_password")
        except password_rules.WeakPassword as e:
            assert words in e.reason and e.field == "new_password"
        else:
            raise AssertionError(bad)
    assert password_rules.check("红豆 生南国 春来发几枝", "zhang.wei") == "红豆 生南国 春来发几枝"


def test_weak_and_common_passwords_are_refused_on_creation_and_reset(client):
    for pw in ("Newpass26x", "password1234", "qwertyuiop123"):
        body = {
            "username": f"p{uuid.uuid4().hex[:10]}",
            "display_name": "x",
            "organisation_id": _org("450300-si"),
            "role": "si_city",
            "password": pw,
        }
        r = client.post("/api/v1/users", json=body, headers=bearer("gx_si"))
        assert r.status_code == 400 and r.json()["error"]["field"] == "password", pw
    u = _created_by_admin(client)
    r = client.post(
        f"/api/v1/users/{u['id']}/password", json={"password": u["username"] + "-2026"}, headers=bearer("gx_si")
    )
    assert r.status_code == 400 and "用户名" in r.json()["error"]["reason"]


# ---- the change-password page -----------------------------------------------------------------------


def test_every_signed_in_user_reaches_the_change_page_from_their_navigation(client):
    for username in ("nn_si", "meituan_admin", "worker_demo"):
        with TestClient(client.app) as c:
            sign_in(c, username)
            page = c.get("/console" if username == "nn_si" else "/me" if username == "worker_demo" else "/portal")
            assert 'href="/password"' in page.text and "修改密码" in page.text, username


def test_the_change_page_checks_the_current_password_the_repeat_and_the_policy(client):
    user = _own_user()
    csrf = sign_in(client, user)
    page = client.get("/password", headers=HTML)
    assert page.status_code == 200 and "当前密码" in page.text and "再次输入新密码" in page.text
    new = "Lijiang-boat-2026"
    assert "当前密码不正确" in _change(client, csrf, "wrong-one-here", new).text
    assert "两次输入的新密码不一致" in _change(client, csrf, DEMO_PASSWORD, new, new + "x").text
    assert "常见密码" in _change(client, csrf, DEMO_PASSWORD, "password1234").text
    assert "至少 12 个字符" in _change(client, csrf, DEMO_PASSWORD, "short").text
    assert client.post("/password", data={"current_password": DEMO_PASSWORD}, headers=HTML).status_code == 403  # CSRF
    r = _change(client, csrf, DEMO_PASSWORD, new)
    assert r.status_code == 303 and r.headers["location"] == "/password?done=1"
    assert "密码已修改" in client.get(r.headers["location"], headers=HTML).text
    assert client.get("/api/v1/me").status_code == 200  # this browser stays signed in
    with session_scope() as s:
        stored = s.scalar(select(User.password_hash).where(User.username == user))
    assert check_secret(stored, new) and not check_secret(stored, DEMO_PASSWORD)
    with TestClient(client.app) as other:
        assert post_login(other, user, DEMO_PASSWORD).status_code == 401
        assert post_login(other, user, new).status_code == 303


def test_changing_the_password_ends_the_other_sessions(client):
    user = _own_user()
    with TestClient(client.app) as elsewhere:
        sign_in(elsewhere, user)
        csrf = sign_in(client, user)
        assert _change(client, csrf, DEMO_PASSWORD, "Guilin-hills-2026").status_code == 303
        assert elsewhere.get("/api/v1/me").status_code == 401
    assert client.get("/api/v1/me").status_code == 200


# ---- forced change ----------------------------------------------------------------------------------


def test_a_user_created_by_an_administrator_must_change_the_password_at_first_sign_in(client):
    u = _created_by_admin(client)
    with TestClient(client.app) as c:
        r = post_login(c, u["username"], ADMIN_PW)
        assert r.status_code == 303 and r.headers["location"] == "/password"
        csrf = csrf_of(c)
        # Every page leads to the change page; the API answers 403 with a Chinese reason.
        for url in ("/console", "/workers", "/users", "/me"):
            r = c.get(url, headers=HTML, follow_redirects=False)
            assert r.status_code == 303 and r.headers["location"] == "/password", url
        r = c.get("/api/v1/me")
        assert r.status_code == 403
        assert r.json()["error"]["code"] == "password_change_required" and "修改密码" in r.json()["error"]["reason"]
        page = c.get("/password", headers=HTML)
        assert page.status_code == 200 and 'data-testid="forced-change"' in page.text
        # The same password again does not count as a change.
        assert "不能与当前密码相同" in _change(c, csrf, ADMIN_PW, ADMIN_PW).text
        assert _change(c, csrf, ADMIN_PW, "Beibu-gulf-2026").status_code == 303
        assert c.get("/console", headers=HTML).status_code == 200
        assert c.get("/api/v1/me").json()["username"] == u["username"]
    # A reset by an administrator marks it again.
    r = client.post(
        f"/api/v1/users/{u['id']}/password", json={"password": "Reset-by-admin-26"}, headers=bearer("gx_si")
    )
    assert r.status_code == 200
    with TestClient(client.app) as c:
        assert post_login(c, u["username"], "Reset-by-admin-26").headers["location"] == "/password"
        assert c.get("/api/v1/workers").status_code == 403


def test_a_session_that_must_change_can_still_sign_out(client):
    u = _created_by_admin(client)
    with TestClient(client.app) as c:
        csrf = sign_in(c, u["username"], ADMIN_PW)
        r = c.post("/logout", data={"csrf_token": csrf}, headers=HTML, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"] == "/login"


def test_demo_accounts_are_not_marked_for_a_change():
    with session_scope() as s:
        marked = s.scalars(
            select(User.username).where(User.must_change_password.is_(True), User.username.in_(("nn_si", "gx_hrss")))
        ).all()
    assert marked == []
