"""`oip orders import` as a platform's engineer runs it: the last stdout line is the JSON summary."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from tests.orders.conftest import csv_bytes, order, register_workers

KEYS = ["batch_id", "received", "accepted", "rejected", "duplicates", "rejects_path", "seconds"]


def run(*args):
    return subprocess.run(
        [sys.executable, "-m", "oip.cli", *args], env=dict(os.environ), capture_output=True, text=True, timeout=300
    )


def test_import_prints_one_json_line_with_the_counts(tmp_path):
    ((a, _),) = register_workers("meituan", 1)
    path = tmp_path / "orders.csv"
    path.write_bytes(
        csv_bytes(
            [order(a, day="2025-10-22"), order(a, day="2025-10-22", start="14:00"), order(a, county_code="440103")]
        )
    )
    out = run("orders", "import", str(path), "--platform", "meituan")
    assert out.returncode == 0, out.stderr
    last = out.stdout.strip().splitlines()[-1]
    data = json.loads(last)
    assert list(data) == KEYS
    assert (data["received"], data["accepted"], data["rejected"], data["duplicates"]) == (3, 2, 1, 0)
    assert data["rejects_path"].endswith(f"batch-{data['batch_id']}.csv") and os.path.exists(data["rejects_path"])
    assert "1 条记录被拒绝" in out.stderr
    again = json.loads(run("orders", "import", str(path), "--platform", "meituan").stdout.strip().splitlines()[-1])
    assert (again["accepted"], again["duplicates"], again["rejected"]) == (0, 2, 1)
    listed = run("orders", "batches", "--platform", "meituan", "--limit", "1")
    assert json.loads(listed.stdout.splitlines()[0])["batch_id"] == again["batch_id"]


def test_unreadable_input_exits_non_zero_with_a_message(tmp_path):
    out = run("orders", "import", str(tmp_path / "missing.csv"), "--platform", "meituan")
    assert out.returncode == 2 and "文件不存在" in out.stderr and out.stdout == ""
    bad = tmp_path / "x.csv"
    bad.write_bytes(b"PK\x03\x04zip")
    out = run("orders", "import", str(bad), "--platform", "meituan")
    assert out.returncode == 2 and "Excel" in out.stderr
    out = run("orders", "import", str(bad), "--platform", "meituan", "--format", "xml")
    assert out.returncode == 2 and "不支持的格式" in out.stderr


def test_sweep(tmp_path):
    out = run("orders", "sweep")
    assert out.returncode == 0 and "removed_files" in json.loads(out.stdout)
