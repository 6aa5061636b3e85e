"""The data exchange page (/exchange): every message in and out, and the outbox with redelivery; the
text messages to people (/notifications)."""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from sqlalchemy.orm import Session

from oip.auth import permissions as P
from oip.auth.deps import Require
from oip.auth.service import Principal
from oip.core import layout
from oip.core.config import get_settings
from oip.core.layout import render
from oip.core.pagination import page_window
from oip.core.web import DB, TransactionRoute
from oip.exchange import notify, service

pages = APIRouter(include_in_schema=False, route_class=TransactionRoute)
layout.register_nav(layout.NavItem("短信通知", "/notifications", P.NOTIFICATION_READ, order=100))

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


@pages.get("/notifications")
def notifications_page(
    request: Request,
    status: str | None = None,
    page: str | None = None,
    p: Principal = Depends(Require(P.NOTIFICATION_READ)),
    db: Session = DB,
):
    status = status if status in notify.STATUSES else None
    result = notify.listing(db, p, status=status, page=int(page) if (page or "").isdigit() else 1)
    kept = {"status": status} if status else {}
    s = get_settings()
    return render(
        request,
        "notifications.html",
        title="短信通知",
        result=result,
        status=status or "",
        statuses=notify.STATUSES,
        templates=notify.TEMPLATES,
        channel="控制台输出（演示）" if s.sms_adapter == "console" else "短信网关交换文件（sms-v1）",
        page_url=lambda n: "/notifications?" + urlencode({**kept, "page": n}),
        kept=kept,
        window=page_window(result.page, result.pages),
    )
