"""Pydantic models of the claims API (费用申报). Type checks here; the rules in
oip.benefits.claims_rules (amounts are yuan as text with at most two decimals, or integer fen)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic_core import PydanticCustomError

from oip.core.validation import register_labels

register_labels(
    {
        "bills": "票据",
        "receipt_no": "票据号",
        "provider": "开票医疗机构",
        "issued_on": "开票日期",
        "amount": "金额（元）",
        "amount_fen": "金额（分）",
        "in_catalogue": "是否属于目录内",
        "inpatient": "是否住院费用",
        "hospital_days": "住院天数",
        "received_on": "申报日期",
        "excluded_reason": "剔除理由",
    }
)


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class BillIn(_In):
    receipt_no: str = Field(max_length=200, description="票据号（全角、空格不计，不区分大小写）")
    provider: str = Field(max_length=500, description="开票医疗机构")
    issued_on: dt.date = Field(description="开票日期")
    amount: str | None = Field(
        None, description='金额（元，文本，最多两位小数，如 "1234.50"）；整数也可；不接受浮点数', examples=["1234.50"]
    )
    amount_fen: int | None = Field(None, description="或：金额（分，整数）")
    kind: str = Field("medical", description="medical 医疗费 | rehab 康复费 | devices 辅助器具配置费")
    in_catalogue: bool = Field(True, description="是否属于工伤保险诊疗目录、药品目录、服务设施标准")
    inpatient: bool = Field(False, description="是否住院费用")

    @field_validator("amount", mode="before")
    @classmethod
    def _no_float(cls, v: Any) -> Any:
        """Money never travels as a binary float: 0.1 + 0.2 is not 0.3."""
        if isinstance(v, bool) or isinstance(v, float):
            raise PydanticCustomError("amount_float", '应以文本填写（元，最多两位小数，如 "1234.50"），不接受浮点数')
        return str(v) if isinstance(v, int) else v


class ClaimIn(_In):
    bills: list[BillIn] = Field(max_length=200)
    hospital_days: int = Field(0, ge=0, le=3650, description="住院天数（计算住院伙食补助费）")
    received_on: dt.date | None = Field(None, description="申报日期（经办人员登记书面申报时填写；默认今天）")
    note: str = Field("", max_length=500)


class BillsIn(_In):
    bills: list[BillIn] = Field(max_length=200)
    hospital_days: int | None = Field(None, ge=0, le=3650, description="住院天数（不传：不变）")
    version: int | None = None


class CatalogueIn(_In):
    in_catalogue: bool
    reason: str | None = Field(None, max_length=1000, description="剔除理由（目录外时必填）")
    version: int | None = None


class RejectIn(_In):
    reason: str = Field(max_length=1000)
    version: int | None = None


class BillOut(BaseModel):
    id: int
    receipt_no: str
    kind: str
    kind_name: str
    provider: str
    issued_on: dt.date
    amount_fen: int
    in_catalogue: bool
    inpatient: bool
    excluded_reason: str | None


class ClockOut(BaseModel):
    due: dt.date | None
    overdue: bool
    due_today: bool
    working_days_left: int | None
    done: bool
    label: str


class DeterminationRef(BaseModel):
    id: int
    version: int
    status: str
    status_name: str
    total_once_fen: int


class DraftIn(_In):
    note: str = Field("", max_length=4000)
    version: int | None = None


class ClaimOut(BaseModel):
    id: int
    number: str
    case_id: int
    case_number: str
    status: str
    status_name: str
    received_on: dt.date
    hospital_days: int
    claimed_fen: int
    accepted_fen: int
    excluded_fen: int
    fast_lane: bool
    confirm_due: dt.date | None
    pay_due: dt.date | None
    confirm_clock: ClockOut | None
    pay_clock: ClockOut | None
    fast_lane_left_on: dt.date | None
    fast_lane_left_reason: str | None
    rejected_reason: str | None
    version: int
    documents: list[dict[str, int | str]] = Field(
        default_factory=list, description="纳入小伤快赔时案件已有的五项材料：[{requirement, document_id}]"
    )
    determination: DeterminationRef | None = Field(None, description="费用核定（最新版本）")
    payables: int = Field(0, description="应付明细笔数（不含作废）")
    paid: int = Field(0, description="其中已支付")
    bills: list[BillOut]


class RejectedRow(BaseModel):
    line: int
    receipt_no: str
    reason: str
    field: str


class ReceivedOut(BaseModel):
    claim: ClaimOut
    submitted: int
    accepted: int
    rejected: int
    rejected_rows: list[RejectedRow]
    fast_lane_reasons: list[str]
    missing_documents: list[dict[str, str]]


class ClaimPage(BaseModel):
    items: list[ClaimOut]
    total: int
    page: int
    pages: int


def clock_out(c) -> ClockOut | None:
    if c is None:
        return None
    return ClockOut(
        due=c.due,
        overdue=c.overdue and not c.done,
        due_today=c.today and not c.done,
        working_days_left=c.left,
        done=c.done,
        label=c.label,
    )


def claim_out(d: dict) -> ClaimOut:
    return ClaimOut(
        **{
            k: v
            for k, v in d.items()
            if k in ClaimOut.model_fields and k not in ("confirm_clock", "pay_clock", "bills")
        },
        confirm_clock=clock_out(d["confirm_clock"]),
        pay_clock=clock_out(d["pay_clock"]),
        bills=[BillOut(**{k: v for k, v in b.items() if k in BillOut.model_fields}) for b in d["bills"]],
    )
