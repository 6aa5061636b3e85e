"""The public self-check (/check) and the worker's view of who looked at their data."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from sqlalchemy import select

from oip.auth.models import User
from oip.core import clock, crypto
from oip.workers import service
from oip.workers.models import Person
from tests.conftest import bearer
from tests.workers.conftest import new_id, new_phone, record


def _solve(page_html: str) -> tuple[str, str]:
    """(token, answer) of the challenge on a /check page."""
    q = re.search(r'data-testid="question">(\d+) (加|减) (\d+) 等于几？<', page_html)
    a, op, b = int(q.group(1)), q.group(2), int(q.group(3))
    token = re.search(r'name="token" value="([^"]+)"', page_html).group(1)
    return token, str(a + b if op == "加" else a - b)


def _check(c, id_number: str, phone: str, *, answer: str | None = None, token: str | None = None):
    t, a = _solve(c.get("/check").text)
    return c.post(
        "/check",
        data={"id_number": id_number, "phone": phone, "answer": a if answer is None else answer, "token": token or t},
    )


@pytest.fixture(scope="module")
def registered(app):
    from fastapi.testclient import TestClient

    r = record(county_code="450103")
    with TestClient(app) as c:
        assert c.post("/api/v1/workers", json=r, headers=bearer("meituan-api")).status_code == 201
        other = {**r, "platform_account_id": "H" + r["platform_account_id"], "phone": new_phone()}
        assert c.post("/api/v1/workers", json=other, headers=bearer("huolala-api")).status_code == 201
    return r


def test_check_page_is_public_and_has_a_challenge(client_at):
    c = client_at()
    page = c.get("/check")
    assert page.status_code == 200 and "参保登记查询" in page.text
    assert page.headers["cache-control"] == "no-store"
    token, answer = _solve(page.text)
    assert answer not in token.split(".")[0:2]  # the token carries a signature, not the answer


def test_check_finds_every_platform(client_at, registered, db):
    res = _check(client_at(), registered["id_number"], registered["phone"])
    assert res.status_code == 200
    table = res.text.split('data-testid="result"')[1]
    assert "美团" in table and "货拉拉" in table and registered["registered_on"] in table and "在册" in table
    assert registered["id_number"] not in res.text
    person = db.scalar(
        select(Person).where(Person.id_bidx == crypto.blind_index(registered["id_number"], service.ID_CTX))
    )
    from oip.core.audit_models import AuditEvent

    ev = db.scalars(
        select(AuditEvent).where(AuditEvent.action == "worker.self_check").order_by(AuditEvent.seq.desc())
    ).first()
    assert ev.subjects == [person.id] and ev.ip and registered["id_number"] not in str(ev.after)


def test_every_miss_gets_the_same_neutral_message(client_at, registered):
    c = client_at()
    answers = [
        _check(c, registered["id_number"], new_phone()),  # wrong phone
        _check(c, new_id(), registered["phone"]),  # unknown ID number
        _check(c, registered["id_number"].lower(), "13900000000"),
    ]  # right ID, another phone
    for res in answers:
        assert res.status_code == 200
        assert 'data-testid="result"' not in res.text
        msg = re.search(r'data-testid="not-found">([^<]+)<', res.text).group(1)
        assert msg.startswith("未查询到登记信息")
    assert len({re.search(r'data-testid="not-found">([^<]+)<', r.text).group(1) for r in answers}) == 1


def test_malformed_numbers_are_explained(client_at):
    res = _check(client_at(), "450103199001011235", "13800138000")
    assert res.status_code == 400 and "校验位" in res.text


def test_bad_or_expired_challenge_is_refused(client_at, registered):
    c = client_at()
    token, answer = _solve(c.get("/check").text)
    wrong = str(int(answer) + 1)
    res = c.post(
        "/check",
        data={"id_number": registered["id_number"], "phone": registered["phone"], "answer": wrong, "token": token},
    )
    assert res.status_code == 400 and "验证题答案不正确" in res.text and 'data-testid="result"' not in res.text
    for bad_token in ["", "garbage", "1.2.3", token.rsplit(".", 1)[0] + ".0000"]:
        res = c.post(
            "/check",
            data={
                "id_number": registered["id_number"],
                "phone": registered["phone"],
                "answer": answer,
                "token": bad_token,
            },
        )
        assert res.status_code == 400, bad_token
    expired = int((clock.now() - dt.timedelta(minutes=1)).timestamp())
    sig = crypto.sign(f"worker.check|{answer}|{expired}|n0nce")
    res = c.post(
        "/check",
        data={
            "id_number": registered["id_number"],
            "phone": registered["phone"],
            "answer": answer,
            "token": f"{expired}.n0nce.{sig}",
        },
    )
    assert res.status_code == 400


def test_challenge_unit():
    ch = service.new_challenge()
    a, op, b = re.fullmatch(r"(\d+) (加|减) (\d+) 等于几？", ch.question).groups()
    right = int(a) + int(b) if op == "加" else int(a) - int(b)
    assert right >= 0
    assert service.challenge_passed(ch.token, str(right))
    assert service.challenge_passed(ch.token, f" {chr(0xFF10 + right % 10) if right < 10 else right} ")
    assert not service.challenge_passed(ch.token, str(right + 1))
    assert not service.challenge_passed(ch.token, "")
    assert not service.challenge_passed(None, str(right))


def test_throttled_after_ten_checks_per_address(client_at, registered):
    c = client_at()
    for _ in range(10):
        assert _check(c, registered["id_number"], registered["phone"]).status_code == 200
    res = _check(c, registered["id_number"], registered["phone"])
    assert res.status_code == 429 and "查询过于频繁" in res.text and 'data-testid="result"' not in res.text
    assert _check(c, registered["id_number"], registered["phone"], answer="0").status_code == 429
    # another address is not affected
    assert _check(client_at(), registered["id_number"], registered["phone"]).status_code == 200


def test_worker_sees_who_viewed_their_data(client, client_at, as_user, db):
    worker = db.scalar(select(User).where(User.username == "worker_demo"))
    person = db.get(Person, worker.person_id)
    assert client.get(f"/api/v1/workers/{person.id}", headers=bearer("gx_si")).status_code == 200
    assert (
        client.post(
            f"/api/v1/workers/{person.id}/full", json={"purpose": "待遇核定"}, headers=bearer("gx_si")
        ).status_code
        == 200
    )
    id_number = crypto.decrypt(person.id_enc, service.ID_CTX)
    phone = crypto.decrypt(person.accounts[0].phone_enc, service.PHONE_CTX)
    assert 'data-testid="result"' in _check(client_at(), id_number, phone).text

    log = client.get("/api/v1/me/access-log", headers=bearer("worker_demo")).json()["items"]
    actions = [(e["action"], e["who"]) for e in log[:3]]
    assert actions[0][0] == "worker.self_check"
    # The worker sees the viewer's organisation and role, never a staff username.
    assert actions[1] == ("worker.view_full", "广西壮族自治区社会保险事业管理中心")
    assert log[1]["purpose"] == "待遇核定" and log[1]["organisation"] == "广西壮族自治区社会保险事业管理中心"
    assert actions[2][0] == "worker.view" and log[2]["role_name"] == "自治区社会保险事业管理中心"
    assert not any("gx_si" in e["who"] for e in log)
    as_user("worker_demo")
    me = client.get("/me")
    assert me.status_code == 200 and "待遇核定" in me.text and "广西壮族自治区社会保险事业管理中心" in me.text
    assert "gx_si" not in me.text


def test_a_full_view_stays_visible_to_the_worker_after_many_list_appearances(client, as_user, db):
    """Appearances in search results are counted per day, apart: 250 roster searches that list the
    worker do not push an officer's full view of their ID out of their view."""
    worker = db.scalar(select(User).where(User.username == "worker_demo"))
    person = db.get(Person, worker.person_id)
    account = person.accounts[0].account_id
    purpose = f"工伤认定核实身份 {new_phone()}"
    gx = bearer("gx_si")
    assert client.post(f"/api/v1/workers/{person.id}/full", json={"purpose": purpose}, headers=gx).status_code == 200
    for _ in range(250):
        res = client.get("/api/v1/workers", params={"q": account, "size": 1}, headers=gx)
        assert res.status_code == 200 and res.json()["items"]

    me = bearer("worker_demo")
    log = client.get("/api/v1/me/access-log", headers=me).json()
    assert {"items", "total", "page", "size", "pages"} <= log.keys()
    assert all(e["action"] != "worker.list" for e in log["items"])
    full = [e for e in log["items"] if e["purpose"] == purpose]
    assert full and full[0]["action"] == "worker.view_full" and full[0]["action_name"] == "查看完整证件号码/手机号"
    assert full[0]["who"] == "广西壮族自治区社会保险事业管理中心" and full[0]["at"].endswith("+08:00")
    # every page of the log is reachable; the last one holds the oldest event
    pages = client.get("/api/v1/me/access-log", params={"size": 5}, headers=me).json()["pages"]
    last = client.get("/api/v1/me/access-log", params={"page": pages, "size": 5}, headers=me).json()
    assert last["page"] == last["pages"] and 1 <= len(last["items"]) <= 5

    seen = client.get("/api/v1/me/list-appearances", headers=me).json()
    today = clock.today().isoformat()
    counts = {(a["day"], a["organisation"]): a["count"] for a in seen["items"]}
    assert counts[(today, "广西壮族自治区社会保险事业管理中心")] >= 250

    as_user("worker_demo")
    page = client.get("/me")
    assert page.status_code == 200 and purpose in page.text
    assert 'data-testid="list-appearances"' in page.text and "查询人员名册" not in page.text
