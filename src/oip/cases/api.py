"""JSON routes of the case core (/api/v1/cases): the list (with the worklist buckets) and one case
with its deadlines and timeline. The steps (report, application, acceptance, investigation,
decision, letters, appraisal) have their own route modules beside this one."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query
from sqlalchemy.orm import Session

from oip.auth import permissions as P
from oip.auth.deps import Require
from oip.auth.service import Principal
from oip.cases import service
from oip.core import clock
from oip.core.web import DB, TransactionRoute

api = APIRouter(prefix="/cases", tags=["cases"], route_class=TransactionRoute)


def event_out(e) -> dict[str, Any]:
    return {
        "at": clock.local(e.at).isoformat(),
        "on": e.on.isoformat(),
        "action": e.action,
        "action_name": service.event_name(e.action),
        "from_state": e.from_state,
        "to_state": e.to_state,
        "actor": e.actor_name,
        "note": e.note,
        "detail": e.detail,
    }


@api.get(
    "",
    summary="职业伤害案件列表（按待办期限排序；bucket：overdue 已超期、due_soon 即将到期、suspended 中止中、open、closed）",
)
def list_cases(
    state: str | None = None,
    bucket: str | None = None,
    county: str | None = Query(None, max_length=6),
    q: str | None = Query(None, max_length=32),
    page: int = Query(1, ge=1, le=100_000),
    p: Principal = Depends(Require(P.CASE_READ)),
    db: Session = DB,
):
    items, total = service.list_cases(db, p, state=state, bucket=bucket, county=county, q=q, page=page)
    return {"items": items, "total": total, "page": page, "size": service.LIST_PAGE}


@api.get("/{case_id}", summary="一个案件：状态、受理日、确认结论期限（decision_due）、待办期限与办理记录")
def get_case(case_id: int, p: Principal = Depends(Require(P.CASE_READ)), db: Session = DB):
    case = service.get_case(db, p, case_id)
    out = service.describe(db, p, case)
    out["timeline"] = [event_out(e) for e in service.timeline(db, case)]
    service.view_audit(db, p, case)
    return out
