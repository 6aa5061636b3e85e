"""Official letters as PDF (oip.core.pdf): Chinese text embedded and extractable, the same spec gives
the same bytes, long letters run onto more pages, Chinese line breaking."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import re
import time

import pytest

from oip.core import pdf
from oip.core.pdf import LetterSpec, break_lines, chinese_date, pdf_text, render_letter

APPEAL = (
    "如不服本决定，可以自收到本通知书之日起60日内向南宁市人民政府申请行政复议，"
    "或者自收到本通知书之日起6个月内向人民法院提起行政诉讼。"
)


def _spec(**changes) -> LetterSpec:
    base = dict(
        organisation="南宁市青秀区人力资源和社会保障局",
        title="受理通知书",
        number="青人社伤受〔2025〕12号",
        addressee="张**",
        paragraphs=["你于2025年9月29日提出的职业伤害确认申请收悉。经审查，材料齐全，符合法定形式，决定予以受理。"],
        issued_on=dt.date(2025, 9, 30),
        facts=[("案件编号", "GX-450103-2025-000123"), ("姓名", "张**"), ("身份证号", "4501**********1234")],
        legal_basis="《新就业形态人员职业伤害保障办法（试行）》（人社部发〔2025〕24号）。",
        appeal_rights=APPEAL,
    )
    return LetterSpec(**(base | changes))


def _pages(content: bytes) -> int:
    import pypdfium2 as pdfium

    doc = pdfium.PdfDocument(io.BytesIO(content))
    try:
        return len(doc)
    finally:
        doc.close()


def _flat(text: str) -> str:
    """The text without line breaks and page footers (a paragraph wraps, and runs on past a page's end)."""
    return "".join(line for line in text.splitlines() if not re.search(r"第 \d+ 页，共 \d+ 页$", line))


def test_a_letter_renders_with_its_chinese_text_and_embedded_fonts():
    t0 = time.perf_counter()
    content = render_letter(_spec())
    seconds = time.perf_counter() - t0
    assert content.startswith(b"%PDF-") and content.rstrip().endswith(b"%%EOF")
    assert b"/FontFile3" in content  # the font is embedded (CFF) ...
    assert b"NotoSerifCJKSC" in content or b"NotoSansCJKSC" in content
    assert len(content) < 200_000  # ... as a subset of the 20 MB collection
    text = pdf_text(content)
    flat = _flat(text)
    for expected in (
        "南宁市青秀区人力资源和社会保障局",
        "受理通知书",
        "青人社伤受〔2025〕12号",
        "张**：",
        "决定予以受理",
    ):
        assert expected in flat
    assert "案件编号 GX-450103-2025-000123" in text
    assert "身份证号 4501**********1234" in text
    assert "法律依据" in text and "人社部发〔2025〕24号" in flat
    assert "救济途径" in text and APPEAL in flat
    assert "2025年9月30日" in text  # the date at the foot, in Chinese form
    assert "青人社伤受〔2025〕12号　第 1 页，共 1 页" in text  # the footer
    assert seconds < 10, f"a letter took {seconds:.2f} s"


def test_the_same_spec_gives_the_same_bytes():
    a, b = render_letter(_spec()), render_letter(_spec())
    assert hashlib.sha256(a).hexdigest() == hashlib.sha256(b).hexdigest()
    assert b"D:20250930000000+08'00'" in a  # the creation date is the letter's date, not the clock
    assert render_letter(_spec(issued_on=dt.date(2025, 10, 9))) != a
    assert render_letter(_spec(addressee="李**")) != a


def test_lists_and_tuples_make_the_same_spec():
    listed = _spec(paragraphs=["一", "二"], facts=[["案件编号", "1"]])
    tupled = _spec(paragraphs=("一", "二"), facts=(("案件编号", "1"),))
    assert listed == tupled and hash(listed) == hash(tupled)


def test_a_long_letter_runs_onto_more_pages_with_every_word():
    body = [
        f"第{i}段：经调查核实，申请人于事发当日接受平台派单后在配送途中发生交通事故，本人不负主要责任。"
        for i in range(40)
    ]
    content = render_letter(_spec(paragraphs=body))
    pages = _pages(content)
    assert pages >= 2
    flat = _flat(pdf_text(content))
    for paragraph in body:
        assert paragraph in flat
    assert f"第 {pages} 页，共 {pages} 页" in pdf_text(content)
    assert flat.index("第39段") < flat.rindex("2025年9月30日")  # the foot comes after the body


def test_more_than_255_distinct_characters_come_out_unchanged():
    # fpdf2 numbers a font's glyphs in two bytes; text past the 255th glyph must not be garbled.
    text = "".join(chr(c) for c in range(0x4E00, 0x4E00 + 600))
    content = render_letter(_spec(paragraphs=[text]))
    assert text in _flat(pdf_text(content))


def test_chinese_date():
    assert chinese_date(dt.date(2025, 9, 30)) == "2025年9月30日"
    assert chinese_date(dt.date(2026, 1, 5)) == "2026年1月5日"


def _width(s: str) -> float:
    return float(len(s))


def test_break_lines_never_starts_a_line_with_a_closing_mark():
    lines = break_lines("甲乙丙丁，戊己", 4, _width)
    assert lines == ["甲乙丙", "丁，戊己"]  # 丁 moves down with the comma
    assert all(line[0] not in "，。）》〕" for line in lines)


def test_break_lines_moves_two_closing_marks_down_with_the_character_before():
    assert break_lines("甲乙丙丁）。戊", 5, _width) == ["甲乙丙", "丁）。戊"]


def test_break_lines_never_ends_a_line_with_an_opening_mark():
    assert break_lines("甲乙丙《丁戊》", 4, _width) == ["甲乙丙", "《丁戊》"]


def test_break_lines_keeps_numbers_and_latin_words_whole():
    lines = break_lines("甲乙2025年", 5, _width)
    assert lines == ["甲乙", "2025年"]
    assert break_lines("甲" + "x" * 10, 4, _width) == ["甲xxx", "xxxx", "xxx"]  # too long for any line: split


def test_break_lines_indents_the_first_line():
    assert break_lines("甲乙丙丁戊己", 4, _width, first_indent=2) == ["甲乙", "丙丁戊己"]


def test_without_a_cjk_font_the_error_names_the_debian_package(monkeypatch, tmp_path):
    monkeypatch.setattr(pdf, "FONT_DIRS", (tmp_path,))
    monkeypatch.setattr(pdf, "FONT_ROOT", tmp_path)
    pdf.fonts.cache_clear()
    try:
        with pytest.raises(pdf.FontMissing, match="fonts-noto-cjk"):
            render_letter(_spec())
    finally:
        monkeypatch.undo()
        pdf.fonts.cache_clear()
