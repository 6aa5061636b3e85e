"""What the register of workers looks like from outside: request and response bodies of the JSON
API, and the presenters that turn rows into them (shared with the pages).

Personal numbers are masked (``4501**********123X``, ``138****5678``) everywhere except in a full
view, which the service grants only with the permission and a stated purpose."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, Field

from oip.core import clock
from oip.core.validation import register_labels
from oip.platforms.models import Platform
from oip.workers.models import Person, PlatformAccount, RegistrationBatch
from oip.workers.service import SOURCES, STATUSES

register_labels(
    {
        "platform_account_id": "平台账号",
        "id_number": "身份证号码",
        "phone": "手机号码",
        "county_code": "接单地区划代码",
        "registered_on": "注册日期",
        "effective_on": "生效日期",
        "platform_code": "平台企业编码",
        "records": "记录",
        "status": "状态",
    }
)


# ---- requests ------------------------------------------------------------------------------------


class RegistrationIn(BaseModel):
    """One registration (人员信息报送). Platform users may leave ``platform_code`` out; social
    insurance agencies registering on behalf of a platform must give it."""

    platform_account_id: str = Field(max_length=64, description="平台账号（平台内唯一）", examples=["MT0001234"])
    name: str = Field(max_length=64, description="姓名", examples=["韦小宝"])
    id_number: str = Field(
        description="身份证号码（18 位；15 位旧号码自动升级）。按其中的出生日期，注册日期时未满 16 周岁"
        "不予登记，16–17 周岁登记并提示未成年工",
        examples=["450103199003071234"],
    )
    phone: str = Field(description="手机号码（11 位大陆手机号）", examples=["13812345678"])
    county_code: str = Field(description="接单地县级行政区划代码（按接单地参保）", examples=["450103"])
    registered_on: dt.date = Field(description="在平台注册的日期 YYYY-MM-DD", examples=["2025-07-01"])
    platform_code: str | None = Field(None, description="平台企业编码（社保经办机构代报时必填）", examples=["meituan"])


class StatusIn(BaseModel):
    """A worker left the platform (``left``) or came back (``active``)."""

    platform_account_id: str = Field(max_length=64, description="平台账号")
    status: Literal["active", "left"] = Field(description="active 在册 / left 已退出")
    effective_on: dt.date | None = Field(None, description="生效日期，默认今天")
    platform_code: str | None = Field(None, description="平台企业编码（社保经办机构代报时必填）")


def inline_schema(model: type[BaseModel]) -> dict:
    """A flat model's JSON schema for ``openapi_extra`` (routes that parse their body themselves,
    to answer every mistake in Chinese)."""
    return model.model_json_schema()


def batch_request_schema() -> dict:
    one = inline_schema(RegistrationIn)
    return {
        "oneOf": [
            {"type": "array", "items": one, "description": "记录数组（平台企业报送本企业人员）"},
            {
                "type": "object",
                "required": ["records"],
                "properties": {
                    "platform_code": {"type": "string", "description": "平台企业编码（社保经办机构代报时必填）"},
                    "records": {"type": "array", "items": one},
                },
            },
        ]
    }


# ---- responses -----------------------------------------------------------------------------------


class Reason(BaseModel):
    field: str | None = Field(description="出错的字段；整行的问题为 null")
    reason: str


class RegistrationOut(BaseModel):
    person_id: int | None = Field(description="人员 ID；对平台企业不公开（null）")
    status: Literal["created", "updated", "unchanged"]
    warnings: list[str] = []


class RowResult(BaseModel):
    row: int = Field(description="批内序号（从 1 起）；CSV 上传为文件行号（表头为第 1 行）")
    platform_account_id: str | None
    status: Literal["created", "updated", "unchanged", "rejected"]
    reasons: list[Reason] | None = None
    warnings: list[str] | None = None


class BatchOut(BaseModel):
    """received = accepted + rejected, always."""

    batch_id: int
    received: int
    accepted: int
    rejected: int
    results: list[RowResult]


class UploadOut(BatchOut):
    filename: str
    encoding: str = Field(description="识别出的文件编码：UTF-8 或 GB18030（含 GBK）")
    ignored_columns: list[str] = Field(description="表头中未识别、已忽略的列")


class StatusOut(BaseModel):
    platform_code: str
    platform_account_id: str
    status: Literal["active", "left"]
    status_on: dt.date | None
    changed: bool


class WorkerItem(BaseModel):
    person_id: int | None = Field(description="人员 ID；对平台企业不公开（null），平台以平台账号指称人员")
    name: str
    id_number: str = Field(description="身份证号码（脱敏）")
    platform_code: str
    platform_name: str
    platform_account_id: str
    county_code: str
    county_name: str
    phone: str = Field(description="手机号码（脱敏）")
    registered_on: dt.date
    status: Literal["active", "left"]
    status_name: str


class WorkerPage(BaseModel):
    total: int
    page: int
    size: int
    items: list[WorkerItem]


class AccountOut(BaseModel):
    account_ref: int = Field(description="登记记录编号")
    platform_code: str
    platform_name: str
    platform_account_id: str
    county_code: str
    county_name: str
    phone: str = Field(description="手机号码：脱敏，完整查看时为明文")
    registered_on: dt.date
    status: Literal["active", "left"]
    status_name: str
    status_on: dt.date | None
    reported_name: str | None = Field(
        None, description="平台报送的姓名与登记姓名不一致时，平台报送的姓名（待经办机构核实；平台企业不可见）"
    )


class PersonOut(BaseModel):
    person_id: int
    name: str
    id_number: str = Field(description="身份证号码：脱敏，完整查看时为明文")
    sex: Literal["M", "F"]
    birth_date: dt.date | None = Field(None, description="出生日期（仅完整查看时提供）")
    full: bool = Field(description="是否为完整信息（已记入审计日志）")
    accounts: list[AccountOut] = Field(description="在您数据范围内的平台登记")


class BatchSummary(BaseModel):
    batch_id: int
    platform_code: str
    platform_name: str
    source: str
    source_name: str
    filename: str | None
    at: dt.datetime
    received: int
    accepted: int
    rejected: int


class BatchDetail(BatchSummary):
    results: list[RowResult] = Field(description="被拒绝或带提示的记录")


# ---- presenters ----------------------------------------------------------------------------------


def platform_name(platform: Platform, day: dt.date | None = None) -> str:
    """Every name a platform goes by on a day (饿了么／淘宝闪购), or its code."""
    return platform.display_name(day or clock.today())


def shown_name(a: PlatformAccount, platform_view: bool) -> str:
    """A platform is shown the name it sent (it may differ from the name on file, which another
    platform's registration gave: not theirs to learn); the agencies the name on file."""
    return (a.reported_name or a.person.name) if platform_view else a.person.name


def worker_item(a: PlatformAccount, counties: dict[str, str], platform_view: bool = False) -> WorkerItem:
    return WorkerItem(
        person_id=None if platform_view else a.person_id,
        name=shown_name(a, platform_view),
        id_number=a.person.id_masked,
        platform_code=a.platform.code,
        platform_name=platform_name(a.platform),
        platform_account_id=a.account_id,
        county_code=a.county_code,
        county_name=counties.get(a.county_code, ""),
        phone=a.phone_masked,
        registered_on=a.registered_on,
        status=a.status,
        status_name=STATUSES.get(a.status, a.status),
    )


def person_out(
    person: Person,
    accounts: list[PlatformAccount],
    clear: dict | None,
    counties: dict[str, str],
    platform_view: bool = False,
) -> PersonOut:
    phones = (clear or {}).get("phones", {})
    return PersonOut(
        person_id=person.id,
        name=shown_name(accounts[0], platform_view) if accounts and platform_view else person.name,
        id_number=clear["id_number"] if clear else person.id_masked,
        sex=person.sex,
        birth_date=person.birth_date if clear else None,
        full=clear is not None,
        accounts=[
            AccountOut(
                account_ref=a.id,
                platform_code=a.platform.code,
                platform_name=platform_name(a.platform),
                platform_account_id=a.account_id,
                county_code=a.county_code,
                county_name=counties.get(a.county_code, ""),
                phone=phones.get(a.id, a.phone_masked),
                registered_on=a.registered_on,
                status=a.status,
                status_name=STATUSES.get(a.status, a.status),
                status_on=a.status_on,
                reported_name=None if platform_view else a.reported_name,
            )
            for a in accounts
        ],
    )


def batch_summary(b: RegistrationBatch, platforms: dict[int, Platform]) -> BatchSummary:
    plat = platforms.get(b.platform_id)
    return BatchSummary(
        batch_id=b.id,
        platform_code=plat.code if plat else "",
        source=b.source,
        platform_name=platform_name(plat) if plat else "",
        source_name=SOURCES.get(b.source, b.source),
        filename=b.filename,
        at=b.at,
        received=b.received,
        accepted=b.accepted,
        rejected=b.rejected,
    )


def batch_detail(b: RegistrationBatch, platforms: dict[int, Platform]) -> BatchDetail:
    return BatchDetail(**batch_summary(b, platforms).model_dump(), results=b.results or [])
