"""The bank-v1 documentation's examples: they parse, and their signatures (with the example key)
are what the documentation says."""

from __future__ import annotations

import base64
import datetime as dt
import re
from pathlib import Path

from oip.payments import bank

DOC = Path(__file__).resolve().parents[2] / "docs" / "interfaces" / "bank-v1.md"
KEY = base64.b64decode("YmFuay12MS1leGFtcGxlLWtleQ==")


def _examples() -> list[tuple[bytes, str]]:
    text = DOC.read_text(encoding="utf-8")
    blocks = re.findall(r"```json\n(.*?)```", text, re.S)
    sigs = re.findall(r"Signature with the example key: `([0-9a-f]{64})`", text)
    return [(b.encode("utf-8"), s) for b, s in zip(blocks, sigs, strict=True)]


def test_documented_signatures_hold():
    examples = _examples()
    assert len(examples) == 2
    for body, sig in examples:
        assert bank.verify(body, sig, KEY)
        assert not bank.verify(body + b" ", sig, KEY)


def test_documented_result_file_parses():
    body = _examples()[1][0]
    parsed = bank.parse_result(body)
    assert parsed.errors == []
    assert [x.status for x in parsed.lines] == ["paid", "failed", "reversed"]
    assert parsed.lines[1].failure_reason == "户名与卡号不符"


def test_result_line_problems_are_named():
    body, _ = bank.result_file(
        "ZF1",
        [
            {"idempotency_key": "a#1", "status": "paid"},
            {"idempotency_key": "b#1", "status": "failed"},
            {"idempotency_key": "c#1", "status": "paid", "paid_on": "2026-13-01"},
        ],
        key=KEY,
    )
    parsed = bank.parse_result(body)
    assert parsed.lines == [] and len(parsed.errors) == 3
    assert "paid_on" in parsed.errors[0] and "failure_reason" in parsed.errors[1]


def test_batch_file_header_counts_and_totals():
    lines = [bank.BatchLine("k#1", "甲", "工行", "6222020200112345679", 100, "医疗费", "C1")]
    f = bank.batch_file("ZF2", "450100", lines, dt.datetime(2026, 9, 15, tzinfo=dt.UTC))
    doc = bank.read_batch_file(f.body)
    assert doc["header"]["count"] == 1 and doc["header"]["total_fen"] == 100
    assert f.filename == "ZF2.json" and bank.verify(f.body, f.signature)
