"""Pydantic models of the decision part's requests (suspension, decision, appeals, closing), shared by
the JSON API and the page forms, with Chinese field labels. Types are checked here; the rules (dates,
codes, windows) in oip.cases.decision, which raises DomainError naming the field."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from oip.core import validation
from oip.core.validation import register_labels

# Labels of this part's forms. Only names no other domain uses go to the app-wide registry (which the
# API's validation messages read); generic ones (code, kind, note …) stay local to the page forms.
LABELS = {
    "reason": "理由",
    "authority": "等待结论的机关",
    "started_on": "中止日期",
    "expected_until": "预计取得结论的日期",
    "ended_on": "恢复日期",
    "note": "说明",
    "outcome": "结论（结果）",
    "code": "认定情形或理由代码",
    "reasoning": "认定理由",
    "decided_on": "结论日期",
    "kind": "类别",
    "body": "复议机关或人民法院",
    "filed_on": "申请（起诉）日期",
    "expected_on": "预计结果日期",
    "late_reason": "逾期受理的理由",
    "outcome_on": "结果日期",
    "version": "版本号",
}
_OWN = ("authority", "started_on", "expected_until", "ended_on", "reasoning", "decided_on", "filed_on")
register_labels({k: LABELS[k] for k in (*_OWN, "expected_on", "late_reason", "outcome_on")})


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    version: int | None = Field(
        None, description="读取案件时的版本号（GET /api/v1/cases/{id} 的 version）；案件已被他人更新时返回 409"
    )


class SuspensionIn(_In):
    reason: str = Field(max_length=4000, description="中止理由", examples=["等待交通事故责任认定"])
    authority: str = Field(max_length=128, description="等待其结论的机关", examples=["公安机关交通管理部门"])
    started_on: dt.date | None = Field(None, description="中止日期（默认今天；不早于受理日期）")
    expected_until: dt.date = Field(description="预计取得结论的日期")


class ResumptionIn(_In):
    ended_on: dt.date | None = Field(None, description="恢复审查日期（默认今天；不早于中止日期）")
    note: str = Field("", max_length=4000, description="取得的结论，如“交通事故认定书：对方负主要责任”")


class DecisionIn(_In):
    outcome: str = Field(max_length=16, description="confirmed 予以确认；not_confirmed 不予确认")
    code: str = Field(
        max_length=16,
        description="予以确认：认定情形代码 S1–S6；不予确认：排除情形 X1–X3 或理由 R1–R4（GET /api/v1/cases/codes）",
        examples=["S3"],
    )
    reasoning: str = Field(max_length=20000, description="认定理由")
    decided_on: dt.date | None = Field(None, description="结论日期（默认今天；不早于受理日期，不晚于今天）")


class AppealIn(_In):
    kind: str = Field(max_length=16, description="review 行政复议；litigation 行政诉讼")
    body: str = Field(max_length=128, description="复议机关或人民法院", examples=["南宁市人民政府"])
    filed_on: dt.date | None = Field(None, description="申请（起诉）日期（默认今天）")
    expected_on: dt.date | None = Field(None, description="预计结果日期（默认申请日期后 case.appeal_outcome_days 日）")
    late_reason: str | None = Field(
        None, max_length=4000, description="超过复议（起诉）期限仍被受理的理由；不填时超期登记被拒绝"
    )


class AppealOutcomeIn(_In):
    outcome: str = Field(max_length=16, description="upheld 维持；overturned 撤销（重新审查）；withdrawn 申请人撤回")
    outcome_on: dt.date | None = Field(None, description="结果日期（默认今天）")
    note: str = Field("", max_length=4000, description="说明，如复议决定书文号")


class CloseIn(_In):
    reason: str = Field("", max_length=4000, description="提前结案的理由（复议、诉讼期限届满后结案可不填）")


def from_form(model: type[BaseModel], data: Mapping[str, Any]):
    """A form of the decision part, validated with its own labels (oip.core.validation.from_form)."""
    return validation.from_form(model, data, LABELS)
