"""JSON routes of the data exchange (/api/v1/exchange): the message log, the outbox, redelivery."""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import APIRouter, Depends, Response
from pydantic import BaseModel
from sqlalchemy.orm import Session

from oip.auth import permissions as P
from oip.auth.deps import Require
from oip.auth.scope import out_of_scope
from oip.auth.service import Principal
from oip.core.web import DB, TransactionRoute
from oip.exchange import service, tax
from oip.exchange.models import ExchangeMessage, OutboxItem

api = APIRouter(prefix="/exchange", tags=["exchange"], route_class=TransactionRoute)
READ = Require(P.RECONCILE, P.PREMIUM_DECLARE)


class MessageOut(BaseModel):
    id: int
    direction: str
    system: str
    kind: str
    message_id: str | None
    location: str
    sha256: str
    signature: str | None
    status: str
    status_name: str
    error: str | None
    records: int | None
    meta: dict[str, Any]
    at: dt.datetime


class OutboxOut(BaseModel):
    id: int
    system: str
    kind: str
    message_id: str
    filename: str
    sha256: str
    signature: str
    status: str
    status_name: str
    attempts: int
    last_error: str | None
    receipt: dict[str, Any] | None
    created_at: dt.datetime
    last_attempt_at: dt.datetime | None
    sent_at: dt.datetime | None


def message_out(m: ExchangeMessage) -> MessageOut:
    return MessageOut(
        id=m.id,
        direction=m.direction,
        system=m.system,
        kind=m.kind,
        message_id=m.message_id,
        location=m.location,
        sha256=m.sha256,
        signature=m.signature,
        status=m.status,
        status_name=service.MESSAGE_STATUSES.get(m.status, m.status),
        error=m.error,
        records=m.records,
        meta=m.meta or {},
        at=m.at,
    )


def outbox_out(o: OutboxItem) -> OutboxOut:
    return OutboxOut(
        id=o.id,
        system=o.system,
        kind=o.kind,
        message_id=o.message_id,
        filename=o.filename,
        sha256=o.sha256,
        signature=o.signature,
        status=o.status,
        status_name=service.OUTBOX_STATUSES.get(o.status, o.status),
        attempts=o.attempts,
        last_error=o.last_error,
        receipt=o.receipt,
        created_at=o.created_at,
        last_attempt_at=o.last_attempt_at,
        sent_at=o.sent_at,
    )


@api.get("/messages", response_model=list[MessageOut], summary="数据交换日志（收发的每一条消息）")
def messages(
    system: str | None = None,
    direction: str | None = None,
    status: str | None = None,
    p: Principal = Depends(READ),
    db: Session = DB,
):
    return [message_out(m) for m in service.messages(db, system=system, direction=direction, status=status)]


@api.get("/outbox", response_model=list[OutboxOut], summary="发件箱（待发送、已送达、发送失败）")
def outbox(system: str | None = None, status: str | None = None, p: Principal = Depends(READ), db: Session = DB):
    return [outbox_out(o) for o in service.outbox(db, system=system, status=status)]


@api.get(
    "/outbox/{id}/payload",
    summary="发件箱消息的原始内容（与签名对应的字节）",
    responses={200: {"content": {"application/json": {}}}},
)
def payload(id: int, p: Principal = Depends(READ), db: Session = DB):  # noqa: A002
    item = db.get(OutboxItem, id)
    if item is None:
        raise out_of_scope("发件箱消息")
    return Response(
        item.payload,
        media_type="application/json; charset=utf-8",
        headers={
            tax.SIGNATURE_HEADER: item.signature,
            tax.MESSAGE_ID_HEADER: item.message_id,
            "Content-Disposition": f'attachment; filename="{item.filename}"',
        },
    )
