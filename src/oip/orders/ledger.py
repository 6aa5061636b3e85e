"""The order ledger: append-only Parquet files, one set per published batch, laid out as
``<ledger>/orders/<YYYY-MM>/<platform>/b<batch>-<n>.parquet`` and listed in PostgreSQL
(``order_files``). A file is part of the ledger only when its batch is published, so publishing is
one PostgreSQL transaction: a crash before it leaves nothing visible.

Every file has the columns of ``COLUMNS`` (the platform order interface v1 plus what the ingest
adds: person, month, day, version, batch). ``month`` and ``day`` are the local
(Asia/Shanghai) month and date of ``accepted_at``: an order belongs to the month it was taken.
Rows keep the order of the platform's file (exports in acceptance order let a look-up read only the
row groups of the hours it asks about).

A corrected order (same order_id, other content) is a new row with ``version + 1``; the old version
is listed in ``order_supersessions`` and left out by ``current_orders``.

An ``order_id`` is unique per platform for ever, whatever the month of the order. So that an import
finds the stored version of an order in any month without reading every month's files, each ledger
file has an **order-id index**: the 64-bit DuckDB hashes of its order ids, in a Parquet file of its
own under ``<ledger>/order-ids/<hash tag>/`` at the ledger file's relative path. It is derived
data: written with the file and moved into place by ``publish`` (so it is there when the file is
listed), built from the file when it is missing (ledgers written before the index, files published
by other means), and started afresh under another tag should DuckDB's hash function ever change.
``sweep`` removes the index files of files no published batch lists."""

from __future__ import annotations

import datetime as dt
import functools
import os
import shutil
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import duckdb
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from oip.core import sqltext
from oip.core.config import get_settings
from oip.orders.models import OrderBatch, OrderFile, OrderSupersession

# Column name → DuckDB type, in file order. Spark reads the same files (timestamps are UTC instants).
COLUMNS: dict[str, str] = {
    "order_id": "VARCHAR",
    "platform_code": "VARCHAR",
    "worker_account_id": "VARCHAR",
    "person_id": "BIGINT",
    "industry": "VARCHAR",
    "county_code": "VARCHAR",
    "accepted_at": "TIMESTAMPTZ",
    "picked_up_at": "TIMESTAMPTZ",
    "finished_at": "TIMESTAMPTZ",
    "status": "VARCHAR",
    "start_lng": "DOUBLE",
    "start_lat": "DOUBLE",
    "end_lng": "DOUBLE",
    "end_lat": "DOUBLE",
    "distance_m": "INTEGER",
    "income_fen": "BIGINT",
    "month": "VARCHAR",
    "day": "DATE",
    "version": "INTEGER",
    "batch_id": "BIGINT",
}

_LOCK_KEY = 0x0A0D18  # pg_advisory_xact_lock key: publishing and sweeping the ledger exclude each other
ROW_GROUP_SIZE = 16_384  # small row groups: coverage look-ups prune on the time of the order (bench/load.py)
# How ledger files are written (DuckDB COPY options). Parquet 2 pages with delta and byte-stream-split
# encodings; dictionaries only for columns with few values (platform, industry, county, status, month):
# order and account ids would overflow them and cost a second encoding attempt. Spark 3.3+ reads these.
WRITE_OPTIONS = (
    f"FORMAT parquet, COMPRESSION snappy, PARQUET_VERSION V2, DICTIONARY_SIZE_LIMIT 1000, "
    f"ROW_GROUP_SIZE {ROW_GROUP_SIZE}"
)


def root() -> Path:
    return get_settings().ledger_path


def relative_path(month: str, platform_code: str, batch_id: int, n: int) -> str:
    return f"orders/{month}/{platform_code}/b{batch_id:09d}-{n:03d}.parquet"


def connect(database: str = ":memory:") -> duckdb.DuckDBPyConnection:
    """A DuckDB connection with the project's limits: bounded memory, spilling to var/duckdb-tmp."""
    s = get_settings()
    tmp = s.var_dir / "duckdb-tmp"
    tmp.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(database)
    con.execute(f"SET memory_limit = '{s.duckdb_memory_limit}'")
    con.execute(f"SET threads = {int(s.duckdb_threads)}")
    con.execute(f"SET temp_directory = {sqltext.literal(tmp.resolve())}")
    con.execute("SET TimeZone = 'Asia/Shanghai'")
    return con


@dataclass(frozen=True)
class Slice:
    """Which part of the ledger a job reads: months and platforms (None = all)."""

    months: tuple[str, ...] | None = None
    platforms: tuple[str, ...] | None = None


def files(session: Session, part: Slice = Slice()) -> list[Path]:
    """The published files of the slice, as absolute paths."""
    q = (
        select(OrderFile.path)
        .join(OrderBatch, OrderBatch.id == OrderFile.batch_id)
        .where(OrderBatch.status == "published")
    )
    if part.months is not None:
        q = q.where(OrderFile.month.in_(part.months))
    if part.platforms is not None:
        q = q.where(OrderFile.platform_code.in_(part.platforms))
    base = root()
    return [base / p for p in session.scalars(q.order_by(OrderFile.id))]


def superseded(session: Session, part: Slice = Slice()) -> list[tuple[str, str, int]]:
    """(platform_code, order_id, version) of every superseded version in the slice."""
    q = select(OrderSupersession.platform_code, OrderSupersession.order_id, OrderSupersession.version)
    if part.months is not None:
        q = q.where(OrderSupersession.month.in_(part.months))
    if part.platforms is not None:
        q = q.where(OrderSupersession.platform_code.in_(part.platforms))
    return [tuple(r) for r in session.execute(q)]


EMPTY_SELECT = "SELECT " + ", ".join(f"CAST(NULL AS {t}) AS {c}" for c, t in COLUMNS.items()) + " WHERE false"


def register_orders(
    con: duckdb.DuckDBPyConnection, session: Session, part: Slice = Slice(), name: str = "orders"
) -> None:
    """Make view ``name`` on ``con``: the current version of every order in the slice."""
    paths = files(session, part)
    sup = superseded(session, part)
    con.execute("CREATE OR REPLACE TEMP TABLE superseded (platform_code VARCHAR, order_id VARCHAR, version INTEGER)")
    if sup:
        # One Arrow table, not row by row: a correction may supersede a whole month of orders.
        import pyarrow as pa

        codes, ids, versions = zip(*sup)
        table = pa.table(
            {
                "platform_code": pa.array(codes, pa.string()),
                "order_id": pa.array(ids, pa.string()),
                "version": pa.array(versions, pa.int32()),
            }
        )
        con.register("superseded_in", table)
        con.execute("INSERT INTO superseded SELECT * FROM superseded_in")
        con.unregister("superseded_in")
    source = f"read_parquet({sqltext.array(paths)})" if paths else f"({EMPTY_SELECT})"
    con.execute(f"""CREATE OR REPLACE TEMP VIEW {name} AS
        SELECT o.* FROM {source} o
        WHERE NOT EXISTS (SELECT 1 FROM superseded s WHERE s.platform_code = o.platform_code
                          AND s.order_id = o.order_id AND s.version = o.version)""")


@dataclass
class StagedFile:
    """A Parquet file written by an import, waiting to be published."""

    path: Path  # where it was written (same filesystem as the ledger)
    month: str
    platform_code: str
    rows: int
    min_accepted_at: dt.datetime
    max_accepted_at: dt.datetime
    index: Path | None = None  # its order-id index (``write_index``), moved into place with it
    min_order_id: str | None = None  # the range of its order ids (None: unknown, its index is always read)
    max_order_id: str | None = None


# ---- the order-id index ----------------------------------------------------------------------------

_TAG_TEXT = "oip order-id index v1"


@functools.cache
def _hash_tag() -> str:
    """Names the index directory after DuckDB's hash of a fixed text: index files written with a
    hash function that differs from this DuckDB's are never read (they would miss orders)."""
    con = duckdb.connect()
    try:
        return f"{con.execute('SELECT hash(?)', [_TAG_TEXT]).fetchone()[0]:016x}"
    finally:
        con.close()


def index_root() -> Path:
    return root() / "order-ids" / _hash_tag()


def index_path(rel: str) -> Path:
    """The order-id index of the ledger file at relative path ``rel``."""
    return index_root() / rel


def write_index(con: duckdb.DuckDBPyConnection, ledger_file: Path, target: Path) -> None:
    """The order-id index of a ledger file: the hash of every order_id (every version) it holds.
    Written under a temporary name and renamed, so a reader never sees half of one."""
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(target.name + ".tmp")
    con.execute(
        f"COPY (SELECT hash(order_id) AS h FROM read_parquet({sqltext.array([ledger_file])})) "
        f"TO {sqltext.literal(tmp)} (FORMAT parquet, COMPRESSION uncompressed)"
    )
    os.replace(tmp, target)


def write_index_hashes(hashes, target: Path) -> None:
    """``write_index`` from the hashes already computed (a numpy array of ``hash(order_id)``)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(target.name + ".tmp")
    pq.write_table(pa.table({"h": pa.array(hashes, pa.uint64())}), tmp, compression="none", use_dictionary=False)
    os.replace(tmp, target)


def months_holding(
    con: duckdb.DuckDBPyConnection,
    session: Session,
    platform_code: str,
    hashes_sql: str,
    id_range: tuple[str, str],
    skip: Iterable[str] = (),
) -> set[str]:
    """The months (other than ``skip``) of the platform's published files whose order-id index holds
    one of the hashes of query ``hashes_sql`` (one column ``h``: ``hash(order_id)``) of ids in
    ``id_range`` (smallest, largest). Only the files whose own range of ids meets it (or is
    unknown) are looked at. A hash that two ids share only adds a month to compare; an order stored
    in a month is never missed. Indexes that are missing are built from their files first."""
    skip = set(skip)
    lo, hi = id_range
    q = (
        select(OrderFile.path, OrderFile.month)
        .join(OrderBatch, OrderBatch.id == OrderFile.batch_id)
        .where(
            OrderBatch.status == "published",
            OrderFile.platform_code == platform_code,
            (OrderFile.min_order_id.is_(None) | OrderFile.max_order_id.is_(None))
            # byte order (DuckDB's), whatever the database's collation
            | ((OrderFile.max_order_id.collate("C") >= lo) & (OrderFile.min_order_id.collate("C") <= hi)),
        )
        .order_by(OrderFile.id)
    )
    month_of: dict[str, str] = {}
    for rel, month in session.execute(q):
        if month in skip:
            continue
        idx = index_path(rel)
        if not idx.exists():
            write_index(con, root() / rel, idx)
        month_of[str(idx)] = month
    if not month_of:
        return set()
    found = con.execute(f"""SELECT DISTINCT filename FROM read_parquet({sqltext.array(month_of)}, filename=true)
                            WHERE h IN (SELECT h FROM ({hashes_sql}))""").fetchall()
    return {month_of[f] for (f,) in found}


def publish(
    session: Session,
    batch: OrderBatch,
    staged: Sequence[StagedFile],
    supersessions: Sequence[tuple[str, str, int, str]] = (),
) -> None:
    """Move the batch's files into the ledger and list them, in the caller's transaction.

    The files are renamed into place first (invisible: no published batch lists them yet); the
    caller's commit is the moment they become part of the ledger. If the commit fails, the files
    stay unlisted and ``sweep`` removes them."""
    session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _LOCK_KEY})
    base = root()
    for n, f in enumerate(staged):
        rel = relative_path(f.month, f.platform_code, batch.id, n)
        target = base / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(f.path, target)
        if f.index is not None:
            idx = index_path(rel)
            idx.parent.mkdir(parents=True, exist_ok=True)
            os.replace(f.index, idx)
        session.add(
            OrderFile(
                batch_id=batch.id,
                platform_code=f.platform_code,
                month=f.month,
                path=rel,
                rows=f.rows,
                min_accepted_at=f.min_accepted_at,
                max_accepted_at=f.max_accepted_at,
                min_order_id=f.min_order_id,
                max_order_id=f.max_order_id,
            )
        )
    for platform_code, order_id, version, month in supersessions:
        session.add(
            OrderSupersession(
                platform_code=platform_code, order_id=order_id, version=version, month=month, by_batch_id=batch.id
            )
        )
    batch.status = "published"
    session.flush()


def sweep(session: Session) -> list[Path]:
    """Delete ledger files that no published batch lists (left by a crash before publishing).
    Holds the ledger lock, so a publish in progress is never swept."""
    session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _LOCK_KEY})
    listed = {
        root() / p
        for p in session.scalars(
            select(OrderFile.path)
            .join(OrderBatch, OrderBatch.id == OrderFile.batch_id)
            .where(OrderBatch.status == "published")
        )
    }
    removed = []
    orders_dir = root() / "orders"
    if orders_dir.exists():
        for p in orders_dir.rglob("*.parquet"):
            if p not in listed:
                p.unlink()
                removed.append(p)
    # Order-id indexes of unlisted files, and indexes written with another hash function.
    indexes = root() / "order-ids"
    if indexes.exists():
        current = index_root()
        for d in indexes.iterdir():
            if d != current:
                shutil.rmtree(d, ignore_errors=True)
        if current.exists():
            for p in current.rglob("*.parquet"):
                if root() / p.relative_to(current) not in listed:
                    p.unlink()
    return removed
