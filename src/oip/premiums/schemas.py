"""Pydantic models of the premiums API (in and out). Money is integer fen (``*_fen``); base amounts
and rates are decimal strings in yuan per order ("0.07", "0.084") — never floats."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import AliasChoices, BaseModel, ConfigDict, Field

from oip.core import clock
from oip.core.validation import register_labels
from oip.exchange.service import Delivery
from oip.platforms import service as platforms
from oip.premiums import calc
from oip.premiums.models import (
    DECLARATION_STATUSES,
    FLAG_NAMES,
    FLAG_STATUSES,
    PROPOSAL_STATUSES,
    Declaration,
    FloatProposal,
    Reconciliation,
    ReconciliationFlag,
)

FIELD_LABELS = {
    "month": "订单月份",
    "platforms": "平台企业",
    "engine": "计算引擎",
    "note": "处理情况",
    "flag": "差异类型",
    "claims_fen": "赔付金额（分）",
    "injuries": "职业伤害人数",
    "insured_avg": "年平均参保人数",
    "source": "数据来源",
    "reason": "理由",
    "file": "回执文件",
    "signature": "签名",
}
register_labels(FIELD_LABELS)


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class MonthIn(_In):
    month: str = Field(description="订单月份 YYYY-MM（订单发生的月份）", examples=["2025-09"])
    platforms: list[str] | None = Field(None, description="只处理这些平台企业（编码）；不填为全部")
    engine: str = Field("duckdb", description="台账计算引擎：duckdb 或 spark")


class HandleIn(_In):
    note: str = Field(description="处理情况，如“已电话催缴，企业承诺 3 日内补缴”")


class ExperienceIn(_In):
    claims_fen: int = Field(ge=0, description="上年度职业伤害保障待遇支出（分）")
    injuries: int = Field(ge=0, description="上年度确认的职业伤害人数")
    insured_avg: int = Field(ge=0, description="上年度月平均参保人数")
    reason: str = Field(
        validation_alias=AliasChoices("reason", "source"),
        description="人工录入的理由（为何不采用按业务数据计算的数字，并注明台账、报表名称和日期）；旧字段名 source 仍可用",
    )


class ClearExperienceIn(_In):
    reason: str = Field(description="撤销人工录入的理由（撤销后按业务数据计算）")


class ProposeIn(_In):
    year: int = Field(description="浮动档次适用的年度（按上一年度数据测算），如 2027")


class ApproveIn(_In):
    k: int | None = Field(None, ge=-5, le=5, description="核定档次；不填则按测算档次")
    reason: str = Field("", description="与测算档次不同时必填")


class RejectIn(_In):
    reason: str


# ---- out -----------------------------------------------------------------------------------------


class AdjustmentOut(BaseModel):
    origin_month: str
    orders: int
    rate_yuan: str
    amount_fen: int


class DeclarationOut(BaseModel):
    platform_code: str
    platform_name: str
    month: str
    orders: int
    base_yuan: str
    k: int
    rate_yuan: str
    amount_fen: int
    adjustment_orders: int
    adjustment_fen: int
    total_fen: int
    adjustments: list[AdjustmentOut]
    due_date: dt.date
    status: str
    status_name: str
    billable_statuses: list[str]
    engine: str
    computed_at: dt.datetime
    message_id: str | None
    sent_at: dt.datetime | None
    acknowledged_at: dt.datetime | None


def declaration_out(d: Declaration) -> DeclarationOut:
    return DeclarationOut(
        platform_code=d.platform.code,
        platform_name=d.platform.display_name(d.covered_from),
        month=d.month,
        orders=d.orders,
        base_yuan=platforms.yuan_str(d.base_yuan),
        k=d.k,
        rate_yuan=calc.rate_str(d.rate_yuan),
        amount_fen=d.amount_fen,
        adjustment_orders=d.adjustment_orders,
        adjustment_fen=d.adjustment_fen,
        total_fen=d.total_fen,
        adjustments=[
            AdjustmentOut(
                origin_month=a.origin_month,
                orders=a.orders,
                rate_yuan=calc.rate_str(a.rate_yuan),
                amount_fen=a.amount_fen,
            )
            for a in d.adjustments
        ],
        due_date=d.due_date,
        status=d.status,
        status_name=DECLARATION_STATUSES.get(d.status, d.status),
        billable_statuses=list(d.billable_statuses),
        engine=d.engine,
        computed_at=d.computed_at,
        message_id=d.message_id,
        sent_at=d.sent_at,
        acknowledged_at=d.acknowledged_at,
    )


class DeclareOut(BaseModel):
    month: str
    created: int
    changed: int
    unchanged: int
    frozen: int
    engine: str
    seconds: float
    warnings: list[str]
    declarations: list[DeclarationOut]


def declare_out(res) -> DeclareOut:
    return DeclareOut(
        month=res.month,
        created=res.created,
        changed=res.changed,
        unchanged=res.unchanged,
        frozen=res.frozen,
        engine=res.engine,
        seconds=round(res.seconds, 3),
        warnings=res.warnings,
        declarations=[declaration_out(d) for d in res.declarations],
    )


class DeliveryOut(BaseModel):
    message_id: str
    status: str
    attempts: int
    location: str | None
    error: str | None


def delivery_out(d: Delivery) -> DeliveryOut:
    return DeliveryOut(
        message_id=d.item.message_id,
        status=d.item.status,
        attempts=d.item.attempts,
        location=d.receipt.location if d.receipt else None,
        error=d.error,
    )


class SendOut(BaseModel):
    month: str
    message_id: str | None = Field(description="本次推送的消息编号；没有新的待推送核定时为空")
    queued_platforms: list[str]
    deliveries: list[DeliveryOut]
    warnings: list[str]
    declarations: list[DeclarationOut]


class FlagOut(BaseModel):
    id: int
    platform_code: str
    platform_name: str
    month: str
    kind: str
    kind_name: str
    status: str
    status_name: str
    detail: str
    amount_fen: int | None
    opened_at: dt.datetime
    updated_at: dt.datetime
    resolved_at: dt.datetime | None
    handled_at: dt.datetime | None
    note: str


def flag_out(f: ReconciliationFlag) -> FlagOut:
    return FlagOut(
        id=f.id,
        platform_code=f.platform.code,
        platform_name=f.platform.display_name(clock.today()),
        month=f.month,
        kind=f.kind,
        kind_name=FLAG_NAMES.get(f.kind, f.kind),
        status=f.status,
        status_name=FLAG_STATUSES.get(f.status, f.status),
        detail=f.detail,
        amount_fen=f.amount_fen,
        opened_at=f.opened_at,
        updated_at=f.updated_at,
        resolved_at=f.resolved_at,
        handled_at=f.handled_at,
        note=f.note,
    )


class ReconciliationOut(BaseModel):
    platform_code: str
    platform_name: str
    month: str
    orders_reported: int = Field(description="台账订单数（全部状态）")
    orders_billable: int = Field(description="台账计费订单数（现值）")
    orders_declared: int = Field(description="已推送税务的订单数（含以后月份补差）")
    due_fen: int = Field(description="核定应缴（分）")
    tax_declared_fen: int = Field(description="平台在税务申报（分）")
    paid_fen: int = Field(description="已缴（分）")
    owed_fen: int = Field(description="未缴（分）")
    due_date: dt.date | None
    last_paid_on: dt.date | None
    reconciled_at: dt.datetime
    flags: list[FlagOut]


def reconciliation_out(r: Reconciliation, flags: list[ReconciliationFlag]) -> ReconciliationOut:
    return ReconciliationOut(
        platform_code=r.platform.code,
        platform_name=r.platform.display_name(clock.today()),
        month=r.month,
        orders_reported=r.orders_reported,
        orders_billable=r.orders_billable,
        orders_declared=r.orders_declared,
        due_fen=r.due_fen,
        tax_declared_fen=r.tax_declared_fen,
        paid_fen=r.paid_fen,
        owed_fen=r.owed_fen,
        due_date=r.due_date,
        last_paid_on=r.last_paid_on,
        reconciled_at=r.reconciled_at,
        flags=[flag_out(f) for f in flags],
    )


class StatementMonthOut(BaseModel):
    month: str
    orders: int
    total_fen: int
    due_date: dt.date
    paid_fen: int
    owed_fen: int
    state: str
    last_paid_on: dt.date | None


class StatementOut(BaseModel):
    platform_code: str
    platform_name: str
    owed_overdue_fen: int = Field(description="已过缴费截止日仍未缴（欠费，分）")
    owed_not_due_fen: int = Field(description="未到截止日的应缴（分）")
    months: list[StatementMonthOut]
    flags: list[FlagOut]


def statement_out(plat, st) -> StatementOut:
    return StatementOut(
        platform_code=plat.code,
        platform_name=plat.display_name(clock.today()),
        owed_overdue_fen=st.owed_overdue_fen,
        owed_not_due_fen=st.owed_not_due_fen,
        months=[
            StatementMonthOut(
                month=r.declaration.month,
                orders=r.declaration.orders,
                total_fen=r.declaration.total_fen,
                due_date=r.declaration.due_date,
                paid_fen=r.paid_fen,
                owed_fen=r.owed_fen,
                state=r.state,
                last_paid_on=r.last_paid_on,
            )
            for r in st.rows
        ],
        flags=[flag_out(f) for f in st.flags],
    )


class ImportOut(BaseModel):
    messages: list[dict[str, Any]]
    reconciled_months: list[str]


class ProposalOut(BaseModel):
    id: int
    platform_code: str
    platform_name: str
    year: int
    inputs: dict[str, Any]
    proposed_k: int
    reasons: list[str]
    rule_version: str
    status: str
    status_name: str
    decided_k: int | None
    decision_reason: str
    proposed_at: dt.datetime
    decided_at: dt.datetime | None


def proposal_out(f: FloatProposal) -> ProposalOut:
    return ProposalOut(
        id=f.id,
        platform_code=f.platform.code,
        platform_name=f.platform.display_name(clock.today()),
        year=f.year,
        inputs=f.inputs,
        proposed_k=f.proposed_k,
        reasons=list(f.reasons),
        rule_version=f.rule_version,
        status=f.status,
        status_name=PROPOSAL_STATUSES.get(f.status, f.status),
        decided_k=f.decided_k,
        decision_reason=f.decision_reason,
        proposed_at=f.proposed_at,
        decided_at=f.decided_at,
    )


class ExperienceOut(BaseModel):
    platform_code: str
    year: int
    claims_fen: int
    injuries: int
    insured_avg: int
    source: str
    reason: str
    entered_at: dt.datetime


class FiguresOut(BaseModel):
    """A platform's figures of a year for the float: ``source`` data (from the cases, payments and
    the order ledger) or override (typed by an officer, with ``reason``; ``data`` beside it)."""

    platform_code: str
    platform_name: str
    year: int
    claims_fen: int | None
    injuries: int | None
    insured_avg: int | None
    source: str
    source_name: str
    reason: str
    detail: dict[str, Any]
    data: dict[str, Any] | None = None


class ParameterOut(BaseModel):
    key: str
    label: str
    value: Any
    valid_from: dt.date
    valid_to: dt.date | None
    note: str
    changed_at: dt.datetime | None
