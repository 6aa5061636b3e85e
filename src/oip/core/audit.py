"""The audit trail: every write, and every read of personal data, in the same transaction.

Events are append-only (a database trigger refuses UPDATE/DELETE/TRUNCATE) and hash-chained:
each event's hash covers its content and the previous event's hash, and ``audit_head`` holds the
last sequence number and hash. ``verify`` walks the chain and names the first broken event.
Appends are serialised by a transaction-level advisory lock, so the chain is strictly linear.
"""

from __future__ import annotations

import datetime as dt
import decimal
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from oip.core import clock
from oip.core.audit_models import AuditEvent, AuditHead

# Chinese names of audit actions, for the pages; each domain adds its own (register_actions).
ACTION_NAMES = {
    "auth.sign_in": "登录",
    "auth.sign_out": "退出登录",
    "auth.sign_in_failed": "登录失败",
    "auth.sign_in_throttled": "登录受限（失败次数过多）",
    "auth.token_issued": "签发访问令牌",
    "auth.token_refused": "拒绝签发访问令牌",
    "user.create": "建立用户",
    "user.set_password": "设置密码",
    "reference.load": "加载参考数据",
    "industry.create": "登记试点行业",
    "industry.update": "修改试点行业",
    "insurer.assign": "分派受托保险机构",
    "worker.view": "查看人员详情（脱敏）",
    "worker.view_full": "查看完整证件号码/手机号",
    "worker.list": "查询人员名册",
    "worker.register": "报送人员信息",
    "worker.status": "变更人员状态",
    "worker.self_check": "本人公开查询",
}


def register_actions(names: dict[str, str]) -> None:
    ACTION_NAMES.update(names)


# What the audited objects are, in Chinese, for the page (the code stays in a muted second line).
ENTITY_KINDS = {
    "person": "人员",
    "platform_account": "平台账号",
    "registration_batch": "人员报送批次",
    "user": "用户",
    "organisation": "机构",
    "api_credential": "接口凭证",
    "insurer_assignment": "受托分派",
    "platform": "平台企业",
    "admission": "试点纳入申请",
    "industry": "试点行业",
    "reference": "参考数据",
    "parameter": "业务参数",
    "order_batch": "订单数据批次",
    "premium_declaration": "保障费核定",
    "premium_month": "保障费核定月份",
    "premium_flag": "对账差异",
    "float_year": "年度浮动档次",
    "exchange_message": "数据交换消息",
}

# kind -> function(session, ids) -> {id: name}: each domain names its own objects (register_entity_names).
_NAMERS: dict[str, Callable[[Session, list[str]], dict[str, str]]] = {}


def register_entity_names(
    kind: str, label: str, namer: Callable[[Session, list[str]], dict[str, str]] | None = None
) -> None:
    """A domain's audited object kind: its Chinese label and, optionally, how to name objects by id
    (one query for a page of events)."""
    ENTITY_KINDS[kind] = label
    if namer is not None:
        _NAMERS[kind] = namer


def entity_labels(session: Session, events: list[AuditEvent]) -> dict[int, dict]:
    """For each event (by seq): the object's kind in Chinese, its name where known, and the raw
    kind and id (for a muted line)."""
    wanted: dict[str, set[str]] = {}
    for e in events:
        if e.entity_type in _NAMERS and e.entity_id:
            wanted.setdefault(e.entity_type, set()).add(e.entity_id)
    names = {kind: _NAMERS[kind](session, sorted(ids)) for kind, ids in wanted.items()}
    return {
        e.seq: {
            "kind": ENTITY_KINDS.get(e.entity_type or "", e.entity_type or ""),
            "name": names.get(e.entity_type or "", {}).get(e.entity_id or "", ""),
            "code": " ".join(x for x in (e.entity_type, e.entity_id) if x),
        }
        for e in events
    }


GENESIS = "0" * 64
_LOCK_KEY = 0x0A0D17  # pg_advisory_xact_lock key for the audit chain


class Actor(Protocol):
    user_id: int | None
    label: str
    ip: str | None


@dataclass
class SystemActor:
    label: str = "system"
    user_id: int | None = None
    ip: str | None = None


SYSTEM = SystemActor()


def _default(o: Any) -> Any:
    if isinstance(o, (dt.date, dt.datetime)):
        return o.isoformat()
    if isinstance(o, decimal.Decimal):
        return str(o)
    if isinstance(o, bytes):
        return o.hex()
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")


def jsonable(d: dict | None) -> dict | None:
    return None if d is None else json.loads(json.dumps(d, default=_default, ensure_ascii=False))


def _digest(prev_hash: str, ev: dict) -> str:
    body = json.dumps(ev, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=_default)
    return hashlib.sha256((prev_hash + body).encode()).hexdigest()


def _content(e: AuditEvent) -> dict:
    return {
        "seq": e.seq,
        "at": e.at.astimezone(dt.UTC).isoformat(),
        "actor_user_id": e.actor_user_id,
        "actor": e.actor,
        "action": e.action,
        "entity_type": e.entity_type,
        "entity_id": e.entity_id,
        "subjects": list(e.subjects or []),
        "purpose": e.purpose,
        "before": e.before,
        "after": e.after,
        "ip": e.ip,
    }


def record(
    session: Session,
    actor: Actor,
    action: str,
    *,
    entity_type: str | None = None,
    entity_id: Any = None,
    before: dict | None = None,
    after: dict | None = None,
    purpose: str | None = None,
    subjects: list[int] | None = None,
) -> AuditEvent:
    """Append one event to the chain inside the caller's transaction."""
    session.flush()
    session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _LOCK_KEY})
    head = session.get(AuditHead, 1, with_for_update=True)
    seq, prev = (head.seq + 1, head.hash) if head else (1, GENESIS)
    ev = AuditEvent(
        seq=seq,
        at=clock.now().replace(microsecond=0),
        actor_user_id=actor.user_id,
        actor=actor.label,
        action=action,
        entity_type=entity_type,
        entity_id=None if entity_id is None else str(entity_id),
        subjects=sorted(set(subjects or [])),
        purpose=purpose,
        before=jsonable(before),
        after=jsonable(after),
        ip=getattr(actor, "ip", None),
        prev_hash=prev,
    )
    ev.hash = _digest(prev, _content(ev))
    session.add(ev)
    if head:
        head.seq, head.hash = seq, ev.hash
    else:
        session.add(AuditHead(id=1, seq=seq, hash=ev.hash))
    session.flush()
    return ev


def diff(before: dict, after: dict) -> tuple[dict, dict]:
    """Only the fields that changed, for an event's before/after."""
    keys = [k for k in after if before.get(k) != after.get(k)]
    return {k: before.get(k) for k in keys}, {k: after[k] for k in keys}


@dataclass
class VerifyResult:
    ok: bool
    checked: int
    broken_seq: int | None = None
    problem: str | None = None


def verify(session: Session, batch: int = 5000) -> VerifyResult:
    """Walk the whole chain; report the first event that was altered, removed or inserted."""
    prev, expected, checked = GENESIS, 1, 0
    last = 0
    while True:
        rows = session.scalars(
            select(AuditEvent).where(AuditEvent.seq > last).order_by(AuditEvent.seq).limit(batch)
        ).all()
        if not rows:
            break
        for e in rows:
            if e.seq != expected:
                return VerifyResult(False, checked, expected, f"event {expected} is missing (next is {e.seq})")
            if e.prev_hash != prev:
                return VerifyResult(False, checked, e.seq, f"event {e.seq} does not follow event {e.seq - 1}")
            if _digest(prev, _content(e)) != e.hash:
                return VerifyResult(False, checked, e.seq, f"event {e.seq} was altered")
            prev, expected, checked, last = e.hash, e.seq + 1, checked + 1, e.seq
        session.expunge_all()
    head = session.get(AuditHead, 1)
    if head and (head.seq != last or head.hash != prev):
        return VerifyResult(False, checked, last + 1, f"events after {last} were removed (head is {head.seq})")
    return VerifyResult(True, checked)
