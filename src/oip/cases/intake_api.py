"""JSON routes of the intake (/api/v1/cases/...): report, merge, application, materials, correction
notice, acceptance and refusal. Thin: parse, check the permission, call oip.cases.intake, answer.
Every write takes the optional ``version`` the caller read (409 when the case changed since)."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import APIRouter, Depends, File, Form, UploadFile
from fastapi.responses import JSONResponse, Response
from sqlalchemy.orm import Session

from oip.auth import permissions as P
from oip.auth.deps import Require
from oip.auth.service import Principal
from oip.cases import intake, schemas as S, service
from oip.core.config import get_settings
from oip.core.web import DB, TransactionRoute

api = APIRouter(prefix="/cases", tags=["cases"], route_class=TransactionRoute)


def _case(db: Session, p: Principal, case_id: int) -> dict:
    return service.describe(db, p, service.get_case(db, p, case_id))


@api.post(
    "/reports",
    status_code=201,
    summary="报案（平台企业一键报案；本人报案；经办人员登记电话、窗口、书面报案）：返回案件、报案时的保障状态、管辖机构和可能重复的报案",
)
def report(body: S.ReportIn, p: Principal = Depends(Require(P.CASE_REPORT)), db: Session = DB):
    data = body.model_dump()
    data["occurred_at"] = intake.parse_occurred_at(body.occurred_at)
    return intake.report(db, p, **data)


@api.post("/{case_id}/merge", summary="并案：把本案（重复报案）并入同一人的另一案件")
def merge(case_id: int, body: S.MergeIn, p: Principal = Depends(Require(P.CASE_HANDLE)), db: Session = DB):
    intake.merge(db, p, case_id, into_case_id=body.into_case_id, version=body.version)
    return _case(db, p, case_id)


@api.post("/{case_id}/unmerge", summary="撤销并案：报案回到本案，案件恢复并案前的状态")
def unmerge(
    case_id: int, body: S.Versioned | None = None, p: Principal = Depends(Require(P.CASE_HANDLE)), db: Session = DB
):
    intake.unmerge(db, p, case_id, version=body.version if body else None)
    return _case(db, p, case_id)


@api.post(
    "/{case_id}/application",
    summary="提出职业伤害确认申请（平台企业 3 个工作日内；本人、近亲属、工会 30 日内；超期须附说明）",
)
def application(case_id: int, body: S.ApplicationIn, p: Principal = Depends(Require(P.CASE_APPLY)), db: Session = DB):
    intake.apply(db, p, case_id, **body.model_dump())
    return _case(db, p, case_id)


@api.post(
    "/{case_id}/documents",
    status_code=201,
    summary="提交材料（multipart：file、requirement；按内容识别 PDF、JPEG、PNG）；同一文件重复提交返回已存的记录（200）",
    responses={200: {"description": "同一材料项目已有相同内容的文件：返回已存的记录，不重复保存"}},
)
def upload(
    case_id: int,
    file: UploadFile = File(description="PDF、JPEG 或 PNG 文件"),
    requirement: str = Form(max_length=32, description="材料清单中的项目代码"),
    version: int | None = Form(None, ge=1),
    p: Principal = Depends(Require(P.CASE_APPLY)),
    db: Session = DB,
):
    content = file.file.read(get_settings().upload_max_bytes + 1)
    doc, created = intake.upload_document(
        db, p, case_id, filename=file.filename or "", content=content, requirement=requirement, version=version
    )
    case = service.get_case(db, p, case_id)
    names = {r.code: r.name for r in intake.case_checklist(case)}
    return JSONResponse(
        {**intake.document_out(doc, names), "created": created, "case_version": case.version},
        status_code=201 if created else 200,
    )


@api.get("/{case_id}/documents", summary="材料清单：每一项是否已提交、已提交的文件、尚缺的必备材料")
def documents(case_id: int, p: Principal = Depends(Require(P.CASE_READ)), db: Session = DB):
    return intake.documents(db, p, case_id)


@api.get("/{case_id}/documents/{document_id}", summary="下载一份材料", response_class=Response)
def download(case_id: int, document_id: int, p: Principal = Depends(Require(P.CASE_READ)), db: Session = DB):
    doc = intake.document(db, p, case_id, document_id)
    return Response(
        doc.content,
        media_type=doc.content_type,
        headers={
            "Content-Disposition": f"attachment; filename*=UTF-8''{quote(doc.filename)}",
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "private, no-store",
        },
    )


@api.post(
    "/{case_id}/correction",
    status_code=201,
    summary="一次性补正告知：列明全部缺少的材料；告知期间中止计算审查期限",
)
def correction(case_id: int, body: S.CorrectionIn, p: Principal = Depends(Require(P.CASE_HANDLE)), db: Session = DB):
    notice = intake.request_correction(
        db,
        p,
        case_id,
        items=[(i.requirement, i.note) for i in body.items],
        issued_on=body.issued_on,
        version=body.version,
    )
    return {"notice": notice_out(notice), "case": _case(db, p, case_id)}


@api.post("/{case_id}/correction/fulfil", summary="补正材料收齐：恢复计算审查期限")
def fulfil(
    case_id: int, body: S.FulfilIn | None = None, p: Principal = Depends(Require(P.CASE_HANDLE)), db: Session = DB
):
    body = body or S.FulfilIn()
    notice = intake.fulfil_correction(db, p, case_id, fulfilled_on=body.fulfilled_on, version=body.version)
    return {"notice": notice_out(notice), "case": _case(db, p, case_id)}


@api.post("/{case_id}/acceptance", summary="受理（确认结论期限自受理次日起算：30 个工作日，简易程序 7 个工作日）")
def acceptance(
    case_id: int, body: S.AcceptanceIn | None = None, p: Principal = Depends(Require(P.CASE_HANDLE)), db: Session = DB
):
    intake.accept(db, p, case_id, **(body or S.AcceptanceIn()).model_dump())
    return _case(db, p, case_id)


@api.post("/{case_id}/refusal", summary="不予受理（理由代码和理由）")
def refusal(case_id: int, body: S.RefusalIn, p: Principal = Depends(Require(P.CASE_HANDLE)), db: Session = DB):
    intake.refuse(db, p, case_id, **body.model_dump())
    return _case(db, p, case_id)


def notice_out(n) -> dict:
    return {
        "id": n.id,
        "items": n.items,
        "issued_on": n.issued_on.isoformat(),
        "due_on": n.due_on.isoformat(),
        "fulfilled_on": n.fulfilled_on.isoformat() if n.fulfilled_on else None,
    }
