"""The chart of accounts page (会计科目, /fund/subjects): the subjects in force on a day, their
history, and — for the region's centre — a new subject or version from a date, or a retirement."""

from __future__ import annotations

import datetime as dt

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from oip.auth import permissions as P
from oip.auth.deps import Require
from oip.auth.service import Principal
from oip.core import clock, layout
from oip.core.errors import DomainError
from oip.core.layout import render
from oip.core.web import DB, TransactionRoute, form_data, form_text
from oip.fund import rules, subjects

pages = APIRouter(include_in_schema=False, route_class=TransactionRoute)
layout.register_nav(layout.NavItem("会计科目", "/fund/subjects", P.FUND_READ, order=66))


def _day(text: str | None, field: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text) if text else clock.today()
    except ValueError:
        raise DomainError("日期格式应为 YYYY-MM-DD", field=field) from None


def _page(request: Request, db: Session, p: Principal, on: dt.date, *, error=None, values=None, done=None, status=200):
    return render(
        request,
        "fund/subjects.html",
        status_code=status,
        on=on,
        chart=subjects.chart(db, on),
        history=subjects.history(db),
        kinds=rules.KIND_NAMES,
        items=rules.ITEM_NAMES,
        may_change=p.can(P.FUND_CLOSE),
        error=error,
        values=values or {},
        done=done,
    )


@pages.get("/fund/subjects")
def subjects_page(
    request: Request,
    on: str | None = None,
    done: str | None = None,
    p: Principal = Depends(Require(P.FUND_READ)),
    db: Session = DB,
):
    msg = {"defined": "科目已设置。", "retired": "科目已停用。"}.get(done or "")
    return _page(request, db, p, _day(on, "on"), done=msg)


@pages.post("/fund/subjects")
def define_subject(
    request: Request,
    p: Principal = Depends(Require(P.FUND_CLOSE)),
    form: FormData = Depends(form_data),
    db: Session = DB,
):
    v = form_text(form)
    sp = db.begin_nested()
    try:
        subjects.define(
            db,
            p,
            code=v.get("code", ""),
            name=v.get("name", ""),
            kind=v.get("kind", ""),
            valid_from=_day(v.get("valid_from"), "valid_from"),
            parent_code=v.get("parent_code") or None,
            item=v.get("item") or None,
            note=v.get("note", ""),
        )
    except DomainError as e:
        sp.rollback()
        return _page(request, db, p, clock.today(), error=e, values=v, status=e.status_code)
    sp.commit()
    return RedirectResponse("/fund/subjects?done=defined", status_code=303)


@pages.post("/fund/subjects/{code}/retire")
def retire_subject(
    request: Request,
    code: str,
    p: Principal = Depends(Require(P.FUND_CLOSE)),
    form: FormData = Depends(form_data),
    db: Session = DB,
):
    v = form_text(form)
    sp = db.begin_nested()
    try:
        subjects.retire(db, p, code, last_day=_day(v.get("last_day"), "last_day"), note=v.get("note", ""))
    except DomainError as e:
        sp.rollback()
        return _page(request, db, p, clock.today(), error=e, values=v, status=e.status_code)
    sp.commit()
    return RedirectResponse("/fund/subjects?done=retired", status_code=303)
