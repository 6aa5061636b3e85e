"""The worker's own view of their benefits (我的待遇, ``/me/benefits``): for each of their cases the
approved determinations (lines with item names, amounts, formulas, the letter to download), the
monthly benefits (rate, state, next eligibility confirmation, and the portal confirmation of the
worker's own ones), and one paged list of what is owed and paid (待支付, 支付中, 已支付, 暂缓支付)
with the dates and the masked card.

Everything is read from the tables of benefits and payments (this domain is the highest, so it may
read both); the scope is the worker's own person (``case_condition`` of the self scope). Staff are
sent to their console: they read cases on the case page.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import RedirectResponse
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from oip.auth import permissions as P
from oip.auth.deps import Require
from oip.auth.service import Principal
from oip.benefits import calc, determination as D, monthly, payables
from oip.benefits.determination_views import determination_out
from oip.benefits.models import Dependant, Determination, MonthlyBenefit, Payable
from oip.cases.models import Case
from oip.cases.rules import STATE_NAMES
from oip.cases.scope import case_condition
from oip.core import clock, layout
from oip.core.errors import DomainError, Forbidden
from oip.core.ids import mask_name
from oip.core.layout import render
from oip.core.pagination import Page, page_count, page_window
from oip.core.web import DB, TransactionRoute
from oip.payments import payees
from oip.payments.models import PayeeAccount, PaymentLine

pages = APIRouter(include_in_schema=False, route_class=TransactionRoute)
layout.register_nav(
    layout.NavItem("我的待遇", "/me/benefits", P.BENEFIT_READ, order=92, scopes=frozenset({"self"})),
)

# What the worker sees of what is owed: not the cancelled ones (a superseded version's unpaid lines).
SHOWN = ("due", "batched", "paid", "held")
PAGE_SIZE = 20
# The yearly eligibility confirmation (领取待遇资格认证) opens in the portal this many days before it
# is due, and stays open while it is overdue (the benefit paused): a worker confirms only their own.
PORTAL_WINDOW_DAYS = 60
KIND_NAMES = {"injury": "职业伤害", "death": "因工死亡", "missing": "因工下落不明"}
DONE = {"confirmed": "资格认证已完成。暂停发放的待遇已恢复，暂停期间的待遇将随下一批次补发。"}


def my_cases(session: Session, p: Principal) -> list[Case]:
    """The worker's own cases (a merged report is shown through the case it joined), newest first."""
    return list(
        session.scalars(
            select(Case)
            .where(case_condition(p), Case.merged_into_id.is_(None))
            .order_by(Case.occurred_at.desc(), Case.id.desc())
        )
    )


def may_confirm(p: Principal, mb: MonthlyBenefit, today: dt.date) -> bool:
    """A recipient may confirm eligibility in the portal: their own benefit (not a dependant's), not
    stopped, due within PORTAL_WINDOW_DAYS (or overdue: paused)."""
    if p.person_id is None or mb.person_id != p.person_id or mb.status == "stopped":
        return False
    if mb.status == "paused":
        return True
    return mb.eligibility_due is not None and (mb.eligibility_due - today).days <= PORTAL_WINDOW_DAYS


def _determinations(session: Session, p: Principal, case: Case) -> list[dict[str, Any]]:
    dets = session.scalars(
        select(Determination)
        .where(Determination.case_id == case.id, Determination.status == "approved")
        .order_by(Determination.approved_at.desc(), Determination.id.desc())
    )
    return [determination_out(session, p, case, d, names={}) for d in dets]


def _monthly(session: Session, p: Principal, case: Case, today: dt.date) -> list[dict[str, Any]]:
    out = []
    for mb in monthly.for_case(session, case):
        d = monthly.describe(session, mb, months=0)
        d["rate"] = D.yuan(d["rate_fen"])
        d["may_confirm"] = may_confirm(p, mb, today)
        d["own"] = mb.person_id is not None and mb.person_id == p.person_id
        out.append(d)
    return out


def _paid_fen(session: Session, case_ids: list[int]) -> dict[int, int]:
    rows = session.execute(
        select(Payable.case_id, func.sum(Payable.amount_fen))
        .where(Payable.case_id.in_(case_ids), Payable.status == "paid")
        .group_by(Payable.case_id)
    )
    return {c: int(n) for c, n in rows}


def _account_of(session: Session, payable: Payable, line: PaymentLine | None) -> PayeeAccount | None:
    """The account a payable was (or will be) paid to: its latest payment line's, else the account
    in force for its payee."""
    if line is not None:
        return session.get(PayeeAccount, line.account_id)
    return payees.for_payable(session, payable)


def payments(session: Session, cases: list[Case], page: int, size: int = PAGE_SIZE) -> Page[dict[str, Any]]:
    """What is owed on the worker's cases, newest first: item, month, amount, state, dates, masked card."""
    by_id = {c.id: c for c in cases}
    cond = (Payable.case_id.in_(list(by_id)), Payable.status.in_(SHOWN))
    total = int(session.scalar(select(func.count(Payable.id)).where(*cond)) or 0)
    page = min(page, page_count(total, size))
    rows = list(
        session.scalars(
            select(Payable)
            .where(*cond)
            .order_by(Payable.due_on.desc(), Payable.id.desc())
            .offset((page - 1) * size)
            .limit(size)
        )
    )
    latest: dict[int, PaymentLine] = {}
    if rows:
        for x in session.scalars(
            select(PaymentLine).where(PaymentLine.payable_id.in_([r.id for r in rows])).order_by(PaymentLine.id)
        ):
            latest[x.payable_id] = x  # the last attempt wins
    deps = {
        d.id: d
        for d in session.scalars(
            select(Dependant).where(Dependant.id.in_([r.dependant_id for r in rows if r.dependant_id]))
        )
    }
    items = []
    for r in rows:
        line = latest.get(r.id)
        acc = _account_of(session, r, line)
        dep = deps.get(r.dependant_id) if r.dependant_id else None
        items.append(
            {
                "case_number": by_id[r.case_id].number,
                "item_name": calc.ITEM_NAMES.get(r.item, r.item),
                "kind_name": payables.KIND_NAMES.get(r.kind, r.kind),
                "period": r.period.strftime("%Y-%m") if r.period else None,
                "amount": D.yuan(r.amount_fen),
                "status": r.status,
                "status_name": payables.STATUS_NAMES.get(r.status, r.status),
                "due_on": r.due_on,
                "paid_on": r.paid_on,
                "payee": f"{mask_name(dep.name)}（{D.RELATION_NAMES.get(dep.relation, '')}）" if dep else "本人",
                "account": f"{acc.bank_name} {acc.card_masked}" if acc is not None else None,
                # Why it waits: held (no account, a paused recipient) or the bank's reason it failed.
                "note": r.failure_reason if r.status in ("due", "held") else None,
            }
        )
    return Page(items=items, total=total, page=page, size=size)


@pages.get("/me/benefits")
def my_benefits(
    request: Request,
    pp: int = Query(1, ge=1, le=1_000_000),
    done: str | None = Query(None, max_length=16),
    p: Principal = Depends(Require(P.BENEFIT_READ)),
    db: Session = DB,
):
    """我的待遇: the worker's determinations, monthly benefits and payments, case by case."""
    if p.role.scope != "self":
        return RedirectResponse("/console", status_code=303)
    today = clock.today()
    cases = my_cases(db, p)
    paid = _paid_fen(db, [c.id for c in cases]) if cases else {}
    views = [
        {
            "case": c,
            "kind_name": KIND_NAMES.get(c.kind, c.kind),
            "state_name": STATE_NAMES.get(c.state, c.state),
            "occurred_on": clock.local(c.occurred_at).date(),
            "determinations": _determinations(db, p, c),
            "monthly": _monthly(db, p, c, today),
            "paid": D.yuan(paid.get(c.id, 0)),
        }
        for c in cases
    ]
    pay = payments(db, cases, pp) if cases else Page(items=[], total=0, page=1, size=PAGE_SIZE)

    def pay_url(n: int) -> str:
        return f"/me/benefits?pp={n}#payments"

    return render(
        request,
        "me_benefits.html",
        title="我的待遇",
        views=views,
        pay=pay,
        pay_url=pay_url,
        pay_window=page_window(pay.page, pay.pages),
        window_days=PORTAL_WINDOW_DAYS,
        done=DONE.get(done or ""),
        today=today,
    )


@pages.post("/me/benefits/monthly/{monthly_id}/eligibility")
def confirm_in_portal(monthly_id: int, p: Principal = Depends(Require(P.SELF_READ)), db: Session = DB):
    """网上认证: the recipient confirms their own eligibility (means ``portal``), inside the window."""
    mb = monthly.get_monthly(db, p, monthly_id)
    if mb.person_id is None or mb.person_id != p.person_id:
        raise Forbidden("只能为本人领取的定期待遇办理资格认证", field="monthly_id")
    today = clock.today()
    if not may_confirm(p, mb, today):
        if mb.status == "stopped":
            raise DomainError("该定期待遇已停发，无需资格认证", field="monthly_id")
        raise DomainError(
            f"下次资格认证日期为 {mb.eligibility_due}，请在此前 {PORTAL_WINDOW_DAYS} 日内办理", field="monthly_id"
        )
    monthly.confirm_eligibility(
        db, p, monthly_id, confirmed_on=today, means="portal", note="本人在“我的待遇”页面完成网上认证"
    )
    return RedirectResponse("/me/benefits?done=confirmed#monthly", status_code=303)
