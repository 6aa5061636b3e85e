"""Checking an uploaded document by its content, not its name: PDF, JPEG or PNG (the materials of a
case), whole, within the size limit, and without active content.

``check_document`` reads the first bytes (magic numbers) to learn what a file is, refuses what is
not an allowed kind and says what it looks like when it can tell (a Windows program, a ZIP archive,
a web page or script …), refuses a name whose extension says another kind than the content, a file
cut short (a PDF without ``%%EOF`` at its end, a JPEG without its end marker, a PNG without IEND) or
with data after its end, and PDFs that carry active content: JavaScript, launch actions, embedded
files, Flash or XFA forms (the names are looked for in the file and in its compressed object streams,
also when written with ``#xx`` escapes); an encrypted PDF cannot be looked into and is refused too.
Every refusal is a ``DomainError`` (field ``file``) whose Chinese reason names the file; a file over
the limit is ``TooLarge`` (413). What passes comes back as a ``CheckedDocument`` with a safe base
name, the kind, its content type, size and SHA-256.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
import zlib
from dataclasses import dataclass

from oip.core.errors import DomainError, TooLarge


@dataclass(frozen=True)
class Kind:
    code: str
    content_type: str
    extensions: tuple[str, ...]
    name: str  # Chinese, for messages
    short: str


KINDS: dict[str, Kind] = {
    k.code: k
    for k in (
        Kind("pdf", "application/pdf", (".pdf",), "PDF 文件", "PDF"),
        Kind("jpeg", "image/jpeg", (".jpg", ".jpeg", ".jpe", ".jfif"), "JPEG 图片", "JPEG"),
        Kind("png", "image/png", (".png",), "PNG 图片", "PNG"),
    )
}

# What other content looks like, for the refusal (first bytes → a Chinese description).
_OTHERS: tuple[tuple[bytes, str], ...] = (
    (b"MZ", "Windows 可执行程序（EXE/DLL）"),
    (b"\x7fELF", "Linux 可执行程序（ELF）"),
    (b"\xca\xfe\xba\xbe", "Java 或 macOS 程序"),
    (b"\xcf\xfa\xed\xfe", "macOS 可执行程序"),
    (b"PK\x03\x04", "ZIP 压缩包（或 Word、Excel 等 Office 文档）"),
    (b"PK\x05\x06", "ZIP 压缩包（空）"),
    (b"Rar!\x1a\x07", "RAR 压缩包"),
    (b"7z\xbc\xaf\x27\x1c", "7z 压缩包"),
    (b"\x1f\x8b", "gzip 压缩文件"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "旧版 Office 文档（DOC/XLS）"),
    (b"{\\rtf", "RTF 文档"),
    (b"GIF87a", "GIF 图片"),
    (b"GIF89a", "GIF 图片"),
    (b"II*\x00", "TIFF 图片"),
    (b"MM\x00*", "TIFF 图片"),
    (b"BM", "BMP 图片"),
    (b"#!", "脚本文件"),
)
_MARKUP = re.compile(rb"^\s*<(!doctype\s+html|html|head|body|script|svg|\?xml|iframe)\b", re.IGNORECASE)
_SCRIPT = re.compile(rb"^\s*(<%|<\?php|@echo\s+off|function\s|var\s|const\s|let\s|import\s)", re.IGNORECASE)

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_PNG_IEND = b"\x00\x00\x00\x00IEND\xaeB`\x82"
_PDF_EOF_WINDOW = 1024  # readers look for %%EOF within the last 1,024 bytes

# PDF names that carry active content ("virus-carrying" documents).
_ACTIVE = {
    "JavaScript": "JavaScript 脚本",
    "JS": "JavaScript 脚本",
    "Launch": "启动外部程序的动作",
    "EmbeddedFile": "嵌入的附件",
    "EmbeddedFiles": "嵌入的附件",
    "RichMedia": "Flash 等富媒体",
    "XFA": "XFA 动态表单（可含脚本）",
}
_NAME = re.compile(rb"/([^\s/<>\[\]()%{}]+)")
_STREAM = re.compile(rb"(?<!end)stream\r?\n")
_MAX_INFLATED = 64 * 1024 * 1024  # bytes of object streams inflated to look into, at most


@dataclass(frozen=True)
class CheckedDocument:
    filename: str  # a safe base name, with the extension of its kind
    kind: str  # pdf | jpeg | png
    content_type: str
    size: int
    sha256: str


def _mb(n: int) -> str:
    return f"{n / (1024 * 1024):.1f} MB".replace(".0 MB", " MB")


def safe_name(filename: str | None, kind: Kind | None = None) -> str:
    """The base name of an uploaded file, safe to store and show: no folders, control characters or
    characters that file systems refuse, at most 100 characters; ``kind``'s extension added when the
    name has none."""
    name = unicodedata.normalize("NFC", filename or "")
    name = re.split(r"[\\/]", name)[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C")
    name = re.sub(r'[<>:"|?*]', "_", name).strip().strip(".").strip()
    stem, dot, ext = name.rpartition(".")
    if not dot:
        stem, ext = name, ""
    if kind is not None and not ext:
        ext = kind.extensions[0][1:]
    stem = stem or "文件"
    ext = ext[:10]
    return (stem[: 100 - len(ext) - 1] + "." + ext) if ext else stem[:100]


def sniff(content: bytes) -> str | None:
    """The allowed kind the content is (pdf, jpeg, png), or None."""
    if content.startswith(b"%PDF-"):
        return "pdf"
    if content.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if content.startswith(_PNG_SIGNATURE):
        return "png"
    return None


def describe(content: bytes) -> str | None:
    """What content of another kind looks like (in Chinese), when it can be told."""
    kind = sniff(content)
    if kind is not None:
        return KINDS[kind].name
    for magic, what in _OTHERS:
        if content.startswith(magic):
            return what
    if content[8:12] == b"WEBP" and content.startswith(b"RIFF"):
        return "WebP 图片"
    if content[4:8] == b"ftyp":
        return "HEIC 图片或视频文件" if content[8:12] in (b"heic", b"heix", b"mif1") else "视频文件（MP4/MOV）"
    head = content[:512].removeprefix(b"\xef\xbb\xbf")
    if _MARKUP.match(head):
        return "网页或脚本（HTML/SVG/XML）"
    if _SCRIPT.match(head):
        return "脚本或程序代码"
    try:
        head.decode("utf-8")
    except UnicodeDecodeError:
        return None
    return "纯文本文件"


def _names(data: bytes) -> set[str]:
    """The PDF names in ``data``, with #xx escapes decoded (/J#61vaScript is /JavaScript)."""
    out = set()
    for raw in _NAME.findall(data):
        if b"#" in raw:
            raw = re.sub(rb"#([0-9A-Fa-f]{2})", lambda m: bytes([int(m.group(1), 16)]), raw)
        out.add(raw.decode("latin-1"))
    return out


def _split(content: bytes):
    """The PDF's bytes outside its streams (where dictionaries are) and, for each stream, the
    dictionary text before it and its data. Stream data (images, fonts) is not read for names: a
    random ``/JS`` in a compressed image must not refuse a scanned letter."""
    pos = 0
    outside: list[bytes] = []
    streams: list[tuple[bytes, bytes]] = []
    while (m := _STREAM.search(content, pos)) is not None:
        before = content[pos : m.start()]
        outside.append(before)
        end = content.find(b"endstream", m.end())
        end = len(content) if end < 0 else end
        obj = before.rfind(b"obj")
        streams.append((before[obj + 3 :] if obj >= 0 else before[-4096:], content[m.end() : end]))
        pos = end + len(b"endstream")
    outside.append(content[pos:])
    return b"\n".join(outside), streams


def _object_streams(streams: list[tuple[bytes, bytes]]):
    """The inflated data of the compressed object streams (/Type /ObjStm): the dictionaries kept
    there are not visible in the file's bytes. None for one that cannot be read."""
    budget = _MAX_INFLATED
    for header, data in streams:
        names = _names(header)
        if "ObjStm" not in names:
            continue
        if "FlateDecode" not in names:
            yield None
            continue
        try:
            inflated = zlib.decompressobj().decompress(data, budget)
        except zlib.error:
            yield None
            continue
        budget -= len(inflated)
        if budget <= 0:
            yield None
            return
        yield inflated


def _pdf_problem(content: bytes) -> str | None:
    """Why a PDF is refused (active content, encryption, unreadable object streams), or None."""
    outside, streams = _split(content)
    names = _names(outside)
    if "Encrypt" in names:
        return "是加密的 PDF，无法检查其中是否含有脚本等活动内容：请上传未加密的文件"
    found = names & _ACTIVE.keys()
    for data in _object_streams(streams):
        if data is None:
            return "含有无法读取的压缩对象，无法确认其中没有脚本等活动内容：请另存或重新扫描后上传"
        found |= _names(data) & _ACTIVE.keys()
    if found:
        what = "、".join(dict.fromkeys(_ACTIVE[n] for n in sorted(found)))
        return f"含有{what}，可能携带病毒或恶意程序，不予接收：请打印后重新扫描，或另存为不含脚本和附件的 PDF 后上传"
    return None


def _end_problem(kind: str, content: bytes) -> str | None:
    """Why a file is not whole (cut short, or data after its end), or None."""
    if kind == "pdf":
        if b"%%EOF" in content[-_PDF_EOF_WINDOW:]:
            return None
        return "在结束标记 %%EOF 之后还附带了其他数据" if b"%%EOF" in content else "不完整（缺少结束标记 %%EOF）"
    if kind == "jpeg":
        if content.rstrip(b"\x00").endswith(b"\xff\xd9"):
            return None
        return "不完整（缺少 JPEG 结束标记）"
    if kind == "png":
        if content.endswith(_PNG_IEND):
            return None
        return "在图片结束标记之后还附带了其他数据" if _PNG_IEND in content else "不完整（缺少 PNG 结束块 IEND）"
    return None


def check_document(
    filename: str | None,
    content: bytes,
    *,
    allowed: tuple[str, ...] = ("pdf", "jpeg", "png"),
    max_bytes: int | None = None,
) -> CheckedDocument:
    """Check an uploaded document by its content; the checked document, or a ``DomainError``
    (``TooLarge`` over ``max_bytes``, default the ``upload_max_bytes`` setting) naming the file."""
    if max_bytes is None:
        from oip.core.config import get_settings

        max_bytes = get_settings().upload_max_bytes
    shown = safe_name(filename)
    label = f"文件“{shown}”"
    size = len(content)
    if size == 0:
        raise DomainError(f"{label}是空文件，请重新选择文件上传", field="file")
    if size > max_bytes:
        raise TooLarge(f"{label}大小为 {_mb(size)}，超过上限 {_mb(max_bytes)}：请压缩或拆分后上传", field="file")
    allowed_names = "、".join(KINDS[k].short for k in allowed)
    kind_code = sniff(content)
    if kind_code is None or kind_code not in allowed:
        what = describe(content)
        looks = f"其内容是{what}" if what else "无法识别其内容的类型"
        raise DomainError(f"{label}不是可接收的文件类型（{allowed_names}）：{looks}", field="file")
    kind = KINDS[kind_code]
    ext = shown.rpartition(".")[2].lower() if "." in shown else ""
    if ext and "." + ext not in kind.extensions:
        claimed = next((k.name for k in KINDS.values() if "." + ext in k.extensions), f".{ext} 文件")
        raise DomainError(
            f"{label}的扩展名表明是{claimed}，但其内容是{kind.name}：请确认选择了正确的文件，"
            f"或将扩展名改为 {kind.extensions[0]} 后重新上传",
            field="file",
        )
    problem = _end_problem(kind_code, content)
    if problem:
        raise DomainError(f"{label}{problem}，可能在传输中被截断或被篡改：请重新上传完整的原文件", field="file")
    if kind_code == "pdf":
        problem = _pdf_problem(content)
        if problem:
            raise DomainError(f"{label}{problem}", field="file")
    return CheckedDocument(
        filename=safe_name(filename, kind),
        kind=kind_code,
        content_type=kind.content_type,
        size=size,
        sha256=hashlib.sha256(content).hexdigest(),
    )
