"""CSV in and out for the register of workers: reading a platform's upload, the blank template,
and the report of rejected records.

An upload is a CSV file whose first non-empty line is a header naming the columns, in English
(``platform_account_id,name,id_number,phone,county_code,registered_on``) or in Chinese
(``平台账号,姓名,身份证号码,手机号码,接单地区划代码,注册日期``); the order is free and other columns are
ignored. UTF-8 (with or without BOM) and GBK/GB18030 — what Chinese Excel writes — are accepted.
Row numbers are the file's line numbers (the header is line 1), as a spreadsheet shows them.

Uploads are read in chunks against ``upload_max_bytes``: neither the request body nor the file is
ever read past the limit.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from dataclasses import dataclass, field

from fastapi import Request
from sqlalchemy.orm import Session
from starlette.datastructures import UploadFile

from oip.auth.service import Principal
from oip.core.config import get_settings
from oip.core.csvsafe import csv_error_reason, safe_cell
from oip.core.errors import DomainError, TooLarge
from oip.workers import rules, service
from oip.workers.rules import FIELD_NAMES, FIELDS

ENCODINGS_ACCEPTED = "UTF-8（可带 BOM）或 GBK/GB18030"
CHUNK = 64 * 1024
ENVELOPE = 64 * 1024  # multipart boundaries, part headers and the small form fields around the file

# Header names accepted for each field (compared after removing spaces and case).
HEADER_ALIASES: dict[str, tuple[str, ...]] = {
    "platform_account_id": ("platform_account_id", "平台账号", "平台账号id", "平台账户", "账号"),
    "name": ("name", "姓名"),
    "id_number": ("id_number", "身份证号码", "身份证号", "公民身份号码", "证件号码"),
    "phone": ("phone", "手机号码", "手机号", "联系电话"),
    "county_code": ("county_code", "接单地区划代码", "接单地区县代码", "接单地行政区划代码", "区划代码"),
    "registered_on": ("registered_on", "注册日期", "平台注册日期"),
}
CHINESE_HEADERS = {f: FIELD_NAMES[f] for f in FIELDS}
_ALIAS = {re.sub(r"\s+", "", a).lower(): f for f, names in HEADER_ALIASES.items() for a in names}


def _too_large(limit: int) -> TooLarge:
    return TooLarge(f"文件大小超过上限（{human_size(limit)}），未作任何处理：请拆分为多个文件分别上传", field="file")


def human_size(n: int) -> str:
    if n >= 1024 * 1024:
        return f"{n / 1024 / 1024:g} MB"
    if n >= 1024:
        return f"{n / 1024:g} KB"
    return f"{n} 字节"


# ---- reading the request ---------------------------------------------------------------------------


async def limit_body(request: Request) -> None:
    """A dependency, listed before ``Require``: refuse a request body larger than an upload may be
    (plus its multipart envelope) — by its Content-Length when it states one, and in any case while
    the body is being received, so an oversize body is never read to its end."""
    limit = get_settings().upload_max_bytes + ENVELOPE
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > limit:
        raise _too_large(get_settings().upload_max_bytes)
    receive = request._receive  # Starlette reads the body only through this callable
    seen = 0

    async def counted():
        nonlocal seen
        message = await receive()
        if message.get("type") == "http.request":
            seen += len(message.get("body", b""))
            if seen > limit:
                raise _too_large(get_settings().upload_max_bytes)
        return message

    request._receive = counted


async def read_body(request: Request) -> bytes:
    """The request body, read in chunks and refused past ``upload_max_bytes``."""
    limit = get_settings().upload_max_bytes
    buf = bytearray()
    async for chunk in request.stream():
        buf += chunk
        if len(buf) > limit:
            raise _too_large(limit)
    return bytes(buf)


@dataclass
class Upload:
    filename: str
    data: bytes
    fields: dict[str, str]


async def read_upload(request: Request, field_name: str = "file") -> Upload:
    """The uploaded file of a multipart form (and its other text fields), read in chunks."""
    ctype = request.headers.get("content-type", "")
    if not ctype.startswith("multipart/form-data"):
        raise DomainError(f"请以 multipart/form-data 上传文件（字段名 {field_name}）", field=field_name)
    form = await request.form(max_files=2, max_fields=20)
    try:
        upload = form.get(field_name)
        if not isinstance(upload, UploadFile):
            raise DomainError(f"请选择要上传的 CSV 文件（表单字段 {field_name}）", field=field_name)
        limit = get_settings().upload_max_bytes
        buf = bytearray()
        while chunk := await upload.read(CHUNK):
            buf += chunk
            if len(buf) > limit:
                raise _too_large(limit)
        name = (upload.filename or "upload.csv").replace("\\", "/").rsplit("/", 1)[-1][:200] or "upload.csv"
        fields = {k: v for k, v in form.items() if isinstance(v, str)}
        return Upload(name, bytes(buf), fields)
    finally:
        await form.close()


# ---- parsing ---------------------------------------------------------------------------------------


@dataclass
class ParsedCsv:
    """The records of a file, each with its line number; ``problems`` maps a record's index to
    reasons found while reading it (more cells than the header has)."""

    records: list[dict[str, str]]
    rows: list[int]
    encoding: str
    columns: dict[str, str]  # field -> header as written in the file
    ignored_columns: list[str] = field(default_factory=list)
    problems: dict[int, list[dict]] = field(default_factory=dict)


_SIGNATURES = [
    (
        b"PK\x03\x04",
        "这是 Excel 工作簿（.xlsx）或压缩文件，不是 CSV：请在 Excel 中“另存为” → “CSV UTF-8（逗号分隔）”后上传",
    ),
    (
        b"\xd0\xcf\x11\xe0",
        "这是旧版 Excel 工作簿（.xls），不是 CSV：请在 Excel 中“另存为” → “CSV UTF-8（逗号分隔）”后上传",
    ),
    (b"%PDF", "这是 PDF 文件，不是 CSV"),
    (b"\xff\xfe", "文件是 UTF-16 编码（Excel 的“Unicode 文本”），不受支持：请另存为“CSV UTF-8（逗号分隔）”"),
    (b"\xfe\xff", "文件是 UTF-16 编码，不受支持：请另存为“CSV UTF-8（逗号分隔）”"),
]


def decode(data: bytes) -> tuple[str, str]:
    """(text, encoding name). UTF-8 with or without BOM first; then GB18030, the superset of GBK."""
    if not data.strip(b" \t\r\n\xef\xbb\xbf"):
        raise DomainError("文件为空：请上传含表头和数据行的 CSV 文件", field="file")
    for sig, reason in _SIGNATURES:
        if data.startswith(sig):
            raise DomainError(reason, field="file")
    not_text = DomainError(
        f"文件不是可识别的文本 CSV：请以 {ENCODINGS_ACCEPTED} 编码保存"
        "（Excel：“另存为” → “CSV UTF-8（逗号分隔）”或“CSV（逗号分隔）”）",
        field="file",
    )
    if b"\x00" in data:
        raise not_text
    try:
        text, encoding = data.decode("utf-8-sig"), "UTF-8"
    except UnicodeDecodeError:
        try:
            text, encoding = data.decode("gb18030"), "GB18030"
        except UnicodeDecodeError:
            raise not_text from None
    if sum(1 for ch in text[:20000] if unicodedata.category(ch) == "Cc" and ch not in "\t\r\n") > 0:
        raise not_text
    return text, encoding


_FORMULA_TEXT = re.compile(r'^=\s*"(.*)"$')


def _cell(field_name: str, value: str) -> str:
    """A cell as the uploader meant it: ``="4501…"`` (how some systems force text in Excel) is
    unwrapped, and so is a leading apostrophe before an ID or mobile number."""
    value = value.strip()
    m = _FORMULA_TEXT.match(value)
    if m:
        value = m.group(1).strip()
    if field_name in ("id_number", "phone") and value[:1] in ("'", "’", "`"):
        value = value[1:].strip()
    return value


def _norm_header(cell: str) -> str:
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", cell).replace("\ufeff", "")).strip("*＊").lower()


def parse(data: bytes) -> ParsedCsv:
    """Decode and split an uploaded file into records. File-level problems (encoding, header,
    no data) raise DomainError (HTTP 400); row-level problems are the service's to report."""
    text, encoding = decode(data)
    first_line = next((ln for ln in text.splitlines() if ln.strip()), "")
    delimiter = "\t" if "\t" in first_line and "," not in first_line else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    header: list[str] | None = None
    header_line = 0
    try:
        while header is None:
            start = reader.line_num + 1
            cells = next(reader, None)
            if cells is None:
                raise DomainError(
                    "文件中没有表头：第一行应为列名，如 " + ",".join(CHINESE_HEADERS.values()), field="file"
                )
            if any(c.strip() for c in cells):
                header, header_line = cells, start
        mapping: dict[int, str] = {}
        columns: dict[str, str] = {}
        ignored: list[str] = []
        for i, cell in enumerate(header):
            key = _norm_header(cell)
            if not key:
                continue
            f = _ALIAS.get(key)
            if f is None:
                ignored.append(cell.strip())
            elif f in columns:
                raise DomainError(
                    f"表头中“{columns[f]}”与“{cell.strip()}”是同一列（{FIELD_NAMES[f]}），请只保留一列", field="file"
                )
            else:
                mapping[i], columns[f] = f, cell.strip()
        missing = [f for f in FIELDS if f not in columns]
        if missing:
            names = "、".join(f"{FIELD_NAMES[f]}（{f}）" for f in missing)
            hint = (
                ""
                if columns
                else f"。第 {header_line} 行应为表头，列名可用中文（{','.join(CHINESE_HEADERS.values())}）"
                f"或英文（{','.join(FIELDS)}）"
            )
            raise DomainError(f"缺少必需的列：{names}{hint}", field="file")
        width = max(mapping) + 1
        records: list[dict[str, str]] = []
        rows: list[int] = []
        problems: dict[int, list[dict]] = {}
        while True:
            start = reader.line_num + 1
            cells = next(reader, None)
            if cells is None:
                break
            if not any(c.strip() for c in cells):
                continue
            rec = {f: _cell(f, cells[i] if i < len(cells) else "") for i, f in mapping.items()}
            extra = [c for c in cells[max(width, len(header)) :] if c.strip()]
            if extra:
                problems[len(records)] = [
                    {
                        "field": None,
                        "reason": f"该行有 {len(cells)} 列，多于表头的 {len(header)} 列："
                        "字段内容含逗号时须用英文双引号括起",
                    }
                ]
            records.append(rec)
            rows.append(start)
    except csv.Error as e:
        raise DomainError(f"第 {reader.line_num} 行不是合法的 CSV：{csv_error_reason(e)}", field="file") from None
    if not records:
        raise DomainError("文件中只有表头，没有数据行", field="file")
    return ParsedCsv(records, rows, encoding, columns, ignored, problems)


def import_upload(session: Session, actor: Principal, upload: Upload) -> tuple[rules.BatchResult, ParsedCsv]:
    """Register the records of an uploaded file for the platform it is for (the uploader's own, or
    the form field ``platform_code`` for an agency): one batch, one transaction."""
    platform = service.resolve_platform(session, actor, upload.fields.get("platform_code"))
    parsed = parse(upload.data)
    result = service.register(
        session,
        actor,
        platform,
        parsed.records,
        source="csv",
        filename=upload.filename,
        rows=parsed.rows,
        problems=parsed.problems,
    )
    return result, parsed


# ---- writing ---------------------------------------------------------------------------------------

BOM = "\ufeff"


def _csv(rows: list[list]) -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerows(rows)
    return (BOM + buf.getvalue()).encode("utf-8")


def template_csv(chinese: bool = True) -> bytes:
    """The blank upload template: the header row only, UTF-8 with BOM so that Excel opens it."""
    return _csv([list(CHINESE_HEADERS.values()) if chinese else list(FIELDS)])


def rejects_csv(results: list[dict]) -> bytes:
    """One line per reason of every rejected record: row, platform_account_id, field, reason."""
    out: list[list] = [["row", "platform_account_id", "field", "reason"]]
    for r in results:
        if r.get("status") != "rejected":
            continue
        for reason in r.get("reasons") or [{"field": None, "reason": ""}]:
            out.append(
                [
                    r.get("row"),
                    safe_cell(r.get("platform_account_id")),
                    reason.get("field") or "",
                    safe_cell(reason.get("reason")),
                ]
            )
    return _csv(out)
