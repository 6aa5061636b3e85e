"""JSON routes of claims (费用申报) and the fast lane (小伤快赔), under /api/v1."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query
from sqlalchemy.orm import Session

from oip.auth import permissions as P
from oip.auth.deps import Require
from oip.auth.service import Principal
from oip.benefits import claims, claims_schemas as S
from oip.cases import service as cases
from oip.core.web import DB, TransactionRoute

api = APIRouter(route_class=TransactionRoute)
TAG = ["claims"]


def _one(db: Session, p: Principal, claim_id: int) -> S.ClaimOut:
    claim, case = claims.get_claim(db, p, claim_id)
    return S.claim_out(claims.describe(db, [(claim, case)])[0])


def _received(db: Session, p: Principal, r: claims.Received) -> S.ReceivedOut:
    db.flush()
    claim, case = claims.get_claim(db, p, r.claim.id)
    return S.ReceivedOut(
        claim=S.claim_out(claims.describe(db, [(claim, case)])[0]),
        **r.checked.counts(),
        rejected_rows=[
            S.RejectedRow(line=x.line, receipt_no=x.receipt_no, reason=x.reason, field=x.field)
            for x in r.checked.rejected
        ],
        fast_lane_reasons=r.fast_lane_reasons,
        missing_documents=claims.missing_documents(db, case) if claim.fast_lane else [],
    )


@api.post(
    "/cases/{case_id}/claims",
    response_model=S.ReceivedOut,
    status_code=201,
    tags=TAG,
    summary="提交费用申报（票据明细）",
)
def receive_claim(
    case_id: int, body: S.ClaimIn, p: Principal = Depends(Require(P.BENEFIT_DETERMINE, P.CASE_APPLY)), db: Session = DB
):
    r = claims.receive(
        db,
        p,
        case_id,
        bills=body.bills,
        hospital_days=body.hospital_days,
        received_on=body.received_on,
        note=body.note,
    )
    return _received(db, p, r)


@api.get("/cases/{case_id}/claims", response_model=list[S.ClaimOut], tags=TAG, summary="案件的费用申报")
def case_claims(case_id: int, p: Principal = Depends(Require(P.BENEFIT_READ)), db: Session = DB):
    case = cases.get_case(db, p, case_id)
    return [S.claim_out(d) for d in claims.describe(db, [(c, case) for c in claims.claims_of_case(db, case)])]


@api.get("/claims", response_model=S.ClaimPage, tags=TAG, summary="费用申报列表（fast_lane=true：小伤快赔工作台）")
def list_claims(
    status: str | None = Query(None, max_length=16),
    fast_lane: bool | None = None,
    page: int = Query(1, ge=1, le=100_000),
    p: Principal = Depends(Require(P.BENEFIT_READ)),
    db: Session = DB,
):
    res = claims.list_claims(db, p, status=status or None, fast_lane=fast_lane, page=page)
    return S.ClaimPage(
        items=[S.claim_out(d) for d in claims.describe(db, res.items)], total=res.total, page=res.page, pages=res.pages
    )


@api.get("/claims/{claim_id}", response_model=S.ClaimOut, tags=TAG, summary="费用申报详情（含票据与快赔时限）")
def get_claim(claim_id: int, p: Principal = Depends(Require(P.BENEFIT_READ)), db: Session = DB):
    return _one(db, p, claim_id)


@api.post("/claims/{claim_id}/bills", response_model=S.ReceivedOut, tags=TAG, summary="补充票据")
def add_bills(
    claim_id: int, body: S.BillsIn, p: Principal = Depends(Require(P.BENEFIT_DETERMINE, P.CASE_APPLY)), db: Session = DB
):
    r = claims.add_bills(db, p, claim_id, bills=body.bills, hospital_days=body.hospital_days, version=body.version)
    return _received(db, p, r)


@api.post(
    "/claims/{claim_id}/bills/{bill_id}/catalogue",
    response_model=S.ClaimOut,
    tags=TAG,
    summary="审核票据：目录内或剔除（须说明理由）",
)
def mark_bill(
    claim_id: int,
    bill_id: int,
    body: S.CatalogueIn,
    p: Principal = Depends(Require(P.BENEFIT_DETERMINE)),
    db: Session = DB,
):
    claims.mark_bill(db, p, claim_id, bill_id, in_catalogue=body.in_catalogue, reason=body.reason, version=body.version)
    return _one(db, p, claim_id)


@api.post("/claims/{claim_id}/rejection", response_model=S.ClaimOut, tags=TAG, summary="费用申报不予支付（须说明理由）")
def reject_claim(
    claim_id: int, body: S.RejectIn, p: Principal = Depends(Require(P.BENEFIT_DETERMINE)), db: Session = DB
):
    claims.reject(db, p, claim_id, reason=body.reason, version=body.version)
    return _one(db, p, claim_id)


@api.post(
    "/claims/{claim_id}/determination",
    response_model=S.ClaimOut,
    status_code=201,
    tags=TAG,
    summary="起草费用核定（计算器的医疗费、辅助器具、住院伙食补助明细；提交与审批见 /determinations）",
)
def draft_determination(
    claim_id: int, body: S.DraftIn, p: Principal = Depends(Require(P.BENEFIT_DETERMINE)), db: Session = DB
):
    claims.determine(db, p, claim_id, note=body.note, version=body.version)
    return _one(db, p, claim_id)
