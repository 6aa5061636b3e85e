"""HTML pages of fund supervision: 基金监督 (/fund/supervision: the campaigns, a new campaign, the
open findings by city), a campaign, a task (report, findings, rectification, closure) and 要情报告
(/fund/supervision/major: the list, the form, a report's page)."""

from __future__ import annotations

import datetime as dt
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from oip.auth import permissions as P
from oip.auth.deps import Require
from oip.auth.service import Principal
from oip.benefits.claims_rules import yuan_to_fen
from oip.core import clock, layout
from oip.core.errors import DomainError
from oip.core.layout import render
from oip.core.money import yuan
from oip.core.pagination import Page, page_window
from oip.core.web import DB, TransactionRoute, attempt, form_data, form_text
from oip.fund import supervision as sv, supervision_rules as rules
from oip.fund.models import Campaign

pages = APIRouter(include_in_schema=False, route_class=TransactionRoute)
layout.register_nav(layout.NavItem("基金监督", "/fund/supervision", P.FUND_READ, order=78))

FINDING_ROWS = 5
FINDINGS_PAGE = 50
DONE = {
    "opened": "监督检查已发起，各检查任务已下达。",
    "reported": "检查情况已报告。",
    "rectified": "整改情况已报送，待自治区销号。",
    "closed": "问题已销号。",
    "reopened": "问题已退回整改。",
    "major": "要情已报送。",
    "acknowledged": "要情已接收。",
    "major_closed": "要情已办结。",
}


def _page_no(v: str | None) -> int:
    return max(1, int(v)) if (v or "").isdigit() and len(v) < 7 else 1


def _fen(text: str, field: str, label: str) -> int:
    text = (text or "").strip()
    if text in ("", "0", "0.0", "0.00"):
        return 0
    return yuan_to_fen(text, field, label)


# ---- 基金监督 ------------------------------------------------------------------------------------


def _overview(request: Request, db: Session, p: Principal, *, page: int = 1, status_code: int = 200, **extra):
    res = sv.list_campaigns(db, p, page=page)
    campaigns = [sv.campaign_dict(db, p, c) for c in res.items]
    return render(
        request,
        "fund_supervision.html",
        status_code=status_code,
        title="基金监督",
        campaigns=campaigns,
        result=res,
        page_url=lambda n: f"/fund/supervision?page={n}",
        window=page_window(res.page, res.pages),
        summary=[r.as_dict() for r in sv.open_findings_by_city(db, p)],
        can_supervise=p.can(P.FUND_SUPERVISE),
        kinds=rules.KIND_NAMES,
        cities=sv.city_choices(db, p) if p.can(P.FUND_SUPERVISE) else [],
        default_due=(clock.today() + dt.timedelta(days=30)).isoformat(),
        today=clock.today().isoformat(),
        yuan=yuan,
        form=extra.pop("form", {}),
        **extra,
    )


@pages.get("/fund/supervision")
def overview(
    request: Request,
    page: str | None = None,
    done: str | None = None,
    p: Principal = Depends(Require(P.FUND_READ)),
    db: Session = DB,
):
    return _overview(request, db, p, page=_page_no(page), done=DONE.get(done or ""))


@pages.post("/fund/supervision/campaigns")
def open_campaign(
    request: Request,
    p: Principal = Depends(Require(P.FUND_SUPERVISE)),
    form: FormData = Depends(form_data),
    db: Session = DB,
):
    v = form_text(form)
    cities = [c for c in form.getlist("cities") if isinstance(c, str)]
    # 交叉互查: a checker picked for a city (检查单位_<city>); none picked: the rotation.
    checkers = {c: v[f"checker_{c}"] for c in cities if v.get(f"checker_{c}")}
    try:
        due = v.get("due_on", "")
        try:
            due_on = dt.date.fromisoformat(due)
        except ValueError:
            raise DomainError("请填写完成期限（YYYY-MM-DD）", field="due_on") from None
        c = sv.open_campaign(
            db,
            p,
            kind=v.get("kind", ""),
            title=v.get("title", ""),
            due_on=due_on,
            cities=cities,
            checkers=checkers if v.get("kind") == "cross_check" and checkers else None,
            scope_note=v.get("scope_note", ""),
        )
    except DomainError as err:
        db.rollback()
        return _overview(request, db, p, status_code=err.status_code, error=err, form={**v, "cities": cities})
    return RedirectResponse(f"/fund/supervision/campaigns/{c.id}?done=opened", status_code=303)


@pages.get("/fund/supervision/campaigns/{campaign_id}")
def campaign_page(
    request: Request,
    campaign_id: int,
    done: str | None = None,
    p: Principal = Depends(Require(P.FUND_READ)),
    db: Session = DB,
):
    c = sv.get_campaign(db, p, campaign_id)
    tasks = sv.tasks_of(db, p, c)
    names = sv.region_names(db, {t.city_code for t in tasks} | {t.checker_code for t in tasks})
    rows = []
    for t in tasks:
        d = sv.task_dict(db, t, c, names)
        found = sv.findings_of(db, t)
        d["findings"] = len(found)
        d["findings_open"] = sum(1 for f in found if f.status != "closed")
        rows.append(d)
    return render(
        request,
        "fund_campaign.html",
        title=c.title,
        c=sv.campaign_dict(db, p, c, tasks),
        tasks=rows,
        done=DONE.get(done or ""),
    )


# ---- a task --------------------------------------------------------------------------------------


def _task_page(
    request: Request, db: Session, p: Principal, task_id: int, *, page: int = 1, status_code: int = 200, **extra
):
    t = sv.get_task(db, p, task_id)
    c = db.get(Campaign, t.campaign_id)
    d = sv.task_dict(db, t, c)
    every = sv.findings_of(db, t)
    shown = Page(every[(page - 1) * FINDINGS_PAGE : page * FINDINGS_PAGE], len(every), page, FINDINGS_PAGE)
    findings = [sv.finding_dict(f) for f in shown.items]
    checker = sv.in_scope(p, t.checker_code)
    checked = sv.in_scope(p, t.city_code)
    return render(
        request,
        "fund_task.html",
        status_code=status_code,
        title=f"检查任务：{d['city_name']}",
        c=sv.campaign_dict(db, p, c, [t]),
        t=d,
        findings=findings,
        fpage=shown,
        page_url=lambda n: f"/fund/supervision/tasks/{task_id}?page={n}#findings",
        window=page_window(shown.page, shown.pages),
        can_report=p.can(P.FUND_RESPOND) and checker and t.status == "assigned" and c.status == "open",
        can_rectify=p.can(P.FUND_RESPOND) and checked and c.status == "open",
        can_supervise=p.can(P.FUND_SUPERVISE) and checked and c.status == "open",
        task_reported=t.status != "assigned",
        severities=rules.SEVERITY_NAMES,
        rows=range(FINDING_ROWS),
        default_by=c.due_on.isoformat(),
        today=clock.today().isoformat(),
        yuan=yuan,
        form=extra.pop("form", {}),
        **extra,
    )


@pages.get("/fund/supervision/tasks/{task_id}")
def task_page(
    request: Request,
    task_id: int,
    page: str | None = None,
    done: str | None = None,
    p: Principal = Depends(Require(P.FUND_READ)),
    db: Session = DB,
):
    return _task_page(request, db, p, task_id, page=_page_no(page), done=DONE.get(done or ""))


@pages.post("/fund/supervision/tasks/{task_id}/report")
def report_task(
    request: Request,
    task_id: int,
    p: Principal = Depends(Require(P.FUND_RESPOND)),
    form: FormData = Depends(form_data),
    db: Session = DB,
):
    v = form_text(form)
    try:
        findings = []
        for i in range(FINDING_ROWS):
            desc = v.get(f"description_{i}", "").strip()
            if not desc:
                continue
            n = len(findings)
            findings.append(
                {
                    "description": desc,
                    "severity": v.get(f"severity_{i}", "medium"),
                    "amount_fen": _fen(
                        v.get(f"amount_{i}", ""), f"findings.{n}.amount_fen", f"第 {n + 1} 个问题的涉及金额"
                    ),
                    "rectify_by": v.get(f"rectify_by_{i}") or None,
                }
            )
        sv.report_task(db, p, task_id, report=v.get("report", ""), findings=findings)
    except DomainError as err:
        db.rollback()
        if err.status_code == 404:
            raise
        return _task_page(request, db, p, task_id, status_code=err.status_code, error=err, form=v)
    return RedirectResponse(f"/fund/supervision/tasks/{task_id}?done=reported", status_code=303)


def _finding_act(request: Request, db: Session, p: Principal, finding_id: int, done: str, fn):
    f = sv.get_finding(db, p, finding_id)
    task_id = f.task_id
    _, page = attempt(db, fn, lambda err: _task_page(request, db, p, task_id, status_code=err.status_code, error=err))
    if page is not None:
        return page
    ids = [x.id for x in sv.findings_of(db, sv.get_task(db, p, task_id))]
    n = ids.index(finding_id) // FINDINGS_PAGE + 1 if finding_id in ids else 1
    return RedirectResponse(
        f"/fund/supervision/tasks/{task_id}?page={n}&done={done}#finding-{finding_id}", status_code=303
    )


@pages.post("/fund/supervision/findings/{finding_id}/rectify")
def rectify(
    request: Request,
    finding_id: int,
    p: Principal = Depends(Require(P.FUND_RESPOND)),
    form: FormData = Depends(form_data),
    db: Session = DB,
):
    v = form_text(form)
    return _finding_act(
        request, db, p, finding_id, "rectified", lambda: sv.rectify(db, p, finding_id, v.get("text", ""))
    )


@pages.post("/fund/supervision/findings/{finding_id}/close")
def close_finding(
    request: Request, finding_id: int, p: Principal = Depends(Require(P.FUND_SUPERVISE)), db: Session = DB
):
    return _finding_act(request, db, p, finding_id, "closed", lambda: sv.close_finding(db, p, finding_id))


@pages.post("/fund/supervision/findings/{finding_id}/reopen")
def reopen_finding(
    request: Request,
    finding_id: int,
    p: Principal = Depends(Require(P.FUND_SUPERVISE)),
    form: FormData = Depends(form_data),
    db: Session = DB,
):
    v = form_text(form)
    return _finding_act(
        request, db, p, finding_id, "reopened", lambda: sv.reopen_finding(db, p, finding_id, v.get("reason", ""))
    )


# ---- 要情报告 ------------------------------------------------------------------------------------


def _majors(
    request: Request, db: Session, p: Principal, *, page: int = 1, status: str = "", status_code: int = 200, **extra
):
    res = sv.list_majors(db, p, status=status or None, page=page)
    names = sv.region_names(db, {m.region_code for m in res.items})

    def page_url(n: int) -> str:
        return "/fund/supervision/major?" + urlencode({**({"status": status} if status else {}), "page": n})

    return render(
        request,
        "fund_majors.html",
        status_code=status_code,
        title="要情报告",
        reports=[sv.major_dict(db, m, names) for m in res.items],
        result=res,
        page_url=page_url,
        window=page_window(res.page, res.pages),
        status=status,
        statuses=rules.MAJOR_STATUS_NAMES,
        categories=rules.MAJOR_CATEGORIES,
        can_report=p.can(P.FUND_RESPOND),
        now=clock.local(clock.now()).strftime("%Y-%m-%dT%H:%M"),
        yuan=yuan,
        form=extra.pop("form", {}),
        **extra,
    )


@pages.get("/fund/supervision/major")
def majors(
    request: Request,
    page: str | None = None,
    status: str | None = None,
    done: str | None = None,
    p: Principal = Depends(Require(P.FUND_READ)),
    db: Session = DB,
):
    return _majors(
        request,
        db,
        p,
        page=_page_no(page),
        status=status if status in rules.MAJOR_STATUS_NAMES else "",
        done=DONE.get(done or ""),
    )


@pages.post("/fund/supervision/major")
def report_major(
    request: Request,
    p: Principal = Depends(Require(P.FUND_RESPOND)),
    form: FormData = Depends(form_data),
    db: Session = DB,
):
    v = form_text(form)
    try:
        try:
            occurred = dt.datetime.fromisoformat(v.get("occurred_at", "")).replace(tzinfo=clock.SHANGHAI)
        except ValueError:
            raise DomainError("请填写发生时间", field="occurred_at") from None
        m = sv.report_major(
            db,
            p,
            category=v.get("category", ""),
            title=v.get("title", ""),
            content=v.get("content", ""),
            occurred_at=occurred,
            amount_fen=_fen(v.get("amount", ""), "amount_fen", "涉及金额"),
        )
    except DomainError as err:
        db.rollback()
        return _majors(request, db, p, status_code=err.status_code, error=err, form=v)
    return RedirectResponse(f"/fund/supervision/major/{m.id}?done=major", status_code=303)


def _major_page(request: Request, db: Session, p: Principal, report_id: int, *, status_code: int = 200, **extra):
    m = sv.get_major(db, p, report_id)
    return render(
        request,
        "fund_major.html",
        status_code=status_code,
        title=f"要情报告：{m.title}",
        m=sv.major_dict(db, m),
        can_supervise=p.can(P.FUND_SUPERVISE),
        yuan=yuan,
        **extra,
    )


@pages.get("/fund/supervision/major/{report_id}")
def major_page(
    request: Request,
    report_id: int,
    done: str | None = None,
    p: Principal = Depends(Require(P.FUND_READ)),
    db: Session = DB,
):
    return _major_page(request, db, p, report_id, done=DONE.get(done or ""))


def _major_act(request: Request, db: Session, p: Principal, report_id: int, done: str, fn):
    _, page = attempt(
        db, fn, lambda err: _major_page(request, db, p, report_id, status_code=err.status_code, error=err)
    )
    return page or RedirectResponse(f"/fund/supervision/major/{report_id}?done={done}", status_code=303)


@pages.post("/fund/supervision/major/{report_id}/acknowledge")
def acknowledge(request: Request, report_id: int, p: Principal = Depends(Require(P.FUND_SUPERVISE)), db: Session = DB):
    return _major_act(request, db, p, report_id, "acknowledged", lambda: sv.acknowledge(db, p, report_id))


@pages.post("/fund/supervision/major/{report_id}/close")
def close_major(
    request: Request,
    report_id: int,
    p: Principal = Depends(Require(P.FUND_SUPERVISE)),
    form: FormData = Depends(form_data),
    db: Session = DB,
):
    v = form_text(form)
    return _major_act(
        request, db, p, report_id, "major_closed", lambda: sv.close_major(db, p, report_id, v.get("outcome", ""))
    )
