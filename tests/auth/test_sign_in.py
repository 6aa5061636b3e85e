"""Staff sign-in, sessions, CSRF, throttling, bearer tokens and API credentials."""

import datetime as dt
import uuid

from sqlalchemy import select

from oip.auth.deps import SESSION_COOKIE
from oip.auth.models import StaffSession, User
from oip.auth.service import _sha
from oip.core.audit_models import AuditEvent
from oip.core.db import session_scope
from oip.demo.generate import DEMO_PASSWORD, DEMO_SECRET_PREFIX
from tests.conftest import bearer, csrf_of, post_login, sign_in


def _events(action: str, entity_id: str | None = None) -> list[AuditEvent]:
    with session_scope() as s:
        q = select(AuditEvent).where(AuditEvent.action == action)
        if entity_id is not None:
            q = q.where(AuditEvent.entity_id == entity_id)
        return list(s.scalars(q))


def _new_user(role: str = "si_city", org_code: str = "450100-si") -> str:
    from oip.auth.models import Organisation
    from oip.auth.service import hash_secret

    name = f"u{uuid.uuid4().hex[:10]}"
    with session_scope() as s:
        org = s.scalar(select(Organisation).where(Organisation.code == org_code))
        s.add(
            User(
                username=name,
                display_name=name,
                role=role,
                organisation_id=org.id,
                password_hash=hash_secret(DEMO_PASSWORD),
            )
        )
    return name


def test_sign_in_sets_an_httponly_session_cookie_and_lands_on_the_console(client):
    r = post_login(client, "nn_hrss", DEMO_PASSWORD)
    assert r.status_code == 303 and r.headers["location"] == "/console"
    cookie = r.headers["set-cookie"]
    assert SESSION_COOKIE in cookie and "httponly" in cookie.lower() and "samesite=lax" in cookie.lower()
    page = client.get("/console")
    assert page.status_code == 200 and "工作台" in page.text and "市人力资源社会保障局" in page.text


def test_platform_users_land_on_their_portal_and_workers_on_their_page(client):
    r = post_login(client, "meituan_admin", DEMO_PASSWORD)
    assert r.headers["location"] == "/portal"
    client.cookies.clear()
    r = post_login(client, "worker_demo", DEMO_PASSWORD)
    assert r.headers["location"] == "/me"


def test_wrong_password_is_refused_and_audited(client):
    user = _new_user()
    r = post_login(client, user, "wrong")
    assert r.status_code == 401 and "用户名或密码错误" in r.text
    assert _events("auth.sign_in_failed", user)


def test_repeated_failures_back_off_even_the_right_password_and_say_when_to_retry(client):
    from oip.auth.throttle_rules import PAIR
    from oip.core import clock

    user = _new_user()
    with clock.frozen(clock.now()) as t0:
        for _ in range(PAIR.free + 1):
            assert post_login(client, user, "nope").status_code == 401
        r = post_login(client, user, DEMO_PASSWORD)
        assert r.status_code == 429 and "登录失败次数过多，请 2 秒后再试" in r.text
        assert r.headers["retry-after"] == "2"
        assert _events("auth.sign_in_throttled", user)
    with clock.frozen(t0 + dt.timedelta(seconds=2)):  # a back-off, not a lock-out: it runs out by itself
        assert post_login(client, user, DEMO_PASSWORD).status_code == 303


def test_unknown_users_are_answered_like_wrong_passwords(client):
    r = post_login(client, "nobody-here", "x")
    assert r.status_code == 401 and "用户名或密码错误" in r.text


def test_open_redirects_are_refused(client):
    r = post_login(client, "nn_si", DEMO_PASSWORD, next="//evil.example")
    assert r.headers["location"] == "/console"


def test_idle_sessions_expire(client):
    sign_in(client, "nn_si")
    with session_scope() as s:
        row = s.get(StaffSession, _sha(client.cookies.get(SESSION_COOKIE)))
        row.last_seen_at = row.last_seen_at - dt.timedelta(minutes=31)
    assert client.get("/api/v1/me").status_code == 401
    r = client.get("/console", headers={"accept": "text/html"}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login")


def test_writes_with_a_session_need_the_csrf_token(client):
    sign_in(client, "nn_si")
    assert client.post("/logout", follow_redirects=False).status_code == 403
    assert client.post("/logout", data={"csrf_token": "forged"}, follow_redirects=False).status_code == 403
    r = client.post("/logout", data={"csrf_token": csrf_of(client)}, follow_redirects=False)
    assert r.status_code == 303
    assert client.get("/api/v1/me").status_code == 401


def test_platform_credentials_give_short_lived_bearer_tokens(client):
    r = client.post(
        "/api/v1/auth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": "meituan-demo",
            "client_secret": DEMO_SECRET_PREFIX + "meituan",
        },
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["token_type"] == "bearer" and 0 < body["expires_in"] <= 3600
    me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {body['access_token']}"}).json()
    assert me["role"] == "platform" and me["platform_id"]
    # JSON works too; a wrong secret does not.
    r = client.post("/api/v1/auth/token", json={"client_id": "meituan-demo", "client_secret": "guess"})
    assert r.status_code == 401 and r.json()["error"]["code"] == "unauthenticated"
    r = client.post("/api/v1/auth/token", json={"client_id": "meituan-demo"})
    assert r.status_code == 400 and r.json()["error"]["field"] == "client_secret"
    r = client.post("/api/v1/auth/token", content=b"{not json", headers={"content-type": "application/json"})
    assert r.status_code == 400


def test_expired_and_unknown_tokens_are_refused(client):
    assert client.get("/api/v1/me", headers={"Authorization": "Bearer oip_nonsense"}).status_code == 401
    headers = bearer("nn_si", minutes=-1)
    assert client.get("/api/v1/me", headers=headers).status_code == 401


def test_back_off_rows_nobody_failed_on_lately_are_dropped_as_new_failures_come_in(client):
    from oip.auth.models import SignInThrottle
    from oip.auth.throttle_rules import FORGET
    from oip.core import clock

    with session_scope() as s:
        s.add(SignInThrottle(key="login:pair:stale", failures=2, last_failure_at=clock.now() - FORGET))
        s.add(SignInThrottle(key="login:pair:fresh", failures=2, last_failure_at=clock.now()))
    user = _new_user()
    assert post_login(client, user, "nope").status_code == 401
    with session_scope() as s:
        keys = set(s.scalars(select(SignInThrottle.key)))
    assert "login:pair:stale" not in keys and "login:pair:fresh" in keys
    assert len(keys) == 4 and not any(user in k or "testclient" in k for k in keys)  # keyed hashes, no names
