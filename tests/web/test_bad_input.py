"""Bad input answers 4xx with the usual Chinese error body, never 500 (issue 10 §6), and every response
carries the browser-hardening headers (§7)."""

from __future__ import annotations

import json
import re

import pytest

from tests.conftest import bearer

CJK = re.compile(r"[\u4e00-\u9fff]")


def _error(r, status: int) -> dict:
    assert r.status_code == status, r.text[:500]
    err = r.json()["error"]
    assert set(err) >= {"code", "field", "reason"} and CJK.search(err["reason"]), err
    return err


def test_nul_byte_in_a_query_parameter_is_422_naming_it(client, as_user):
    h = as_user("gx_si")
    err = _error(client.get("/api/v1/workers", params={"q": "张\x00三"}, headers=h), 422)
    assert err["field"] == "q"
    err = _error(client.get("/api/v1/users", params={"q": "a\x00"}, headers=h), 422)
    assert err["field"] == "q"


def test_nul_byte_in_a_path_parameter_is_4xx(client, as_user):
    h = as_user("gx_si")
    r = client.get("/api/v1/platforms/meituan%00", headers=h)
    assert 400 <= r.status_code < 500 and r.json()["error"]["reason"]


def test_nul_byte_in_a_form_field_is_4xx(client):
    r = client.post("/login", data={"username": "gx\x00si", "password": "x"}, follow_redirects=False)
    assert 400 <= r.status_code < 500


def test_nul_byte_in_a_json_field_is_422_naming_it(client):
    h = bearer("meituan_admin")
    body = {"platform_account_id": "A\x001", "name": "张三", "id_number": "1", "phone": "1", "county_code": "450103"}
    err = _error(client.post("/api/v1/workers", json=body, headers=h), 422)
    assert err["field"] == "platform_account_id"


@pytest.mark.parametrize("value", [2**63, -(2**63) - 1, 10**30])
def test_integer_beyond_bigint_in_path_or_query_is_422_naming_it(client, as_user, value):
    h = as_user("gx_si")
    err = _error(client.get(f"/api/v1/workers/{value}", headers=h), 422)
    assert err["field"] == "person_id"
    err = _error(client.get("/api/v1/workers", params={"page": value}, headers=h), 422)
    assert err["field"] == "page"
    err = _error(client.get("/api/v1/audit/events", params={"before_seq": value}, headers=h), 422)
    assert err["field"] == "before_seq"


def test_integer_beyond_an_integer_column_is_422(client, as_user):
    h = as_user("gx_si")
    r = client.get("/api/v1/premiums/floats", params={"year": 2**31}, headers=h)
    assert r.status_code == 422, r.text
    assert CJK.search(r.json()["error"]["reason"])


def test_deeply_nested_json_is_400(client):
    h = {**bearer("meituan_admin"), "Content-Type": "application/json"}
    deep = "[" * 100_000 + "]" * 100_000
    err = _error(client.post("/api/v1/workers", content=deep, headers=h), 400)
    assert err["field"] == "body"
    # A modest nesting still reaches the route (and its own, Chinese, validation).
    r = client.post("/api/v1/workers", content=json.dumps({"a": [[[1]]]}), headers=h)
    assert r.status_code == 422, r.text


def test_oversized_body_is_413_with_the_json_error_body(client):
    from oip.core.config import get_settings

    size = get_settings().upload_max_bytes + 2 * 1024 * 1024
    h = {**bearer("meituan_admin"), "Content-Type": "multipart/form-data; boundary=x"}
    r = client.post("/api/v1/workers/upload", content=b"x" * size, headers=h)
    err = _error(r, 413)
    assert err["code"] == "too_large"


def test_oversized_body_is_413_with_a_chinese_page_for_a_browser(client):
    from oip.core.config import get_settings

    size = get_settings().upload_max_bytes + 2 * 1024 * 1024
    r = client.post(
        "/portal/upload",
        content=b"x" * size,
        headers={"Content-Type": "multipart/form-data; boundary=x", "Accept": "text/html"},
    )
    assert r.status_code == 413 and r.headers["content-type"].startswith("text/html")
    assert CJK.search(r.text) and "Content Too Large" not in r.text


# ---- §7: headers on every response -----------------------------------------------------------------


@pytest.mark.parametrize("path", ["/login", "/api/v1/me", "/healthz", "/static/oip.css", "/no-such-page"])
def test_security_headers_on_every_response(client, path):
    r = client.get(path, headers={"Accept": "text/html"})
    csp = r.headers.get("content-security-policy", "")
    assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert "'unsafe-inline'" not in csp.split("script-src", 1)[-1].split(";")[0]
    assert r.headers.get("x-frame-options") == "DENY"
    assert r.headers.get("x-content-type-options") == "nosniff"
    assert r.headers.get("referrer-policy") == "same-origin"


def test_swagger_ui_gets_its_own_policy(client):
    r = client.get("/docs")
    assert r.status_code == 200
    csp = r.headers["content-security-policy"]
    script_src = csp.split("script-src", 1)[1].split(";")[0]
    assert "'unsafe-inline'" not in script_src and "'sha256-" in script_src
    assert "frame-ancestors 'none'" in csp


# ---- CSV: English reader messages, formula escapes -----------------------------------------------------


def test_a_huge_csv_field_in_a_workers_upload_is_refused_in_chinese(client):
    h = bearer("meituan_admin")
    data = "platform_account_id,name,id_number,phone,county_code,registered_on\r\n" + '"' + "x" * 200_000 + "\r\n"
    r = client.post("/api/v1/workers/upload", files={"file": ("w.csv", data.encode(), "text/csv")}, headers=h)
    err = _error(r, 400)
    assert "field limit" not in err["reason"] and "KB" in err["reason"]


def test_a_huge_csv_field_in_an_orders_upload_is_refused_in_chinese(client):
    h = {**bearer("meituan_admin"), "Content-Type": "text/csv"}
    r = client.post("/api/v1/orders/batches", content=b'"' + b"x" * (15 * 1024 * 1024) + b"\n", headers=h)
    assert r.status_code == 400, r.text[:300]
    reason = r.json()["error"]["reason"]
    assert CJK.search(reason) and "field limit" not in reason, reason


@pytest.mark.parametrize(
    "cell", ["=1+1", "+1", "-1", "@SUM(A1)", "\t=1+1", "\r=1+1", "\n=1", "\t", "\rx", "\t+1", "\r@x"]
)
def test_formula_cells_are_escaped(cell):
    from oip.core.csvsafe import safe_cell

    assert safe_cell(cell) == "'" + cell


def test_workers_rejects_csv_escapes_tab_and_cr_formulas():
    from oip.workers import csvio

    out = csvio.rejects_csv(
        [{"row": 2, "platform_account_id": "\t=HYPERLINK(1)", "status": "rejected", "reasons": [{"reason": "\r@x"}]}]
    ).decode("utf-8-sig")
    assert "'\t=HYPERLINK(1)" in out and "'\r@x" in out


def test_orders_rejects_sql_escape_matches_python():
    import duckdb

    from oip.core.csvsafe import safe_cell, safe_cell_sql

    for cell in ["=1", "\t=1", "\r+1", "\n-1", "ok", "", "a=b"]:
        got = duckdb.connect().execute(f"SELECT {safe_cell_sql('x')} FROM (SELECT ? AS x)", [cell]).fetchone()[0]
        assert got == safe_cell(cell), cell


def test_no_template_has_inline_script_or_style():
    """The policy allows no inline script or style: templates use /static files and classes."""
    from pathlib import Path

    import oip

    bad = []
    for p in Path(oip.__file__).parent.rglob("*.html"):
        text = p.read_text(encoding="utf-8")
        for pattern in (r"<script(?![^>]*\ssrc=)", r"\sstyle=", r"<style", r"\son[a-z]+=", r"javascript:"):
            if re.search(pattern, text, flags=re.I):
                bad.append(f"{p.name}: {pattern}")
    assert bad == []
