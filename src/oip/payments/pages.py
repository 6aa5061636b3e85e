"""HTML pages of payment: 支付管理 (/payments: the worklist, batches, result import), a batch's
page, the bank file log, and the case panel 收款账户与支付 with its forms."""

from __future__ import annotations

import datetime as dt
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.datastructures import FormData, UploadFile

from oip.auth import permissions as P
from oip.auth.deps import Require
from oip.auth.service import Principal
from oip.benefits.models import Dependant
from oip.cases.models import Case
from oip.cases.pages import Panel, PanelForms, register_panel
from oip.core import clock, layout
from oip.core.config import get_settings
from oip.core.errors import DomainError, NotFound, TooLarge
from oip.core.layout import render
from oip.core.pagination import page_window
from oip.core.web import DB, TransactionRoute, form_text
from oip.payments import bank, payees, rules, service
from oip.payments.models import PayeeAccount
from oip.reference.models import Region

pages = APIRouter(include_in_schema=False, route_class=TransactionRoute)
layout.register_nav(layout.NavItem("支付管理", "/payments", P.PAYMENT_READ, order=59))

ONLY = {"": "全部待支付", "failed": "支付失败待重发", "no_account": "无收款账户"}
DONE = {
    "made": "支付批次已生成，待另一名经办人员复核。",
    "approved": "支付批次已复核通过，可以报送银行。",
    "sent": "代发文件已报送银行。",
    "reversed": "退汇已登记，该笔待遇重新列入待支付。",
}


async def form_data(request: Request) -> FormData:
    return await request.form()


def _date(v: str | None, field: str, label: str) -> dt.date | None:
    if not v:
        return None
    try:
        return dt.date.fromisoformat(v)
    except ValueError:
        raise DomainError(f"{label}应为日期（YYYY-MM-DD）", field=field) from None


def _page_no(v: str | None) -> int:
    return max(1, int(v)) if (v or "").isdigit() else 1


def _overview(
    request: Request, db: Session, p: Principal, *, only: str = "", page: int = 1, status_code: int = 200, **extra
):
    wl = service.worklist(db, p, only=only or None, page=page)
    batches = service.list_batches(db, p, page=1, size=20)

    def page_url(n: int) -> str:
        return "/payments?" + urlencode({**({"only": only} if only else {}), "page": n})

    return render(
        request,
        "payments.html",
        status_code=status_code,
        title="支付管理",
        wl=wl,
        items=[w.as_dict() for w in wl.page.items],
        only=only,
        only_choices=ONLY,
        batches=[service.batch_dict(db, b) for b in batches.items],
        page_url=page_url,
        window=page_window(wl.page.page, wl.page.pages),
        can_manage=p.can(P.PAYMENT_MANAGE),
        today=clock.today().isoformat(),
        region_code=p.region_code,
        regions=_batch_regions(db, p),
        yuan=rules.yuan,
        **extra,
    )


def _batch_regions(db: Session, p: Principal) -> list[tuple[str, str]]:
    """The regions a batch may gather, by name: the officer's own region (with everything inside it)
    and, one by one, the cities or counties inside it."""
    own = db.get(Region, p.region_code)
    if own is None:
        return []
    inner = db.scalars(
        select(Region).where(Region.parent_code == own.code, Region.valid_to.is_(None)).order_by(Region.code)
    ).all()
    return [(own.code, f"{own.name}（全部）")] + [(r.code, r.name) for r in inner]


@pages.get("/payments")
def overview(
    request: Request,
    only: str | None = None,
    page: str | None = None,
    done: str | None = None,
    p: Principal = Depends(Require(P.PAYMENT_READ)),
    db: Session = DB,
):
    return _overview(request, db, p, only=only if only in ONLY else "", page=_page_no(page), done=DONE.get(done or ""))


@pages.post("/payments/batches")
def make_batch(
    request: Request,
    p: Principal = Depends(Require(P.PAYMENT_MANAGE)),
    form: FormData = Depends(form_data),
    db: Session = DB,
):
    v = form_text(form)
    try:
        due_by = _date(v.get("due_by"), "due_by", "应付截止日期")
        b = service.make_batch(db, p, v.get("region_code") or None, due_by=due_by, note=v.get("note", ""))
    except DomainError as err:
        db.rollback()
        return _overview(request, db, p, status_code=err.status_code, error=err)
    return RedirectResponse(f"/payments/batches/{b.id}?done=made", status_code=303)


def _batch_page(request: Request, db: Session, p: Principal, batch_id: int, *, status_code: int = 200, **extra):
    b = service.get_batch(db, p, batch_id)
    service.view_audit(db, p, "batch", b.id)
    d = service.batch_dict(db, b)
    lines = [service.line_dict(db, x) for x in service.lines_of(db, b)]
    manage = p.can(P.PAYMENT_MANAGE)
    return render(
        request,
        "payment_batch.html",
        status_code=status_code,
        title=f"支付批次 {b.number}",
        b=d,
        lines=lines,
        yuan=rules.yuan,
        can_approve=p.can(P.PAYMENT_APPROVE) and b.status == "draft" and b.made_by != p.user_id,
        own_batch=b.made_by == p.user_id,
        can_send=manage and b.status in ("approved", "sent"),
        can_reverse=manage,
        today=clock.today().isoformat(),
        **extra,
    )


@pages.get("/payments/batches/{batch_id}")
def batch_page(
    request: Request,
    batch_id: int,
    done: str | None = None,
    p: Principal = Depends(Require(P.PAYMENT_READ)),
    db: Session = DB,
):
    return _batch_page(request, db, p, batch_id, done=DONE.get(done or ""))


def _batch_act(request: Request, db: Session, p: Principal, batch_id: int, done: str, fn):
    try:
        fn()
    except DomainError as err:
        db.rollback()
        if err.status_code == 404:
            raise
        return _batch_page(request, db, p, batch_id, status_code=err.status_code, error=err)
    return RedirectResponse(f"/payments/batches/{batch_id}?done={done}", status_code=303)


@pages.post("/payments/batches/{batch_id}/approval")
def approve(
    request: Request,
    batch_id: int,
    p: Principal = Depends(Require(P.PAYMENT_APPROVE)),
    form: FormData = Depends(form_data),
    db: Session = DB,
):
    v = form_text(form)
    return _batch_act(
        request, db, p, batch_id, "approved", lambda: service.approve(db, p, batch_id, note=v.get("note", ""))
    )


@pages.post("/payments/batches/{batch_id}/sending")
def send(request: Request, batch_id: int, p: Principal = Depends(Require(P.PAYMENT_MANAGE)), db: Session = DB):
    try:
        out = service.send(db, p, batch_id, bank.gateway_from_settings())
    except DomainError as err:
        db.rollback()
        if err.status_code == 404:
            raise
        return _batch_page(request, db, p, batch_id, status_code=err.status_code, error=err)
    if not out.ok:  # recorded (committed with the page): the officer sends again
        return _batch_page(
            request,
            db,
            p,
            batch_id,
            status_code=502,
            error=DomainError(f"报送银行未成功：{out.error}。可再次报送（发送同一文件）。"),
        )
    return RedirectResponse(f"/payments/batches/{batch_id}?done=sent", status_code=303)


@pages.post("/payments/lines/{line_id}/reversal")
def reverse(
    request: Request,
    line_id: int,
    p: Principal = Depends(Require(P.PAYMENT_MANAGE)),
    form: FormData = Depends(form_data),
    db: Session = DB,
):
    v = form_text(form)
    line = service.get_line(db, p, line_id)
    batch_id = line.batch_id

    def run():
        on = _date(v.get("on"), "on", "退汇日期")
        service.reverse(db, p, line_id, reason=v.get("reason", ""), on=on)

    return _batch_act(request, db, p, batch_id, "reversed", run)


async def _upload(f) -> bytes | None:
    if not isinstance(f, UploadFile) or not f.filename:
        return None
    limit = get_settings().upload_max_bytes
    data = await f.read(limit + 1)
    if len(data) > limit:
        raise TooLarge("回盘文件过大", field="file")
    return data


async def result_form(request: Request) -> dict:
    form = await request.form()
    f = form.get("file")
    return {
        "body": await _upload(f),
        "name": f.filename if isinstance(f, UploadFile) else None,
        "sig_file": await _upload(form.get("signature_file")),
        "signature": form.get("signature") if isinstance(form.get("signature"), str) else "",
    }


@pages.post("/payments/results")
def import_result(
    request: Request,
    p: Principal = Depends(Require(P.PAYMENT_MANAGE)),
    upload: dict = Depends(result_form),
    db: Session = DB,
):
    signature = (upload["sig_file"] or b"").decode("ascii", "replace").strip() or (upload["signature"] or "").strip()
    try:
        if upload["body"] is None:
            raise DomainError("请选择银行回盘文件", field="file")
        out = service.import_result(db, p, upload["body"], signature, upload["name"] or "result.json")
    except DomainError as err:
        db.rollback()
        return _files_page(request, db, p, status_code=err.status_code, error=err)
    return _files_page(request, db, p, outcome=out.as_dict())


def _files_page(request: Request, db: Session, p: Principal, *, page: int = 1, status_code: int = 200, **extra):
    res = service.bank_files(db, p, page=page)
    return render(
        request,
        "payment_files.html",
        status_code=status_code,
        title="银行文件日志",
        files=[service.file_dict(db, f) for f in res.items],
        result=res,
        page_url=lambda n: f"/payments/bank-files?page={n}",
        window=page_window(res.page, res.pages),
        can_manage=p.can(P.PAYMENT_MANAGE),
        **extra,
    )


@pages.get("/payments/bank-files")
def bank_files(
    request: Request, page: str | None = None, p: Principal = Depends(Require(P.PAYMENT_READ)), db: Session = DB
):
    return _files_page(request, db, p, page=_page_no(page))


# ---- the case panel ------------------------------------------------------------------------------


def _panel(db: Session, p: Principal, case: Case) -> dict | None:
    if not p.can(P.PAYMENT_READ) or p.role.scope != "region":
        return None
    accounts = payees.accounts_of(db, case)
    lines = service.case_lines(db, case)
    manage = p.can(P.PAYEE_MANAGE)
    if not accounts and not lines and not manage:
        return None
    if accounts or lines:
        service.view_audit(db, p, "case", case.id)
    dependants = list(db.scalars(select(Dependant).where(Dependant.case_id == case.id).order_by(Dependant.id)))
    current = {(a.person_id, a.dependant_id) for a in accounts if a.valid_to is None}
    return {
        "accounts": [payees.as_dict(db, a) for a in accounts],
        "lines": [service.line_dict(db, x) for x in lines],
        "paid": rules.yuan(service.paid_total(db, case.id)),
        "yuan": rules.yuan,
        "manage": manage,
        "new_payees": ([{"value": "", "name": "本人"}] if (case.person_id, None) not in current else [])
        + [{"value": str(d.id), "name": f"供养亲属 {d.name}"} for d in dependants if (None, d.id) not in current],
        "error": FORMS.error_for(case),
    }


# Forms posted from the case page: back to the panel, or the page again with the refusal in the panel.
FORMS = PanelForms("payments")

register_panel(Panel("payments", "payments_panel.html", _panel, order=80))


@pages.post("/cases/{case_id}/payees")
def register_payee(
    request: Request,
    case_id: int,
    p: Principal = Depends(Require(P.PAYEE_MANAGE)),
    form: FormData = Depends(form_data),
    db: Session = DB,
):
    v = form_text(form)
    dep = v.get("dependant_id") or ""
    return FORMS.step(
        request,
        db,
        p,
        case_id,
        lambda: payees.register(
            db,
            p,
            case_id,
            holder_name=v.get("holder_name", ""),
            bank_name=v.get("bank_name", ""),
            card_number=v.get("card_number", ""),
            dependant_id=int(dep) if dep.isdigit() else None,
            note=v.get("note", ""),
        ),
    )


@pages.post("/payees/{payee_id}/change")
def change_payee(
    request: Request,
    payee_id: int,
    p: Principal = Depends(Require(P.PAYEE_MANAGE)),
    form: FormData = Depends(form_data),
    db: Session = DB,
):
    v = form_text(form)
    a = db.get(PayeeAccount, payee_id)
    if a is None or a.case_id is None:
        raise NotFound("收款账户不存在或不在您的数据范围内")
    return FORMS.step(
        request,
        db,
        p,
        a.case_id,
        lambda: payees.change(
            db,
            p,
            payee_id,
            holder_name=v.get("holder_name", ""),
            bank_name=v.get("bank_name", ""),
            card_number=v.get("card_number", ""),
            reason=v.get("reason", ""),
        ),
    )
