"""Every role against every endpoint: allowed, forbidden, out of scope, and signed out.

The permission half is derived from the routes themselves (each declares ``Require(...)``) and the
role table, so a new endpoint is covered the day it is added — and a route that forgets to declare
a permission fails ``test_every_route_declares_a_permission``."""

from __future__ import annotations

import re

import pytest
from fastapi.routing import APIRoute
from sqlalchemy import select

from oip.auth.deps import Require
from oip.auth.permissions import ROLES
from oip.demo.generate import USERS
from tests.conftest import bearer

# Routes anyone may use without signing in.
PUBLIC = {
    ("GET", "/"),
    ("GET", "/login"),
    ("POST", "/login"),
    ("GET", "/healthz"),
    ("POST", "/api/v1/auth/token"),
    ("GET", "/notices"),
    ("GET", "/notices/{admission_id}"),
    ("GET", "/check"),
    ("POST", "/check"),
    ("GET", "/openapi.json"),
    ("GET", "/docs"),
    ("GET", "/public/fund"),
    ("GET", "/public/fund/{year}"),
    ("GET", "/api/v1/public/fund/{year}"),
}

# A user of every role (the first demo user holding it).
ROLE_USERS = {role: next(u for u, _, r, _ in USERS if r == role) for role in ROLES if role != "worker"}
ROLE_USERS["worker"] = "worker_demo"

# Values for path parameters that exist nowhere: an allowed caller gets 404/422, never 403.
PROBE = {
    "code": "no-such-platform",
    "person_id": "987654321",
    "batch_id": "987654321",
    "admission_id": "987654321",
    "attachment_id": "987654321",
    "objection_id": "987654321",
    "client_id": "no-such-client",
    "year": "2099",
    "action": "assess",
    "id": "987654321",
    "platform_code": "no-such-platform",
    "account_id": "no-such-account",
    "case_id": "987654321",
    "report_id": "987654321",
    "document_id": "987654321",
    "letter_id": "987654321",
    "notice_id": "987654321",
    "appeal_id": "987654321",
    "task_id": "987654321",
    "contract_id": "987654321",
    "appraisal_id": "987654321",
    "expert_id": "987654321",
    "notification_id": "987654321",
    "tie_id": "987654321",
    "determination_id": "987654321",
    "line_id": "987654321",
    "dependant_id": "987654321",
    "claim_id": "987654321",
    "bill_id": "987654321",
    "monthly_id": "987654321",
    "plan_id": "987654321",
    "payee_id": "987654321",
    "budget_id": "987654321",
    "entry_id": "987654321",
    "campaign_id": "987654321",
    "finding_id": "987654321",
}


def _flatten(routes):
    """Every endpoint route, through included routers (FastAPI keeps those as lazy branches)."""
    for r in routes:
        if hasattr(r, "effective_candidates"):
            yield from _flatten(r.effective_candidates())
        elif isinstance(r, APIRoute) or (getattr(r, "methods", None) and hasattr(r, "dependant")):
            yield r


def _routes(app):
    for r in _flatten(app.routes):
        for m in sorted(r.methods - {"HEAD", "OPTIONS"}):
            yield m, r.path, r


def _requires(dependant) -> list[Require]:
    found = [d.call for d in dependant.dependencies if isinstance(d.call, Require)]
    for d in dependant.dependencies:
        found += _requires(d)
    return found


def _url(path: str) -> str:
    def sub(m):
        name = m.group(1).split(":")[0]
        assert name in PROBE, f"add a probe value for path parameter {name!r} in {path}"
        return PROBE[name]

    return re.sub(r"\{([^}]+)\}", sub, path)


def test_every_route_declares_a_permission(app):
    assert len(list(_routes(app))) > 40
    missing = [f"{m} {p}" for m, p, r in _routes(app) if (m, p) not in PUBLIC and not _requires(r.dependant)]
    assert missing == []
    public_but_guarded = [f"{m} {p}" for m, p, r in _routes(app) if (m, p) in PUBLIC and _requires(r.dependant)]
    assert public_but_guarded == []


def _matrix(app):
    for m, p, r in _routes(app):
        if (m, p) in PUBLIC:
            continue
        perms = _requires(r.dependant)[0].permissions
        for role, user in ROLE_USERS.items():
            allowed = not perms or bool(set(perms) & ROLES[role].permissions)
            yield m, p, role, user, allowed


def test_every_role_against_every_endpoint(app, client):
    headers = {role: bearer(user) for role, user in ROLE_USERS.items()}
    wrong = []
    checked = 0
    for method, path, role, _user, allowed in _matrix(app):
        r = client.request(
            method, _url(path), headers=headers[role], json={} if method in ("POST", "PUT", "PATCH") else None
        )
        checked += 1
        denied = (
            r.status_code == 403
            and r.headers.get("content-type", "").startswith("application/json")
            and r.json()["error"]["code"] == "permission_denied"
        )
        denied = denied or (r.status_code == 403 and "无权执行此操作" in r.text)
        if allowed and (denied or r.status_code == 401):
            wrong.append(f"{role} should reach {method} {path}: {r.status_code} {r.text[:120]}")
        if not allowed and not denied:
            wrong.append(f"{role} must be refused {method} {path}: got {r.status_code}")
    assert checked > 100
    assert wrong == []


def test_signed_out_callers_are_refused_everywhere(app, client):
    for method, path, _ in _routes(app):
        if (method, path) in PUBLIC:
            continue
        r = client.request(method, _url(path), follow_redirects=False)
        assert r.status_code == 401, f"{method} {path} answered {r.status_code} without credentials"
        if method == "GET" and not path.startswith("/api/"):
            page = client.get(_url(path), headers={"accept": "text/html"}, follow_redirects=False)
            assert page.status_code == 303 and page.headers["location"].startswith("/login")


@pytest.fixture(scope="module")
def guilin_meituan_person(database):
    """A new person registered only in 桂林 (七星区 450305), on meituan, assigned to no insurer."""
    import datetime as dt
    import random

    from oip.auth.models import User
    from oip.auth.service import principal_for
    from oip.core.db import session_scope
    from oip.demo.synthetic import synthetic_id, synthetic_phone
    from oip.platforms.models import Platform
    from oip.workers import service

    rng = random.Random()
    with session_scope() as s:
        actor = principal_for(s, s.scalar(select(User).where(User.username == "meituan-api")))
        meituan = s.scalar(select(Platform).where(Platform.code == "meituan"))
        res = service.register(
            s,
            actor,
            meituan,
            [
                {
                    "platform_account_id": f"MX{rng.randrange(10**9)}",
                    "name": "石测试",
                    "id_number": synthetic_id(rng, "450305", dt.date(1990, 5, 17)),
                    "phone": synthetic_phone(rng),
                    "county_code": "450305",
                    "registered_on": "2025-08-01",
                }
            ],
            source="test",
        )
        assert res.accepted == 1, res.as_dict()
        return res.outcomes[0].person_id


# Expected answer of GET /api/v1/workers/{person_id} for that person, by role.
SCOPE_EXPECT = {
    "hrss_region": 200,
    "si_region": 200,
    "si_city": 404,  # nn_si is Nanning's
    "hrss_city": 404,
    "hrss_county": 404,
    "si_county": 404,
    "platform": 404,  # meituan_admin: its own worker, but platforms do not address people by id (workers.scope)
    "insurer": 404,  # not assigned to insurer_a
    "finance": 403,
    "tax": 403,
    "fin_regulator": 403,
    "platform_regulator": 403,
    "union": 403,
    "worker": 403,
}


def test_data_scope_of_every_role_on_one_person(client, guilin_meituan_person):
    assert set(SCOPE_EXPECT) == set(ROLES)
    got = {
        role: client.get(f"/api/v1/workers/{guilin_meituan_person}", headers=bearer(user)).status_code
        for role, user in ROLE_USERS.items()
    }
    assert got == SCOPE_EXPECT
    # The Guilin agency sees the person; another platform does not.
    assert client.get(f"/api/v1/workers/{guilin_meituan_person}", headers=bearer("gl_si")).status_code == 200
    assert client.get(f"/api/v1/workers/{guilin_meituan_person}", headers=bearer("didi_admin")).status_code == 404


def test_a_platform_sees_only_itself_in_the_register(client):
    rows = client.get("/api/v1/platforms", headers=bearer("meituan_admin")).json()
    items = rows["items"] if isinstance(rows, dict) else rows
    assert [p["code"] for p in items] == ["meituan"]
    assert client.get("/api/v1/platforms/didi", headers=bearer("meituan_admin")).status_code == 404
    assert client.get("/api/v1/platforms/didi", headers=bearer("gx_tax")).status_code == 200


# Managing the tax bureau's user (PATCH that changes nothing): who may, and who may not and why.
USER_MANAGE_EXPECT = {
    "si_region": (200, 200),
    "hrss_region": (200, "forbidden"),  # reads it, but the tax role holds a permission 人社厅 lacks
}


def test_who_reads_and_manages_a_user(client):
    from oip.auth.models import User
    from oip.core.db import session_scope

    with session_scope() as s:
        tax = s.scalar(select(User.id).where(User.username == "gx_tax"))
    for role, user in ROLE_USERS.items():
        h = bearer(user)
        read = client.get(f"/api/v1/users/{tax}", headers=h)
        write = client.patch(f"/api/v1/users/{tax}", json={"is_active": True}, headers=h)
        got = (read.status_code, write.status_code if write.status_code != 403 else write.json()["error"]["code"])
        if role in USER_MANAGE_EXPECT:
            assert got == USER_MANAGE_EXPECT[role], role
        else:
            assert got == (403, "permission_denied"), role
