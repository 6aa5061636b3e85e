"""Issue 10 §5/§7: sign-in back-off per (account, address), address and account; the token endpoint
throttled before any argon2 work; the same argon2 work for unknown names; login CSRF."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from argon2 import PasswordHasher
from fastapi.testclient import TestClient
from sqlalchemy import select

from oip.auth import service
from oip.auth.models import ApiCredential, Organisation, User
from oip.auth.throttle_rules import ACCOUNT, ADDRESS, PAIR
from oip.core import clock
from oip.core.audit_models import AuditEvent
from oip.core.db import session_scope
from oip.demo.generate import DEMO_PASSWORD, DEMO_SECRET_PREFIX
from tests.conftest import login_csrf, post_login


def _user(*, active: bool = True) -> str:
    name = f"h{uuid.uuid4().hex[:10]}"
    with session_scope() as s:
        org = s.scalar(select(Organisation).where(Organisation.code == "450100-si"))
        s.add(
            User(
                username=name,
                display_name=name,
                role="si_city",
                organisation_id=org.id,
                password_hash=service.hash_secret(DEMO_PASSWORD),
                is_active=active,
            )
        )
    return name


def _from(app, address: str) -> TestClient:
    return TestClient(app, client=(address, 40000))


@pytest.fixture
def verifications(monkeypatch):
    """Every argon2 verification, counted through a hasher with the app's own parameters."""
    real = service._hasher()
    seen: list[str] = []

    class Counting(PasswordHasher):
        def verify(self, hash, password):  # noqa: A002
            seen.append(hash)
            return super().verify(hash, password)

    counting = Counting(
        time_cost=real.time_cost,
        memory_cost=real.memory_cost,
        parallelism=real.parallelism,
        hash_len=real.hash_len,
        salt_len=real.salt_len,
    )
    monkeypatch.setattr(service, "_hasher", lambda: counting)
    return seen


# ---- back-off ------------------------------------------------------------------------------------


def test_spraying_one_password_over_ten_users_from_one_address_is_throttled(client):
    users = [_user() for _ in range(10)]
    owner = _user()
    with clock.frozen(clock.now()):
        answers = [post_login(client, u, "Summer2026!!").status_code for u in users]
        # Each account failed at most once, but the address sprayed: even a right password waits.
        r = post_login(client, owner, DEMO_PASSWORD)
    assert answers[: ADDRESS.free + 1] == [401] * (ADDRESS.free + 1) and set(answers[ADDRESS.free + 1 :]) == {429}
    assert r.status_code == 429 and "秒后再试" in r.text


def test_five_wrong_passwords_from_one_address_do_not_keep_the_owner_out_elsewhere(app, client):
    user = _user()
    with clock.frozen(clock.now()):
        with _from(app, "198.51.100.10") as attacker:
            for _ in range(5):
                assert post_login(attacker, user, "guess-guess-1").status_code in (401, 429)
            assert post_login(attacker, user, DEMO_PASSWORD).status_code == 429
        with _from(app, "203.0.113.20") as owner:
            assert post_login(owner, user, DEMO_PASSWORD).status_code == 303


def test_failures_from_many_addresses_do_not_hold_the_owner_at_a_known_address(app, client):
    user = _user()
    with clock.frozen(clock.now()):
        with _from(app, "203.0.113.30") as owner:
            assert post_login(owner, user, DEMO_PASSWORD).status_code == 303
        for k in range(ACCOUNT.free + 1):  # a guesser rotating addresses earns the account back-off…
            with _from(app, f"198.51.100.{100 + k}") as c:
                assert post_login(c, user, "guess-guess-2").status_code == 401
        with _from(app, "198.51.100.99") as c:
            assert post_login(c, user, DEMO_PASSWORD).status_code == 429
        with _from(app, "203.0.113.30") as owner:  # …which does not hold the owner where they signed in before
            assert post_login(owner, user, DEMO_PASSWORD).status_code == 303


# ---- the token endpoint --------------------------------------------------------------------------


def _token(c, client_id: str, secret: str):
    return c.post("/api/v1/auth/token", data={"client_id": client_id, "client_secret": secret})


def test_the_token_endpoint_backs_off_before_doing_any_argon2_work(app, client, verifications):
    with clock.frozen(clock.now()), _from(app, "198.51.100.40") as c:
        for _ in range(PAIR.free + 1):
            assert _token(c, "meituan-demo", "wrong-secret").status_code == 401
        done = len(verifications)
        r = _token(c, "meituan-demo", DEMO_SECRET_PREFIX + "meituan")
        assert r.status_code == 429 and r.headers["retry-after"] == "2"
        assert r.json()["error"]["code"] == "throttled" and "秒后再试" in r.json()["error"]["reason"]
        assert len(verifications) == done  # refused without argon2
    with session_scope() as s:
        assert s.scalar(select(AuditEvent.seq).where(AuditEvent.action == "auth.token_throttled").limit(1))
    with _from(app, "203.0.113.41") as platform:  # the platform's own system elsewhere is not held
        assert _token(platform, "meituan-demo", DEMO_SECRET_PREFIX + "meituan").status_code == 200


# ---- the same work for everyone -------------------------------------------------------------------


def test_unknown_and_disabled_users_cost_the_same_argon2_verification(client, verifications):
    known, disabled = _user(), _user(active=False)
    for name in (known, "nobody-at-all", disabled):
        verifications.clear()
        assert post_login(client, name, "wrong-password-1").status_code == 401
        assert len(verifications) == 1, name
    # The stand-in hash for unknown names has the parameters of real ones.
    with session_scope() as s:
        real = s.scalar(select(User.password_hash).where(User.username == known))
    assert service._dummy_hash().rsplit("$", 2)[0] == real.rsplit("$", 2)[0]


def test_unknown_and_revoked_client_ids_cost_the_same_argon2_verification(client, verifications):
    with session_scope() as s:
        cred = s.scalar(select(ApiCredential).where(ApiCredential.client_id == "didi-demo"))
        revoked = ApiCredential(
            client_id=f"rev-{uuid.uuid4().hex[:6]}",
            secret_hash=cred.secret_hash,
            user_id=cred.user_id,
            revoked_at=clock.now() - dt.timedelta(days=1),
        )
        s.add(revoked)
        s.flush()
        revoked_id = revoked.client_id
    for cid, secret in (("didi-demo", "wrong"), ("no-such-client", "wrong"), (revoked_id, DEMO_SECRET_PREFIX + "didi")):
        verifications.clear()
        assert _token(client, cid, secret).status_code == 401
        assert len(verifications) == 1, cid


# ---- login CSRF ----------------------------------------------------------------------------------


def test_login_without_its_csrf_token_is_refused(client):
    data = {"username": "nn_si", "password": DEMO_PASSWORD}
    r = client.post("/login", data=data, follow_redirects=False)
    assert r.status_code == 403 and "CSRF 校验失败" in r.text and "oip_session" not in r.headers.get("set-cookie", "")
    token = login_csrf(client)
    assert client.post("/login", data=data | {"csrf_token": "forged"}, follow_redirects=False).status_code == 403
    # A token without its cookie (a cross-site form copying someone's page) is refused too.
    with TestClient(client.app) as other:
        assert other.post("/login", data=data | {"csrf_token": token}, follow_redirects=False).status_code == 403
    # The refusal page carries a fresh token: signing in from it works.
    assert client.post("/login", data=data | {"csrf_token": token}, follow_redirects=False).status_code == 303


def test_the_login_page_sets_its_csrf_cookie_httponly_on_the_login_path(client):
    r = client.get("/login")
    cookie = r.headers["set-cookie"].lower()
    assert "oip_login_csrf=" in cookie and "httponly" in cookie and "path=/login" in cookie
    assert 'name="csrf_token"' in r.text
