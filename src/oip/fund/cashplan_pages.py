"""HTML pages of the quarterly cash-use plans (用款计划): the list by year, quarter and city with the
button to draft this quarter's plan, a plan's page (forecast and basis, requested amounts, history,
the acts of each role), and the execution page (plan against actual use, with an Excel export)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from oip.auth import permissions as P
from oip.auth.deps import Require
from oip.auth.service import Principal
from oip.core import clock, layout, xlsx
from oip.core.errors import DomainError
from oip.core.layout import render
from oip.core.money import yuan
from oip.core.pagination import page_window
from oip.core.web import DB, TransactionRoute, attempt, form_data, form_text
from oip.fund import cashplan_rules as R, cashplans, rules

pages = APIRouter(include_in_schema=False, route_class=TransactionRoute)
layout.register_nav(layout.NavItem("用款计划", "/fund/cash-plans", P.FUND_READ, order=64))

EDIT = (P.FUND_CASHPLAN, P.FUND_CASHPLAN_REVIEW)
DONE = {
    "made": "用款计划已按测算预填，请核对申请金额后报送。",
    "saved": "申请金额已保存。",
    "submitted": "用款计划已报送自治区社保中心审核。",
    "approved": "用款计划已审核通过，待财政拨付。",
    "returned": "用款计划已退回市级经办机构。",
    "allocated": "资金已拨付，拨付凭证已记账。",
}
QUARTERS = {1: "第一季度", 2: "第二季度", 3: "第三季度", 4: "第四季度"}


def _int(v: str | None, lo: int, hi: int) -> int | None:
    if v and v.strip().isdigit() and lo <= int(v) <= hi:
        return int(v)
    return None


def fen_of(v: str | None, field: str, label: str) -> int:
    """Yuan as typed ("1,234.5") → fen, exactly (Decimal); at most two decimals."""
    s = (v or "").strip().replace(",", "").replace("，", "")
    if not s:
        raise DomainError(f"请填写{label}", field=field)
    try:
        d = Decimal(s)
    except InvalidOperation:
        raise DomainError(f"{label}应为金额（元，最多两位小数）", field=field) from None
    if not d.is_finite() or d != d.quantize(Decimal("0.01")) or d < 0 or d > Decimal("100000000000"):
        raise DomainError(f"{label}应为金额（元，最多两位小数）", field=field)
    return int(d * 100)


def _yuan_input(fen: int | None) -> str:
    if fen is None:
        return ""
    return f"{Decimal(fen) / 100:.2f}"


def _date(v: str | None, field: str, label: str) -> dt.date:
    try:
        return dt.date.fromisoformat((v or "").strip())
    except ValueError:
        raise DomainError(f"请选择{label}", field=field) from None


def _years(today: dt.date) -> list[int]:
    return list(range(today.year + 1, today.year - 4, -1))


def _list(request: Request, db: Session, p: Principal, *, status_code: int = 200, **q):
    today = clock.today()
    year = q.get("year") or today.year
    quarter = q.get("quarter")
    city = q.get("city")
    page = q.get("page") or 1
    res = cashplans.list_plans(db, p, year=year, quarter=quarter, city=city, page=page)
    names = cashplans.city_names(db)

    def page_url(n: int) -> str:
        return "/fund/cash-plans?" + urlencode(
            {k: v for k, v in {"year": year, "quarter": quarter or "", "city": city or "", "page": n}.items() if v}
        )

    can_make = p.can(P.FUND_CASHPLAN) or p.can(P.FUND_CASHPLAN_REVIEW)
    return render(
        request,
        "fund_cash_plans.html",
        status_code=status_code,
        title="季度用款计划",
        plans=[cashplans.plan_dict(db, x, names=names) for x in res.items],
        res=res,
        window=page_window(res.page, res.pages),
        page_url=page_url,
        year=year,
        quarter=quarter,
        city=city,
        years=sorted(set(_years(today)) | {year}, reverse=True),
        quarters=QUARTERS,
        cities=[(c.code, c.name) for c in cashplans.cities(db, p)],
        own_city=cashplans.own_city(p),
        can_make=can_make,
        choices=[(f"{y}-{qq}", R.label(y, qq)) for y, qq in cashplans.suggested_quarter(today)],
        yuan=yuan,
        **{k: v for k, v in q.items() if k in ("error", "done", "form")},
    )


@pages.get("/fund/cash-plans")
def plan_list(
    request: Request,
    year: str | None = None,
    quarter: str | None = None,
    city: str | None = None,
    page: str | None = None,
    p: Principal = Depends(Require(P.FUND_READ)),
    db: Session = DB,
):
    return _list(
        request,
        db,
        p,
        year=_int(year, 2000, 2100),
        quarter=_int(quarter, 1, 4),
        city=city if city and city.isdigit() and len(city) == 6 else None,
        page=_int(page, 1, 100000),
    )


@pages.post("/fund/cash-plans")
def make_plan(
    request: Request,
    p: Principal = Depends(Require(*EDIT)),
    form: FormData = Depends(form_data),
    db: Session = DB,
):
    v = form_text(form)
    try:
        y, _, q = (v.get("quarter") or "").partition("-")
        year, quarter = _int(y, 2000, 2100), _int(q, 1, 4)
        if year is None or quarter is None:
            raise DomainError("请选择季度", field="quarter")
        city = v.get("city_code") or cashplans.own_city(p) or ""
        if not city:
            raise DomainError("请选择设区市", field="city_code")
        plan = cashplans.prefill(db, p, city, year, quarter)
    except DomainError as err:
        db.rollback()
        return _list(request, db, p, status_code=err.status_code, error=err)
    return RedirectResponse(f"/fund/cash-plans/{plan.id}?done=made", status_code=303)


# ---- execution (before /{plan_id}) ---------------------------------------------------------------


def _execution_rows(db: Session, p: Principal, year: int, quarter: int | None) -> list[dict]:
    return cashplans.execution(db, year, quarter, actor=p)


@pages.get("/fund/cash-plans/execution")
def execution_page(
    request: Request,
    year: str | None = None,
    quarter: str | None = None,
    p: Principal = Depends(Require(P.FUND_READ)),
    db: Session = DB,
):
    today = clock.today()
    y = _int(year, 2000, 2100) or today.year
    q = _int(quarter, 1, 4)
    rows = _execution_rows(db, p, y, q)
    top = max([1] + [max(r["requested_fen"], r["allocated_fen"] or 0, r["actual_fen"]) for r in rows])
    for r in rows:
        r["bar_plan"] = round(300 * r["requested_fen"] / top)
        r["bar_alloc"] = round(300 * (r["allocated_fen"] or 0) / top)
        r["bar_actual"] = round(300 * max(r["actual_fen"], 0) / top)
    return render(
        request,
        "fund_cash_execution.html",
        title="用款计划执行情况",
        rows=rows,
        year=y,
        quarter=q,
        years=sorted(set(_years(today)) | {y}, reverse=True),
        quarters=QUARTERS,
        export_url="/fund/cash-plans/execution.xlsx?" + urlencode({"year": y, **({"quarter": q} if q else {})}),
        yuan=yuan,
    )


@pages.get("/fund/cash-plans/execution.xlsx")
def execution_xlsx(
    year: str | None = None,
    quarter: str | None = None,
    p: Principal = Depends(Require(P.FUND_READ)),
    db: Session = DB,
):
    y = _int(year, 2000, 2100) or clock.today().year
    q = _int(quarter, 1, 4)
    rows = _execution_rows(db, p, y, q)
    summary = xlsx.Sheet(
        f"{y}年用款计划执行" + (f"（第{q}季度）" if q else ""),
        [
            "设区市",
            "季度",
            "状态",
            "申请（元）",
            "核定（元）",
            "拨付（元）",
            "实际支出（元）",
            "结余（元）",
            "使用率（%）",
        ],
        [
            [
                r["city_name"],
                r["label"],
                r["status_name"],
                xlsx.Money(r["requested_fen"]),
                xlsx.Money(r["approved_fen"]),
                xlsx.Money(r["allocated_fen"]),
                xlsx.Money(r["actual_fen"]),
                xlsx.Money(r["remaining_fen"]),
                r["use_rate"] or "",
            ]
            for r in rows
        ],
        "实际支出：已记账的职业伤害保障支出（5001 明细科目，扣除退汇冲回）；结余 = 拨付 − 实际支出。",
    )
    detail = xlsx.Sheet(
        "分项目执行",
        ["设区市", "季度", "待遇项目", "申请（元）", "实际支出（元）"],
        [
            [r["city_name"], r["label"], x["item_name"], xlsx.Money(x["requested_fen"]), xlsx.Money(x["actual_fen"])]
            for r in rows
            for x in r["items"]
        ],
    )
    return xlsx.response(f"用款计划执行_{y}" + (f"_Q{q}" if q else ""), [summary, detail])


# ---- one plan ------------------------------------------------------------------------------------


def _plan_page(request: Request, db: Session, p: Principal, plan_id: int, *, status_code: int = 200, **extra):
    plan = cashplans.get(db, p, plan_id)
    d = cashplans.plan_dict(db, plan, lines=True)
    in_city = plan.city_code.startswith(p.region_prefix)
    editable = plan.status in R.EDITABLE and in_city and any(p.can(x) for x in EDIT)
    return render(
        request,
        "fund_cash_plan.html",
        status_code=status_code,
        title=f"{d['city_name']}{d['label']}用款计划",
        plan=d,
        history=cashplans.history(db, plan),
        editable=editable,
        can_review=p.can(P.FUND_CASHPLAN_REVIEW) and plan.status == "submitted",
        can_allocate=p.can(P.FUND_ALLOCATE) and plan.status == "approved",
        yuan=yuan,
        yuan_input=_yuan_input,
        today=clock.today().isoformat(),
        **extra,
    )


@pages.get("/fund/cash-plans/{plan_id}")
def plan_page(
    request: Request,
    plan_id: int,
    done: str | None = None,
    p: Principal = Depends(Require(P.FUND_READ)),
    db: Session = DB,
):
    return _plan_page(request, db, p, plan_id, done=DONE.get(done or ""))


def _act(request: Request, db: Session, p: Principal, plan_id: int, done: str, fn):
    _, page = attempt(db, fn, lambda err: _plan_page(request, db, p, plan_id, status_code=err.status_code, error=err))
    return page or RedirectResponse(f"/fund/cash-plans/{plan_id}?done={done}", status_code=303)


@pages.post("/fund/cash-plans/{plan_id}/requested")
def save_requested(
    request: Request,
    plan_id: int,
    p: Principal = Depends(Require(*EDIT)),
    form: FormData = Depends(form_data),
    db: Session = DB,
):
    v = form_text(form)

    def run():
        cashplans.get(db, p, plan_id)
        requested = {
            item: fen_of(v.get(f"requested_{item}"), f"requested_{item}", rules.ITEM_NAMES[item])
            for item in rules.ITEM_SUBJECTS
            if f"requested_{item}" in v
        }
        cashplans.update(db, p, plan_id, requested, note=v.get("note", ""))

    return _act(request, db, p, plan_id, "saved", run)


@pages.post("/fund/cash-plans/{plan_id}/submission")
def submit(request: Request, plan_id: int, p: Principal = Depends(Require(*EDIT)), db: Session = DB):
    return _act(request, db, p, plan_id, "submitted", lambda: cashplans.submit(db, p, plan_id))


@pages.post("/fund/cash-plans/{plan_id}/approval")
def approve(
    request: Request,
    plan_id: int,
    p: Principal = Depends(Require(P.FUND_CASHPLAN_REVIEW)),
    form: FormData = Depends(form_data),
    db: Session = DB,
):
    v = form_text(form)

    def run():
        cashplans.get(db, p, plan_id)
        cashplans.approve(db, p, plan_id, fen_of(v.get("approved"), "approved", "核定金额"), note=v.get("note", ""))

    return _act(request, db, p, plan_id, "approved", run)


@pages.post("/fund/cash-plans/{plan_id}/return")
def return_plan(
    request: Request,
    plan_id: int,
    p: Principal = Depends(Require(P.FUND_CASHPLAN_REVIEW)),
    form: FormData = Depends(form_data),
    db: Session = DB,
):
    v = form_text(form)
    return _act(request, db, p, plan_id, "returned", lambda: cashplans.return_(db, p, plan_id, v.get("reason", "")))


@pages.post("/fund/cash-plans/{plan_id}/allocation")
def allocate(
    request: Request,
    plan_id: int,
    p: Principal = Depends(Require(P.FUND_ALLOCATE)),
    form: FormData = Depends(form_data),
    db: Session = DB,
):
    v = form_text(form)

    def run():
        cashplans.get(db, p, plan_id)
        cashplans.allocate(
            db, p, plan_id, fen_of(v.get("amount"), "amount", "拨付金额"), _date(v.get("on"), "on", "拨付日期")
        )

    return _act(request, db, p, plan_id, "allocated", run)
