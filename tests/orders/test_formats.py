"""The three formats of interface v1, the encodings of CSV, row numbers, and files that cannot be
read at all (nothing imported, no batch)."""

from __future__ import annotations

import json

import pytest

from oip.orders import ingest
from oip.orders.ingest import source
from tests.orders.conftest import FIELDS, csv_bytes, import_rows, order, parquet_file, register_workers, rejects, stored


@pytest.fixture(scope="module")
def acct(database):
    return register_workers("meituan", 1)[0][0]


def test_csv_utf8_with_bom_crlf_any_column_order_and_extra_columns(tmp_path, acct):
    rows = [order(acct), order(acct, start="13:00")]
    fields = ["备注"] + list(reversed(FIELDS))
    data = "\ufeff".encode() + csv_bytes([dict(r, 备注="午高峰") for r in rows], fields=fields)
    path = tmp_path / "o.csv"
    path.write_bytes(data)
    res = ingest.import_file(path, "meituan")
    assert (res.received, res.accepted, res.rejected) == (2, 2, 0)


def test_csv_without_optional_columns(tmp_path, acct):
    rows = [order(acct)]
    path = tmp_path / "o.csv"
    path.write_bytes(csv_bytes(rows, fields=ingest.REQUIRED))
    assert ingest.import_file(path, "meituan").accepted == 1


def test_csv_gbk(tmp_path, acct):
    """Chinese Excel writes GBK: the file is transcoded; a rejected value in Chinese comes back intact."""
    rows = [order(acct), order(acct, status="已完成")]
    path = tmp_path / "gbk.csv"
    path.write_bytes(csv_bytes([dict(r, 备注="订单") for r in rows], encoding="gbk", fields=list(FIELDS) + ["备注"]))
    res = ingest.import_file(path, "meituan")
    assert (res.received, res.accepted, res.rejected) == (2, 1, 1)
    bad = rejects(res)[0]
    assert bad["row"] == 3 and bad["status"] == "已完成"


def test_jsonl_with_numbers_nulls_and_a_broken_line(tmp_path, acct):
    good = order(acct)
    as_json = dict(good, distance_m=3200, income_fen=650, start_lng=108.3669, start_lat=22.8167, picked_up_at=None)
    lines = [
        json.dumps(as_json),
        "",
        "not json {",
        json.dumps([1, 2]),
        json.dumps(dict(order(acct), income_fen={"fen": 650})),
        json.dumps(order(acct, start="14:00")),
    ]
    path = tmp_path / "o.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    res = ingest.import_file(path, "meituan")
    assert (res.received, res.accepted, res.rejected, res.duplicates) == (5, 2, 3, 0)
    rows = rejects(res)
    assert [r["row"] for r in rows] == [3, 4, 5]  # line numbers: the empty line 2 is not a record
    assert rows[0]["reason"] == "该行不是合法的 JSON 对象"
    assert rows[1]["reason"] == "该行不是合法的 JSON 对象"
    assert "income_fen：应为字符串或数字" in rows[2]["reason"]


def test_parquet_native_types(tmp_path, acct):
    res = import_rows(tmp_path, [order(acct), order(acct, worker_account_id="NOBODY")], fmt="parquet")
    assert (res.received, res.accepted, res.rejected) == (2, 1, 1)
    assert rejects(res)[0]["row"] == 2  # the record number


def test_parquet_all_strings(tmp_path, acct):
    path = parquet_file(
        tmp_path / "s.parquet", [order(acct), order(acct, accepted_at="2025-09-10T12:00:00")], native=False
    )
    res = ingest.import_file(path, "meituan")
    assert (res.accepted, res.rejected) == (1, 1)
    assert "accepted_at：缺少时区偏移" in rejects(res)[0]["reason"]


@pytest.mark.parametrize("unit", ["s", "ms", "ns"])
def test_parquet_timestamps_in_any_unit(tmp_path, acct, unit):
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = parquet_file(tmp_path / "u.parquet", [order(acct, day="2025-09-11")])
    t = pq.read_table(path)
    for f in ("accepted_at", "picked_up_at", "finished_at"):
        i = t.schema.get_field_index(f)
        t = t.set_column(i, f, t.column(i).cast(pa.timestamp(unit, tz="Asia/Shanghai")))
    pq.write_table(t, path)
    assert ingest.import_file(path, "meituan").accepted == 1


def test_parquet_timestamps_without_time_zone_are_rejected(tmp_path, acct):
    import datetime as dt

    import pyarrow as pa
    import pyarrow.parquet as pq

    path = parquet_file(tmp_path / "n.parquet", [order(acct)])
    t = pq.read_table(path)
    naive = pa.array([dt.datetime(2025, 9, 10, 12)], pa.timestamp("us"))
    t = t.set_column(t.schema.get_field_index("accepted_at"), "accepted_at", naive)
    pq.write_table(t, path)
    res = ingest.import_file(path, "meituan")
    assert res.rejected == 1 and "accepted_at：缺少时区偏移" in rejects(res)[0]["reason"]


def test_csv_lines_that_cannot_be_parsed_keep_their_line_numbers(tmp_path, acct):
    """Broken lines are rejects with their line number; empty lines are not records and later rows
    keep the line numbers an editor shows."""
    head = csv_bytes([order(acct)]).decode()
    lines = head.rstrip("\r\n").split("\r\n")  # header + one good row (lines 1, 2)
    lines += [
        "",
        "a,b,c",
        ",".join(["x"] * 16),
        csv_bytes([order(acct, status="done")]).decode().split("\r\n")[1],
        "",
        csv_bytes([order(acct, start="15:00")]).decode().split("\r\n")[1],
    ]
    path = tmp_path / "broken.csv"
    path.write_text("\r\n".join(lines) + "\r\n", encoding="utf-8")
    res = ingest.import_file(path, "meituan")
    assert (res.received, res.accepted, res.rejected) == (5, 2, 3)
    rows = rejects(res)
    assert [r["row"] for r in rows] == [4, 5, 6]
    assert "列数少于表头" in rows[0]["reason"] and rows[0]["raw"] == "a,b,c"
    assert "列数多于表头" in rows[1]["reason"]
    assert "status：应为 completed 或 cancelled" in rows[2]["reason"]


@pytest.mark.parametrize(
    "content, fmt, message",
    [
        (b"", "csv", "文件为空"),
        (b"PK\x03\x04xxxx", "csv", "Excel"),
        (b"PAR1xxxx", "csv", "Parquet"),
        (b"order_id,platform_code\r\nA,meituan\r\n", "csv", "表头缺少必需的列：worker_account_id"),
        (b"\xff\xfeo\x00r\x00", "csv", "UTF-16"),
        ("订单".encode("gbk") + b"\n", "jsonl", "JSON Lines 文件应为 UTF-8 编码"),
        (b"not parquet at all", "parquet", "不是可读取的 Parquet 文件"),
    ],
)
def test_unreadable_files(tmp_path, content, fmt, message):
    from sqlalchemy import func, select

    from oip.core.db import session_scope
    from oip.orders.models import OrderBatch

    path = tmp_path / f"bad.{fmt}"
    path.write_bytes(content)
    with session_scope() as s:
        before = s.scalar(select(func.count(OrderBatch.id)))
    with pytest.raises(ingest.FileError) as e:
        ingest.import_file(path, "meituan", fmt=fmt)
    assert message in e.value.reason
    with session_scope() as s:
        assert s.scalar(select(func.count(OrderBatch.id))) == before


def test_missing_file_and_unknown_platform(tmp_path):
    from oip.core.errors import DomainError

    with pytest.raises(ingest.FileError, match="文件不存在"):
        ingest.import_file(tmp_path / "nope.csv", "meituan")
    path = tmp_path / "x.csv"
    path.write_bytes(csv_bytes([]))
    with pytest.raises(DomainError, match="未知的平台企业编码"):
        ingest.import_file(path, "nosuch")


def test_a_platform_not_yet_admitted_cannot_report(tmp_path):
    from sqlalchemy import select

    from oip.core.db import session_scope
    from oip.core.errors import DomainError
    from oip.platforms.models import Platform

    with session_scope() as s:
        applicant = s.scalar(select(Platform.code).where(Platform.status == "applicant").limit(1))
    path = tmp_path / "x.csv"
    path.write_bytes(csv_bytes([]))
    with pytest.raises(DomainError, match="尚未纳入试点"):
        ingest.import_file(path, applicant)


@pytest.mark.parametrize("chunk", [1, 2, 3, 7, 64 << 20])
def test_empty_lines_are_found_across_chunk_boundaries(tmp_path, monkeypatch, chunk):
    """The scan that turns record positions into line numbers: empty lines (LF or CRLF), at the
    start, between records and at the end, wherever the file's chunks happen to be cut."""
    monkeypatch.setattr(source, "_SCAN_CHUNK", chunk)
    path = tmp_path / "t.csv"
    path.write_bytes(b"\n\r\na,b\r\n\r\nc\n\n\nd\re\n\r\n")
    # lines: 1 "", 2 "" (CRLF), 3 "a,b", 4 "", 5 "c", 6 "", 7 "", 8 "d\re", 9 ""
    assert source.blank_lines(path) == [1, 2, 4, 6, 7, 9]


def test_gbk_after_more_than_a_mebibyte_of_ascii(tmp_path, acct):
    """The encoding is not judged on the first MiB alone: a GBK file whose first MiB is all ASCII
    is read as GBK once a byte that is not UTF-8 turns up, and its Chinese text is kept."""
    rows = [order(acct, start=f"{8 + i % 12:02d}:{i % 60:02d}") for i in range(6000)]
    rows.append(order(acct, start="21:00", order_id="美团补单" + rows[0]["order_id"]))
    data = csv_bytes(rows, encoding="gbk")
    assert data[: 1 << 20].isascii() and len(data) > 1 << 20
    path = tmp_path / "gbk-late.csv"
    path.write_bytes(data)
    res = ingest.import_file(path, "meituan")
    assert (res.received, res.accepted, res.rejected) == (6001, 6001, 0), rejects(res)[:3]
    assert len(stored(rows[-1]["order_id"])) == 1


def test_utf8_with_a_broken_byte_after_the_first_mebibyte_stays_utf8(tmp_path, acct):
    """A UTF-8 file (Chinese in its first MiB) with one line broken later: that line is rejected
    for its encoding, the others are read as UTF-8."""
    rows = [order(acct, start=f"{8 + i % 12:02d}:{i % 60:02d}") for i in range(6000)]
    rows[0]["order_id"] = "美团" + rows[0]["order_id"]
    rows.append(order(acct, start="21:00"))
    data = csv_bytes(rows)
    cut = data.rindex(b"\r\n", 0, len(data) - 2) + 2
    data = data[:cut] + b"\xff" + data[cut:]  # the last record's line starts with a stray byte
    path = tmp_path / "utf8-broken.csv"
    path.write_bytes(data)
    res = ingest.import_file(path, "meituan")
    assert (res.received, res.accepted, res.rejected) == (6001, 6000, 1)
    assert "编码错误" in rejects(res)[0]["reason"]
    assert len(stored(rows[0]["order_id"])) == 1
