"""``oip benefits …``: monthly benefits (定期待遇) from the command line — the monthly run, the
re-rating after a parameter change (调整), eligibility confirmations (领取待遇资格认证) and stops.

Every command acts as a user (``--by``: their role's permission and data scope, audited) and prints
JSON on stdout; a refusal exits with status 2 and the reason in Chinese on stderr."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from typing import Any

import typer
from rich.console import Console

err = Console(stderr=True, soft_wrap=True)


def _as(by: str, permission: str, act: Callable[[Any, Any], Any]) -> None:
    from sqlalchemy import select

    from oip.auth.models import User
    from oip.auth.service import principal_for
    from oip.core.db import session_scope
    from oip.core.errors import DomainError

    try:
        with session_scope() as s:
            user = s.scalar(select(User).where(User.username == by))
            if user is None or not user.is_active:
                raise DomainError(f"没有启用的用户 {by}", field="by")
            actor = principal_for(s, user, via="cli")
            if not actor.can(permission):
                raise DomainError(f"用户 {by}（{actor.role.name}）无权执行该操作（{permission}）", field="by")
            out = act(s, actor)
    except DomainError as e:
        err.print(f"[red]{e.reason}[/red]")
        raise typer.Exit(2) from None
    print(json.dumps(out, ensure_ascii=False, default=str))


def _day(value: str, field: str) -> dt.date:
    from oip.core.errors import DomainError

    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise DomainError(f"{field} 应为 YYYY-MM-DD 格式的日期", field=field) from None


def register(app: typer.Typer) -> None:
    """Adds this domain's commands to ``oip``."""
    from oip.auth import permissions as P

    benefits = typer.Typer(help="Benefits (待遇): monthly benefits (定期待遇).", no_args_is_help=True)
    eligibility = typer.Typer(help="Yearly eligibility confirmation (领取待遇资格认证).", no_args_is_help=True)
    app.add_typer(benefits, name="benefits")
    benefits.add_typer(eligibility, name="eligibility")

    @benefits.command("run-month")
    def run_month(
        month: str = typer.Option(
            ..., "--month", help="YYYY-MM: owe every month up to it (catch-up), not after the current month."
        ),
        by: str = typer.Option(..., "--by", help="The officer (benefit.determine); their region is the scope."),
        case_id: int | None = typer.Option(None, "--case", help="Only this case's monthly benefits."),
    ) -> None:
        """Owe the monthly payables of every monthly benefit in scope up to MONTH (idempotent)."""
        from oip.benefits import monthly

        _as(
            by,
            P.BENEFIT_DETERMINE,
            lambda s, a: {"month": month, **monthly.run_month(s, a, month, case_id=case_id).as_dict()},
        )

    @benefits.command("rerate")
    def rerate(
        from_month: str = typer.Option(..., "--from", help="YYYY-MM: the month the parameter change applies from."),
        by: str = typer.Option(..., "--by", help="The officer (benefit.approve)."),
        note: str = typer.Option("", "--note", help="The document behind the adjustment (调待文件)."),
        case_id: int | None = typer.Option(None, "--case", help="Only this case's monthly benefits."),
    ) -> None:
        """调整: recompute every monthly benefit in scope from a month under the parameters then in force;
        the difference for months already owed is owed as arrears."""
        from oip.benefits import monthly

        _as(
            by,
            P.BENEFIT_APPROVE,
            lambda s, a: {"from_month": from_month, **monthly.rerate(s, a, from_month, note=note, case_id=case_id)},
        )

    @benefits.command("stop")
    def stop(
        monthly_id: int = typer.Argument(..., help="The monthly benefit's id."),
        on: str = typer.Option(..., "--on", help="YYYY-MM-DD: the day of the condition (its month is the last paid)."),
        reason: str = typer.Option(..., "--reason", help="death | school | refusal_review | refusal_treatment"),
        by: str = typer.Option(..., "--by", help="The officer (benefit.determine)."),
        note: str = typer.Option("", "--note"),
    ) -> None:
        """Stop a monthly benefit on a dated condition; prints what is to recover (应追回)."""
        from oip.benefits import monthly

        def act(s, a):
            mb = monthly.stop(s, a, monthly_id, on=_day(on, "on"), reason=reason, note=note)
            view = monthly.describe(s, mb, months=0)
            return {
                k: view[k]
                for k in ("id", "status", "stopped_on", "stop_reason", "last_month", "overpaid", "overpaid_fen")
            }

        _as(by, P.BENEFIT_DETERMINE, act)

    @eligibility.command("confirm")
    def confirm(
        monthly_id: int = typer.Argument(
            ..., help="A monthly benefit of the recipient (all of theirs on the case are confirmed)."
        ),
        on: str = typer.Option(..., "--on", help="YYYY-MM-DD: the day of the confirmation."),
        means: str = typer.Option(..., "--means", help="portal | desk | visit | data"),
        by: str = typer.Option(..., "--by", help="The officer (benefit.determine)."),
        note: str = typer.Option("", "--note"),
    ) -> None:
        """Record a confirmation; a paused recipient resumes and the held months are released."""
        from oip.benefits import monthly

        def act(s, a):
            done = monthly.confirm_eligibility(s, a, monthly_id, confirmed_on=_day(on, "on"), means=means, note=note)
            return [{"id": b.id, "status": b.status, "eligibility_due": b.eligibility_due} for b in done]

        _as(by, P.BENEFIT_DETERMINE, act)

    @eligibility.command("due")
    def due(
        by: str = typer.Option(..., "--by", help="A user with benefit.read; their scope."),
        paused: bool = typer.Option(False, "--paused", help="The paused recipients instead."),
        page: int = typer.Option(1, "--page", min=1),
    ) -> None:
        """Recipients whose confirmation is due within 30 days (or paused), by date."""
        from oip.benefits import monthly

        def act(s, a):
            out = monthly.list_monthly(s, a, filter="paused" if paused else "due_soon", page=page)
            return {"total": out.total, "page": page, "items": out.items}

        _as(by, P.BENEFIT_READ, act)
