"""JSON routes of the insurer's investigation (/api/v1/investigations) and the officers' part of it
(assigning a case, withdrawing a task), and the order trail of a case (/api/v1/cases/{id}/order-trail).

The insurer's staff (``case.investigate``) work on their own tasks; officers (``case.handle``) see the
tasks of the cases in their scope, assign and withdraw. Platforms and workers reach none of these."""

from __future__ import annotations

import base64
import binascii
import datetime as dt

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from oip.auth import permissions as P
from oip.auth.deps import Require
from oip.auth.service import Principal
from oip.cases import investigation as inv, service
from oip.core.errors import DomainError
from oip.core.validation import register_labels
from oip.core.web import DB, TransactionRoute

api = APIRouter(tags=["investigations"], route_class=TransactionRoute)

TASKS = Require(P.CASE_INVESTIGATE, P.CASE_HANDLE)  # the caller's tasks: an insurer's, or those of an officer's cases
INSURER = Require(P.CASE_INVESTIGATE)
OFFICER = Require(P.CASE_HANDLE)

register_labels(
    {
        "findings": "调查情况",
        "visited_on": "走访日期",
        "place": "走访地点",
        "people": "走访对象",
        "recommendation": "调查建议",
        "content_base64": "文件内容",
        "filename": "文件名",
    }
)


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class FindingsIn(_In):
    findings: str = Field(description="调查情况（替换此前记录的文本；每一版都留在办理记录中）")
    version: int | None = Field(None, description="所依据的任务版本号")


class VisitIn(_In):
    visited_on: dt.date = Field(description="走访日期")
    place: str = Field(description="走访地点")
    people: str = Field(description="走访对象（证人、站点、医院等）")
    notes: str = Field("", description="走访情况")
    version: int | None = None


class EvidenceIn(_In):
    filename: str
    content_base64: str = Field(description="文件内容（base64）：PDF、JPEG 或 PNG，按内容判断类型")
    note: str = ""
    version: int | None = None


class SubmitIn(_In):
    recommendation: str = Field(
        description="confirm 建议予以确认 / not_confirm 建议不予确认 / unclear 事实不清需补充调查"
    )
    reason: str = Field(description="建议理由")
    version: int | None = None


class AssignIn(_In):
    insurer_code: str | None = Field(None, description="受托保险机构编码（可省略：按案件所在城市的受托协议确定）")
    note: str = ""
    version: int | None = Field(None, description="所依据的案件版本号")


class WithdrawIn(_In):
    reason: str = Field(description="撤回理由")
    version: int | None = None


def _one(db: Session, p: Principal, task) -> dict:
    return inv.task_out(db, p, task)


@api.get("/investigations", summary="我的调查核实任务（受托机构：本机构的任务；人社部门：辖区案件的任务）")
def list_tasks(
    bucket: str | None = Query(None, description="open 调查中 / due_soon 即将到期 / overdue 已超期 / submitted 已提交"),
    page: int = Query(1, ge=1, le=100_000),
    size: int = Query(50, ge=1, le=200),
    p: Principal = Depends(TASKS),
    db: Session = DB,
):
    res = inv.list_tasks(db, p, bucket=bucket or None, page=page, size=size)
    return {"total": res.total, "page": res.page, "size": res.size, "items": [_one(db, p, t) for t in res.items]}


@api.get("/investigations/{task_id}", summary="一项调查任务：案件（受托机构看到脱敏信息）、调查记录、证据、订单轨迹")
def get_task(task_id: int, p: Principal = Depends(TASKS), db: Session = DB):
    task = inv.get_task(db, p, task_id)
    case = service.get_case(db, p, task.case_id)
    out = inv.task_out(db, p, task, case=case)
    out["order_trail"] = inv.trail_out(inv.order_trail(db, p, case))
    return out


@api.post("/investigations/{task_id}/findings", summary="记录调查情况")
def record_findings(body: FindingsIn, task_id: int, p: Principal = Depends(INSURER), db: Session = DB):
    return _one(db, p, inv.record_findings(db, p, task_id, findings=body.findings, version=body.version))


@api.post("/investigations/{task_id}/visits", status_code=201, summary="登记现场调查（走访）")
def add_visit(body: VisitIn, task_id: int, p: Principal = Depends(INSURER), db: Session = DB):
    task = inv.add_visit(db, p, task_id, **body.model_dump())
    return _one(db, p, task)


@api.post("/investigations/{task_id}/evidence", status_code=201, summary="上传调查证据（PDF、JPEG、PNG）")
def add_evidence(body: EvidenceIn, task_id: int, p: Principal = Depends(INSURER), db: Session = DB):
    try:
        content = base64.b64decode(body.content_base64, validate=True)
    except (binascii.Error, ValueError):
        raise DomainError("文件内容应为 base64 编码", field="content_base64") from None
    inv.add_evidence(db, p, task_id, filename=body.filename, content=content, note=body.note, version=body.version)
    return _one(db, p, inv.get_task(db, p, task_id))


@api.post("/investigations/{task_id}/submit", summary="提交调查结论与建议（任务结束，由人社部门作出决定）")
def submit(body: SubmitIn, task_id: int, p: Principal = Depends(INSURER), db: Session = DB):
    task = inv.submit(db, p, task_id, recommendation=body.recommendation, reason=body.reason, version=body.version)
    return _one(db, p, task)


@api.post("/investigations/{task_id}/withdraw", summary="撤回调查任务（人社部门）")
def withdraw(body: WithdrawIn, task_id: int, p: Principal = Depends(OFFICER), db: Session = DB):
    return _one(db, p, inv.withdraw(db, p, task_id, reason=body.reason, version=body.version))


@api.post("/cases/{case_id}/investigations", status_code=201, summary="委托受托保险机构调查核实（人社部门）")
def assign(body: AssignIn, case_id: int, p: Principal = Depends(OFFICER), db: Session = DB):
    task = inv.assign(db, p, case_id, insurer_code=body.insurer_code, note=body.note, version=body.version)
    return _one(db, p, task)


@api.get("/cases/{case_id}/order-trail", summary="事故当日的订单轨迹及事故时间所处位置")
def order_trail(case_id: int, p: Principal = Depends(TASKS), db: Session = DB):
    case = service.get_case(db, p, case_id)
    return inv.trail_out(inv.order_trail(db, p, case))
