"""The trial calculation of benefits (待遇试算) without a case: ``POST /api/v1/benefits/quote``.

For officers and workers signed in, or a bearer token (permission benefit.quote). The body and the
answer are documented in docs/benefits.md ("The calculator and its parameters"). Bad input — of the
body's shape (pydantic) or of the calculator's rules (``calc.validate``, the region) — is 422 with a
Chinese reason naming the field, as issue 12 asks for this endpoint (elsewhere a DomainError is 400).
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt
from sqlalchemy.orm import Session

from oip.auth import permissions as P
from oip.auth.deps import Require
from oip.auth.service import Principal
from oip.benefits import calc, service
from oip.core.errors import DomainError
from oip.core.validation import translate
from oip.core.web import DB, TransactionRoute

# This endpoint's own field labels (``kind`` elsewhere is the appraisal's 鉴定类别).
LABELS = {
    "event_date": "事件日期（event_date）",
    "region_code": "行政区划代码（region_code）",
    "kind": "事件类型（kind）",
    "grade": "伤残等级（grade）",
    "self_care": "生活自理障碍等级（self_care）",
    "dependants": "供养亲属（dependants）",
    "relation": "与职工关系（relation）",
    "orphan_or_lone_elderly": "孤儿或孤寡老人（orphan_or_lone_elderly）",
    "medical_bills": "医疗费票据（medical_bills）",
    "amount_fen": "票据金额（amount_fen，分）",
    "in_catalogue": "是否目录内（in_catalogue）",
    "hospital_days": "住院天数（hospital_days）",
    "ref": "票据号（ref）",
}


class Invalid(DomainError):
    """Bad input of the trial calculation: 422 (issue 12 §2)."""

    status_code = 422


class QuoteRoute(TransactionRoute):
    """Renders a body that fails pydantic's validation with this endpoint's labels (422, the same
    shape as the app's handler: ``error`` and ``errors``)."""

    def get_route_handler(self):
        handler = super().get_route_handler()

        async def handle(request: Request):
            try:
                return await handler(request)
            except RequestValidationError as exc:
                errors = []
                for e in translate(list(exc.errors())):
                    names = [x for x in e["loc"] if isinstance(x, str) and x != "body"]
                    msg = e["msg"]
                    if names and names[-1] in LABELS:
                        msg = f"{LABELS[names[-1]]}：{msg.split('：', 1)[-1]}"
                    path = ".".join(str(x) for x in e["loc"] if x != "body") or None
                    errors.append({"field": path, "reason": msg, "type": e.get("type")})
                first = errors[0] if errors else {"field": None, "reason": "请求无效"}
                return JSONResponse(
                    {
                        "error": {"code": "invalid", "field": first["field"], "reason": first["reason"]},
                        "errors": errors,
                    },
                    status_code=422,
                )

        return handle


api = APIRouter(route_class=QuoteRoute)
TAG = ["benefits"]


class DependantBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    relation: str = Field(max_length=16, description="spouse | child | parent | other")
    orphan_or_lone_elderly: StrictBool = False


class BillBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    amount_fen: StrictInt = Field(description="金额（分），不小于 0")
    in_catalogue: StrictBool = True
    kind: str = Field("medical", max_length=16, description="medical | rehab | devices")
    ref: str | None = Field(None, max_length=64, description="票据号（可选）")


class QuoteIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    event_date: dt.date = Field(description="事件日期：受伤或死亡（失踪为事故）之日，决定适用的参数")
    region_code: str = Field(max_length=6, description="广西行政区划代码：45、4501、450103 或 6 位代码")
    kind: str = Field(max_length=16, description="injury | death | missing")
    grade: StrictInt | None = Field(None, description="伤残等级 1–10（一级最重），未评定为 null")
    self_care: str = Field("none", max_length=16, description="none | partial | most | complete")
    dependants: Annotated[list[DependantBody], Field(max_length=calc.MAX_DEPENDANTS)] = []
    medical_bills: Annotated[list[BillBody], Field(max_length=calc.MAX_BILLS)] = []
    hospital_days: StrictInt = 0

    def to_input(self) -> calc.QuoteInput:
        return calc.QuoteInput(
            event_date=self.event_date,
            region_code=self.region_code.strip(),
            kind=self.kind,
            grade=self.grade,
            self_care=self.self_care,
            dependants=tuple(
                calc.DependantIn(d.relation, d.orphan_or_lone_elderly, ref=i) for i, d in enumerate(self.dependants)
            ),
            medical_bills=tuple(
                calc.BillIn(b.amount_fen, b.in_catalogue, b.ref or None, b.kind) for b in self.medical_bills
            ),
            hospital_days=self.hospital_days,
        )


class LineOut(BaseModel):
    item: str
    name: str
    amount_fen: int
    monthly: bool
    formula: str
    parameters: list[str]
    detail: dict[str, Any] = {}
    starts_on: dt.date | None = None
    dependant: int | None = Field(None, description="dependants 行：对应请求中 dependants 的序号（从 0 起）")


class QuoteOut(BaseModel):
    event_date: dt.date
    region_code: str
    kind: str
    lines: list[LineOut]
    total_once_fen: int
    total_monthly_fen: int


def quote_out(inp: calc.QuoteInput, q: calc.Quote) -> QuoteOut:
    return QuoteOut(
        event_date=inp.event_date,
        region_code=inp.region_code,
        kind=inp.kind,
        lines=[
            LineOut(
                item=x.item,
                name=x.name,
                amount_fen=x.amount_fen,
                monthly=x.monthly,
                formula=x.formula,
                parameters=list(x.parameters),
                detail=x.detail,
                starts_on=x.starts_on,
                dependant=x.dependant_ref if x.item == "dependants" else None,
            )
            for x in q.lines
        ],
        total_once_fen=q.total_once_fen,
        total_monthly_fen=q.total_monthly_fen,
    )


@api.post(
    "/benefits/quote",
    response_model=QuoteOut,
    tags=TAG,
    summary="待遇试算（不关联案件）",
    responses={422: {"description": "输入有误：中文原因并指明字段"}},
)
def quote(body: QuoteIn, p: Principal = Depends(Require(P.BENEFIT_QUOTE)), db: Session = DB):
    inp = body.to_input()
    try:
        result = service.quote_for(db, inp)
    except DomainError as e:
        raise Invalid(e.reason, field=e.field) from None
    return quote_out(inp, result)
