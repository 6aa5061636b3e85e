"""Schemathesis over every operation of the app's OpenAPI: bounded, deterministic, in-process, no 5xx.

Each generated request (valid and invalid data alike) is sent twice: as a signed-in officer (session cookie
and X-CSRF-Token) and anonymously. Any 5xx fails the operation's test. It runs on a scratch copy of the
session's test database so that whatever the generated writes change stays out of the other tests."""

from __future__ import annotations

import os
from urllib.parse import quote

import psycopg
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, settings
from sqlalchemy.engine import make_url

from tests.conftest import sign_in

OFFICER = "gx_si"
EXAMPLES = 6
# Operations that would end the run's own sign-in (its password, its account) are not sent as the officer.
AS_ANONYMOUS_ONLY = {("PATCH", "/api/v1/users/{id}"), ("POST", "/api/v1/users/{id}/password")}


def _libpq(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


@pytest.fixture(scope="module")
def scratch_database(database, tmp_path_factory):
    """A copy of the session's database (CREATE DATABASE … TEMPLATE) that the app uses while this module runs,
    with its own audit checkpoint file (one database per file: docs/audit.md)."""
    from oip.core import config, db

    source = make_url(database)
    admin = _libpq(str(source.set(database="postgres").render_as_string(hide_password=False)))
    scratch = f"{source.database}_fuzz"
    db.reset_engine()  # no pooled connection may stay on the template
    with psycopg.connect(admin, autocommit=True) as c:
        c.execute(f'CREATE DATABASE "{scratch}" TEMPLATE "{source.database}"')
    os.environ["OIP_DATABASE_URL"] = source.set(database=scratch).render_as_string(hide_password=False)
    os.environ["OIP_AUDIT_CHECKPOINT_FILE"] = str(tmp_path_factory.mktemp("fuzz-audit") / "checkpoints.jsonl")
    config.get_settings.cache_clear()
    db.reset_engine()
    try:
        yield
    finally:
        db.reset_engine()
        os.environ["OIP_DATABASE_URL"] = database
        os.environ.pop("OIP_AUDIT_CHECKPOINT_FILE", None)
        config.get_settings.cache_clear()
        with psycopg.connect(admin, autocommit=True) as c:
            c.execute(f'DROP DATABASE IF EXISTS "{scratch}" WITH (FORCE)')


@pytest.fixture(scope="module")
def officer_headers(app, scratch_database):
    from fastapi.testclient import TestClient

    from oip.auth.deps import SESSION_COOKIE

    with TestClient(app) as c:
        csrf = sign_in(c, OFFICER)
        return {"X-CSRF-Token": csrf, "Cookie": f"{SESSION_COOKIE}={c.cookies.get(SESSION_COOKIE)}"}


def _schema():
    # The OpenAPI document, built without running the app: this runs at collection, before the
    # ``database`` fixture has pointed the settings at the test database, and a running app (its
    # lifespan) would start the embedded server under the checkout's var/ with its background jobs.
    # Requests go to the session's app (the ``app`` fixture).
    from oip.web.app import create_app

    return schemathesis.openapi.from_dict(create_app().openapi())


schema = _schema()


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    derandomize=True,
    deadline=None,
    database=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)
def test_no_server_error(case, app, officer_headers):
    who = [("anonymous", {})]
    if (case.method.upper(), case.path) not in AS_ANONYMOUS_ONLY:
        who.insert(0, ("officer", officer_headers))
    for name, headers in who:
        response = case.call(headers=headers, app=app)
        assert response.status_code < 500, (
            f"{name}: {case.method} {case.formatted_path} → {response.status_code}\n"
            f"{case.as_curl_command()}\n{response.text[:500]}"
        )


def _parameters(app):
    """(method, path template, parameter) of every operation's path and query parameters."""
    for path, item in app.openapi()["paths"].items():
        for method, op in item.items():
            for p in op.get("parameters", []):
                if p["in"] in ("path", "query"):
                    yield method.upper(), path, p


def _probe_url(app, path: str, target: dict, value: str) -> tuple[str, dict]:
    params = {}
    url = path
    for _, p_path, p in _parameters(app):
        if p_path != path or p["in"] != "path":
            continue
        schema_ = p.get("schema", {})
        filler = "1" if schema_.get("type") == "integer" else "a"
        url = url.replace("{" + p["name"] + "}", quote(value, safe="") if p is target else filler)
    if target["in"] == "query":
        params[target["name"]] = value
    return url, params


BAD_VALUES = {"nul": "a\x00b", "huge": str(2**63), "int4": str(2**31), "negative_huge": str(-(2**63) - 1)}


@pytest.mark.parametrize("kind", list(BAD_VALUES))
def test_bad_parameter_values_answer_4xx(kind, app, officer_headers):
    """A NUL byte or an integer beyond PostgreSQL's ranges in any path or query parameter: a 4xx naming it."""
    from fastapi.testclient import TestClient

    bad = []
    with TestClient(app, raise_server_exceptions=False) as c:
        for method, path, p in _parameters(app):
            type_ = p.get("schema", {}).get("type")
            if kind == "nul" and type_ == "integer":
                continue
            url, params = _probe_url(app, path, p, BAD_VALUES[kind])
            r = c.request(method, url, params=params, headers=officer_headers)
            if r.status_code >= 500:
                bad.append(f"{method} {path} {p['name']}={BAD_VALUES[kind]!r}: {r.status_code}")
    assert not bad, "\n".join(bad)
