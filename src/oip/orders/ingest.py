"""Import of a platform's order file (interface v1, docs/interfaces/orders-v1.md) into the ledger.

One file is one batch (``OrderBatch``). Everything heavy runs as SQL in DuckDB (an on-disk database
per batch under ``var/ingest/``, memory-limited, spilling to disk); Python only orchestrates:

1. The batch row is committed with status ``staging`` (invisible) on a dedicated PostgreSQL
   connection that holds a session-level advisory lock on the batch id for as long as the import
   runs: a batch left in ``staging`` whose lock is free belongs to a dead process and is marked
   failed by the next import (``recover_interrupted``).
2. A second transaction on that connection takes the platform's import lock (imports of one platform
   run one after another, so "already stored?" cannot race), copies the platform's accounts and the
   counties into DuckDB, and stays open until publishing.
3. CSV and JSON Lines are read once, in file order, into a typed staging Parquet file (GBK/GB18030
   CSV is first transcoded to UTF-8 in a streaming pass); a record's row number is its position
   there. Lines the reader cannot split are rejects of their own. Parquet is read in place
   (``file_row_number``), keeping native types.
4. Every row gets ``ok`` and, when not ok, one reason string — every failing rule, in Chinese with
   the field, joined with '；' — from one SQL expression (view ``v``). Repeats of an order_id in the
   batch (hash grouping) and orders already in the ledger (the platform's files of the batch's months
   ±1) are found with hash joins: same content → duplicate; other content → a correction, written as
   the next version, the old one superseded (compared by value, so the hash only accelerates).
5. The rejects file (CSV, UTF-8 with BOM, ``var/rejects/batch-<id>.csv``) is written; then DuckDB
   writes the accepted rows — one Parquet file per month, sorted by (worker account, accepted_at),
   next to the ledger — while this thread adds their per-worker-day summaries in PostgreSQL.
6. ``ledger.publish`` moves the files into place and lists them, the superseded versions are copied
   in, the batch's counts and an audit event are written — and the one transaction commits. Before
   that commit nothing of the batch is visible. A failure the process survives marks the batch
   ``failed`` and deletes its files; after a crash, unlisted files are removed by the next import
   (or ``oip orders sweep``).

Row numbers in reasons and in the rejects file: CSV — the line number in the file (the header is
line 1); JSON Lines — the line number; Parquet — the record number (1-based). Empty lines are not
records and are not counted; a CSV record with a line break inside quotes counts as one row.

``received = accepted + rejected + duplicates`` always: the counts are reconciled with what was
actually written before anything is published."""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import logging
import re
import shutil
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from oip.core import audit, clock
from oip.core.config import get_settings
from oip.core.db import get_engine
from oip.core.errors import DomainError, Forbidden
from oip.orders import ledger
from oip.orders.models import OrderBatch
from oip.platforms.models import Platform
from oip.reference.models import Industry, Region

# ---- the interface ---------------------------------------------------------------------------------

TEXT_FIELDS = ("order_id", "platform_code", "worker_account_id", "industry", "county_code", "status")
TIME_FIELDS = ("accepted_at", "picked_up_at", "finished_at")
INT_FIELDS = ("distance_m", "income_fen")
COORD_FIELDS = ("start_lng", "start_lat", "end_lng", "end_lat")
FIELDS = ("order_id", "platform_code", "worker_account_id", "industry", "county_code", "accepted_at",
          "picked_up_at", "finished_at", "status", "start_lng", "start_lat", "end_lng", "end_lat", "distance_m",
          "income_fen")
REQUIRED = ("order_id", "platform_code", "worker_account_id", "industry", "county_code", "accepted_at",
            "finished_at", "status")
PARSED = TIME_FIELDS + INT_FIELDS + COORD_FIELDS  # fields whose text must parse; raw text kept when it does not
STATUSES = ("completed", "cancelled")
FORMATS = ("csv", "jsonl", "parquet")
FORMAT_NAMES = {"csv": "CSV", "jsonl": "JSON Lines", "parquet": "Parquet"}

MAX_ID_LENGTH = 64
MAX_DURATION_HOURS = 24          # an order lasts at most a day: coverage looks at the day of T and the day before
FUTURE_TOLERANCE = dt.timedelta(minutes=5)
LNG_RANGE = (73.0, 136.0)        # China's extent: a value outside is a swapped or missing coordinate
LAT_RANGE = (3.0, 54.0)
MAX_DISTANCE_M = 1_000_000       # 1,000 km
MAX_INCOME_FEN = 10_000_000      # 100,000 yuan for one order

SOURCES = {"api": "接口上传", "portal": "门户上传", "cli": "文件导入（命令行）", "demo": "演示数据"}
STATUS_NAMES = {"staging": "导入中", "published": "已发布", "failed": "失败"}

AUDIT_ACTION_NAMES = {"orders.import": "导入订单数据批次", "orders.import_failed": "订单数据批次导入失败",
                      "orders.recover": "清理中断的订单导入"}
audit.register_actions(AUDIT_ACTION_NAMES)

_PLATFORM_LOCK = 0x0A0D19     # pg_advisory_xact_lock(_PLATFORM_LOCK, platform_id): one import per platform at a time
_ALIVE_LOCK = 0x0A0D1A        # pg_advisory_lock(_ALIVE_LOCK, batch_id): held by the process importing the batch
_SNIFF_BYTES = 1 << 20
_CHUNK = 1 << 20
_SCAN_CHUNK = 64 << 20

Progress = Callable[[str, float], None]
_BLANK = "__blank__"
log = logging.getLogger(__name__)


class FileError(DomainError):
    """The file cannot be read at all (format, encoding, header): nothing is imported."""

    code = "unreadable_file"

    def __init__(self, reason: str):
        super().__init__(reason, field="file")


@dataclass
class ImportResult:
    batch_id: int
    received: int
    accepted: int
    rejected: int
    duplicates: int
    corrections: int
    rejects_path: str | None
    seconds: float
    months: list[str] = field(default_factory=list)

    def summary(self) -> dict:
        """The line ``oip orders import`` ends with (exactly the keys of the interface)."""
        return {"batch_id": self.batch_id, "received": self.received, "accepted": self.accepted,
                "rejected": self.rejected, "duplicates": self.duplicates, "rejects_path": self.rejects_path,
                "seconds": round(self.seconds, 3)}


# ---- small SQL helpers -----------------------------------------------------------------------------

def _lit(value: Any) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, dt.datetime):
        return f"TIMESTAMPTZ '{value.astimezone(dt.timezone.utc).isoformat()}'"
    if isinstance(value, dt.date):
        return f"DATE '{value.isoformat()}'"
    if isinstance(value, (int, float)):
        return repr(value)
    return "'" + str(value).replace("'", "''") + "'"


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _paths(paths) -> str:
    return "[" + ", ".join(_lit(str(p)) for p in paths) + "]"


def _scalar(con, sql: str, params=None):
    row = con.execute(sql, params or []).fetchone()
    return row[0] if row else None


# ---- reading the file ------------------------------------------------------------------------------

@dataclass
class _Source:
    fmt: str
    path: Path                               # what DuckDB reads
    encoding: str = "UTF-8"
    header: list[str] = field(default_factory=list)     # CSV: the names in the header, normalised
    types: dict[str, str] = field(default_factory=dict)  # Parquet: DuckDB type of each interface column present
    transcode: bool = False                  # CSV in GB18030 to be transcoded to UTF-8 first


_SIGNATURES = [
    (b"PAR1", "这是 Parquet 文件：请以 parquet 格式导入（--format parquet / format=parquet）"),
    (b"PK\x03\x04", "这是 Excel 工作簿（.xlsx）或压缩文件，不是 CSV：请另存为“CSV UTF-8（逗号分隔）”"),
    (b"\xd0\xcf\x11\xe0", "这是旧版 Excel 工作簿（.xls），不是 CSV：请另存为“CSV UTF-8（逗号分隔）”"),
    (b"\x1f\x8b", "这是 gzip 压缩文件：请解压后再导入"),
    (b"\xff\xfe", "文件是 UTF-16 编码，不受支持：请使用 UTF-8（CSV 也可用 GBK）"),
    (b"\xfe\xff", "文件是 UTF-16 编码，不受支持：请使用 UTF-8（CSV 也可用 GBK）"),
]


def guess_format(name: str | None) -> str | None:
    n = (name or "").lower()
    for suffix, fmt in ((".csv", "csv"), (".txt", "csv"), (".jsonl", "jsonl"), (".ndjson", "jsonl"),
                        (".json", "jsonl"), (".parquet", "parquet"), (".pq", "parquet")):
        if n.endswith(suffix):
            return fmt
    return None


def _text_encoding(head: bytes, fmt: str) -> str:
    """UTF-8 (BOM optional) or, for CSV, GB18030 (the superset of GBK), judged on the first MB."""
    for sig, reason in _SIGNATURES:
        if head.startswith(sig):
            raise FileError(reason)
    if not head.strip(b" \t\r\n\xef\xbb\xbf"):
        raise FileError("文件为空：没有任何订单记录")
    if b"\x00" in head:
        raise FileError("文件含有 NUL 字节，不是文本文件：请检查格式")
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
        return "UTF-8"
    except UnicodeDecodeError:
        pass
    if fmt == "jsonl":
        raise FileError("JSON Lines 文件应为 UTF-8 编码")
    try:
        codecs.getincrementaldecoder("gb18030")().decode(head, final=False)
        return "GB18030"
    except UnicodeDecodeError:
        raise FileError("无法识别文件编码：CSV 应为 UTF-8（可带 BOM）或 GBK/GB18030") from None


def _norm_name(name: str) -> str:
    return name.replace("\ufeff", "").strip().strip('"').strip().lower()


def _csv_header(first_line: str) -> list[str]:
    cells = next(csv.reader([first_line]), [])
    names = [_norm_name(c) for c in cells]
    if not any(names):
        raise FileError("第 1 行应为表头（列名），如 " + ",".join(FIELDS))
    seen: set[str] = set()
    for n in names:
        if n and n in seen:
            raise FileError(f"表头中列 {n} 出现了两次")
        seen.add(n)
    missing = [f for f in REQUIRED if f not in seen]
    if missing:
        raise FileError(f"表头缺少必需的列：{', '.join(missing)}（表头应为英文列名：{','.join(FIELDS)}）")
    return names


def open_source(path: Path, fmt: str) -> _Source:
    """Check that the file can be read as ``fmt`` at all; FileError otherwise (nothing is imported)."""
    if fmt not in FORMATS:
        raise FileError(f"不支持的格式 {fmt}：应为 csv、jsonl 或 parquet")
    if not path.is_file():
        raise FileError(f"文件不存在：{path}")
    if fmt == "parquet":
        import duckdb

        con = duckdb.connect()
        try:
            desc = con.execute(f"DESCRIBE SELECT * FROM read_parquet({_lit(str(path))})").fetchall()
        except duckdb.Error:
            raise FileError("文件不是可读取的 Parquet 文件") from None
        finally:
            con.close()
        types = {}
        for name, typ, *_ in desc:
            n = _norm_name(name)
            if n in FIELDS and n not in types:
                types[n] = (name, str(typ).upper())
        missing = [f for f in REQUIRED if f not in types]
        if missing:
            raise FileError(f"Parquet 文件缺少必需的列：{', '.join(missing)}")
        return _Source("parquet", path, "parquet", types=types)  # type: ignore[arg-type]
    with open(path, "rb") as fh:
        head = fh.read(_SNIFF_BYTES)
    encoding = _text_encoding(head, fmt)
    src = _Source(fmt, path, encoding, transcode=(encoding != "UTF-8"))
    if fmt == "csv":
        codec = "utf-8-sig" if encoding == "UTF-8" else "gb18030"
        first = head.split(b"\n", 1)[0]
        src.header = _csv_header(first.decode(codec, errors="replace").rstrip("\r"))
    return src


def _transcode(src: Path, dst: Path) -> None:
    """GB18030 → UTF-8 in a streaming pass (memory bounded by the chunk size)."""
    dec = codecs.getincrementaldecoder("gb18030")()
    with open(src, "rb") as fin, open(dst, "w", encoding="utf-8", newline="") as fout:
        while chunk := fin.read(_CHUNK):
            try:
                fout.write(dec.decode(chunk))
            except UnicodeDecodeError as e:
                raise FileError(f"文件中第 {fin.tell() - len(chunk) + e.start + 1} 字节附近不是有效的 GBK/GB18030 编码") \
                    from None
        fout.write(dec.decode(b"", final=True))


_BLANK_AFTER = re.compile(rb"\n(?=\r?\n)")  # a newline followed by an empty line


def _blank_lines(path: Path) -> list[int]:
    """1-based numbers of the empty lines of a text file (the readers skip them), in one streaming
    pass of bounded memory."""
    found: list[int] = []
    line = 1          # line number at position 0 of ``buf``
    buf = b""
    with open(path, "rb") as fh:
        start = fh.read(2)
        if start[:1] == b"\n" or start == b"\r\n":
            found.append(1)
        buf = start
        while True:
            data = fh.read(_SCAN_CHUNK)
            buf += data
            limit = len(buf) if not data else len(buf) - 2  # keep 2 bytes for the look-ahead
            pos = 0
            for m in _BLANK_AFTER.finditer(buf, 0, len(buf)):
                if m.start() >= limit:
                    break
                line += buf.count(b"\n", pos, m.start() + 1)
                pos = m.start() + 1
                found.append(line)
            line += buf.count(b"\n", pos, limit)
            buf = buf[limit:]
            if not data:
                break
    return found



# ---- the typed projection ----------------------------------------------------------------------------

_TS_FORMATS = ["%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%dT%H:%M:%S.%f%z", "%Y-%m-%dT%H:%M:%S.%n%z", "%Y-%m-%dT%H:%M%z", "%Y-%m-%d %H:%M:%S%z",
               "%Y-%m-%d %H:%M:%S.%f%z", "%Y-%m-%d %H:%M:%S.%n%z", "%Y-%m-%d %H:%M%z"]


def _ts_from_text(s: str) -> str:
    """ISO 8601 with an offset (±HH:MM, ±HHMM, ±HH or Z); seconds and fractions optional; T or space."""
    z = f"CASE WHEN right({s}, 1) IN ('Z', 'z') THEN left({s}, length({s}) - 1) || '+00:00' ELSE {s} END"
    fmts = "[" + ", ".join(_lit(f) for f in _TS_FORMATS) + "]"
    return f"CAST(COALESCE(try_strptime({s}, '%Y-%m-%dT%H:%M:%S%z'), try_strptime({z}, {fmts})) AS TIMESTAMPTZ)"


def _int_from_text(s: str) -> str:
    """An integer written as a number ("650", also "650.0" or "6.5e2"); "6.5" does not parse (no
    silent rounding)."""
    d = f"TRY_CAST({s} AS DOUBLE)"
    return f"CASE WHEN {d} = trunc({d}) AND abs({d}) < 1e15 THEN CAST({d} AS BIGINT) END"


def _coord_from_text(s: str) -> str:
    """A decimal number (NaN and infinities parse here but fail the range checks)."""
    return f"TRY_CAST({s} AS DOUBLE)"


_INTEGER_TYPES = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "UTINYINT", "USMALLINT", "UINTEGER", "UBIGINT",
                  "HUGEINT", "UHUGEINT")


def _typed_columns(inputs: dict[str, tuple[str | None, str]]) -> tuple[list[str], list[str]]:
    """For each interface field, from (expression, DuckDB type) of the source, the expressions of
    the typed value and — for parsed fields — of the raw text when it does not parse.
    Returns (inner select list, outer select list): the inner query trims text once, the outer
    derives the raw columns."""
    inner: list[str] = []
    outer: list[str] = []
    for f in FIELDS:
        expr, typ = inputs.get(f, (None, "NULL"))
        base = typ.split("(")[0]
        if expr is None:
            inner.append(f"CAST(NULL AS {ledger.COLUMNS.get(f, 'VARCHAR') if f not in INT_FIELDS else 'BIGINT'}) AS {f}")
            outer.append(f)
            if f in PARSED:
                outer.append(f"CAST(NULL AS VARCHAR) AS {f}__raw")
            continue
        text_expr = f"NULLIF(trim(CAST({expr} AS VARCHAR)), '')"
        if f in TEXT_FIELDS:
            v = f"lower({text_expr})" if f == "status" else text_expr
            inner.append(f"{v} AS {f}")
            outer.append(f)
            continue
        if base == "VARCHAR":
            inner.append(f"{text_expr} AS {f}__s")
            s = f"{f}__s"
            conv = {**{t: _ts_from_text for t in TIME_FIELDS}, **{t: _int_from_text for t in INT_FIELDS},
                    **{t: _coord_from_text for t in COORD_FIELDS}}[f](s)
            inner.append(f"{conv} AS {f}")
            outer.append(f)
            outer.append(f"CASE WHEN {s} IS NOT NULL AND {f} IS NULL THEN {s} END AS {f}__raw")
            continue
        # a native Parquet type
        if f in TIME_FIELDS:
            ok = base in ("TIMESTAMP WITH TIME ZONE", "TIMESTAMPTZ", "TIMESTAMPTZ_NS")
            typed = f"CAST({expr} AS TIMESTAMPTZ)" if ok else "CAST(NULL AS TIMESTAMPTZ)"
        elif f in INT_FIELDS:
            if base in _INTEGER_TYPES:
                typed = f"TRY_CAST({expr} AS BIGINT)"
            elif base in ("FLOAT", "DOUBLE", "DECIMAL", "REAL"):
                typed = f"CASE WHEN isfinite(CAST({expr} AS DOUBLE)) AND {expr} = trunc({expr}) AND abs({expr}) < 1e18 " \
                        f"THEN CAST({expr} AS BIGINT) END"
            else:
                typed = "CAST(NULL AS BIGINT)"
        else:
            if base in _INTEGER_TYPES or base in ("FLOAT", "DOUBLE", "DECIMAL", "REAL"):
                typed = f"CASE WHEN isfinite(CAST({expr} AS DOUBLE)) THEN CAST({expr} AS DOUBLE) END"
            else:
                typed = "CAST(NULL AS DOUBLE)"
        # The text of a value is only made for the rows whose value did not convert.
        inner.append(f"{typed} AS {f}")
        inner.append(f"{expr} AS {f}__o")
        outer.append(f)
        outer.append(f"CASE WHEN {f} IS NULL AND {f}__o IS NOT NULL THEN CAST({f}__o AS VARCHAR) END AS {f}__raw")
    return inner, outer


def _typed_select(inputs: dict[str, tuple[str | None, str]], source_sql: str, pre_reason: str = "NULL",
                  row_number: str | None = None) -> str:
    """The typed projection of a source; ``row_number``: an expression of the source giving ``rn``."""
    inner, outer = _typed_columns(inputs)
    rn_in, rn_out = (f"{row_number} AS rn, ", "rn, ") if row_number else ("", "")
    return (f"SELECT {rn_out}pre_reason, {', '.join(outer)} FROM ("
            f"SELECT {rn_in}CAST({pre_reason} AS VARCHAR) AS pre_reason, {', '.join(inner)} FROM {source_sql})")


# ---- the rules -----------------------------------------------------------------------------------------

_TS_HINT = "应为带时区的 ISO 8601 时间，如 2026-08-01T12:30:00+08:00"


@dataclass(frozen=True)
class _Context:
    batch_id: int
    platform_id: int
    platform_code: str
    industry_code: str
    industry_name: str
    coverage_start: dt.date
    coverage_end: dt.date | None
    now_limit: dt.datetime


def _checks(c: _Context) -> list[tuple[str, str]]:
    """(condition that makes a row bad, reason) — in the order reasons are listed."""
    day = "t.day"
    out: list[tuple[str, str]] = [("t.pre_reason IS NOT NULL", "t.pre_reason")]
    for f in FIELDS:
        missing = f"t.{f} IS NULL" + (f" AND t.{f}__raw IS NULL" if f in PARSED else "")
        if f in REQUIRED:
            out.append((missing, _lit(f"{f}：必填")))
        if f in TIME_FIELDS:
            out.append((f"t.{f}__raw IS NOT NULL",
                        f"CASE WHEN TRY_CAST(t.{f}__raw AS TIMESTAMP) IS NOT NULL "
                        f"THEN {_lit(f'{f}：缺少时区偏移（{_TS_HINT}）')} ELSE {_lit(f'{f}：格式错误（{_TS_HINT}）')} END"))
        elif f in INT_FIELDS:
            out.append((f"t.{f}__raw IS NOT NULL", _lit(f"{f}：应为整数")))
        elif f in COORD_FIELDS:
            out.append((f"t.{f}__raw IS NOT NULL", _lit(f"{f}：应为十进制度数（如 108.3669）")))
    out += [
        (f"length(t.order_id) > {MAX_ID_LENGTH}", _lit(f"order_id：超过 {MAX_ID_LENGTH} 个字符")),
        (f"length(t.worker_account_id) > {MAX_ID_LENGTH}", _lit(f"worker_account_id：超过 {MAX_ID_LENGTH} 个字符")),
        (f"t.platform_code <> {_lit(c.platform_code)}",
         _lit(f"platform_code：应为本批的平台编码 {c.platform_code}（实为 ") + " || left(t.platform_code, 32) || '）'"),
        (f"t.industry <> {_lit(c.industry_code)}",
         _lit(f"industry：应为该平台的行业 {c.industry_code}（{c.industry_name}）（实为 ") + " || left(t.industry, 32) || '）'"),
        ("t.status NOT IN (" + ", ".join(_lit(x) for x in STATUSES) + ")", _lit("status：应为 completed 或 cancelled")),
        ("t.county_code IS NOT NULL AND cty.code IS NULL", _lit("county_code：不是广西的县级行政区划代码")),
        (f"cty.code IS NOT NULL AND ({day} < cty.valid_from OR {day} > cty.valid_to)",
         _lit("county_code：该区划代码在订单日期不在有效期内")),
        ("t.worker_account_id IS NOT NULL AND acc.account_id IS NULL",
         _lit("worker_account_id：人员名册中该平台没有此账号（须先报送人员信息）")),
        (f"acc.registered_on IS NOT NULL AND {day} < acc.registered_on",
         "'accepted_at：早于该账号的平台注册日期 ' || CAST(acc.registered_on AS VARCHAR)"),
        (f"acc.status = 'left' AND acc.status_on IS NOT NULL AND {day} > acc.status_on",
         "'worker_account_id：该账号已于 ' || CAST(acc.status_on AS VARCHAR) || ' 退出平台'"),
        ("t.finished_at < t.accepted_at", _lit("finished_at：早于 accepted_at")),
        ("t.picked_up_at < t.accepted_at OR t.picked_up_at > t.finished_at",
         _lit("picked_up_at：应在 accepted_at 与 finished_at 之间")),
        (f"epoch_us(t.finished_at) - epoch_us(t.accepted_at) > {MAX_DURATION_HOURS * 3600 * 1_000_000}",
         _lit(f"finished_at：订单时长超过 {MAX_DURATION_HOURS} 小时")),
        (f"t.accepted_at > {_lit(c.now_limit)}", _lit("accepted_at：晚于当前时间")),
        (f"t.finished_at > {_lit(c.now_limit)}", _lit("finished_at：晚于当前时间")),
        (f"{day} < {_lit(c.coverage_start)}",
         _lit(f"accepted_at：订单日期早于该平台纳入职业伤害保障之日 {c.coverage_start.isoformat()}")),
    ]
    if c.coverage_end is not None:
        out.append((f"{day} > {_lit(c.coverage_end)}",
                    _lit(f"accepted_at：订单日期晚于该行业试点结束之日 {c.coverage_end.isoformat()}")))
    for lng, lat in (("start_lng", "start_lat"), ("end_lng", "end_lat")):
        has_lng = f"(t.{lng} IS NOT NULL OR t.{lng}__raw IS NOT NULL)"
        has_lat = f"(t.{lat} IS NOT NULL OR t.{lat}__raw IS NOT NULL)"
        out.append((f"{has_lng} <> {has_lat}", _lit(f"{lng}/{lat}：经度和纬度应同时填写或同时留空")))
        out.append((f"t.{lng} NOT BETWEEN {LNG_RANGE[0]} AND {LNG_RANGE[1]}",
                    _lit(f"{lng}：超出中国境内的经度范围（{LNG_RANGE[0]:g}–{LNG_RANGE[1]:g}），经纬度是否填反？")))
        out.append((f"t.{lat} NOT BETWEEN {LAT_RANGE[0]} AND {LAT_RANGE[1]}",
                    _lit(f"{lat}：超出中国境内的纬度范围（{LAT_RANGE[0]:g}–{LAT_RANGE[1]:g}），经纬度是否填反？")))
    out += [
        ("t.distance_m < 0", _lit("distance_m：不能为负数")),
        (f"t.distance_m > {MAX_DISTANCE_M}", _lit(f"distance_m：超过 {MAX_DISTANCE_M // 1000} 公里，不合理（单位为米）")),
        ("t.income_fen < 0", _lit("income_fen：不能为负数")),
        (f"t.income_fen > {MAX_INCOME_FEN}", _lit(f"income_fen：超过 {MAX_INCOME_FEN // 100:,} 元，不合理（单位为分）")),
    ]
    return out


CONTENT_COLUMNS = FIELDS  # what "the same order" means: these values, after normalisation


def content_hash_sql(alias: str = "t") -> str:
    """63-bit hash of an order's normalised content (timestamps as instants, numbers as numbers)."""
    return f"CAST(hash({', '.join(f'{alias}.{c}' for c in CONTENT_COLUMNS)}) >> 1 AS BIGINT)"


# The local (Asia/Shanghai) date of an instant, by integer arithmetic instead of a time-zone
# conversion per row: China has kept UTC+8 without daylight saving since 1991.
_LOCAL_DAY = "CAST(DATE '1970-01-01' + CAST((epoch_us({x}) + 28800000000) // 86400000000 AS INTEGER) AS DATE)"


def _validated_view(c: _Context) -> str:
    """View ``v``: every row of ``t`` with its account, local day and month (the first day of the
    month, a DATE), content hash, ``ok`` and — when not ok — the reasons."""
    checks = _checks(c)
    bad = " OR ".join(f"COALESCE({cond}, false)" for cond, _ in checks)
    reasons = ", ".join(f"CASE WHEN COALESCE({cond}, false) THEN {msg} END" for cond, msg in checks)
    # A line that is not a record at all (not a JSON object) gets that one reason, not a list of missing fields.
    return f"""CREATE OR REPLACE VIEW v AS
        SELECT t.*, acc.idx AS acct_idx, acc.person_id, t.day - CAST(dayofmonth(t.day) - 1 AS INTEGER) AS month,
               {content_hash_sql()} AS h,
               NOT ({bad}) AS ok,
               CASE WHEN t.pre_reason LIKE '该行%' THEN t.pre_reason
                    WHEN {bad} THEN concat_ws('；', {reasons}) END AS reason
        FROM (SELECT *, {_LOCAL_DAY.format(x="accepted_at")} AS day FROM t) t
             LEFT JOIN acc ON acc.account_id = t.worker_account_id
             LEFT JOIN cty ON cty.code = t.county_code"""


# ---- the import --------------------------------------------------------------------------------------

@dataclass
class _Plan:
    """What the checks decided, before anything is published."""

    received: int = 0
    rejected: int = 0
    duplicates: int = 0
    accepted: int = 0
    corrections: int = 0
    staged: list[ledger.StagedFile] = field(default_factory=list)
    supersessions: Path | None = None        # CSV: the versions this batch supersedes
    rejects_path: Path | None = None
    months: list[str] = field(default_factory=list)
    worker_days: Path | None = None          # CSV: per-worker-day sums of the accepted rows (added)
    recomputed_days: Path | None = None      # CSV: worker-days rebuilt because a version was superseded


def _resolve_platform(session: Session, actor: Any, platform_code: str) -> Platform:
    from oip.auth.service import Principal

    code = (platform_code or "").strip()
    if not code:
        raise DomainError("请指明平台企业编码（platform_code）", field="platform_code")
    plat = session.scalar(select(Platform).where(Platform.code == code))
    if isinstance(actor, Principal) and actor.role.scope == "platform":
        if plat is None or plat.id != actor.platform_id:
            raise Forbidden(f"只能报送本企业的订单数据，不能报送平台 {code[:32]} 的", field="platform_code")
    if plat is None:
        raise DomainError(f"未知的平台企业编码 {code[:32]}", field="platform_code")
    return plat


def _context(session: Session, plat: Platform, batch_id: int) -> _Context:
    from oip.platforms.service import coverage_start

    industry = session.get(Industry, plat.industry_code)
    start = coverage_start(plat, industry)
    if start is None:
        raise DomainError(f"平台企业 {plat.code} 尚未纳入试点（或未确定纳入日期），不能报送订单数据", field="platform_code")
    return _Context(batch_id=batch_id, platform_id=plat.id, platform_code=plat.code, industry_code=industry.code,
                    industry_name=industry.name, coverage_start=start, coverage_end=industry.covered_to,
                    now_limit=clock.now() + FUTURE_TOLERANCE)


def _driver(session: Session):
    """The psycopg connection under the session's current transaction (for COPY)."""
    return session.connection().connection.driver_connection


def _copy_out(session: Session, sql: str, target: Path) -> None:
    with _driver(session).cursor() as cur, open(target, "wb") as fh:
        with cur.copy(f"COPY ({sql}) TO STDOUT (FORMAT csv)") as cp:
            for data in cp:
                fh.write(data)


def _copy_in(session: Session, table: str, columns: str, source: Path) -> None:
    with _driver(session).cursor() as cur, open(source, "rb") as fh:
        with cur.copy(f"COPY {table} ({columns}) FROM STDIN (FORMAT csv)") as cp:
            while chunk := fh.read(_CHUNK):
                cp.write(chunk)


def recover_interrupted(session: Session) -> list[int]:
    """Mark batches left in ``staging`` by a process that died as failed, remove their leftover
    files and sweep the ledger of unlisted files. Batches still being imported are untouched
    (their process holds the batch's advisory lock). Commits."""
    dead: list[int] = []
    for bid in session.scalars(select(OrderBatch.id).where(OrderBatch.status == "staging")).all():
        if session.scalar(text("SELECT pg_try_advisory_lock(:k, :b)"), {"k": _ALIVE_LOCK, "b": bid}):
            try:
                b = session.scalar(select(OrderBatch).where(OrderBatch.id == bid).with_for_update(of=OrderBatch))
                if b is not None and b.status == "staging":
                    b.status = "failed"
                    b.error = "导入进程中断（未发布任何数据）"
                    audit.record(session, audit.SystemActor(label="orders.recover"), "orders.recover",
                                 entity_type="order_batch", entity_id=bid, after={"status": "failed"})
                    dead.append(bid)
                session.commit()
            except BaseException:
                session.rollback()
                raise
            finally:
                session.execute(text("SELECT pg_advisory_unlock(:k, :b)"), {"k": _ALIVE_LOCK, "b": bid})
                session.commit()
    for bid in dead:
        _remove_leftovers(bid)
    if dead:
        ledger.sweep(session)
        session.commit()
    return dead


def _workdir(batch_id: int) -> Path:
    return get_settings().var_dir / "ingest" / f"batch-{batch_id}"


def _staging_dir() -> Path:
    return ledger.root() / "staging"


def _remove_leftovers(batch_id: int) -> None:
    """Files of a batch that was never published: its work directory, staged files, and files that
    were already moved into the ledger when the publishing transaction failed (unlisted: invisible)."""
    shutil.rmtree(_workdir(batch_id), ignore_errors=True)
    staging = _staging_dir()
    if staging.exists():
        for p in staging.glob(f"b{batch_id:09d}-*.parquet"):
            p.unlink(missing_ok=True)
    orders = ledger.root() / "orders"
    if orders.exists():
        for p in orders.glob(f"*/*/b{batch_id:09d}-*.parquet"):
            p.unlink(missing_ok=True)


def rejects_file(batch_id: int) -> Path:
    return get_settings().var_dir / "rejects" / f"batch-{batch_id}.csv"


def import_file(path: Path | str, platform_code: str, *, fmt: str | None = None, actor: Any = audit.SYSTEM,
                source: str = "cli", filename: str | None = None, progress: Progress | None = None,
                _fail_after: str | None = None) -> ImportResult:
    """Import one order file of ``platform_code``. Returns the batch's counts.

    Raises FileError (nothing imported, no batch) when the file cannot be read at all, DomainError
    when the platform cannot report orders. Any failure after the batch was created marks it
    ``failed`` with the error and leaves nothing of it in the ledger.

    ``actor``: a Principal (scope: a platform only for itself) or an audit SystemActor (CLI, demo).
    ``_fail_after``: tests only — raise after the named step to simulate a crash."""
    t0 = time.monotonic()
    path = Path(path)
    fmt = (fmt or guess_format(filename or path.name) or "csv").lower()
    report = progress or (lambda stage, done: None)
    engine = get_engine()
    with Session(engine) as s:
        plat = _resolve_platform(s, actor, platform_code)
        _context(s, plat, 0)  # refuse early a platform that cannot report orders
        plat_id = plat.id
    src = open_source(path, fmt)

    conn = engine.connect()
    session = Session(bind=conn, expire_on_commit=False)
    batch_id: int | None = None
    locked = False
    try:
        recover_interrupted(session)
        batch = OrderBatch(platform_id=plat_id, source=source, filename=(filename or path.name)[:256], fmt=fmt,
                           status="staging", started_at=clock.now(),
                           submitted_by=getattr(actor, "user_id", None))
        session.add(batch)
        session.flush()
        batch_id = batch.id
        session.execute(text("SELECT pg_advisory_lock(:k, :b)"), {"k": _ALIVE_LOCK, "b": batch_id})
        locked = True
        session.commit()
        try:
            result = _run(session, batch_id, src, actor, report, t0, _fail_after)
        except BaseException as e:
            session.rollback()
            reason = e.reason if isinstance(e, DomainError) else f"{type(e).__name__}: {e}"[:2000]
            b = session.get(OrderBatch, batch_id)
            b.status, b.error = "failed", reason
            b.seconds = time.monotonic() - t0
            audit.record(session, actor, "orders.import_failed", entity_type="order_batch", entity_id=batch_id,
                         after={"platform": platform_code, "error": reason[:500]})
            session.commit()
            _remove_leftovers(batch_id)
            rejects_file(batch_id).unlink(missing_ok=True)
            raise
        return result
    finally:
        if locked:
            try:
                session.execute(text("SELECT pg_advisory_unlock(:k, :b)"), {"k": _ALIVE_LOCK, "b": batch_id})
                session.commit()
            except Exception:  # the connection is gone: the lock went with it
                pass
        session.close()
        conn.close()
        if batch_id is not None:
            shutil.rmtree(_workdir(batch_id), ignore_errors=True)


def _run(session: Session, batch_id: int, src: _Source, actor: Any, report: Progress, t0: float,
         fail_after: str | None) -> ImportResult:
    last = [time.monotonic()]

    def step(name: str) -> None:
        now = time.monotonic()
        log.info("batch %s: %s done in %.2f s", batch_id, name, now - last[0])
        last[0] = now
        if fail_after == name:
            raise RuntimeError(f"simulated failure after {name}")

    batch = session.get(OrderBatch, batch_id)
    plat = session.get(Platform, batch.platform_id)
    session.execute(text("SELECT pg_advisory_xact_lock(:k, :p)"), {"k": _PLATFORM_LOCK, "p": plat.id})
    ctx = _context(session, plat, batch_id)
    work = _workdir(batch_id)
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    report("读取文件", 0.0)
    con = ledger.connect(str(work / "ingest.duckdb"))
    try:
        con.execute("SET preserve_insertion_order = true")
        _load_reference(session, con, ctx, work)
        step("reference")
        plan = _check(session, con, ctx, src, work, report, step)
        step("staged")
        report("发布", 0.95)
        ledger.publish(session, batch, plan.staged)
        if plan.supersessions is not None:  # under the ledger lock publish took, in the same transaction
            _copy_in(session, "order_supersessions", "platform_code, order_id, version, month, by_batch_id",
                     plan.supersessions)
        step("published")
        batch.received, batch.accepted, batch.rejected = plan.received, plan.accepted, plan.rejected
        batch.duplicates, batch.corrections = plan.duplicates, plan.corrections
        batch.rejects_path = str(plan.rejects_path) if plan.rejects_path else None
        batch.published_at = clock.now()
        batch.seconds = time.monotonic() - t0
        batch.error = None
        audit.record(session, actor, "orders.import", entity_type="order_batch", entity_id=batch_id, after={
            "platform": ctx.platform_code, "filename": batch.filename, "format": batch.fmt, "source": batch.source,
            "received": plan.received, "accepted": plan.accepted, "rejected": plan.rejected,
            "duplicates": plan.duplicates, "corrections": plan.corrections, "months": plan.months,
            "files": [f"{f.month}:{f.rows}" for f in plan.staged]})
        step("before_commit")
        session.commit()
    finally:
        con.close()
    report("完成", 1.0)
    return ImportResult(batch_id=batch_id, received=plan.received, accepted=plan.accepted, rejected=plan.rejected,
                        duplicates=plan.duplicates, corrections=plan.corrections,
                        rejects_path=str(plan.rejects_path.resolve()) if plan.rejects_path else None,
                        seconds=time.monotonic() - t0, months=plan.months)


def _load_reference(session: Session, con, ctx: _Context, work: Path) -> None:
    """The platform's accounts (sorted: ``idx`` follows the binary order of account_id) and the counties."""
    accounts = work / "accounts.csv"
    _copy_out(session, "SELECT account_id, person_id, registered_on, status, status_on FROM platform_accounts "
                       f"WHERE platform_id = {int(ctx.platform_id)}", accounts)
    con.execute(f"""CREATE TABLE acc AS
        SELECT CAST(row_number() OVER (ORDER BY account_id) AS INTEGER) AS idx, * FROM read_csv({_lit(str(accounts))},
            columns={{'account_id': 'VARCHAR', 'person_id': 'BIGINT', 'registered_on': 'DATE', 'status': 'VARCHAR',
                      'status_on': 'DATE'}}, header=false, auto_detect=false, delim=',', quote='"', escape='"')""")
    rows = session.execute(select(Region.code, Region.valid_from, Region.valid_to).where(Region.level == "county")).all()
    con.execute("CREATE TABLE cty (code VARCHAR, valid_from DATE, valid_to DATE)")
    con.executemany("INSERT INTO cty VALUES (?, ?, COALESCE(?, DATE '9999-12-31'))",
                    [(c, f, t) for c, f, t in rows if c.startswith("45")])


def _stage_text(con, src: _Source, work: Path) -> str:
    """CSV / JSON Lines → typed staging Parquet in file order (returned); the lines that could not
    be read at all go to the table ``structural`` (row = line, reason, raw line)."""
    path = src.path
    if src.transcode:
        path = work / "utf8.csv"
        _transcode(src.path, path)
    stage = work / "stage.parquet"
    reader_opts = ("header=false, auto_detect=false, ignore_errors=true, store_rejects=true, "
                   "rejects_table='reject_lines', rejects_scan='reject_scan', max_line_size=4194304")
    if src.fmt == "csv":
        names = [n or f"__unnamed_{i}" for i, n in enumerate(src.header)]
        spec = "{" + ", ".join(f"{_lit(n)}: 'VARCHAR'" for n in names) + "}"
        reader = (f"read_csv({_lit(str(path))}, columns={spec}, skip=1, delim=',', quote='\"', escape='\"', "
                  f"{reader_opts})")
        inputs = {f: (_ident(f), "VARCHAR") for f in FIELDS if f in src.header}
        sql = _typed_select(inputs, reader)
    else:
        reader = (f"read_csv({_lit(str(path))}, columns={{'j': 'VARCHAR'}}, delim={_lit(chr(1))}, quote='', escape='', "
                  f"{reader_opts})")
        paths = "[" + ", ".join(_lit(f"$.{f}") for f in FIELDS) + "]"
        obj = "(json_valid(j) AND json_type(j) = 'OBJECT')"
        inner = f"(SELECT j, CASE WHEN {obj} THEN json_extract(j, {paths}) END AS e FROM {reader})"
        inputs = {}
        kinds = []
        for i, f in enumerate(FIELDS, start=1):
            val = f"e[{i}]"
            inputs[f] = (f"CASE WHEN json_type({val}) = 'VARCHAR' THEN {val} ->> '$' "
                         f"WHEN json_type({val}) IN ('BIGINT', 'UBIGINT', 'DOUBLE') THEN CAST({val} AS VARCHAR) "
                         f"WHEN json_type({val}) IS NULL OR json_type({val}) = 'NULL' THEN NULL "
                         f"ELSE CAST({val} AS VARCHAR) END", "VARCHAR")
            kinds.append(f"CASE WHEN json_type({val}) IN ('OBJECT', 'ARRAY', 'BOOLEAN') "
                         f"THEN {_lit(f + '：应为字符串或数字')} END")
        pre = (f"CASE WHEN j IS NULL OR trim(j) = '' THEN '{_BLANK}' WHEN e IS NULL THEN '该行不是合法的 JSON 对象' "
               f"ELSE NULLIF(concat_ws('；', {', '.join(kinds)}), '') END")
        sql = _typed_select(inputs, inner, pre_reason=pre)
    con.execute(f"COPY ({sql}) TO {_lit(str(stage))} (FORMAT parquet, COMPRESSION snappy, ROW_GROUP_SIZE 122880)")
    # Lines the reader could not split, one row each (a line may have several errors), kept in DuckDB.
    names = {"MISSING COLUMNS": "列数少于表头", "TOO MANY COLUMNS": "列数多于表头（字段中含逗号时须用英文双引号括起）",
             "UNQUOTED VALUE": "引号使用不正确", "LINE SIZE OVER MAXIMUM": "该行过长",
             "INVALID ENCODING": "含有无法识别的字符（编码错误）", "INVALID UNICODE": "含有无法识别的字符（编码错误）"}
    kind = "CSV" if src.fmt == "csv" else "JSON Lines"
    what = "CASE error_type " + " ".join(f"WHEN {_lit(k)} THEN {_lit(v)}" for k, v in names.items()) \
        + " ELSE error_type END"
    con.execute(f"""INSERT INTO structural
        SELECT line, {_lit(f'该行无法按 {kind} 解析：')} || string_agg(DISTINCT {what}, '、'),
               left(ltrim(any_value(csv_line), chr(13) || chr(10)), 2000)
        FROM reject_lines GROUP BY line""")
    return str(stage)


class _Rows:
    """Row numbers as the report shows them. A record's position ``rn`` in what the reader produced
    becomes its line (CSV, JSON Lines) by adding the offset and the number of lines before it that
    produced no record: empty lines (found by scanning the file, only when a row number is needed)
    and lines the reader rejected. Parquet: the record number."""

    def __init__(self, con, src: _Source, work: Path):
        self.con, self.src, self.work = con, src, work
        self.offset = {"csv": 2, "jsonl": 1}.get(src.fmt, 1)
        self._ready = src.fmt == "parquet"
        self.has_gaps = False

    def _ensure(self) -> None:
        if self._ready:
            return
        self._ready = True
        self.con.execute("CREATE TABLE gap_lines AS SELECT row AS line FROM structural")
        if self.src.fmt == "csv":  # the CSV reader skips empty lines; the JSON Lines reader keeps them as rows
            text_file = self.work / "utf8.csv" if self.src.transcode else self.src.path
            blank = [(ln,) for ln in _blank_lines(text_file) if ln >= self.offset]
            if blank:
                self.con.executemany("INSERT INTO gap_lines VALUES (?)", blank)
        if not _scalar(self.con, "SELECT count(*) FROM gap_lines"):
            return
        # For the k-th gap line (k from 1): the rows before it are line - offset - (k - 1); a row at
        # position rn has as many gaps before it as the largest k whose key is ≤ rn.
        self.con.execute(f"""CREATE TABLE gaps AS
            SELECT key, max(k) AS cnt FROM (
                SELECT line - {self.offset} - (row_number() OVER (ORDER BY line) - 1) AS key,
                       row_number() OVER (ORDER BY line) AS k
                FROM (SELECT DISTINCT line FROM gap_lines)) GROUP BY key""")
        self.has_gaps = True

    def expr(self, alias: str) -> str:
        self._ensure()
        if self.has_gaps:
            return f"({alias}.rn + {self.offset} + COALESCE(gp.cnt, 0))"
        return f"({alias}.rn + {self.offset})"

    def join(self, alias: str) -> str:
        self._ensure()
        return f" ASOF LEFT JOIN gaps gp ON {alias}.rn >= gp.key" if self.has_gaps else ""


def _check(session: Session, con, ctx: _Context, src: _Source, work: Path, report: Progress, step) -> _Plan:
    plan = _Plan()
    con.execute("CREATE TABLE structural (row BIGINT, reason VARCHAR, raw VARCHAR)")
    if src.fmt == "parquet":
        inputs = {f: (_ident(name), typ) for f, (name, typ) in src.types.items()}
        source = f"read_parquet({_lit(str(src.path))}, file_row_number=true)"
        con.execute(f"CREATE VIEW t AS {_typed_select(inputs, source, row_number='file_row_number')}")
    else:
        stage = _stage_text(con, src, work)
        # An empty JSON Lines line is read as a row (its position keeps the line numbers) but is no record.
        con.execute(f"CREATE VIEW t AS SELECT file_row_number AS rn, * EXCLUDE (file_row_number) "
                    f"FROM read_parquet({_lit(stage)}, file_row_number=true) WHERE pre_reason IS DISTINCT FROM '{_BLANK}'")
    rows_of = _Rows(con, src, work)
    step("read")
    text_fmt = src.fmt != "parquet"
    report("校验", 0.35 if text_fmt else 0.05)
    plan.received = _scalar(con, "SELECT count(*) FROM t") + _scalar(con, "SELECT count(*) FROM structural")
    con.execute(_validated_view(ctx))

    # 1. order_ids that occur more than once in the batch (by hash first, then the exact strings).
    con.execute("""CREATE TABLE dup_keys AS SELECT hash(order_id) AS hk FROM t WHERE order_id IS NOT NULL
                   GROUP BY 1 HAVING count(*) > 1""")
    con.execute("CREATE TABLE conflict (rn BIGINT, reason VARCHAR)")
    con.execute("CREATE TABLE excluded (rn BIGINT)")  # valid rows that are not written: repeats and conflicts
    in_batch_dups = 0
    if _scalar(con, "SELECT count(*) FROM dup_keys"):
        raw_cols = ", ".join(f"v.{f}__raw" for f in PARSED)
        con.execute(f"""CREATE TABLE dg AS
            SELECT v.rn, v.order_id, v.reason IS NULL AS valid,
                   CASE WHEN v.reason IS NULL THEN v.h
                        ELSE CAST(hash(v.h, v.pre_reason, {raw_cols}) >> 1 AS BIGINT) END AS k
            FROM v WHERE hash(v.order_id) IN (SELECT hk FROM dup_keys)""")
        con.execute(f"""CREATE TABLE dgs AS
            SELECT order_id, count(DISTINCT k) AS nk, min(rn) AS first_rn,
                   array_to_string(list(CAST(row AS VARCHAR) ORDER BY rn)[1:20], '、')
                       || CASE WHEN count(*) > 20 THEN ' 等 ' || count(*) || ' ' ELSE '' END AS rows
            FROM (SELECT dg.*, {rows_of.expr('dg')} AS row FROM dg{rows_of.join('dg')})
            GROUP BY order_id HAVING count(*) > 1""")
        con.execute("""INSERT INTO conflict
            SELECT dg.rn, 'order_id：同一订单号在本批中出现多次且内容不一致（第 ' || dgs.rows || ' 行）'
            FROM dg JOIN dgs USING (order_id) WHERE dgs.nk > 1""")
        con.execute("""INSERT INTO excluded
            SELECT dg.rn FROM dg JOIN dgs USING (order_id)
            WHERE dg.valid AND (dgs.nk > 1 OR dg.rn <> dgs.first_rn)""")
        in_batch_dups = _scalar(con, """SELECT count(*) FROM dg JOIN dgs USING (order_id)
                                        WHERE dg.valid AND dgs.nk = 1 AND dg.rn <> dgs.first_rn""")
    step("duplicates")

    # 2. One pass over every row: its month and its reason (NULL: valid).
    con.execute("CREATE TABLE verdict AS SELECT rn, month, reason FROM v")
    month_rows = con.execute("""SELECT month, count(*) FROM verdict
        WHERE reason IS NULL AND rn NOT IN (SELECT rn FROM excluded) GROUP BY month ORDER BY month""").fetchall()
    months = [m.strftime("%Y-%m") for m, _ in month_rows]
    valid_new = sum(n for _, n in month_rows)
    step("verdict")
    report("校验", 0.5 if text_fmt else 0.3)

    # 3. What the ledger already holds for the batch's months ±1: duplicates and corrections.
    near: set[str] = set()
    for m in months:
        y, mo = int(m[:4]), int(m[5:7])
        for d in (-1, 0, 1):
            yy, mm = divmod(y * 12 + mo - 1 + d, 12)
            near.add(f"{yy:04d}-{mm + 1:02d}")
    stored = ledger.files(session, ledger.Slice(months=tuple(sorted(near)), platforms=(ctx.platform_code,))) \
        if near else []
    con.execute("CREATE TABLE stored_dup (rn BIGINT)")
    con.execute("CREATE TABLE corr (rn BIGINT, order_id VARCHAR, version INTEGER, old_version INTEGER, "
                "old_month VARCHAR, account_id VARCHAR, day DATE, county_code VARCHAR)")
    if stored:
        # The current version of each stored order: the rows of the files less the superseded
        # versions (the per-platform import lock guarantees one current row per order_id; should
        # that ever fail, stored duplicates are counted twice and the reconciliation below stops
        # the import).
        has_sup = _load_superseded(session, con, ctx, sorted(near), work)
        not_superseded = ("AND NOT EXISTS (SELECT 1 FROM sup0 WHERE sup0.order_id = s.order_id "
                          "AND sup0.version = s.version)") if has_sup else ""
        con.execute(f"""CREATE TABLE sm AS
            SELECT v.rn, v.order_id, v.h, v.month, st.ver, st.sh, st.sm FROM v JOIN (
                SELECT s.order_id, s.version AS ver, s.content_hash AS sh, s.month AS sm
                FROM read_parquet({_paths(stored)}) s WHERE true {not_superseded}) st USING (order_id)
            WHERE v.ok AND v.rn NOT IN (SELECT rn FROM excluded)""")
        con.execute("INSERT INTO stored_dup SELECT rn FROM sm WHERE h = sh")
        if _scalar(con, "SELECT count(*) FROM sm WHERE h <> sh"):
            # Different hash: compare the values themselves (the hash only accelerates), so that equal
            # content is a duplicate even if the hash function ever changed.
            same = " AND ".join(f"n.{c} IS NOT DISTINCT FROM o.{c}" for c in CONTENT_COLUMNS)
            con.execute(f"""CREATE TABLE old AS
                SELECT o.* FROM read_parquet({_paths(stored)}) o
                JOIN (SELECT order_id, ver FROM sm WHERE h <> sh) c ON c.order_id = o.order_id AND c.ver = o.version""")
            con.execute(f"""CREATE TABLE cmp AS
                SELECT n.rn, n.order_id, ({same}) AS same, o.version, o.month, o.worker_account_id, o.day, o.county_code
                FROM (SELECT v.* FROM v WHERE v.rn IN (SELECT rn FROM sm WHERE h <> sh)) n
                JOIN old o ON o.order_id = n.order_id""")
            con.execute("INSERT INTO stored_dup SELECT rn FROM cmp WHERE same")
            con.execute("""INSERT INTO corr SELECT rn, order_id, version + 1, version, month, worker_account_id, day,
                                  county_code FROM cmp WHERE NOT same""")
        con.execute("INSERT INTO excluded SELECT rn FROM stored_dup")
    step("stored")
    plan.corrections = _scalar(con, "SELECT count(*) FROM corr")
    if plan.corrections:
        # The superseded versions, for PostgreSQL (COPY: a correction may cover a whole month).
        plan.supersessions = work / "supersessions.csv"
        con.execute(f"""COPY (SELECT {_lit(ctx.platform_code)}, order_id, old_version, old_month, {int(ctx.batch_id)}
            FROM corr ORDER BY order_id) TO {_lit(str(plan.supersessions))} (FORMAT csv, HEADER false)""")
    stored_dups = _scalar(con, "SELECT count(*) FROM stored_dup")
    plan.duplicates = in_batch_dups + stored_dups
    dups_by_month = {m.strftime("%Y-%m"): n for m, n in con.execute(
        "SELECT sm.month, count(*) FROM stored_dup JOIN sm USING (rn) GROUP BY 1").fetchall()} if stored else {}
    to_write = {m.strftime("%Y-%m"): n for m, n in month_rows}
    months = [m for m in months if to_write[m] - dups_by_month.get(m, 0) > 0]

    # 4. The rejects file: row, reason and the fields of every rejected record, in file order.
    report("写入拒绝清单", 0.55 if text_fmt else 0.35)
    con.execute("""CREATE TABLE rej AS
        SELECT rn, concat_ws('；', verdict.reason, c.reason) AS reason
        FROM verdict LEFT JOIN conflict c USING (rn) WHERE verdict.reason IS NOT NULL OR c.rn IS NOT NULL""")
    plan.rejected = _write_rejects(con, ctx, work, rows_of)
    if plan.rejected:
        plan.rejects_path = rejects_file(ctx.batch_id)
    step("rejects")

    # 5. The accepted rows, one Parquet file per month sorted by account and acceptance time, are
    #    written by DuckDB in a second thread while this one adds their per-worker-day summaries in
    #    PostgreSQL (in the import's transaction: invisible until it commits).
    staging = _staging_dir()
    staging.mkdir(parents=True, exist_ok=True)
    if months:
        plan.worker_days = work / "worker_days.csv"
        con.execute(f"""COPY (SELECT {int(ctx.platform_id)}, worker_account_id, day, county_code, any_value(person_id),
                count(*), count(*) FILTER (WHERE status = 'completed'), min(accepted_at), max(finished_at)
            FROM v WHERE v.ok AND v.rn NOT IN (SELECT rn FROM excluded)
            GROUP BY worker_account_id, day, county_code ORDER BY worker_account_id, day, county_code)
            TO {_lit(str(plan.worker_days))} (FORMAT csv, HEADER false)""")
    report("写入账本文件", 0.6 if text_fmt else 0.4)
    written: list[tuple[str, Path, int]] = []
    failure: list[BaseException] = []

    def write_files() -> None:
        cur = con.cursor()
        try:
            for n, m in enumerate(months):
                target = staging / f"b{ctx.batch_id:09d}-{n:03d}.parquet"
                month_filter = f"AND v.month = DATE '{m}-01'" if len(months) > 1 else ""
                cols = ", ".join(_ledger_expr(c, ctx, m) for c in ledger.COLUMNS)
                rows = cur.execute(f"""COPY (SELECT {cols} FROM v LEFT JOIN corr USING (rn)
                    WHERE v.ok {month_filter} AND v.rn NOT IN (SELECT rn FROM excluded)
                    ORDER BY v.acct_idx, v.accepted_at)
                    TO {_lit(str(target))} (FORMAT parquet, COMPRESSION snappy,
                                            ROW_GROUP_SIZE {ledger.ROW_GROUP_SIZE})""").fetchone()[0]
                written.append((m, target, int(rows or 0)))
        except BaseException as e:  # noqa: BLE001 - re-raised in the importing thread
            failure.append(e)
        finally:
            cur.close()

    writer = threading.Thread(target=write_files, name=f"ingest-b{ctx.batch_id}-write", daemon=True)
    writer.start()
    try:
        if plan.worker_days is not None:
            _add_worker_days(session, plan.worker_days)
        step("worker_days")
    finally:
        writer.join()
    if failure:
        raise failure[0]
    for m, target, rows in written:
        if not rows:
            target.unlink(missing_ok=True)
            continue
        lo, hi = con.execute(f"SELECT min(accepted_at), max(accepted_at) FROM read_parquet({_lit(str(target))})").fetchone()
        plan.staged.append(ledger.StagedFile(path=target, month=m, platform_code=ctx.platform_code, rows=rows,
                                             min_accepted_at=lo, max_accepted_at=hi))
        plan.accepted += rows
    plan.months = [f.month for f in plan.staged]
    step("written")
    if plan.accepted != valid_new - stored_dups or plan.received != plan.accepted + plan.rejected + plan.duplicates:
        raise RuntimeError(f"counts do not reconcile: received {plan.received}, accepted {plan.accepted} "
                           f"(expected {valid_new - stored_dups}), rejected {plan.rejected}, "
                           f"duplicates {plan.duplicates}")

    # 6. The worker-days that held a version now superseded are summed again from the current rows.
    report("汇总", 0.93)
    if plan.corrections:
        _rebuild_days(session, con, ctx, plan, stored, work)
        _fix_worker_days(session, plan.recomputed_days)
    return plan


def _ledger_expr(column: str, ctx: _Context, month: str) -> str:
    typ = ledger.COLUMNS[column]
    expr = {"person_id": "v.person_id", "content_hash": "v.h", "version": "COALESCE(corr.version, 1)",
            "batch_id": str(int(ctx.batch_id)), "month": _lit(month), "day": "v.day"}.get(column, f"v.{column}")
    return f"CAST({expr} AS {typ}) AS {column}"


def _display(f: str) -> str:
    """A field of a rejected record as written in the rejects file: the raw text when it did not
    parse, else the value (timestamps in +08:00), spreadsheet formulas neutralised."""
    if f in TIME_FIELDS:
        fmt_s = f"strftime(r.{f}, '%Y-%m-%dT%H:%M:%S+08:00')"
        fmt_f = f"strftime(r.{f}, '%Y-%m-%dT%H:%M:%S.%f+08:00')"
        val = (f"COALESCE(r.{f}__raw, CASE WHEN r.{f} IS NULL THEN NULL WHEN epoch_us(r.{f}) % 1000000 = 0 "
               f"THEN {fmt_s} ELSE {fmt_f} END)")
    elif f in PARSED:
        val = f"COALESCE(r.{f}__raw, CAST(r.{f} AS VARCHAR))"
    else:
        val = f"r.{f}"
    return f"CASE WHEN left({val}, 1) IN ('=', '+', '-', '@') THEN '''' || {val} ELSE {val} END AS {f}"


def _write_rejects(con, ctx: _Context, work: Path, rows_of: _Rows) -> int:
    if not _scalar(con, "SELECT (SELECT count(*) FROM rej) + (SELECT count(*) FROM structural)"):
        return 0
    body = work / "rejects-body.csv"
    fields = ", ".join(_display(f) for f in FIELDS)
    nulls = ", ".join(f"NULL AS {f}" for f in FIELDS)
    count = _scalar(con, f"""COPY (
        SELECT * FROM (
            SELECT {rows_of.expr('r')} AS row, r.reason, {fields}, NULL AS raw
            FROM (SELECT rej.reason AS reason, t.* EXCLUDE (pre_reason) FROM rej JOIN t USING (rn)) r{rows_of.join('r')}
            UNION ALL
            SELECT row, reason, {nulls}, CASE WHEN left(raw, 1) IN ('=', '+', '-', '@') THEN '''' || raw ELSE raw END
            FROM structural)
        ORDER BY row) TO {_lit(str(body))} (FORMAT csv, HEADER false)""")
    target = rejects_file(ctx.batch_id)
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(target, "wb") as out, open(body, "rb") as fin:
        out.write("\ufeff".encode())
        header = io.StringIO()
        csv.writer(header, lineterminator="\n").writerow(["row", "reason", *FIELDS, "raw"])
        out.write(header.getvalue().encode())
        shutil.copyfileobj(fin, out, _CHUNK)
    return int(count or 0)


def _load_superseded(session: Session, con, ctx: _Context, months: list[str], work: Path) -> bool:
    """Table ``sup0``: the versions of the platform's orders in ``months`` already superseded
    (through a file: there may be millions). Returns whether there are any."""
    path = work / "superseded.csv"
    _copy_out(session, "SELECT order_id, version FROM order_supersessions WHERE platform_code = "
                       f"{_lit(ctx.platform_code)} AND month IN ({', '.join(_lit(m) for m in months)})", path)
    con.execute("CREATE TABLE sup0 (order_id VARCHAR, version INTEGER)")
    if path.stat().st_size:
        con.execute(f"""INSERT INTO sup0 SELECT * FROM read_csv({_lit(str(path))}, header=false, auto_detect=false,
            columns={{'order_id': 'VARCHAR', 'version': 'INTEGER'}}, delim=',', quote='"', escape='"')""")
    return bool(path.stat().st_size)


def _rebuild_days(session: Session, con, ctx: _Context, plan: _Plan, stored: list[Path], work: Path) -> None:
    """The worker-days that held a now superseded version: summed again from the current rows."""
    con.execute("CREATE TABLE sup AS SELECT order_id, version FROM sup0 UNION ALL SELECT order_id, old_version FROM corr")
    con.execute("CREATE TABLE aff AS SELECT DISTINCT account_id, day, county_code FROM corr")
    sources = [str(p) for p in stored] + [str(f.path) for f in plan.staged]
    plan.recomputed_days = work / "recomputed_days.csv"
    con.execute(f"""COPY (SELECT {int(ctx.platform_id)}, a.account_id, a.day, a.county_code, any_value(o.person_id),
            count(o.order_id), count(o.order_id) FILTER (WHERE o.status = 'completed'),
            min(o.accepted_at), max(o.finished_at)
        FROM aff a LEFT JOIN (
            SELECT o.* FROM read_parquet({_paths(sources)}) o
            WHERE o.worker_account_id IN (SELECT account_id FROM aff)
              AND NOT EXISTS (SELECT 1 FROM sup s WHERE s.order_id = o.order_id AND s.version = o.version)) o
          ON o.worker_account_id = a.account_id AND o.day = a.day AND o.county_code = a.county_code
        GROUP BY a.account_id, a.day, a.county_code) TO {_lit(str(plan.recomputed_days))} (FORMAT csv, HEADER false)""")


_WD_COLUMNS = "platform_id, account_id, day, county_code, person_id, orders, completed, first_accepted_at, last_finished_at"
_WD_TEMP = """CREATE TEMP TABLE IF NOT EXISTS {name} (platform_id bigint, account_id varchar(64), day date,
    county_code varchar(6), person_id bigint, orders integer, completed integer, first_accepted_at timestamptz,
    last_finished_at timestamptz) ON COMMIT DROP"""


def _add_worker_days(session: Session, path: Path) -> None:
    """Add the batch's rows (per worker, day and county) to the summaries."""
    session.execute(text(_WD_TEMP.format(name="wd_in")))
    _copy_in(session, "wd_in", _WD_COLUMNS, path)
    session.execute(text(f"""INSERT INTO worker_days ({_WD_COLUMNS}) SELECT {_WD_COLUMNS} FROM wd_in
        ON CONFLICT (platform_id, account_id, day, county_code) DO UPDATE SET
            orders = worker_days.orders + EXCLUDED.orders, completed = worker_days.completed + EXCLUDED.completed,
            person_id = EXCLUDED.person_id,
            first_accepted_at = LEAST(worker_days.first_accepted_at, EXCLUDED.first_accepted_at),
            last_finished_at = GREATEST(worker_days.last_finished_at, EXCLUDED.last_finished_at)"""))


def _fix_worker_days(session: Session, path: Path) -> None:
    """Replace the summaries of the worker-days that held a superseded version with their sums over
    the current rows (which include the batch's own rows of those days); empty days disappear."""
    session.execute(text(_WD_TEMP.format(name="wd_fix")))
    _copy_in(session, "wd_fix", _WD_COLUMNS, path)
    session.execute(text("""DELETE FROM worker_days w USING wd_fix f WHERE w.platform_id = f.platform_id
                            AND w.account_id = f.account_id AND w.day = f.day AND w.county_code = f.county_code"""))
    session.execute(text(f"INSERT INTO worker_days ({_WD_COLUMNS}) SELECT {_WD_COLUMNS} FROM wd_fix WHERE orders > 0"))
