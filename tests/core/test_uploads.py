"""Uploaded documents are checked by content, not name (oip.core.uploads): real tiny PDF, JPEG and PNG
files pass; programs, archives, web pages, a name that lies, cut-off files and PDFs with scripts or
attachments are refused with a Chinese reason naming the file."""

from __future__ import annotations

import hashlib
import io
import struct
import zipfile
import zlib
from types import SimpleNamespace

import pytest

from oip.core import config
from oip.core.errors import DomainError, TooLarge
from oip.core.uploads import check_document, safe_name

MB = 1024 * 1024


def make_pdf(**extra) -> bytes:
    from fpdf import FPDF

    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("helvetica", size=12)
    pdf.cell(text="diagnosis")
    if extra.get("attachment"):
        pdf.embed_file(basename="payload.txt", bytes=b"not a virus")
    if extra.get("password"):
        pdf.set_encryption(owner_password=extra["password"])
    return bytes(pdf.output())


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def make_png() -> bytes:
    """A 1×1 grey PNG, written by hand."""
    ihdr = struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", ihdr)
        + _chunk(b"IDAT", zlib.compress(b"\x00\x80"))
        + _chunk(b"IEND", b"")
    )


def make_jpeg() -> bytes:
    from PIL import Image  # installed with fpdf2

    out = io.BytesIO()
    Image.new("RGB", (4, 4), (200, 30, 30)).save(out, format="JPEG")
    return out.getvalue()


def hand_pdf(*objects: bytes) -> bytes:
    """A small PDF written by hand from object bodies (enough for the checks, which read the bytes)."""
    body = b"%PDF-1.7\n"
    for i, obj in enumerate(objects, start=1):
        body += b"%d 0 obj\n" % i + obj + b"\nendobj\n"
    return body + b"trailer\n<< /Root 1 0 R >>\nstartxref\n0\n%%EOF\n"


CATALOG = b"<< /Type /Catalog /Pages 2 0 R >>"
PAGES = b"<< /Type /Pages /Kids [] /Count 0 >>"


def refused(name: str, content: bytes, **kw) -> DomainError:
    with pytest.raises(DomainError) as e:
        check_document(name, content, max_bytes=kw.pop("max_bytes", 5 * MB), **kw)
    assert e.value.field == "file"
    return e.value


@pytest.mark.parametrize(
    ("name", "maker", "kind", "content_type"),
    [
        ("诊断证明.pdf", make_pdf, "pdf", "application/pdf"),
        ("现场照片.JPG", make_jpeg, "jpeg", "image/jpeg"),
        ("receipt.jpeg", make_jpeg, "jpeg", "image/jpeg"),
        ("事故认定书.png", make_png, "png", "image/png"),
    ],
)
def test_real_documents_pass(name, maker, kind, content_type):
    content = maker()
    doc = check_document(name, content, max_bytes=5 * MB)
    assert (doc.filename, doc.kind, doc.content_type, doc.size) == (name, kind, content_type, len(content))
    assert doc.sha256 == hashlib.sha256(content).hexdigest()


def test_a_hand_written_pdf_passes():
    assert check_document("a.pdf", hand_pdf(CATALOG, PAGES), max_bytes=MB).kind == "pdf"


def test_a_name_without_extension_gets_its_kinds():
    assert check_document("扫描件", make_png(), max_bytes=MB).filename == "扫描件.png"
    assert check_document(None, make_pdf(), max_bytes=MB).filename == "文件.pdf"


def test_the_name_is_a_safe_base_name():
    assert safe_name("../../etc/照片.JPG") == "照片.JPG"
    assert safe_name("C:\\Users\\张三\\扫描件.pdf") == "扫描件.pdf"
    assert safe_name('a<b>:c"\x00\x1f.pdf') == "a_b__c_.pdf"
    assert safe_name("  ..hidden.pdf. ") == "hidden.pdf"
    long = safe_name("长" * 300 + ".pdf")
    assert len(long) == 100 and long.endswith(".pdf")


def test_empty_files_are_refused():
    e = refused("空.pdf", b"")
    assert "文件“空.pdf”是空文件" in e.reason


def test_too_large_is_413_with_both_sizes():
    with pytest.raises(TooLarge) as e:
        check_document("大.pdf", make_pdf() + b"\0" * (2 * MB), max_bytes=MB)
    assert e.value.status_code == 413 and e.value.field == "file"
    assert "文件“大.pdf”" in e.value.reason and "超过上限 1 MB" in e.value.reason


def test_the_default_limit_is_the_upload_setting(monkeypatch):
    monkeypatch.setattr(config, "get_settings", lambda: SimpleNamespace(upload_max_bytes=100))
    with pytest.raises(TooLarge):
        check_document("a.png", make_png() + b"\0" * 100)


@pytest.mark.parametrize(
    ("content", "looks_like"),
    [
        (b"MZ\x90\x00\x03\x00\x00\x00" + b"\0" * 64, "Windows 可执行程序"),
        (b"\x7fELF\x02\x01\x01" + b"\0" * 32, "Linux 可执行程序"),
        (b"<!DOCTYPE html><html><script>alert(1)</script></html>", "网页或脚本"),
        (b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>', "网页或脚本"),
        (b"GIF89a\x01\x00\x01\x00", "GIF 图片"),
        (b"just some notes\n", "纯文本文件"),
    ],
)
def test_other_content_is_refused_saying_what_it_looks_like(content, looks_like):
    e = refused("病历.pdf", content)
    assert "文件“病历.pdf”不是可接收的文件类型（PDF、JPEG、PNG）" in e.reason
    assert looks_like in e.reason


def test_a_zip_named_pdf_is_refused_as_a_zip():
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        z.writestr("a.exe", b"MZ")
    assert "ZIP 压缩包" in refused("材料.pdf", out.getvalue()).reason


def test_unknown_binary_content():
    assert "无法识别其内容的类型" in refused("x.pdf", bytes(range(256)) * 4).reason


def test_only_the_allowed_kinds():
    e = refused("照片.png", make_png(), allowed=("pdf",))
    assert "（PDF）" in e.reason and "PNG 图片" in e.reason


def test_an_extension_that_contradicts_the_content_is_refused():
    e = refused("诊断证明.pdf", make_png())
    assert "文件“诊断证明.pdf”的扩展名表明是PDF 文件，但其内容是PNG 图片" in e.reason
    assert ".png" in e.reason
    assert "内容是JPEG 图片" in refused("x.png", make_jpeg()).reason
    assert ".docx 文件" in refused("x.docx", make_pdf()).reason


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("a.pdf", make_pdf()[:-200], "不完整（缺少结束标记 %%EOF）"),
        ("a.pdf", make_pdf() + b"MZ" + b"\0" * 2000, "在结束标记 %%EOF 之后还附带了其他数据"),
        ("a.jpg", make_jpeg()[:-2], "不完整（缺少 JPEG 结束标记）"),
        ("a.png", make_png()[:-12], "不完整（缺少 PNG 结束块 IEND）"),
        ("a.png", make_png() + b"PK\x03\x04hidden", "在图片结束标记之后还附带了其他数据"),
    ],
)
def test_cut_off_files_and_data_after_the_end_are_refused(name, content, reason):
    e = refused(name, content)
    assert f"文件“{name}”{reason}" in e.reason


def test_jpeg_padding_after_the_end_marker_is_allowed():
    assert check_document("a.jpg", make_jpeg() + b"\0" * 16, max_bytes=MB).kind == "jpeg"


@pytest.mark.parametrize(
    ("objects", "what"),
    [
        ((b"<< /Type /Catalog /OpenAction << /S /JavaScript /JS (app.alert(1)) >> >>", PAGES), "JavaScript 脚本"),
        ((b"<< /Type /Catalog /OpenAction 3 0 R >>", PAGES, b"<< /S /J#61vaScript /J#53 (x) >>"), "JavaScript 脚本"),
        ((CATALOG, PAGES, b"<< /S /Launch /F (cmd.exe) >>"), "启动外部程序的动作"),
        ((CATALOG, PAGES, b"<< /Type /RichMedia >>"), "Flash"),
        ((b"<< /Type /Catalog /AcroForm << /XFA 3 0 R >> >>", PAGES), "XFA"),
    ],
)
def test_pdfs_with_active_content_are_refused(objects, what):
    e = refused("申请表.pdf", hand_pdf(*objects))
    assert "文件“申请表.pdf”含有" in e.reason and what in e.reason and "可能携带病毒" in e.reason


def test_a_pdf_with_an_attachment_is_refused():
    assert "嵌入的附件" in refused("a.pdf", make_pdf(attachment=True)).reason


def test_active_content_hidden_in_a_compressed_object_stream_is_found():
    hidden = zlib.compress(b"3 0 << /S /JavaScript /JS (app.launchURL('x')) >>")
    objstm = b"<< /Type /ObjStm /N 1 /First 4 /Filter /FlateDecode /Length %d >>\nstream\n" % len(hidden)
    e = refused("a.pdf", hand_pdf(CATALOG, PAGES, objstm + hidden + b"\nendstream"))
    assert "JavaScript 脚本" in e.reason


def test_an_object_stream_that_cannot_be_read_is_refused():
    objstm = b"<< /Type /ObjStm /N 1 /First 4 /Filter /FlateDecode /Length 9 >>\nstream\nnot zlib!\nendstream"
    assert "无法读取的压缩对象" in refused("a.pdf", hand_pdf(CATALOG, PAGES, objstm)).reason


def test_names_inside_image_data_are_not_read():
    # A compressed image may hold the bytes "/JS " by chance: stream data is not searched for names.
    image = (
        b"<< /Type /XObject /Subtype /Image /Filter /DCTDecode /Length 12 >>\nstream\n\xff\xd8/JS /Launch\nendstream"
    )
    assert check_document("scan.pdf", hand_pdf(CATALOG, PAGES, image), max_bytes=MB).kind == "pdf"


def test_an_encrypted_pdf_is_refused():
    assert "加密的 PDF" in refused("a.pdf", make_pdf(password="owner")).reason
