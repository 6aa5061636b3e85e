"""``oip fund …``: the fund's ledger from the command line (a scheduled job or an officer at a
terminal). JSON on stdout. ``check`` exits 1 and names every problem when the ledger is not whole;
a refused act exits 2 with the reason in Chinese."""

from __future__ import annotations

import json

import typer
from rich.console import Console

err = Console(stderr=True)


def register(app: typer.Typer) -> None:
    """Adds this domain's commands to ``oip``."""
    fund = typer.Typer(help="The fund (基金): ledger, periods, trial balance, check.", no_args_is_help=True)
    app.add_typer(fund, name="fund")

    def _run(by: str | None, fn):
        from sqlalchemy import select

        from oip.auth.models import User
        from oip.auth.service import principal_for
        from oip.core import audit
        from oip.core.db import session_scope
        from oip.core.errors import DomainError

        try:
            with session_scope() as s:
                actor = audit.SYSTEM
                if by:
                    user = s.scalar(select(User).where(User.username == by))
                    if user is None or not user.is_active:
                        raise DomainError(f"没有启用的用户 {by}", field="by")
                    actor = principal_for(s, user, via="cli")
                return fn(s, actor)
        except DomainError as e:
            err.print(f"[red]{e.reason}[/red]")
            raise typer.Exit(2) from None

    @fund.command("post")
    def post() -> None:
        """Book every business event (tax returns, bank results) the fund has not yet booked."""
        from oip.fund import posting

        print(json.dumps(_run(None, lambda s, a: posting.post_pending(s, a).as_dict()), ensure_ascii=False))

    @fund.command("check")
    def check() -> None:
        """Verify the ledger: balanced entries and periods, closed periods unchanged, every event
        booked once and traced to its source and back, the books tied to money received and paid."""
        from oip.fund import check as fund_check

        report = _run(None, lambda s, a: fund_check.run(s).as_dict())
        print(json.dumps(report, ensure_ascii=False, indent=1))
        if not report["ok"]:
            for p in report["problems"]:
                err.print(f"[red]✗ {p}[/red]")
            raise typer.Exit(1)

    @fund.command("trial-balance")
    def trial_balance(
        year: int = typer.Option(..., "--year", help="The year, e.g. 2026."),
        city: str | None = typer.Option(None, "--city", help="One city's books: 450100 (450000: the region)."),
        as_json: bool = typer.Option(False, "--json", help="JSON rows (the default is a table)."),
    ) -> None:
        """Per subject: the year's debits, credits and balance (试算平衡表)."""
        from oip.fund import posting

        rows = _run(None, lambda s, a: posting.trial_balance(s, year, city))
        if as_json:
            print(json.dumps(rows, ensure_ascii=False, indent=1))
            return
        from rich.table import Table

        t = Table(title=f"{year} 年试算平衡表" + (f"（{city}）" if city else ""))
        for col in ("科目编码", "科目名称", "借方发生额(分)", "贷方发生额(分)", "余额(分)"):
            t.add_column(col)
        for r in rows:
            t.add_row(
                r["subject_code"], r["subject_name"], str(r["debit_fen"]), str(r["credit_fen"]), str(r["balance_fen"])
            )
        Console().print(t)

    @fund.command("subjects")
    def subjects_cmd(on: str | None = typer.Option(None, "--on", help="The day (YYYY-MM-DD; default today).")) -> None:
        """The chart of accounts in force on a day (科目表): code, name, kind, side, parent, item, validity."""
        import datetime as dt

        from oip.core import clock
        from oip.fund import subjects

        day = dt.date.fromisoformat(on) if on else clock.today()
        rows = _run(
            None,
            lambda s, a: [
                {
                    "code": x.code,
                    "name": x.name,
                    "kind": x.kind,
                    "side": x.side,
                    "parent_code": x.parent_code,
                    "item": x.item,
                    "valid_from": x.valid_from.isoformat(),
                    "valid_to": x.valid_to.isoformat() if x.valid_to else None,
                }
                for x in subjects.chart(s, day)
            ],
        )
        print(json.dumps(rows, ensure_ascii=False, indent=1))

    @fund.command("close")
    def close(
        month: str = typer.Argument(..., help="The period, YYYY-MM."),
        by: str = typer.Option(..., "--by", help="The officer closing it (fund.close), audited."),
    ) -> None:
        """Close a month (结账): no entry goes into it afterwards."""
        from oip.auth import permissions as P
        from oip.core.errors import Forbidden
        from oip.fund import posting

        def _close(s, a):
            if not a.can(P.FUND_CLOSE):
                raise Forbidden("您没有会计期间结账的权限")
            p = posting.close_period(s, a, month)
            return {"month": p.month, "status": p.status, "totals": p.totals}

        print(json.dumps(_run(by, _close), ensure_ascii=False))
