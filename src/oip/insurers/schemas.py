"""Pydantic models of the insurer contracts API (in and out). Type checks here; the rules (a known
insurer, Guangxi cities, at least one service, the period, no overlap) in the service, which raises
DomainError with a Chinese reason naming the field."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, ConfigDict, Field

from oip.core import clock
from oip.core.validation import register_labels
from oip.insurers import rules
from oip.insurers.models import InsurerContract

FIELD_LABELS = {
    "insurer_code": "受托保险机构",
    "document_no": "协议文号",
    "services": "受托服务事项",
    "cities": "服务城市",
    "valid_from": "协议起始日期",
    "valid_to": "协议截止日期",
    "notes": "备注",
    "terminated_on": "终止日期",
    "version": "版本号",
}
# The labels are shared by every domain's messages: add ours without renaming another domain's field
# (valid_from is 生效日期 in the platform register).
register_labels({k: v for k, v in FIELD_LABELS.items() if k not in ("valid_from", "reason")})


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class ContractCreate(_In):
    insurer_code: str = Field(description="受托保险机构的机构编码", examples=["insurer-a"])
    document_no: str = Field(description="协议文号", examples=["桂社保委〔2025〕3号"])
    services: list[str] = Field(
        description="受托服务事项：" + "、".join(f"{k}（{v}）" for k, v in rules.SERVICE_NAMES.items()),
        examples=[["investigation", "material_collection"]],
    )
    cities: list[str] = Field(description="服务城市（设区市区划代码）", examples=[["450100", "450200"]])
    valid_from: dt.date = Field(description="协议起始日期（含）")
    valid_to: dt.date = Field(description="协议截止日期（含）")
    notes: str = Field("", description="备注")


class ContractAmend(_In):
    reason: str = Field(description="变更依据，如补充协议文号")
    version: int | None = Field(None, description="所依据的协议版本号（防止覆盖他人的修改）")
    document_no: str | None = None
    services: list[str] | None = None
    cities: list[str] | None = None
    valid_from: dt.date | None = None
    valid_to: dt.date | None = None
    notes: str | None = None


class ContractTerminate(_In):
    terminated_on: dt.date = Field(description="终止日期：自该日起协议不再履行")
    reason: str = Field(description="终止理由")
    version: int | None = Field(None, description="所依据的协议版本号")


class NamedCode(BaseModel):
    code: str
    name: str


class ContractOut(BaseModel):
    id: int
    insurer: NamedCode
    document_no: str
    services: list[str]
    service_names: list[str]
    cities: list[NamedCode]
    valid_from: dt.date
    valid_to: dt.date
    status: str = Field(description="active 履行中 / terminated 已终止")
    status_name: str
    terminated_on: dt.date | None = Field(None, description="终止日期：自该日起不再履行")
    termination_reason: str | None = None
    last_day_in_force: dt.date | None = Field(description="最后履行日（终止于起始日之前的协议为空）")
    in_force_today: bool
    notes: str
    version: int
    created_at: dt.datetime | None = None


class ContractPage(BaseModel):
    total: int
    page: int
    size: int
    items: list[ContractOut]


def contract_out(c: InsurerContract, cities: dict[str, str]) -> ContractOut:
    last = c.last_day
    return ContractOut(
        id=c.id,
        insurer=NamedCode(code=c.organisation.code, name=c.organisation.name),
        document_no=c.document_no,
        services=list(c.services),
        service_names=rules.service_names(c.services),
        cities=[NamedCode(code=x, name=cities.get(x, x)) for x in c.cities],
        valid_from=c.valid_from,
        valid_to=c.valid_to,
        status=c.status,
        status_name=rules.STATUS_NAMES.get(c.status, c.status),
        terminated_on=c.terminated_on,
        termination_reason=c.termination_reason,
        last_day_in_force=last if last >= c.valid_from else None,
        in_force_today=c.in_force(clock.today()),
        notes=c.notes or "",
        version=c.version,
        created_at=c.created_at,
    )
