"""SQL text for the analytical engines: values written into SQL as literals (pure; no database).

The ledger's jobs and the import build SQL text for DuckDB (and the same text for Spark), where a
query with parameters is not always possible (``read_parquet`` of a list of files, COPY … TO a path,
SQL that both engines run). Every value written into such SQL goes through ``literal``:

- text in single quotes, a quote inside doubled (``O'Brien`` → ``'O''Brien'``). A backslash is an
  ordinary character in standard SQL (DuckDB, PostgreSQL) and is kept as it is; Spark SQL reads it
  as an escape, so SQL meant for both engines asks for ``portable=True``, which refuses it;
- a NUL character is refused (no engine keeps it in a string; it would cut the text short);
- ``None`` → ``NULL``, booleans → ``TRUE``/``FALSE``, integers and Decimals as numbers, finite floats
  by ``repr`` (NaN and infinities refused), dates → ``DATE '…'``, times (time-zone aware only) →
  ``TIMESTAMPTZ '…'`` in UTC; paths as their text.
"""

from __future__ import annotations

import datetime as dt
import decimal
import math
import os
from collections.abc import Iterable
from typing import Any


def string(value: str | os.PathLike, *, portable: bool = False) -> str:
    """A text literal: ``'…'`` with quotes doubled."""
    s = os.fspath(value) if isinstance(value, os.PathLike) else value
    if not isinstance(s, str):
        raise TypeError(f"not text: {type(value).__name__}")
    if "\x00" in s:
        raise ValueError("a NUL character cannot be written in SQL text")
    if portable and "\\" in s:
        raise ValueError("a backslash is read differently by DuckDB and Spark: not allowed in portable SQL")
    return "'" + s.replace("'", "''") + "'"


def literal(value: Any, *, portable: bool = False) -> str:
    """The SQL literal of a Python value (see the module's description)."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return str(int(value))
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"{value!r} has no SQL literal")
        return repr(value)
    if isinstance(value, decimal.Decimal):
        if not value.is_finite():
            raise ValueError(f"{value!r} has no SQL literal")
        return str(value)
    if isinstance(value, dt.datetime):
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError("a time without a time zone is ambiguous: give an aware datetime")
        return f"TIMESTAMPTZ '{value.astimezone(dt.UTC).isoformat()}'"
    if isinstance(value, dt.date):
        return f"DATE '{value.isoformat()}'"
    if isinstance(value, (str, os.PathLike)):
        return string(value, portable=portable)
    raise TypeError(f"no SQL literal for a {type(value).__name__}")


def in_list(values: Iterable[Any], *, portable: bool = False) -> str:
    """``(v1, v2, …)`` for ``IN``."""
    return "(" + ", ".join(literal(v, portable=portable) for v in values) + ")"


def array(values: Iterable[Any], *, portable: bool = False) -> str:
    """``[v1, v2, …]``: a list literal (DuckDB), e.g. the files of ``read_parquet``."""
    return "[" + ", ".join(literal(v, portable=portable) for v in values) + "]"


def ident(name: str) -> str:
    """A quoted identifier: ``"name"`` with double quotes doubled."""
    if "\x00" in name:
        raise ValueError("a NUL character cannot be written in an SQL identifier")
    return '"' + name.replace('"', '""') + '"'
