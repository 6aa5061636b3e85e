"""The ``oip`` command."""

from __future__ import annotations

import json
import signal
import sys
import time
from pathlib import Path

import typer
from rich.console import Console

from oip.core import clock

app = typer.Typer(help="广西新就业形态人员职业伤害保障信息平台 (oip)", no_args_is_help=True, add_completion=False)


def _terminated(signum, frame) -> None:
    raise SystemExit(128 + signum)


def _version(value: bool) -> None:
    if value:
        from oip import __version__

        print(f"oip {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    # SIGTERM (systemd, docker stop, kill) ends oip the way Ctrl-C does: Python exits normally, so
    # open transactions roll back and the embedded PostgreSQL stops with the process (its exit
    # hook). Without this the default action kills the process outright — uvicorn re-raises the
    # signal after its own graceful shutdown — and the embedded server keeps running.
    signal.signal(signal.SIGTERM, _terminated)
    import oip.models  # noqa: F401  (every table's mapper, before any command touches the database)


db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
ref_app = typer.Typer(help="Reference data.", no_args_is_help=True)
users_app = typer.Typer(help="Users and tokens.", no_args_is_help=True)
audit_app = typer.Typer(help="The audit trail.", no_args_is_help=True)
platforms_app = typer.Typer(help="The register of platform enterprises.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(ref_app, name="reference")
app.add_typer(users_app, name="users")
app.add_typer(audit_app, name="audit")
app.add_typer(platforms_app, name="platforms")
err = Console(stderr=True, soft_wrap=True)


def _upgrade() -> None:
    from oip.core import migrate
    from oip.core.db import session_scope
    from oip.platforms import service as platforms
    from oip.reference import service as reference

    migrate.upgrade()
    with session_scope() as s:
        reference.load(s)
        platforms.load_pilot_platforms(s)


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Migrate the schema to the newest version and load the reference data."""
    _upgrade()
    err.print("[green]database is up to date[/green]")


@ref_app.command("load")
def reference_load() -> None:
    """(Re)load regions, industries and the pilot platforms shipped with the package."""
    from oip.core.db import session_scope
    from oip.platforms import service as platforms
    from oip.reference import service as reference

    with session_scope() as s:
        counts = reference.load(s)
        counts["platforms_added"] = platforms.load_pilot_platforms(s)
        print(json.dumps(counts, ensure_ascii=False))


@ref_app.command("industry")
def reference_industry(
    code: str,
    name: str,
    covered_from: str = typer.Option(..., "--from", help="First covered day, YYYY-MM-DD."),
    description: str = typer.Option("", help="What the industry covers."),
) -> None:
    """Add an industry to the pilot from a date (or change its start date), e.g. for 2027."""
    import datetime as dt

    from oip.core import audit
    from oip.core.db import session_scope
    from oip.core.errors import DomainError
    from oip.reference import service as reference

    try:
        day = dt.date.fromisoformat(covered_from)
        with session_scope() as s:
            reference.add_industry(s, audit.SystemActor(label="cli"), code, name, day, description)
    except (ValueError, DomainError) as e:
        err.print(f"[red]{getattr(e, 'reason', e)}[/red]")
        raise typer.Exit(2) from None
    print(json.dumps({"code": code, "name": name, "covered_from": covered_from}, ensure_ascii=False))


class _NoQueryStrings:
    """Access-log filter: query strings may hold ID or phone numbers, so they are never logged."""

    def filter(self, record) -> bool:
        if isinstance(record.args, tuple) and len(record.args) >= 3 and isinstance(record.args[2], str):
            args = list(record.args)
            args[2] = args[2].split("?", 1)[0]
            record.args = tuple(args)
        return True


def _log_config() -> dict:
    """uvicorn's logging, with query strings kept out of the access log (in every worker process)."""
    import copy

    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    config.setdefault("filters", {})["no_query_strings"] = {"()": "oip.cli._NoQueryStrings"}
    config["handlers"]["access"]["filters"] = ["no_query_strings"]
    return config


def _serve(host: str, port: int, workers: int = 1) -> None:
    """uvicorn with the app factory. On SIGTERM running requests get ``shutdown_grace_seconds``, then
    are cancelled; a backstop (``oip.web.limits.exit_backstop``) ends a process that threads stuck in
    the database still hold a few seconds later. With ``workers`` > 1 uvicorn starts that many worker
    processes on one socket (each with its own pool and admission limit)."""
    import os

    import uvicorn

    from oip.core import config, migrate
    from oip.core.db import database_url

    if migrate.pending():
        err.print("[red]the database schema is not up to date: run `oip db upgrade` (or `oip demo`) first[/red]")
        raise typer.Exit(2)
    os.environ.setdefault("OIP_EXIT_BACKSTOP_SECONDS", "5")
    if workers > 1:  # the workers join this process's database (the embedded one stops when it exits)
        os.environ["OIP_DATABASE_URL"] = database_url()
    config.get_settings.cache_clear()
    s = config.get_settings()
    err.print(
        f"[bold]oip[/bold] serving on http://{host}:{port} with {workers} worker(s), {s.max_concurrency} requests "
        "in flight each  (Ctrl-C stops; the embedded database stops with it)"
    )
    uvicorn.run(
        "oip.web.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level="info",
        log_config=_log_config(),
        proxy_headers=False,
        timeout_graceful_shutdown=max(1, round(s.shutdown_grace_seconds)),
        backlog=2048,
    )


@app.command()
def serve(
    host: str = typer.Option("127.0.0.1", help="Interface to listen on."),
    port: int = typer.Option(8000, help="Port."),
    workers: int = typer.Option(1, min=1, help="Worker processes (see README: sizing)."),
) -> None:
    """Serve an existing database (run 'oip db upgrade' or 'oip demo' first)."""
    _serve(host, port, workers)


@app.command()
def demo(
    workers: int = typer.Option(20000, help="How many workers to generate."),
    seed: int = typer.Option(2025, help="Seed: the same seed gives the same province."),
    serve: bool = typer.Option(True, "--serve/--no-serve", help="Start the web server afterwards."),
    reset: bool = typer.Option(False, help="Drop everything and generate again."),
    host: str = typer.Option("127.0.0.1"),
    port: int = typer.Option(8000),
) -> None:
    """Migrate, generate the demo province (once), and serve it on http://127.0.0.1:8000."""
    from oip.core.db import get_engine, session_scope
    from oip.demo import generate

    t0 = time.monotonic()
    if reset:
        with get_engine().begin() as c:
            c.exec_driver_sql("DROP SCHEMA public CASCADE; CREATE SCHEMA public;")
    _upgrade()
    with session_scope() as s:
        if generate.already_generated(s):
            err.print("demo province already generated (use --reset to start again)")
        else:
            summary = generate.generate(s, workers=workers, seed=seed, progress=err)
            err.print(
                f"[green]demo province generated in {time.monotonic() - t0:.1f} s:[/green] "
                + json.dumps(summary, ensure_ascii=False, default=clock.json_default)
            )
    if serve:
        _serve(host, port)


@users_app.command("list")
def users_list(as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """Every user with role, organisation and region scope."""
    from sqlalchemy import select

    from oip.auth.models import User
    from oip.auth.permissions import role
    from oip.core.db import session_scope
    from oip.reference.models import Region

    with session_scope() as s:
        regions = {r.code: r for r in s.scalars(select(Region))}
        rows = []
        for u in s.scalars(select(User).order_by(User.id)):
            reg = regions.get(u.organisation.region_code)
            rows.append(
                {
                    "username": u.username,
                    "display_name": u.display_name,
                    "role": u.role,
                    "role_name": role(u.role).name,
                    "kind": u.kind,
                    "organisation": u.organisation.name,
                    "organisation_code": u.organisation.code,
                    "region_code": u.organisation.region_code,
                    "region_scope": reg.scope_prefix if reg else u.organisation.region_code,
                    "scope": role(u.role).scope,
                    "active": u.is_active,
                }
            )
    if as_json:
        print(json.dumps(rows, ensure_ascii=False, default=clock.json_default))
    else:
        for r in rows:
            print(f"{r['username']:<28} {r['role']:<20} {r['organisation']}  [{r['region_scope']}]")


@users_app.command("token")
def users_token(username: str, minutes: int = typer.Option(60, help="Lifetime in minutes.")) -> None:
    """Print a bearer token for USERNAME (for scripts and API exploration)."""
    from sqlalchemy import select

    from oip.auth import service
    from oip.auth.models import User
    from oip.core import audit
    from oip.core.db import session_scope

    with session_scope() as s:
        user = s.scalar(select(User).where(User.username == username))
        if user is None or not user.is_active:
            err.print(f"[red]no active user {username!r}[/red]")
            raise typer.Exit(2)
        token, _ = service.issue_token(s, user, audit.SystemActor(label="cli"), minutes=minutes)
    print(token)


def _chain(s) -> str | None:
    """Link the queued audit events; the reason (Chinese, with its code) if the chainer refused."""
    from oip.core import audit

    try:
        audit.chain_pending(s)
    except audit.AuditChainError as e:
        return f"{e.reason}（{e.code}）"
    return None


@audit_app.command("chain")
def audit_chain() -> None:
    """Link the audit events recorded since the last run into the keyed chain."""
    from oip.core import audit
    from oip.core.db import get_sessionmaker

    with get_sessionmaker()() as s:
        try:
            n = audit.chain_pending(s)
        except audit.AuditChainError as e:
            err.print(f"[red]审计链未继续链接：{e.reason}（{e.code}）[/red]")
            raise typer.Exit(1) from None
    print(json.dumps({"chained": n}))


@audit_app.command("checkpoint")
def audit_checkpoint() -> None:
    """Link pending events, then append a signed checkpoint of the chain's head to the checkpoint
    file (OIP_AUDIT_CHECKPOINT_FILE) if it moved. Run it from cron or a systemd timer."""
    from oip.core import audit
    from oip.core.db import get_sessionmaker

    with get_sessionmaker()() as s:
        refused = _chain(s)
        if refused:
            err.print(f"[red]审计链未继续链接，不写检查点：{refused}[/red]")
            raise typer.Exit(1)
        cp = audit.checkpoint(s)
    print(json.dumps({"checkpoint": cp, "file": str(audit.checkpoint_path())}, ensure_ascii=False))


@audit_app.command("verify")
def audit_verify(
    chain: bool = typer.Option(True, help="Link pending events first."),
) -> None:
    """Check the keyed chain, the queue and the checkpoints; exit 1 naming the problem."""
    from oip.core import audit
    from oip.core.db import get_sessionmaker

    with get_sessionmaker()() as s:
        if chain:
            _chain(s)  # a refusal is reported by verify itself (checkpoint mismatch)
        res = audit.verify(s)
    out = {
        "ok": res.ok,
        "events": res.checked,
        "pending": res.pending,
        "anchored": res.anchored,
        "checkpoints": res.checkpoints,
        "warnings": res.warnings,
    }
    for w in res.warnings:
        err.print(f"[yellow]注意：{w}[/yellow]")
    if res.ok:
        print(json.dumps(out, ensure_ascii=False))
        return
    out |= {
        "code": res.code,
        "problem": res.problem,
        "first_broken_seq": res.broken_seq,
        "problems": [{"code": p.code, "reason": p.reason, "seq": p.seq} for p in res.problems],
    }
    print(json.dumps(out, ensure_ascii=False))
    for p in res.problems:
        err.print(f"[red]审计日志校验失败：{p.reason}（{p.code}）[/red]")
    raise typer.Exit(1)


@platforms_app.command("credentials")
def platforms_credentials(code: str, label: str = typer.Option("", help="What the credential is for.")) -> None:
    """Create API credentials for platform CODE and print them once (client_id, client_secret)."""
    from sqlalchemy import select

    from oip.core import audit
    from oip.core.db import session_scope
    from oip.core.errors import DomainError
    from oip.platforms import service
    from oip.platforms.models import Platform

    with session_scope() as s:
        plat = s.scalar(select(Platform).where(Platform.code == code))
        if plat is None:
            err.print(f"[red]no platform {code!r}[/red]")
            raise typer.Exit(2)
        try:
            cid, secret = service.issue_credential_for(s, audit.SystemActor(label="cli"), plat, label)
        except DomainError as e:
            err.print(f"[red]{e.reason}[/red]")
            raise typer.Exit(2) from None
    print(json.dumps({"client_id": cid, "client_secret": secret}))


def _refuse(reason: str) -> None:
    err.print(f"[red]{reason}[/red]")
    raise typer.Exit(2)


# ``oip calendar …``: the holiday arrangements (节假日安排) that working-day deadlines follow. ``load FILE``
# reads a CSV ``date,kind,note`` of one year (oip.reference.calendar, docs/interfaces/calendar-v1.md)
# and replaces what was loaded for that year; ``show --year Y`` prints a year's days off on weekdays
# and working weekend days with where they come from. JSON on stdout; a refusal exits 2 with the reason.
cal_app = typer.Typer(help="The holiday calendar (法定节假日与调休) that working days follow.", no_args_is_help=True)
app.add_typer(cal_app, name="calendar")


@cal_app.command("load")
def calendar_load(
    file: Path = typer.Argument(..., help="CSV, UTF-8, header date,kind,note (kind: holiday or workday)."),
    by: str = typer.Option(..., help="Acting officer's username (the load is recorded under it)."),
) -> None:
    """Load one year's holidays and working weekend days; replaces what was loaded for that year
    and wins over the chinese-calendar package's data for it."""
    from sqlalchemy import select

    from oip.auth.models import User
    from oip.auth.service import principal_for
    from oip.core.db import session_scope
    from oip.core.errors import DomainError
    from oip.reference import calendar

    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        _refuse(f"无法读取日历文件（应为 UTF-8 编码的 CSV）：{e}")
    try:
        with session_scope() as s:
            user = s.scalar(select(User).where(User.username == by))
            if user is None or not user.is_active:
                _refuse(f"没有启用的用户 {by}")
            year, rows = calendar.load_year(s, principal_for(s, user, via="cli"), text)
            out = {
                "year": year,
                "holidays": sum(r.kind == "holiday" for r in rows),
                "workdays": sum(r.kind == "workday" for r in rows),
            }
    except DomainError as e:
        _refuse(e.reason)
    print(json.dumps(out, ensure_ascii=False))


@cal_app.command("show")
def calendar_show(year: int = typer.Option(..., help="The year, e.g. 2026.")) -> None:
    """A year's days off on weekdays and working weekend days, and where they come from."""
    from oip.core.db import session_scope
    from oip.core.errors import DomainError
    from oip.reference import calendar

    try:
        with session_scope() as s:
            out = calendar.year_view(calendar.current(s), year, calendar.loaded_days(s, year))
    except DomainError as e:
        _refuse(e.reason)
    print(json.dumps(out, ensure_ascii=False))


def _acting_officer(session, username: str):
    """The active staff user a command acts as (its changes are audited under their name)."""
    from sqlalchemy import select

    from oip.auth.models import User
    from oip.auth.service import principal_for

    user = session.scalar(select(User).where(User.username == username))
    if user is None or not user.is_active or user.kind != "staff":
        _refuse(f"没有启用的经办人员用户 {username}")
    return principal_for(session, user, via="cli")


def _platform_organisation(session, actor, org_code: str) -> None:
    """The organisation of the registered platform enterprise ``platform-<code>``, made if missing."""
    from sqlalchemy import select

    from oip.platforms import service
    from oip.platforms.models import Platform

    if org_code.startswith("platform-"):
        plat = session.scalar(select(Platform).where(Platform.code == org_code.removeprefix("platform-")))
        if plat is not None:
            service.ensure_organisation(session, actor, plat)


def _domain_commands() -> None:
    """Each domain adds its own commands (``register(app)`` in its cli module)."""
    from oip.appraisal import cli as appraisal_cli
    from oip.auth import cli as auth_cli
    from oip.benefits import cli as benefits_cli
    from oip.exchange import cli as exchange_cli
    from oip.fund import cli as fund_cli
    from oip.orders import cli as orders_cli
    from oip.payments import cli as payments_cli
    from oip.premiums import cli as premiums_cli
    from oip.reference import cli as parameters_cli

    auth_cli.register(app, users_app, platform_organisation=_platform_organisation)
    parameters_cli.register(app, officer=_acting_officer)
    orders_cli.register(app)
    premiums_cli.register(app)
    appraisal_cli.register(app)
    exchange_cli.register(app)
    benefits_cli.register(app)
    payments_cli.register(app)
    fund_cli.register(app)


_domain_commands()

if __name__ == "__main__":  # pragma: no cover
    sys.exit(app())
