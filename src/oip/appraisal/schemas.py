"""Pydantic models of the appraisal API (in and out). Type checks here; rules in the services."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, ConfigDict, Field

from oip.appraisal import specialties
from oip.appraisal.experts import TIE_KINDS
from oip.appraisal.models import Expert, ExpertTie
from oip.core.validation import register_labels

FIELD_LABELS = {
    "name": "姓名",
    "specialty_code": "专业",
    "committee_code": "劳动能力鉴定委员会",
    "organisation": "所在单位",
    "title": "职称",
    "phone": "手机号码",
    "note": "备注",
    "reason": "理由",
    "platform_code": "平台企业",
    "person_id": "人员编号",
    "id_number": "身份证号码",
    "person_name": "人员姓名",
    "relation": "关系",
    "tie_id": "回避关系编号",
}
register_labels(FIELD_LABELS)


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class ExpertIn(_In):
    name: str
    specialty_code: str = Field(examples=["orthopaedics"], description="专业编码（GET /appraisal/specialties）")
    organisation: str = Field(description="所在医疗机构或单位")
    title: str = Field(examples=["主任医师"], description="职称：医疗卫生高级专业技术职务")
    committee_code: str | None = Field(
        None, description="劳动能力鉴定委员会：设区市的区划代码，自治区委员会为 450000；不填为本级委员会"
    )
    phone: str | None = Field(None, description="手机号码；加密存储，只显示脱敏号码")
    note: str = ""


class ExpertUpdate(_In):
    name: str | None = None
    specialty_code: str | None = None
    organisation: str | None = None
    title: str | None = None
    phone: str | None = Field(None, description="空字符串：删除号码；不传：不变")
    note: str | None = None


class ReasonIn(_In):
    reason: str = ""


class TieIn(_In):
    platform_code: str | None = Field(None, examples=["meituan"], description="平台企业编码（与人员二选一）")
    person_id: int | None = Field(None, description="人员编号（本辖区内登记的人员）")
    id_number: str | None = Field(None, description="人员的身份证号码（未登记的人员也可）")
    person_name: str = ""
    relation: str = Field(examples=["平台企业医疗顾问", "近亲属"])
    note: str = ""


class SpecialtyOut(BaseModel):
    code: str
    name: str
    catalogue: str


class TieOut(BaseModel):
    id: int
    kind: str
    kind_name: str
    platform_code: str | None
    platform_name: str | None
    person_name: str | None
    id_masked: str | None
    relation: str
    note: str
    added_at: dt.datetime
    removed_at: dt.datetime | None
    removed_reason: str | None


class ExpertOut(BaseModel):
    id: int
    name: str
    committee_code: str
    committee_name: str
    specialty_code: str
    specialty_name: str
    organisation: str
    title: str
    active: bool
    inactive_reason: str | None
    phone: str | None = Field(description="脱敏号码")
    note: str
    ties: list[TieOut] = []


class ExpertPage(BaseModel):
    items: list[ExpertOut]
    total: int
    page: int
    pages: int


def tie_out(t: ExpertTie, today: dt.date) -> TieOut:
    return TieOut(
        id=t.id,
        kind=t.kind,
        kind_name=TIE_KINDS.get(t.kind, t.kind),
        platform_code=t.platform.code if t.platform is not None else None,
        platform_name=t.platform.display_name(today) if t.platform is not None else None,
        person_name=t.person_name or None,
        id_masked=t.id_masked or None,
        relation=t.relation,
        note=t.note,
        added_at=t.added_at,
        removed_at=t.removed_at,
        removed_reason=t.removed_reason,
    )


def expert_out(e: Expert, committee_names: dict[str, str], today: dt.date, *, ties: bool = True) -> ExpertOut:
    return ExpertOut(
        id=e.id,
        name=e.name,
        committee_code=e.committee_code,
        committee_name=committee_names.get(e.committee_code, e.committee_code),
        specialty_code=e.specialty_code,
        specialty_name=specialties.name(e.specialty_code),
        organisation=e.organisation,
        title=e.title,
        active=e.active,
        inactive_reason=e.inactive_reason,
        phone=e.phone_hint or None,
        note=e.note,
        ties=[tie_out(t, today) for t in e.ties] if ties else [],
    )


# ---- appraisals ----------------------------------------------------------------------------------

VERSION = Field(None, description="您读取时案件的版本号（version）：案件已被他人更新时返回 409")


class ApplyIn(_In):
    kind: str = Field("initial", description="initial 初次鉴定 | reappraisal 再次鉴定 | review 复查鉴定")
    applicant: str | None = Field(
        None,
        description="worker 本人 | relative 近亲属 | platform 平台企业 | agency 经办机构（仅复查）；本人、平台企业申请时自动填写",
    )
    applied_on: dt.date | None = Field(None, description="申请日期，默认今天（书面申请填实际日期）")
    treatment_ended_on: dt.date | None = Field(None, description="治疗终结（伤情相对稳定）的日期；再次鉴定可不填")
    statement: str = ""
    version: int | None = VERSION


class AcceptIn(_In):
    accepted_on: dt.date | None = Field(None, description="受理日期，默认今天")
    needed_specialties: list[str] = Field(description="鉴定所需的专业编码（GET /appraisal/specialties）")
    panel_size: int = Field(3, description="专家组人数：3 或 5")
    version: int | None = VERSION


class DrawIn(_In):
    needed_specialties: list[str] | None = Field(None, description="不填：按受理时确定的专业")
    panel_size: int | None = None
    reason: str = Field("", description="重新抽取时必填")
    unavailable_expert_ids: list[int] = Field([], description="重新抽取时，因故不能参加的专家")
    version: int | None = VERSION


class ExtensionIn(_In):
    reason: str
    extended_on: dt.date | None = None
    version: int | None = VERSION


class ConclusionIn(_In):
    grade: int | str = Field(description="伤残等级 1–10（GB/T 16180-2014），或 none（未达到伤残等级）")
    dependency: str = Field(description="complete 完全护理依赖 | most 大部分 | partial 部分 | none 无护理依赖")
    concluded_on: dt.date | None = Field(None, description="结论作出日期，默认今天")
    received_on: dt.date | None = Field(None, description="结论送达申请人的日期，默认为作出日期；再次鉴定期限自此计算")
    note: str = ""
    version: int | None = VERSION


class ClosureIn(_In):
    version: int | None = VERSION


FIELD_LABELS_APPRAISAL = {
    "kind": "鉴定类别",
    "applicant": "申请人",
    "applied_on": "申请日期",
    "treatment_ended_on": "治疗终结日期",
    "statement": "申请事项说明",
    "accepted_on": "受理日期",
    "needed_specialties": "所需专业",
    "panel_size": "专家组人数",
    "unavailable_expert_ids": "不能参加的专家",
    "extended_on": "延长决定日期",
    "grade": "伤残等级",
    "dependency": "护理依赖程度",
    "concluded_on": "结论作出日期",
    "received_on": "结论送达日期",
    "version": "版本号",
}
register_labels(FIELD_LABELS_APPRAISAL)
