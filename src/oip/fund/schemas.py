"""Pydantic schemas of the ledger's JSON API (/api/v1/fund)."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, Field


class LegIn(BaseModel):
    subject: str = Field(max_length=16, description="科目编码（明细科目），如 5009")
    city: str = Field(max_length=6, description="地区代码：设区市 450100，自治区本级 450000")
    debit_fen: int = Field(default=0, ge=0, description="借方金额（分）")
    credit_fen: int = Field(default=0, ge=0, description="贷方金额（分）")


class EntryIn(BaseModel):
    entry_date: dt.date
    summary: str = Field(max_length=200)
    lines: list[LegIn] = Field(min_length=2, max_length=200)
    note: str = Field(default="", max_length=500)
    submit: bool = Field(default=True, description="保存后立即提交复核（否则为草稿）")


class RejectIn(BaseModel):
    reason: str = Field(max_length=500)


class ReverseIn(BaseModel):
    reason: str = Field(max_length=200)
    on: dt.date | None = Field(default=None, description="冲销日期（默认今天）")


class LineOut(BaseModel):
    line_no: int
    subject_code: str
    subject_name: str
    city_code: str
    city_name: str
    debit_fen: int
    credit_fen: int
    period: str
    posted: bool


class EntryOut(BaseModel):
    id: int
    number: str | None
    period: str
    entry_date: str
    kind: str
    kind_name: str
    status: str
    status_name: str
    summary: str
    total_fen: int
    source_type: str | None
    source_id: int | None
    source_ref: str
    reverses_id: int | None
    made_by: int | None
    made_by_name: str
    made_at: str | None
    checked_by: int | None
    checked_by_name: str
    checked_at: str | None
    posted_at: str | None
    note: str
    lines: list[LineOut] | None = None
    trace: dict | None = None


class EntryPage(BaseModel):
    items: list[EntryOut]
    total: int
    page: int
    pages: int


class TrialBalanceRow(BaseModel):
    subject_code: str
    subject_name: str
    kind: str
    parent_code: str | None
    opening_fen: int
    debit_fen: int
    credit_fen: int
    balance_fen: int


class TrialBalanceOut(BaseModel):
    year: int
    city: str | None
    rows: list[TrialBalanceRow]
    debit_fen: int
    credit_fen: int
    expense_fen: int = Field(description="5001 职业伤害保障支出各明细科目余额之和")


class PostOut(BaseModel):
    events: int
    entries: int
    amount_fen: dict[str, int]


class CheckOut(BaseModel):
    ok: bool
    problems: list[str]
    notes: list[str]
    figures: dict
