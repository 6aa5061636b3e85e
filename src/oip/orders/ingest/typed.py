"""The typed projection: each interface field of a source (CSV/JSON Lines text or native Parquet
types) as its typed value and — for the general path — the raw text of a value that does not
parse; the leaner projection of the one pass (``fast_typed_select``)."""

from __future__ import annotations

from oip.core.sqltext import in_list, literal
from oip.orders import ledger
from oip.orders.ingest.interface import COORD_FIELDS, FIELDS, INT_FIELDS, PARSED, STATUSES, TEXT_FIELDS, TIME_FIELDS

_TS_FORMATS = [
    "%Y-%m-%dT%H:%M:%S%z",
    "%Y-%m-%dT%H:%M:%S.%f%z",
    "%Y-%m-%dT%H:%M:%S.%n%z",
    "%Y-%m-%dT%H:%M%z",
    "%Y-%m-%d %H:%M:%S%z",
    "%Y-%m-%d %H:%M:%S.%f%z",
    "%Y-%m-%d %H:%M:%S.%n%z",
    "%Y-%m-%d %H:%M%z",
]


def _ts_from_text(s: str) -> str:
    """ISO 8601 with an offset (±HH:MM, ±HHMM, ±HH or Z); seconds and fractions optional; T or space."""
    z = f"CASE WHEN right({s}, 1) IN ('Z', 'z') THEN left({s}, length({s}) - 1) || '+00:00' ELSE {s} END"
    fmts = "[" + ", ".join(literal(f) for f in _TS_FORMATS) + "]"
    # The usual shape, 2026-08-01T12:30:00+08:00 (25 bytes, the offset's sign at 20), by the faster cast.
    return (
        f"CASE WHEN strlen({s}) = 25 AND {s}[20] IN ('+', '-') THEN TRY_CAST({s} AS TIMESTAMPTZ) "
        f"ELSE CAST(COALESCE(try_strptime({s}, '%Y-%m-%dT%H:%M:%S%z'), try_strptime({z}, {fmts})) AS TIMESTAMPTZ) END"
    )


def _int_from_text(s: str) -> str:
    """An integer written as a number ("650", also "650.0" or "6.5e2"); "6.5" does not parse (no
    silent rounding)."""
    d = f"TRY_CAST({s} AS DOUBLE)"
    return f"CASE WHEN {d} = trunc({d}) AND abs({d}) < 1e15 THEN CAST({d} AS BIGINT) END"


def _coord_from_text(s: str) -> str:
    """A decimal number (NaN and infinities parse here but fail the range checks)."""
    return f"TRY_CAST({s} AS DOUBLE)"


_INTEGER_TYPES = (
    "TINYINT",
    "SMALLINT",
    "INTEGER",
    "BIGINT",
    "UTINYINT",
    "USMALLINT",
    "UINTEGER",
    "UBIGINT",
    "HUGEINT",
    "UHUGEINT",
)
_FLOAT_TYPES = ("FLOAT", "DOUBLE", "DECIMAL", "REAL")


def _typed_columns(inputs: dict[str, tuple[str | None, str]]) -> tuple[list[str], list[str]]:
    """For each interface field, from (expression, DuckDB type) of the source, the expressions of
    the typed value and — for parsed fields — of the raw text when it does not parse.
    Returns (inner select list, outer select list): the inner query trims text once, the outer
    derives the raw columns."""
    inner: list[str] = []
    outer: list[str] = []
    for f in FIELDS:
        expr, typ = inputs.get(f, (None, "NULL"))
        base = typ.split("(")[0]
        if expr is None:
            inner.append(
                f"CAST(NULL AS {ledger.COLUMNS.get(f, 'VARCHAR') if f not in INT_FIELDS else 'BIGINT'}) AS {f}"
            )
            outer.append(f)
            if f in PARSED:
                outer.append(f"CAST(NULL AS VARCHAR) AS {f}__raw")
            continue
        val = f"CAST({expr} AS VARCHAR)"
        # trim only what needs it (most values do not: copying every string costs more than looking)
        text_expr = (
            f"NULLIF(CASE WHEN starts_with({val}, ' ') OR ends_with({val}, ' ') THEN trim({val}) ELSE {val} END, '')"
        )
        if f in TEXT_FIELDS:
            if f == "status":
                text_expr = f"CASE WHEN {val} IN {in_list(STATUSES)} THEN {val} ELSE lower({text_expr}) END"
            inner.append(f"{text_expr} AS {f}")
            outer.append(f)
            continue
        if base == "VARCHAR":
            inner.append(f"{text_expr} AS {f}__s")
            s = f"{f}__s"
            conv = {
                **{t: _ts_from_text for t in TIME_FIELDS},
                **{t: _int_from_text for t in INT_FIELDS},
                **{t: _coord_from_text for t in COORD_FIELDS},
            }[f](s)
            inner.append(f"{conv} AS {f}")
            outer.append(f)
            outer.append(f"CASE WHEN {s} IS NOT NULL AND {f} IS NULL THEN {s} END AS {f}__raw")
            continue
        # a native Parquet type
        if f in TIME_FIELDS:
            ok = base in ("TIMESTAMP WITH TIME ZONE", "TIMESTAMPTZ", "TIMESTAMPTZ_NS")
            typed = f"CAST({expr} AS TIMESTAMPTZ)" if ok else "CAST(NULL AS TIMESTAMPTZ)"
        elif f in INT_FIELDS:
            if base in _INTEGER_TYPES:
                typed = f"TRY_CAST({expr} AS BIGINT)"
            elif base in _FLOAT_TYPES:
                typed = (
                    f"CASE WHEN isfinite(CAST({expr} AS DOUBLE)) AND {expr} = trunc({expr}) AND abs({expr}) < 1e18 "
                    f"THEN CAST({expr} AS BIGINT) END"
                )
            else:
                typed = "CAST(NULL AS BIGINT)"
        else:
            if base in _INTEGER_TYPES + _FLOAT_TYPES:
                typed = f"CASE WHEN isfinite(CAST({expr} AS DOUBLE)) THEN CAST({expr} AS DOUBLE) END"
            else:
                typed = "CAST(NULL AS DOUBLE)"
        # The text of a value is only made for the rows whose value did not convert.
        inner.append(f"{typed} AS {f}")
        inner.append(f"{expr} AS {f}__o")
        outer.append(f)
        outer.append(f"CASE WHEN {f} IS NULL AND {f}__o IS NOT NULL THEN CAST({f}__o AS VARCHAR) END AS {f}__raw")
    return inner, outer


def typed_select(
    inputs: dict[str, tuple[str | None, str]], source_sql: str, pre_reason: str = "NULL", row_number: str | None = None
) -> str:
    """The typed projection of a source; ``row_number``: an expression of the source giving ``rn``."""
    inner, outer = _typed_columns(inputs)
    rn_in, rn_out = (f"{row_number} AS rn, ", "rn, ") if row_number else ("", "")
    return (
        f"SELECT {rn_out}pre_reason, {', '.join(outer)} FROM ("
        f"SELECT {rn_in}CAST({pre_reason} AS VARCHAR) AS pre_reason, {', '.join(inner)} FROM {source_sql})"
    )


def fast_typed_select(inputs: dict[str, tuple[str, str]], source_sql: str, stop: str) -> str | None:
    """The typed projection for the fast pass, or None when a column has a type it does not take.
    It leaves out what only the general path needs: no text is trimmed (the rules compare platform,
    industry, status, county and account with exact values, so padding fails them; an order_id is
    checked for it), no raw text is kept, and a value that does not convert evaluates ``stop`` (an
    error that ends the pass: the general path then says what is wrong)."""
    cols: list[str] = []
    for f in FIELDS:
        if f not in inputs:
            typ = "BIGINT" if f in INT_FIELDS else ledger.COLUMNS.get(f, "VARCHAR")
            cols.append(f"CAST(NULL AS {typ}) AS {f}")
        else:
            q, typ = inputs[f]
            base = typ.split("(")[0]
            if f in TEXT_FIELDS:
                if base != "VARCHAR":
                    return None
                cols.append(
                    f"CASE WHEN {q} = '' OR starts_with({q}, ' ') OR ends_with({q}, ' ') THEN {stop} "
                    f"ELSE {q} END AS {f}"
                    if f == "order_id"
                    else f"{q} AS {f}"
                )
            elif f in TIME_FIELDS:
                if base == "VARCHAR":  # the usual shapes with an offset: …T12:30:00+08:00, …T04:30:00Z
                    cols.append(
                        f"CASE WHEN {q}[20] IN ('+', '-', 'Z') THEN CAST({q} AS TIMESTAMPTZ) "
                        f"WHEN {q} IS NULL THEN NULL ELSE {stop} END AS {f}"
                    )
                elif base in ("TIMESTAMP WITH TIME ZONE", "TIMESTAMPTZ", "TIMESTAMPTZ_NS"):
                    cols.append(f"CAST({q} AS TIMESTAMPTZ) AS {f}")
                elif base == "TIMESTAMP_UTC":  # parsed from text with its offset, as UTC: the same instant
                    # (whole seconds, the only ones the format admits, so the epoch as a double is exact;
                    # twenty times cheaper than a time-zone conversion)
                    cols.append(f"to_timestamp(epoch({q})) AS {f}")
                else:
                    return None
            elif f in INT_FIELDS:
                if base in _INTEGER_TYPES:
                    cols.append(f"CAST({q} AS BIGINT) AS {f}")
                elif base in _FLOAT_TYPES:
                    cols.append(
                        f"CASE WHEN {q} IS NULL THEN NULL WHEN {q} = trunc({q}) AND abs({q}) < 1e15 "
                        f"THEN CAST({q} AS BIGINT) ELSE {stop} END AS {f}"
                    )
                else:
                    return None
            else:  # coordinates: NaN and infinities fail the range checks
                if base not in _INTEGER_TYPES + _FLOAT_TYPES:
                    return None
                cols.append(f"CAST({q} AS DOUBLE) AS {f}")
        if f in PARSED:
            cols.append(f"CAST(NULL AS VARCHAR) AS {f}__raw")
    return f"SELECT CAST(NULL AS VARCHAR) AS pre_reason, {', '.join(cols)} FROM {source_sql}"
