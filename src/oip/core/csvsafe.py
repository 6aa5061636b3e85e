"""CSV safety, one home for every reader and export: spreadsheet-formula escaping of exported cells, and
the Chinese words for what Python's ``csv`` module refuses.

A cell that a spreadsheet would take as a formula — one starting with ``=``, ``+``, ``-``, ``@`` — or
one starting with TAB, CR or LF (which spreadsheets strip or treat as a cell start, so ``"\\t=cmd"``
becomes a formula) gets a leading apostrophe, which spreadsheets show as text."""

from __future__ import annotations

import csv

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\n")


def safe_cell(value) -> str:
    """The text of an exported cell, a formula neutralised."""
    s = "" if value is None else str(value)
    return "'" + s if s[:1] in FORMULA_STARTS else s


def safe_cell_sql(expr: str) -> str:
    """``safe_cell`` as an SQL expression (DuckDB and PostgreSQL) over the text expression ``expr``."""
    starts = ", ".join(f"chr({ord(c)})" if c in "\t\r\n" else f"'{c}'" for c in FORMULA_STARTS)
    return f"CASE WHEN left({expr}, 1) IN ({starts}) THEN '''' || {expr} ELSE {expr} END"


def csv_error_reason(exc: csv.Error) -> str:
    """A Chinese reason for an error of Python's csv reader (its messages are English)."""
    msg = str(exc)
    if "field larger than field limit" in msg:
        return (
            f"有一个字段超过 {csv.field_size_limit() // 1024} KB 的上限"
            "（多半是英文双引号没有配对，使后面的内容都被当成了一个字段）"
        )
    if "new-line character seen in unquoted field" in msg:
        return "字段中有未加引号的换行符：含换行的字段须用英文双引号括起"
    if "line contains NUL" in msg or "NUL" in msg:
        return "含有空字符（NUL），不是文本文件"
    if "expected after" in msg or "unexpected end of data" in msg:
        return "英文双引号使用有误：字段中的双引号须写成两个双引号，且整个字段用双引号括起"
    return "不是合法的 CSV 格式"
