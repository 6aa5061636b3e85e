"""Official letters (文书) as PDF in Chinese: fpdf2 with Debian's Noto CJK fonts, embedded as subsets.

``render_letter(spec)`` lays out one letter — issuing organisation, title, document number (文号),
addressee, body, a table of facts, legal basis, appeal rights, the organisation and date at the foot,
and a muted footer with the number and page — and returns its bytes. It is deterministic: the same
spec gives the same bytes (the creation date is the letter's date, the file id is a hash of the
content), so a SHA-256 stored with a letter can be checked again later. The bytes depend on the
installed fpdf2 and font versions, so a stored letter is always served from its stored bytes, never
rendered again.

The fonts come from the Debian package ``fonts-noto-cjk`` (Noto Serif CJK SC for the text, its bold
for headings; Noto Sans CJK SC when the serif face is not installed). They are located once per
process. ``pdf_text(content)`` extracts the text of a letter for tests (pypdfium2, the PDF engine of
Chromium; see the function for why not pypdf).
"""

from __future__ import annotations

import datetime as dt
import io
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

FONT_PACKAGE = "fonts-noto-cjk"
# Where Debian (and Fedora, Arch) install the Noto CJK collections; searched in this order.
FONT_DIRS: tuple[Path, ...] = (
    Path("/usr/share/fonts/opentype/noto"),
    Path("/usr/share/fonts/noto-cjk"),
    Path("/usr/share/fonts/google-noto-cjk"),
)
FONT_ROOT = Path("/usr/share/fonts")
_REGULAR = ("NotoSerifCJK-Regular.ttc", "NotoSansCJK-Regular.ttc")
_BOLD = ("NotoSerifCJK-Bold.ttc", "NotoSansCJK-Bold.ttc")
_FACE = "SC"  # simplified Chinese glyph forms: a face of the collection, found by its name

_TZ = dt.timezone(dt.timedelta(hours=8))  # letters are dated in China Standard Time

_MARGIN = 25.0  # mm
_INK = (0, 0, 0)
_RED = (192, 0, 0)
_MUTED = (110, 110, 110)
_SHADE = (242, 242, 242)


class FontMissing(RuntimeError):
    """No CJK font is installed: letters cannot be rendered."""


@dataclass(frozen=True)
class Font:
    path: Path
    index: int  # the face in the collection (TTC)


@dataclass(frozen=True)
class LetterSpec:
    """Everything a letter shows. ``facts``: (label, value) rows of the facts table (names and ID
    numbers already masked by the caller). ``signatory`` defaults to ``organisation``; ``footer``
    defaults to the document number."""

    organisation: str
    title: str
    number: str
    addressee: str
    paragraphs: tuple[str, ...]
    issued_on: dt.date
    facts: tuple[tuple[str, str], ...] = ()
    legal_basis: str = ""
    appeal_rights: str = ""
    signatory: str | None = None
    footer: str | None = None

    def __post_init__(self) -> None:  # lists are accepted and kept as tuples (the spec stays hashable)
        object.__setattr__(self, "paragraphs", tuple(self.paragraphs))
        object.__setattr__(self, "facts", tuple((str(k), str(v)) for k, v in self.facts))


def chinese_date(day: dt.date) -> str:
    """2025年9月30日 (Arabic numerals, as GB/T 9704-2012 writes dates in official documents)."""
    return f"{day.year}年{day.month}月{day.day}日"


def _face_index(path: Path) -> int:
    from fontTools.ttLib import TTCollection

    with TTCollection(str(path), lazy=True) as c:
        for i, face in enumerate(c.fonts):
            family = face["name"].getDebugName(1) or ""
            if family.split()[-1:] == [_FACE]:
                return i
    raise FontMissing(f"{path.name} has no {_FACE} face: install the Debian package {FONT_PACKAGE}")


def _find(names: tuple[str, ...]) -> Path | None:
    for name in names:
        for d in FONT_DIRS:
            if (d / name).is_file():
                return d / name
        if FONT_ROOT.is_dir():
            found = sorted(FONT_ROOT.rglob(name))
            if found:
                return found[0]
    return None


# Line breaking (禁则): these never start a line (closing marks, pauses) or end one (opening marks).
_NO_START = set("，。、；：？！）》」』】〕〉”’…—·%‰℃,.;:?!)]}>")
_NO_END = set("（《「『【〔〈“‘([{<")
_LINE_HEIGHT = 9.0  # mm, for 14 pt text


def _tokens(text: str) -> list[str]:
    """Characters, with runs of Latin letters and digits kept whole (a number never splits)."""
    out: list[str] = []
    for ch in text:
        if out and ch.isascii() and ch.isalnum() and out[-1][-1].isascii() and out[-1][-1].isalnum():
            out[-1] += ch
        else:
            out.append(ch)
    return out


def break_lines(text: str, width: float, measure, first_indent: float = 0.0) -> list[str]:
    """``text`` broken into lines no wider than ``width`` (the first ``first_indent`` narrower), as
    Chinese typesetting does: between any two characters, but a closing mark never starts a line and
    an opening mark never ends one (the character before moves down with it); ``measure(s)`` gives a
    string's width."""
    lines: list[str] = []
    line: list[str] = []
    used = 0.0
    room = width - first_indent
    tokens = [t for tok in _tokens(text) for t in ([tok] if measure(tok) <= width else list(tok))]
    for tok in tokens:
        w = measure(tok)
        if line and used + w > room + 1e-6:
            carry: list[str] = []
            if tok in _NO_START and len(line) > 1:  # take the last character down with the mark
                carry.append(line.pop())
                while carry[0] in _NO_START and len(line) > 1:  # ）， : the one before it too
                    carry.insert(0, line.pop())
            while len(line) > 1 and line[-1] in _NO_END:
                carry.insert(0, line.pop())
            lines.append("".join(line))
            line, room = carry, width
            used = sum(measure(t) for t in line)
        line.append(tok)
        used += w
    if line or not lines:
        lines.append("".join(line))
    return lines


def _paragraph(pdf, text: str, indent: int = 2, keep_with_next: bool = False) -> None:
    """Paragraphs (one a line of ``text``) at the left margin, each first line indented by ``indent``
    characters, every other line but the last spread to the full width (两端对齐)."""
    for part in text.strip().splitlines() or [""]:
        if keep_with_next and pdf.get_y() + 2 * _LINE_HEIGHT > pdf.page_break_trigger:
            pdf.add_page()
        _lines(pdf, part.strip(), indent)


def _lines(pdf, text: str, indent: int) -> None:
    width = pdf.epw
    em = pdf.get_string_width("\u4e00")
    lines = break_lines(text, width, pdf.get_string_width, first_indent=indent * em)
    placed = []
    for i, line in enumerate(lines):
        x = pdf.l_margin + (indent * em if i == 0 else 0)
        room = pdf.l_margin + width - x
        spacing = 0.0
        if i < len(lines) - 1 and len(line) > 1:
            spacing = min(em / 2, max(0.0, (room - pdf.get_string_width(line)) / (len(line) - 1)))
        placed.append((x, room, spacing, line))
    for x, room, spacing, line in placed:
        pdf.set_x(x)
        pdf.set_char_spacing(spacing * pdf.k)  # fpdf2 takes points
        pdf.cell(room, _LINE_HEIGHT, line, new_x="LMARGIN", new_y="NEXT")
    pdf.set_char_spacing(0)


@lru_cache(maxsize=1)
def fonts() -> tuple[Font, Font]:
    """The regular and bold fonts (located once). Raises ``FontMissing`` naming the package."""
    regular = _find(_REGULAR)
    if regular is None:
        raise FontMissing(
            f"没有找到中文字体 Noto CJK（{' / '.join(_REGULAR)}），无法生成文书：请安装 Debian 软件包 "
            f"{FONT_PACKAGE}（apt-get install {FONT_PACKAGE}）"
        )
    # The bold of the same family when installed, else the other family's, else the regular face.
    bold = _find(tuple(n for n in _BOLD if n.split("-")[0] == regular.name.split("-")[0])) or _find(_BOLD) or regular
    return Font(regular, _face_index(regular)), Font(bold, _face_index(bold))


def _document():
    from fpdf import FPDF

    class _Letter(FPDF):
        footer_text = ""

        def footer(self) -> None:
            self.set_y(-15)
            self.set_font("body", size=9)
            self.set_text_color(*_MUTED)
            self.cell(0, 6, f"{self.footer_text}　第 {self.page_no()} 页，共 {{nb}} 页", align="C")
            self.set_text_color(*_INK)

    return _Letter(orientation="portrait", unit="mm", format="A4")


def render_letter(letter: LetterSpec) -> bytes:
    """The letter as PDF bytes; the same spec always gives the same bytes."""
    from fpdf.fonts import FontFace

    regular, bold = fonts()
    pdf = _document()
    pdf.footer_text = letter.footer if letter.footer is not None else letter.number
    pdf.set_creation_date(dt.datetime.combine(letter.issued_on, dt.time(), _TZ))
    pdf.set_title(letter.title)
    pdf.set_author(letter.organisation)
    pdf.set_subject(letter.number)
    pdf.set_creator("oip")
    pdf.set_lang("zh-CN")
    pdf.add_font("body", "", str(regular.path), collection_font_number=regular.index)
    pdf.add_font("heading", "", str(bold.path), collection_font_number=bold.index)
    pdf.set_margins(_MARGIN, _MARGIN, _MARGIN)
    pdf.set_auto_page_break(True, margin=22)
    pdf.add_page()
    width = pdf.epw

    # Header: the issuing organisation in red over a red rule (红头), the title, the document number.
    pdf.set_font("heading", size=18)
    pdf.set_text_color(*_RED)
    pdf.multi_cell(width, 10, letter.organisation, align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_draw_color(*_RED)
    pdf.set_line_width(0.6)
    y = pdf.get_y() + 2
    pdf.line(_MARGIN, y, _MARGIN + width, y)
    pdf.set_text_color(*_INK)
    pdf.set_draw_color(*_INK)
    pdf.set_y(y + 6)
    pdf.set_font("heading", size=22)
    pdf.multi_cell(width, 12, letter.title, align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("body", size=12)
    pdf.multi_cell(width, 8, letter.number, align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)

    # Addressee and body: paragraphs indented by two characters (首行缩进两字).
    pdf.set_font("body", size=14)
    _paragraph(pdf, f"{letter.addressee}：", indent=0)
    for text in letter.paragraphs:
        _paragraph(pdf, text)

    if letter.facts:
        pdf.ln(3)
        pdf.set_font("body", size=12)
        pdf.set_line_width(0.2)
        label_style = FontFace(family="heading", fill_color=_SHADE)
        with pdf.table(
            col_widths=(32, 68),
            width=width,
            first_row_as_headings=False,
            line_height=7,
            padding=1.5,
            text_align=("LEFT", "LEFT"),
        ) as table:
            for label, value in letter.facts:
                row = table.row()
                row.cell(label, style=label_style)
                row.cell(value)
        pdf.ln(3)

    for heading, text in (("法律依据", letter.legal_basis), ("救济途径", letter.appeal_rights)):
        if text:
            pdf.set_font("heading", size=14)
            _paragraph(pdf, heading, keep_with_next=True)
            pdf.set_font("body", size=14)
            _paragraph(pdf, text)

    # The foot: organisation and date, right-aligned (kept together on one page).
    if pdf.get_y() + 30 > pdf.page_break_trigger:
        pdf.add_page()
    pdf.ln(12)
    pdf.set_font("body", size=14)
    pdf.multi_cell(width - 8, 9, letter.signatory or letter.organisation, align="R", new_x="LMARGIN", new_y="NEXT")
    pdf.multi_cell(width - 8, 9, chinese_date(letter.issued_on), align="R", new_x="LMARGIN", new_y="NEXT")
    pdf.alias_nb_pages()
    return bytes(pdf.output())


def pdf_text(content: bytes) -> str:
    """The text of a PDF, page after page (for tests: the ``test`` extra installs pypdfium2).

    pypdf is not used: it reads the encoding CMap that fpdf2 embeds for CID-keyed CFF fonts (Noto
    CJK) as one-byte codes, so past the 255th distinct glyph it returns other characters; PDFium
    reads these files as Chromium and Acrobat do."""
    import pypdfium2 as pdfium

    doc = pdfium.PdfDocument(io.BytesIO(content))
    try:
        pages = []
        for i in range(len(doc)):
            page = doc[i]
            textpage = page.get_textpage()
            pages.append(textpage.get_text_range().replace("\r\n", "\n"))
            textpage.close()
            page.close()
        return "\n".join(pages)
    finally:
        doc.close()
