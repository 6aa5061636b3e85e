"""The notification outbox (短信通知): text messages to people, never lost, never sent twice.

1. ``enqueue`` stores the message (phone encrypted, text rendered from a template) in the caller's
   transaction, under the caller's idempotency key: enqueueing the same key again returns the row
   already there and adds nothing. What the caller rolls back is never sent.
2. ``deliver_pending`` (the server's background sender every few seconds, or ``oip notifications
   send``) claims one due row at a time with ``FOR UPDATE SKIP LOCKED`` (so several senders never
   take the same row), hands it to the SMS adapter under its stable id ``oip-ntf-<id>``, records the
   outcome and commits. A failure is recorded and tried again later (waits doubling from
   ``OIP_SMS_RETRY_SECONDS`` up to an hour). The adapter sends an id once: when a sender dies after
   the adapter took a message but before the row was marked, the next run hands it over again and
   the adapter answers "already sent" — the row is marked sent and nobody gets a second text.

This module sits low in the floor plan (exchange): it knows no workers or cases. Callers pass the
phone number, the person's id (for the person's own view) and the county of the matter (for the data
scope of the staff page), and register their own templates with ``register_templates``.
"""

from __future__ import annotations

import datetime as dt
import logging
import string
from dataclasses import dataclass

from sqlalchemy import func, or_, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session, sessionmaker

from oip.auth.scope import province_wide
from oip.auth.service import Principal
from oip.core import audit, clock, crypto
from oip.core.background import Periodic
from oip.core.errors import DomainError
from oip.core.ids import InvalidId, mask_phone, parse_mobile
from oip.core.pagination import Page
from oip.exchange.models import Notification
from oip.exchange.sms import SmsAdapter, SmsFailed, SmsMessage

log = logging.getLogger(__name__)

PHONE_CTX = "notification.phone"
STATUSES = {"pending": "待发送", "sent": "已发送", "failed": "发送失败"}
SENDER_THREAD = "oip-sms-sender"
MAX_RETRY_WAIT = dt.timedelta(hours=1)


@dataclass(frozen=True)
class Template:
    """A text message with ``{placeholders}``; ``name`` says in Chinese what it is about."""

    code: str
    name: str
    text: str

    @property
    def fields(self) -> set[str]:
        return {f for _, f, _, _ in string.Formatter().parse(self.text) if f}


TEMPLATES: dict[str, Template] = {}
audit.register_actions({"notification.list": "查看短信通知发送记录"})
audit.register_entity_names("notification", "短信通知")


def register_templates(*templates: Template) -> None:
    """Add templates (a domain registers its own at import); a code is defined once."""
    for t in templates:
        known = TEMPLATES.get(t.code)
        if known is not None and known != t:
            raise ValueError(f"SMS template {t.code!r} is already defined differently")
        TEMPLATES[t.code] = t


register_templates(
    Template(
        "case.materials_missing",
        "材料补正通知",
        "您的职业伤害确认申请（案件编号 {case_number}）材料不全，请在 {due_on} 前按《一次性补正告知书》补齐材料。",
    ),
    Template(
        "case.accepted",
        "受理通知",
        "您的职业伤害确认申请（案件编号 {case_number}）已于 {accepted_on} 受理，将在 {decision_due} 前作出结论。",
    ),
    Template(
        "case.decided",
        "结论作出通知",
        "您的职业伤害确认申请（案件编号 {case_number}）已作出结论，结论书将送达给您，也可登录平台查看。",
    ),
    Template(
        "letter.ready",
        "文书可领取通知",
        "您的《{letter_title}》（案件编号 {case_number}）已制作完成，可登录平台查看下载，或到 {office} 领取。",
    ),
)


def render(template: str, params: dict) -> str:
    """The text of a message: the SMS signature, then the template filled with ``params``."""
    from oip.core.config import get_settings

    t = TEMPLATES.get(template)
    if t is None:
        raise ValueError(f"unknown SMS template {template!r}")
    missing = t.fields - params.keys()
    if missing:
        raise ValueError(f"SMS template {template!r} needs {sorted(missing)}")
    return get_settings().sms_signature + t.text.format_map({k: str(v) for k, v in params.items()})


def enqueue(
    session: Session,
    *,
    dedup_key: str,
    phone: str,
    person_id: int | None,
    template: str,
    params: dict,
    region_code: str | None = None,
) -> Notification:
    """Put a text message in the outbox within the caller's transaction; the row of ``dedup_key``
    if it is there already (then nothing new is sent)."""
    dedup_key = dedup_key.strip()
    if not dedup_key or len(dedup_key) > 128:
        raise ValueError("dedup_key must be 1–128 characters")
    existing = session.scalar(select(Notification).where(Notification.dedup_key == dedup_key))
    if existing is not None:
        return existing
    try:
        number = parse_mobile(phone)
    except InvalidId as e:
        raise DomainError(f"无法发送短信通知：{e}", field="phone") from None
    params = {k: (v.isoformat() if isinstance(v, dt.date) else v) for k, v in params.items()}
    text = render(template, params)
    row_id = session.scalar(
        insert(Notification)
        .values(
            dedup_key=dedup_key,
            channel="sms",
            phone_enc=crypto.encrypt(number, PHONE_CTX),
            phone_masked=mask_phone(number),
            person_id=person_id,
            region_code=region_code,
            template=template,
            params=params,
            text=text,
            status="pending",
            attempts=0,
            created_at=clock.now(),
        )
        .on_conflict_do_nothing(index_elements=["dedup_key"])
        .returning(Notification.id)
    )
    if row_id is not None:
        return session.get(Notification, row_id)
    # Another transaction stored this key meanwhile (the insert waited for it to commit).
    return session.scalar(select(Notification).where(Notification.dedup_key == dedup_key))


@dataclass
class DeliveryRun:
    sent: int = 0
    already_sent: int = 0  # the adapter had them: marked sent, nothing sent again
    failed: int = 0

    def as_dict(self) -> dict[str, int]:
        return {"sent": self.sent, "already_sent": self.already_sent, "failed": self.failed}


def _due(now: dt.datetime):
    return or_(
        Notification.status == "pending",
        (Notification.status == "failed") & (Notification.next_attempt_at <= now),
    )


def retry_wait(attempts: int) -> dt.timedelta:
    from oip.core.config import get_settings

    base = get_settings().sms_retry_seconds
    return min(MAX_RETRY_WAIT, dt.timedelta(seconds=base * 2 ** max(0, attempts - 1)))


def deliver_pending(session: Session, adapter: SmsAdapter, limit: int = 100) -> DeliveryRun:
    """Send up to ``limit`` due messages, one at a time; commits after each (a job, not a request)."""
    run = DeliveryRun()
    tried: set[int] = set()
    for _ in range(max(0, limit)):
        now = clock.now()
        q = select(Notification).where(_due(now))
        if tried:
            q = q.where(Notification.id.not_in(tried))
        n = session.scalar(q.order_by(Notification.id).limit(1).with_for_update(skip_locked=True))
        if n is None:
            break
        tried.add(n.id)
        message = SmsMessage(n.message_id, crypto.decrypt(n.phone_enc, PHONE_CTX), n.text, n.template)
        n.attempts += 1
        n.last_attempt_at = now
        try:
            receipt = adapter.send(message)
        except SmsFailed as e:
            n.status, n.last_error = "failed", e.reason
            n.next_attempt_at = now + retry_wait(n.attempts) if e.retryable else None
            run.failed += 1
            log.warning("text message %s not sent (attempt %d): %s", n.message_id, n.attempts, e.reason)
        except BaseException:
            session.rollback()
            raise
        else:
            n.status, n.last_error, n.next_attempt_at = "sent", None, None
            n.sent_at, n.provider_message_id = receipt.at, receipt.provider_message_id
            if receipt.duplicate:
                run.already_sent += 1
            else:
                run.sent += 1
        session.commit()
    return run


def listing(
    session: Session, actor: Principal, *, status: str | None = None, page: int = 1, size: int = 50
) -> Page[Notification]:
    """The notifications of the matters in the actor's region, newest first (those of no county only
    for the whole province's staff); audited as a read of the people's data."""
    cond = Notification.region_code.startswith(actor.region_prefix, autoescape=True)
    if province_wide(actor):
        cond = cond | Notification.region_code.is_(None)
    if actor.role.scope != "region":
        cond = Notification.id.is_(None)  # only region staff read this list
    if status:
        cond = cond & (Notification.status == status)
    total = session.scalar(select(func.count()).select_from(Notification).where(cond)) or 0
    size = max(1, min(size, 200))
    page = max(1, page)
    items = list(
        session.scalars(
            select(Notification).where(cond).order_by(Notification.id.desc()).offset((page - 1) * size).limit(size)
        )
    )
    if items:
        audit.record(
            session,
            actor,
            "notification.list",
            entity_type="notification",
            subjects=[n.person_id for n in items if n.person_id is not None],
            after={"status": status, "page": page, "shown": len(items)},
        )
    return Page(items, total, page, size)


def of_person(session: Session, person_id: int, limit: int = 50) -> list[Notification]:
    """The text messages sent (or to be sent) to one person, newest first (their own view)."""
    return list(
        session.scalars(
            select(Notification)
            .where(Notification.person_id == person_id)
            .order_by(Notification.id.desc())
            .limit(limit)
        )
    )


def counts(session: Session) -> dict[str, int]:
    return dict(session.execute(select(Notification.status, func.count()).group_by(Notification.status)).all())


class BackgroundSender(Periodic):
    """A daemon thread that delivers due notifications every ``interval`` seconds (and once more
    when stopped)."""

    def __init__(self, make_session: sessionmaker, adapter: SmsAdapter, interval: float, limit: int = 100):
        self.make_session = make_session
        self.adapter = adapter
        self.limit = limit
        super().__init__(SENDER_THREAD, interval, self.run_once)

    def run_once(self) -> DeliveryRun:
        with self.make_session() as s:
            return deliver_pending(s, self.adapter, self.limit)


def start_background_sender(
    make_session: sessionmaker | None = None, adapter: SmsAdapter | None = None, interval: float | None = None
) -> BackgroundSender | None:
    """Start the server's sender (None when ``sms_send_interval`` is 0); ``.stop()`` ends it."""
    from oip.core.config import get_settings
    from oip.exchange.sms import adapter_from_settings

    interval = get_settings().sms_send_interval if interval is None else interval
    if interval <= 0:
        return None
    if make_session is None:
        from oip.core.db import get_sessionmaker

        make_session = get_sessionmaker()
    return BackgroundSender(make_session, adapter or adapter_from_settings(), interval).start()
