"""The letters panel of the case page: the case's letters (download, hash check, service) and, for
officers, the letters its steps call for that are not made yet; the forms post here and come back to
the case."""

from __future__ import annotations

import datetime as dt

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse
from sqlalchemy.orm import Session

from oip.auth import permissions as P
from oip.auth.deps import Require
from oip.auth.service import Principal
from oip.cases import letters, service
from oip.cases.letters_api import _CONTENT_KINDS, may_issue
from oip.cases.models import Case
from oip.cases.pages import Panel, register_panel
from oip.core import clock
from oip.core.errors import DomainError
from oip.core.layout import render
from oip.core.web import DB, TransactionRoute

pages = APIRouter(include_in_schema=False, route_class=TransactionRoute)


def _panel(db: Session, p: Principal, case: Case) -> dict | None:
    if not letters.may_download(p):
        return None
    made = letters.letters_of(db, case)
    can_handle, can_decide = p.can(P.CASE_HANDLE), p.can(P.CASE_DECIDE)
    todo = []
    if can_handle or can_decide:
        todo = [
            x
            for x in letters.candidates(db, case)
            if (can_decide if x["kind"] in ("confirmation", "non_confirmation") else can_handle)
        ]
    if not made and not todo and p.role.scope != "region":
        return None
    return {
        "letters": made,
        "kinds": letters.KINDS,
        "todo": todo,
        "means": letters.SERVICE_MEANS,
        "can_serve": can_handle,
        "today": clock.today().isoformat(),
    }


register_panel(Panel("letters", "cases/_letters.html", _panel, order=40))


def _back(case_id: int) -> RedirectResponse:
    return RedirectResponse(f"/cases/{case_id}#letters", status_code=303)


@pages.post("/cases/{case_id}/letters")
def issue_letter_form(
    case_id: int,
    kind: str = Form(""),
    source_id: str = Form(""),
    p: Principal = Depends(Require(P.CASE_HANDLE, P.CASE_DECIDE)),
    db: Session = DB,
):
    if kind not in letters.KINDS or kind in _CONTENT_KINDS:
        raise DomainError("请选择要制作的文书", field="kind")
    if source_id and not source_id.isdigit():
        raise DomainError("文书依据的事项无效", field="source_id")
    may_issue(p, kind)
    case = service.get_case(db, p, case_id, for_update=True)
    letters.issue_letter(db, p, case, kind, source_id=int(source_id) if source_id else None)
    return _back(case.id)


@pages.post("/cases/{case_id}/letters/{letter_id}/service")
def serve_letter_form(
    case_id: int,
    letter_id: int,
    served_on: str = Form(""),
    means: str = Form(""),
    note: str = Form(""),
    p: Principal = Depends(Require(P.CASE_HANDLE)),
    db: Session = DB,
):
    try:
        day = dt.date.fromisoformat(served_on) if served_on else None
    except ValueError:
        raise DomainError("送达日期应为有效日期", field="served_on") from None
    case, x = letters.get_letter(db, p, case_id, letter_id, for_update=True)
    letters.serve_letter(db, p, case, x, served_on=day, means=means, note=note[:1000])
    return _back(case.id)


@pages.get("/cases/{case_id}/letters/{letter_id}/verify")
def verify_letter_page(
    request: Request, case_id: int, letter_id: int, p: Principal = Depends(Require(P.CASE_READ)), db: Session = DB
):
    case, x = letters.get_letter(db, p, case_id, letter_id)
    ok = letters.verify(x)
    title = letters.KINDS[x.kind].title
    message = (
        f"{title}（{x.number}）核验通过：保存的文件与制作时记录的 SHA-256 一致（{x.sha256}）。"
        if ok
        else f"{title}（{x.number}）核验未通过：保存的文件与制作时记录的 SHA-256（{x.sha256}）不一致，文件可能已被改动，请联系运维人员。"
    )
    return render(
        request,
        "message.html",
        status_code=200 if ok else 409,
        title="文书核验",
        message=message,
        kind="ok" if ok else "error",
        back=f"/cases/{case.id}#letters",
    )
