"""``oip orgs …`` and ``oip users create | reset-password | disable | enable``: the operator's
provisioning on the server's terminal.

A new deployment has the schema and the reference data and nobody to sign in: these commands make
its organisations and first administrators, and the accounts that no role in the application may
grant (a finance officer's). Every act is audited under the system actor ``cli``. A refused act exits
2 with the reason in Chinese; a password is never taken on the command line (it would sit in the
shell's history and the process list): it is generated and printed once, or read from stdin."""

from __future__ import annotations

import json
import sys

import typer
from rich.console import Console

err = Console(stderr=True)


def register(app: typer.Typer, users: typer.Typer, platform_organisation) -> None:
    """Adds ``oip orgs`` to ``app`` and the provisioning commands to ``oip users``.

    ``platform_organisation(session, actor, org_code)`` makes sure the organisation of a registered
    platform enterprise exists when ``org_code`` names one (``platform-<platform code>``): a pilot
    platform loaded with the reference data has none until it is first needed."""
    orgs = typer.Typer(help="Organisations (机构) whose staff use the platform.", no_args_is_help=True)
    app.add_typer(orgs, name="orgs")

    def _act(fn):
        from oip.core import audit
        from oip.core.db import session_scope
        from oip.core.errors import DomainError

        try:
            with session_scope() as s:
                return fn(s, audit.SystemActor(label="cli"))
        except DomainError as e:
            err.print(f"[red]{e.reason}[/red]")
            raise typer.Exit(2) from None

    def _password(from_stdin: bool) -> tuple[str, bool]:
        """The password to set, and whether it was generated (then it is printed once)."""
        from oip.auth import service

        if from_stdin:
            return sys.stdin.readline().rstrip("\r\n"), False
        return service.one_time_password(), True

    @orgs.command("list")
    def orgs_list(as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
        """Every organisation: code, kind, region, name, and how many users it has."""
        from sqlalchemy import func, select

        from oip.auth.models import Organisation, User
        from oip.auth.permissions import ORG_KIND_NAMES
        from oip.core.db import session_scope
        from oip.reference.models import Region

        with session_scope() as s:
            users = dict(s.execute(select(User.organisation_id, func.count()).group_by(User.organisation_id)).all())
            regions = {r.code: r.name for r in s.scalars(select(Region))}
            rows = [
                {
                    "code": o.code,
                    "name": o.name,
                    "kind": o.kind,
                    "kind_name": ORG_KIND_NAMES.get(o.kind, o.kind),
                    "region_code": o.region_code,
                    "region_name": regions.get(o.region_code, ""),
                    "users": users.get(o.id, 0),
                }
                for o in s.scalars(select(Organisation).order_by(Organisation.region_code, Organisation.code))
            ]
        if as_json:
            print(json.dumps(rows, ensure_ascii=False))
        else:
            from rich.cells import cell_len

            def pad(text: str, width: int) -> str:  # by display width: a Chinese character takes two columns
                return text + " " * max(1, width - cell_len(text))

            for r in rows:
                print(
                    pad(r["code"], 24)
                    + pad(r["kind_name"], 22)
                    + pad(r["region_name"], 16)
                    + f"{r['name']}（{r['users']} 个用户）"
                )

    @orgs.command("add")
    def orgs_add(
        code: str = typer.Argument(..., help="A short code of lowercase letters, digits, _ . - (e.g. gx-finance)."),
        name: str = typer.Option(..., help="Its full name, e.g. 广西壮族自治区财政厅."),
        kind: str = typer.Option(
            ..., help="hrss, si_agency, finance, tax, fin_regulator, transport, commerce, market, union or insurer."
        ),
        region: str = typer.Option(..., help="Where it has authority: the region, a city or a county code."),
    ) -> None:
        """Add an organisation (a platform enterprise's comes from the register instead)."""
        from oip.auth import service

        org = _act(lambda s, a: service.add_organisation(s, a, code=code, name=name, kind=kind, region_code=region))
        print(json.dumps({"code": org.code, "name": org.name, "kind": org.kind, "region_code": org.region_code}))

    @users.command("create")
    def users_create(
        username: str = typer.Argument(..., help="3–64 lowercase letters, digits, _ . -, starting with a letter."),
        name: str = typer.Option(..., help="The person's name as shown (显示名)."),
        role: str = typer.Option(..., help="A role code (README: roles), one the organisation's kind may hold."),
        org: str = typer.Option(
            ..., help="The organisation's code (oip orgs list); a platform enterprise's is platform-<its code>."
        ),
        password_stdin: bool = typer.Option(
            False, "--password-stdin", help="Read the first password from stdin instead of generating one."
        ),
    ) -> None:
        """Create a staff user. They must choose their own password at first sign-in."""
        from oip.auth import service

        pw, generated = _password(password_stdin)

        def create(s, a):
            platform_organisation(s, a, org)
            return service.provision_user(
                s, a, username=username, display_name=name, organisation_code=org, role_code=role, password=pw
            )

        u = _act(create)
        out = {"username": u.username, "role": u.role, "organisation": org, "must_change_password": True}
        print(json.dumps(out | ({"one_time_password": pw} if generated else {}), ensure_ascii=False))

    @users.command("reset-password")
    def users_reset_password(
        username: str,
        password_stdin: bool = typer.Option(
            False, "--password-stdin", help="Read the new password from stdin instead of generating one."
        ),
    ) -> None:
        """Give a staff user a new password (their sessions end; they choose their own at next sign-in)."""
        from oip.auth import service

        pw, generated = _password(password_stdin)
        _act(lambda s, a: service.provision_password(s, a, username, pw))
        out = {"username": username, "must_change_password": True}
        print(json.dumps(out | ({"one_time_password": pw} if generated else {}), ensure_ascii=False))

    def _set_active(username: str, active: bool) -> None:
        from oip.auth import service

        _act(lambda s, a: service.provision_active(s, a, username, active))
        print(json.dumps({"username": username, "active": active}))

    @users.command("disable")
    def users_disable(username: str) -> None:
        """Disable a staff user now: their sessions and tokens end."""
        _set_active(username, False)

    @users.command("enable")
    def users_enable(username: str) -> None:
        """Enable a disabled staff user again."""
        _set_active(username, True)
