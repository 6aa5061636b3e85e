"""JSON routes of the quarterly cash-use plans (/api/v1/fund/cash-plans): list, get, execution;
prefill, requested amounts, submit, approve, return, allocate."""

from __future__ import annotations

import datetime as dt

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from oip.auth import permissions as P
from oip.auth.deps import Require
from oip.auth.service import Principal
from oip.core.validation import register_labels
from oip.core.web import DB, QuarterQuery, TransactionRoute, YearQuery
from oip.fund import cashplans

api = APIRouter(route_class=TransactionRoute)
TAG = ["fund"]
EDIT = (P.FUND_CASHPLAN, P.FUND_CASHPLAN_REVIEW)

register_labels(
    {
        "city_code": "设区市",
        "quarter": "季度",
        "requested": "申请金额",
        "approved_fen": "核定金额",
        "amount_fen": "拨付金额",
        "on": "拨付日期",
    }
)


class PrefillIn(BaseModel):
    city_code: str = Field(min_length=6, max_length=6)
    year: int = Field(ge=2000, le=2100)
    quarter: int = Field(ge=1, le=4)


class RequestedIn(BaseModel):
    requested: dict[str, int]
    note: str = Field(default="", max_length=500)


class ApproveIn(BaseModel):
    approved_fen: int = Field(ge=0)
    note: str = Field(default="", max_length=500)


class ReturnIn(BaseModel):
    reason: str = Field(max_length=500)


class AllocateIn(BaseModel):
    amount_fen: int = Field(ge=0)
    on: dt.date


@api.get("/fund/cash-plans", tags=TAG, summary="季度用款计划列表（本辖区）")
def list_plans(
    year: YearQuery | None = None,
    quarter: QuarterQuery | None = None,
    city: str | None = None,
    status: str | None = None,
    page: int = 1,
    p: Principal = Depends(Require(P.FUND_READ)),
    db: Session = DB,
):
    res = cashplans.list_plans(db, p, year=year, quarter=quarter, city=city, status=status, page=max(1, page), size=50)
    names = cashplans.city_names(db)
    return {
        "items": [cashplans.plan_dict(db, x, names=names) for x in res.items],
        "total": res.total,
        "page": res.page,
        "pages": res.pages,
    }


@api.get("/fund/cash-plans/execution", tags=TAG, summary="用款计划执行情况（申请、核定、拨付、实际支出）")
def execution(
    year: YearQuery,
    quarter: QuarterQuery | None = None,
    city: str | None = None,
    p: Principal = Depends(Require(P.FUND_READ)),
    db: Session = DB,
):
    return {"year": year, "quarter": quarter, "items": cashplans.execution(db, year, quarter, city, actor=p)}


@api.get("/fund/cash-plans/{plan_id}", tags=TAG, summary="用款计划（含分项目测算依据和办理记录）")
def get_plan(plan_id: int, p: Principal = Depends(Require(P.FUND_READ)), db: Session = DB):
    return cashplans.plan_dict(db, cashplans.get(db, p, plan_id), lines=True)


def _out(db: Session, plan, status_code: int = 200):
    return JSONResponse(cashplans.plan_dict(db, plan, lines=True), status_code=status_code)


@api.post("/fund/cash-plans", tags=TAG, summary="编制用款计划（按测算预填）", status_code=201)
def prefill(body: PrefillIn, p: Principal = Depends(Require(*EDIT)), db: Session = DB):
    return _out(db, cashplans.prefill(db, p, body.city_code, body.year, body.quarter), 201)


@api.post("/fund/cash-plans/{plan_id}/requested", tags=TAG, summary="修改分项目申请金额（分）")
def update(plan_id: int, body: RequestedIn, p: Principal = Depends(Require(*EDIT)), db: Session = DB):
    return _out(db, cashplans.update(db, p, plan_id, body.requested, note=body.note))


@api.post("/fund/cash-plans/{plan_id}/submission", tags=TAG, summary="报送用款计划")
def submit(plan_id: int, p: Principal = Depends(Require(*EDIT)), db: Session = DB):
    return _out(db, cashplans.submit(db, p, plan_id))


@api.post("/fund/cash-plans/{plan_id}/approval", tags=TAG, summary="审核通过用款计划（核定金额）")
def approve(plan_id: int, body: ApproveIn, p: Principal = Depends(Require(P.FUND_CASHPLAN_REVIEW)), db: Session = DB):
    return _out(db, cashplans.approve(db, p, plan_id, body.approved_fen, note=body.note))


@api.post("/fund/cash-plans/{plan_id}/return", tags=TAG, summary="退回用款计划")
def return_plan(
    plan_id: int, body: ReturnIn, p: Principal = Depends(Require(P.FUND_CASHPLAN_REVIEW)), db: Session = DB
):
    return _out(db, cashplans.return_(db, p, plan_id, body.reason))


@api.post("/fund/cash-plans/{plan_id}/allocation", tags=TAG, summary="登记拨付（生成拨付记账凭证）")
def allocate(plan_id: int, body: AllocateIn, p: Principal = Depends(Require(P.FUND_ALLOCATE)), db: Session = DB):
    return _out(db, cashplans.allocate(db, p, plan_id, body.amount_fen, body.on))
