"""Reading the audit trail: officers (audit.read) and workers (who viewed my data)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session

from oip.auth import permissions as P
from oip.auth.deps import Require
from oip.auth.service import Principal
from oip.core import audit, layout
from oip.core.audit import ACTION_NAMES
from oip.core.audit_models import AuditEvent
from oip.core.layout import render
from oip.core.validation import FIELD_LABELS
from oip.core.web import DB, TransactionRoute

# Chinese names of keys that audit events record besides the domains' field labels (FIELD_LABELS).
_KEY_LABELS = {
    "username": "用户名",
    "role": "角色",
    "organisation_id": "机构编号",
    "kind": "类别",
    "region_code": "区划代码",
    "accepted": "接收",
    "rejected": "拒绝",
    "created": "新建",
    "changes": "变更",
    "platform": "平台企业",
    "q": "查询词",
    "page": "页码",
    "shown": "显示条数",
    "status": "状态",
    "by": "查找方式",
    "accounts": "平台账号",
    "files": "附件",
    "objection_id": "异议编号",
    "reported": "报送",
    "duplicates": "重复",
    "received": "收到",
}

api = APIRouter(tags=["audit"], route_class=TransactionRoute)
pages = APIRouter(include_in_schema=False, route_class=TransactionRoute)
layout.register_nav(layout.NavItem("审计日志", "/audit", P.AUDIT_READ, order=100))


class AuditOut(BaseModel):
    seq: int
    at: dt.datetime
    actor: str
    action: str
    entity_type: str | None
    entity_id: str | None
    purpose: str | None
    subjects: list[int]
    before: dict | None
    after: dict | None


class AccessOut(BaseModel):
    at: dt.datetime
    who: str  # the viewer's organisation and role (a worker is not shown staff usernames)
    organisation: str | None
    role_name: str | None
    action: str
    action_name: str
    purpose: str | None


def query_events(
    session: Session,
    *,
    action: str | None = None,
    actor: str | None = None,
    subject: int | None = None,
    before_seq: int | None = None,
    limit: int = 100,
) -> list[AuditEvent]:
    q = select(AuditEvent).order_by(AuditEvent.seq.desc()).limit(max(1, min(limit, 500)))
    if action:
        q = q.where(AuditEvent.action.startswith(action, autoescape=True))
    if actor:
        q = q.where(AuditEvent.actor.contains(actor, autoescape=True))
    if subject:
        q = q.where(AuditEvent.subjects.contains([subject]))
    if before_seq:
        q = q.where(AuditEvent.seq < before_seq)
    return list(session.scalars(q))


def access_log(session: Session, person_id: int, limit: int = 200) -> list[AuditEvent]:
    """Everyone who read or changed this person's data, newest first."""
    return list(
        session.scalars(
            select(AuditEvent)
            .where(AuditEvent.subjects.contains([person_id]))
            .order_by(AuditEvent.seq.desc())
            .limit(limit)
        )
    )


@dataclass
class Viewer:
    who: str
    organisation: str | None = None
    role_name: str | None = None


def viewers(session: Session, events: list[AuditEvent], self_user_id: int | None = None) -> dict[int, Viewer]:
    """Who acted in each event (by ``seq``), as a worker should see it: the organisation and role of the
    user (never their username), "本人" for the worker themselves, "系统" for automatic processing."""
    from oip.auth.models import User
    from oip.auth.permissions import ROLES

    ids = {e.actor_user_id for e in events if e.actor_user_id}
    users = {u.id: u for u in session.scalars(select(User).where(User.id.in_(ids)))} if ids else {}
    out: dict[int, Viewer] = {}
    for e in events:
        u = users.get(e.actor_user_id)
        if e.actor_user_id is not None and e.actor_user_id == self_user_id:
            out[e.seq] = Viewer("本人")
        elif u is None:
            out[e.seq] = Viewer("系统（自动处理）")
        else:
            r = ROLES.get(u.role)
            org, role_name = u.organisation.name, r.name if r else None
            out[e.seq] = Viewer(f"{org}（{role_name}）" if role_name and role_name not in org else org, org, role_name)
    return out


@api.get("/audit/events", response_model=list[AuditOut], summary="审计日志")
def events(
    action: str | None = None,
    actor: str | None = None,
    subject: int | None = None,
    before_seq: int | None = None,
    limit: int = Query(100, ge=1, le=500),
    p: Principal = Depends(Require(P.AUDIT_READ)),
    db: Session = DB,
):
    return [
        AuditOut.model_validate(e, from_attributes=True)
        for e in query_events(db, action=action, actor=actor, subject=subject, before_seq=before_seq, limit=limit)
    ]


@api.get("/audit/verify", summary="校验审计日志哈希链")
def verify(p: Principal = Depends(Require(P.AUDIT_READ)), db: Session = DB):
    r = audit.verify(db)
    return {"ok": r.ok, "events": r.checked, "first_broken_seq": r.broken_seq, "problem": r.problem}


@api.get("/me/access-log", response_model=list[AccessOut], summary="谁查看了我的信息")
def my_access_log(p: Principal = Depends(Require(P.SELF_READ)), db: Session = DB):
    log = access_log(db, p.person_id)
    who = viewers(db, log, p.user_id)
    return [
        AccessOut(
            at=e.at,
            who=who[e.seq].who,
            organisation=who[e.seq].organisation,
            role_name=who[e.seq].role_name,
            action=e.action,
            action_name=ACTION_NAMES.get(e.action, e.action),
            purpose=e.purpose,
        )
        for e in log
    ]


@pages.get("/audit")
def audit_page(
    request: Request,
    action: str | None = None,
    actor: str | None = None,
    before_seq: int | None = None,
    p: Principal = Depends(Require(P.AUDIT_READ)),
    db: Session = DB,
):
    rows = query_events(db, action=action, actor=actor, before_seq=before_seq, limit=100)
    return render(
        request,
        "audit.html",
        title="审计日志",
        rows=rows,
        action=action or "",
        actor=actor or "",
        names=ACTION_NAMES,
        objects=audit.entity_labels(db, rows),
        labels={**_KEY_LABELS, **FIELD_LABELS},
        verify=audit.verify(db) if request.query_params.get("verify") else None,
    )
