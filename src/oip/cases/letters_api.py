"""JSON routes of the case letters (/api/v1/cases/{case_id}/letters): the list, making a letter (once),
the PDF (its stored bytes), the hash check and the record of service (送达)."""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Response
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from oip.auth import permissions as P
from oip.auth.deps import Require
from oip.auth.service import Principal
from oip.cases import letters, service
from oip.cases.models import Letter
from oip.core.errors import DomainError, Forbidden
from oip.core.web import DB, TransactionRoute

api = APIRouter(prefix="/cases", tags=["cases"], route_class=TransactionRoute)

# Letters of acceptance, correction and refusal follow the handling of the application (case.handle);
# decision letters the decision (case.decide).
_DECISION_KINDS = ("confirmation", "non_confirmation")
# Letters whose content their own part builds and makes when it acts (never made from this route).
_CONTENT_KINDS = ("appraisal", "benefit_determination", "claim_determination")


def letter_out(case_id: int, x: Letter) -> dict[str, Any]:
    k = letters.KINDS[x.kind]
    return {
        "id": x.id,
        "case_id": case_id,
        "kind": x.kind,
        "title": k.title,
        "source_id": x.source_id,
        "number": x.number,
        "issued_on": x.issued_on.isoformat(),
        "sha256": x.sha256,
        "size": x.size,
        "generated_at": x.generated_at.isoformat(),
        "served_on": x.served_on.isoformat() if x.served_on else None,
        "served_means": x.served_means,
        "served_means_name": letters.SERVICE_MEANS.get(x.served_means or ""),
        "served_note": x.served_note,
        "pdf": f"/api/v1/cases/{case_id}/letters/{x.id}/pdf",
    }


def may_issue(p: Principal, kind: str) -> None:
    needed = P.CASE_DECIDE if kind in _DECISION_KINDS else P.CASE_HANDLE
    if not p.can(needed):
        raise Forbidden(f"当前角色（{p.role.name}）无权制作{letters.KINDS[kind].title}", field="kind")


class IssueIn(BaseModel):
    kind: str = Field(
        max_length=32,
        description="acceptance 受理通知书 | correction 一次性补正告知书 | refusal 不予受理通知书 | "
        "confirmation 职业伤害确认结论书 | non_confirmation 不予确认职业伤害结论书",
    )
    source_id: int | None = Field(
        None, ge=0, le=2**62, description="the correction notice, refusal step or decision (default: the latest)"
    )


class ServeIn(BaseModel):
    served_on: dt.date | None = Field(None, description="the day it was served (default today)")
    means: str = Field(max_length=16, description=" | ".join(f"{k} {v}" for k, v in letters.SERVICE_MEANS.items()))
    note: str = Field("", max_length=500)


@api.get("/{case_id}/letters", summary="案件文书列表（文号、日期、SHA-256、送达情况）")
def list_letters(case_id: int, p: Principal = Depends(Require(P.CASE_READ)), db: Session = DB):
    case = service.get_case(db, p, case_id)
    return {"items": [letter_out(case.id, x) for x in letters.letters_of(db, case)]}


@api.post("/{case_id}/letters", status_code=201, summary="制作文书（每份文书只制作一次，再次请求返回已制作的文书）")
def issue(
    case_id: int,
    body: IssueIn,
    response: Response,
    p: Principal = Depends(Require(P.CASE_HANDLE, P.CASE_DECIDE)),
    db: Session = DB,
):
    if body.kind not in letters.KINDS or body.kind in _CONTENT_KINDS:
        kinds = "、".join(k for k in letters.KINDS if k not in _CONTENT_KINDS)
        raise DomainError(f"未知的文书类别 {body.kind}，应为：{kinds}", field="kind")
    may_issue(p, body.kind)
    case = service.get_case(db, p, case_id, for_update=True)
    x, made = letters.make_letter(db, p, case, body.kind, source_id=body.source_id)
    if not made:
        response.status_code = 200  # made before: the stored letter, unchanged
    return letter_out(case.id, x)


@api.get("/{case_id}/letters/{letter_id}", summary="一份文书的信息")
def get_letter(case_id: int, letter_id: int, p: Principal = Depends(Require(P.CASE_READ)), db: Session = DB):
    case, x = letters.get_letter(db, p, case_id, letter_id)
    return letter_out(case.id, x)


@api.get(
    "/{case_id}/letters/{letter_id}/pdf",
    summary="下载文书 PDF（制作时保存的原文件，留痕）",
    response_class=Response,
    responses={200: {"content": {"application/pdf": {}}}},
)
def download(case_id: int, letter_id: int, p: Principal = Depends(Require(P.CASE_READ)), db: Session = DB):
    case, x = letters.get_letter(db, p, case_id, letter_id)
    content = letters.read_content(db, p, case, x)
    name = f"{letters.KINDS[x.kind].title}-{case.number}.pdf"
    return Response(
        content,
        media_type="application/pdf",
        headers={
            "Content-Disposition": f"attachment; filename=\"{case.number}.pdf\"; filename*=UTF-8''{quote(name)}",
            "X-Content-SHA256": x.sha256,
            "Cache-Control": "private, no-store",
        },
    )


@api.get("/{case_id}/letters/{letter_id}/verify", summary="核验文书：重新计算已保存文件的 SHA-256，与制作时记录的比对")
def verify(case_id: int, letter_id: int, p: Principal = Depends(Require(P.CASE_READ)), db: Session = DB):
    case, x = letters.get_letter(db, p, case_id, letter_id)
    actual = hashlib.sha256(x.content).hexdigest()
    return {"id": x.id, "number": x.number, "sha256": x.sha256, "actual_sha256": actual, "ok": actual == x.sha256}


@api.post("/{case_id}/letters/{letter_id}/service", summary="登记文书送达（送达日期、送达方式、送达人）")
def serve(
    case_id: int,
    letter_id: int,
    body: ServeIn,
    p: Principal = Depends(Require(P.CASE_HANDLE)),
    db: Session = DB,
):
    case, x = letters.get_letter(db, p, case_id, letter_id, for_update=True)
    letters.serve_letter(db, p, case, x, served_on=body.served_on, means=body.means, note=body.note)
    return letter_out(case.id, x)
