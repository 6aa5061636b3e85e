"""JSON routes of monthly benefits (定期待遇): the list in scope with its filters, one benefit with its
schedule, a case's benefits, and the acts — eligibility confirmation, stop, the monthly run, the
re-rating (调整)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from oip.auth import permissions as P
from oip.auth.deps import Require
from oip.auth.service import Principal
from oip.benefits import monthly, monthly_rules as R
from oip.cases import service as cases
from oip.core.pagination import page_count
from oip.core.web import DB, TransactionRoute

api = APIRouter(tags=["benefits"], route_class=TransactionRoute)
SCHEDULE_PAGE = 24


class EligibilityIn(BaseModel):
    confirmed_on: dt.date = Field(description="the day the recipient was confirmed (not after today)")
    means: str = Field(max_length=16, description=" | ".join(f"{k} {v}" for k, v in R.MEANS.items()))
    note: str = Field("", max_length=500)


class StopIn(BaseModel):
    on: dt.date = Field(description="the day of the stopping condition; its month is the last owed")
    reason: str = Field(
        max_length=32, description=" | ".join(f"{k} {R.STOP_REASONS[k]}" for k in R.OFFICER_STOP_REASONS)
    )
    note: str = Field("", max_length=500)


class RunIn(BaseModel):
    month: str = Field(max_length=7, description="YYYY-MM, not after the current month")
    case_id: int | None = Field(None, ge=1, le=2**62, description="only this case (default: every case in scope)")


class RerateIn(BaseModel):
    from_month: str = Field(max_length=7, description="YYYY-MM: the month the parameter change applies from")
    note: str = Field("", max_length=200)


def _one(db: Session, mb, page: int) -> dict[str, Any]:
    view = monthly.describe(db, mb, months=None)
    pages = page_count(len(view["schedule"]), SCHEDULE_PAGE)
    page = min(page, pages)
    view["schedule"] = view["schedule"][(page - 1) * SCHEDULE_PAGE : page * SCHEDULE_PAGE]
    return {**view, "schedule_page": page, "schedule_pages": pages}


@api.get("/benefits/monthly", summary="定期待遇列表（暂停、30日内待认证、已停发等筛选，分页）")
def list_monthly(
    filter: str | None = Query(None, max_length=16, description=" | ".join(monthly.FILTERS)),
    page: int = Query(1, ge=1, le=100_000),
    p: Principal = Depends(Require(P.BENEFIT_READ)),
    db: Session = DB,
):
    out = monthly.list_monthly(db, p, filter=filter or None, page=page)
    return {"items": out.items, "total": out.total, "page": page, "pages": page_count(out.total, monthly.LIST_PAGE)}


@api.get("/benefits/monthly/{monthly_id}", summary="一项定期待遇：标准、状态、资格认证、按月发放情况（分页）、应追回")
def get_monthly(
    monthly_id: int,
    page: int = Query(1, ge=1, le=10_000),
    p: Principal = Depends(Require(P.BENEFIT_READ)),
    db: Session = DB,
):
    return _one(db, monthly.get_monthly(db, p, monthly_id), page)


@api.get("/cases/{case_id}/monthly", summary="案件的定期待遇（每项最近 12 个月）")
def case_monthly(case_id: int, p: Principal = Depends(Require(P.BENEFIT_READ)), db: Session = DB):
    case = cases.get_case(db, p, case_id)
    return {"items": [monthly.describe(db, mb) for mb in monthly.for_case(db, case)]}


@api.post("/benefits/monthly/{monthly_id}/eligibility", summary="登记领取待遇资格认证（暂停的恢复发放并补发）")
def confirm(
    monthly_id: int, body: EligibilityIn, p: Principal = Depends(Require(P.BENEFIT_DETERMINE)), db: Session = DB
):
    done = monthly.confirm_eligibility(
        db, p, monthly_id, confirmed_on=body.confirmed_on, means=body.means, note=body.note
    )
    return {"items": [monthly.describe(db, mb) for mb in done]}


@api.post("/benefits/monthly/{monthly_id}/stop", summary="停发定期待遇（停发当月照发，次月起停发；已多发的列为应追回）")
def stop(monthly_id: int, body: StopIn, p: Principal = Depends(Require(P.BENEFIT_DETERMINE)), db: Session = DB):
    mb = monthly.stop(db, p, monthly_id, on=body.on, reason=body.reason, note=body.note)
    return monthly.describe(db, mb)


@api.post("/benefits/monthly/run", summary="生成月度定期待遇应付明细（补生成未生成的月份；重复执行不重复应付）")
def run(body: RunIn, p: Principal = Depends(Require(P.BENEFIT_DETERMINE)), db: Session = DB):
    return {"month": body.month, **monthly.run_month(db, p, body.month, case_id=body.case_id).as_dict()}


@api.post("/benefits/monthly/rerate", summary="调整定期待遇标准（参数调整后自该月起重算，差额补发）")
def rerate(body: RerateIn, p: Principal = Depends(Require(P.BENEFIT_APPROVE)), db: Session = DB):
    return {"from_month": body.from_month, **monthly.rerate(db, p, body.from_month, note=body.note)}
