"""HTML pages of the budget and final accounts (预算决算): the budgets by year (/fund/budgets), one
version's page with its lines, forms and history, the execution of a year against the ledger
(/fund/budgets/{year}/execution), the statements of a year to date (/fund/statements) and the final
accounts (/fund/final-accounts/{year}); each table also as an Excel download."""

from __future__ import annotations

from decimal import Decimal
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from oip.auth import permissions as P
from oip.auth.deps import Require
from oip.auth.scope import province_wide
from oip.auth.service import Principal
from oip.core import clock, layout, xlsx
from oip.core.errors import DomainError
from oip.core.layout import render
from oip.core.money import yuan
from oip.core.web import DB, TransactionRoute, YearPath, attempt, form_data, form_text
from oip.fund import budget, budget_rules as R, final_accounts, rules
from oip.fund.models import Budget

pages = APIRouter(include_in_schema=False, route_class=TransactionRoute)
layout.register_nav(layout.NavItem("预算决算", "/fund/budgets", P.FUND_READ, order=63))

DONE = {
    "drafted": "预算已编制（已按近 12 个月数据预填），请核对明细后报送。",
    "line": "预算明细已保存。",
    "forecast": "收入预测已录入。",
    "submitted": "预算已报送财政部门审核。",
    "reviewed": "预算已审核，待批复。",
    "approved": "预算已批复，成为现行预算。",
    "returned": "预算已退回编制单位修改。",
    "adjusted": "已发起预算调整（新版本复制自现行预算），修改后按原程序报批。",
    "drawn": "决算已编制。",
    "final_submitted": "决算已报送财政部门。",
    "final_approved": "决算已审批。",
    "final_returned": "决算已退回社保经办机构修改。",
}


def _year(v: str | None, default: int) -> int:
    return int(v) if (v or "").isdigit() and 2000 <= int(v) <= 2100 else default


def _pct(v: str | None) -> int:
    """A percentage string → a whole bar length 0…100."""
    if v is None:
        return 0
    return max(0, min(100, int(Decimal(v).to_integral_value())))


# ---- the list ------------------------------------------------------------------------------------


def _list_page(request: Request, db: Session, p: Principal, *, status_code: int = 200, **extra):
    by_year = budget.list_budgets(db, p)
    today = clock.today()
    years = sorted(set(by_year) | {today.year}, reverse=True)
    rows = []
    for y in years:
        vs = by_year.get(y, [])
        force = budget.in_force(db, y)
        rows.append(
            {
                "year": y,
                "versions": [budget.as_dict(db, b, with_lines=False) for b in vs],
                "in_force": force.version if force else None,
            }
        )
    return render(
        request,
        "fund/budgets.html",
        status_code=status_code,
        title="预算决算",
        rows=rows,
        can_draft=p.can(P.FUND_BUDGET) and province_wide(p),
        province=province_wide(p),
        next_year=today.year + 1,
        **extra,
    )


@pages.get("/fund/budgets")
def budgets_page(
    request: Request, done: str | None = None, p: Principal = Depends(Require(P.FUND_READ)), db: Session = DB
):
    return _list_page(request, db, p, done=DONE.get(done or ""))


@pages.post("/fund/budgets")
def draft(
    request: Request,
    p: Principal = Depends(Require(P.FUND_BUDGET)),
    form: FormData = Depends(form_data),
    db: Session = DB,
):
    v = form_text(form)
    try:
        if not (v.get("year") or "").strip().isdigit():
            raise DomainError("请填写预算年度", field="year")
        b = budget.draft(db, p, int(v["year"]), note=v.get("note", ""))
    except DomainError as err:
        db.rollback()
        return _list_page(request, db, p, status_code=err.status_code, error=err)
    return RedirectResponse(f"/fund/budget-versions/{b.id}?done=drafted", status_code=303)


# ---- one version ---------------------------------------------------------------------------------


def _budget_page(request: Request, db: Session, p: Principal, budget_id: int, *, status_code: int = 200, **extra):
    b = budget.get(db, p, budget_id)
    d = budget.as_dict(db, b, p)
    income = [x for x in d["lines"] if x["kind"] == "income"]
    by_city: dict[str, dict] = {}
    for x in d["lines"]:
        if x["kind"] == "expense":
            c = by_city.setdefault(
                x["city_code"], {"code": x["city_code"], "name": x["city_name"], "lines": [], "total": 0}
            )
            c["lines"].append(x)
            c["total"] += x["amount_fen"]
    province = province_wide(p)
    editable = R.why_not("edit", b.status) is None
    force = budget.in_force(db, b.year)
    subjects = [(c, n) for c, n in budget.posting.subject_names(db).items() if c in budget.INCOME_SUBJECTS] + [
        (c, n) for c, n in budget.posting.subject_names(db).items() if c in budget.EXPENSE_SUBJECTS
    ]
    return render(
        request,
        "fund/budget.html",
        status_code=status_code,
        title=f"{b.year} 年预算（第 {b.version} 版）",
        b=d,
        bo=b,
        income=income,
        cities=list(by_city.values()),
        history=budget.history(db, b),
        versions=[budget.as_dict(db, v, with_lines=False) for v in budget.versions(db, b.year)],
        yuan=yuan,
        can_edit=p.can(P.FUND_BUDGET) and province and editable,
        can_forecast=p.can(P.FUND_FORECAST) and province and R.why_not("forecast", b.status) is None,
        can_submit=p.can(P.FUND_BUDGET) and province and R.why_not("submit", b.status) is None,
        can_review=p.can(P.FUND_BUDGET_REVIEW) and province and b.status == "submitted",
        can_approve=p.can(P.FUND_BUDGET_REVIEW) and province and b.status == "reviewed",
        can_return=p.can(P.FUND_BUDGET_REVIEW) and province and R.why_not("return", b.status) is None,
        can_adjust=p.can(P.FUND_BUDGET) and province and force is not None and force.id == b.id,
        city_choices=budget.cities(db),
        subject_choices=subjects,
        province_code=rules.PROVINCE,
        province=province,
        **extra,
    )


@pages.get("/fund/budget-versions/{budget_id}")
def budget_page(
    request: Request,
    budget_id: int,
    done: str | None = None,
    p: Principal = Depends(Require(P.FUND_READ)),
    db: Session = DB,
):
    return _budget_page(request, db, p, budget_id, done=DONE.get(done or ""))


def _act(request: Request, db: Session, p: Principal, budget_id: int, done: str, fn):
    out, page = attempt(
        db, fn, lambda err: _budget_page(request, db, p, budget_id, status_code=err.status_code, error=err)
    )
    if page is not None:
        return page
    target = out.id if isinstance(out, Budget) else budget_id
    return RedirectResponse(f"/fund/budget-versions/{target}?done={done}", status_code=303)


def _fen(v: dict[str, str], field: str = "amount") -> int:
    try:
        return R.fen_from_yuan(v.get(field, ""))
    except R.BadAmount as e:
        raise DomainError(str(e), field=field) from None


@pages.post("/fund/budget-versions/{budget_id}/lines")
def set_line(
    request: Request,
    budget_id: int,
    p: Principal = Depends(Require(P.FUND_BUDGET)),
    form: FormData = Depends(form_data),
    db: Session = DB,
):
    v = form_text(form)

    def go():
        budget.get(db, p, budget_id)
        subject = v.get("subject_code", "")
        city = rules.PROVINCE if subject in budget.INCOME_SUBJECTS else v.get("city_code", "")
        return budget.set_line(db, p, budget_id, subject, city, _fen(v), v.get("basis", ""))

    return _act(request, db, p, budget_id, "line", go)


@pages.post("/fund/budget-versions/{budget_id}/forecast")
def set_forecast(
    request: Request,
    budget_id: int,
    p: Principal = Depends(Require(P.FUND_FORECAST)),
    form: FormData = Depends(form_data),
    db: Session = DB,
):
    v = form_text(form)

    def go():
        budget.get(db, p, budget_id)
        return budget.set_forecast(db, p, budget_id, _fen(v), v.get("note", ""))

    return _act(request, db, p, budget_id, "forecast", go)


@pages.post("/fund/budget-versions/{budget_id}/submission")
def submit(request: Request, budget_id: int, p: Principal = Depends(Require(P.FUND_BUDGET)), db: Session = DB):
    return _act(request, db, p, budget_id, "submitted", lambda: budget.submit(db, p, budget_id))


@pages.post("/fund/budget-versions/{budget_id}/review")
def review(
    request: Request,
    budget_id: int,
    p: Principal = Depends(Require(P.FUND_BUDGET_REVIEW)),
    form: FormData = Depends(form_data),
    db: Session = DB,
):
    v = form_text(form)
    return _act(request, db, p, budget_id, "reviewed", lambda: budget.review(db, p, budget_id, v.get("note", "")))


@pages.post("/fund/budget-versions/{budget_id}/approval")
def approve(
    request: Request,
    budget_id: int,
    p: Principal = Depends(Require(P.FUND_BUDGET_REVIEW)),
    form: FormData = Depends(form_data),
    db: Session = DB,
):
    v = form_text(form)
    return _act(request, db, p, budget_id, "approved", lambda: budget.approve(db, p, budget_id, v.get("note", "")))


@pages.post("/fund/budget-versions/{budget_id}/return")
def return_(
    request: Request,
    budget_id: int,
    p: Principal = Depends(Require(P.FUND_BUDGET_REVIEW)),
    form: FormData = Depends(form_data),
    db: Session = DB,
):
    v = form_text(form)
    return _act(request, db, p, budget_id, "returned", lambda: budget.return_(db, p, budget_id, v.get("reason", "")))


@pages.post("/fund/budget-versions/{budget_id}/adjustment")
def adjust(
    request: Request,
    budget_id: int,
    p: Principal = Depends(Require(P.FUND_BUDGET)),
    form: FormData = Depends(form_data),
    db: Session = DB,
):
    v = form_text(form)
    return _act(request, db, p, budget_id, "adjusted", lambda: budget.adjust(db, p, budget_id, note=v.get("note", "")))


# ---- execution -----------------------------------------------------------------------------------


def _execution(db: Session, p: Principal, year: int, city: str | None) -> dict:
    valid = dict(budget.cities(db))
    valid[rules.PROVINCE] = "自治区本级"
    return budget.execution(db, year, city if city in valid else None, actor=p)


@pages.get("/fund/budgets/{year}/execution")
def execution_page(
    request: Request,
    year: YearPath,
    city: str | None = None,
    p: Principal = Depends(Require(P.FUND_READ)),
    db: Session = DB,
):
    ex = _execution(db, p, year, city)
    province = province_wide(p)
    return render(
        request,
        "fund/execution.html",
        title=f"{year} 年预算执行",
        ex=ex,
        yuan=yuan,
        pct=_pct,
        province=province,
        city_choices=[(rules.PROVINCE, "自治区本级（收入）"), *budget.cities(db)] if province else [],
        months=list(range(1, 13)),
        xlsx_url=f"/fund/budgets/{year}/execution.xlsx" + (f"?{urlencode({'city': ex['city']})}" if ex["city"] else ""),
    )


@pages.get("/fund/budgets/{year}/execution.xlsx")
def execution_xlsx(
    year: YearPath, city: str | None = None, p: Principal = Depends(Require(P.FUND_READ)), db: Session = DB
):
    ex = _execution(db, p, year, city)
    rows = [
        [
            r["subject_name"],
            r["subject_code"],
            r["city_name"],
            xlsx.Money(r["budget_fen"]),
            *[xlsx.Money(m) for m in r["months"]],
            xlsx.Money(r["actual_fen"]),
            r["rate"] and f"{r['rate']}%",
        ]
        for r in ex["rows"]
    ]
    version = f"第 {ex['budget']['version']} 版" if ex["budget"] else "尚无批复的预算"
    sheet = xlsx.Sheet(
        f"{year}年预算执行" + (f"（{ex['city_name']}）" if ex["city"] else ""),
        ["科目", "科目编码", "地区", "预算（元）", *[f"{m}月（元）" for m in range(1, 13)], "累计执行（元）", "执行率"],
        rows,
        note=f"现行预算：{version}；时间进度 {ex['time_progress']}%；数据来源：总账已记账凭证，截至 {clock.today()}",
    )
    return xlsx.response(f"{year}年职业伤害保障资金预算执行", [sheet])


# ---- statements and final accounts ---------------------------------------------------------------


def statement_sheets(st: dict, label: str) -> list[xlsx.Sheet]:
    ie = [[x["name"], x["code"], xlsx.Money(x["amount_fen"])] for x in st["income"]]
    ie.append(["收入合计", "", xlsx.Money(st["income_total_fen"])])
    ie += [[x["name"], x["code"], xlsx.Money(x["amount_fen"])] for x in st["expenditure"]]
    ie += [
        ["支出合计", "", xlsx.Money(st["expenditure_total_fen"])],
        ["本年收支结余", "", xlsx.Money(st["surplus_fen"])],
        ["上年结余", "", xlsx.Money(st["brought_forward_fen"])],
        ["本年基金结余调整", "", xlsx.Money(st["adjustment_fen"])],
        ["年末滚存结余", "", xlsx.Money(st["closing_balance_fen"])],
    ]
    codes = [x["code"] for x in st["expenditure"]]
    by_city = [
        [
            c["city_name"],
            c["city_code"],
            *[xlsx.Money(c["items"].get(code, 0)) for code in codes],
            xlsx.Money(c["total_fen"]),
        ]
        for c in st["expenditure_by_city"]
    ]
    bs = st["balance_sheet"]
    rows = []
    for a in bs["assets"]:
        rows.append(["资产", a["name"], a["code"], xlsx.Money(a["amount_fen"])])
        for c in a.get("by_city", []):
            rows.append(["", f"  其中：{c['city_name']}", c["city_code"], xlsx.Money(c["amount_fen"])])
    rows.append(["资产合计", "", "", xlsx.Money(bs["assets_total_fen"])])
    rows += [["负债", x["name"], x["code"], xlsx.Money(x["amount_fen"])] for x in bs["liabilities"]]
    rows.append(["负债合计", "", "", xlsx.Money(bs["liabilities_total_fen"])])
    rows.append(["基金结余", "职业伤害保障基金结余（年末滚存结余）", "", xlsx.Money(bs["fund_balance_fen"])])
    rows.append(["负债和基金结余合计", "", "", xlsx.Money(bs["liabilities_and_fund_fen"])])
    return [
        xlsx.Sheet(f"收支表 {label}", ["项目", "科目编码", "金额（元）"], ie, note="数据来源：总账已记账凭证"),
        xlsx.Sheet(
            f"分地区支出 {label}",
            ["设区市", "区划代码", *[x["name"] for x in st["expenditure"]], "合计（元）"],
            by_city,
        ),
        xlsx.Sheet(
            f"资产负债表 {label}",
            ["类别", "项目", "科目编码", "金额（元）"],
            rows,
            note="资产合计 = 负债合计 + 基金结余" if bs["balanced"] else "注意：资产合计不等于负债与基金结余合计",
        ),
    ]


@pages.get("/fund/statements")
def statements_page(
    request: Request, year: str | None = None, p: Principal = Depends(Require(P.FUND_READ)), db: Session = DB
):
    final_accounts.read_scope(p)
    today = clock.today()
    y = _year(year, today.year)
    st = final_accounts.statements(db, y)
    return render(
        request,
        "fund/statements.html",
        title=f"{y} 年基金收支报表",
        st=st,
        year=y,
        to_date=y >= today.year,
        today=today,
        yuan=yuan,
        years=list(range(today.year, today.year - 6, -1)),
        xlsx_url=f"/fund/statements.xlsx?year={y}",
    )


@pages.get("/fund/statements.xlsx")
def statements_xlsx(year: str | None = None, p: Principal = Depends(Require(P.FUND_READ)), db: Session = DB):
    final_accounts.read_scope(p)
    today = clock.today()
    y = _year(year, today.year)
    st = final_accounts.statements(db, y)
    label = f"{y}（截至{today}）" if y >= today.year else str(y)
    return xlsx.response(f"{y}年职业伤害保障资金收支报表", statement_sheets(st, label))


def _final_page(request: Request, db: Session, p: Principal, year: int, *, status_code: int = 200, **extra):
    final_accounts.read_scope(p)
    fa = final_accounts.get(db, year)
    still = final_accounts.open_months(db, year)
    st = fa.statements if fa else None
    names = budget.user_names(db, [fa.made_by, fa.approved_by]) if fa else {}
    return render(
        request,
        "fund/final_account.html",
        status_code=status_code,
        title=f"{year} 年决算",
        year=year,
        fa=fa,
        fa_status=R.FINAL_STATUS_NAMES.get(fa.status) if fa else None,
        made_by=names.get(fa.made_by) if fa else None,
        approved_by=names.get(fa.approved_by) if fa else None,
        st=st,
        open_months=still,
        yuan=yuan,
        can_draw=p.can(P.FUND_CLOSE) and not still and not R.final_why_not("draw", fa.status if fa else None),
        can_submit=p.can(P.FUND_CLOSE) and fa is not None and not R.final_why_not("submit", fa.status),
        can_review=p.can(P.FUND_BUDGET_REVIEW) and fa is not None and not R.final_why_not("approve", fa.status),
        **extra,
    )


@pages.get("/fund/final-accounts/{year}")
def final_page(
    request: Request,
    year: YearPath,
    done: str | None = None,
    p: Principal = Depends(Require(P.FUND_READ)),
    db: Session = DB,
):
    return _final_page(request, db, p, year, done=DONE.get(done or ""))


@pages.get("/fund/final-accounts/{year}/export.xlsx")
def final_xlsx(year: YearPath, p: Principal = Depends(Require(P.FUND_READ)), db: Session = DB):
    final_accounts.read_scope(p)
    fa = final_accounts.get(db, year)
    if fa is None:
        raise final_accounts.out_of_scope(f"{year} 年决算")
    return xlsx.response(f"{year}年职业伤害保障资金决算", statement_sheets(fa.statements, f"{year}决算"))


def _final_act(request: Request, db: Session, p: Principal, year: int, done: str, fn):
    _, page = attempt(db, fn, lambda err: _final_page(request, db, p, year, status_code=err.status_code, error=err))
    return page or RedirectResponse(f"/fund/final-accounts/{year}?done={done}", status_code=303)


@pages.post("/fund/final-accounts/{year}/draw")
def final_draw(request: Request, year: YearPath, p: Principal = Depends(Require(P.FUND_CLOSE)), db: Session = DB):
    return _final_act(request, db, p, year, "drawn", lambda: final_accounts.draw(db, p, year))


@pages.post("/fund/final-accounts/{year}/submission")
def final_submit(request: Request, year: YearPath, p: Principal = Depends(Require(P.FUND_CLOSE)), db: Session = DB):
    return _final_act(request, db, p, year, "final_submitted", lambda: final_accounts.submit(db, p, year))


@pages.post("/fund/final-accounts/{year}/approval")
def final_approve(
    request: Request,
    year: YearPath,
    p: Principal = Depends(Require(P.FUND_BUDGET_REVIEW)),
    form: FormData = Depends(form_data),
    db: Session = DB,
):
    v = form_text(form)
    return _final_act(
        request, db, p, year, "final_approved", lambda: final_accounts.approve(db, p, year, v.get("note", ""))
    )


@pages.post("/fund/final-accounts/{year}/return")
def final_return(
    request: Request,
    year: YearPath,
    p: Principal = Depends(Require(P.FUND_BUDGET_REVIEW)),
    form: FormData = Depends(form_data),
    db: Session = DB,
):
    v = form_text(form)
    return _final_act(
        request, db, p, year, "final_returned", lambda: final_accounts.return_(db, p, year, v.get("reason", ""))
    )
