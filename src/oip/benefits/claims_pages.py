"""Pages of claims (费用申报): the case panel with its bills and forms, the claims worklist
(/benefits/claims) and the fast lane's worklist with its clocks (/benefits/fast-lane)."""

from __future__ import annotations

from contextvars import ContextVar
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import RedirectResponse
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from oip.auth import permissions as P
from oip.auth.deps import Require
from oip.auth.service import Principal
from oip.benefits import claims, claims_rules as R
from oip.cases import pages as case_pages
from oip.cases.models import Case
from oip.cases.pages import Panel, register_panel
from oip.core import clock, layout
from oip.core.errors import DomainError
from oip.core.layout import render
from oip.core.pagination import page_window
from oip.core.web import DB, TransactionRoute, form_text

pages = APIRouter(include_in_schema=False, route_class=TransactionRoute)
layout.register_nav(
    layout.NavItem("费用申报", "/benefits/claims", P.BENEFIT_READ, order=65, titles={"self": "我的费用申报"}),
    layout.NavItem("小伤快赔", "/benefits/fast-lane", P.BENEFIT_READ, order=66, scopes=frozenset({"region"})),
)
layout.register_stat(
    layout.Stat(
        "超过支付期限的小伤快赔",
        P.BENEFIT_READ,
        claims.fast_lane_overdue,
        order=66,
        scopes=frozenset({"region"}),
    )
)

ROWS, MORE, MAX_FORM_ROWS = 5, 5, 60
# The panel's state after a form post: (case id, error, typed values, the submission's outcome).
_STATE: ContextVar[tuple[int, DomainError | None, dict[str, str], dict | None] | None] = ContextVar(
    "claims_form_state", default=None
)


async def form_data(request: Request) -> FormData:
    return await request.form()


def _may_submit(p: Principal) -> bool:
    return (p.role.scope == "self" and p.can(P.CASE_APPLY)) or (p.role.scope == "region" and p.can(P.BENEFIT_DETERMINE))


def _may_check(p: Principal) -> bool:
    return p.role.scope == "region" and p.can(P.BENEFIT_DETERMINE)


def _panel(db: Session, p: Principal, case: Case) -> dict[str, Any] | None:
    if not p.can(P.BENEFIT_READ):
        return None
    rows = claims.claims_of_case(db, case)
    submit = _may_submit(p) and claims.accepts_claims(db, case)
    if not rows and not submit:
        return None
    state = _STATE.get()
    mine = state if state and state[0] == case.id else None
    values = mine[2] if mine else {}
    n = int(values["rows"]) if values.get("rows", "").isdigit() else ROWS
    if values.get("more"):
        n += MORE
    n = max(ROWS, min(n, MAX_FORM_ROWS))
    items = claims.describe(db, [(c, case) for c in rows])
    return {
        "items": items,
        "claimed": R.fen_text(sum(c.claimed_fen for c in rows if c.status != "rejected")),
        "accepted": R.fen_text(sum(c.accepted_fen for c in rows if c.status != "rejected")),
        "submit": submit,
        "check": _may_check(p),
        "staff": p.role.scope == "region",
        "kinds": R.BILL_KINDS,
        "rows": n,
        "values": values,
        "error": mine[1] if mine else None,
        "outcome": mine[3] if mine else None,
        "documents": claims.fast_lane_documents(db, case) if any(c.fast_lane for c in rows) else [],
        "today": clock.today().isoformat(),
        "pending": case.state in R.PENDING_STATES,
    }


register_panel(Panel("claims", "claims_panel.html", _panel, order=65))


def _case_page(request: Request, db: Session, p: Principal, case_id: int, state, status: int):
    token = _STATE.set(state)
    try:
        resp = case_pages.case_page(request, case_id, p=p, db=db)
    finally:
        _STATE.reset(token)
    resp.status_code = status
    return resp


def _back(case_id: int) -> RedirectResponse:
    return RedirectResponse(f"/cases/{case_id}#claims", status_code=303)


def _form_rows(v: dict[str, str], n: int) -> list[dict[str, Any]]:
    return [
        {
            "receipt_no": v.get(f"receipt_no_{i}", ""),
            "provider": v.get(f"provider_{i}", ""),
            "issued_on": v.get(f"issued_on_{i}", ""),
            "amount": v.get(f"amount_{i}", ""),
            "kind": v.get(f"kind_{i}") or "medical",
            "inpatient": bool(v.get(f"inpatient_{i}")),
        }
        for i in range(1, n + 1)
    ]


def _step(request: Request, db: Session, p: Principal, case_id: int, fn) -> Any:
    try:
        fn()
    except DomainError as err:
        db.rollback()
        if err.status_code == 404:
            raise
        return _case_page(request, db, p, case_id, (case_id, err, {}, None), err.status_code)
    return _back(case_id)


@pages.post("/cases/{case_id}/claims")
def claim_submit(
    request: Request,
    case_id: int,
    p: Principal = Depends(Require(P.BENEFIT_DETERMINE, P.CASE_APPLY)),
    form: FormData = Depends(form_data),
    db: Session = DB,
):
    v = form_text(form)
    n = int(v["rows"]) if v.get("rows", "").isdigit() else ROWS
    n = max(ROWS, min(n, MAX_FORM_ROWS))
    if v.get("more"):  # more rows: the same form again, with what was typed
        return _case_page(request, db, p, case_id, (case_id, None, v, None), 200)
    try:
        r = claims.receive(
            db,
            p,
            case_id,
            bills=_form_rows(v, n),
            hospital_days=v.get("hospital_days") or 0,
            received_on=v.get("received_on") or None,
            note=v.get("note", ""),
        )
    except DomainError as err:
        db.rollback()
        if err.status_code == 404:
            raise
        return _case_page(request, db, p, case_id, (case_id, err, v, None), err.status_code)
    if not r.checked.rejected:
        return _back(case_id)
    outcome = {
        "number": r.claim.number,
        **r.checked.counts(),
        "rejected_rows": [{"line": x.line, "reason": x.reason} for x in r.checked.rejected],
    }
    return _case_page(request, db, p, case_id, (case_id, None, {}, outcome), 200)


def _version(v: dict[str, str]) -> int | None:
    return int(v["version"]) if (v.get("version") or "").isdigit() else None


@pages.post("/claims/{claim_id}/bills/{bill_id}/catalogue")
def bill_mark(
    request: Request,
    claim_id: int,
    bill_id: int,
    p: Principal = Depends(Require(P.BENEFIT_DETERMINE)),
    form: FormData = Depends(form_data),
    db: Session = DB,
):
    v = form_text(form)
    claim, case = claims.get_claim(db, p, claim_id)
    return _step(
        request,
        db,
        p,
        case.id,
        lambda: claims.mark_bill(
            db,
            p,
            claim_id,
            bill_id,
            in_catalogue=v.get("in_catalogue") == "1",
            reason=v.get("reason"),
            version=_version(v),
        ),
    )


@pages.post("/claims/{claim_id}/determination")
def claim_determination(
    request: Request,
    claim_id: int,
    p: Principal = Depends(Require(P.BENEFIT_DETERMINE)),
    form: FormData = Depends(form_data),
    db: Session = DB,
):
    v = form_text(form)
    claim, case = claims.get_claim(db, p, claim_id)
    return _step(
        request,
        db,
        p,
        case.id,
        lambda: claims.determine(db, p, claim_id, note=v.get("note", ""), version=_version(v)),
    )


@pages.post("/claims/{claim_id}/rejection")
def claim_reject(
    request: Request,
    claim_id: int,
    p: Principal = Depends(Require(P.BENEFIT_DETERMINE)),
    form: FormData = Depends(form_data),
    db: Session = DB,
):
    v = form_text(form)
    claim, case = claims.get_claim(db, p, claim_id)
    return _step(
        request, db, p, case.id, lambda: claims.reject(db, p, claim_id, reason=v.get("reason"), version=_version(v))
    )


def _worklist(
    request: Request,
    db: Session,
    p: Principal,
    *,
    fast_lane: bool | None,
    status: str | None,
    page: int,
    path: str,
    title: str,
):
    status = status if status in R.STATUS_NAMES else None
    res = claims.list_claims(db, p, status=status, fast_lane=fast_lane, page=page)
    kept = {"status": status} if status else {}

    def page_url(n: int) -> str:
        return f"{path}?" + urlencode({**kept, "page": n})

    return render(
        request,
        "claims_worklist.html",
        title=title,
        items=claims.describe(db, res.items, with_bills=False),
        result=res,
        fast_lane=bool(fast_lane),
        statuses=R.STATUS_NAMES,
        status=status or "",
        path=path,
        kept=kept,
        page_url=page_url,
        window=page_window(res.page, res.pages),
    )


@pages.get("/benefits/claims")
def claims_worklist(
    request: Request,
    status: str | None = Query(None, max_length=16),
    page: int = Query(1, ge=1, le=100_000),
    p: Principal = Depends(Require(P.BENEFIT_READ)),
    db: Session = DB,
):
    title = "我的费用申报" if p.role.scope == "self" else "费用申报"
    return _worklist(request, db, p, fast_lane=None, status=status, page=page, path="/benefits/claims", title=title)


@pages.get("/benefits/fast-lane")
def fast_lane_worklist(
    request: Request,
    status: str | None = Query(None, max_length=16),
    page: int = Query(1, ge=1, le=100_000),
    p: Principal = Depends(Require(P.BENEFIT_READ)),
    db: Session = DB,
):
    return _worklist(
        request, db, p, fast_lane=True, status=status, page=page, path="/benefits/fast-lane", title="小伤快赔"
    )
