"""The general path (step 4 of the overview in ``oip.orders.ingest``): every row with its row
number and reasons, repeats within the batch, the rejects file."""

from __future__ import annotations

import csv
import io
import logging
import shutil
from pathlib import Path

import pyarrow as pa

from oip.core.csvsafe import safe_cell_sql
from oip.core.sqltext import ident, literal
from oip.orders.ingest.fast import repeated_hashes
from oip.orders.ingest.interface import CHUNK, FIELDS, PARSED, TIME_FIELDS, FileError, Progress
from oip.orders.ingest.plan import Plan, ledger_select, rejects_file, write_ledger_file
from oip.orders.ingest.rules import Context, validated_view
from oip.orders.ingest.source import Source, blank_lines, csv_reader, parquet_inputs, text_source, transcode
from oip.orders.ingest.sqlhelp import scalar, watch_progress
from oip.orders.ingest.typed import typed_select

log = logging.getLogger(__name__)


_BLANK = "__blank__"


def _stage_text(con, src: Source, work: Path, report: Progress) -> str:
    """CSV / JSON Lines → typed staging Parquet in file order (returned); the lines that could not
    be read at all go to the table ``structural`` (row = line, reason, raw line).

    A CSV file whose first MiB is ASCII was taken for UTF-8: when the reader finds bytes that are
    not UTF-8 further on, and the whole file is valid GB18030 (GBK), it is read again as that."""
    stage = _stage_text_as(con, src, work, report)
    if (
        src.fmt == "csv"
        and src.ascii_head
        and not src.transcode
        and scalar(con, "SELECT count(*) FROM reject_lines WHERE error_type IN ('INVALID ENCODING', 'INVALID UNICODE')")
    ):
        try:
            transcode(src.path, work / "utf8.csv")
        except FileError:  # not GB18030 either: a UTF-8 file with broken lines, rejected as such
            (work / "utf8.csv").unlink(missing_ok=True)
        else:
            log.info("the file is GB18030 after an ASCII beginning: read again as that")
            src.encoding, src.transcode = "GB18030", True
            con.execute("DROP TABLE reject_lines")
            con.execute("DROP TABLE reject_scan")
            stage = _stage_text_as(con, src, work, report)
    _structural(con, src)
    return stage


def _stage_text_as(con, src: Source, work: Path, report: Progress) -> str:
    path = text_source(src, work)
    stage = work / "stage.parquet"
    rejects_opts = "ignore_errors=true, store_rejects=true, rejects_table='reject_lines', rejects_scan='reject_scan'"
    if src.fmt == "csv":
        reader = csv_reader(src, path, {}, rejects_opts)
        inputs = {f: (ident(f), "VARCHAR") for f in FIELDS if f in src.header}
        sql = typed_select(inputs, reader)
    else:
        reader = (
            f"read_csv({literal(str(path))}, columns={{'j': 'VARCHAR'}}, delim={literal(chr(1))}, quote='', escape='', "
            f"header=false, auto_detect=false, max_line_size=4194304, {rejects_opts})"
        )
        paths = "[" + ", ".join(literal(f"$.{f}") for f in FIELDS) + "]"
        obj = "(json_valid(j) AND json_type(j) = 'OBJECT')"
        inner = f"(SELECT j, CASE WHEN {obj} THEN json_extract(j, {paths}) END AS e FROM {reader})"
        inputs = {}
        kinds = []
        for i, f in enumerate(FIELDS, start=1):
            val = f"e[{i}]"
            inputs[f] = (
                f"CASE WHEN json_type({val}) = 'VARCHAR' THEN {val} ->> '$' "
                f"WHEN json_type({val}) IN ('BIGINT', 'UBIGINT', 'DOUBLE') THEN CAST({val} AS VARCHAR) "
                f"WHEN json_type({val}) IS NULL OR json_type({val}) = 'NULL' THEN NULL "
                f"ELSE CAST({val} AS VARCHAR) END",
                "VARCHAR",
            )
            kinds.append(
                f"CASE WHEN json_type({val}) IN ('OBJECT', 'ARRAY', 'BOOLEAN') "
                f"THEN {literal(f + '：应为字符串或数字')} END"
            )
        pre = (
            f"CASE WHEN j IS NULL OR trim(j) = '' THEN '{_BLANK}' WHEN e IS NULL THEN '该行不是合法的 JSON 对象' "
            f"ELSE NULLIF(concat_ws('；', {', '.join(kinds)}), '') END"
        )
        sql = typed_select(inputs, inner, pre_reason=pre)
    con.execute("SET preserve_insertion_order = true")  # a record's position in the staging file is its row
    with watch_progress(con, report, "逐行校验", 0.1, 0.35):
        con.execute(
            f"COPY ({sql}) TO {literal(str(stage))} (FORMAT parquet, COMPRESSION snappy, ROW_GROUP_SIZE 122880)"
        )
    con.execute("SET preserve_insertion_order = false")
    return str(stage)


def _structural(con, src: Source) -> None:
    """Lines the reader could not split, one row each (a line may have several errors), kept in DuckDB."""
    names = {
        "MISSING COLUMNS": "列数少于表头",
        "TOO MANY COLUMNS": "列数多于表头（字段中含逗号时须用英文双引号括起）",
        "UNQUOTED VALUE": "引号使用不正确",
        "LINE SIZE OVER MAXIMUM": "该行过长",
        "INVALID ENCODING": "含有无法识别的字符（编码错误）",
        "INVALID UNICODE": "含有无法识别的字符（编码错误）",
    }
    kind = "CSV" if src.fmt == "csv" else "JSON Lines"
    what = (
        "CASE error_type "
        + " ".join(f"WHEN {literal(k)} THEN {literal(v)}" for k, v in names.items())
        + " ELSE error_type END"
    )
    con.execute(f"""INSERT INTO structural
        SELECT line, {literal(f"该行无法按 {kind} 解析：")} || string_agg(DISTINCT {what}, '、'),
               left(ltrim(any_value(csv_line), chr(13) || chr(10)), 2000)
        FROM reject_lines GROUP BY line""")


class _Rows:
    """Row numbers as the report shows them. A record's position ``rn`` in what the reader produced
    becomes its line (CSV, JSON Lines) by adding the offset and the number of lines before it that
    produced no record: empty lines (found by scanning the file, only when a row number is needed)
    and lines the reader rejected. Parquet: the record number."""

    def __init__(self, con, src: Source, work: Path):
        self.con, self.src, self.work = con, src, work
        self.offset = {"csv": 2, "jsonl": 1}.get(src.fmt, 1)
        self._ready = src.fmt == "parquet"
        self.has_gaps = False

    def _ensure(self) -> None:
        if self._ready:
            return
        self._ready = True
        self.con.execute("CREATE TABLE gap_lines AS SELECT row AS line FROM structural")
        if self.src.fmt == "csv":  # the CSV reader skips empty lines; the JSON Lines reader keeps them as rows
            text_file = text_source(self.src, self.work)
            blank = [(ln,) for ln in blank_lines(text_file) if ln >= self.offset]
            if blank:
                self.con.executemany("INSERT INTO gap_lines VALUES (?)", blank)
        if not scalar(self.con, "SELECT count(*) FROM gap_lines"):
            return
        # For the k-th gap line (k from 1): the rows before it are line - offset - (k - 1); a row at
        # position rn has as many gaps before it as the largest k whose key is ≤ rn.
        self.con.execute(f"""CREATE TABLE gaps AS
            SELECT key, max(k) AS cnt FROM (
                SELECT line - {self.offset} - (row_number() OVER (ORDER BY line) - 1) AS key,
                       row_number() OVER (ORDER BY line) AS k
                FROM (SELECT DISTINCT line FROM gap_lines)) GROUP BY key""")
        self.has_gaps = True

    def expr(self, alias: str) -> str:
        self._ensure()
        if self.has_gaps:
            return f"({alias}.rn + {self.offset} + COALESCE(gp.cnt, 0))"
        return f"({alias}.rn + {self.offset})"

    def join(self, alias: str) -> str:
        self._ensure()
        return f" ASOF LEFT JOIN gaps gp ON {alias}.rn >= gp.key" if self.has_gaps else ""


def stage_general(con, ctx: Context, src: Source, work: Path, staged: Path, plan: Plan, report: Progress, step) -> None:
    """Every row with its row number: reasons, repeats of an order_id in the batch (duplicates or
    conflicts), the rejects file; the valid rows not repeated go to ``staged``."""
    if src.fmt == "parquet":
        inputs = parquet_inputs(src)
        source = f"read_parquet({literal(str(src.path))}, file_row_number=true)"
        con.execute(f"CREATE VIEW t AS {typed_select(inputs, source, row_number='file_row_number')}")
    else:
        stage = _stage_text(con, src, work, report)
        # An empty JSON Lines line is read as a row (its position keeps the line numbers) but is no record.
        con.execute(
            f"CREATE VIEW t AS SELECT file_row_number AS rn, * EXCLUDE (file_row_number) "
            f"FROM read_parquet({literal(stage)}, file_row_number=true) WHERE pre_reason IS DISTINCT FROM '{_BLANK}'"
        )
    rows_of = _Rows(con, src, work)
    step("read")
    plan.received = scalar(con, "SELECT count(*) FROM t") + scalar(con, "SELECT count(*) FROM structural")
    con.execute(validated_view(ctx))

    # 1. order_ids that occur more than once in the batch (by hash first, then the exact strings).
    repeated = pa.table(
        {"hk": repeated_hashes(con, "SELECT hash(order_id) AS h FROM t WHERE order_id IS NOT NULL", plan.received)}
    )
    con.register("repeated_hashes", repeated)
    con.execute("CREATE TABLE dup_keys AS SELECT CAST(hk AS UBIGINT) AS hk FROM repeated_hashes")
    con.unregister("repeated_hashes")
    con.execute("CREATE TABLE conflict (rn BIGINT, reason VARCHAR)")
    con.execute("CREATE TABLE excluded (rn BIGINT)")  # valid rows that are not written: repeats and conflicts
    if scalar(con, "SELECT count(*) FROM dup_keys"):
        raw_cols = ", ".join(f"v.{f}__raw" for f in PARSED)
        con.execute(f"""CREATE TABLE dg AS
            SELECT v.rn, v.order_id, v.reason IS NULL AS valid,
                   CASE WHEN v.reason IS NULL THEN v.h
                        ELSE CAST(hash(v.h, v.pre_reason, {raw_cols}) >> 1 AS BIGINT) END AS k
            FROM v WHERE hash(v.order_id) IN (SELECT hk FROM dup_keys)""")
        con.execute(f"""CREATE TABLE dgs AS
            SELECT order_id, count(DISTINCT k) AS nk, min(rn) AS first_rn,
                   array_to_string(list(CAST(row AS VARCHAR) ORDER BY rn)[1:20], '、')
                       || CASE WHEN count(*) > 20 THEN ' 等 ' || count(*) || ' ' ELSE '' END AS rows
            FROM (SELECT dg.*, {rows_of.expr("dg")} AS row FROM dg{rows_of.join("dg")})
            GROUP BY order_id HAVING count(*) > 1""")
        con.execute("""INSERT INTO conflict
            SELECT dg.rn, 'order_id：同一订单号在本批中出现多次且内容不一致（第 ' || dgs.rows || ' 行）'
            FROM dg JOIN dgs USING (order_id) WHERE dgs.nk > 1""")
        con.execute("""INSERT INTO excluded
            SELECT dg.rn FROM dg JOIN dgs USING (order_id)
            WHERE dg.valid AND (dgs.nk > 1 OR dg.rn <> dgs.first_rn)""")
        plan.duplicates = scalar(
            con,
            """SELECT count(*) FROM dg JOIN dgs USING (order_id)
                                          WHERE dg.valid AND dgs.nk = 1 AND dg.rn <> dgs.first_rn""",
        )
    step("duplicates")

    # 2. One pass over every row: the reasons of those that are not valid.
    con.execute("CREATE TABLE verdict AS SELECT rn, order_id, reason FROM v WHERE NOT v.ok")
    step("verdict")

    # 3. The rejects file: row, reason and the fields of every rejected record, in file order.
    report("写入拒绝清单", 0.4 if src.fmt != "parquet" else 0.35)
    con.execute("""CREATE TABLE rej AS
        SELECT rn, concat_ws('；', verdict.reason, c.reason) AS reason FROM verdict FULL JOIN conflict c USING (rn)""")
    plan.rejected = _write_rejects(con, ctx, work, rows_of)
    if plan.rejected:
        plan.rejects_path = rejects_file(ctx.batch_id)
    step("rejects")

    # 4. The valid rows, each order once: those the one pass wrote (Parquet) when they are exactly
    # these — no order_id twice, as many rows, none of them rejected here — else written now.
    if plan.fast_ok is not None:
        fast = f"read_parquet({literal(str(plan.fast_ok))})"
        if (
            not scalar(con, "SELECT count(*) FROM dup_keys")
            and plan.received - scalar(con, "SELECT count(*) FROM verdict") == plan.fast_written
            and not scalar(
                con,
                f"SELECT count(*) FROM {fast} WHERE order_id IN "
                f"(SELECT order_id FROM verdict WHERE order_id IS NOT NULL)",
            )
        ):
            shutil.move(str(plan.fast_ok), staged)
            plan.valid_new = plan.fast_written
            log.info("batch %s: the %s valid rows the one pass wrote are kept", ctx.batch_id, plan.fast_written)
            return
        plan.fast_ok.unlink()
    plan.valid_new = write_ledger_file(
        con, ledger_select(con, ctx, "v.ok AND v.rn NOT IN (SELECT rn FROM excluded)"), staged
    )


def _display(f: str) -> str:
    """A field of a rejected record as written in the rejects file: the raw text when it did not
    parse, else the value (timestamps in +08:00), spreadsheet formulas neutralised."""
    if f in TIME_FIELDS:
        fmt_s = f"strftime(r.{f}, '%Y-%m-%dT%H:%M:%S+08:00')"
        fmt_f = f"strftime(r.{f}, '%Y-%m-%dT%H:%M:%S.%f+08:00')"
        val = (
            f"COALESCE(r.{f}__raw, CASE WHEN r.{f} IS NULL THEN NULL WHEN epoch_us(r.{f}) % 1000000 = 0 "
            f"THEN {fmt_s} ELSE {fmt_f} END)"
        )
    elif f in PARSED:
        val = f"COALESCE(r.{f}__raw, CAST(r.{f} AS VARCHAR))"
    else:
        val = f"r.{f}"
    return f"{safe_cell_sql(val)} AS {f}"


def _write_rejects(con, ctx: Context, work: Path, rows_of: _Rows) -> int:
    if not scalar(con, "SELECT (SELECT count(*) FROM rej) + (SELECT count(*) FROM structural)"):
        return 0
    body = work / "rejects-body.csv"
    fields = ", ".join(_display(f) for f in FIELDS)
    nulls = ", ".join(f"NULL AS {f}" for f in FIELDS)
    count = scalar(
        con,
        f"""COPY (
        SELECT * FROM (
            SELECT {rows_of.expr("r")} AS row, r.reason, {fields}, NULL AS raw
            FROM (SELECT rej.reason AS reason, t.* EXCLUDE (pre_reason) FROM rej JOIN t USING (rn)) r{rows_of.join("r")}
            UNION ALL
            SELECT row, reason, {nulls}, {safe_cell_sql("raw")}
            FROM structural)
        ORDER BY row) TO {literal(str(body))} (FORMAT csv, HEADER false)""",
    )
    target = rejects_file(ctx.batch_id)
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(target, "wb") as out, open(body, "rb") as fin:
        out.write("\ufeff".encode())
        header = io.StringIO()
        csv.writer(header, lineterminator="\n").writerow(["row", "reason", *FIELDS, "raw"])
        out.write(header.getvalue().encode())
        shutil.copyfileobj(fin, out, CHUNK)
    return int(count or 0)
