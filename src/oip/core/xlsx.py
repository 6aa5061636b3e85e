"""Excel exports (officers live in Excel): one workbook of one or more sheets, with a title row,
bold headers, money in yuan with two decimals (from integer fen, exactly: Decimal, never float
arithmetic on fen) and frozen headers. ``response`` wraps it as a download with a UTF-8 file name."""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from urllib.parse import quote

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@dataclass(frozen=True)
class Money:
    """A cell holding fen, written as yuan (¥ with two decimals)."""

    fen: int | None


@dataclass
class Sheet:
    title: str  # the sheet's name (≤ 31 characters) and its first row
    headers: list[str]
    rows: list[list[Any]] = field(default_factory=list)
    note: str = ""  # a line under the table (source, suppression, units)


def workbook(sheets: list[Sheet]) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    wb = Workbook()
    wb.remove(wb.active)
    for sh in sheets:
        ws = wb.create_sheet(sh.title[:31].replace("/", "-"))
        ws.append([sh.title])
        ws["A1"].font = Font(bold=True, size=13)
        ws.append(sh.headers)
        for c in ws[2]:
            c.font = Font(bold=True)
        for row in sh.rows:
            ws.append(
                [
                    Decimal(v.fen) / 100
                    if isinstance(v, Money) and v.fen is not None
                    else (None if isinstance(v, Money) else v)
                    for v in row
                ]
            )
            for i, v in enumerate(row, 1):
                if isinstance(v, Money):
                    ws.cell(row=ws.max_row, column=i).number_format = "#,##0.00"
        if sh.note:
            ws.append([])
            ws.append([sh.note])
        ws.freeze_panes = "A3"
        for i, h in enumerate(sh.headers, 1):
            width = max([len(str(h)) * 2] + [len(str(r[i - 1])) + 2 for r in sh.rows[:200] if i <= len(r)])
            ws.column_dimensions[get_column_letter(i)].width = min(max(width, 10), 48)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def response(name: str, sheets: list[Sheet]):
    """A download of the workbook as ``name``.xlsx (Chinese file names via RFC 5987)."""
    from fastapi.responses import Response

    body = workbook(sheets)
    fname = name if name.endswith(".xlsx") else name + ".xlsx"
    return Response(
        body,
        media_type=XLSX_TYPE,
        headers={"Content-Disposition": f"attachment; filename=\"export.xlsx\"; filename*=UTF-8''{quote(fname)}"},
    )
