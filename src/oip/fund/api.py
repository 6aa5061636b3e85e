"""JSON routes of the ledger (/api/v1/fund): entries (list, one with its lines and trace, manual
entries with maker-checker and reversals), the trial balance, posting pending business events and
the ledger's check."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from sqlalchemy.orm import Session

from oip.auth import permissions as P
from oip.auth.deps import Require
from oip.auth.service import Principal
from oip.core.errors import DomainError
from oip.core.validation import register_labels
from oip.core.web import DB, TransactionRoute, YearQuery
from oip.fund import check, journal, ledger, posting, rules
from oip.fund.schemas import (
    CheckOut,
    EntryIn,
    EntryOut,
    EntryPage,
    PostOut,
    RejectIn,
    ReverseIn,
    TrialBalanceOut,
)

api = APIRouter(route_class=TransactionRoute)
TAG = ["fund"]

register_labels(
    {"entry_date": "凭证日期", "summary": "摘要", "lines": "分录", "debit_fen": "借方金额", "credit_fen": "贷方金额"}
)


def _out(db: Session, actor: Principal, e, *, full: bool = False) -> dict:
    d = ledger.entry_dict(db, e)
    if full:
        d["lines"] = ledger.lines_dicts(db, e.id)
        d["trace"] = ledger.trace(db, actor, e)
    return d


@api.get(
    "/fund/entries", tags=TAG, summary="记账凭证（按期间、类别、状态、地区、科目筛选，分页）", response_model=EntryPage
)
def entries(
    month: str | None = None,
    kind: str | None = None,
    status: str | None = None,
    city: str | None = None,
    subject: str | None = None,
    page: int = 1,
    p: Principal = Depends(Require(P.FUND_READ)),
    db: Session = DB,
):
    res = ledger.list_entries(db, p, ledger.clean_filters(month, kind, status, city, subject), page=max(1, page))
    return {"items": ledger.entries_dicts(db, res.items), "total": res.total, "page": res.page, "pages": res.pages}


@api.get("/fund/entries/{entry_id}", tags=TAG, summary="记账凭证详情（分录与追溯）", response_model=EntryOut)
def entry(entry_id: int, p: Principal = Depends(Require(P.FUND_READ)), db: Session = DB):
    return _out(db, p, journal.get_entry(db, p, entry_id), full=True)


@api.post(
    "/fund/entries", status_code=201, tags=TAG, summary="编制手工记账凭证（默认提交复核）", response_model=EntryOut
)
def create(body: EntryIn, p: Principal = Depends(Require(P.FUND_POST)), db: Session = DB):
    legs = [rules.Leg(x.subject, x.city, x.debit_fen, x.credit_fen) for x in body.lines]
    e = journal.draft(db, p, entry_date=body.entry_date, summary=body.summary, legs=legs, note=body.note)
    if body.submit:
        e = journal.submit(db, p, e.id)
    return _out(db, p, e, full=True)


@api.post(
    "/fund/entries/{entry_id}/approve",
    tags=TAG,
    summary="复核通过并记账（不得复核本人编制的凭证）",
    response_model=EntryOut,
)
def approve(entry_id: int, p: Principal = Depends(Require(P.FUND_CHECK)), db: Session = DB):
    return _out(db, p, journal.approve(db, p, entry_id), full=True)


@api.post("/fund/entries/{entry_id}/reject", tags=TAG, summary="退回记账凭证", response_model=EntryOut)
def reject(entry_id: int, body: RejectIn, p: Principal = Depends(Require(P.FUND_CHECK)), db: Session = DB):
    return _out(db, p, journal.reject(db, p, entry_id, body.reason))


@api.post(
    "/fund/entries/{entry_id}/reverse",
    status_code=201,
    tags=TAG,
    summary="红字冲销已记账凭证（生成待复核的冲销凭证）",
    response_model=EntryOut,
)
def reverse(entry_id: int, body: ReverseIn, p: Principal = Depends(Require(P.FUND_POST)), db: Session = DB):
    return _out(db, p, journal.reverse(db, p, entry_id, body.reason, body.on), full=True)


@api.get("/fund/trial-balance", tags=TAG, summary="试算平衡表（设区市只能查看本市）", response_model=TrialBalanceOut)
def trial_balance(
    year: YearQuery, city: str | None = None, p: Principal = Depends(Require(P.FUND_READ)), db: Session = DB
):
    if year < 2000 or year > 2200:
        raise DomainError("年度不正确", field="year")
    rows = ledger.trial_balance(db, p, year, city or None)
    t = ledger.tb_totals(rows)
    return {
        "year": year,
        "city": journal.actor_city(p) or city or None,
        "rows": rows,
        "debit_fen": t["debit_fen"],
        "credit_fen": t["credit_fen"],
        "expense_fen": t["expense"]["balance_fen"],
    }


@api.post("/fund/post", tags=TAG, summary="业务事件入账（税务回执、银行回盘）", response_model=PostOut)
def post(p: Principal = Depends(Require(P.FUND_POST)), db: Session = DB):
    return posting.post_pending(db, p).as_dict()


@api.get("/fund/check", tags=TAG, summary="总账检查（平衡、追溯、账实核对）", response_model=CheckOut)
def check_ledger(p: Principal = Depends(Require(P.FUND_READ)), db: Session = DB):
    return check.run(db).as_dict()
