"""Pages of the register of insurer contracts: the list (/insurers/contracts), a form to register
one, and a contract's page with its amendment and termination."""

from __future__ import annotations

import datetime as dt
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import RedirectResponse
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from oip.auth import permissions as P
from oip.auth.deps import Require
from oip.auth.service import Principal
from oip.core import clock, layout
from oip.core.errors import DomainError, IllegalTransition
from oip.core.layout import render
from oip.core.pagination import page_window
from oip.core.web import DB, TransactionRoute
from oip.insurers import rules, schemas as S, service

pages = APIRouter(include_in_schema=False, route_class=TransactionRoute)
layout.register_nav(
    layout.NavItem(
        "受托保险机构协议",
        "/insurers/contracts",
        P.INSURER_CONTRACT_READ,
        order=85,
        titles={"insurer": "本机构委托服务协议"},
    ),
)

PAGE_SIZE = 30

DONE = {
    "created": "协议已登记。",
    "amended": "协议变更已保存。",
    "terminated": "协议已终止。",
    "unchanged": "协议内容没有变化，未作修改。",
}


async def form_data(request: Request) -> FormData:
    return await request.form()


def _redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def _values(form: FormData) -> dict:
    """The form's fields: text fields stripped, the checkbox groups as lists."""
    out: dict = {
        k: v.strip() for k, v in form.items() if isinstance(v, str) and k not in ("csrf_token", "services", "cities")
    }
    out["services"] = [v for v in form.getlist("services") if isinstance(v, str)]
    out["cities"] = [v for v in form.getlist("cities") if isinstance(v, str)]
    return out


def _date(values: dict, field: str) -> dt.date | None:
    raw = values.get(field) or ""
    if not raw:
        return None
    try:
        return dt.date.fromisoformat(raw)
    except ValueError:
        raise DomainError(f"{S.FIELD_LABELS[field]}应为日期（YYYY-MM-DD）", field=field) from None


# ---- the list ------------------------------------------------------------------------------------


@pages.get("/insurers/contracts")
def contract_list(
    request: Request,
    insurer: str | None = None,
    city: str | None = None,
    status: str | None = None,
    page: int = Query(1, ge=1, le=1_000_000),
    p: Principal = Depends(Require(P.INSURER_CONTRACT_READ)),
    db: Session = DB,
):
    status = status if status in rules.STATUS_NAMES else None
    res = service.list_contracts(
        db, p, insurer_code=insurer or None, city_code=city or None, status=status, page=page, size=PAGE_SIZE
    )
    filters = {"insurer": insurer or "", "city": city or "", "status": status or ""}

    def page_url(n: int) -> str:
        return "/insurers/contracts?" + urlencode({**{k: v for k, v in filters.items() if v}, "page": n})

    return render(
        request,
        "insurer_contracts.html",
        title="受托保险机构协议",
        res=res,
        window=page_window(res.page, res.pages),
        page_url=page_url,
        filters=filters,
        hidden={k: v for k, v in filters.items() if v},
        insurers=service.insurers(db) if p.role.scope != "insurer" else [],
        cities=service.guangxi_cities(db),
        city_names=service.city_names(db),
        service_names=rules.service_names,
        statuses=rules.STATUS_NAMES,
        today=clock.today(),
        can_manage=p.can(P.INSURER_CONTRACT_MANAGE),
    )


# ---- registering one -----------------------------------------------------------------------------


def _form(
    request: Request,
    db: Session,
    values: dict,
    *,
    error: DomainError | None = None,
    contract=None,
):
    return render(
        request,
        "insurer_contract_form.html",
        status_code=error.status_code if error else 200,
        title=f"变更协议 {contract.document_no}" if contract else "登记受托保险机构协议",
        values=values,
        error=error,
        contract=contract,
        insurers=service.insurers(db),
        cities=service.guangxi_cities(db),
        services=rules.SERVICE_NAMES,
        labels=S.FIELD_LABELS,
    )


@pages.get("/insurers/contracts/new")
def contract_new(request: Request, p: Principal = Depends(Require(P.INSURER_CONTRACT_MANAGE)), db: Session = DB):
    today = clock.today()
    return _form(
        request,
        db,
        {
            "valid_from": today.isoformat(),
            "valid_to": (today.replace(month=12, day=31)).isoformat(),
            "services": ["investigation"],
            "cities": [],
        },
    )


@pages.post("/insurers/contracts/new")
def contract_create(
    request: Request,
    p: Principal = Depends(Require(P.INSURER_CONTRACT_MANAGE)),
    form: FormData = Depends(form_data),
    db: Session = DB,
):
    values = _values(form)
    try:
        c = service.create(
            db,
            p,
            insurer_code=values.get("insurer_code"),
            document_no=values.get("document_no"),
            services=values["services"],
            cities=values["cities"],
            valid_from=_date(values, "valid_from"),
            valid_to=_date(values, "valid_to"),
            notes=values.get("notes", ""),
        )
    except DomainError as e:
        db.rollback()
        return _form(request, db, values, error=e)
    return _redirect(f"/insurers/contracts/{c.id}?done=created")


# ---- one contract --------------------------------------------------------------------------------


@pages.get("/insurers/contracts/{contract_id}")
def contract_detail(
    request: Request,
    contract_id: int,
    done: str | None = None,
    p: Principal = Depends(Require(P.INSURER_CONTRACT_READ)),
    db: Session = DB,
):
    c = service.get_contract(db, p, contract_id)
    return _detail(request, db, p, c, done=DONE.get(done or ""))


def _detail(request: Request, db: Session, p: Principal, c, *, done: str | None = None, error=None, values=None):
    today = clock.today()
    cities = service.city_names(db)
    return render(
        request,
        "insurer_contract.html",
        status_code=error.status_code if error else 200,
        title=f"受托保险机构协议 {c.document_no}",
        c=c,
        d=S.contract_out(c, cities),
        done=done,
        error=error,
        values=values or {"terminated_on": today.isoformat()},
        labels=S.FIELD_LABELS,
        can_manage=p.can(P.INSURER_CONTRACT_MANAGE) and c.status == "active",
        history=[
            (e, service.AUDIT_ACTION_NAMES.get(e.action, e.action), _changes(e, cities)) for e in service.history(db, c)
        ],
        today=today,
    )


_HISTORY_LABELS = {
    **S.FIELD_LABELS,
    "insurer": "受托保险机构",
    "status": "状态",
    "termination_reason": "终止理由",
    "reason": "依据",
}


def _shown(field: str, value, cities: dict[str, str]) -> str:
    if value is None or value == "" or value == []:
        return "—"
    if field == "services":
        return "、".join(rules.service_names(value))
    if field == "cities":
        return "、".join(cities.get(x, x) for x in value)
    if field == "status":
        return rules.STATUS_NAMES.get(value, value)
    return str(value)


def _changes(event, cities: dict[str, str]) -> list[str]:
    """An audit event of the contract, in Chinese: "服务城市：南宁市 → 南宁市、柳州市", …"""
    if event.action == "insurer.contract_create":
        return ["登记（第 1 版）"]
    before, after = event.before or {}, event.after or {}
    out = []
    for k, v in after.items():
        if k in ("version", "insurer"):
            continue
        label = _HISTORY_LABELS.get(k, k)
        if k in before:
            out.append(f"{label}：{_shown(k, before[k], cities)} → {_shown(k, v, cities)}")
        else:
            out.append(f"{label}：{_shown(k, v, cities)}")
    return out


@pages.get("/insurers/contracts/{contract_id}/edit")
def contract_edit(
    request: Request,
    contract_id: int,
    p: Principal = Depends(Require(P.INSURER_CONTRACT_MANAGE)),
    db: Session = DB,
):
    c = service.get_contract(db, p, contract_id)
    if c.status != "active":
        raise IllegalTransition("协议已终止，不能变更；如需继续委托，请登记新的协议", field="status")
    values = {
        "insurer_code": c.organisation.code,
        "document_no": c.document_no,
        "services": list(c.services),
        "cities": c.cities,
        "valid_from": c.valid_from.isoformat(),
        "valid_to": c.valid_to.isoformat(),
        "notes": c.notes,
        "version": str(c.version),
    }
    return _form(request, db, values, contract=c)


@pages.post("/insurers/contracts/{contract_id}/edit")
def contract_amend(
    request: Request,
    contract_id: int,
    p: Principal = Depends(Require(P.INSURER_CONTRACT_MANAGE)),
    form: FormData = Depends(form_data),
    db: Session = DB,
):
    values = _values(form)
    c = service.get_contract(db, p, contract_id)
    version_before = c.version
    try:
        version = int(values["version"]) if values.get("version", "").isdigit() else None
        changes = {
            "document_no": values.get("document_no"),
            "services": values["services"],
            "cities": values["cities"],
            "valid_from": _date(values, "valid_from"),
            "valid_to": _date(values, "valid_to"),
            "notes": values.get("notes", ""),
        }
        c = service.amend(db, p, contract_id, changes, reason=values.get("reason"), version=version)
    except DomainError as e:
        db.rollback()
        return _form(request, db, values, error=e, contract=service.get_contract(db, p, contract_id))
    return _redirect(f"/insurers/contracts/{c.id}?done={'amended' if c.version != version_before else 'unchanged'}")


@pages.post("/insurers/contracts/{contract_id}/terminate")
def contract_terminate(
    request: Request,
    contract_id: int,
    p: Principal = Depends(Require(P.INSURER_CONTRACT_MANAGE)),
    form: FormData = Depends(form_data),
    db: Session = DB,
):
    values = _values(form)
    try:
        version = int(values["version"]) if values.get("version", "").isdigit() else None
        service.terminate(
            db,
            p,
            contract_id,
            terminated_on=_date(values, "terminated_on"),
            reason=values.get("reason"),
            version=version,
        )
    except DomainError as e:
        db.rollback()
        return _detail(request, db, p, service.get_contract(db, p, contract_id), error=e, values=values)
    return _redirect(f"/insurers/contracts/{contract_id}?done=terminated")
