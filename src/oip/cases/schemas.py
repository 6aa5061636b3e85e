"""Pydantic models of the case API (in), and the Chinese labels of their fields.

Type checks (is it a date, a number) happen here; the rules (is the county in Guangxi, is the
application late) in the services, which raise DomainError with a Chinese reason naming the field.
Each part of the case adds its own models below its heading."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field

from oip.core.validation import FIELD_LABELS, register_labels

LABELS = {
    "platform_account_id": "平台账号",
    "platform_code": "平台企业",
    "occurred_at": "事故发生时间",
    "county_code": "事故发生地（县级区划）",
    "address": "详细地址",
    "lat": "纬度",
    "lon": "经度",
    "order_id": "订单号",
    "kind": "事故类别",
    "description": "事故经过",
    "injuries": "伤情",
    "channel": "报案渠道",
    "reported_on": "报案日期",
    "into_case_id": "并入的案件",
    "applicant": "申请人",
    "submitted_on": "申请提交日期",
    "explanation": "超期说明",
    "outpatient_only": "仅门诊治疗",
    "requirement": "材料项目",
    "file": "文件",
    "items": "补正材料",
    "issued_on": "补正告知日期",
    "fulfilled_on": "补正材料收齐日期",
    "accepted_on": "受理日期",
    "simple": "简易程序",
    "refused_on": "不予受理日期",
    "version": "版本号",
    "note": "说明",
}
# Labels are shared by every domain: add ours, never rename another domain's field.
register_labels({k: v for k, v in LABELS.items() if k not in FIELD_LABELS})


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class Versioned(_In):
    version: int | None = Field(
        None, ge=1, description="读取时的案件版本号（version）：案件已被他人更新时返回 409，不会覆盖"
    )


# ---- intake ---------------------------------------------------------------------------------------


class ReportIn(_In):
    platform_code: str | None = Field(
        None,
        max_length=32,
        description="平台企业编码：经办人员和本人报案时必填；平台企业报案时为本平台（可不填）",
        examples=["meituan"],
    )
    platform_account_id: str = Field(max_length=64, description="受伤人员在该平台的账号")
    occurred_at: str = Field(
        max_length=40, description="事故发生时间，ISO 8601 带时区偏移", examples=["2025-10-09T14:30:00+08:00"]
    )
    county_code: str = Field(max_length=12, description="事故发生地的县级行政区划代码（广西）", examples=["450103"])
    address: str = Field(max_length=500, description="详细地址")
    lat: Decimal | None = Field(None, description="纬度（中国境内）", examples=["22.8167"])
    lon: Decimal | None = Field(None, description="经度（中国境内）", examples=["108.3669"])
    order_id: str | None = Field(None, max_length=64, description="事故发生时执行的订单号（可选）")
    kind: str = Field(description="事故类别：injury 受伤、death 死亡、missing 下落不明", examples=["injury"])
    description: str = Field(max_length=4000, description="事故经过")
    injuries: str = Field("", max_length=2000, description="伤情")
    channel: str | None = Field(
        None, description="经办人员登记时的报案渠道：phone 电话、desk 窗口、paper 书面（默认 desk）"
    )
    reported_on: dt.date | None = Field(None, description="经办人员登记时的实际报案日期（可为过去的日期）")


class MergeIn(Versioned):
    into_case_id: int = Field(ge=1, description="并入的目标案件（同一人、已报案或已申请待受理）")


class ApplicationIn(Versioned):
    applicant: str = Field(
        description="申请人：platform 平台企业、worker 本人、relative 近亲属、union 工会组织", examples=["platform"]
    )
    submitted_on: dt.date | None = Field(
        None, description="申请提交日期（默认今天；经办人员登记书面申请时填写实际日期）"
    )
    explanation: str | None = Field(None, max_length=4000, description="超期说明（超过申请期限时必填）")
    outpatient_only: bool = Field(False, description="仅门诊治疗（快速通道的材料清单）")


class CorrectionItemIn(_In):
    requirement: str = Field(max_length=32, description="材料清单中的项目代码")
    note: str = Field("", max_length=500, description="需要补正的具体内容")


class CorrectionIn(Versioned):
    items: list[CorrectionItemIn] = Field(description="需要补正的全部材料（一次性告知）", max_length=50)
    issued_on: dt.date | None = Field(None, description="告知日期（默认今天）")


class FulfilIn(Versioned):
    fulfilled_on: dt.date | None = Field(None, description="补正材料收齐日期（默认今天）")


class AcceptanceIn(Versioned):
    received_on: dt.date | None = Field(None, description="收到申请日期（默认：材料补正齐全之日，否则申请提交日）")
    accepted_on: dt.date | None = Field(None, description="受理日期（默认今天）")
    simple: bool = Field(False, description="事实清楚、权利义务明确，适用 7 个工作日的简易程序")


class RefusalIn(Versioned):
    code: str = Field(max_length=16, description="不予受理的理由代码（refusal 类，如 F1）", examples=["F1"])
    reason: str = Field(max_length=4000, description="不予受理的理由")
    refused_on: dt.date | None = Field(None, description="不予受理日期（默认今天）")
