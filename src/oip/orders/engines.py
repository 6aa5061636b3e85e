"""The ledger jobs, written once in SQL that DuckDB and Apache Spark both run.

A job is a query over the view ``orders`` (the current version of every order in a slice of the
ledger, see oip.orders.ledger). ``DuckDBEngine`` runs it in-process over the Parquet files;
``SparkEngine`` runs the same text on a Spark session — local mode here, a cluster in production
(``OIP_SPARK_MASTER``, e.g. ``spark://host:7077`` or ``yarn``; the ledger directory must then be on
storage every executor reads, such as HDFS or S3, given as ``OIP_LEDGER_DIR``)."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Sequence
from typing import Protocol

from sqlalchemy.orm import Session

from oip.core import sqltext
from oip.orders import ledger


class Engine(Protocol):
    name: str

    def query(self, sql: str) -> list[tuple]: ...


class DuckDBEngine:
    name = "duckdb"

    def __init__(self, session: Session, part: ledger.Slice = ledger.Slice()):
        self.con = ledger.connect()
        ledger.register_orders(self.con, session, part)

    def query(self, sql: str) -> list[tuple]:
        return self.con.execute(sql).fetchall()

    def close(self) -> None:
        self.con.close()


class SparkEngine:
    name = "spark"

    def __init__(self, session: Session, part: ledger.Slice = ledger.Slice(), spark=None):
        from pyspark.sql import SparkSession

        self.spark = spark or (
            SparkSession.builder.master(os.environ.get("OIP_SPARK_MASTER", "local[2]"))
            .appName("oip-ledger")
            .config("spark.sql.session.timeZone", "Asia/Shanghai")
            .config("spark.ui.enabled", "false")
            .getOrCreate()
        )
        paths = [str(p) for p in ledger.files(session, part)]
        sup = ledger.superseded(session, part)
        sup_df = self.spark.createDataFrame(sup, "platform_code string, order_id string, version int")
        sup_df.createOrReplaceTempView("superseded")
        if paths:
            self.spark.read.parquet(*paths).createOrReplaceTempView("orders_all")
        else:
            self.spark.sql(
                ledger.EMPTY_SELECT.replace("TIMESTAMPTZ", "TIMESTAMP").replace("VARCHAR", "STRING")
            ).createOrReplaceTempView("orders_all")
        self.spark.sql("""SELECT o.* FROM orders_all o LEFT ANTI JOIN superseded s
                          ON s.platform_code = o.platform_code AND s.order_id = o.order_id AND s.version = o.version""").createOrReplaceTempView(
            "orders"
        )

    def query(self, sql: str) -> list[tuple]:
        return [tuple(r) for r in self.spark.sql(sql).collect()]

    def close(self) -> None:
        pass  # the session is shared and reused


def _q(v: str) -> str:
    return sqltext.literal(v, portable=True)  # the same text runs on DuckDB and Spark


def _in(values: Sequence[str]) -> str:
    return sqltext.in_list(values, portable=True)


def billable_orders_sql(month: str, statuses: Sequence[str]) -> str:
    """Orders per platform taken in ``month`` with a billable status (the premium's base)."""
    return (
        f"SELECT platform_code, COUNT(*) AS orders FROM orders "
        f"WHERE month = {_q(month)} AND status IN {_in(statuses)} GROUP BY platform_code ORDER BY platform_code"
    )


def insured_counts_sql(month: str) -> str:
    """Distinct workers (persons) with at least one order in ``month``, per platform and city
    (the county code's first four digits + '00')."""
    return (
        f"SELECT platform_code, CONCAT(SUBSTRING(county_code, 1, 4), '00') AS city_code, "
        f"COUNT(DISTINCT person_id) AS insured FROM orders WHERE month = {_q(month)} "
        f"GROUP BY platform_code, CONCAT(SUBSTRING(county_code, 1, 4), '00') ORDER BY 1, 2"
    )


def reported_orders_sql(month: str) -> str:
    """Orders per platform taken in ``month``, every status (what the platforms reported)."""
    return (
        f"SELECT platform_code, COUNT(*) AS orders FROM orders WHERE month = {_q(month)} "
        f"GROUP BY platform_code ORDER BY platform_code"
    )


def billable_before_sql(month: str, statuses: Sequence[str], platform_code: str, day: dt.date) -> str:
    """Billable orders of one platform in ``month`` taken before ``day`` (before its coverage began)."""
    return (
        f"SELECT platform_code, COUNT(*) AS orders FROM orders WHERE month = {_q(month)} "
        f"AND platform_code = {_q(platform_code)} AND status IN {_in(statuses)} "
        f"AND day < DATE {_q(day.isoformat())} GROUP BY platform_code"
    )
