"""The notification outbox (oip.exchange.notify) and the SMS adapters (oip.exchange.sms): one row per
idempotency key, one line per message in the gateway's file, a crash between sending and marking
sends nothing twice, failures are retried later, the CLI and the staff page."""

from __future__ import annotations

import datetime as dt
import io
import json
import secrets
import time

import pytest
from sqlalchemy import select, text
from typer.testing import CliRunner

from oip.core import clock
from oip.core.errors import DomainError
from oip.exchange import notify
from oip.exchange.models import Notification
from oip.exchange.sms import ConsoleSmsAdapter, FileSmsAdapter, SmsFailed, SmsMessage

PHONE = "13912345678"


def _key(what: str = "accepted") -> str:
    return f"test:{secrets.token_hex(6)}:{what}"


def _enqueue(db, key: str | None = None, **kw) -> Notification:
    args = dict(
        dedup_key=key or _key(),
        phone=PHONE,
        person_id=None,
        template="case.accepted",
        params={
            "case_number": "GX-450103-2025-000001",
            "accepted_on": dt.date(2025, 9, 30),
            "decision_due": "2025-11-18",
        },
    )
    return notify.enqueue(db, **(args | kw))


def _lines(directory) -> list[dict]:
    out = []
    for path in sorted(directory.glob("sms-*.jsonl")):
        for raw in path.read_bytes().splitlines():
            try:
                out.append(json.loads(raw))
            except ValueError:
                pass
    return out


def _ids(directory) -> list[str]:
    return [line["message_id"] for line in _lines(directory)]


class CrashAfterSending:
    """Sends through the real adapter, then dies before the sender can record it (a crash)."""

    name = "crash"

    def __init__(self, inner):
        self.inner = inner

    def send(self, message):
        self.inner.send(message)
        raise KeyboardInterrupt("the process died")


class Failing:
    name = "failing"

    def __init__(self, retryable=True):
        self.retryable = retryable
        self.calls = 0

    def send(self, message):
        self.calls += 1
        raise SmsFailed("短信网关暂时不可用", retryable=self.retryable)


def test_the_same_key_twice_gives_one_row(db):
    key = _key()
    first = _enqueue(db, key, person_id=42, region_code="450103")
    again = _enqueue(db, key, params={"case_number": "other", "accepted_on": "x", "decision_due": "y"})
    db.commit()
    assert again.id == first.id
    assert db.scalar(select(text("count(*)")).select_from(Notification).where(Notification.dedup_key == key)) == 1
    assert first.status == "pending" and first.attempts == 0 and first.channel == "sms"
    assert first.phone_masked == "139****5678" and PHONE.encode() not in first.phone_enc
    assert first.text == (
        "【广西职业伤害保障】您的职业伤害确认申请（案件编号 GX-450103-2025-000001）已于 2025-09-30 受理，"
        "将在 2025-11-18 前作出结论。"
    )
    assert first.params["accepted_on"] == "2025-09-30"  # dates stored as ISO strings
    assert first.message_id == f"oip-ntf-{first.id}"


def test_what_the_caller_rolls_back_is_never_sent(db, tmp_path):
    n = _enqueue(db)
    key, message_id = n.dedup_key, n.message_id
    db.rollback()
    notify.deliver_pending(db, FileSmsAdapter(tmp_path))
    assert db.scalar(select(Notification).where(Notification.dedup_key == key)) is None
    assert message_id not in _ids(tmp_path)


def test_delivery_writes_one_line_and_marks_the_row_sent(db, tmp_path):
    n = _enqueue(db, person_id=7)
    db.commit()
    run = notify.deliver_pending(db, FileSmsAdapter(tmp_path))
    assert run.sent >= 1 and run.failed == 0
    db.refresh(n)
    assert n.status == "sent" and n.attempts == 1 and n.sent_at is not None and n.last_error is None
    mine = [line for line in _lines(tmp_path) if line["message_id"] == n.message_id]
    assert len(mine) == 1
    assert mine[0] | {"written_at": None} == {
        "version": "sms-v1",
        "message_id": n.message_id,
        "to": PHONE,
        "text": n.text,
        "template": "case.accepted",
        "written_at": None,
    }
    [path] = tmp_path.glob("sms-*.jsonl")
    assert path.name == f"sms-{clock.today():%Y%m%d}.jsonl"
    assert n.provider_message_id.startswith(path.name + "#")
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    # Delivering again sends nothing more.
    notify.deliver_pending(db, FileSmsAdapter(tmp_path))
    assert _ids(tmp_path).count(n.message_id) == 1


def test_a_crash_between_sending_and_marking_sends_nothing_twice(db, tmp_path):
    n = _enqueue(db)
    db.commit()
    with pytest.raises(KeyboardInterrupt):
        notify.deliver_pending(db, CrashAfterSending(FileSmsAdapter(tmp_path)))
    db.expire_all()
    assert db.get(Notification, n.id).status == "pending"  # the mark was rolled back ...
    assert _ids(tmp_path).count(n.message_id) == 1  # ... but the text went out
    # The next run (a fresh adapter, as after a restart) finds the line: the row is marked, no second text.
    run = notify.deliver_pending(db, FileSmsAdapter(tmp_path))
    db.refresh(n)
    assert n.status == "sent" and run.already_sent >= 1
    assert _ids(tmp_path).count(n.message_id) == 1


def test_a_failure_is_recorded_and_retried_later(db, tmp_path):
    with clock.frozen(dt.datetime(2025, 9, 30, 2, 0, tzinfo=dt.UTC)) as t0:
        n = _enqueue(db)
        db.commit()
        failing = Failing()
        run = notify.deliver_pending(db, failing)
        assert run.failed >= 1
        db.refresh(n)
        assert n.status == "failed" and n.attempts == 1 and n.last_error == "短信网关暂时不可用"
        assert n.next_attempt_at == t0 + dt.timedelta(seconds=60)
        notify.deliver_pending(db, FileSmsAdapter(tmp_path))  # not due yet
        db.refresh(n)
        assert n.status == "failed" and n.message_id not in _ids(tmp_path)
    with clock.frozen(t0 + dt.timedelta(seconds=61)):
        notify.deliver_pending(db, failing)  # the second failure waits twice as long
        db.refresh(n)
        assert n.attempts == 2 and n.next_attempt_at == t0 + dt.timedelta(seconds=61 + 120)
    with clock.frozen(t0 + dt.timedelta(seconds=61 + 120)):
        notify.deliver_pending(db, FileSmsAdapter(tmp_path))
        db.refresh(n)
        assert n.status == "sent" and n.attempts == 3 and n.last_error is None and n.next_attempt_at is None
    assert _ids(tmp_path).count(n.message_id) == 1


def test_a_failure_that_cannot_be_retried_waits_for_a_person(db, tmp_path):
    n = _enqueue(db)
    db.commit()
    notify.deliver_pending(db, Failing(retryable=False))
    db.refresh(n)
    assert n.status == "failed" and n.next_attempt_at is None
    with clock.shifted(dt.timedelta(days=2)):
        notify.deliver_pending(db, FileSmsAdapter(tmp_path))
    db.refresh(n)
    assert n.status == "failed" and n.attempts == 1


def test_a_row_another_sender_holds_is_skipped(db, tmp_path):
    from oip.core.db import get_sessionmaker

    n = _enqueue(db)
    db.commit()
    with get_sessionmaker()() as other:
        other.execute(select(Notification).where(Notification.id == n.id).with_for_update())  # claimed elsewhere
        notify.deliver_pending(db, FileSmsAdapter(tmp_path))
        assert n.message_id not in _ids(tmp_path)
        other.rollback()
    db.expire_all()
    assert db.get(Notification, n.id).status == "pending"
    notify.deliver_pending(db, FileSmsAdapter(tmp_path))
    assert _ids(tmp_path).count(n.message_id) == 1


def test_bad_input(db):
    with pytest.raises(DomainError) as e:
        _enqueue(db, phone="12345")
    assert e.value.field == "phone" and "手机号码" in e.value.reason
    with pytest.raises(ValueError, match="unknown SMS template"):
        _enqueue(db, template="no.such")
    with pytest.raises(ValueError, match="needs"):
        _enqueue(db, params={"case_number": "1"})
    db.rollback()


def test_templates_are_registered_once():
    t = notify.Template("test.hello", "测试", "你好，{name}")
    notify.register_templates(t)
    notify.register_templates(t)  # the same again: fine
    with pytest.raises(ValueError):
        notify.register_templates(notify.Template("test.hello", "测试", "另一段文字"))
    assert notify.render("test.hello", {"name": "张三"}).endswith("你好，张三")
    for code in ("case.materials_missing", "case.accepted", "case.decided", "letter.ready"):
        assert code in notify.TEMPLATES


def test_the_file_adapter_is_idempotent_across_instances_and_days(tmp_path):
    msg = SmsMessage("oip-ntf-test-1", PHONE, "【测试】一", "case.accepted")
    with clock.frozen(dt.date(2025, 9, 30)):
        first = FileSmsAdapter(tmp_path).send(msg)
    with clock.frozen(dt.date(2025, 10, 1)):
        again = FileSmsAdapter(tmp_path).send(msg)  # another process, another day
        other = FileSmsAdapter(tmp_path).send(SmsMessage("oip-ntf-test-2", PHONE, "【测试】二"))
    assert not first.duplicate and again.duplicate and again.provider_message_id == first.provider_message_id
    assert first.provider_message_id == "sms-20250930.jsonl#1" and other.provider_message_id == "sms-20251001.jsonl#1"
    assert _ids(tmp_path) == ["oip-ntf-test-1", "oip-ntf-test-2"]


def test_the_file_adapter_ends_a_torn_line_before_writing(tmp_path):
    adapter = FileSmsAdapter(tmp_path)
    with clock.frozen(dt.date(2025, 9, 30)):
        adapter.send(SmsMessage("oip-ntf-t1", PHONE, "一"))
        path = tmp_path / "sms-20250930.jsonl"
        with path.open("ab") as f:
            f.write(b'{"message_id": "oip-ntf-t2", "to": "139')  # a writer died mid-line
        receipt = FileSmsAdapter(tmp_path).send(SmsMessage("oip-ntf-t2", PHONE, "二"))
    assert not receipt.duplicate and receipt.provider_message_id == "sms-20250930.jsonl#3"
    raw = path.read_bytes().splitlines()
    assert len(raw) == 3 and json.loads(raw[2])["message_id"] == "oip-ntf-t2"
    assert _ids(tmp_path) == ["oip-ntf-t1", "oip-ntf-t2"]


def test_the_console_adapter_prints_masked_and_once():
    out = io.StringIO()
    adapter = ConsoleSmsAdapter(out)
    msg = SmsMessage("oip-ntf-c1", PHONE, "【测试】您好")
    assert not adapter.send(msg).duplicate and adapter.send(msg).duplicate
    assert out.getvalue() == "短信 → 139****5678（oip-ntf-c1）：【测试】您好\n"


def test_the_background_sender_delivers_and_stops(db, tmp_path):
    from oip.core.db import get_sessionmaker

    n = _enqueue(db)
    db.commit()
    sender = notify.start_background_sender(get_sessionmaker(), FileSmsAdapter(tmp_path), interval=0.05)
    try:
        deadline = time.monotonic() + 10
        while n.message_id not in _ids(tmp_path) and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        sender.stop()
    assert not sender._thread.is_alive()
    db.expire_all()
    assert db.get(Notification, n.id).status == "sent"
    assert notify.start_background_sender(interval=0) is None


def test_cli_send_and_list(db):
    from oip.cli import app
    from oip.core.config import get_settings

    n = _enqueue(db)
    db.commit()
    runner = CliRunner()
    r = runner.invoke(app, ["notifications", "send", "--limit", "1000"])
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert out["sent"] >= 1 and out["failed"] == 0 and out["pending"] == 0
    assert _ids(get_settings().sms_path).count(n.message_id) == 1
    r = runner.invoke(app, ["notifications", "list", "--status", "sent", "--limit", "1000"])
    assert r.exit_code == 0, r.output
    [row] = [x for x in json.loads(r.stdout) if x["id"] == n.id]
    assert row["phone"] == "139****5678" and row["template_name"] == "受理通知" and row["status_name"] == "已发送"
    assert PHONE not in r.stdout
    r = runner.invoke(app, ["notifications", "list", "--status", "nonsense"])
    assert r.exit_code == 2


def test_the_staff_page(db, client, as_user):
    number = f"GX-450103-2025-{secrets.randbelow(10**6):06d}"
    params = {"case_number": number, "accepted_on": "2025-09-30", "decision_due": "2025-11-18"}
    _enqueue(db, person_id=11, region_code="450103", params=params)
    db.commit()
    as_user("gx_si")
    r = client.get("/notifications")
    assert r.status_code == 200
    assert "短信通知" in r.text and number in r.text and "139****5678" in r.text and "受理通知" in r.text
    assert PHONE not in r.text
    assert 'href="/notifications"' in r.text  # in the navigation
    r = client.get("/notifications?status=sent")
    assert r.status_code == 200 and number not in r.text  # still pending
    assert client.get("/notifications?page=999").status_code == 200
    from oip.core.audit_models import AuditEvent

    events = db.scalars(
        select(AuditEvent).where(AuditEvent.action == "notification.list").order_by(AuditEvent.seq.desc()).limit(2)
    ).all()
    first_view = events[-1]  # a read of the people's data shown (then the filtered view)
    assert first_view.actor.startswith("gx_si") and 11 in first_view.subjects


def test_the_page_is_only_for_those_who_may_read_it(client, as_user):
    as_user("qx_hrss")
    r = client.get("/notifications")
    assert r.status_code == 403
    assert 'href="/notifications"' not in client.get("/console").text


def test_the_list_follows_the_region_scope(db):
    from oip.auth.models import User
    from oip.auth.service import principal_for

    here = _enqueue(db, region_code="450103", person_id=5)
    elsewhere = _enqueue(db, region_code="450203")
    nowhere = _enqueue(db)
    db.flush()

    def seen(username):
        user = db.scalar(select(User).where(User.username == username))
        ids = set()
        page = 1
        while True:
            result = notify.listing(db, principal_for(db, user), page=page, size=200)
            ids |= {n.id for n in result.items}
            if page >= result.pages:
                return ids
            page += 1

    assert {here.id, elsewhere.id, nowhere.id} <= seen("gx_si")
    city = seen("nn_si")
    assert here.id in city and elsewhere.id not in city and nowhere.id not in city
    db.rollback()
