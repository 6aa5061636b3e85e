"""JSON routes of labour-capacity appraisal (/api/v1): the committees' expert pools, and the
appraisals of a case — apply, accept, draw the panel (and check the draw), extend, conclude, close."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query
from sqlalchemy.orm import Session

from oip.appraisal import experts, schemas as S, service, specialties, views
from oip.auth import permissions as P
from oip.auth.deps import Require
from oip.auth.service import Principal
from oip.cases import service as cases
from oip.core import clock
from oip.core.web import DB, TransactionRoute

api = APIRouter(route_class=TransactionRoute)
TAG = ["appraisal"]


def _out(db: Session, e) -> S.ExpertOut:
    return S.expert_out(e, experts.committees(db), clock.today())


# ---- the expert pools ----------------------------------------------------------------------------


@api.get("/appraisal/specialties", response_model=list[S.SpecialtyOut], tags=TAG, summary="鉴定专家的专业（科别）")
def list_specialties(p: Principal = Depends(Require(P.APPRAISAL_READ)), db: Session = DB):
    return [S.SpecialtyOut(code=s.code, name=s.name, catalogue=s.catalogue) for s in specialties.specialties().values()]


@api.get("/appraisal/experts", response_model=S.ExpertPage, tags=TAG, summary="鉴定专家库（按委员会、专业筛选）")
def list_experts(
    committee: str | None = None,
    specialty: str | None = None,
    active: bool | None = None,
    q: str | None = None,
    page: int = 1,
    p: Principal = Depends(Require(P.APPRAISAL_READ)),
    db: Session = DB,
):
    res = experts.list_experts(db, p, committee=committee, specialty=specialty, active=active, q=q, page=page)
    names, today = experts.committees(db), clock.today()
    return S.ExpertPage(
        items=[S.expert_out(e, names, today, ties=False) for e in res.items],
        total=res.total,
        page=res.page,
        pages=res.pages,
    )


@api.post("/appraisal/experts", response_model=S.ExpertOut, status_code=201, tags=TAG, summary="登记鉴定专家")
def create_expert(body: S.ExpertIn, p: Principal = Depends(Require(P.APPRAISAL_MANAGE)), db: Session = DB):
    return _out(db, experts.create_expert(db, p, **body.model_dump()))


@api.get("/appraisal/experts/{expert_id}", response_model=S.ExpertOut, tags=TAG, summary="鉴定专家详情（含回避关系）")
def get_expert(expert_id: int, p: Principal = Depends(Require(P.APPRAISAL_READ)), db: Session = DB):
    return _out(db, experts.view_expert(db, p, expert_id))


@api.patch("/appraisal/experts/{expert_id}", response_model=S.ExpertOut, tags=TAG, summary="修改鉴定专家信息")
def update_expert(
    body: S.ExpertUpdate, expert_id: int, p: Principal = Depends(Require(P.APPRAISAL_MANAGE)), db: Session = DB
):
    return _out(db, experts.update_expert(db, p, expert_id, body.model_dump(exclude_unset=True)))


@api.post(
    "/appraisal/experts/{expert_id}/deactivation",
    response_model=S.ExpertOut,
    tags=TAG,
    summary="停用鉴定专家（须说明理由）",
)
def deactivate_expert(
    body: S.ReasonIn, expert_id: int, p: Principal = Depends(Require(P.APPRAISAL_MANAGE)), db: Session = DB
):
    return _out(db, experts.set_active(db, p, expert_id, False, body.reason))


@api.post("/appraisal/experts/{expert_id}/activation", response_model=S.ExpertOut, tags=TAG, summary="恢复鉴定专家")
def activate_expert(
    body: S.ReasonIn, expert_id: int, p: Principal = Depends(Require(P.APPRAISAL_MANAGE)), db: Session = DB
):
    return _out(db, experts.set_active(db, p, expert_id, True, body.reason))


@api.post(
    "/appraisal/experts/{expert_id}/ties", response_model=S.ExpertOut, status_code=201, tags=TAG, summary="登记回避关系"
)
def add_tie(body: S.TieIn, expert_id: int, p: Principal = Depends(Require(P.APPRAISAL_MANAGE)), db: Session = DB):
    tie = experts.add_tie(db, p, expert_id, **body.model_dump())
    return _out(db, tie.expert)


@api.post(
    "/appraisal/experts/{expert_id}/ties/{tie_id}/removal",
    response_model=S.ExpertOut,
    tags=TAG,
    summary="解除回避关系",
)
def remove_tie(
    body: S.ReasonIn, expert_id: int, tie_id: int, p: Principal = Depends(Require(P.APPRAISAL_MANAGE)), db: Session = DB
):
    tie = experts.remove_tie(db, p, expert_id, tie_id, body.reason)
    return _out(db, tie.expert)


# ---- appraisals of a case ------------------------------------------------------------------------


def _appraisal(db: Session, p: Principal, a) -> dict[str, Any]:
    case = cases.get_case(db, p, a.case_id)
    return views.appraisal_out(db, p, a, case)


@api.post(
    "/cases/{case_id}/appraisals",
    status_code=201,
    tags=TAG,
    summary="申请劳动能力鉴定（初次鉴定、再次鉴定、复查鉴定）",
)
def apply(
    body: S.ApplyIn, case_id: int, p: Principal = Depends(Require(P.APPRAISAL_MANAGE, P.CASE_APPLY)), db: Session = DB
):
    return _appraisal(db, p, service.apply(db, p, case_id, **body.model_dump()))


@api.get("/cases/{case_id}/appraisals", tags=TAG, summary="案件的劳动能力鉴定")
def case_appraisals(case_id: int, p: Principal = Depends(Require(P.APPRAISAL_READ, P.CASE_READ)), db: Session = DB):
    case = cases.get_case(db, p, case_id)
    rows = service.appraisals_of(db, case)
    views.view_audit(db, p, case, rows)
    return [views.appraisal_out(db, p, a, case) for a in rows]


@api.get(
    "/appraisals", tags=TAG, summary="鉴定委员会工作台（bucket：pending 待受理、due_soon、overdue、open、concluded）"
)
def worklist(
    bucket: str | None = Query(None, max_length=16),
    page: int = Query(1, ge=1, le=100_000),
    p: Principal = Depends(Require(P.APPRAISAL_READ)),
    db: Session = DB,
):
    rows, total, page = service.worklist(db, p, bucket=bucket or None, page=page)
    names = experts.committees(db)
    return {
        "items": [views.worklist_row(a, c, names) for a, c in rows],
        "total": total,
        "page": page,
        "size": service.PAGE_SIZE,
    }


@api.get("/appraisals/{appraisal_id}", tags=TAG, summary="一项劳动能力鉴定：申请、受理、专家组、期限、结论")
def get_appraisal(appraisal_id: int, p: Principal = Depends(Require(P.APPRAISAL_READ, P.CASE_READ)), db: Session = DB):
    a = service.get_appraisal(db, p, appraisal_id)
    case = cases.get_case(db, p, a.case_id)
    views.view_audit(db, p, case, [a])
    return views.appraisal_out(db, p, a, case)


@api.post("/appraisals/{appraisal_id}/acceptance", tags=TAG, summary="受理鉴定申请（确定所需专业和专家组人数）")
def accept(body: S.AcceptIn, appraisal_id: int, p: Principal = Depends(Require(P.APPRAISAL_MANAGE)), db: Session = DB):
    return _appraisal(db, p, service.accept(db, p, appraisal_id, **body.model_dump()))


@api.post(
    "/appraisals/{appraisal_id}/panel", status_code=201, tags=TAG, summary="随机抽取鉴定专家组（保存种子和候选名单）"
)
def draw(body: S.DrawIn, appraisal_id: int, p: Principal = Depends(Require(P.APPRAISAL_MANAGE)), db: Session = DB):
    row = service.draw_panel(db, p, appraisal_id, **body.model_dump())
    return _appraisal(db, p, service.get_appraisal(db, p, row.appraisal_id))


@api.get("/appraisals/{appraisal_id}/panel/check", tags=TAG, summary="复核抽取：按保存的种子和候选名单重新抽取并比对")
def check_draw(appraisal_id: int, p: Principal = Depends(Require(P.APPRAISAL_READ)), db: Session = DB):
    c = service.check_draw(db, p, appraisal_id)
    return {
        "draw_id": c.draw.id,
        "seed": str(c.draw.seed),
        "candidates": [i for i, _ in c.draw.candidates],
        "excluded": [{"expert_id": i, "reason": r} for i, r in c.draw.excluded],
        "panel": c.draw.panel,
        "rerun_panel": list(c.rerun_panel),
        "same": c.same,
    }


@api.post("/appraisals/{appraisal_id}/extension", tags=TAG, summary="延长鉴定结论期限（限一次，须说明理由）")
def extend(
    body: S.ExtensionIn, appraisal_id: int, p: Principal = Depends(Require(P.APPRAISAL_MANAGE)), db: Session = DB
):
    return _appraisal(db, p, service.extend(db, p, appraisal_id, **body.model_dump()))


@api.post("/appraisals/{appraisal_id}/conclusion", tags=TAG, summary="作出鉴定结论（伤残等级、护理依赖程度）")
def conclude(
    body: S.ConclusionIn, appraisal_id: int, p: Principal = Depends(Require(P.APPRAISAL_MANAGE)), db: Session = DB
):
    return _appraisal(db, p, service.conclude(db, p, appraisal_id, **body.model_dump()))


@api.post("/appraisals/{appraisal_id}/closure", tags=TAG, summary="申请再次鉴定的期限届满后结案")
def close(body: S.ClosureIn, appraisal_id: int, p: Principal = Depends(Require(P.APPRAISAL_MANAGE)), db: Session = DB):
    service.close(db, p, appraisal_id, **body.model_dump())
    return _appraisal(db, p, service.get_appraisal(db, p, appraisal_id))
