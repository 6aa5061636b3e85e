"""Pydantic models of the appraisal API (in and out). Type checks here; rules in the services."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from oip.appraisal import specialties
from oip.appraisal.experts import TIE_KINDS
from oip.appraisal.models import Expert, ExpertTie
from oip.core.errors import DomainError
from oip.core.validation import register_labels, translate

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


def from_form(model: type[BaseModel], data: Mapping[str, Any]):
    """Validate an HTML form with a model: empty inputs count as not given."""
    try:
        return model.model_validate({k: v for k, v in data.items() if v not in ("", None)})
    except ValidationError as exc:
        first = translate(exc.errors())[0]
        names = [x for x in first["loc"] if isinstance(x, str)]
        raise DomainError(first["msg"], field=names[-1] if names else None) from None


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
