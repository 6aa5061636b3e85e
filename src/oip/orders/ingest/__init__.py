"""Import of a platform's order file (interface v1, docs/interfaces/orders-v1.md) into the ledger.

One file is one batch (``OrderBatch``). Everything heavy runs as SQL in DuckDB (an on-disk database
per batch under ``var/ingest/``, memory-limited, spilling to disk); Python only orchestrates:

1. (``pipeline``) The batch row is committed with status ``staging`` (invisible) on a dedicated PostgreSQL
   connection that holds a session-level advisory lock on the batch id for as long as the import
   runs: a batch left in ``staging`` whose lock is free belongs to a dead process and is marked
   failed by the next import (``recover_interrupted``).
2. (``pipeline``) A second transaction on that connection takes the platform's import lock (imports of one platform
   run one after another, so "already stored?" cannot race), copies the platform's accounts and the
   counties into DuckDB, and stays open until publishing.
3. (``fast``) The fast path, for the file a platform normally sends (CSV or Parquet, every row valid, every
   order_id once): one DuckDB pass reads the file (CSV with the reader's own parsing of numbers
   and of timestamps with an offset), checks every rule of view ``v`` and writes the rows in the
   ledger's columns to a staged Parquet file — no row numbers, no reasons. In a CSV file the first
   row that breaks a rule (or a value the reader cannot parse, a line it cannot split) stops the
   pass with an error; a Parquet file's such rows are left out (its metadata counts its rows), and
   the general path keeps what the pass wrote if that is exactly the valid rows. Then an order_id
   twice is looked for (the ids' 64-bit hashes sorted in memory; a hash aggregate in DuckDB for
   files too big for that) while the per-worker-month summaries of the staged rows are added to
   PostgreSQL under a savepoint, in binary COPY format (``oip.orders.summaries``; copied straight
   in when the platform has none yet for those months; left to step 5 when the ledger holds orders
   of the platform from the batch's time span, as when a file is sent twice). Anything found: the
   staged file and the savepoint are dropped and the batch takes the general path (a dirty file
   costs that first pass). The columns with few values reach the Parquet writer as ENUMs (the file
   holds plain strings either way).
4. (``general``) The general path: CSV and JSON Lines are read once, in file order, into a typed staging Parquet
   file (GBK/GB18030 CSV is first transcoded to UTF-8 in a streaming pass); a record's row number is
   its position there. Lines the reader cannot split are rejects of their own. Parquet is read in
   place (``file_row_number``), keeping native types. Every row gets ``ok`` and, when not ok, one
   reason string — every failing rule, in Chinese with the field, joined with '；' — from view
   ``v``. Repeats of an order_id in the batch (hash grouping) are duplicates (same content) or
   conflicts (other content: every copy rejected). The rejects file (CSV, UTF-8 with BOM,
   ``var/rejects/batch-<id>.csv``) is written and the valid rows, each order once, are staged
   (or, for Parquet, the one pass's rows kept when they are exactly these: step 3).
5. (``stored``) Both paths: the staged rows are compared with what the ledger holds for their months ±1 and
   for any other month whose order-id index (``ledger.months_holding``) holds one of their ids' hashes
   (hash join on order_id): same content → duplicate; other content → a correction, written as the next
   version, the old one superseded (content hashes of both sides find the equal ones, the rest are
   compared value by value). The final files, one per month, are the staged file itself (all new,
   one month) or rewritten from it, each with its order-id index; their per-worker-month summaries
   are added (or kept from step 3), and those of the months that held a superseded version are
   summed again.
6. (``pipeline``) ``ledger.publish`` moves the files into place and lists them, the superseded versions are copied
   in, the batch's counts and an audit event are written — and the one transaction commits. Before
   that commit nothing of the batch is visible. A failure the process survives marks the batch
   ``failed`` and deletes its files; after a crash, unlisted files are removed by the next import
   (or ``oip orders sweep``).

Row numbers in reasons and in the rejects file: CSV — the line number in the file (the header is
line 1); JSON Lines — the line number; Parquet — the record number (1-based). Empty lines are not
records and are not counted; a CSV record with a line break inside quotes counts as one row.

``received = accepted + rejected + duplicates`` always: the counts are reconciled with what was
actually written before anything is published.

The modules, in the order a row meets them: ``interface`` (the fields and limits of interface v1,
``FileError``, ``ImportResult``), ``source`` (reading the file: format, encoding, header),
``typed`` (the typed projection of a source), ``rules`` (view ``v``: every rule as SQL, the content
hash), ``plan`` (what an import decided, its directories, the valid rows in the ledger's columns),
``fast``, ``general`` and ``stored`` (steps 3, 4 and 5), ``pipeline`` (``import_file``: steps 1, 2
and 6); ``sqlhelp`` holds small helpers for DuckDB and PostgreSQL COPY. Callers use only what this
package exports."""

from __future__ import annotations

from oip.orders.ingest.interface import (
    AUDIT_ACTION_NAMES,
    COORD_FIELDS,
    FIELDS,
    FORMATS,
    FUTURE_TOLERANCE,
    INT_FIELDS,
    LAT_RANGE,
    LNG_RANGE,
    MAX_DISTANCE_M,
    MAX_DURATION_HOURS,
    MAX_ID_LENGTH,
    MAX_INCOME_FEN,
    PARSED,
    REQUIRED,
    SOURCES,
    STATUS_NAMES,
    STATUSES,
    TEXT_FIELDS,
    TIME_FIELDS,
    FileError,
    ImportResult,
    Progress,
)
from oip.orders.ingest.pipeline import import_file, recover_interrupted
from oip.orders.ingest.plan import rejects_file
from oip.orders.ingest.rules import CONTENT_COLUMNS, content_hash_sql
from oip.orders.ingest.source import guess_format, open_source

__all__ = [
    "AUDIT_ACTION_NAMES",
    "CONTENT_COLUMNS",
    "COORD_FIELDS",
    "FIELDS",
    "FORMATS",
    "FUTURE_TOLERANCE",
    "INT_FIELDS",
    "LAT_RANGE",
    "LNG_RANGE",
    "MAX_DISTANCE_M",
    "MAX_DURATION_HOURS",
    "MAX_ID_LENGTH",
    "MAX_INCOME_FEN",
    "PARSED",
    "REQUIRED",
    "SOURCES",
    "STATUS_NAMES",
    "STATUSES",
    "TEXT_FIELDS",
    "TIME_FIELDS",
    "FileError",
    "ImportResult",
    "Progress",
    "content_hash_sql",
    "guess_format",
    "import_file",
    "open_source",
    "recover_interrupted",
    "rejects_file",
]
