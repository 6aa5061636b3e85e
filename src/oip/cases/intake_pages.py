"""Pages of the intake: the report form for staff and platforms (/cases/new) and for workers
(/me/cases/new), and the intake panel on the case page (coverage at report, possible duplicates and
merging, the application, the materials checklist with uploads, the correction notice, acceptance
and refusal). Each form is shown only to who may use it, in the states where it applies; each
posts here with the ``csrf_token`` and the case ``version`` it was rendered with, then goes back to
the case page (303), or shows the case page again with the reason when the step was refused."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.datastructures import FormData, UploadFile

from oip.auth import permissions as P
from oip.auth.deps import Require
from oip.auth.service import Principal
from oip.cases import intake, intake_rules as R, parameters as CP, rules, schemas as S, service
from oip.cases.models import Case, CaseReport, CorrectionNotice
from oip.cases.pages import Panel, register_panel, render_case
from oip.core import clock, layout
from oip.core.config import get_settings
from oip.core.errors import DomainError
from oip.core.layout import render
from oip.core.validation import from_form
from oip.core.web import DB, TransactionRoute, form_text
from oip.platforms.models import Platform, names_only
from oip.reference import parameters
from oip.reference.models import Region
from oip.workers.models import PlatformAccount
from oip.workers.scope import account_condition

pages = APIRouter(include_in_schema=False, route_class=TransactionRoute)
layout.register_nav(
    layout.NavItem(
        "登记报案",
        "/cases/new",
        P.CASE_REPORT,
        order=41,
        scopes=frozenset({"region", "platform"}),
        titles={"platform": "为本企业人员报案"},
    ),
    layout.NavItem("我要报案", "/me/cases/new", P.CASE_REPORT, order=41, scopes=frozenset({"self"})),
)


async def form_data(request: Request) -> FormData:
    return await request.form()


def _version(form: FormData) -> int | None:
    raw = form.get("version")
    if not isinstance(raw, str) or not raw.strip():
        return None
    if not raw.strip().isdigit() or len(raw.strip()) > 9:
        raise DomainError("版本号无效，请刷新页面后重试", field="version")
    return int(raw)


def _back(case_id: int) -> RedirectResponse:
    return RedirectResponse(f"/cases/{case_id}#intake", status_code=303)


# ---- the report forms -----------------------------------------------------------------------------


def _counties(db: Session) -> list[tuple[str, list[Region]]]:
    """Guangxi's counties grouped by city, for a select with optgroups."""
    regions = list(db.scalars(select(Region).where(Region.code.startswith("45")).order_by(Region.code)))
    today = clock.today()
    live = [r for r in regions if r.valid_to is None or r.valid_to >= today]
    cities = {r.code: r for r in live if r.level == "city"}
    groups: dict[str, list[Region]] = {}
    for r in live:
        if r.level == "county":
            groups.setdefault(r.parent_code or "", []).append(r)
    return [(cities[c].name if c in cities else "其他", groups[c]) for c in sorted(groups)]


def _platforms(db: Session, p: Principal) -> list[tuple[str, str]]:
    q = select(Platform).options(*names_only()).order_by(Platform.code)
    if p.role.scope == "platform":
        q = q.where(Platform.id == p.platform_id)
    today = clock.today()
    return [(x.code, x.display_name(today) or x.code) for x in db.scalars(q)]


def _own_accounts(db: Session, p: Principal) -> list[dict[str, str]]:
    today = clock.today()
    rows = db.scalars(select(PlatformAccount).where(account_condition(p)).order_by(PlatformAccount.id))
    return [
        {
            "value": f"{a.platform.code}|{a.account_id}",
            "label": f"{a.platform.display_name(today)} · 账号 {a.account_id}",
        }
        for a in rows
    ]


def _report_form(request: Request, db: Session, p: Principal, values: dict, error: DomainError | None = None):
    worker = p.role.scope == "self"
    now = clock.local(clock.now())
    return render(
        request,
        "cases/intake_report.html",
        status_code=error.status_code if error else 200,
        title="我要报案" if worker else ("为本企业人员报案" if p.role.scope == "platform" else "登记报案"),
        worker=worker,
        staff=p.role.scope == "region",
        action="/me/cases/new" if worker else "/cases/new",
        values=values,
        error=error,
        labels=S.LABELS,
        platforms=_platforms(db, p) if not worker else [],
        accounts=_own_accounts(db, p) if worker else [],
        counties=_counties(db),
        kinds=R.KIND_NAMES,
        channels={c: R.CHANNEL_NAMES[c] for c in R.STAFF_CHANNELS},
        max_time=now.strftime("%Y-%m-%dT%H:%M"),
        today=now.date().isoformat(),
    )


def _submit_report(request: Request, db: Session, p: Principal, values: dict[str, str]):
    data = dict(values)
    if p.role.scope == "self":
        code, _, account = data.pop("account", "").partition("|")
        data["platform_code"], data["platform_account_id"] = code, account
    if p.role.scope == "platform":
        data.pop("platform_code", None)
    if p.role.scope != "region":
        data.pop("channel", None)
        data.pop("reported_on", None)
    try:
        if not data.get("platform_account_id"):
            raise DomainError("请选择或填写平台账号", field="platform_account_id")
        body = from_form(S.ReportIn, data)
        fields = body.model_dump()
        fields["occurred_at"] = intake.parse_occurred_at(body.occurred_at, naive_in_beijing=True)
        out = intake.report(db, p, **fields)
    except DomainError as e:
        db.rollback()
        return _report_form(request, db, p, values, e)
    return RedirectResponse(f"/cases/{out['case_id']}", status_code=303)


@pages.get("/cases/new")
def report_new(request: Request, p: Principal = Depends(Require(P.CASE_REPORT)), db: Session = DB):
    if p.role.scope == "self":
        return RedirectResponse("/me/cases/new", status_code=303)
    return _report_form(request, db, p, {"channel": "desk", "reported_on": clock.today().isoformat()})


@pages.post("/cases/new")
def report_create(
    request: Request,
    p: Principal = Depends(Require(P.CASE_REPORT)),
    form: FormData = Depends(form_data),
    db: Session = DB,
):
    if p.role.scope == "self":
        return RedirectResponse("/me/cases/new", status_code=303)
    return _submit_report(request, db, p, form_text(form))


@pages.get("/me/cases/new")
def my_report_new(request: Request, p: Principal = Depends(Require(P.CASE_REPORT)), db: Session = DB):
    if p.role.scope != "self":
        return RedirectResponse("/cases/new", status_code=303)
    return _report_form(request, db, p, {})


@pages.post("/me/cases/new")
def my_report_create(
    request: Request,
    p: Principal = Depends(Require(P.CASE_REPORT)),
    form: FormData = Depends(form_data),
    db: Session = DB,
):
    if p.role.scope != "self":
        return RedirectResponse("/cases/new", status_code=303)
    return _submit_report(request, db, p, form_text(form))


# ---- the intake panel on the case page -------------------------------------------------------------


def _reports(db: Session, case: Case) -> list[dict[str, Any]]:
    rows = db.scalars(select(CaseReport).where(CaseReport.case_id == case.id).order_by(CaseReport.id))
    return [
        {
            "id": r.id,
            "channel_name": R.CHANNEL_NAMES.get(r.channel, r.channel),
            "reported_on": r.reported_on.isoformat(),
            "first_case_id": r.first_case_id,
            "merged": r.first_case_id != case.id,
        }
        for r in rows
    ]


def intake_panel(db: Session, p: Principal, case: Case) -> dict[str, Any]:
    """What the intake shows on the case page, and which of its forms this principal may use now."""
    state = case.state
    legal = set(rules.legal_actions(state))
    handle = p.can(P.CASE_HANDLE)
    may_apply = p.can(P.CASE_APPLY)
    ctx: dict[str, Any] = {
        "version": case.version,
        "today": clock.today().isoformat(),
        "coverage": case.coverage,
        "reports": _reports(db, case),
        "channel_names": R.CHANNEL_NAMES,
        "duplicates": intake.possible_duplicates(db, p, case) if state in intake.MERGEABLE else [],
        "window_hours": parameters.get(db, CP.DUPLICATE_WINDOW_HOURS, intake.injured_on(case)),
        "can_merge": handle and "merge" in legal,
        "merged_into": None,
        "can_unmerge": handle and "unmerge" in legal,
        "application": None,
        "checklist": intake.checklist_status(db, case, p),
        "can_upload": may_apply and state in intake.UPLOAD_STATES,
        "max_mb": get_settings().upload_max_bytes // (1024 * 1024),
        "notices": list(
            db.scalars(
                select(CorrectionNotice).where(CorrectionNotice.case_id == case.id).order_by(CorrectionNotice.id)
            )
        ),
        "open_notice": intake.open_notice(db, case),
        "can_correct": handle and "request_correction" in legal and not intake.has_correction_notice(db, case),
        "can_fulfil": handle and "materials_received" in legal,
        "can_accept": handle and "accept" in legal,
        "can_refuse": handle and "refuse" in legal,
        "refusal_codes": intake.refusal_codes(db) if handle and "refuse" in legal else [],
    }
    if case.merged_into_id is not None:
        target = db.get(Case, case.merged_into_id)
        ctx["merged_into"] = {"id": target.id, "number": target.number} if target is not None else None
    choices = intake.applicant_choices(p)
    if may_apply and "apply" in legal and choices:
        limits = service.application_limits(db, case)
        today = clock.today()
        ctx["application"] = {
            "choices": {a: service.APPLICANT_NAMES[a] for a in choices},
            "platform_due": limits.platform_due.isoformat(),
            "worker_due": limits.worker_due.isoformat(),
            "late_now": {a: limits.late(a, today) for a in choices},
            "paper": p.role.scope == "region",
            "injury": case.kind == "injury",
            "injured_on": intake.injured_on(case).isoformat(),
        }
    return ctx


register_panel(Panel("intake", "cases/_intake.html", intake_panel, order=10))


def _refused(request: Request, db: Session, p: Principal, case_id: int, error: DomainError):
    """The case page again, with the reason the step was refused at the top of the intake panel."""
    db.rollback()
    try:
        case = service.get_case(db, p, case_id)
    except DomainError:
        raise error from None
    return render_case(request, db, p, case, status_code=error.status_code, intake_error=error)


def _step(request: Request, db: Session, p: Principal, case_id: int, fn):
    try:
        fn()
    except DomainError as e:
        return _refused(request, db, p, case_id, e)
    return _back(case_id)


@pages.post("/cases/{case_id}/merge")
def merge(
    request: Request,
    case_id: int,
    p: Principal = Depends(Require(P.CASE_HANDLE)),
    form: FormData = Depends(form_data),
    db: Session = DB,
):
    def run():
        body = from_form(S.MergeIn, {"into_case_id": form.get("into_case_id"), "version": form.get("version")})
        intake.merge(db, p, case_id, into_case_id=body.into_case_id, version=body.version)

    return _step(request, db, p, case_id, run)


@pages.post("/cases/{case_id}/unmerge")
def unmerge(
    request: Request,
    case_id: int,
    p: Principal = Depends(Require(P.CASE_HANDLE)),
    form: FormData = Depends(form_data),
    db: Session = DB,
):
    return _step(request, db, p, case_id, lambda: intake.unmerge(db, p, case_id, version=_version(form)))


@pages.post("/cases/{case_id}/application")
def application(
    request: Request,
    case_id: int,
    p: Principal = Depends(Require(P.CASE_APPLY)),
    form: FormData = Depends(form_data),
    db: Session = DB,
):
    def run():
        body = from_form(S.ApplicationIn, form_text(form))
        intake.apply(db, p, case_id, **body.model_dump())

    return _step(request, db, p, case_id, run)


@pages.post("/cases/{case_id}/documents")
def upload(
    request: Request,
    case_id: int,
    p: Principal = Depends(Require(P.CASE_APPLY)),
    form: FormData = Depends(form_data),
    db: Session = DB,
):
    def run():
        f = form.get("file")
        if not isinstance(f, UploadFile) or not f.filename:
            raise DomainError("请选择要提交的文件", field="file")
        content = f.file.read(get_settings().upload_max_bytes + 1)
        requirement = form.get("requirement")
        intake.upload_document(
            db,
            p,
            case_id,
            filename=f.filename,
            content=content,
            requirement=requirement if isinstance(requirement, str) else "",
            version=_version(form),
        )

    return _step(request, db, p, case_id, run)


@pages.post("/cases/{case_id}/correction")
def correction(
    request: Request,
    case_id: int,
    p: Principal = Depends(Require(P.CASE_HANDLE)),
    form: FormData = Depends(form_data),
    db: Session = DB,
):
    def run():
        codes = [c for c in form.getlist("items") if isinstance(c, str) and c]
        notes = {c: str(form.get(f"note_{c}") or "") for c in codes}
        issued = form.get("issued_on")
        body = from_form(
            S.CorrectionIn,
            {
                "items": [{"requirement": c, "note": notes[c]} for c in codes],
                "issued_on": issued if isinstance(issued, str) else "",
                "version": form.get("version"),
            },
        )
        intake.request_correction(
            db,
            p,
            case_id,
            items=[(i.requirement, i.note) for i in body.items],
            issued_on=body.issued_on,
            version=body.version,
        )

    return _step(request, db, p, case_id, run)


@pages.post("/cases/{case_id}/correction/fulfil")
def fulfil(
    request: Request,
    case_id: int,
    p: Principal = Depends(Require(P.CASE_HANDLE)),
    form: FormData = Depends(form_data),
    db: Session = DB,
):
    def run():
        body = from_form(S.FulfilIn, form_text(form))
        intake.fulfil_correction(db, p, case_id, fulfilled_on=body.fulfilled_on, version=body.version)

    return _step(request, db, p, case_id, run)


@pages.post("/cases/{case_id}/acceptance")
def acceptance(
    request: Request,
    case_id: int,
    p: Principal = Depends(Require(P.CASE_HANDLE)),
    form: FormData = Depends(form_data),
    db: Session = DB,
):
    def run():
        body = from_form(S.AcceptanceIn, form_text(form))
        intake.accept(db, p, case_id, **body.model_dump())

    return _step(request, db, p, case_id, run)


@pages.post("/cases/{case_id}/refusal")
def refusal(
    request: Request,
    case_id: int,
    p: Principal = Depends(Require(P.CASE_HANDLE)),
    form: FormData = Depends(form_data),
    db: Session = DB,
):
    def run():
        body = from_form(S.RefusalIn, form_text(form))
        intake.refuse(db, p, case_id, **body.model_dump())

    return _step(request, db, p, case_id, run)
