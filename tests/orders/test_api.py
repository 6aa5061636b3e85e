"""The upload API (raw body and multipart, streamed to disk), its scope, batches and rejects."""

from __future__ import annotations

import pytest

from tests.conftest import bearer
from tests.orders.conftest import csv_bytes, jsonl_bytes, order, parquet_file, register_workers

URL = "/api/v1/orders/batches"


@pytest.fixture(scope="module")
def acct(database):
    return register_workers("meituan", 1)[0][0]


def _rows(acct, n=3, bad=1):
    rows = [order(acct, day="2025-10-20", start=f"{(9 + i) % 24:02d}:{i // 24:02d}") for i in range(n)]
    return rows + [order(acct, status="done") for _ in range(bad)]


def test_raw_csv_body_by_a_platform_system(client, acct):
    body_bytes = csv_bytes(_rows(acct))
    r = client.post(URL, content=body_bytes, headers={**bearer("meituan-api"), "content-type": "text/csv"})
    assert r.status_code == 201, r.text
    body = r.json()
    assert (body["received"], body["accepted"], body["rejected"], body["duplicates"]) == (4, 3, 1, 0)
    assert body["months"] == ["2025-10"]
    rej = client.get(body["rejects_url"], headers=bearer("meituan-api"))
    assert rej.status_code == 200 and rej.content.startswith("\ufeff".encode())
    assert "status：应为 completed 或 cancelled" in rej.content.decode("utf-8-sig")
    batch = client.get(f"{URL}/{body['batch_id']}", headers=bearer("meituan-api")).json()
    assert (batch["status"], batch["source"], batch["accepted"], batch["has_rejects"]) == ("published", "api", 3, True)
    # The same body again: all duplicates (the rejected row is rejected again).
    again = client.post(URL, content=body_bytes, headers={**bearer("meituan-api"), "content-type": "text/csv"})
    assert (again.json()["accepted"], again.json()["duplicates"], again.json()["rejected"]) == (0, 3, 1)


def test_jsonl_and_parquet_bodies(client, acct, tmp_path):
    r = client.post(
        URL,
        content=jsonl_bytes(_rows(acct, 2, 0)),
        headers={**bearer("meituan-api"), "content-type": "application/x-ndjson"},
    )
    assert r.status_code == 201 and r.json()["accepted"] == 2
    path = parquet_file(tmp_path / "o.parquet", _rows(acct, 2, 0))
    r = client.post(
        URL,
        params={"format": "parquet"},
        content=path.read_bytes(),
        headers={**bearer("meituan-api"), "content-type": "application/octet-stream"},
    )
    assert r.status_code == 201 and r.json()["accepted"] == 2
    # Without a format or content type the content tells.
    r = client.post(
        URL, content=parquet_file(tmp_path / "p.parquet", _rows(acct, 1, 0)).read_bytes(), headers=bearer("meituan-api")
    )
    assert r.status_code == 201 and r.json()["accepted"] == 1


def test_multipart_upload_in_a_session_needs_the_csrf_token(client, as_user, acct):
    headers = as_user("meituan_admin")
    files = {"file": ("orders.csv", csv_bytes(_rows(acct, 2, 0)), "text/csv")}
    assert client.post(URL, files=files).status_code == 403  # no CSRF token
    r = client.post(URL, files=files, headers=headers)
    assert r.status_code == 201, r.text
    assert r.json()["accepted"] == 2


def test_a_platform_cannot_import_for_another(client, acct):
    r = client.post(
        URL,
        params={"platform_code": "didi"},
        content=csv_bytes(_rows(acct)),
        headers={**bearer("meituan-api"), "content-type": "text/csv"},
    )
    assert r.status_code == 403 and r.json()["error"]["field"] == "platform_code"


def test_agencies(client, acct):
    ok = client.post(
        URL,
        params={"platform_code": "meituan"},
        content=csv_bytes(_rows(acct, 1, 0)),
        headers={**bearer("gx_si"), "content-type": "text/csv"},
    )
    assert ok.status_code == 201
    assert (
        client.post(
            URL, content=csv_bytes(_rows(acct, 1, 0)), headers={**bearer("gx_si"), "content-type": "text/csv"}
        ).status_code
        == 400
    )  # which platform?
    assert (
        client.post(
            URL,
            params={"platform_code": "meituan"},
            content=b"x",
            headers={**bearer("nn_si"), "content-type": "text/csv"},
        ).status_code
        == 403
    )


def test_batches_are_scoped(client, acct):
    mine = client.get(URL, headers=bearer("meituan-api")).json()
    assert mine and {b["platform_code"] for b in mine} == {"meituan"}
    assert all(b["platform_code"] != "meituan" for b in client.get(URL, headers=bearer("didi_admin")).json())
    bid = mine[0]["batch_id"]
    assert client.get(f"{URL}/{bid}", headers=bearer("didi_admin")).status_code == 404
    assert client.get(f"{URL}/{bid}/rejects.csv", headers=bearer("didi_admin")).status_code == 404
    assert client.get(f"{URL}/{bid}", headers=bearer("nn_si")).status_code == 200
    assert client.get(f"{URL}/{bid}", headers=bearer("insurer_a")).status_code == 403


def test_refusals_store_nothing(client, acct, monkeypatch):
    from oip.core import config

    before = len(client.get(URL, params={"limit": 500}, headers=bearer("gx_si")).json())
    r = client.post(URL, json={"order_id": "x"}, headers=bearer("meituan-api"))
    assert r.status_code == 415
    r = client.post(
        URL,
        content=b"order_id,platform_code\r\nA,meituan\r\n",
        headers={**bearer("meituan-api"), "content-type": "text/csv"},
    )
    assert r.status_code == 400 and "表头缺少必需的列" in r.json()["error"]["reason"]
    assert (
        client.post(URL, content=b"", headers={**bearer("meituan-api"), "content-type": "text/csv"}).status_code == 400
    )
    monkeypatch.setattr(config.get_settings(), "order_upload_max_bytes", 1000)
    big = csv_bytes(_rows(acct, 20, 0))
    assert len(big) > 1000
    r = client.post(URL, content=big, headers={**bearer("meituan-api"), "content-type": "text/csv"})
    assert r.status_code == 413
    r = client.post(URL, files={"file": ("o.csv", big, "text/csv")}, headers=bearer("meituan-api"))
    assert r.status_code == 413
    assert len(client.get(URL, params={"limit": 500}, headers=bearer("gx_si")).json()) == before


def test_a_large_upload_streams_through(client, tmp_path):
    """Several MB through the API: the body is spooled to disk in chunks, then imported."""
    accounts = [a for a, _ in register_workers("meituan", 5)]
    rows = [
        order(
            accounts[i % 5],
            day="2025-10-21",
            start=f"{8 + (i // 600) % 12:02d}:{(i // 10) % 60:02d}",
            order_id=f"BIG{i:07d}{accounts[0]}",
        )
        for i in range(30000)
    ]
    data = csv_bytes(rows)
    assert len(data) > 5_000_000
    r = client.post(URL, content=data, headers={**bearer("meituan-api"), "content-type": "text/csv"})
    assert r.status_code == 201 and r.json()["accepted"] == 30000
