"""Pages of the investigation: the insurer's worklist (/insurer/tasks), the investigation panel of the
case page (the tasks, the insurer's forms, the officers' assign and withdraw, the order trail), and
the forms' routes under /cases/{case_id}/investigations."""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from oip.auth import permissions as P
from oip.auth.deps import Require
from oip.auth.scope import out_of_scope
from oip.auth.service import Principal
from oip.cases import investigation as inv, service
from oip.cases.models import Case
from oip.cases.pages import Panel, register_panel, render_case
from oip.core import audit, clock, layout
from oip.core.config import get_settings
from oip.core.errors import DomainError
from oip.core.layout import render
from oip.core.pagination import page_window
from oip.core.web import DB, TransactionRoute
from oip.orders.coverage_rules import STATUS_NAMES as ORDER_STATUS_NAMES

pages = APIRouter(include_in_schema=False, route_class=TransactionRoute)
layout.register_nav(layout.NavItem("调查核实任务", "/insurer/tasks", P.CASE_INVESTIGATE, order=35))


def _open_tasks(db: Session, p: Principal) -> int:
    return inv.list_tasks(db, p, bucket="open", size=1).total


layout.register_stat(
    layout.Stat("调查中的任务", P.CASE_INVESTIGATE, _open_tasks, order=6, scopes=frozenset({"insurer"}))
)

TASK_PAGE = 30
audit.register_actions({"case.evidence_view": "查看调查证据文件"})
HERE = "#investigation"


# ---- the panel on the case page ------------------------------------------------------------------


def panel_context(db: Session, p: Principal, case: Case) -> dict[str, Any] | None:
    """Insurers: their task(s) on the case, with the forms while open, the masked facts and the order
    trail. Officers: every task, who would be offered the case, the assign and withdraw forms (with
    ``case.handle``) and the order trail. Others (platforms, workers): no panel."""
    insurer = p.role.scope == "insurer"
    if not (insurer or p.role.scope == "region"):
        return None
    tasks = [inv.task_out(db, p, t, case=case) for t in inv.tasks_of_case(db, p, case)]
    handle = p.can(P.CASE_HANDLE)
    offer = None
    if handle and case.state == "accepted":
        offer = inv.who_investigates(db, case, clock.today())
    trail = inv.trail_out(inv.order_trail(db, p, case)) if (insurer or handle) else None
    return {
        "insurer": insurer,
        "tasks": tasks,
        "facts": inv.case_facts(db, p, case) if insurer else None,
        "can_work": insurer and p.can(P.CASE_INVESTIGATE),
        "can_handle": handle,
        "offer": offer,
        "trail": trail,
        "order_status_names": ORDER_STATUS_NAMES,
        "recommendations": inv.RECOMMENDATION_NAMES,
        "today": clock.today().isoformat(),
    }


register_panel(Panel("investigation", "cases/_investigation.html", panel_context, order=20))


def _case_page(request: Request, db: Session, p: Principal, case_id: int, error: DomainError, values: dict):
    """The case page again, with the panel showing what went wrong (and what was typed)."""
    case = service.get_case(db, p, case_id)
    return render_case(request, db, p, case, status_code=error.status_code, inv_error=error, inv_values=values)


async def form_data(request: Request) -> FormData:
    return await request.form()


def _fields(form: FormData) -> dict[str, str]:
    return {k: v.strip() for k, v in form.items() if isinstance(v, str) and k != "csrf_token"}


def _version(values: dict[str, str]) -> int | None:
    v = values.get("version", "")
    return int(v) if v.isdigit() else None


def _back(case_id: int) -> RedirectResponse:
    return RedirectResponse(f"/cases/{case_id}{HERE}", status_code=303)


def _task_of_case(db: Session, p: Principal, case_id: int, task_id: int):
    task = inv.get_task(db, p, task_id)
    if task.case_id != case_id:
        raise out_of_scope("调查任务")
    return task


# ---- officers: assign, withdraw ------------------------------------------------------------------


@pages.post("/cases/{case_id}/investigations")
def assign(
    request: Request,
    case_id: int,
    p: Principal = Depends(Require(P.CASE_HANDLE)),
    form: FormData = Depends(form_data),
    db: Session = DB,
):
    values = _fields(form)
    try:
        inv.assign(db, p, case_id, note=values.get("note", ""), version=_version(values))
    except DomainError as e:
        db.rollback()
        return _case_page(request, db, p, case_id, e, values)
    return _back(case_id)


@pages.post("/cases/{case_id}/investigations/{task_id}/withdraw")
def withdraw(
    request: Request,
    case_id: int,
    task_id: int,
    p: Principal = Depends(Require(P.CASE_HANDLE)),
    form: FormData = Depends(form_data),
    db: Session = DB,
):
    values = _fields(form)
    _task_of_case(db, p, case_id, task_id)
    try:
        inv.withdraw(db, p, task_id, reason=values.get("reason"), version=_version(values))
    except DomainError as e:
        db.rollback()
        return _case_page(request, db, p, case_id, e, values)
    return _back(case_id)


# ---- the insurer's forms -------------------------------------------------------------------------


def _date(values: dict[str, str], field: str, label: str) -> dt.date | None:
    raw = values.get(field, "")
    if not raw:
        return None
    try:
        return dt.date.fromisoformat(raw)
    except ValueError:
        raise DomainError(f"{label}应为日期（YYYY-MM-DD）", field=field) from None


def _insurer_step(request: Request, db: Session, p: Principal, case_id: int, task_id: int, step: str, form: FormData):
    values = _fields(form)
    _task_of_case(db, p, case_id, task_id)
    version = _version(values)
    try:
        if step == "findings":
            inv.record_findings(db, p, task_id, findings=values.get("findings"), version=version)
        elif step == "visits":
            inv.add_visit(
                db,
                p,
                task_id,
                visited_on=_date(values, "visited_on", "走访日期"),
                place=values.get("place"),
                people=values.get("people"),
                notes=values.get("notes", ""),
                version=version,
            )
        elif step == "evidence":
            limit = get_settings().upload_max_bytes
            files = [f for f in form.getlist("file") if not isinstance(f, str) and f.filename]
            if not files:
                raise DomainError("请选择要上传的证据文件", field="file")
            for f in files:
                inv.add_evidence(
                    db, p, task_id, filename=f.filename, content=f.file.read(limit + 1), note=values.get("note", "")
                )
        else:
            inv.submit(
                db,
                p,
                task_id,
                recommendation=values.get("recommendation"),
                reason=values.get("reason"),
                version=version,
            )
    except DomainError as e:
        if e.status_code == 404:
            raise
        db.rollback()
        return _case_page(request, db, p, case_id, e, {**values, "step": step, "task_id": str(task_id)})
    return _back(case_id)


INSURER = Require(P.CASE_INVESTIGATE)


@pages.post("/cases/{case_id}/investigations/{task_id}/findings")
def findings(
    request: Request,
    case_id: int,
    task_id: int,
    p: Principal = Depends(INSURER),
    form: FormData = Depends(form_data),
    db: Session = DB,
):
    return _insurer_step(request, db, p, case_id, task_id, "findings", form)


@pages.post("/cases/{case_id}/investigations/{task_id}/visits")
def visits(
    request: Request,
    case_id: int,
    task_id: int,
    p: Principal = Depends(INSURER),
    form: FormData = Depends(form_data),
    db: Session = DB,
):
    return _insurer_step(request, db, p, case_id, task_id, "visits", form)


@pages.post("/cases/{case_id}/investigations/{task_id}/evidence")
def evidence(
    request: Request,
    case_id: int,
    task_id: int,
    p: Principal = Depends(INSURER),
    form: FormData = Depends(form_data),
    db: Session = DB,
):
    return _insurer_step(request, db, p, case_id, task_id, "evidence", form)


@pages.post("/cases/{case_id}/investigations/{task_id}/submit")
def submit(
    request: Request,
    case_id: int,
    task_id: int,
    p: Principal = Depends(INSURER),
    form: FormData = Depends(form_data),
    db: Session = DB,
):
    return _insurer_step(request, db, p, case_id, task_id, "submit", form)


@pages.get("/cases/{case_id}/investigations/{task_id}/evidence/{document_id}")
def evidence_file(
    case_id: int,
    task_id: int,
    document_id: int,
    p: Principal = Depends(Require(P.CASE_INVESTIGATE, P.CASE_HANDLE)),
    db: Session = DB,
):
    _task_of_case(db, p, case_id, task_id)
    doc = inv.get_evidence(db, p, task_id, document_id)
    case = db.get(Case, doc.case_id)
    audit.record(
        db,
        p,
        "case.evidence_view",
        entity_type="case",
        entity_id=case.id,
        subjects=[case.person_id],
        after={"task_id": task_id, "document_id": doc.id, "filename": doc.filename},
    )
    return Response(
        doc.content,
        media_type=doc.content_type,
        headers={
            "Content-Disposition": f"attachment; filename*=UTF-8''{_quote(doc.filename)}",
            "Cache-Control": "no-store",
            "X-Content-Type-Options": "nosniff",
        },
    )


def _quote(name: str) -> str:
    from urllib.parse import quote

    return quote(name)


# ---- the insurer's worklist ----------------------------------------------------------------------


@pages.get("/insurer/tasks")
def worklist(
    request: Request,
    bucket: str | None = Query(None, max_length=16),
    page: int = Query(1, ge=1, le=100_000),
    p: Principal = Depends(Require(P.CASE_INVESTIGATE)),
    db: Session = DB,
):
    bucket = bucket or "open"
    res = inv.list_tasks(db, p, bucket=bucket, page=page, size=TASK_PAGE)
    rows = [inv.task_out(db, p, t) for t in res.items]

    def page_url(n: int) -> str:
        return "/insurer/tasks?" + urlencode({"bucket": bucket, "page": n})

    return render(
        request,
        "cases/insurer_tasks.html",
        title="调查核实任务",
        rows=rows,
        res=res,
        bucket=bucket,
        buckets={k: v for k, v in inv.BUCKETS.items() if k != "withdrawn"},
        counts=inv.bucket_counts(db, p),
        window=page_window(res.page, res.pages),
        page_url=page_url,
        limit_days=inv.parameters.get(db, inv.CP.INVESTIGATION_WORKING_DAYS, clock.today()),
    )
