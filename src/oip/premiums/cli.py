"""``oip premiums …``: declarations, sending to the tax bureau, returns, reconciliation, the float.

Every command prints JSON on stdout (``declare`` exactly one array) and messages on stderr; a
refused operation exits with status 2 and the reason in Chinese."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.console import Console

from oip.core import clock

err = Console(stderr=True)


def _fail(reason: str) -> None:
    err.print(f"[red]{reason}[/red]")
    raise typer.Exit(2)


def _officer(session, username: str | None, permission: str | None = None, what: str = "办理此事项"):
    """The acting officer for commands that change what officers decide (audited under their name);
    with ``permission``, one their role must hold."""
    from sqlalchemy import select

    from oip.auth.models import User
    from oip.auth.service import principal_for

    if not username:
        _fail("请用 --by 指定办理的经办人员用户名（如 gx_si），操作以其名义留痕")
    user = session.scalar(select(User).where(User.username == username))
    if user is None or not user.is_active:
        _fail(f"没有启用的用户 {username}")
    actor = principal_for(session, user, via="cli")
    if permission is not None and not actor.can(permission):
        _fail(f"用户 {username}（{actor.role.name}）无权{what}")
    return actor


def _cli_actor():
    from oip.core import audit

    return audit.SystemActor(label="cli")


def register(app: typer.Typer) -> None:
    """Adds this domain's commands to ``oip``."""
    from oip.core.errors import DomainError

    premiums = typer.Typer(
        help="Premiums: monthly declarations, the tax bureau exchange, reconciliation, the yearly float.",
        no_args_is_help=True,
    )
    float_app = typer.Typer(help="The yearly float k (费率浮动档次).", no_args_is_help=True)
    premiums.add_typer(float_app, name="float")
    app.add_typer(premiums, name="premiums")

    @premiums.command("declare")
    def declare(
        month: str = typer.Option(..., help="Order month YYYY-MM (the month the orders were taken)."),
        platform: list[str] = typer.Option(None, "--platform", help="Only these platform codes."),
        engine: str = typer.Option("duckdb", help="duckdb or spark."),
    ) -> None:
        """Compute the month's declarations from the order ledger (idempotent) and print them as one
        JSON array: platform_code, orders, base_yuan, k, rate_yuan, amount_fen."""
        from oip.core.db import session_scope
        from oip.premiums import service

        try:
            with session_scope() as s:
                res = service.declare(s, _cli_actor(), month, engine=engine, platforms_=platform or None)
                rows = res.rows()
        except DomainError as e:
            _fail(e.reason)
        for w in res.warnings:
            err.print(f"[yellow]{w}[/yellow]")
        err.print(
            f"{res.month}: {len(rows)} declarations ({res.created} new, {res.changed} changed, "
            f"{res.unchanged} unchanged, {res.frozen} already sent) in {res.seconds:.2f} s on {res.engine}"
        )
        print(json.dumps(rows, ensure_ascii=False, default=clock.json_default))

    @premiums.command("send")
    def send(
        month: str = typer.Option(..., help="Order month YYYY-MM."),
        platform: list[str] = typer.Option(None, "--platform", help="Only these platform codes."),
        engine: str = typer.Option("duckdb", help="duckdb or spark."),
    ) -> None:
        """Recompute the month's drafts, send them to the tax bureau through the configured gateway
        (OIP_TAX_GATEWAY), and redeliver anything still undelivered in the outbox."""
        from oip.core.db import session_scope
        from oip.premiums import service

        try:
            with session_scope() as s:
                out = service.send(s, _cli_actor(), month, platforms_=platform or None, engine=engine).as_dict()
        except DomainError as e:
            _fail(e.reason)
        print(json.dumps(out, ensure_ascii=False, default=clock.json_default))
        if any(d["status"] != "sent" for d in out["deliveries"]):
            err.print(
                "[yellow]some messages were not delivered; they stay in the outbox: run this command again[/yellow]"
            )
            raise typer.Exit(1)

    @premiums.command("import-returns")
    def import_returns(
        file: Path = typer.Argument(
            None, help="A returns file (.json or .csv); without it, fetch from the configured gateway."
        ),
        signature: Path = typer.Option(None, help="Its signature file (default FILE.sig)."),
    ) -> None:
        """Import the tax bureau's returns (declared and paid amounts), then reconcile what they touch."""
        from oip.core.db import session_scope
        from oip.premiums import reconciliation

        try:
            with session_scope() as s:
                if file is None:
                    rep = reconciliation.fetch_returns(s, _cli_actor())
                else:
                    if not file.is_file():
                        _fail(f"找不到文件 {file}")
                    sig_path = signature or file.with_name(file.name + ".sig")
                    sig = sig_path.read_text(encoding="ascii", errors="replace").strip() if sig_path.exists() else None
                    rep = reconciliation.upload_returns(s, _cli_actor(), file.name, file.read_bytes(), sig)
            rep.settle()
        except DomainError as e:
            _fail(e.reason)
        print(json.dumps(rep.as_dict(), ensure_ascii=False, default=clock.json_default))
        if any(r.status == "rejected" for r in rep.received):
            raise typer.Exit(1)

    @premiums.command("reconcile")
    def reconcile(
        month: str = typer.Option(..., help="Order month YYYY-MM."),
        platform: list[str] = typer.Option(None, "--platform", help="Only these platform codes."),
        engine: str = typer.Option("duckdb", help="duckdb or spark."),
    ) -> None:
        """Reconcile the month: ledger orders vs declared, amount due vs declared and paid; print the flags."""
        from sqlalchemy import select

        from oip.core.db import session_scope
        from oip.premiums import reconciliation
        from oip.premiums.models import FLAG_NAMES, ReconciliationFlag

        try:
            with session_scope() as s:
                recs = reconciliation.reconcile(s, _cli_actor(), month, platforms_=platform or None, engine=engine)
                flags = {}
                for f in s.scalars(
                    select(ReconciliationFlag).where(
                        ReconciliationFlag.month == month, ReconciliationFlag.status != "resolved"
                    )
                ):
                    flags.setdefault(f.platform_id, []).append(
                        {
                            "kind": f.kind,
                            "name": FLAG_NAMES[f.kind],
                            "status": f.status,
                            "detail": f.detail,
                            "amount_fen": f.amount_fen,
                        }
                    )
                out = [
                    {
                        "platform_code": r.platform.code,
                        "month": r.month,
                        "orders_reported": r.orders_reported,
                        "orders_billable": r.orders_billable,
                        "orders_declared": r.orders_declared,
                        "due_fen": r.due_fen,
                        "tax_declared_fen": r.tax_declared_fen,
                        "paid_fen": r.paid_fen,
                        "owed_fen": r.owed_fen,
                        "due_date": r.due_date.isoformat() if r.due_date else None,
                        "flags": flags.get(r.platform_id, []),
                    }
                    for r in recs
                ]
        except DomainError as e:
            _fail(e.reason)
        print(json.dumps(out, ensure_ascii=False, default=clock.json_default))

    @float_app.command("propose")
    def float_propose(
        year: int = typer.Option(..., help="The year the float applies to (figures of year − 1)."),
        by: str = typer.Option(None, help="Acting officer's username (default: the system)."),
    ) -> None:
        """Propose k for every admitted platform under the rules in force on 1 January of YEAR."""
        from oip.core.db import session_scope
        from oip.premiums import floats, schemas as S

        try:
            with session_scope() as s:
                actor = _officer(s, by) if by else _cli_actor()
                out = [S.proposal_out(f).model_dump() for f in floats.propose_floats(s, actor, year)]
        except DomainError as e:
            _fail(e.reason)
        print(json.dumps(out, ensure_ascii=False, default=clock.json_default))

    @float_app.command("approve")
    def float_approve(
        proposal_id: int = typer.Argument(..., help="The proposal's id."),
        k: int = typer.Option(None, help="Another k than proposed (needs --reason)."),
        reason: str = typer.Option("", help="Why."),
        by: str = typer.Option(..., help="Acting officer's username (needs premium.float)."),
    ) -> None:
        """Approve a proposal: the platform's k from 1 January of the proposal's year."""
        from oip.auth import permissions as P
        from oip.core.db import session_scope
        from oip.premiums import floats, schemas as S

        try:
            with session_scope() as s:
                actor = _officer(s, by, P.FLOAT_DECIDE, "核定浮动档次")
                out = S.proposal_out(floats.approve_float(s, actor, proposal_id, k, reason)).model_dump()
        except DomainError as e:
            _fail(e.reason)
        print(json.dumps(out, ensure_ascii=False, default=clock.json_default))

    @float_app.command("reject")
    def float_reject(
        proposal_id: int = typer.Argument(..., help="The proposal's id."),
        reason: str = typer.Option(..., help="Why."),
        by: str = typer.Option(..., help="Acting officer's username (needs premium.float)."),
    ) -> None:
        """Send a proposal back (it can be proposed again)."""
        from oip.auth import permissions as P
        from oip.core.db import session_scope
        from oip.premiums import floats, schemas as S

        try:
            with session_scope() as s:
                actor = _officer(s, by, P.FLOAT_DECIDE, "核定浮动档次")
                out = S.proposal_out(floats.reject_float(s, actor, proposal_id, reason)).model_dump()
        except DomainError as e:
            _fail(e.reason)
        print(json.dumps(out, ensure_ascii=False, default=clock.json_default))

    @float_app.command("figures")
    def float_figures_cmd(
        year: int = typer.Argument(..., help="The year of the figures (the float of year + 1 uses them)."),
    ) -> None:
        """Each admitted platform's claims paid, confirmed injuries and average insured workers of
        YEAR: from the data (cases, payments, order ledger), or an officer's override with its reason."""
        from oip.core.db import session_scope
        from oip.premiums import floats

        try:
            with session_scope() as s:
                out = [{"platform_code": p.code, **fig.as_dict()} for p, fig in floats.year_figures(s, None, year)]
        except DomainError as e:
            _fail(e.reason)
        print(json.dumps(out, ensure_ascii=False, default=clock.json_default))

    @float_app.command("experience")
    def float_experience(
        code: str = typer.Argument(..., help="Platform code."),
        year: int = typer.Argument(..., help="The year of the figures."),
        claims_fen: int = typer.Option(None, help="Benefits paid in the year, fen."),
        injuries: int = typer.Option(None, help="Confirmed injuries in the year."),
        insured_avg: int = typer.Option(None, help="Average insured workers in the year."),
        reason: str = typer.Option(
            None, "--reason", "--source", help="Why the data's figures are overridden (mandatory)."
        ),
        clear: bool = typer.Option(False, "--clear", help="Withdraw the override: the data's figures again."),
        by: str = typer.Option(..., help="Acting officer's username."),
    ) -> None:
        """Override a platform's figures of a year (the data's otherwise) with a reason, or withdraw
        the override (--clear --reason)."""
        from oip.auth import permissions as P
        from oip.core.db import session_scope
        from oip.platforms import service as platforms_service
        from oip.premiums import float_figures, floats

        try:
            with session_scope() as s:
                actor = _officer(s, by, P.FLOAT_DECIDE, "录入浮动档次测算数据")
                if clear:
                    floats.clear_experience(s, actor, code, year, reason=reason)
                else:
                    missing = [
                        n
                        for n, v in (
                            ("--claims-fen", claims_fen),
                            ("--injuries", injuries),
                            ("--insured-avg", insured_avg),
                        )
                        if v is None
                    ]
                    if missing:
                        raise DomainError(f"人工录入须同时给出 {'、'.join(missing)}")
                    floats.set_experience(
                        s,
                        actor,
                        code,
                        year,
                        claims_fen=claims_fen,
                        injuries=injuries,
                        insured_avg=insured_avg,
                        reason=reason,
                    )
                plat = platforms_service.get_platform(s, actor, code)
                out = {"platform_code": code, **float_figures.figures(s, plat, year).as_dict()}
        except DomainError as e:
            _fail(e.reason)
        print(json.dumps(out, ensure_ascii=False, default=clock.json_default))

    # The parameters of every domain live under ``oip parameters`` (oip.reference.cli); these two are
    # kept as aliases: ``premiums parameters`` = ``parameters list --json``, ``premiums parameter-set`` =
    # ``parameters set`` (without a region).
    @premiums.command("parameters")
    def list_parameters() -> None:
        """Alias of: oip parameters list --json (every parameter with its history)."""
        from oip.reference import cli as parameters_cli

        parameters_cli.list_parameters(as_json=True)

    @premiums.command("parameter-set")
    def parameter_set(
        key: str = typer.Argument(..., help="e.g. premium.billable_statuses"),
        value: str = typer.Argument(..., help="JSON, e.g. '[\"completed\"]'"),
        valid_from: str = typer.Option(..., "--from", help="First day, YYYY-MM-DD."),
        note: str = typer.Option(..., help="Basis (document number) or reason."),
        by: str = typer.Option(..., help="Acting officer's username."),
    ) -> None:
        """Alias of: oip parameters set (for everywhere; a regional value needs oip parameters set --region)."""
        from oip.reference import cli as parameters_cli

        parameters_cli.set_parameter(lambda s, u: _officer(s, u), key, value, valid_from, note, by)
