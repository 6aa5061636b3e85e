"""JSON routes of determinations (待遇核定) and dependants (供养亲属):

- ``GET /cases/{case_id}/determinations`` — the case's benefits determinations (a worker: the
  approved and superseded versions of their own case), ``GET /determinations/{id}``;
- ``POST /cases/{case_id}/determinations`` — open one (the calculator proposes);
- ``POST /determinations/{id}/lines/{line_id}`` — adjust a line (amount with a reason);
- ``POST /determinations/{id}/submit`` · ``/approve`` · ``/return`` · ``/cancel``;
- ``GET /benefits/approvals`` — submitted determinations the caller may approve;
- ``GET|POST /cases/{case_id}/dependants``, ``POST /cases/{case_id}/dependants/{id}``.

Writes take ``version_lock`` (the determination's, as read): a stale one answers 409. Permissions:
benefit.read, benefit.determine, benefit.approve; the case's data scope (404 outside it)."""

from __future__ import annotations

import datetime as dt

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from oip.auth import permissions as P
from oip.auth.deps import Require
from oip.auth.service import Principal
from oip.benefits import determination as D, determination_views as V
from oip.cases import service as cases
from oip.core.validation import register_labels
from oip.core.web import DB, TransactionRoute

api = APIRouter(tags=["benefits"], route_class=TransactionRoute)

READ = Require(P.BENEFIT_READ)
DETERMINE = Require(P.BENEFIT_DETERMINE)
APPROVE = Require(P.BENEFIT_APPROVE)

LABELS = {
    "amount_fen": "核定金额（分）",
    "version_lock": "核定版本号",
    "relation": "与职工关系",
    "orphan_or_lone_elderly": "孤儿或孤寡老人",
    "birth_date": "出生日期",
    "school_until": "在校至",
    "died_on": "死亡日期",
}
register_labels(LABELS)


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class OpenIn(_In):
    note: str = Field("", max_length=4000)


class AdjustIn(_In):
    amount_fen: int = Field(ge=0, le=D.MAX_FEN)
    reason: str = Field("", max_length=2000)
    version_lock: int | None = None


class NoteIn(_In):
    note: str = Field("", max_length=4000)
    version_lock: int | None = None


class ReasonIn(_In):
    reason: str = Field("", max_length=4000)
    version_lock: int | None = None


class DependantIn(_In):
    name: str = Field(max_length=64)
    relation: str = Field(max_length=16)
    orphan_or_lone_elderly: bool = False
    birth_date: dt.date
    id_number: str | None = Field(None, max_length=32)
    phone: str | None = Field(None, max_length=32)
    school_until: dt.date | None = None
    died_on: dt.date | None = None
    note: str = Field("", max_length=2000)


def _out(db: Session, p: Principal, det_id: int) -> dict:
    case, det = D.get_determination(db, p, det_id)
    return V.determination_out(db, p, case, det)


@api.get("/cases/{case_id}/determinations", summary="案件的待遇核定（各版本，最新在前）")
def list_determinations(case_id: int, p: Principal = Depends(READ), db: Session = DB):
    case = cases.get_case(db, p, case_id)
    rows = D.determinations_of(db, p, case)
    names = V.user_names(db, {u for d in rows for u in (d.made_by, d.approved_by)})
    cases.view_audit(db, p, case)
    return {"items": [V.determination_out(db, p, case, d, names=names) for d in rows]}


@api.post("/cases/{case_id}/determinations", status_code=201, summary="开始待遇核定：由计算器按案件事实提出核定明细")
def post_determination(case_id: int, body: OpenIn, p: Principal = Depends(DETERMINE), db: Session = DB):
    det = D.open_determination(db, p, case_id, note=body.note)
    return _out(db, p, det.id)


@api.get("/determinations/{determination_id}", summary="一份待遇核定（明细、公式、参数版本、调整理由）")
def get_determination(determination_id: int, p: Principal = Depends(READ), db: Session = DB):
    case, det = D.get_determination(db, p, determination_id)
    out = V.determination_out(db, p, case, det)
    cases.view_audit(db, p, case)
    return out


@api.post(
    "/determinations/{determination_id}/lines/{line_id}",
    summary="调整核定明细的金额（须说明理由；计算金额保留）",
)
def post_adjust(
    determination_id: int, line_id: int, body: AdjustIn, p: Principal = Depends(DETERMINE), db: Session = DB
):
    D.adjust_line(
        db, p, determination_id, line_id, amount_fen=body.amount_fen, reason=body.reason, version=body.version_lock
    )
    return _out(db, p, determination_id)


@api.post("/determinations/{determination_id}/submit", summary="提交审批")
def post_submit(determination_id: int, body: NoteIn, p: Principal = Depends(DETERMINE), db: Session = DB):
    D.submit(db, p, determination_id, note=body.note, version=body.version_lock)
    return _out(db, p, determination_id)


@api.post(
    "/determinations/{determination_id}/approve",
    summary="审批通过（不得审批本人经办的核定；审批金额不超过本角色限额）：制作待遇核定通知书、生成应付明细",
)
def post_approve(determination_id: int, body: NoteIn, p: Principal = Depends(APPROVE), db: Session = DB):
    D.approve(db, p, determination_id, note=body.note, version=body.version_lock)
    return _out(db, p, determination_id)


@api.post("/determinations/{determination_id}/return", summary="退回经办人（须说明理由）")
def post_return(determination_id: int, body: ReasonIn, p: Principal = Depends(APPROVE), db: Session = DB):
    D.return_(db, p, determination_id, reason=body.reason, version=body.version_lock)
    return _out(db, p, determination_id)


@api.post("/determinations/{determination_id}/cancel", summary="作废草稿或被退回的核定（须说明理由）")
def post_cancel(determination_id: int, body: ReasonIn, p: Principal = Depends(DETERMINE), db: Session = DB):
    D.cancel_draft(db, p, determination_id, reason=body.reason, version=body.version_lock)
    return _out(db, p, determination_id)


@api.get("/benefits/approvals", summary="待我审批的待遇核定（本辖区、非本人经办、在审批限额内）")
def list_approvals(
    page: int = Query(1, ge=1, le=100_000),
    size: int = Query(30, ge=1, le=100),
    p: Principal = Depends(APPROVE),
    db: Session = DB,
):
    rows, total = D.pending_approvals(db, p, page=page, size=size)
    names = V.user_names(db, {d.made_by for d in rows})
    items = []
    for det in rows:
        case = cases.get_case(db, p, det.case_id)
        items.append(V.determination_out(db, p, case, det, names=names))
    return {"items": items, "total": total, "page": page, "size": size}


@api.get("/cases/{case_id}/dependants", summary="供养亲属（证件号码、电话脱敏）")
def list_dependants(case_id: int, p: Principal = Depends(READ), db: Session = DB):
    case = cases.get_case(db, p, case_id)
    return {"items": [V.dependant_out(d) for d in D.dependants_of(db, case)]}


@api.post("/cases/{case_id}/dependants", status_code=201, summary="登记供养亲属（因工死亡或下落不明的案件）")
def post_dependant(case_id: int, body: DependantIn, p: Principal = Depends(DETERMINE), db: Session = DB):
    d = D.add_dependant(db, p, case_id, **body.model_dump())
    return V.dependant_out(d)


@api.post("/cases/{case_id}/dependants/{dependant_id}", summary="修改供养亲属（证件号码、电话留空则保留原值）")
def put_dependant(
    case_id: int, dependant_id: int, body: DependantIn, p: Principal = Depends(DETERMINE), db: Session = DB
):
    d = D.update_dependant(db, p, case_id, dependant_id, **body.model_dump())
    return V.dependant_out(d)
