"""HTML pages of the ledger (基金账务): the overview, entries and their trace, manual entries with
maker-checker and reversals, the periods and their close, the trial balance (with its Excel
export), interest vouchers and the ledger's check."""

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
from oip.fund import check, interest, journal, ledger, posting, rules

pages = APIRouter(include_in_schema=False, route_class=TransactionRoute)
layout.register_nav(layout.NavItem("基金账务", "/fund", P.FUND_READ, order=62))

ROWS = 6  # blank rows of the manual entry form
DONE = {
    "posted": "业务事件已入账。",
    "draft": "凭证草稿已保存。",
    "submitted": "凭证已提交，待另一名经办人员复核。",
    "approved": "凭证已复核并记账。",
    "rejected": "凭证已退回编制人。",
    "reversal": "红字冲销凭证已生成，待另一名经办人员复核。",
    "deleted": "凭证草稿已删除。",
    "closed": "会计期间已结账。",
    "interest": "利息收入已分摊并记账。",
}


def _page_no(v: str | None) -> int:
    return max(1, int(v)) if (v or "").isdigit() else 1


def _date(v: str | None, field: str, label: str) -> dt.date | None:
    if not v:
        return None
    try:
        return dt.date.fromisoformat(v)
    except ValueError:
        raise DomainError(f"{label}应为日期（YYYY-MM-DD）", field=field) from None


def fen_of(v: str | None, field: str, label: str) -> int:
    """Yuan as typed ("1,234.5") → fen, exactly (Decimal); blank is 0; more than two decimals,
    negative or not a number is refused."""
    s = (v or "").strip().replace(",", "").replace("，", "")
    if not s:
        return 0
    try:
        d = Decimal(s)
    except InvalidOperation:
        raise DomainError(f"{label}应为金额（元，最多两位小数）", field=field) from None
    if not d.is_finite() or d < 0:
        raise DomainError(f"{label}不能为负数", field=field)
    fen = d * 100
    if fen != fen.to_integral_value():
        raise DomainError(f"{label}最多两位小数（到分）", field=field)
    if fen >= 10**15:
        raise DomainError(f"{label}过大", field=field)
    return int(fen)


def _legs_from_form(v: dict[str, str]) -> tuple[list[rules.Leg], list[dict]]:
    """The rows of the entry form: legs, and the rows as typed (to show the form again)."""
    legs, rows = [], []
    n = 1
    while f"subject_{n}" in v or f"debit_{n}" in v:
        row = {k: v.get(f"{k}_{n}", "").strip() for k in ("subject", "city", "debit", "credit")}
        rows.append(row)
        if any(row.values()) and (row["debit"] or row["credit"] or row["subject"]):
            if not row["subject"]:
                raise DomainError(f"第 {n} 行请选择科目", field=f"subject_{n}")
            if not row["city"]:
                raise DomainError(f"第 {n} 行请选择地区", field=f"city_{n}")
            d = fen_of(row["debit"], f"debit_{n}", f"第 {n} 行借方金额")
            c = fen_of(row["credit"], f"credit_{n}", f"第 {n} 行贷方金额")
            legs.append(rules.Leg(row["subject"], row["city"], d, c))
        n += 1
    return legs, rows


def _yuan_text(fen: int) -> str:
    return f"{fen // 100}.{fen % 100:02d}" if fen else ""


# ---- overview ------------------------------------------------------------------------------------


@pages.get("/fund")
def overview(request: Request, done: str | None = None, p: Principal = Depends(Require(P.FUND_READ)), db: Session = DB):
    return _overview(request, db, p, done=DONE.get(done or ""))


def _overview(request: Request, db: Session, p: Principal, *, status_code: int = 200, **extra):
    year = clock.today().year
    rows = ledger.trial_balance(db, p, year, None)
    waiting = ledger.awaiting_check(db, p)
    per = ledger.periods(db, limit=12)
    return render(
        request,
        "fund_overview.html",
        status_code=status_code,
        title="基金账务",
        year=year,
        own_city=journal.actor_city(p),
        city_name=ledger.city_names(db).get(journal.actor_city(p) or "", ""),
        cards=ledger.main_balances(db, rows),
        pending=posting.pending_count(db),
        waiting=ledger.entries_dicts(db, waiting),
        periods=per,
        flows=ledger.monthly_flows(db, p, year),
        can_post=p.can(P.FUND_POST),
        yuan=yuan,
        **extra,
    )


@pages.post("/fund/post")
def post_pending(request: Request, p: Principal = Depends(Require(P.FUND_POST)), db: Session = DB):
    try:
        posting.post_pending(db, p)
    except DomainError as err:
        db.rollback()
        return _overview(request, db, p, status_code=err.status_code, error=err)
    return RedirectResponse("/fund?done=posted", status_code=303)


# ---- entries -------------------------------------------------------------------------------------


@pages.get("/fund/entries")
def entries(
    request: Request,
    month: str | None = None,
    kind: str | None = None,
    status: str | None = None,
    city: str | None = None,
    subject: str | None = None,
    page: str | None = None,
    p: Principal = Depends(Require(P.FUND_READ)),
    db: Session = DB,
):
    error = None
    try:
        f = ledger.clean_filters(month, kind, status, city, subject)
    except DomainError as err:
        error, f = err, ledger.Filters()
    res = ledger.list_entries(db, p, f, page=_page_no(page))
    q = f.as_query()
    return render(
        request,
        "fund_entries.html",
        status_code=400 if error else 200,
        title="记账凭证",
        error=error,
        f=f,
        items=ledger.entries_dicts(db, res.items),
        result=res,
        page_url=lambda n: "/fund/entries?" + urlencode({**q, "page": n}),
        window=page_window(res.page, res.pages),
        hidden=q,
        kinds=rules.ENTRY_KINDS,
        statuses=rules.ENTRY_STATUS_NAMES,
        cities=ledger.cities_for(db, p),
        subjects=ledger.leaf_subjects(db),
        can_post=p.can(P.FUND_POST),
        yuan=yuan,
    )


def _form(request: Request, db: Session, p: Principal, *, status_code: int = 200, entry=None, **extra):
    rows = extra.pop("rows", None) or []
    rows = rows + [{"subject": "", "city": "", "debit": "", "credit": ""} for _ in range(max(0, ROWS - len(rows)))]
    return render(
        request,
        "fund_entry_form.html",
        status_code=status_code,
        title="修改记账凭证" if entry else "编制记账凭证",
        entry=entry,
        rows=rows,
        subjects=ledger.leaf_subjects(db),
        cities=ledger.cities_for(db, p),
        today=clock.today().isoformat(),
        **extra,
    )


@pages.get("/fund/entries/new")
def new_entry(request: Request, p: Principal = Depends(Require(P.FUND_POST)), db: Session = DB):
    return _form(request, db, p, v={"entry_date": clock.today().isoformat()})


@pages.post("/fund/entries")
def create_entry(
    request: Request,
    p: Principal = Depends(Require(P.FUND_POST)),
    form: FormData = Depends(form_data),
    db: Session = DB,
):
    v = form_text(form)
    rows: list[dict] = []
    try:
        legs, rows = _legs_from_form(v)
        e = journal.draft(
            db,
            p,
            entry_date=_date(v.get("entry_date"), "entry_date", "凭证日期"),
            summary=v.get("summary", ""),
            legs=legs,
            note=v.get("note", ""),
        )
        if v.get("action") != "draft":
            journal.submit(db, p, e.id)
    except DomainError as err:
        db.rollback()
        return _form(request, db, p, status_code=err.status_code, error=err, v=v, rows=rows)
    return RedirectResponse(
        f"/fund/entries/{e.id}?done={'draft' if v.get('action') == 'draft' else 'submitted'}", status_code=303
    )


def _entry_page(request: Request, db: Session, p: Principal, entry_id: int, *, status_code: int = 200, **extra):
    e = journal.get_entry(db, p, entry_id)
    d = ledger.entry_dict(db, e)
    lines = ledger.lines_dicts(db, e.id)
    tr = ledger.trace(db, p, e)
    legs = journal.legs_of(db, e.id)
    own_city = journal.actor_city(p)
    in_scope = own_city is None or all(x.city == own_city for x in legs)
    mine = e.made_by == p.user_id
    orphan = e.kind == "reversal" and e.reverses_id is None  # a rejected reversal: delete only
    return render(
        request,
        "fund_entry.html",
        status_code=status_code,
        title=f"记账凭证 {e.number or '（未记账）'}",
        e=d,
        lines=lines,
        trace=tr,
        totals={"debit": sum(x["debit_fen"] for x in lines), "credit": sum(x["credit_fen"] for x in lines)},
        mine=mine,
        can_check=p.can(P.FUND_CHECK) and in_scope and e.status == "submitted" and not mine,
        can_edit=p.can(P.FUND_POST) and mine and e.status in ("draft", "submitted", "rejected") and not orphan,
        can_delete=p.can(P.FUND_POST) and mine and e.status in ("draft", "submitted", "rejected"),
        can_submit=p.can(P.FUND_POST) and in_scope and e.status in ("draft", "rejected") and not orphan,
        can_reverse=p.can(P.FUND_POST)
        and in_scope
        and e.status == "posted"
        and e.kind in journal.REVERSIBLE
        and tr["reversed_by"] is None,
        today=clock.today().isoformat(),
        yuan=yuan,
        **extra,
    )


@pages.get("/fund/entries/{entry_id}")
def entry_page(
    request: Request,
    entry_id: int,
    done: str | None = None,
    p: Principal = Depends(Require(P.FUND_READ)),
    db: Session = DB,
):
    return _entry_page(request, db, p, entry_id, done=DONE.get(done or ""))


def _act(request: Request, db: Session, p: Principal, entry_id: int, fn, done: str):
    target, page = attempt(
        db, fn, lambda err: _entry_page(request, db, p, entry_id, status_code=err.status_code, error=err)
    )
    if page is not None:
        return page
    return RedirectResponse(f"/fund/entries/{target or entry_id}?done={done}", status_code=303)


@pages.post("/fund/entries/{entry_id}/submit")
def submit_entry(request: Request, entry_id: int, p: Principal = Depends(Require(P.FUND_POST)), db: Session = DB):
    return _act(request, db, p, entry_id, lambda: journal.submit(db, p, entry_id).id, "submitted")


@pages.post("/fund/entries/{entry_id}/approve")
def approve_entry(request: Request, entry_id: int, p: Principal = Depends(Require(P.FUND_CHECK)), db: Session = DB):
    return _act(request, db, p, entry_id, lambda: journal.approve(db, p, entry_id).id, "approved")


@pages.post("/fund/entries/{entry_id}/reject")
def reject_entry(
    request: Request,
    entry_id: int,
    p: Principal = Depends(Require(P.FUND_CHECK)),
    form: FormData = Depends(form_data),
    db: Session = DB,
):
    v = form_text(form)
    return _act(request, db, p, entry_id, lambda: journal.reject(db, p, entry_id, v.get("reason", "")).id, "rejected")


@pages.post("/fund/entries/{entry_id}/reverse")
def reverse_entry(
    request: Request,
    entry_id: int,
    p: Principal = Depends(Require(P.FUND_POST)),
    form: FormData = Depends(form_data),
    db: Session = DB,
):
    v = form_text(form)

    def run():
        on = _date(v.get("on"), "on", "冲销日期")
        return journal.reverse(db, p, entry_id, v.get("reason", ""), on).id

    return _act(request, db, p, entry_id, run, "reversal")


@pages.post("/fund/entries/{entry_id}/delete")
def delete_entry(request: Request, entry_id: int, p: Principal = Depends(Require(P.FUND_POST)), db: Session = DB):
    try:
        journal.remove(db, p, entry_id)
    except DomainError as err:
        db.rollback()
        if err.status_code == 404:
            raise
        return _entry_page(request, db, p, entry_id, status_code=err.status_code, error=err)
    return RedirectResponse("/fund/entries?status=draft", status_code=303)


@pages.get("/fund/entries/{entry_id}/edit")
def edit_form(request: Request, entry_id: int, p: Principal = Depends(Require(P.FUND_POST)), db: Session = DB):
    e = journal.get_entry(db, p, entry_id)
    d = ledger.entry_dict(db, e)
    rows = [
        {"subject": x.subject, "city": x.city, "debit": _yuan_text(x.debit), "credit": _yuan_text(x.credit)}
        for x in journal.legs_of(db, e.id)
    ]
    return _form(
        request, db, p, entry=d, rows=rows, v={"entry_date": d["entry_date"], "summary": e.summary, "note": e.note}
    )


@pages.post("/fund/entries/{entry_id}/edit")
def edit_entry(
    request: Request,
    entry_id: int,
    p: Principal = Depends(Require(P.FUND_POST)),
    form: FormData = Depends(form_data),
    db: Session = DB,
):
    v = form_text(form)
    e = journal.get_entry(db, p, entry_id)
    d = ledger.entry_dict(db, e)
    rows: list[dict] = []
    try:
        legs, rows = _legs_from_form(v)
        journal.update(
            db,
            p,
            entry_id,
            entry_date=_date(v.get("entry_date"), "entry_date", "凭证日期"),
            summary=v.get("summary", ""),
            legs=None if e.kind == "reversal" else legs,
            note=v.get("note", ""),
        )
        if v.get("action") != "draft":
            journal.submit(db, p, entry_id)
    except DomainError as err:
        db.rollback()
        if err.status_code == 404:
            raise
        return _form(request, db, p, status_code=err.status_code, error=err, v=v, rows=rows, entry=d)
    return RedirectResponse(
        f"/fund/entries/{entry_id}?done={'draft' if v.get('action') == 'draft' else 'submitted'}", status_code=303
    )


@pages.get("/fund/trace")
def trace_page(
    request: Request,
    source_type: str | None = None,
    source_id: str | None = None,
    p: Principal = Depends(Require(P.FUND_READ)),
    db: Session = DB,
):
    if source_type not in ledger.SOURCE_TYPES or not (source_id or "").isdigit():
        raise DomainError("请指明来源类型与编号", field="source_type")
    found = ledger.entries_of_source(db, p, source_type, int(source_id))
    return render(
        request,
        "fund_trace.html",
        title="凭证追溯",
        source_type=source_type,
        source_name=ledger.SOURCE_TYPES[source_type],
        source_id=int(source_id),
        batch_link=ledger.batch_url(db, p, int(source_id)) if source_type == "payment_batch" else None,
        items=ledger.entries_dicts(db, found),
        yuan=yuan,
    )


# ---- periods -------------------------------------------------------------------------------------


def _periods(request: Request, db: Session, p: Principal, *, status_code: int = 200, **extra):
    rows = ledger.periods(db)
    closed = posting.closed_months(db)
    candidates = sorted({r["month"] for r in rows if r["status"] == "open"})
    return render(
        request,
        "fund_periods.html",
        status_code=status_code,
        title="会计期间",
        periods=rows,
        next_to_close=candidates[0] if candidates else None,
        closed=closed,
        can_close=p.can(P.FUND_CLOSE),
        yuan=yuan,
        **extra,
    )


@pages.get("/fund/periods")
def periods(request: Request, done: str | None = None, p: Principal = Depends(Require(P.FUND_READ)), db: Session = DB):
    return _periods(request, db, p, done=DONE.get(done or ""))


@pages.post("/fund/periods/close")
def close_period(
    request: Request,
    p: Principal = Depends(Require(P.FUND_CLOSE)),
    form: FormData = Depends(form_data),
    db: Session = DB,
):
    v = form_text(form)
    try:
        posting.close_period(db, p, v.get("month", "").strip())
    except DomainError as err:
        db.rollback()
        return _periods(request, db, p, status_code=err.status_code, error=err)
    return RedirectResponse("/fund/periods?done=closed", status_code=303)


# ---- trial balance -------------------------------------------------------------------------------


def _tb_args(db: Session, p: Principal, year: str | None, city: str | None) -> tuple[int, str]:
    years = ledger.years_with_data(db)
    y = int(year) if (year or "").isdigit() and int(year) in years else clock.today().year
    cities = ledger.cities_for(db, p)
    c = city if city in cities else ""
    if journal.actor_city(p):
        c = journal.actor_city(p)
    return y, c


@pages.get("/fund/trial-balance")
def trial_balance(
    request: Request,
    year: str | None = None,
    city: str | None = None,
    p: Principal = Depends(Require(P.FUND_READ)),
    db: Session = DB,
):
    y, c = _tb_args(db, p, year, city)
    rows = ledger.trial_balance(db, p, y, c or None)
    return render(
        request,
        "fund_trial_balance.html",
        title=f"{y} 年试算平衡表",
        year=y,
        city=c,
        years=ledger.years_with_data(db),
        cities=ledger.cities_for(db, p),
        all_cities=journal.actor_city(p) is None,
        rows=ledger.tb_rows_grouped(db, rows),
        totals=ledger.tb_totals(rows),
        kinds=rules.KIND_NAMES,
        query=urlencode({"year": y, **({"city": c} if c else {})}),
        yuan=yuan,
    )


@pages.get("/fund/trial-balance.xlsx")
def trial_balance_xlsx(
    year: str | None = None, city: str | None = None, p: Principal = Depends(Require(P.FUND_READ)), db: Session = DB
):
    y, c = _tb_args(db, p, year, city)
    rows = ledger.trial_balance(db, p, y, c or None)
    t = ledger.tb_totals(rows)
    where = ledger.city_names(db).get(c, "全区") if c else "全区"
    body = [
        [
            r["subject_code"],
            r["subject_name"],
            rules.KIND_NAMES.get(r["kind"], r["kind"]),
            xlsx.Money(r["opening_fen"]),
            xlsx.Money(r["debit_fen"]),
            xlsx.Money(r["credit_fen"]),
            xlsx.Money(r["balance_fen"]),
        ]
        for r in ledger.tb_rows_grouped(db, rows)
    ]
    body.append(["", "合计", "", None, xlsx.Money(t["debit_fen"]), xlsx.Money(t["credit_fen"]), None])
    sheet = xlsx.Sheet(
        f"{y}年试算平衡表（{where}）",
        ["科目编码", "科目名称", "类别", "年初余额（元）", "借方发生额（元）", "贷方发生额（元）", "期末余额（元）"],
        body,
        note=f"数据来源：基金总账已记账分录，导出于 {clock.fmt(clock.now())}。“小计”行为 5001 职业伤害保障支出各明细科目之和，不计入合计。",
    )
    return xlsx.response(f"试算平衡表-{y}-{where}", [sheet])


# ---- interest ------------------------------------------------------------------------------------


def _interest(request: Request, db: Session, p: Principal, *, page: int = 1, status_code: int = 200, **extra):
    res = ledger.vouchers(db, page=page)
    today = clock.today()
    last = (today.replace(day=1) - dt.timedelta(days=1)).strftime("%Y-%m")
    return render(
        request,
        "fund_interest.html",
        status_code=status_code,
        title="利息收入分摊",
        items=res.items,
        result=res,
        page_url=lambda n: f"/fund/interest?page={n}",
        window=page_window(res.page, res.pages),
        can_record=p.can(P.FUND_POST) and journal.actor_city(p) is None,
        link_entries=journal.actor_city(p) is None,  # the entries are the region's books
        default_month=last,
        max_month=today.strftime("%Y-%m"),
        today=today.isoformat(),
        yuan=yuan,
        **extra,
    )


@pages.get("/fund/interest")
def interest_page(
    request: Request,
    page: str | None = None,
    done: str | None = None,
    p: Principal = Depends(Require(P.FUND_READ)),
    db: Session = DB,
):
    return _interest(request, db, p, page=_page_no(page), done=DONE.get(done or ""))


@pages.post("/fund/interest")
def record_interest(
    request: Request,
    p: Principal = Depends(Require(P.FUND_POST)),
    form: FormData = Depends(form_data),
    db: Session = DB,
):
    v = form_text(form)
    try:
        oi = (v.get("oi_balance") or "").strip()
        interest.record(
            db,
            p,
            month=v.get("month", "").strip(),
            received_on=_date(v.get("received_on"), "received_on", "到账日期"),
            bank_ref=v.get("bank_ref", ""),
            fund_interest_fen=fen_of(v.get("fund_interest"), "fund_interest", "工伤保险基金利息"),
            fund_balance_fen=fen_of(v.get("fund_balance"), "fund_balance", "工伤保险基金平均余额"),
            oi_balance_fen=fen_of(oi, "oi_balance", "职业伤害保障资金平均余额") if oi else None,
        )
    except DomainError as err:
        db.rollback()
        return _interest(request, db, p, status_code=err.status_code, error=err, v=v)
    return RedirectResponse("/fund/interest?done=interest", status_code=303)


# ---- check ---------------------------------------------------------------------------------------


@pages.get("/fund/check")
def check_page(request: Request, p: Principal = Depends(Require(P.FUND_READ)), db: Session = DB):
    report = check.run(db)
    return render(
        request,
        "fund_check.html",
        title="总账检查",
        report=report,
        tie=report.figures.get("tie_out", {}),
        yuan=yuan,
    )
