"""JSON routes of the budget and final accounts (/api/v1/fund/…): budgets by year, one version with
its lines and history, the acts on it, the execution of a year, the statements and the final
accounts."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from oip.auth import permissions as P
from oip.auth.deps import Require
from oip.auth.service import Principal
from oip.core import clock
from oip.core.validation import register_labels
from oip.core.web import DB, TransactionRoute, YearPath, YearQuery
from oip.fund import budget, budget_rules as R, final_accounts

api = APIRouter(route_class=TransactionRoute)
TAG = ["fund"]

register_labels(
    {
        "year": "年度",
        "subject_code": "科目",
        "city_code": "设区市",
        "amount_fen": "金额（分）",
        "reason": "原因",
    }
)


class DraftIn(BaseModel):
    year: int = Field(ge=2000, le=2100)
    note: str = Field(default="", max_length=500)


class LineIn(BaseModel):
    subject_code: str = Field(max_length=16)
    city_code: str = Field(max_length=6)
    amount_fen: int = Field(ge=0)
    basis: str = Field(default="", max_length=1000)


class ForecastIn(BaseModel):
    amount_fen: int = Field(ge=0)
    note: str = Field(default="", max_length=1000)


class NoteIn(BaseModel):
    note: str = Field(default="", max_length=500)


class ReasonIn(BaseModel):
    reason: str = Field(max_length=500)


def _out(db: Session, p: Principal, b) -> dict[str, Any]:
    d = budget.as_dict(db, b, p)
    d["history"] = [{**h, "at": h["at"].isoformat()} for h in budget.history(db, b)]
    return d


@api.get("/fund/budgets", tags=TAG, summary="各年度预算及其版本（现行预算为已批复的最高版本）")
def list_budgets(p: Principal = Depends(Require(P.FUND_READ)), db: Session = DB):
    out = []
    for year, vs in budget.list_budgets(db, p).items():
        force = budget.in_force(db, year)
        out.append(
            {
                "year": year,
                "in_force": force.version if force else None,
                "versions": [budget.as_dict(db, b, with_lines=False) for b in vs],
            }
        )
    return {"items": out}


@api.post("/fund/budgets", status_code=201, tags=TAG, summary="编制年度预算（按近 12 个月数据预填）")
def draft(body: DraftIn, p: Principal = Depends(Require(P.FUND_BUDGET)), db: Session = DB):
    return _out(db, p, budget.draft(db, p, body.year, note=body.note))


@api.get("/fund/budgets/{budget_id}", tags=TAG, summary="预算版本详情（明细、测算依据、办理记录）")
def get_budget(budget_id: int, p: Principal = Depends(Require(P.FUND_READ)), db: Session = DB):
    return _out(db, p, budget.get(db, p, budget_id))


@api.post("/fund/budgets/{budget_id}/lines", tags=TAG, summary="修改或增加预算明细（编制中或已退回）")
def set_line(budget_id: int, body: LineIn, p: Principal = Depends(Require(P.FUND_BUDGET)), db: Session = DB):
    budget.set_line(db, p, budget_id, body.subject_code, body.city_code, body.amount_fen, body.basis)
    return _out(db, p, budget.get(db, p, budget_id))


@api.post("/fund/budgets/{budget_id}/forecast", tags=TAG, summary="税务部门录入保障费收入预测")
def set_forecast(budget_id: int, body: ForecastIn, p: Principal = Depends(Require(P.FUND_FORECAST)), db: Session = DB):
    return _out(db, p, budget.set_forecast(db, p, budget_id, body.amount_fen, body.note))


@api.post("/fund/budgets/{budget_id}/submission", tags=TAG, summary="报送预算（须已有税务部门收入预测）")
def submit(budget_id: int, p: Principal = Depends(Require(P.FUND_BUDGET)), db: Session = DB):
    return _out(db, p, budget.submit(db, p, budget_id))


@api.post("/fund/budgets/{budget_id}/review", tags=TAG, summary="财政审核预算")
def review(budget_id: int, body: NoteIn, p: Principal = Depends(Require(P.FUND_BUDGET_REVIEW)), db: Session = DB):
    return _out(db, p, budget.review(db, p, budget_id, body.note))


@api.post("/fund/budgets/{budget_id}/approval", tags=TAG, summary="财政批复预算（成为现行预算）")
def approve(budget_id: int, body: NoteIn, p: Principal = Depends(Require(P.FUND_BUDGET_REVIEW)), db: Session = DB):
    return _out(db, p, budget.approve(db, p, budget_id, body.note))


@api.post("/fund/budgets/{budget_id}/return", tags=TAG, summary="退回预算（须说明原因）")
def return_(budget_id: int, body: ReasonIn, p: Principal = Depends(Require(P.FUND_BUDGET_REVIEW)), db: Session = DB):
    return _out(db, p, budget.return_(db, p, budget_id, body.reason))


@api.post(
    "/fund/budgets/{budget_id}/adjustment", status_code=201, tags=TAG, summary="发起预算调整（复制现行预算为新版本）"
)
def adjust(budget_id: int, body: NoteIn, p: Principal = Depends(Require(P.FUND_BUDGET)), db: Session = DB):
    return _out(db, p, budget.adjust(db, p, budget_id, note=body.note))


@api.get("/fund/budgets/{year}/execution", tags=TAG, summary="预算执行：分科目、分地区、分月实际数、执行率与时间进度")
def execution(year: YearPath, city: str | None = None, p: Principal = Depends(Require(P.FUND_READ)), db: Session = DB):
    return budget.execution(db, year, city, actor=p)


@api.get("/fund/statements", tags=TAG, summary="基金收支表与资产负债表（本年为截至目前、未经审核）")
def statements(year: YearQuery | None = None, p: Principal = Depends(Require(P.FUND_READ)), db: Session = DB):
    final_accounts.read_scope(p)
    return final_accounts.statements(db, year or clock.today().year)


def _final_out(fa) -> dict[str, Any]:
    return {
        "year": fa.year,
        "status": fa.status,
        "status_name": R.FINAL_STATUS_NAMES.get(fa.status, fa.status),
        "made_at": fa.made_at.isoformat() if fa.made_at else None,
        "approved_at": fa.approved_at.isoformat() if fa.approved_at else None,
        "note": fa.note,
        "statements": fa.statements,
    }


@api.get("/fund/final-accounts/{year}", tags=TAG, summary="年度决算")
def final_account(year: YearPath, p: Principal = Depends(Require(P.FUND_READ)), db: Session = DB):
    final_accounts.read_scope(p)
    fa = final_accounts.get(db, year)
    if fa is None:
        raise final_accounts.out_of_scope(f"{year} 年决算")
    return _final_out(fa)


@api.post("/fund/final-accounts/{year}/draw", tags=TAG, summary="编制（或重新编制）年度决算：12 个月须均已结账")
def final_draw(year: YearPath, p: Principal = Depends(Require(P.FUND_CLOSE)), db: Session = DB):
    return _final_out(final_accounts.draw(db, p, year))


@api.post("/fund/final-accounts/{year}/submission", tags=TAG, summary="报送年度决算")
def final_submit(year: YearPath, p: Principal = Depends(Require(P.FUND_CLOSE)), db: Session = DB):
    return _final_out(final_accounts.submit(db, p, year))


@api.post("/fund/final-accounts/{year}/approval", tags=TAG, summary="财政审批年度决算")
def final_approve(
    year: YearPath, body: NoteIn, p: Principal = Depends(Require(P.FUND_BUDGET_REVIEW)), db: Session = DB
):
    return _final_out(final_accounts.approve(db, p, year, body.note))


@api.post("/fund/final-accounts/{year}/return", tags=TAG, summary="财政退回年度决算（须说明原因）")
def final_return(
    year: YearPath, body: ReasonIn, p: Principal = Depends(Require(P.FUND_BUDGET_REVIEW)), db: Session = DB
):
    return _final_out(final_accounts.return_(db, p, year, body.reason))
