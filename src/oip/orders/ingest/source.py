"""Reading the file: its format and encoding (UTF-8, or GB18030/GBK for CSV), the CSV header, the
Parquet columns and their types, the streaming transcoding of GB18030 and the scan for empty lines.
Files are up to 2 GB: nothing here holds one in memory."""

from __future__ import annotations

import codecs
import csv
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import numpy as np

from oip.core.csvsafe import csv_error_reason
from oip.core.sqltext import ident, literal
from oip.orders.ingest.interface import CHUNK, FIELDS, FORMATS, REQUIRED, FileError

_SNIFF_BYTES = 1 << 20


_SCAN_CHUNK = 64 << 20


@dataclass
class Source:
    fmt: str
    path: Path  # what DuckDB reads
    encoding: str = "UTF-8"
    header: list[str] = field(default_factory=list)  # CSV: the names in the header, normalised
    types: dict[str, str] = field(default_factory=dict)  # Parquet: DuckDB type of each interface column present
    transcode: bool = False  # CSV in GB18030 to be transcoded to UTF-8 first
    rows: int = 0  # Parquet: the rows its metadata counts
    ascii_head: bool = False  # CSV: the first MiB is all ASCII (the encoding not yet known)


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
    for suffix, fmt in (
        (".csv", "csv"),
        (".txt", "csv"),
        (".jsonl", "jsonl"),
        (".ndjson", "jsonl"),
        (".json", "jsonl"),
        (".parquet", "parquet"),
        (".pq", "parquet"),
    ):
        if n.endswith(suffix):
            return fmt
    return None


def _text_encoding(head: bytes, fmt: str) -> str:
    """UTF-8 (BOM optional) or, for CSV, GB18030 (the superset of GBK), judged on the first MiB.
    When that is all ASCII, a CSV file is read as UTF-8 until a byte that is not UTF-8 turns up:
    then the whole file is read as GB18030 if it is that (``_stage_text``)."""
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
    try:
        cells = next(csv.reader([first_line]), [])
    except csv.Error as e:
        raise FileError(f"第 1 行（表头）不是合法的 CSV：{csv_error_reason(e)}") from None
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


def open_source(path: Path, fmt: str) -> Source:
    """Check that the file can be read as ``fmt`` at all; FileError otherwise (nothing is imported)."""
    if fmt not in FORMATS:
        raise FileError(f"不支持的格式 {fmt}：应为 csv、jsonl 或 parquet")
    if not path.is_file():
        raise FileError(f"文件不存在：{path}")
    if fmt == "parquet":
        con = duckdb.connect()
        try:
            desc = con.execute(f"DESCRIBE SELECT * FROM read_parquet({literal(str(path))})").fetchall()
            rows = con.execute(f"SELECT count(*) FROM read_parquet({literal(str(path))})").fetchone()[0]
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
        return Source("parquet", path, "parquet", types=types, rows=int(rows))  # type: ignore[arg-type]
    with open(path, "rb") as fh:
        head = fh.read(_SNIFF_BYTES)
    encoding = _text_encoding(head, fmt)
    src = Source(fmt, path, encoding, transcode=(encoding != "UTF-8"), ascii_head=head.isascii())
    if fmt == "csv":
        codec = "utf-8-sig" if encoding == "UTF-8" else "gb18030"
        first = head.split(b"\n", 1)[0]
        src.header = _csv_header(first.decode(codec, errors="replace").rstrip("\r"))
    return src


def transcode(src: Path, dst: Path) -> None:
    """GB18030 → UTF-8 in a streaming pass (memory bounded by the chunk size)."""
    dec = codecs.getincrementaldecoder("gb18030")()
    with open(src, "rb") as fin, open(dst, "w", encoding="utf-8", newline="") as fout:
        while chunk := fin.read(CHUNK):
            try:
                fout.write(dec.decode(chunk))
            except UnicodeDecodeError as e:
                raise FileError(
                    f"文件中第 {fin.tell() - len(chunk) + e.start + 1} 字节附近不是有效的 GBK/GB18030 编码"
                ) from None
        fout.write(dec.decode(b"", final=True))


def blank_lines(path: Path) -> list[int]:
    """1-based numbers of the empty lines of a text file (the readers skip them), in one streaming
    pass of bounded memory. Newline ``i`` (from 0) ends line ``i + 1``; that line is empty when the
    newline before it (the file's start for line 1) is right before it, or one carriage return
    before it. Vectorised: a 1.9 GB file in about the time of counting its newlines."""
    found: list[int] = []
    prev = -1  # position of the previous newline; the file's start stands for one
    newlines = 0  # newlines before the chunk
    offset = 0  # the chunk's position in the file
    last = 0  # the byte before the chunk
    with open(path, "rb") as fh:
        while data := fh.read(_SCAN_CHUNK):
            a = np.frombuffer(data, dtype=np.uint8)
            nl = np.flatnonzero(a == 10)
            if len(nl):
                gap = nl + offset - np.concatenate(([prev], nl[:-1] + offset))
                before = np.where(nl > 0, a[np.maximum(nl - 1, 0)], last)
                empty = np.flatnonzero((gap == 1) | ((gap == 2) & (before == 13)))
                found.extend((newlines + empty + 1).tolist())
                newlines += len(nl)
                prev = int(nl[-1]) + offset
            last = data[-1]
            offset += len(data)
    return found


def csv_reader(src: Source, path: Path, types: dict[str, str], options: str) -> str:
    """read_csv of a CSV file with the header's columns (``types``: DuckDB type by field, else
    VARCHAR); unnamed header cells get a name of their own."""
    names = [n or f"__unnamed_{i}" for i, n in enumerate(src.header)]
    spec = "{" + ", ".join(f"{literal(n)}: {literal(types.get(n, 'VARCHAR'))}" for n in names) + "}"
    return (
        f"read_csv({literal(str(path))}, columns={spec}, skip=1, delim=',', quote='\"', escape='\"', "
        f"header=false, auto_detect=false, max_line_size=4194304, {options})"
    )


def parquet_inputs(src: Source) -> dict[str, tuple[str, str]]:
    """Interface field → (column of the Parquet file, its DuckDB type)."""
    return {f: (ident(name), typ) for f, (name, typ) in src.types.items()}


def text_source(src: Source, work: Path) -> Path:
    """The UTF-8 text DuckDB reads (GB18030 transcoded once)."""
    if not src.transcode:
        return src.path
    path = work / "utf8.csv"
    if not path.exists():
        transcode(src.path, path)
    return path
