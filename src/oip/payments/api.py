"""JSON routes of payment (/api/v1): the worklist, batches (make, approve, send), result import,
reversals, the bank file log, and a case's payee accounts and payment lines."""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import APIRouter, Depends, File, Form, UploadFile
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from oip.auth import permissions as P
from oip.auth.deps import Require
from oip.auth.service import Principal
from oip.cases import service as cases
from oip.core.config import get_settings
from oip.core.errors import TooLarge
from oip.core.validation import register_labels
from oip.core.web import DB, TransactionRoute
from oip.payments import bank, payees, service

api = APIRouter(route_class=TransactionRoute)
TAG = ["payments"]

register_labels(
    {
        "holder_name": "开户人姓名",
        "bank_name": "开户银行",
        "card_number": "银行卡号",
        "dependant_id": "供养亲属",
        "due_by": "应付截止日期",
        "region_code": "区划代码",
    }
)


class PayeeIn(BaseModel):
    holder_name: str = Field(max_length=64)
    bank_name: str = Field(max_length=64)
    card_number: str = Field(max_length=32)
    dependant_id: int | None = None
    note: str = Field(default="", max_length=500)


class PayeeChangeIn(BaseModel):
    holder_name: str = Field(max_length=64)
    bank_name: str = Field(max_length=64)
    card_number: str = Field(max_length=32)
    reason: str = Field(max_length=500)


class BatchIn(BaseModel):
    region_code: str | None = Field(default=None, max_length=6)
    due_by: dt.date | None = None
    note: str = Field(default="", max_length=500)


class ApproveIn(BaseModel):
    note: str = Field(default="", max_length=500)


class ReversalIn(BaseModel):
    reason: str = Field(max_length=500)
    on: dt.date | None = None


def _batch_out(db: Session, b, lines: bool = False) -> dict[str, Any]:
    out = service.batch_dict(db, b)
    if lines:
        out["lines"] = [service.line_dict(db, x) for x in service.lines_of(db, b)]
    return out


@api.get("/payments/worklist", tags=TAG, summary="待支付清单（含支付失败原因、无收款账户）")
def worklist(only: str | None = None, page: int = 1, p: Principal = Depends(Require(P.PAYMENT_READ)), db: Session = DB):
    wl = service.worklist(db, p, only=only if only in ("no_account", "failed") else None, page=max(1, page))
    return {
        "items": [w.as_dict() for w in wl.page.items],
        "total": wl.page.total,
        "page": wl.page.page,
        "pages": wl.page.pages,
        "due_count": wl.due_count,
        "due_fen": wl.due_fen,
        "without_account": wl.without_account,
        "failed": wl.failed,
    }


@api.get("/payments/batches", tags=TAG, summary="支付批次")
def batches(
    status: str | None = None, page: int = 1, p: Principal = Depends(Require(P.PAYMENT_READ)), db: Session = DB
):
    res = service.list_batches(db, p, status=status, page=max(1, page))
    return {"items": [_batch_out(db, b) for b in res.items], "total": res.total, "page": res.page, "pages": res.pages}


@api.post("/payments/batches", status_code=201, tags=TAG, summary="生成支付批次（待复核）")
def make_batch(body: BatchIn, p: Principal = Depends(Require(P.PAYMENT_MANAGE)), db: Session = DB):
    b = service.make_batch(db, p, body.region_code, due_by=body.due_by, note=body.note)
    return _batch_out(db, b, lines=True)


@api.get("/payments/batches/{batch_id}", tags=TAG, summary="支付批次详情（明细：收款人、卡号掩码、状态）")
def batch(batch_id: int, p: Principal = Depends(Require(P.PAYMENT_READ)), db: Session = DB):
    b = service.get_batch(db, p, batch_id)
    service.view_audit(db, p, "batch", b.id)
    return _batch_out(db, b, lines=True)


@api.post("/payments/batches/{batch_id}/approval", tags=TAG, summary="复核审批支付批次（不得审批本人生成的批次）")
def approve(batch_id: int, body: ApproveIn, p: Principal = Depends(Require(P.PAYMENT_APPROVE)), db: Session = DB):
    return _batch_out(db, service.approve(db, p, batch_id, note=body.note))


@api.post("/payments/batches/{batch_id}/sending", tags=TAG, summary="报送银行（重发时发送同一文件、同一幂等键）")
def send(batch_id: int, p: Principal = Depends(Require(P.PAYMENT_MANAGE)), db: Session = DB):
    out = service.send(db, p, batch_id, bank.gateway_from_settings())
    body = {"ok": out.ok, "error": out.error, "location": out.location, "batch": _batch_out(db, out.batch)}
    # A failed delivery is recorded (and committed): 502 tells the caller to send again.
    return body if out.ok else JSONResponse(body, status_code=502)


@api.post("/payments/results", tags=TAG, summary="导入银行回盘文件（验签；同一文件重复导入不改变任何记录）")
def import_result(
    file: UploadFile = File(description="回盘文件（bank-v1 JSON）"),
    signature: str = Form(description="银行的 HMAC-SHA256 签名（十六进制，.sig 文件的内容）"),
    p: Principal = Depends(Require(P.PAYMENT_MANAGE)),
    db: Session = DB,
):
    limit = get_settings().upload_max_bytes
    data = file.file.read(limit + 1)
    if len(data) > limit:
        raise TooLarge("回盘文件过大", field="file")
    return service.import_result(db, p, data, signature, file.filename or "result.json").as_dict()


@api.post("/payments/lines/{line_id}/reversal", tags=TAG, summary="登记退汇（款项重新列入待支付）")
def reverse(line_id: int, body: ReversalIn, p: Principal = Depends(Require(P.PAYMENT_MANAGE)), db: Session = DB):
    return service.line_dict(db, service.reverse(db, p, line_id, reason=body.reason, on=body.on))


@api.get("/payments/bank-files", tags=TAG, summary="银行文件日志（报送与回盘）")
def bank_files(page: int = 1, p: Principal = Depends(Require(P.PAYMENT_READ)), db: Session = DB):
    res = service.bank_files(db, p, page=max(1, page))
    return {
        "items": [service.file_dict(db, f) for f in res.items],
        "total": res.total,
        "page": res.page,
        "pages": res.pages,
    }


@api.get("/cases/{case_id}/payments", tags=TAG, summary="案件的收款账户（卡号掩码）与支付明细（可追溯至核定）")
def case_payments(case_id: int, p: Principal = Depends(Require(P.PAYMENT_READ)), db: Session = DB):
    case = cases.get_case(db, p, case_id)
    service.view_audit(db, p, "case", case.id)
    return {
        "accounts": [payees.as_dict(db, a) for a in payees.accounts_of(db, case)],
        "lines": [service.line_dict(db, x) for x in service.case_lines(db, case)],
        "paid_fen": service.paid_total(db, case.id),
    }


@api.post("/cases/{case_id}/payees", status_code=201, tags=TAG, summary="登记收款账户")
def register_payee(case_id: int, body: PayeeIn, p: Principal = Depends(Require(P.PAYEE_MANAGE)), db: Session = DB):
    return payees.as_dict(db, payees.register(db, p, case_id, **body.model_dump()))


@api.post("/payees/{payee_id}/change", status_code=201, tags=TAG, summary="变更收款账户（须说明原因；原账户停用）")
def change_payee(payee_id: int, body: PayeeChangeIn, p: Principal = Depends(Require(P.PAYEE_MANAGE)), db: Session = DB):
    return payees.as_dict(db, payees.change(db, p, payee_id, **body.model_dump()))
