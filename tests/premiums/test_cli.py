"""``oip premiums …`` as a subprocess against the test database."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from oip.core.db import session_scope
from tests.premiums.conftest import make_platform, orders, publish

OIP = str(Path(sys.executable).with_name("oip"))
KEYS = ["platform_code", "orders", "base_yuan", "k", "rate_yuan", "amount_fen"]


def oip(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([OIP, *args], capture_output=True, text=True, env=os.environ.copy(), timeout=300)


@pytest.fixture(scope="module")
def cli_platforms(database):
    with session_scope() as s:
        a = make_platform(s, industry="ride_hailing", base="0.01")
        b = make_platform(s, industry="instant_delivery", base="0.25")
        publish(s, a, "2025-12", orders("a", 1_234_567 // 1000))
        publish(s, b, "2025-12", orders("b", 3) + orders("bc", 2, status="cancelled"))
        return a.code, b.code


def test_declare_prints_one_json_array(cli_platforms):
    a, b = cli_platforms
    r = oip("premiums", "declare", "--month", "2025-12", "--platform", a, "--platform", b)
    assert r.returncode == 0, r.stderr
    rows = json.loads(r.stdout)
    assert rows == sorted(
        [
            {"platform_code": a, "orders": 1234, "base_yuan": "0.01", "k": 0, "rate_yuan": "0.01", "amount_fen": 1234},
            {"platform_code": b, "orders": 3, "base_yuan": "0.25", "k": 0, "rate_yuan": "0.25", "amount_fen": 75},
        ],
        key=lambda x: x["platform_code"],
    )
    assert r.stdout.count("\n") == 1 and "2025-12" in r.stderr
    again = oip("premiums", "declare", "--month", "2025-12", "--platform", a, "--platform", b)
    assert json.loads(again.stdout) == rows and "2 unchanged" in again.stderr


def test_declare_for_every_platform(cli_platforms):
    r = oip("premiums", "declare", "--month", "2025-12")
    assert r.returncode == 0, r.stderr
    rows = json.loads(r.stdout)
    assert all(list(x) == KEYS for x in rows)
    assert [x["platform_code"] for x in rows] == sorted(x["platform_code"] for x in rows)
    assert {"meituan", "didi", *cli_platforms} <= {x["platform_code"] for x in rows}
    assert all(isinstance(x["amount_fen"], int) and isinstance(x["base_yuan"], str) for x in rows)


def test_errors_are_chinese_and_exit_2():
    r = oip("premiums", "declare", "--month", "2025-13")
    assert r.returncode == 2 and r.stdout == "" and "月份应为 YYYY-MM" in r.stderr
    r = oip("premiums", "declare", "--month", "2025-08", "--platform", "no_such_platform")
    assert r.returncode == 2 and "no_such_platform 不存在" in r.stderr


def test_parameters_are_listed(cli_platforms):
    r = oip("premiums", "parameters")
    keys = {p["key"] for p in json.loads(r.stdout)}
    assert {
        "premium.billable_statuses",
        "premium.payment_due_day",
        "premium.float_rules",
        "exchange.tax.signing",
    } <= keys


def test_send_import_returns_and_reconcile(cli_platforms, tmp_path):
    from oip.exchange import tax

    a, _ = cli_platforms
    r = oip("premiums", "send", "--month", "2025-12", "--platform", a)
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    mid = out["message_id"]
    assert out["queued_platforms"] == [a] and mid.startswith("DECL-202512-")
    assert {"message_id": mid, "status": "sent"}.items() <= next(
        d for d in out["deliveries"] if d["message_id"] == mid
    ).items()
    with session_scope() as s:
        from sqlalchemy import select

        from oip.platforms.models import Platform

        uscc = s.scalar(select(Platform.uscc).where(Platform.code == a))
    body, sig = tax.returns_message(
        [
            {
                "uscc": uscc,
                "month": "2025-12",
                "declared_fen": 1234,
                "paid_fen": 1000,
                "paid_on": "2026-01-20",
                "tax_reference": f"CLI-{a}",
            }
        ]
    )
    f = tmp_path / "returns.json"
    f.write_bytes(body)
    (tmp_path / "returns.json.sig").write_text(sig)
    r = oip("premiums", "import-returns", str(f))
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["messages"][0]["status"] == "imported"
    r = oip("premiums", "reconcile", "--month", "2025-12", "--platform", a)
    [row] = json.loads(r.stdout)
    assert (row["due_fen"], row["paid_fen"], row["owed_fen"]) == (1234, 1000, 234)
    assert {fl["kind"] for fl in row["flags"]} == {"arrears", "late"}
    f.write_bytes(body.replace(b"1000", b"1001"))  # tampered: rejected, exit 1
    r = oip("premiums", "import-returns", str(f))
    assert r.returncode == 1 and "签名校验失败" in json.loads(r.stdout)["messages"][0]["reason"]


def test_float_approve_refuses_k_outside_the_rules(database):
    """``oip premiums float approve N --k 3`` for a platform without 12 months of contributions."""
    from oip.core import clock
    from oip.premiums import floats
    from tests.premiums.conftest import officer

    year = clock.today().year + 1  # the year whose k is decided now (the CLI runs on the real clock)
    with session_scope() as s:
        p = make_platform(s, covered_from=f"{year - 1}-01-01")
        prop = next(f for f in floats.propose_floats(s, officer(s), year) if f.platform_id == p.id)
        pid, code = prop.id, p.code
    r = oip("premiums", "float", "approve", str(pid), "--k", "3", "--reason", "上调", "--by", "gx_si")
    assert r.returncode == 2 and r.stdout == ""
    assert "不满12个月，浮动档次只能为0" in "".join(r.stderr.split())
    r = oip("premiums", "float", "approve", str(pid), "--by", "gx_si")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["decided_k"] == 0
    with session_scope() as s:
        from sqlalchemy import select

        from oip.platforms.models import Platform

        assert s.scalar(select(Platform).where(Platform.code == code)).k_for(year) == 0
