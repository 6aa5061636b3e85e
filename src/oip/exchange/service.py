"""The outbox and the message log: reliable, replayable delivery and a record of every message.

Sending is two steps so that a crash never loses or half-sends a message:

1. ``enqueue`` stores the exact signed bytes in ``exchange_outbox`` (status pending) in the
   caller's transaction, which the caller commits;
2. ``deliver`` hands pending (or failed) items to the gateway; only a confirmed delivery marks
   the item sent. A failure is logged with its reason and the item stays for a replay, which sends
   the same bytes under the same message id (receivers ignore a message id they already have).

Receiving (``receive``) logs every inbound message with its SHA-256: a message whose bytes were
imported before is recorded as a duplicate and not imported again; a message with a bad or
missing signature is rejected with the reason before anything is read from it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from oip.core import clock
from oip.core.errors import DomainError
from oip.exchange import tax
from oip.exchange.models import ExchangeMessage, OutboxItem

OUTBOX_STATUSES = {"pending": "待发送", "sent": "已送达", "failed": "发送失败（待重发）", "withdrawn": "已撤回"}
MESSAGE_STATUSES = {
    "sent": "已送达",
    "failed": "发送失败",
    "imported": "已导入",
    "rejected": "已拒收",
    "duplicate": "重复（已导入过）",
}
KIND_NAMES = {"declarations": "保障费核定结果", "returns": "申报缴费回执"}
SYSTEM_NAMES = {"tax": "税务部门"}


def log(
    session: Session,
    *,
    direction: str,
    system: str,
    kind: str,
    location: str,
    body: bytes,
    status: str,
    message_id: str | None = None,
    signature: str | None = None,
    error: str | None = None,
    records: int | None = None,
    meta: dict | None = None,
) -> ExchangeMessage:
    m = ExchangeMessage(
        direction=direction,
        system=system,
        kind=kind,
        message_id=message_id,
        location=location,
        sha256=tax.sha256(body),
        signature=signature,
        status=status,
        error=error,
        records=records,
        meta=meta or {},
        at=clock.now(),
    )
    session.add(m)
    session.flush()
    return m


# ---- out -----------------------------------------------------------------------------------------


def enqueue(session: Session, system: str, kind: str, message: tax.SignedMessage) -> OutboxItem:
    item = OutboxItem(
        system=system,
        kind=kind,
        message_id=message.message_id,
        filename=message.filename,
        payload=message.body,
        sha256=tax.sha256(message.body),
        signature=message.signature,
        status="pending",
        attempts=0,
        created_at=clock.now(),
    )
    session.add(item)
    session.flush()
    return item


def undelivered(session: Session, system: str, kind: str | None = None) -> list[OutboxItem]:
    q = select(OutboxItem).where(OutboxItem.system == system, OutboxItem.status.in_(("pending", "failed")))
    if kind:
        q = q.where(OutboxItem.kind == kind)
    return list(session.scalars(q.order_by(OutboxItem.id)))


def next_undelivered(session: Session, system: str, kind: str, skip: set[int]) -> OutboxItem | None:
    """The oldest undelivered item nobody else is delivering right now (locked until the caller
    commits), leaving out ``skip`` (tried already in this run)."""
    q = select(OutboxItem).where(
        OutboxItem.system == system, OutboxItem.kind == kind, OutboxItem.status.in_(("pending", "failed"))
    )
    if skip:
        q = q.where(OutboxItem.id.not_in(skip))
    return session.scalar(q.order_by(OutboxItem.id).limit(1).with_for_update(skip_locked=True))


@dataclass
class Delivery:
    item: OutboxItem
    receipt: tax.SendReceipt | None = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.receipt is not None


def deliver(session: Session, item: OutboxItem, gateway: tax.TaxGateway) -> Delivery:
    """Try to hand one outbox item to the gateway; log the attempt either way."""
    if item.status == "sent":
        raise DomainError(f"消息 {item.message_id} 已送达，无需重发", field="message_id")
    # Signed again with the key configured now: the bytes never change, but a message refused for
    # a key that was wrong (or has been rotated since) goes out with a valid signature.
    signature = tax.sign(item.payload)
    if signature != item.signature:
        item.signature = signature
    message = tax.SignedMessage(item.message_id, item.filename, item.payload, signature)
    item.attempts += 1
    item.last_attempt_at = clock.now()
    try:
        receipt = gateway.send(message)
    except tax.DeliveryFailed as e:
        item.status, item.last_error = "failed", e.reason
        log(
            session,
            direction="out",
            system=item.system,
            kind=item.kind,
            location=item.filename,
            body=item.payload,
            status="failed",
            message_id=item.message_id,
            signature=item.signature,
            error=e.reason,
            meta={"gateway": gateway.name, "attempt": item.attempts, "retryable": e.retryable},
        )
        return Delivery(item, error=e.reason)
    item.status, item.last_error, item.sent_at = "sent", None, receipt.at
    item.receipt = {"location": receipt.location, "reference": receipt.reference, "at": receipt.at.isoformat()}
    log(
        session,
        direction="out",
        system=item.system,
        kind=item.kind,
        location=receipt.location,
        body=item.payload,
        status="sent",
        message_id=item.message_id,
        signature=item.signature,
        meta={"gateway": gateway.name, "attempt": item.attempts, "reference": receipt.reference},
    )
    return Delivery(item, receipt=receipt)


# ---- in ------------------------------------------------------------------------------------------


class Refused(DomainError):
    """An inbound message that must not be imported (the reason is recorded and filed with it)."""


@dataclass
class Received:
    message: tax.InboundMessage
    status: str  # imported, rejected, duplicate
    records: int = 0
    reason: str | None = None
    log_id: int | None = None
    details: dict = field(default_factory=dict)


def already_imported(session: Session, system: str, body: bytes) -> ExchangeMessage | None:
    return session.scalar(
        select(ExchangeMessage)
        .where(
            ExchangeMessage.system == system,
            ExchangeMessage.direction == "in",
            ExchangeMessage.status == "imported",
            ExchangeMessage.sha256 == tax.sha256(body),
        )
        .limit(1)
    )


def receive(
    session: Session,
    system: str,
    kind: str,
    msg: tax.InboundMessage,
    *,
    require_signature: bool,
    handler: Callable[[ExchangeMessage], dict],
) -> Received:
    """Verify, de-duplicate and import one inbound message through ``handler`` (which reads
    ``msg`` and returns {"records": n, ...}, or raises Refused/DomainError). The import runs in a
    savepoint: a refused message leaves nothing behind but its log entry."""
    prior = already_imported(session, system, msg.body)
    if prior is not None:
        m = log(
            session,
            direction="in",
            system=system,
            kind=kind,
            location=msg.name,
            body=msg.body,
            status="duplicate",
            signature=msg.signature,
            error=f"与 {clock.fmt(prior.at)} 导入的消息（日志 {prior.id}）内容相同",
            meta={"duplicate_of": prior.id},
        )
        return Received(msg, "duplicate", reason=m.error, log_id=m.id)
    reason = None
    if msg.signature is None and require_signature:
        reason = "缺少签名（.sig 文件或 X-OIP-Signature）"
    elif msg.signature is not None and not tax.verify(msg.body, msg.signature):
        reason = "签名校验失败：文件内容与签名不符（可能被改动，或密钥不一致）"
    if reason is None:
        m = log(
            session,
            direction="in",
            system=system,
            kind=kind,
            location=msg.name,
            body=msg.body,
            status="imported",
            signature=msg.signature,
            meta={"cursor": msg.cursor} if msg.cursor else {},
        )
        try:
            with session.begin_nested():
                details = handler(m)
        except DomainError as e:
            reason = e.reason
            session.delete(m)
            session.flush()
        else:
            m.records = details.get("records", 0)
            if details.get("message_id"):
                m.message_id = details["message_id"]
            session.flush()
            return Received(msg, "imported", m.records, log_id=m.id, details=details)
    m = log(
        session,
        direction="in",
        system=system,
        kind=kind,
        location=msg.name,
        body=msg.body,
        status="rejected",
        signature=msg.signature,
        error=reason,
    )
    return Received(msg, "rejected", reason=reason, log_id=m.id)


def last_cursor(session: Session, system: str, kind: str) -> str | None:
    """The cursor of the last imported HTTP fetch (where the next fetch starts)."""
    for meta in session.scalars(
        select(ExchangeMessage.meta)
        .where(
            ExchangeMessage.system == system,
            ExchangeMessage.kind == kind,
            ExchangeMessage.direction == "in",
            ExchangeMessage.status == "imported",
        )
        .order_by(ExchangeMessage.id.desc())
        .limit(50)
    ):
        if meta and meta.get("cursor"):
            return meta["cursor"]
    return None


# ---- reads ---------------------------------------------------------------------------------------


def messages(
    session: Session,
    *,
    system: str | None = None,
    direction: str | None = None,
    status: str | None = None,
    limit: int = 200,
) -> list[ExchangeMessage]:
    q = select(ExchangeMessage).order_by(ExchangeMessage.id.desc()).limit(limit)
    if system:
        q = q.where(ExchangeMessage.system == system)
    if direction:
        q = q.where(ExchangeMessage.direction == direction)
    if status:
        q = q.where(ExchangeMessage.status == status)
    return list(session.scalars(q))


def outbox(
    session: Session, *, system: str | None = None, status: str | None = None, limit: int = 200
) -> list[OutboxItem]:
    q = select(OutboxItem).order_by(OutboxItem.id.desc()).limit(limit)
    if system:
        q = q.where(OutboxItem.system == system)
    if status:
        q = q.where(OutboxItem.status == status)
    return list(session.scalars(q))
