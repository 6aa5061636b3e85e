"""The data exchange page (/exchange): every message in and out, and the outbox with redelivery."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from sqlalchemy.orm import Session

from oip.auth import permissions as P
from oip.auth.deps import Require
from oip.auth.service import Principal
from oip.core.config import get_settings
from oip.core.layout import render
from oip.core.web import DB, TransactionRoute
from oip.exchange import service

pages = APIRouter(include_in_schema=False, route_class=TransactionRoute)

DONE = {
    "delivered": "已重发发件箱中未送达的消息，结果见下表。",
    "fetched": "已从税务交换通道获取回执，结果见下表。",
    "withdrawn": "消息已撤回，其核定已退回“核定中”，下次推送时重新生成。",
}


@pages.get("/exchange")
def exchange_page(
    request: Request,
    done: str | None = None,
    p: Principal = Depends(Require(P.RECONCILE, P.PREMIUM_DECLARE)),
    db: Session = DB,
):
    s = get_settings()
    channel = (
        "与税务部门共享的文件交换目录"
        if s.tax_gateway == "file"
        else f"HTTP 接口 {s.tax_url or '（尚未配置税务部门的接口地址）'}"
    )
    return render(
        request,
        "exchange_log.html",
        title="数据交换日志",
        messages=service.messages(db, limit=300),
        outbox=service.outbox(db, limit=100),
        message_statuses=service.MESSAGE_STATUSES,
        outbox_statuses=service.OUTBOX_STATUSES,
        kinds=service.KIND_NAMES,
        systems=service.SYSTEM_NAMES,
        channel=channel,
        can_deliver=p.can(P.PREMIUM_DECLARE),
        done=DONE.get(done or ""),
    )
