"""JSON routes of labour-capacity appraisal (/api/v1): the committees' expert pools."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from sqlalchemy.orm import Session

from oip.appraisal import experts, schemas as S, specialties
from oip.auth import permissions as P
from oip.auth.deps import Require
from oip.auth.service import Principal
from oip.core import clock
from oip.core.web import DB, TransactionRoute

api = APIRouter(route_class=TransactionRoute)
TAG = ["appraisal"]


def _out(db: Session, e) -> S.ExpertOut:
    return S.expert_out(e, experts.committees(db), clock.today())


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
    "/appraisal/experts/{expert_id}/ties/{tie_id}/removal", response_model=S.ExpertOut, tags=TAG, summary="解除回避关系"
)
def remove_tie(
    body: S.ReasonIn, expert_id: int, tie_id: int, p: Principal = Depends(Require(P.APPRAISAL_MANAGE)), db: Session = DB
):
    tie = experts.remove_tie(db, p, expert_id, tie_id, body.reason)
    return _out(db, tie.expert)
