"""The pure rules of the intake: checklists per case kind, the one-time correction notice, report
checks, and uploaded files judged by their content."""

from __future__ import annotations

import datetime as dt
import zlib
from decimal import Decimal

import pytest

from oip.cases import intake_rules as R
from oip.core.errors import DomainError, TooLarge
from tests.cases._intake_support import jpeg, pdf, png

MB = 1024 * 1024


def check(name: str, content: bytes, **kw):
    return R.check_document(name, content, max_bytes=kw.pop("max_bytes", 5 * MB), **kw)


def refused(name: str, content: bytes, **kw) -> str:
    with pytest.raises(DomainError) as e:
        check(name, content, **kw)
    assert e.value.field == "file"
    return e.value.reason


# ---- checklists -----------------------------------------------------------------------------------


def test_every_kind_has_a_checklist_with_an_application_form():
    for key in ("injury", "death", "missing", "outpatient"):
        items = R.CHECKLISTS[key]
        assert items[0].code == "application_form" and items[0].required
        assert len({i.code for i in items}) == len(items)
        assert all(i.name for i in items)
    assert R.checklist_key("injury", True) == "outpatient"
    assert R.checklist_key("death", True) == "death"  # outpatient-only means an injury


def test_the_fast_lane_asks_for_five_documents():
    required = [i.name for i in R.checklist("injury", outpatient_only=True) if i.required]
    assert len(required) == 5
    assert {"授权同意书", "诊断证明或处方", "医疗费用票据"} <= set(required)


def test_a_death_needs_the_death_certificate_and_kinship():
    codes = {i.code for i in R.checklist("death") if i.required}
    assert {"death_proof", "kinship"} <= codes


def test_a_correction_notice_must_list_every_missing_required_item():
    items = R.checklist("injury")
    present = {"application_form", "identity"}
    with pytest.raises(DomainError) as e:
        R.check_correction_items(items, [("medical_diagnosis", "首诊病历")], present)
    assert e.value.field == "items" and "事故经过说明" in e.value.reason
    listed = R.check_correction_items(
        items, [("accident_account", "须平台盖章"), ("medical_diagnosis", ""), ("identity", "复印件不清晰")], present
    )
    # in checklist order, each with its name and note; a present item may be listed too (it was inadequate)
    assert [i["requirement"] for i in listed] == ["identity", "medical_diagnosis", "accident_account"]
    assert listed[0] == {"requirement": "identity", "name": "受伤人员有效身份证件", "note": "复印件不清晰"}


@pytest.mark.parametrize(
    "listed, words",
    [([], "至少"), ([("nonsense", "")], "不在本案件的材料清单"), ([("identity", ""), ("identity", "")], "重复")],
)
def test_a_correction_notice_refuses_empty_unknown_and_repeated_items(listed, words):
    with pytest.raises(DomainError) as e:
        R.check_correction_items(R.checklist("injury"), listed, {"application_form"})
    assert words in e.value.reason and e.value.field == "items"


# ---- report checks --------------------------------------------------------------------------------


def test_coordinates_inside_china_both_or_neither():
    R.check_coordinates(Decimal("22.8167"), Decimal("108.3669"))
    R.check_coordinates(None, None)
    for lat, lon, field in [
        (Decimal("60"), Decimal("108"), "lat"),
        (Decimal("22"), Decimal("150"), "lon"),
        (Decimal("22"), None, "lon"),
        (None, Decimal("108"), "lat"),
    ]:
        with pytest.raises(DomainError) as e:
            R.check_coordinates(lat, lon)
        assert e.value.field == field


def test_occurred_at_not_in_the_future_nor_before_the_pilot():
    now = dt.datetime(2025, 10, 9, 12, tzinfo=dt.UTC)
    R.check_occurred_at(now + dt.timedelta(minutes=1), now, dt.date(2025, 7, 1), dt.date(2025, 10, 9))  # clock skew
    with pytest.raises(DomainError, match="晚于当前时间"):
        R.check_occurred_at(now + dt.timedelta(hours=1), now, dt.date(2025, 7, 1), dt.date(2025, 10, 9))
    with pytest.raises(DomainError, match="试点开始日期"):
        R.check_occurred_at(now, now, dt.date(2025, 7, 1), dt.date(2025, 6, 30))


# ---- documents by content -------------------------------------------------------------------------


def test_pdf_jpeg_png_are_recognised_by_content():
    d = check("申请表.pdf", pdf())
    assert (d.kind, d.content_type, d.size, len(d.sha256)) == ("pdf", "application/pdf", len(pdf()), 64)
    assert check("IMG_0001.JPG", jpeg()).content_type == "image/jpeg"
    assert check("scan.png", png()).kind == "png"
    assert check("no-extension", jpeg()).filename == "no-extension.jpg"  # named by what it is
    assert check("C:\\Users\\me\\诊断证明.pdf", pdf()).filename == "诊断证明.pdf"  # the path is dropped


def test_empty_and_too_large_files_are_refused():
    assert "空文件" in refused("a.pdf", b"")
    with pytest.raises(TooLarge) as e:
        check("a.pdf", pdf() + b"0" * 2048, max_bytes=1024)
    assert e.value.status_code == 413 and e.value.field == "file"


@pytest.mark.parametrize(
    "name, content, words",
    [
        ("setup.pdf", b"MZ\x90\x00" + b"\x00" * 100, "Windows 可执行文件"),
        ("a.png", b"\x7fELF\x02\x01\x01" + b"\x00" * 50, "可执行文件"),
        ("run.pdf", b"#!/bin/sh\nrm -rf /\n", "脚本"),
        ("docs.pdf", b"PK\x03\x04" + b"\x00" * 50, "压缩包"),
        ("page.pdf", b"<!DOCTYPE html><html><script>alert(1)</script></html>", "网页或脚本"),
        ("x.jpg", b"\xef\xbb\xbf  <svg onload=alert(1)>", "网页或脚本"),
        ("notes.pdf", "这是一段文字".encode(), "不是 PDF、JPEG 或 PNG"),
        ("photo.jpg", pdf(), "扩展名“.jpg”与文件内容（PDF）不符"),
        ("scan.pdf", png(), "扩展名“.pdf”与文件内容（PNG 图片）不符"),
        ("report.pdf.exe", pdf(), "扩展名“.exe”"),
        ("cut.pdf", pdf()[:-8], "不完整"),
        ("cut.png", png()[:-12], "不是完整的 PNG"),
        ("evil.jpg", jpeg()[:30] + b"<script>alert(1)</script>" + jpeg()[30:], "夹带网页或脚本"),
    ],
)
def test_refused_by_content(name, content, words):
    assert words in refused(name, content)


@pytest.mark.parametrize(
    "extra, words",
    [
        (b"/OpenAction << /S /JavaScript /JS (app.alert(1)) >> ", "JavaScript"),
        (b"/OpenAction << /S /J#61vaScript /J#53 (app.alert(1)) >> ", "JavaScript"),  # names spelt with #xx
        (b"/OpenAction << /S /Launch /F (cmd.exe) >> ", "Launch"),
        (b"/Names << /EmbeddedFiles 5 0 R >> ", "嵌入的文件"),
        (b"/Encrypt 9 0 R ", "已加密"),
    ],
)
def test_pdfs_with_active_content_are_refused(extra, words):
    assert words in refused("a.pdf", pdf(extra))


def test_javascript_hidden_in_a_compressed_object_stream_is_found():
    hidden = zlib.compress(b"3 0 obj << /S /JavaScript /JS (app.alert(1)) >> endobj")
    data = (
        pdf()[:-6]
        + b"4 0 obj\n<< /Type /ObjStm /N 1 /First 0 /Filter /FlateDecode /Length "
        + str(len(hidden)).encode()
        + b" >>\nstream\n"
        + hidden
        + b"\nendstream\nendobj\n%%EOF\n"
    )
    assert "JavaScript" in refused("a.pdf", data)


def test_a_page_stream_that_happens_to_spell_js_is_not_an_action():
    image = b"\x00\x01/JS \x02" * 10  # binary image data is not read as PDF objects
    data = (
        pdf()[:-6] + b"5 0 obj\n<< /Length 60 /Filter /DCTDecode >>\nstream\n" + image + b"\nendstream\nendobj\n%%EOF\n"
    )
    assert check("scan.pdf", data).kind == "pdf"


def test_only_the_allowed_kinds():
    assert "此处只接受 PDF" in refused("a.png", png(), allowed=("pdf",))
