"""Reading the audit trail: officers (audit.read) and workers (who viewed my data)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel
from sqlalchemy import Date, cast, func, select
from sqlalchemy.orm import Session

from oip.auth import permissions as P
from oip.auth.deps import Require
from oip.auth.service import Principal
from oip.core import audit, clock, layout
from oip.core.audit import ACTION_NAMES
from oip.core.audit_models import AuditEvent
from oip.core.layout import render
from oip.core.pagination import Page, page_count
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


# Appearances of a person in search results (a roster page listing them among others): not views of
# the person, so the worker sees them counted per day and organisation, apart from the views and changes.
LIST_ACTIONS = ("worker.list", "case.list")
ACCESS_PAGE = 50
APPEARANCE_PAGE = 30


def access_log(session: Session, person_id: int, page: int = 1, size: int = ACCESS_PAGE) -> Page[AuditEvent]:
    """Everything done with this person's data except appearances in lists — views, full views,
    registrations, status changes, coverage look-ups, … — newest first, one page of ``size``."""
    if person_id is None:
        return Page([], 0, 1, size)
    cond = (AuditEvent.subjects.contains([person_id]), AuditEvent.action.not_in(LIST_ACTIONS))
    total = session.scalar(select(func.count()).select_from(AuditEvent).where(*cond)) or 0
    page = min(max(1, page), page_count(total, size))
    rows = session.scalars(
        select(AuditEvent).where(*cond).order_by(AuditEvent.seq.desc()).offset((page - 1) * size).limit(size)
    )
    return Page(list(rows), total, page, size)


@dataclass
class Appearance:
    """On ``day`` (Beijing time), ``who`` listed the person ``count`` times among search results."""

    day: dt.date
    who: str
    organisation: str | None
    role_name: str | None
    count: int


def list_appearances(
    session: Session, person_id: int, page: int = 1, size: int = APPEARANCE_PAGE, self_user_id: int | None = None
) -> Page[Appearance]:
    """Appearances in lists, counted per day and per organisation (and role), newest day first."""
    if person_id is None:
        return Page([], 0, 1, size)
    day = cast(func.timezone(clock.SHANGHAI.key, AuditEvent.at), Date).label("day")
    grouped = session.execute(
        select(day, AuditEvent.actor_user_id, func.count())
        .where(AuditEvent.subjects.contains([person_id]), AuditEvent.action.in_(LIST_ACTIONS))
        .group_by(day, AuditEvent.actor_user_id)
    ).all()
    who = users_as_viewers(session, {uid for _d, uid, _n in grouped}, self_user_id)
    merged: dict[tuple[dt.date, str], Appearance] = {}
    for d, uid, n in grouped:
        v = who[uid]
        a = merged.setdefault((d, v.who), Appearance(d, v.who, v.organisation, v.role_name, 0))
        a.count += n
    rows = sorted(merged.values(), key=lambda a: (-a.day.toordinal(), -a.count, a.who))
    page = min(max(1, page), page_count(len(rows), size))
    return Page(rows[(page - 1) * size : page * size], len(rows), page, size)


@dataclass
class Viewer:
    who: str
    organisation: str | None = None
    role_name: str | None = None


def viewers(session: Session, events: list[AuditEvent], self_user_id: int | None = None) -> dict[int, Viewer]:
    """Who acted in each event (by ``seq``), as a worker should see it: the organisation and role of the
    user (never their username), "本人" for the worker themselves, "系统" for automatic processing."""
    by_user = users_as_viewers(session, {e.actor_user_id for e in events}, self_user_id)
    return {e.seq: by_user[e.actor_user_id] for e in events}


def users_as_viewers(session: Session, user_ids: set[int | None], self_user_id: int | None = None) -> dict:
    """``viewers`` by user id (None: the system)."""
    from oip.auth.models import User
    from oip.auth.permissions import ROLES

    ids = {u for u in user_ids if u}
    users = {u.id: u for u in session.scalars(select(User).where(User.id.in_(ids)))} if ids else {}
    out: dict[int | None, Viewer] = {}
    for uid in user_ids:
        u = users.get(uid)
        if uid is not None and uid == self_user_id:
            out[uid] = Viewer("本人")
        elif u is None:
            out[uid] = Viewer("系统（自动处理）")
        else:
            r = ROLES.get(u.role)
            org, role_name = u.organisation.name, r.name if r else None
            out[uid] = Viewer(f"{org}（{role_name}）" if role_name and role_name not in org else org, org, role_name)
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


@api.get("/audit/verify", summary="校验审计链（密钥校验码、待链接队列、检查点）")
def verify(p: Principal = Depends(Require(P.AUDIT_READ)), db: Session = DB):
    r = audit.verify(db)
    return {
        "ok": r.ok,
        "events": r.checked,
        "pending": r.pending,
        "anchored": r.anchored,
        "checkpoints": r.checkpoints,
        "first_broken_seq": r.broken_seq,
        "code": r.code,
        "problem": r.problem,
        "problems": [{"code": x.code, "reason": x.reason, "seq": x.seq} for x in r.problems],
        "warnings": r.warnings,
    }


class AccessPage(BaseModel):
    items: list[AccessOut]
    total: int
    page: int
    size: int
    pages: int


class AppearanceOut(BaseModel):
    day: dt.date  # Beijing time
    who: str
    organisation: str | None
    role_name: str | None
    count: int


class AppearancePage(BaseModel):
    items: list[AppearanceOut]
    total: int
    page: int
    size: int
    pages: int


def access_out(session: Session, log: Page[AuditEvent], self_user_id: int | None) -> AccessPage:
    who = viewers(session, log.items, self_user_id)
    return AccessPage(
        items=[
            AccessOut(
                at=clock.local(e.at),
                who=who[e.seq].who,
                organisation=who[e.seq].organisation,
                role_name=who[e.seq].role_name,
                action=e.action,
                action_name=ACTION_NAMES.get(e.action, e.action),
                purpose=e.purpose,
            )
            for e in log.items
        ],
        total=log.total,
        page=log.page,
        size=log.size,
        pages=log.pages,
    )


@api.get("/me/access-log", response_model=AccessPage, summary="谁查看或变更了我的信息（分页，不含名册列表中的出现）")
def my_access_log(
    page: int = Query(1, ge=1, le=1_000_000),
    size: int = Query(ACCESS_PAGE, ge=1, le=200),
    p: Principal = Depends(Require(P.SELF_READ)),
    db: Session = DB,
):
    """Every view, full view and change of your data (registrations, status changes, coverage
    look-ups, …), newest first; appearances in search results are counted in
    ``/me/list-appearances``."""
    return access_out(db, access_log(db, p.person_id, page, size), p.user_id)


@api.get(
    "/me/list-appearances", response_model=AppearancePage, summary="我的信息在名册查询结果中出现的次数（按日、按单位）"
)
def my_list_appearances(
    page: int = Query(1, ge=1, le=1_000_000),
    size: int = Query(APPEARANCE_PAGE, ge=1, le=200),
    p: Principal = Depends(Require(P.SELF_READ)),
    db: Session = DB,
):
    rows = list_appearances(db, p.person_id, page, size, p.user_id)
    return AppearancePage(
        items=[AppearanceOut(**vars(a)) for a in rows.items],
        total=rows.total,
        page=rows.page,
        size=rows.size,
        pages=rows.pages,
    )


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
