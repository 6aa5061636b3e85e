"""JSON routes of the decision part (/api/v1/cases/...): the codes, the worklists, suspension and
resumption, the confirmation decision, appeals and closing. Every write takes the ``version`` the
caller read; a stale one answers 409.

This router is included **before** the case core's (``GET /cases/{case_id}``), so that
``/cases/codes`` and ``/cases/worklist`` are not taken for a case id."""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import APIRouter, Depends, Query
from sqlalchemy.orm import Session

from oip.auth import permissions as P
from oip.auth.deps import Require
from oip.auth.service import Principal
from oip.cases import decision as D, decision_views as V, rules, service, worklist
from oip.cases.decision_schemas import AppealIn, AppealOutcomeIn, CloseIn, DecisionIn, ResumptionIn, SuspensionIn
from oip.core import clock
from oip.core.errors import DomainError
from oip.core.web import DB, TransactionRoute

api = APIRouter(prefix="/cases", tags=["cases"], route_class=TransactionRoute)

DECIDE = Require(P.CASE_DECIDE)
HANDLE = Require(P.CASE_HANDLE)
WORKLIST = Require(P.CASE_HANDLE, P.CASE_DECIDE)


def _case_out(case) -> dict[str, Any]:
    return {
        "id": case.id,
        "number": case.number,
        "state": case.state,
        "state_name": rules.STATE_NAMES[case.state],
        "version": case.version,
        "clock_from": case.clock_from.isoformat() if case.clock_from else None,
        "decision_due": case.decision_due.isoformat() if case.decision_due else None,
        "waiting_on": rules.WAITS_ON.get(case.state),
        "next_due": case.next_due.isoformat() if case.next_due else None,
    }


# ---- reference and worklists (before /{case_id}) -----------------------------------------------


@api.get("/codes", summary="认定情形、排除情形、不予确认理由、不予受理理由代码（指定日期有效的，默认今天）")
def list_codes(
    kind: str | None = Query(None, max_length=16, description="situation | exclusion | reason | refusal"),
    on: dt.date | None = Query(None, description="有效日期，默认今天"),
    p: Principal = Depends(Require(P.CASE_READ)),
    db: Session = DB,
):
    if kind and kind not in D.CODE_KIND_NAMES:
        raise DomainError(f"未知的代码类别 {kind}，应为：{'、'.join(D.CODE_KIND_NAMES)}", field="kind")
    rows = D.valid_codes(db, on, (kind,) if kind else None)
    return {"items": [V.code_out(c) for c in rows], "on": (on or clock.today()).isoformat()}


@api.get(
    "/worklist",
    summary="待办工作台：即将到期（due_soon）、已超期（overdue）、中止或待补正（suspended）的案件，剩余工作日",
)
def get_worklist(
    bucket: str = Query("overdue", max_length=16),
    page: int = Query(1, ge=1, le=100_000),
    size: int = Query(worklist.PAGE, ge=1, le=100),
    area: str | None = Query(None, max_length=6, description="只看辖区内的某个县（市、区）或设区市（区划代码）"),
    p: Principal = Depends(WORKLIST),
    db: Session = DB,
):
    return worklist.bucket(db, p, bucket, page=page, size=size, area=area)


@api.get("/worklist/summary", summary="待办工作台汇总：本辖区三类案件数，市局按县、自治区按设区市分列")
def get_worklist_summary(p: Principal = Depends(WORKLIST), db: Session = DB):
    return worklist.summary(db, p)


# ---- one case ----------------------------------------------------------------------------------


@api.get("/{case_id}/decision", summary="审查与结论：中止记录、历次结论（含被撤销的）、受托机构建议、复议诉讼、期限")
def get_decision_part(case_id: int, p: Principal = Depends(Require(P.CASE_READ)), db: Session = DB):
    case = service.get_case(db, p, case_id)
    out = V.decision_part(db, p, case)
    service.view_audit(db, p, case)
    return out


@api.post("/{case_id}/suspension", status_code=201, summary="中止审查（等待其他机关的结论），审查期限顺延")
def post_suspension(case_id: int, body: SuspensionIn, p: Principal = Depends(HANDLE), db: Session = DB):
    row = D.suspend(db, p, case_id, **body.model_dump())
    case = service.get_case(db, p, case_id)
    return {"case": _case_out(case), "suspension": V.suspension_out(row)}


@api.post("/{case_id}/resumption", summary="恢复审查（已取得其他机关的结论）")
def post_resumption(case_id: int, body: ResumptionIn, p: Principal = Depends(HANDLE), db: Session = DB):
    row = D.resume(db, p, case_id, **body.model_dump())
    case = service.get_case(db, p, case_id)
    return {"case": _case_out(case), "suspension": V.suspension_out(row)}


@api.post(
    "/{case_id}/decision",
    status_code=201,
    summary="作出职业伤害确认结论：予以确认（认定情形代码）或不予确认（排除情形或理由代码）",
)
def post_decision(case_id: int, body: DecisionIn, p: Principal = Depends(DECIDE), db: Session = DB):
    d = D.decide(db, p, case_id, **body.model_dump())
    case = service.get_case(db, p, case_id)
    return {"case": _case_out(case), "decision": V.decision_out(d, D.code_names(db))}


@api.post("/{case_id}/appeals", status_code=201, summary="登记行政复议或行政诉讼（期限内；逾期受理须说明理由）")
def post_appeal(case_id: int, body: AppealIn, p: Principal = Depends(DECIDE), db: Session = DB):
    a = D.file_appeal(db, p, case_id, **body.model_dump())
    case = service.get_case(db, p, case_id)
    return {"case": _case_out(case), "appeal": V.appeal_out(a)}


@api.post(
    "/{case_id}/appeals/{appeal_id}/outcome",
    summary="登记复议（诉讼）结果：维持或撤回回到原结论；撤销则重新审查、重新计算确认期限",
)
def post_appeal_outcome(
    case_id: int, appeal_id: int, body: AppealOutcomeIn, p: Principal = Depends(DECIDE), db: Session = DB
):
    a = D.appeal_outcome(db, p, case_id, appeal_id, **body.model_dump())
    case = service.get_case(db, p, case_id)
    return {"case": _case_out(case), "appeal": V.appeal_out(a)}


@api.post("/{case_id}/close", summary="结案（复议、诉讼期限届满后；提前结案须说明理由）")
def post_close(case_id: int, body: CloseIn, p: Principal = Depends(DECIDE), db: Session = DB):
    case = D.close(db, p, case_id, **body.model_dump())
    return {"case": _case_out(case)}
