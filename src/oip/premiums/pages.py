"""Pages of premiums: the officers' month by platform (/premiums) with the yearly float, a
platform's own account (/portal/premiums, also what /premiums shows a platform user), and the
reconciliation worklist (/reconciliation)."""

from __future__ import annotations

import datetime as dt
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from oip.auth import permissions as P
from oip.auth.deps import Require
from oip.auth.scope import out_of_scope
from oip.auth.service import Principal
from oip.core import clock, layout
from oip.core.config import get_settings
from oip.core.errors import DomainError, TooLarge
from oip.core.layout import render
from oip.core.months import first_day, month_bounds, month_of, months_between, next_month, parse_month, previous_month
from oip.core.web import DB, TransactionRoute
from oip.exchange import service as exchange
from oip.exchange.models import OutboxItem
from oip.orders.coverage_rules import STATUS_NAMES as ORDER_STATUS_NAMES
from oip.platforms import service as platforms
from oip.premiums import calc, float_figures, floats, reconciliation, scope, service
from oip.premiums.models import (
    DECLARATION_STATUSES,
    FLAG_NAMES,
    FLAG_STATUSES,
    PROPOSAL_STATUSES,
)
from oip.reference import parameters

pages = APIRouter(include_in_schema=False, route_class=TransactionRoute)
layout.register_nav(
    layout.NavItem("保障费申报", "/premiums", P.PREMIUM_READ, order=70, titles={"platform": "保障费与欠费"}),
    layout.NavItem("对账与欠费", "/reconciliation", P.RECONCILE_READ, order=80),
)

DONE = {
    "computed": "已按订单台账重新核定。",
    "sent": "已推送税务。",
    "nothing": "本月没有新的待推送核定。",
    "failed": "推送未成功，消息已保存在发件箱，可稍后重发（见数据交换日志）。",
    "proposed": "已按上年度数据完成测算。",
    "approved": "浮动档次已核定，自该年度 1 月 1 日起执行。",
    "rejected": "测算已退回。",
    "experience": "人工录入的年度赔付与伤害情况已保存，测算时代替按业务数据计算的数字。",
    "experience_cleared": "人工录入已撤销，恢复按业务数据计算。",
    "reconciled": "对账已完成。",
    "handled": "处理情况已登记。",
    "imported": "回执已导入并完成对账。",
    "fetched": "已从税务交换通道获取回执。",
}


async def form_data(request: Request) -> FormData:
    return await request.form()


def _fields(form: FormData) -> dict[str, str]:
    return {k: v.strip() for k, v in form.items() if isinstance(v, str) and k != "csrf_token"}


def _redirect(url: str, **params) -> RedirectResponse:
    q = urlencode({k: v for k, v in params.items() if v not in (None, "")})
    return RedirectResponse(f"{url}?{q}" if q else url, status_code=303)


def month_options() -> list[str]:
    """Order months from the pilot's start to the current month, newest first."""
    return months_between(month_of(parameters.PILOT_START), month_of(clock.today()))[::-1]


def default_month() -> str:
    return previous_month(month_of(clock.today()))


def _month(value: str | None) -> str:
    return parse_month(value) if value else default_month()


# ---- officers: the month by platform -------------------------------------------------------------


def _officer_page(request: Request, db: Session, p: Principal, month: str, year: int | None, done: str | None):
    rows = service.list_declarations(db, p, month)
    first, _ = month_bounds(month)
    today = clock.today()
    covered = service.covered_platforms(db, month) if first <= today else []
    declared = {d.platform_id for d in rows}
    missing = [pl for pl, _ in covered if pl.id not in declared]
    totals = {k: sum(getattr(d, k) for d in rows) for k in ("orders", "amount_fen", "adjustment_fen", "total_fen")}
    ctx = {}
    if p.can(P.FLOAT_DECIDE):
        y = year or today.year + 1
        proposals = floats.list_proposals(db, p, y)
        ctx.update(
            float_year=y,
            proposals=proposals,
            figures=floats.year_figures(db, p, y - 1) if y - 1 <= today.year else [],
            source_names=float_figures.SOURCE_NAMES,
            proposal_statuses=PROPOSAL_STATUSES,
            float_years=[today.year, today.year + 1],
            experience_years=list(range(2025, today.year + 1)),
            all_platforms=platforms.admitted_platforms(db),
            rules=parameters.get_version(db, "premium.float_rules", dt.date(y, 1, 1)),
        )
    return render(
        request,
        "premiums_officer.html",
        title="保障费申报",
        month=month,
        months=month_options(),
        rows=rows,
        missing=missing,
        sent_only=scope.sent_only(p),
        totals=totals,
        statuses=DECLARATION_STATUSES,
        yuan=calc.yuan,
        rate_str=calc.rate_str,
        base_str=platforms.yuan_str,
        today=today,
        month_ended=first_day(next_month(month)) <= today,
        month_started=first <= today,
        can_declare=p.can(P.PREMIUM_DECLARE),
        can_float=p.can(P.FLOAT_DECIDE),
        can_reconcile=p.can(P.RECONCILE_READ),
        can_exchange=p.can(P.RECONCILE) or p.can(P.PREMIUM_DECLARE),
        undelivered=len(exchange.outbox(db, system="tax", status="failed"))
        + len(exchange.outbox(db, system="tax", status="pending")),
        billable=parameters.get_version(db, "premium.billable_statuses", first),
        order_statuses=ORDER_STATUS_NAMES,
        param_labels={k: d.label for k, d in parameters.DEFINITIONS.items()},
        due_day=parameters.get(db, "premium.payment_due_day", first_day(next_month(month))),
        done=DONE.get(done or ""),
        **ctx,
    )


@pages.get("/premiums")
def premiums_page(
    request: Request,
    month: str | None = None,
    year: int | None = None,
    done: str | None = None,
    p: Principal = Depends(Require(P.PREMIUM_READ)),
    db: Session = DB,
):
    if p.role.scope == "platform":
        return _portal_page(request, db, p)
    return _officer_page(request, db, p, _month(month), year, done)


@pages.post("/premiums/compute")
def premiums_compute(
    p: Principal = Depends(Require(P.PREMIUM_DECLARE)), form: FormData = Depends(form_data), db: Session = DB
):
    month = parse_month(_fields(form).get("month"))
    service.declare(db, p, month)
    return _redirect("/premiums", month=month, done="computed")


@pages.post("/premiums/send")
def premiums_send(
    p: Principal = Depends(Require(P.PREMIUM_DECLARE)), form: FormData = Depends(form_data), db: Session = DB
):
    month = parse_month(_fields(form).get("month"))
    res = service.send(db, p, month)
    done = "failed" if any(not d.ok for d in res.deliveries) else ("sent" if res.message_id else "nothing")
    return _redirect("/premiums", month=month, done=done)


@pages.post("/premiums/floats/propose")
def floats_propose(
    p: Principal = Depends(Require(P.FLOAT_DECIDE)), form: FormData = Depends(form_data), db: Session = DB
):
    f = _fields(form)
    year = floats.parse_year(f.get("year"), lo=2026, hi=clock.today().year + 1)
    floats.propose_floats(db, p, year)
    return _redirect("/premiums", month=f.get("month"), year=year, done="proposed")


@pages.post("/premiums/floats/{id}/approve")
def floats_approve(
    id: int,
    p: Principal = Depends(Require(P.FLOAT_DECIDE)),  # noqa: A002
    form: FormData = Depends(form_data),
    db: Session = DB,
):
    f = _fields(form)
    prop = floats.approve_float(db, p, id, f.get("k") or None, f.get("reason", ""))
    return _redirect("/premiums", month=f.get("month"), year=prop.year, done="approved")


@pages.post("/premiums/floats/{id}/reject")
def floats_reject(
    id: int,
    p: Principal = Depends(Require(P.FLOAT_DECIDE)),  # noqa: A002
    form: FormData = Depends(form_data),
    db: Session = DB,
):
    f = _fields(form)
    prop = floats.reject_float(db, p, id, f.get("reason", ""))
    return _redirect("/premiums", month=f.get("month"), year=prop.year, done="rejected")


@pages.post("/premiums/experience")
def experience_save(
    p: Principal = Depends(Require(P.FLOAT_DECIDE)), form: FormData = Depends(form_data), db: Session = DB
):
    f = _fields(form)
    claims_fen = calc.fen_of_yuan(f.get("claims_yuan", ""), "claims_yuan", "赔付金额")
    row = floats.set_experience(
        db,
        p,
        f.get("platform_code", ""),
        f.get("year"),
        claims_fen=claims_fen,
        injuries=f.get("injuries", ""),
        insured_avg=f.get("insured_avg", ""),
        reason=f.get("reason", ""),
    )
    return _redirect("/premiums", month=f.get("month"), year=row.year + 1, done="experience")


@pages.post("/premiums/experience/clear")
def experience_clear(
    p: Principal = Depends(Require(P.FLOAT_DECIDE)), form: FormData = Depends(form_data), db: Session = DB
):
    f = _fields(form)
    year = floats.parse_year(f.get("year"), lo=2025, hi=clock.today().year)
    floats.clear_experience(db, p, f.get("platform_code", ""), year, reason=f.get("reason", ""))
    return _redirect("/premiums", month=f.get("month"), year=year + 1, done="experience_cleared")


# ---- a platform's own account --------------------------------------------------------------------


def _portal_page(request: Request, db: Session, p: Principal):
    plat = platforms.own_platform(db, p)
    st = reconciliation.statement(db, p, plat)
    return render(
        request,
        "premiums_portal.html",
        title="保障费与欠费",
        platform=plat,
        platform_name=plat.display_name(clock.today()),
        st=st,
        yuan=calc.yuan,
        rate_str=calc.rate_str,
        base_str=platforms.yuan_str,
        flag_names=FLAG_NAMES,
        today=clock.today(),
    )


@pages.get("/portal/premiums")
def portal_premiums(request: Request, p: Principal = Depends(Require(P.PORTAL)), db: Session = DB):
    return _portal_page(request, db, p)


# ---- the reconciliation worklist -----------------------------------------------------------------


@pages.get("/reconciliation")
def reconciliation_page(
    request: Request,
    month: str | None = None,
    platform_code: str | None = None,
    flag: str | None = None,
    status: str | None = None,
    done: str | None = None,
    p: Principal = Depends(Require(P.RECONCILE_READ)),
    db: Session = DB,
):
    month = parse_month(month) if month else None
    status = status or "unresolved"
    flags = reconciliation.list_flags(
        db, p, month=month, platform_code=platform_code or None, kind=flag or None, status=status
    )
    recs = reconciliation.reconciliations(db, p, month, platform_code or None) if month else []
    return render(
        request,
        "premiums_reconciliation.html",
        title="对账与欠费",
        flags=flags,
        recs=recs,
        month=month or "",
        months=month_options(),
        platform_code=platform_code or "",
        flag=flag or "",
        status=status,
        flag_names=FLAG_NAMES,
        flag_statuses=FLAG_STATUSES,
        yuan=calc.yuan,
        platforms=platforms.admitted_platforms(db),
        default_month=default_month(),
        done=DONE.get(done or ""),
        today=clock.today(),
        can_reconcile=p.can(P.RECONCILE),
        can_exchange=p.can(P.RECONCILE) or p.can(P.PREMIUM_DECLARE),
    )


@pages.post("/reconciliation/run")
def reconciliation_run(
    p: Principal = Depends(Require(P.RECONCILE)), form: FormData = Depends(form_data), db: Session = DB
):
    month = parse_month(_fields(form).get("month"))
    reconciliation.reconcile(db, p, month)
    return _redirect("/reconciliation", month=month, done="reconciled")


@pages.post("/reconciliation/flags/{id}/handle")
def reconciliation_handle(
    id: int,
    p: Principal = Depends(Require(P.RECONCILE)),  # noqa: A002
    form: FormData = Depends(form_data),
    db: Session = DB,
):
    f = _fields(form)
    flag = reconciliation.handle_flag(db, p, id, f.get("note", ""))
    return _redirect("/reconciliation", month=f.get("back_month") or flag.month, done="handled")


@pages.post("/reconciliation/returns")
def reconciliation_upload(
    p: Principal = Depends(Require(P.RECONCILE)), form: FormData = Depends(form_data), db: Session = DB
):
    upload, sig = form.get("file"), form.get("signature")
    if upload is None or isinstance(upload, str) or not upload.filename:
        raise DomainError("请选择回执文件（.json 或 .csv）", field="file")
    limit = get_settings().upload_max_bytes
    body = upload.file.read(limit + 1)
    if len(body) > limit:
        raise TooLarge("回执文件超过上传大小限制", field="file")
    signature = None
    if sig is not None and not isinstance(sig, str) and sig.filename:
        signature = sig.file.read(1024).decode("ascii", errors="replace").strip()
    rep = reconciliation.upload_returns(db, p, upload.filename, body, signature or _fields(form).get("signature_text"))
    first = rep.received[0]
    if first.status == "rejected":
        db.commit()  # keep the log entry of the refused file
        raise DomainError(f"回执文件未导入：{first.reason}", field="file")
    if first.status == "duplicate":
        db.commit()
        raise DomainError(f"回执文件未导入：{first.reason}", field="file")
    return _redirect("/reconciliation", month=rep.reconciled[0] if rep.reconciled else None, done="imported")


@pages.post("/reconciliation/fetch")
def reconciliation_fetch(p: Principal = Depends(Require(P.RECONCILE)), db: Session = DB):
    rep = reconciliation.fetch_returns(db, p)
    db.commit()
    rep.settle()
    return _redirect("/exchange", done="fetched")


# Acting on the tax outbox (the exchange page's buttons) is a premium action.
@pages.post("/exchange/deliver")
def exchange_deliver(p: Principal = Depends(Require(P.PREMIUM_DECLARE)), db: Session = DB):
    service.deliver_pending(db, p)
    return RedirectResponse("/exchange?done=delivered", status_code=303)


@pages.post("/exchange/outbox/{id}/withdraw")
def exchange_withdraw(
    id: int,
    reason: str = Form(""),
    p: Principal = Depends(Require(P.PREMIUM_DECLARE)),  # noqa: A002
    db: Session = DB,
):
    item = db.get(OutboxItem, id)
    if item is None:
        raise out_of_scope("发件箱消息")
    service.withdraw(db, p, item.message_id, reason)
    return RedirectResponse("/exchange?done=withdrawn", status_code=303)
