"""CSV upload through the API and the platform portal: encodings, refusals, nothing stored on refusal."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from oip.core.config import get_settings
from oip.workers.models import PlatformAccount, RegistrationBatch
from tests.conftest import bearer
from tests.workers.conftest import csv_bytes, record


@pytest.fixture(scope="module")
def meituan():
    return bearer("meituan-api")


def _upload(client, headers, data: bytes, name="workers.csv", **form):
    return client.post("/api/v1/workers/upload", files={"file": (name, data, "text/csv")}, data=form, headers=headers)


def _stored(db, rows) -> int:
    db.expire_all()
    return db.scalar(
        select(func.count())
        .select_from(PlatformAccount)
        .where(PlatformAccount.account_id.in_([r["platform_account_id"] for r in rows]))
    )


@pytest.mark.parametrize(
    "header,encoding,bom,expected",
    [
        ("en", "utf-8", False, "UTF-8"),
        ("cn", "utf-8", True, "UTF-8"),
        ("cn", "gbk", False, "GB18030"),
    ],
)
def test_upload_encodings_and_headers(client, meituan, db, header, encoding, bom, expected):
    rows = [record(name="韦秀英"), record(name="覃国庆"), record(id_number="450103199001011230")]
    data = (b"\xef\xbb\xbf" if bom else b"") + csv_bytes(rows, header=header, encoding=encoding)
    res = _upload(client, meituan, data, name="人员名单.csv")
    assert res.status_code == 200, res.text
    body = res.json()
    assert body["encoding"] == expected and body["filename"] == "人员名单.csv"
    assert (body["received"], body["accepted"], body["rejected"]) == (3, 2, 1)
    assert body["results"][2]["row"] == 4 and body["results"][2]["reasons"][0]["field"] == "id_number"
    listed = client.get("/api/v1/workers", params={"q": rows[0]["id_number"]}, headers=meituan).json()
    assert listed["items"][0]["name"] == "韦秀英"
    batch = db.get(RegistrationBatch, body["batch_id"])
    assert (batch.source, batch.filename, batch.received, batch.accepted, batch.rejected) == (
        "csv",
        "人员名单.csv",
        3,
        2,
        1,
    )


def test_excel_scientific_id_is_rejected_with_a_hint(client, meituan):
    rows = [record(), record(id_number="4.50103E+17")]
    body = _upload(client, meituan, csv_bytes(rows)).json()
    assert body["accepted"] == 1
    reason = body["results"][1]["reasons"][0]
    assert reason["field"] == "id_number" and "文本" in reason["reason"] and body["results"][1]["row"] == 3


def test_file_level_refusals_store_nothing(client, meituan, db):
    before = db.scalar(select(func.count()).select_from(RegistrationBatch))
    rows = [record()]
    missing = csv_bytes(rows).replace(b"county_code,", b"")
    res = _upload(client, meituan, missing)
    assert res.status_code == 400 and "county_code" in res.json()["error"]["reason"]
    res = _upload(client, meituan, b"")
    assert res.status_code == 400 and "为空" in res.json()["error"]["reason"]
    res = _upload(client, meituan, bytes(range(256)) * 40, name="photo.csv")
    assert res.status_code == 400
    assert "UTF-8" in res.json()["error"]["reason"] and "GBK" in res.json()["error"]["reason"]
    res = client.post("/api/v1/workers/upload", data={"x": "1"}, headers=meituan)
    assert res.status_code == 400 and res.json()["error"]["field"] == "file"
    res = client.post("/api/v1/workers/upload", json=rows, headers=meituan)
    assert res.status_code == 400 and "multipart" in res.json()["error"]["reason"]
    assert _stored(db, rows) == 0
    assert db.scalar(select(func.count()).select_from(RegistrationBatch)) == before


def test_oversize_upload_is_refused_and_nothing_stored(client, meituan, db, monkeypatch):
    rows = [record() for _ in range(40)]
    data = csv_bytes(rows)
    monkeypatch.setattr(get_settings(), "upload_max_bytes", len(data) - 1)
    res = _upload(client, meituan, data)  # caught while reading the file
    assert res.status_code == 413 and res.json()["error"]["code"] == "too_large"
    assert _stored(db, rows) == 0
    monkeypatch.setattr(get_settings(), "upload_max_bytes", 1000)
    big = data * 40  # far beyond the file limit and its envelope: refused by Content-Length
    res = _upload(client, meituan, big)
    assert res.status_code == 413 and "上限（1000 字节）" in res.json()["error"]["reason"]

    def chunks():
        for i in range(0, len(big), 8192):
            yield big[i : i + 8192]

    boundary = "b0undary"
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="w.csv"\r\n'
            f"Content-Type: text/csv\r\n\r\n"
        ).encode()
        + big
        + f"\r\n--{boundary}--\r\n".encode()
    )
    res = client.post(
        "/api/v1/workers/upload",
        content=iter([body[i : i + 8192] for i in range(0, len(body), 8192)]),
        headers={**meituan, "Content-Type": f"multipart/form-data; boundary={boundary}"},
    )
    assert res.status_code == 413  # no Content-Length: counted while receiving
    monkeypatch.undo()
    assert _stored(db, rows) == 0
    assert _upload(client, meituan, data).json()["accepted"] == 40


def test_agency_upload_names_the_platform(client, db):
    h = bearer("gx_si")
    rows = [record()]
    res = _upload(client, h, csv_bytes(rows))
    assert res.status_code == 400 and res.json()["error"]["field"] == "platform_code"
    res = _upload(client, h, csv_bytes(rows), platform_code="huolala")
    assert res.status_code == 200 and res.json()["accepted"] == 1
    assert (
        client.get(
            "/api/v1/workers", params={"q": rows[0]["platform_account_id"]}, headers=bearer("huolala-api")
        ).json()["total"]
        == 1
    )


def test_portal_upload_form_and_report(client, as_user, db):
    csrf = as_user("meituan_admin")["X-CSRF-Token"]
    rows = [record(), record(phone="12"), record(id_number="15-digit?")]
    files = {"file": ("名单.csv", csv_bytes(rows, header="cn", encoding="gbk"), "text/csv")}
    res = client.post("/portal/upload", files=files, data={"csrf_token": csrf}, follow_redirects=False)
    assert res.status_code == 303, res.text
    m = re.fullmatch(r"/portal/batches/(\d+)\?new=1", res.headers["location"])
    assert m
    page = client.get(res.headers["location"])
    assert page.status_code == 200
    assert "1 条已接收，2 条被拒绝" in page.text
    assert "手机号码" in page.text and f"/api/v1/workers/batches/{m.group(1)}/rejects.csv" in page.text
    assert rows[1]["platform_account_id"] in page.text
    csv = client.get(f"/api/v1/workers/batches/{m.group(1)}/rejects.csv")
    assert csv.status_code == 200 and csv.content.decode("utf-8-sig").count("\n") == 3
    # without the CSRF token the upload is refused and nothing is stored
    rows2 = [record()]
    res = client.post("/portal/upload", files={"file": ("a.csv", csv_bytes(rows2), "text/csv")}, follow_redirects=False)
    assert res.status_code == 403
    assert _stored(db, rows2) == 0


def test_portal_upload_errors_render_as_a_page(client, as_user, monkeypatch):
    csrf = as_user("meituan_admin")["X-CSRF-Token"]
    html = {"Accept": "text/html"}
    res = client.post(
        "/portal/upload", files={"file": ("a.csv", b"x,y\n1,2\n", "text/csv")}, data={"csrf_token": csrf}, headers=html
    )
    assert res.status_code == 400 and "缺少必需的列" in res.text and "<html" in res.text
    monkeypatch.setattr(get_settings(), "upload_max_bytes", 100)
    res = client.post(
        "/portal/upload",
        files={"file": ("a.csv", csv_bytes([record(), record()]), "text/csv")},
        data={"csrf_token": csrf},
        headers=html,
    )
    assert res.status_code == 413 and "上限" in res.text


def test_portal_batch_of_another_platform_is_not_found(client, as_user):
    body = client.post("/api/v1/workers/batch", json=[record()], headers=bearer("didi-api")).json()
    as_user("meituan_admin")
    assert client.get(f"/portal/batches/{body['batch_id']}").status_code == 404
