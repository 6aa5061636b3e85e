"""JSON shapes of the order API (documented in docs/interfaces/orders-v1.md)."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, Field


class ImportOut(BaseModel):
    """The result of one upload: always ``received = accepted + rejected + duplicates``."""

    batch_id: int
    received: int
    accepted: int
    rejected: int
    duplicates: int = Field(description="exact repeats (inside the file or already stored): not stored again")
    corrections: int = Field(description="accepted rows that replace a stored order with other content (new version)")
    seconds: float
    months: list[str] = Field(description="months (YYYY-MM, Asia/Shanghai) the accepted orders belong to")
    rejects_url: str | None = Field(
        description="the rejects file (CSV, UTF-8 with BOM); null when nothing was rejected"
    )


class BatchFile(BaseModel):
    month: str
    rows: int


class BatchOut(BaseModel):
    batch_id: int
    platform_code: str
    platform_name: str
    source: str
    source_name: str
    filename: str | None
    format: str
    status: str = Field(description="staging (being imported, invisible) | published | failed")
    status_name: str
    received: int
    accepted: int
    rejected: int
    duplicates: int
    corrections: int
    error: str | None
    started_at: dt.datetime
    published_at: dt.datetime | None
    seconds: float | None
    months: list[str]
    files: list[BatchFile]
    has_rejects: bool


class OrderOut(BaseModel):
    order_id: str
    platform_code: str
    account_id: str
    accepted_at: dt.datetime
    finished_at: dt.datetime
    status: str
    county_code: str


# Chinese names of the fields of an order record (docs/interfaces/orders-v1.md), for the pages.
ORDER_FIELD_NAMES = {
    "order_id": "订单号",
    "platform_code": "平台企业编码",
    "worker_account_id": "平台账号",
    "industry": "行业",
    "county_code": "接单地区划代码",
    "accepted_at": "订单接单时间",
    "picked_up_at": "取货/接到乘客时间",
    "finished_at": "订单完成/取消时间",
    "status": "订单状态",
    "start_lng": "起点经度",
    "start_lat": "起点纬度",
    "end_lng": "终点经度",
    "end_lat": "终点纬度",
    "distance_m": "里程（米）",
    "income_fen": "订单收入（分）",
}
FORMAT_NAMES = {"csv": "CSV", "jsonl": "JSON Lines", "parquet": "Parquet"}


class CoverageQuery(BaseModel):
    at: str = Field(description="时点，带时区的 ISO 8601，如 2026-08-01T12:30:00+08:00")
    id_number: str | None = Field(None, description="身份证号码（查该人员在所有平台的订单）")
    name: str | None = Field(None, description="姓名（与 phone 同用）")
    phone: str | None = Field(None, description="该人员某一平台账号登记的手机号码（与 name 同用）")
    person_id: int | None = Field(None, description="人员 ID")
    platform_code: str | None = Field(None, description="平台企业编码（与 account_id 同用）")
    account_id: str | None = Field(None, description="平台账号")
    purpose: str | None = Field(None, description="查询事由（留痕）")


class CoverageOut(BaseModel):
    covered: bool
    order_id: str | None = Field(description="the covering order (the earliest accepted when several run at once)")
    platform_code: str | None
    account_id: str | None
    at: dt.datetime
    reason: str
    order: OrderOut | None
    covering: list[OrderOut] = Field(description="every order whose window contains the moment")
    nearest_before: OrderOut | None = Field(description="the last order that finished before the moment")
    nearest_after: OrderOut | None = Field(description="the first order accepted after the moment")


class PlatformCount(BaseModel):
    platform_code: str
    platform_name: str
    insured: int
    orders: int


class CityCount(BaseModel):
    city_code: str
    city_name: str
    insured: int
    orders: int


class InsuredOut(BaseModel):
    """Distinct workers with at least one order (参保人数) and their orders, in the caller's scope."""

    month: str
    day: dt.date | None
    insured: int
    orders: int
    by_platform: list[PlatformCount]
    by_city: list[CityCount]
