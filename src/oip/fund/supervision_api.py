"""JSON routes of fund supervision (/api/v1/fund/supervision): campaigns, tasks and their findings
(report, rectify, close, reopen), the open findings by city, and major reports (要情报告)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from oip.auth import permissions as P
from oip.auth.deps import Require
from oip.auth.service import Principal
from oip.core.validation import register_labels
from oip.core.web import DB, TransactionRoute
from oip.fund import supervision as sv
from oip.fund.models import Campaign, CampaignTask

api = APIRouter(route_class=TransactionRoute)
TAG = ["fund supervision"]
BASE = "/fund/supervision"

register_labels(
    {
        "due_on": "完成期限",
        "checkers": "检查单位",
        "scope_note": "检查范围说明",
        "report": "检查情况",
        "text": "整改情况",
        "category": "要情类别",
        "content": "要情内容",
        "rectify_by": "整改期限",
        "severity": "严重程度",
    }
)


class CampaignIn(BaseModel):
    kind: str = Field(max_length=16)
    title: str = Field(max_length=128)
    due_on: dt.date
    cities: list[str] = Field(max_length=20)
    checkers: dict[str, str] | None = None
    scope_note: str = Field(default="", max_length=2000)


class FindingIn(BaseModel):
    description: str = Field(max_length=2000)
    severity: str = Field(default="medium", max_length=8)
    amount_fen: int = Field(default=0, ge=0)
    rectify_by: dt.date | None = None


class ReportIn(BaseModel):
    report: str = Field(max_length=8000)
    findings: list[FindingIn] = Field(default_factory=list, max_length=100)


class TextIn(BaseModel):
    text: str = Field(max_length=4000)


class ReasonIn(BaseModel):
    reason: str = Field(max_length=2000)


class MajorIn(BaseModel):
    category: str = Field(max_length=24)
    title: str = Field(max_length=128)
    content: str = Field(max_length=8000)
    occurred_at: dt.datetime
    amount_fen: int = Field(default=0, ge=0)


class OutcomeIn(BaseModel):
    outcome: str = Field(max_length=4000)


def _task_out(db: Session, t: CampaignTask, c: Campaign | None = None) -> dict[str, Any]:
    out = sv.task_dict(db, t, c)
    out["findings"] = [sv.finding_dict(f) for f in sv.findings_of(db, t)]
    return out


def _campaign_out(db: Session, p: Principal, c: Campaign) -> dict[str, Any]:
    tasks = sv.tasks_of(db, p, c)
    out = sv.campaign_dict(db, p, c, tasks)
    out["task_list"] = [_task_out(db, t, c) for t in tasks]
    return out


@api.get(f"{BASE}/campaigns", tags=TAG, summary="基金监督检查（本地区参与的）")
def campaigns(status: str | None = None, page: int = 1, p: Principal = Depends(Require(P.FUND_READ)), db: Session = DB):
    res = sv.list_campaigns(db, p, status=status, page=max(1, page))
    return {
        "items": [sv.campaign_dict(db, p, c) for c in res.items],
        "total": res.total,
        "page": res.page,
        "pages": res.pages,
    }


@api.post(f"{BASE}/campaigns", status_code=201, tags=TAG, summary="发起监督检查（风险自查、疑点核查、交叉互查）")
def open_campaign(body: CampaignIn, p: Principal = Depends(Require(P.FUND_SUPERVISE)), db: Session = DB):
    c = sv.open_campaign(db, p, **body.model_dump())
    return _campaign_out(db, p, c)


@api.get(f"{BASE}/campaigns/{{campaign_id}}", tags=TAG, summary="监督检查详情（检查任务与发现问题）")
def campaign(campaign_id: int, p: Principal = Depends(Require(P.FUND_READ)), db: Session = DB):
    return _campaign_out(db, p, sv.get_campaign(db, p, campaign_id))


@api.get(f"{BASE}/tasks/{{task_id}}", tags=TAG, summary="检查任务详情")
def task(task_id: int, p: Principal = Depends(Require(P.FUND_READ)), db: Session = DB):
    return _task_out(db, sv.get_task(db, p, task_id))


@api.post(f"{BASE}/tasks/{{task_id}}/report", tags=TAG, summary="检查单位报告检查情况及发现问题")
def report_task(task_id: int, body: ReportIn, p: Principal = Depends(Require(P.FUND_RESPOND)), db: Session = DB):
    t = sv.report_task(db, p, task_id, report=body.report, findings=[f.model_dump() for f in body.findings])
    return _task_out(db, t)


@api.post(f"{BASE}/findings/{{finding_id}}/rectify", tags=TAG, summary="被检查地区报送整改情况")
def rectify(finding_id: int, body: TextIn, p: Principal = Depends(Require(P.FUND_RESPOND)), db: Session = DB):
    return sv.finding_dict(sv.rectify(db, p, finding_id, body.text))


@api.post(f"{BASE}/findings/{{finding_id}}/close", tags=TAG, summary="问题整改销号")
def close_finding(finding_id: int, p: Principal = Depends(Require(P.FUND_SUPERVISE)), db: Session = DB):
    return sv.finding_dict(sv.close_finding(db, p, finding_id))


@api.post(f"{BASE}/findings/{{finding_id}}/reopen", tags=TAG, summary="退回整改（须说明理由）")
def reopen_finding(
    finding_id: int, body: ReasonIn, p: Principal = Depends(Require(P.FUND_SUPERVISE)), db: Session = DB
):
    return sv.finding_dict(sv.reopen_finding(db, p, finding_id, body.reason))


@api.get(f"{BASE}/open-findings", tags=TAG, summary="未销号问题（按被检查地区）")
def open_findings(p: Principal = Depends(Require(P.FUND_READ)), db: Session = DB):
    return {"items": [r.as_dict() for r in sv.open_findings_by_city(db, p)]}


@api.get(f"{BASE}/major-reports", tags=TAG, summary="要情报告")
def majors(status: str | None = None, page: int = 1, p: Principal = Depends(Require(P.FUND_READ)), db: Session = DB):
    res = sv.list_majors(db, p, status=status, page=max(1, page))
    names = sv.region_names(db, {m.region_code for m in res.items})
    return {
        "items": [sv.major_dict(db, m, names) for m in res.items],
        "total": res.total,
        "page": res.page,
        "pages": res.pages,
    }


@api.post(f"{BASE}/major-reports", status_code=201, tags=TAG, summary="报送要情（迟于时限的记为迟报）")
def report_major(body: MajorIn, p: Principal = Depends(Require(P.FUND_RESPOND)), db: Session = DB):
    return sv.major_dict(db, sv.report_major(db, p, **body.model_dump()))


@api.get(f"{BASE}/major-reports/{{report_id}}", tags=TAG, summary="要情报告详情")
def major(report_id: int, p: Principal = Depends(Require(P.FUND_READ)), db: Session = DB):
    return sv.major_dict(db, sv.get_major(db, p, report_id))


@api.post(f"{BASE}/major-reports/{{report_id}}/acknowledge", tags=TAG, summary="接收要情报告")
def acknowledge(report_id: int, p: Principal = Depends(Require(P.FUND_SUPERVISE)), db: Session = DB):
    return sv.major_dict(db, sv.acknowledge(db, p, report_id))


@api.post(f"{BASE}/major-reports/{{report_id}}/close", tags=TAG, summary="要情办结（填写办理结果）")
def close_major(report_id: int, body: OutcomeIn, p: Principal = Depends(Require(P.FUND_SUPERVISE)), db: Session = DB):
    return sv.major_dict(db, sv.close_major(db, p, report_id, body.outcome))
