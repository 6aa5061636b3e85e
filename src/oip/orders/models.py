"""Manifests of the order ledger. The orders themselves live in Parquet files (oip.orders.ledger);
PostgreSQL holds what makes them consistent: which batches are published and their files, which
order versions were superseded by corrections, and per-worker-month summaries."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ARRAY, BigInteger, Date, DateTime, Float, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from oip.core.db import Base, IdMixin


class OrderBatch(IdMixin, Base):
    """`OrderBatch` — 订单数据批次: one file or upload of a platform's orders. ``status``: staging
    (being imported, invisible), published (its files are part of the ledger), failed.
    Always ``received = accepted + rejected + duplicates``."""

    __tablename__ = "order_batches"
    platform_id: Mapped[int] = mapped_column(ForeignKey("platforms.id"), index=True)
    source: Mapped[str] = mapped_column(String(16))
    filename: Mapped[str | None] = mapped_column(String(256))
    fmt: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default="staging", index=True)
    received: Mapped[int] = mapped_column(BigInteger, default=0)
    accepted: Mapped[int] = mapped_column(BigInteger, default=0)
    rejected: Mapped[int] = mapped_column(BigInteger, default=0)
    duplicates: Mapped[int] = mapped_column(BigInteger, default=0)
    corrections: Mapped[int] = mapped_column(BigInteger, default=0)
    rejects_path: Mapped[str | None] = mapped_column(Text)
    error: Mapped[str | None] = mapped_column(Text)
    submitted_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    started_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    published_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    seconds: Mapped[float | None] = mapped_column(Float)

    platform = relationship("Platform", lazy="joined")
    files: Mapped[list[OrderFile]] = relationship(lazy="selectin", order_by="OrderFile.id")


class OrderFile(IdMixin, Base):
    """One Parquet file of a published batch: the orders of one platform taken in one month
    (Asia/Shanghai), in the order of the platform's file. ``path`` is relative to the
    ledger directory."""

    __tablename__ = "order_files"
    batch_id: Mapped[int] = mapped_column(ForeignKey("order_batches.id"), index=True)
    platform_code: Mapped[str] = mapped_column(String(32))
    month: Mapped[str] = mapped_column(String(7))
    path: Mapped[str] = mapped_column(Text, unique=True)
    rows: Mapped[int] = mapped_column(BigInteger)
    min_accepted_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    max_accepted_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    # The smallest and largest order_id in the file (byte order, as DuckDB compares text): an
    # import reads the order-id index only of files whose range may hold one of its ids. NULL: unknown.
    min_order_id: Mapped[str | None] = mapped_column(String(64))
    max_order_id: Mapped[str | None] = mapped_column(String(64))


class OrderSupersession(Base):
    """An order version replaced by a corrected one (same order_id, different content). Queries of
    the ledger leave superseded versions out; nothing is overwritten."""

    __tablename__ = "order_supersessions"
    platform_code: Mapped[str] = mapped_column(String(32), primary_key=True)
    order_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    month: Mapped[str] = mapped_column(String(7), index=True)
    by_batch_id: Mapped[int] = mapped_column(ForeignKey("order_batches.id"))


class WorkerMonth(Base):
    """`WorkerMonth` — 人员接单月汇总: a worker account's orders in one month (Asia/Shanghai) in one
    county, with the orders of each day of the month (``day_orders[d]``, 1-based: day ``d``; 0 on a
    day without orders) and the span of each day's orders (``day_first``, ``day_last``). The insured count (distinct workers with at least one order on a day or in
    a month) and the coverage look-up's first step (on which days did this account work?) start
    here. One row per account, month and county keeps the table small enough to be written in the
    import's transaction at the rate orders arrive (about one row per 170 orders)."""

    __tablename__ = "worker_months"
    # No foreign key: derived data, written only by the import of the platform (a key check per row
    # cost a third of the copy).
    platform_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    account_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    month: Mapped[dt.date] = mapped_column(Date, primary_key=True, index=True)  # the first day of the month
    county_code: Mapped[str] = mapped_column(String(6), primary_key=True)
    person_id: Mapped[int] = mapped_column(BigInteger)
    orders: Mapped[int] = mapped_column(Integer)
    completed: Mapped[int] = mapped_column(Integer)
    day_orders: Mapped[list[int]] = mapped_column(ARRAY(Integer))
    # Seconds from the local midnight of day d to its first acceptance and to its last finish (NULL
    # on a day without orders): the part of the day a coverage look-up reads.
    day_first: Mapped[list[int | None]] = mapped_column(ARRAY(Integer))
    day_last: Mapped[list[int | None]] = mapped_column(ARRAY(Integer))
    first_accepted_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    last_finished_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))

    def active_days(self) -> list[dt.date]:
        """The days of the month with at least one order."""
        return [self.month + dt.timedelta(days=i) for i, n in enumerate(self.day_orders or []) if n]
