"""``oip calendar …``: the holiday arrangements (节假日安排) that working-day deadlines follow.

``load FILE`` reads a CSV ``date,kind,note`` of one year (oip.reference.calendar) and replaces what
was loaded for that year; ``show --year Y`` prints a year's days off on weekdays and working
weekend days with where they come from. JSON on stdout; a refusal exits 2 with the reason."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.console import Console

err = Console(stderr=True, soft_wrap=True)


def _fail(reason: str) -> None:
    err.print(f"[red]{reason}[/red]")
    raise typer.Exit(2)


def register(app: typer.Typer) -> None:
    """Adds this domain's commands to ``oip``."""
    from oip.core.errors import DomainError

    cal_app = typer.Typer(help="The holiday calendar (法定节假日与调休) that working days follow.",
                          no_args_is_help=True)
    app.add_typer(cal_app, name="calendar")

    @cal_app.command("load")
    def load(file: Path = typer.Argument(..., help="CSV, UTF-8, header date,kind,note (kind: holiday or workday)."),
             by: str = typer.Option(..., help="Acting officer's username (the load is recorded under it).")) -> None:
        """Load one year's holidays and working weekend days; replaces what was loaded for that year
        and wins over the chinese-calendar package's data for it."""
        from sqlalchemy import select

        from oip.auth.models import User
        from oip.auth.service import principal_for
        from oip.core.db import session_scope
        from oip.reference import calendar

        try:
            text = file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as e:
            _fail(f"无法读取日历文件（应为 UTF-8 编码的 CSV）：{e}")
        try:
            with session_scope() as s:
                user = s.scalar(select(User).where(User.username == by))
                if user is None or not user.is_active:
                    _fail(f"没有启用的用户 {by}")
                year, rows = calendar.load_year(s, principal_for(s, user, via="cli"), text)
                out = {"year": year, "holidays": sum(r.kind == "holiday" for r in rows),
                       "workdays": sum(r.kind == "workday" for r in rows)}
        except DomainError as e:
            _fail(e.reason)
        print(json.dumps(out, ensure_ascii=False))

    @cal_app.command("show")
    def show(year: int = typer.Option(..., help="The year, e.g. 2026.")) -> None:
        """A year's days off on weekdays and working weekend days, and where they come from."""
        from oip.core.db import session_scope
        from oip.reference import calendar

        try:
            with session_scope() as s:
                out = calendar.year_view(calendar.current(s), year, calendar.loaded_days(s, year))
        except DomainError as e:
            _fail(e.reason)
        print(json.dumps(out, ensure_ascii=False))
