"""The audit trail: append-only, hash-chained, verifiable from the command line."""

import os
import secrets
import subprocess
import sys

import psycopg
import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from oip.core import audit


def test_events_are_chained_and_the_chain_verifies(db):
    a = audit.record(db, audit.SystemActor(label="test"), "test.one", after={"x": 1})
    b = audit.record(db, audit.SystemActor(label="test"), "test.two", before={"x": 1}, after={"x": 2})
    assert b.seq == a.seq + 1 and b.prev_hash == a.hash
    assert audit.verify(db).ok


def test_altered_events_are_named(db):
    seq = audit.record(db, audit.SystemActor(label="test"), "test.alter", after={"amount_fen": 100}).seq
    db.execute(text("ALTER TABLE audit_events DISABLE TRIGGER audit_events_append_only"))
    db.execute(text("UPDATE audit_events SET after = '{\"amount_fen\": 1}' WHERE seq = :s"), {"s": seq})
    db.expire_all()
    res = audit.verify(db)
    assert not res.ok and res.broken_seq == seq and "altered" in res.problem
    db.rollback()


def test_removed_events_are_named(db):
    first = audit.record(db, audit.SystemActor(label="test"), "test.remove1").seq
    audit.record(db, audit.SystemActor(label="test"), "test.remove2")
    db.execute(text("ALTER TABLE audit_events DISABLE TRIGGER audit_events_append_only"))
    db.execute(text("DELETE FROM audit_events WHERE seq = :s"), {"s": first})
    db.expire_all()
    res = audit.verify(db)
    assert not res.ok and res.broken_seq == first
    db.rollback()
    # Removing the newest event is caught by the head record.
    last = audit.record(db, audit.SystemActor(label="test"), "test.remove3").seq
    db.execute(text("ALTER TABLE audit_events DISABLE TRIGGER audit_events_append_only"))
    db.execute(text("DELETE FROM audit_events WHERE seq = :s"), {"s": last})
    db.expire_all()
    res = audit.verify(db)
    assert not res.ok and res.broken_seq == last
    db.rollback()


def test_the_table_refuses_updates_and_deletes(db):
    audit.record(db, audit.SystemActor(label="test"), "test.immutable")
    db.commit()
    for stmt in ("UPDATE audit_events SET actor = 'x'", "DELETE FROM audit_events", "TRUNCATE audit_events"):
        with pytest.raises(Exception, match="append-only"):
            db.execute(text(stmt))
        db.rollback()


@pytest.fixture
def scratch_db(database):
    """An empty, migrated database of its own (to tamper with)."""
    admin = make_url(database).set(drivername="postgresql")
    name = f"oip_scratch_{secrets.token_hex(4)}"
    with psycopg.connect(admin.render_as_string(hide_password=False), autocommit=True) as c:
        c.execute(f'CREATE DATABASE "{name}"')
    url = admin.set(database=name).render_as_string(hide_password=False)
    yield url
    with psycopg.connect(admin.render_as_string(hide_password=False), autocommit=True) as c:
        c.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _oip(url: str, *args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, OIP_DATABASE_URL=url)
    return subprocess.run(
        [sys.executable, "-m", "oip.cli", *args], env=env, capture_output=True, text=True, timeout=120
    )


def test_audit_verify_command_exits_non_zero_and_names_the_first_broken_event(scratch_db):
    assert _oip(scratch_db, "db", "upgrade").returncode == 0
    ok = _oip(scratch_db, "audit", "verify")
    assert ok.returncode == 0 and '"ok": true' in ok.stdout
    with psycopg.connect(scratch_db) as c:
        c.execute("ALTER TABLE audit_events DISABLE TRIGGER audit_events_append_only")
        c.execute("UPDATE audit_events SET actor = 'someone else' WHERE seq = 1")
    bad = _oip(scratch_db, "audit", "verify")
    assert bad.returncode == 1
    assert '"first_broken_seq": 1' in bad.stdout


def test_users_commands(database):
    import json

    listed = _oip(database, "users", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    users = {u["username"]: u for u in json.loads(listed.stdout)}
    assert users["nn_si"]["role"] == "si_city" and users["nn_si"]["region_scope"] == "4501"
    assert users["qx_hrss"]["region_scope"] == "450103"
    assert users["gx_hrss"]["region_scope"] == "45"
    tok = _oip(database, "users", "token", "gl_si")
    assert tok.returncode == 0 and tok.stdout.startswith("oip_")
    from fastapi.testclient import TestClient

    from oip.web.app import create_app

    with TestClient(create_app()) as c:
        me = c.get("/api/v1/me", headers={"Authorization": f"Bearer {tok.stdout.strip()}"}).json()
    assert me["username"] == "gl_si"
    assert _oip(database, "users", "token", "nobody").returncode == 2
