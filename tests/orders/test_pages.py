"""The officers' month, a batch with its rejects, the platform portal (upload form), coverage."""

from __future__ import annotations

import re

import pytest

from tests.conftest import csrf_of
from tests.orders.conftest import csv_bytes, import_rows, order, register_workers


@pytest.fixture(scope="module")
def batch(database, tmp_path_factory):
    ((a, _),) = register_workers("meituan", 1)
    res = import_rows(tmp_path_factory.mktemp("pg"), [order(a, day="2025-10-25"), order(a, status="done")])
    return a, res


def test_officers_month_page(client, as_user, batch):
    as_user("nn_si")
    r = client.get("/orders", params={"month": "2025-10"})
    assert r.status_code == 200
    assert "订单数据 · 2025-10" in r.text and 'data-testid="by-city"' in r.text and "南宁市" in r.text
    assert f'href="/orders/batches/{batch[1].batch_id}"' in r.text
    assert client.get("/orders", params={"month": "2025-13"}).status_code == 400
    # The default month exists even when nothing was imported yet.
    assert client.get("/orders").status_code == 200


def test_batch_page_shows_counts_and_the_first_rejects(client, as_user, batch):
    as_user("nn_si")
    r = client.get(f"/orders/batches/{batch[1].batch_id}")
    assert r.status_code == 200
    assert re.search(r'data-testid="accepted">1<', r.text) and re.search(r'data-testid="rejected">1<', r.text)
    # the reason in words: the field by its Chinese name, its interface name muted beside it
    assert '订单状态<span class="muted">（status）</span>：应为 completed 或 cancelled' in r.text
    assert f"/api/v1/orders/batches/{batch[1].batch_id}/rejects.csv" in r.text


def test_platform_portal_upload(client, as_user, batch):
    as_user("meituan_admin")
    r = client.get("/orders", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/portal/orders")
    page = client.get("/portal/orders")
    assert (
        page.status_code == 200 and 'action="/portal/orders/upload"' in page.text and 'name="csrf_token"' in page.text
    )
    ((a, _),) = register_workers("meituan", 1)
    data = csv_bytes([order(a, day="2025-10-26"), order(a, day="2025-10-26", start="15:00")])
    r = client.post(
        "/portal/orders/upload",
        files={"file": ("今天.csv", data, "text/csv")},
        data={"csrf_token": csrf_of(client), "format": ""},
        follow_redirects=False,
    )
    assert r.status_code == 303 and "?new=1" in r.headers["location"]
    done = client.get(r.headers["location"])
    assert "文件已导入：2 条已接收" in done.text and "今天.csv" in done.text
    # Its own batches only.
    assert client.get(f"/orders/batches/{batch[1].batch_id}").status_code == 200


def test_another_platform_cannot_see_the_batch(client, as_user, batch):
    as_user("didi_admin")
    assert client.get(f"/orders/batches/{batch[1].batch_id}").status_code == 404


def test_coverage_page(client, as_user, batch):
    as_user("nn_si")
    form = client.get("/coverage")
    assert form.status_code == 200
    # A date-time picker in Beijing time, prefilled: no offset to type.
    assert re.search(
        r'<input id="at" name="at" type="datetime-local" step="1" value="\d{4}-\d\d-\d\dT\d\d:\d\d:00"', form.text
    )
    assert "时点（北京时间）" in form.text and "+08:00" not in form.text
    r = client.get(
        "/coverage", params={"at": "2025-10-25T12:10:00+08:00", "platform_code": "meituan", "account_id": batch[0]}
    )
    assert 'data-testid="coverage-result"' in r.text and "<strong>在保</strong>" in r.text
    assert "在保：在保" not in r.text and "（未在保）" not in r.text
    # Names, not codes: the platform and the place of the order; codes only in a muted second line.
    table = r.text[r.text.index('data-testid="coverage-orders"') :]
    assert "<td>美团" in table and "南宁市青秀区" in table and '<span class="muted">450103</span>' in table
    assert "<td>completed" not in table and "已完成" in table
    # The picker's value (no offset) is Beijing time; the form shows it back in the same form.
    r = client.get("/coverage", params={"at": "2025-10-25T12:10", "platform_code": "meituan", "account_id": batch[0]})
    assert "<strong>在保</strong>" in r.text and 'value="2025-10-25T12:10:00"' in r.text
    r = client.get(
        "/coverage", params={"at": "2025-10-25T04:10:00Z", "platform_code": "meituan", "account_id": batch[0]}
    )
    assert "<strong>在保</strong>" in r.text and 'value="2025-10-25T12:10:00"' in r.text
    assert (
        "格式错误"
        in client.get("/coverage", params={"at": "25/10/2025", "platform_code": "meituan", "account_id": batch[0]}).text
    )
    r = client.get(
        "/coverage", params={"at": "2025-10-25T12:40:01", "platform_code": "meituan", "account_id": batch[0]}
    )
    assert "<strong>未在保</strong>：该时点没有进行中的订单</p>" in r.text
    as_user("gl_si")
    assert (
        client.get(
            "/coverage", params={"at": "2025-10-25T12:10:00+08:00", "platform_code": "meituan", "account_id": batch[0]}
        ).status_code
        == 404
    )


@pytest.fixture(scope="module")
def person(database, tmp_path_factory):
    """A person on meituan and didi registered with a known ID number and phone, one order each."""
    from tests.workers.conftest import new_id, new_name, new_phone

    number, name, phone = new_id(), new_name(), new_phone()
    ((m, pid),) = register_workers("meituan", 1, id_numbers=[number], names=[name], phones=[phone])
    ((d, _),) = register_workers("didi", 1, id_numbers=[number], names=[name], phones=[new_phone()], county="450203")
    tmp = tmp_path_factory.mktemp("pp")
    import_rows(tmp, [order(m, day="2025-10-26", start="09:00")])
    import_rows(tmp, [order(d, "didi", day="2025-10-26", start="15:00", county_code="450203")], platform="didi")
    return {"number": number, "name": name, "phone": phone, "person": pid, "meituan": m, "didi": d}


def _find_events(person_id: int) -> list:
    from sqlalchemy import select

    from oip.core.audit_models import AuditEvent
    from oip.core.db import session_scope

    with session_scope() as s:
        return [
            (e.actor, e.purpose, e.after)
            for e in s.scalars(
                select(AuditEvent)
                .where(AuditEvent.action == "worker.find", AuditEvent.entity_id == str(person_id))
                .order_by(AuditEvent.seq)
            )
        ]


def test_coverage_by_id_number_is_posted_and_audited(client, as_user, person):
    headers = as_user("gx_si")
    before = len(_find_events(person["person"]))
    r = client.post("/coverage", data={"at": "2025-10-26T15:10", "id_number": person["number"]}, headers=headers)
    assert r.status_code == 200 and r.headers["cache-control"] == "no-store"
    assert "<strong>在保</strong>" in r.text and person["name"] in r.text
    assert r.text.count(person["number"]) == 1 and f'value="{person["number"]}"' in r.text  # only in the form
    table = r.text[r.text.index('data-testid="coverage-orders"') :]
    assert "滴滴出行" in table and "柳州市鱼峰区" in table and person["didi"] in table
    # Both accounts were asked about, named by platform.
    assert f"美团 账号 {person['meituan']}" in r.text and f"滴滴出行 账号 {person['didi']}" in r.text
    events = _find_events(person["person"])
    assert len(events) == before + 1
    actor, purpose, after = events[-1]
    assert actor.startswith("gx_si") and purpose == "查询某时点的保障状态" and after == {"by": "id_number"}


def test_coverage_by_name_and_phone(client, as_user, person):
    headers = as_user("nn_si")
    r = client.post(
        "/coverage",
        data={"at": "2025-10-26T09:10:00", "name": person["name"], "phone": person["phone"]},
        headers=headers,
    )
    assert "<strong>在保</strong>" in r.text and person["meituan"] in r.text
    assert _find_events(person["person"])[-1][2] == {"by": "name_phone"}
    # A wrong phone, a name alone, an invalid ID number: a Chinese reason on the page, nothing audited.
    n = len(_find_events(person["person"]))
    r = client.post(
        "/coverage", data={"at": "2025-10-26T09:10", "name": person["name"], "phone": "13900000000"}, headers=headers
    )
    assert r.status_code == 200 and "未找到该人员" in r.text and 'data-testid="coverage-result"' not in r.text
    assert (
        "请填写身份证号码，或姓名和手机号码"
        in client.post("/coverage", data={"at": "2025-10-26T09:10", "name": person["name"]}, headers=headers).text
    )
    assert (
        "身份证号码"
        in client.post("/coverage", data={"at": "2025-10-26T09:10", "id_number": "450103"}, headers=headers).text
    )
    assert len(_find_events(person["person"])) == n


def test_coverage_by_id_number_outside_the_scope(client, as_user, person):
    """Guilin does not see a person registered in Nanning and Liuzhou: answered like nobody."""
    headers = as_user("gl_si")
    n = len(_find_events(person["person"]))
    r = client.post("/coverage", data={"at": "2025-10-26T09:10", "id_number": person["number"]}, headers=headers)
    assert r.status_code == 200 and "未找到该人员，或其不在您的数据范围内" in r.text and person["name"] not in r.text
    assert len(_find_events(person["person"])) == n
    # Posting needs the CSRF token like every form.
    assert client.post("/coverage", data={"at": "2025-10-26T09:10", "id_number": person["number"]}).status_code == 403


def test_a_city_sees_only_the_rejected_records_of_its_region(client, as_user, tmp_path):
    """Rejected records carry places and coordinates: a city downloads and sees only those sent with a
    county code in its region; the province and the platform see them all."""
    from tests.conftest import bearer

    ((a, _),) = register_workers("meituan", 1)
    nanning = order(a, day="2025-10-27", status="done")
    liuzhou = order(a, day="2025-10-27", start="15:00", status="done", county_code="450202", start_lat="24.3264")
    res = import_rows(tmp_path, [nanning, liuzhou, order(a, day="2025-10-27", start="18:00")])
    assert res.rejected == 2
    url = f"/api/v1/orders/batches/{res.batch_id}/rejects.csv"

    def ids(user: str) -> set[str]:
        r = client.get(url, headers=bearer(user))
        assert r.status_code == 200 and r.content.startswith("\ufeff".encode()), r.text
        assert r.text.lstrip("\ufeff").startswith("row,reason,order_id,")
        return {oid for oid in (nanning["order_id"], liuzhou["order_id"]) if oid in r.text}

    assert ids("lz_hrss") == {liuzhou["order_id"]}
    assert ids("nn_si") == ids("qx_si") == {nanning["order_id"]}
    assert ids("gl_si") == set()
    assert ids("gx_si") == ids("meituan_admin") == {nanning["order_id"], liuzhou["order_id"]}
    assert client.get(url, headers=bearer("didi_admin")).status_code == 404
    as_user("lz_hrss")
    page = client.get(f"/orders/batches/{res.batch_id}")
    assert page.status_code == 200 and 'data-testid="rejects-in-region"' in page.text
    assert liuzhou["order_id"] in page.text and nanning["order_id"] not in page.text
