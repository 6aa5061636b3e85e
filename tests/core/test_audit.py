"""The audit trail: recorded without a lock, linked by one chainer into a keyed (HMAC) chain,
anchored by signed checkpoints outside the database, verifiable from the command line."""

import hashlib
import json
import threading

import psycopg
import pytest
from sqlalchemy import func, select, text

from oip.core import audit
from oip.core.audit_models import AuditEvent, AuditLink, AuditPending
from tests.conftest import migrated_database, run_oip

T = audit.SystemActor(label="test")


def test_events_are_queued_in_the_callers_transaction_and_a_rollback_leaves_nothing(db):
    ev = audit.record(db, T, "test.rolled_back", after={"x": 1})
    assert db.get(AuditPending, ev.seq) is not None  # queued with the event, same transaction
    db.rollback()
    assert db.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.seq == ev.seq)) == 0
    assert db.scalar(select(func.count()).select_from(AuditPending).where(AuditPending.event_seq == ev.seq)) == 0


def test_recording_takes_no_lock_many_open_transactions_record_at_once(database):
    """Eight transactions record while all are open, then commit: the old design serialised them on
    one advisory lock held to commit (the second would wait for the first for ever here)."""
    from oip.core.db import get_sessionmaker

    n = 8
    all_recorded = threading.Barrier(n, timeout=60)
    seqs, errors = [], []

    def one(i: int) -> None:
        s = get_sessionmaker()()
        try:
            s.execute(text("SET LOCAL lock_timeout = '10s'"))  # fail rather than hang on the old code
            seqs.append(audit.record(s, T, "test.concurrent", after={"i": i}).seq)
            all_recorded.wait()  # every transaction holds its event, uncommitted
            s.commit()
        except Exception as e:  # noqa: BLE001
            errors.append(e)
            all_recorded.abort()
        finally:
            s.close()

    threads = [threading.Thread(target=one, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and len(set(seqs)) == n
    with get_sessionmaker()() as s:
        audit.chain_pending(s)
        linked = s.scalars(select(AuditLink.event_seq).where(AuditLink.event_seq.in_(seqs))).all()
        assert sorted(linked) == sorted(seqs)
        assert audit.verify(s).ok


def test_the_tables_refuse_updates_and_deletes(db):
    from oip.core.db import get_sessionmaker

    audit.record(db, T, "test.immutable")
    db.commit()
    with get_sessionmaker()() as s:
        audit.chain_pending(s)
    for stmt in (
        "UPDATE audit_events SET actor = 'x'",
        "DELETE FROM audit_events",
        "TRUNCATE audit_events CASCADE",
        "UPDATE audit_chain SET hash = 'x'",
        "DELETE FROM audit_chain",
        "TRUNCATE audit_chain",
    ):
        with pytest.raises(Exception, match="append-only"):
            db.execute(text(stmt))
        db.rollback()


# ---- attacks by the database's owner, on a database of their own -------------------------------


@pytest.fixture
def scratch(database, tmp_path):
    """An empty, migrated database of its own (to tamper with as its owner) and its checkpoint file."""
    with migrated_database(database, "oip_scratch") as (url, make):
        yield Scratch(url, make, tmp_path / "checkpoints.jsonl")


class Scratch:
    def __init__(self, url, make_session, checkpoints):
        self.url, self.make_session, self.checkpoints = url, make_session, checkpoints

    def record(self, *actions: str) -> list[int]:
        with self.make_session() as s:
            seqs = [audit.record(s, T, a, entity_type="person", entity_id=1, subjects=[1]).seq for a in actions]
            s.commit()
        return seqs

    def chain(self) -> int:
        with self.make_session() as s:
            return audit.chain_pending(s, checkpoints=self.checkpoints)

    def checkpoint(self):
        with self.make_session() as s:
            return audit.checkpoint(s, path=self.checkpoints)

    def verify(self) -> audit.VerifyResult:
        with self.make_session() as s:
            return audit.verify(s, checkpoints=self.checkpoints)

    def as_owner(self, *sql: str, params: dict | None = None) -> None:
        """Run SQL as the database's owner with every trigger off (what the probe did)."""
        with psycopg.connect(self.url) as c:
            c.execute("SET session_replication_role = replica")
            for stmt in sql:
                c.execute(stmt, params or {})


def test_chain_and_checkpoint_verify(scratch):
    seqs = scratch.record("worker.view_full", "worker.view", "worker.list")
    assert scratch.chain() == 3 and scratch.chain() == 0
    cp = scratch.checkpoint()
    assert cp["pos"] == 3 and cp["events"] == 3 and scratch.checkpoint() is None  # unchanged head
    scratch.record("worker.register")
    res = scratch.verify()
    assert res.ok and res.checked == 3 and res.pending == 1 and res.anchored == 3
    assert any("尚未锚定" in w for w in res.warnings)
    scratch.chain()
    with scratch.make_session() as s:
        assert s.scalars(select(AuditLink.event_seq).order_by(AuditLink.pos)).all()[:3] == seqs


def test_deleting_the_newest_events_and_their_links_is_found_against_the_checkpoint(scratch):
    seqs = scratch.record("test.a", "test.b", "test.c", "worker.view_full")
    scratch.chain()
    scratch.checkpoint()
    assert scratch.verify().ok
    scratch.as_owner(
        "DELETE FROM audit_chain WHERE event_seq >= %(s)s",
        "DELETE FROM audit_events WHERE seq >= %(s)s",
        params={"s": seqs[2]},
    )
    res = scratch.verify()
    assert not res.ok and res.code == "chain_truncated" and "链尾被删除或回滚" in res.problem
    # and the chainer refuses to extend the cut chain (it would re-link newer events over the cut)
    scratch.record("test.after")
    with pytest.raises(audit.AuditChainError):
        scratch.chain()


def test_rewriting_an_event_and_recomputing_the_chain_without_the_key_is_found(scratch):
    seqs = scratch.record("test.a", "worker.view_full", "test.c")
    scratch.chain()
    with scratch.make_session() as s:
        links = s.execute(select(AuditLink).order_by(AuditLink.pos)).scalars().all()
        events = {e.seq: e for e in s.scalars(select(AuditEvent))}
    events[seqs[1]].action = "worker.view"
    for key in (None, b"a key guessed by the owner"):  # plain SHA-256, then HMAC with a wrong key
        prev, sql = audit.GENESIS, [f"UPDATE audit_events SET action = 'worker.view' WHERE seq = {seqs[1]}"]
        for ln in links:
            body = json.dumps(
                audit._content(events[ln.event_seq]), sort_keys=True, ensure_ascii=False, separators=(",", ":")
            )
            h = (
                hashlib.sha256((prev + body).encode()).hexdigest()
                if key is None
                else audit.link_hash(prev, events[ln.event_seq], key)
            )
            sql.append(f"UPDATE audit_chain SET prev_hash = '{prev}', hash = '{h}' WHERE pos = {ln.pos}")
            prev = h
        scratch.as_owner(*sql)
        res = scratch.verify()
        assert not res.ok and res.code == "event_altered" and res.broken_seq == seqs[0]  # the first link fails


def test_an_altered_event_is_named(scratch):
    seqs = scratch.record("test.a", "worker.view_full", "test.c")
    scratch.chain()
    scratch.as_owner("UPDATE audit_events SET action = 'worker.view' WHERE seq = %(s)s", params={"s": seqs[1]})
    res = scratch.verify()
    assert not res.ok and res.code == "event_altered" and res.broken_seq == seqs[1]
    assert f"事件 {seqs[1]} 已被篡改" in res.problem


def test_a_deleted_event_in_the_middle_is_named(scratch):
    seqs = scratch.record("test.a", "worker.view_full", "test.c")
    scratch.chain()
    scratch.as_owner("DELETE FROM audit_events WHERE seq = %(s)s", params={"s": seqs[1]})
    res = scratch.verify()
    assert not res.ok and res.code == "event_removed" and res.broken_seq == seqs[1]
    scratch.as_owner("DELETE FROM audit_chain WHERE event_seq = %(s)s", params={"s": seqs[1]})
    assert scratch.verify().code == "link_missing"


def test_queued_events_removed_behind_the_chainers_back(scratch):
    seqs = scratch.record("test.a", "worker.view_full")
    # only the queue row: the event is in neither the chain nor the queue
    scratch.as_owner("DELETE FROM audit_pending WHERE event_seq = %(s)s", params={"s": seqs[1]})
    scratch.chain()
    res = scratch.verify()
    assert not res.ok and res.code == "event_unchained" and res.broken_seq == seqs[1]
    # an event inserted with the triggers off (so never queued) is found the same way
    scratch.as_owner("INSERT INTO audit_events (at, actor, action, subjects) VALUES (now(), 'x', 'test.forged', '{}')")
    assert len([p for p in scratch.verify().problems if p.code == "event_unchained"]) == 1  # the first named
    # only the event: its queue row names it
    more = scratch.record("test.c")
    scratch.as_owner("DELETE FROM audit_events WHERE seq = %(s)s", params={"s": more[0]})
    assert any(p.code == "event_removed" and p.seq == more[0] for p in scratch.verify().problems)


def test_an_event_and_its_queue_row_deleted_before_the_chainer_ran_go_unseen(scratch):
    """The documented window (docs/audit.md): before the chainer links an event (about a second in
    the server) its removal together with its queue row leaves nothing to find."""
    seqs = scratch.record("test.a", "worker.view_full")
    scratch.as_owner(
        "DELETE FROM audit_pending WHERE event_seq = %(s)s",
        "DELETE FROM audit_events WHERE seq = %(s)s",
        params={"s": seqs[1]},
    )
    scratch.chain()
    assert scratch.verify().ok


def test_a_tampered_checkpoint_line_is_found(scratch):
    scratch.record("test.a", "test.b")
    scratch.chain()
    scratch.checkpoint()
    lines = scratch.checkpoints.read_text().splitlines()
    cp = json.loads(lines[-1])
    cp["pos"] = 1  # claim a shorter chain, keeping the signature
    scratch.checkpoints.write_text("\n".join([*lines, json.dumps(cp)]) + "\n")
    res = scratch.verify()
    assert not res.ok and res.code == "checkpoint_forged" and "签名不符" in res.problem


def test_rechaining_after_a_cut_is_found_against_the_checkpoint(scratch):
    """The owner cuts the chain back, deletes one event and re-queues the rest, so that the (keyed)
    chainer would re-link them: the chainer refuses, and verify names the rewritten position."""
    seqs = scratch.record("test.a", "worker.view_full", "test.c")
    scratch.chain()
    scratch.checkpoint()
    scratch.as_owner(
        "DELETE FROM audit_chain",
        "DELETE FROM audit_events WHERE seq = %(s)s",
        "INSERT INTO audit_pending SELECT seq FROM audit_events",
        params={"s": seqs[1]},
    )
    with pytest.raises(audit.AuditChainError):
        scratch.chain()
    res = scratch.verify()
    assert not res.ok and res.code == "chain_truncated"
    # had the chainer not refused (e.g. an old checkpoint file), the new chain has another head
    with scratch.make_session() as s:
        audit.chain_pending(s, checkpoints=scratch.checkpoints.with_name("none.jsonl"))
    assert scratch.verify().code == "chain_truncated"  # 2 links now, the checkpoint says 3
    scratch.record("test.d")
    with scratch.make_session() as s:
        audit.chain_pending(s, checkpoints=scratch.checkpoints.with_name("none.jsonl"))
    res = scratch.verify()
    assert not res.ok and res.code == "chain_rewritten"


def test_the_servers_chainer_links_and_checkpoints_when_it_stops(scratch):
    chainer = audit.start_background_chainer(
        scratch.make_session, interval=3600, checkpoint_interval=3600, checkpoints=scratch.checkpoints
    )
    scratch.record("test.a", "test.b")
    chainer.stop()  # the final pass: link what is queued, checkpoint the head
    res = scratch.verify()
    assert res.ok and res.checked == 2 and res.pending == 0 and res.anchored == 2 and not res.warnings
    assert audit.start_background_chainer(scratch.make_session, interval=0) is None


# ---- the command line ------------------------------------------------------------------------------


def test_audit_commands_chain_checkpoint_and_verify_exits_non_zero_in_chinese(scratch):
    files = {"OIP_AUDIT_CHECKPOINT_FILE": str(scratch.checkpoints)}
    seqs = scratch.record("test.a", "worker.view_full", "test.c")
    assert json.loads(run_oip(scratch.url, "audit", "chain", **files).stdout) == {"chained": 3}
    cp = run_oip(scratch.url, "audit", "checkpoint", **files)
    assert cp.returncode == 0 and json.loads(cp.stdout)["checkpoint"]["pos"] == 3
    assert scratch.checkpoints.exists()
    ok = run_oip(scratch.url, "audit", "verify", **files)
    assert ok.returncode == 0 and json.loads(ok.stdout)["ok"] is True
    scratch.record("test.d")  # verify links it first
    ok = run_oip(scratch.url, "audit", "verify", **files)
    assert json.loads(ok.stdout)["events"] == 4 and "尚未锚定" in ok.stderr
    scratch.as_owner("UPDATE audit_events SET action = 'worker.view' WHERE seq = %(s)s", params={"s": seqs[1]})
    bad = run_oip(scratch.url, "audit", "verify", **files)
    assert bad.returncode == 1
    out = json.loads(bad.stdout)
    assert out["code"] == "event_altered" and out["first_broken_seq"] == seqs[1]
    assert "已被篡改" in bad.stderr and "event_altered" in bad.stderr


def test_users_commands(database):
    listed = run_oip(database, "users", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    users = {u["username"]: u for u in json.loads(listed.stdout)}
    assert users["nn_si"]["role"] == "si_city" and users["nn_si"]["region_scope"] == "4501"
    assert users["qx_hrss"]["region_scope"] == "450103"
    assert users["gx_hrss"]["region_scope"] == "45"
    tok = run_oip(database, "users", "token", "gl_si")
    assert tok.returncode == 0 and tok.stdout.startswith("oip_")
    from fastapi.testclient import TestClient

    from oip.web.app import create_app

    with TestClient(create_app()) as c:
        me = c.get("/api/v1/me", headers={"Authorization": f"Bearer {tok.stdout.strip()}"}).json()
    assert me["username"] == "gl_si"
    assert run_oip(database, "users", "token", "nobody").returncode == 2


def test_the_audit_page_and_api_verify_the_chain(client, as_user):
    h = as_user("gx_hrss")
    r = client.get("/api/v1/audit/verify", headers=h)
    body = r.json()
    assert r.status_code == 200 and body["ok"] is True and body["problems"] == []
    assert {"pending", "anchored", "checkpoints", "warnings"} <= set(body)
    html = client.get("/audit", params={"verify": 1}, headers={"Accept": "text/html"}).text
    assert "审计链完整" in html and "校验审计链" in html
