"""Pydantic models of the platforms API (in and out), and Chinese validation messages.

Type checks (is it a date, a number, an integer) happen here; business rules (is the USCC valid,
is the code free, is k within −5…+5) in the services, which raise DomainError with a Chinese
reason naming the field. The field labels below make pydantic's messages Chinese too
(oip.core.validation)."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field

from oip.core.errors import DomainError
from oip.core.validation import register_labels
from oip.platforms import admission as adm_rules, phasing, rates, service
from oip.platforms.models import Admission, AdmissionStep, Attachment, NoticeObjection, Platform
from oip.reference.models import Industry, Region

FIELD_LABELS = {
    "code": "编码",
    "uscc": "统一社会信用代码",
    "industry_code": "行业",
    "name": "名称",
    "base_yuan": "缴费基准额",
    "covered_from": "纳入试点日期",
    "basis": "依据文号",
    "headquarters": "总部地址",
    "headquarters_region": "总部所在地区划代码",
    "contact_name": "联系人",
    "contact_phone": "联系电话",
    "contact_email": "电子邮箱",
    "valid_from": "生效日期",
    "replaces": "是否替换现用名称",
    "k": "浮动档次 k",
    "year": "年度",
    "region_codes": "经营地区",
    "label": "用途说明",
    "applied_on": "申请日期",
    "comment": "意见",
    "decision": "决定",
    "notice_from": "公示开始日期",
    "notice_to": "公示截止日期",
    "included_from": "纳入日期",
    "reason": "理由",
    "received_on": "收到日期",
    "objector": "异议人",
    "content": "异议内容",
    "upheld": "异议是否成立",
    "resolution": "处理意见",
    "attachments": "附件",
    "filename": "文件名",
    "content_base64": "文件内容",
    "state": "状态",
}

register_labels(FIELD_LABELS)


# ---- in ------------------------------------------------------------------------------------------


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class PlatformCreate(_In):
    code: str = Field(description="稳定编码：2–32 位小写字母、数字或下划线", examples=["guijie"])
    uscc: str = Field(description="统一社会信用代码（18 位）")
    industry_code: str = Field(examples=["ride_hailing"])
    name: str = Field(description="首个名称")
    base_yuan: Decimal = Field(description="缴费基准额（元/单），> 0 且 ≤ 10", examples=["0.07"])
    covered_from: dt.date = Field(description="纳入试点日期")
    basis: str = Field(description="国家确定的依据文号", examples=["人社部发〔2025〕24号"])


class PlatformUpdate(_In):
    uscc: str | None = None
    headquarters: str | None = None
    headquarters_region: str | None = Field(None, description="总部所在地 6 位行政区划代码")
    contact_name: str | None = None
    contact_phone: str | None = Field(None, description="大陆手机号；加密存储，只显示脱敏号码")
    contact_email: str | None = None


class NameIn(_In):
    name: str
    valid_from: dt.date
    replaces: bool = Field(False, description="true：现用名称于生效日前一日停用；false：新增一个并用名称")


class RateIn(_In):
    base_yuan: Decimal = Field(examples=["0.25"])
    valid_from: dt.date


class RegionsIn(_In):
    region_codes: list[str] = Field(description="广西市、县级行政区划代码")


class CredentialIn(_In):
    label: str = Field("", description="用途说明，如“生产环境 2026”")


class AttachmentIn(_In):
    filename: str = Field(examples=["申请书.pdf"])
    content_base64: str


class ApplicationIn(_In):
    code: str = Field(examples=["guijie"])
    name: str
    uscc: str
    industry_code: str
    headquarters: str
    headquarters_region: str | None = None
    contact_name: str
    contact_phone: str
    contact_email: str = ""
    applied_on: dt.date
    base_yuan: Decimal | None = Field(None, description="申请的缴费基准额；不填按行业默认值")
    comment: str = ""
    attachments: list[AttachmentIn] = []


class ActionIn(_In):
    decision: str | None = Field(
        None, description="assess: pass|fail；consent: consented|refused；conclude: include|reject"
    )
    comment: str = ""
    notice_from: dt.date | None = None
    notice_to: dt.date | None = None
    included_from: dt.date | None = None
    reason: str | None = Field(None, description="不予纳入的理由（转入“未予纳入”时必填）")
    attachments: list[AttachmentIn] = []

    def step(self) -> adm_rules.StepInput:
        return adm_rules.StepInput(
            decision=self.decision,
            comment=self.comment,
            notice_from=self.notice_from,
            notice_to=self.notice_to,
            included_from=self.included_from,
            reason=self.reason,
        )


class ObjectionIn(_In):
    received_on: dt.date
    objector: str
    content: str
    attachments: list[AttachmentIn] = []


class ResolutionIn(_In):
    upheld: bool
    resolution: str
    attachments: list[AttachmentIn] = []


def uploads(items: list[AttachmentIn]) -> list[adm_rules.Upload]:
    out = []
    for a in items:
        try:
            content = base64.b64decode(a.content_base64, validate=True)
        except (binascii.Error, ValueError):
            raise DomainError(f"附件“{a.filename}”的内容不是合法的 Base64", field="attachments") from None
        out.append(adm_rules.Upload(a.filename, content))
    return out


# ---- out -----------------------------------------------------------------------------------------


class PlatformOut(BaseModel):
    code: str
    name: str = Field(description="今天有效的全部名称，以“ / ”连接")
    industry_code: str
    industry_name: str
    status: str
    status_name: str
    uscc: str | None
    base_yuan: str | None = Field(description="现行缴费基准额（元/单）")
    year: int
    k: int = Field(description="本年度浮动档次")
    rate_yuan: str | None = Field(description="本年度费率 = 基准额 × (1 + 0.1·k)（元/单）")
    coverage_start: dt.date | None = Field(description="从业人员保障起始日")


class NameOut(BaseModel):
    name: str
    valid_from: dt.date
    valid_to: dt.date | None


class RateOut(BaseModel):
    base_yuan: str
    valid_from: dt.date
    valid_to: dt.date | None


class FloatOut(BaseModel):
    year: int
    k: int
    decided_by: int | None
    decided_at: dt.datetime | None


class RegionOut(BaseModel):
    code: str
    name: str
    level: str


class ContactOut(BaseModel):
    name: str
    phone: str = Field(description="脱敏手机号")
    email: str


class PlatformDetail(PlatformOut):
    covered_from: dt.date | None
    industry_covered_from: dt.date | None
    headquarters: str
    headquarters_region: str | None
    contact: ContactOut
    names: list[NameOut]
    rates: list[RateOut]
    floats: list[FloatOut]
    regions: list[RegionOut]


def platform_out(plat: Platform, industry: Industry, today: dt.date) -> PlatformOut:
    base = plat.base_on(today)
    k = plat.k_for(today.year)
    return PlatformOut(
        code=plat.code,
        name=plat.display_name(today),
        industry_code=plat.industry_code,
        industry_name=industry.name,
        status=plat.status,
        status_name=service.STATUS_NAMES.get(plat.status, plat.status),
        uscc=plat.uscc,
        base_yuan=service.yuan_str(base),
        year=today.year,
        k=k,
        rate_yuan=service.yuan_str(rates.rate_yuan(base, k)) if base is not None else None,
        coverage_start=phasing.coverage_start(plat, industry),
    )


def platform_detail(plat: Platform, industry: Industry, regions: list[Region], today: dt.date) -> PlatformDetail:
    return PlatformDetail(
        **platform_out(plat, industry, today).model_dump(),
        covered_from=plat.covered_from,
        industry_covered_from=industry.covered_from,
        headquarters=plat.headquarters,
        headquarters_region=plat.headquarters_region,
        contact=ContactOut(name=plat.contact_name, phone=plat.contact_phone_hint, email=plat.contact_email),
        names=[NameOut(name=n.name, valid_from=n.valid_from, valid_to=n.valid_to) for n in plat.names],
        rates=[
            RateOut(base_yuan=service.yuan_str(r.base_yuan), valid_from=r.valid_from, valid_to=r.valid_to)
            for r in plat.rates
        ],
        floats=[FloatOut(year=f.year, k=f.k, decided_by=f.decided_by, decided_at=f.decided_at) for f in plat.floats],
        regions=[RegionOut(code=r.code, name=r.name, level=r.level) for r in regions],
    )


class CredentialOut(BaseModel):
    client_id: str
    label: str
    created_at: dt.datetime | None
    last_used_at: dt.datetime | None
    revoked_at: dt.datetime | None


class CredentialSecretOut(BaseModel):
    client_id: str
    client_secret: str = Field(description="只显示这一次，请立即妥善保存")


class AttachmentOut(BaseModel):
    id: int
    filename: str
    content_type: str
    size: int
    sha256: str
    url: str


class StepOut(BaseModel):
    id: int
    action: str
    action_name: str
    from_state: str | None
    to_state: str
    decision: str
    decision_name: str
    comment: str
    officer: str
    at: dt.datetime
    attachments: list[AttachmentOut]


class ObjectionOut(BaseModel):
    id: int
    received_on: dt.date
    objector: str
    content: str
    upheld: bool | None
    resolution: str | None


class AdmissionOut(BaseModel):
    id: int
    platform_code: str
    platform_name: str
    industry_code: str
    state: str
    state_name: str
    applied_on: dt.date
    notice_from: dt.date | None
    notice_to: dt.date | None
    included_from: dt.date | None
    rejection_reason: str | None
    legal_actions: list[str]


class AdmissionDetail(AdmissionOut):
    uscc: str | None
    steps: list[StepOut]
    objections: list[ObjectionOut]


def attachment_out(a: Attachment) -> AttachmentOut:
    return AttachmentOut(
        id=a.id,
        filename=a.filename,
        content_type=a.content_type,
        size=a.size,
        sha256=a.sha256,
        url=f"/api/v1/attachments/{a.id}",
    )


def step_out(s: AdmissionStep) -> StepOut:
    return StepOut(
        id=s.id,
        action=s.action,
        action_name=adm_rules.ACTION_NAMES.get(s.action, s.action),
        from_state=s.from_state,
        to_state=s.to_state,
        decision=s.decision,
        decision_name=adm_rules.DECISION_NAMES.get(s.decision, s.decision),
        comment=s.comment,
        officer=s.officer.display_name if s.officer else "",
        at=s.at,
        attachments=[attachment_out(a) for a in s.attachments],
    )


def objection_out(o: NoticeObjection) -> ObjectionOut:
    return ObjectionOut(
        id=o.id,
        received_on=o.received_on,
        objector=o.objector,
        content=o.content,
        upheld=o.upheld,
        resolution=o.resolution,
    )


def admission_out(a: Admission, today: dt.date) -> AdmissionOut:
    return AdmissionOut(
        id=a.id,
        platform_code=a.platform.code,
        platform_name=a.platform.display_name(today),
        industry_code=a.platform.industry_code,
        state=a.state,
        state_name=adm_rules.STATE_NAMES[a.state],
        applied_on=a.applied_on,
        notice_from=a.notice_from,
        notice_to=a.notice_to,
        included_from=a.included_from,
        rejection_reason=a.rejection_reason,
        legal_actions=adm_rules.legal_actions(a.state),
    )


def admission_detail(a: Admission, today: dt.date) -> AdmissionDetail:
    return AdmissionDetail(
        **admission_out(a, today).model_dump(),
        uscc=a.platform.uscc,
        steps=[step_out(s) for s in a.steps],
        objections=[objection_out(o) for o in a.objections],
    )
