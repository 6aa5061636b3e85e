"""``oip notifications …``: the outbox of text messages to people (短信通知).

``send`` delivers what is due through the configured adapter (``OIP_SMS_ADAPTER``) and prints the
counts as JSON; ``list`` prints the newest notifications (phones masked) as a JSON array."""

from __future__ import annotations

import json

import typer
from rich.console import Console

from oip.core import clock

err = Console(stderr=True)


def register(app: typer.Typer) -> None:
    """Adds this domain's commands to ``oip``."""
    notifications = typer.Typer(
        help="Text messages to people (短信通知): send what is due, list.", no_args_is_help=True
    )
    app.add_typer(notifications, name="notifications")

    @notifications.command("send")
    def send(limit: int = typer.Option(1000, min=1, help="At most this many messages.")) -> None:
        """Send the due text messages (new ones and failed ones whose retry time has come); prints
        {"sent", "already_sent", "failed", "pending"}. Exit 1 if any failed."""
        from oip.core.db import get_sessionmaker
        from oip.exchange import notify
        from oip.exchange.sms import adapter_from_settings

        with get_sessionmaker()() as s:
            run = notify.deliver_pending(s, adapter_from_settings(), limit=limit)
            left = notify.counts(s)
        out = run.as_dict() | {"pending": left.get("pending", 0), "failed_total": left.get("failed", 0)}
        print(json.dumps(out, ensure_ascii=False))
        if run.failed:
            err.print(
                "[yellow]some messages were not sent; they are retried later (or run this command again)[/yellow]"
            )
            raise typer.Exit(1)

    @notifications.command("list")
    def list_(
        status: str = typer.Option(None, help="pending, sent or failed."),
        limit: int = typer.Option(50, min=1, max=1000, help="The newest this many."),
    ) -> None:
        """The newest notifications (phones masked) as a JSON array."""
        from sqlalchemy import select

        from oip.core.db import session_scope
        from oip.exchange import notify
        from oip.exchange.models import Notification

        if status is not None and status not in notify.STATUSES:
            err.print(f"[red]状态应为 {'、'.join(notify.STATUSES)} 之一[/red]")
            raise typer.Exit(2)
        q = select(Notification).order_by(Notification.id.desc()).limit(limit)
        if status:
            q = q.where(Notification.status == status)
        with session_scope() as s:
            rows = [
                {
                    "id": n.id,
                    "message_id": n.message_id,
                    "dedup_key": n.dedup_key,
                    "phone": n.phone_masked,
                    "template": n.template,
                    "template_name": notify.TEMPLATES[n.template].name if n.template in notify.TEMPLATES else None,
                    "status": n.status,
                    "status_name": notify.STATUSES.get(n.status, n.status),
                    "attempts": n.attempts,
                    "last_error": n.last_error,
                    "created_at": n.created_at,
                    "sent_at": n.sent_at,
                    "next_attempt_at": n.next_attempt_at,
                    "text": n.text,
                }
                for n in s.scalars(q)
            ]
        print(json.dumps(rows, ensure_ascii=False, default=clock.json_default))
