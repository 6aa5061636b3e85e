"""``oip appraisal …``: re-run a stored panel draw and compare it with the panel on record.

Prints JSON on stdout; exits with status 2 and the reason in Chinese when the draw cannot be checked,
and with status 1 when the re-run gives another panel."""

from __future__ import annotations

import json

import typer
from rich.console import Console

err = Console(stderr=True)


def register(app: typer.Typer) -> None:
    """Adds this domain's commands to ``oip``."""
    appraisal = typer.Typer(help="Labour-capacity appraisal (劳动能力鉴定).", no_args_is_help=True)
    app.add_typer(appraisal, name="appraisal")

    @appraisal.command("check-draw")
    def check_draw(
        appraisal_id: int = typer.Argument(..., help="The appraisal's id."),
        by: str = typer.Option(..., "--by", help="The officer checking (a user with appraisal.read), audited."),
    ) -> None:
        """Re-run the stored draw from its seed and candidates; exit 1 if the panel differs."""
        from sqlalchemy import select

        from oip.appraisal import service
        from oip.auth import permissions as P
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
                if not actor.can(P.APPRAISAL_READ):
                    raise DomainError(f"用户 {by}（{actor.role.name}）无权查看劳动能力鉴定", field="by")
                c = service.check_draw(s, actor, appraisal_id)
                out = {
                    "appraisal_id": appraisal_id,
                    "draw_id": c.draw.id,
                    "seed": str(c.draw.seed),
                    "panel": c.draw.panel,
                    "rerun_panel": list(c.rerun_panel),
                    "same": c.same,
                }
        except DomainError as e:
            err.print(f"[red]{e.reason}[/red]")
            raise typer.Exit(2) from None
        print(json.dumps(out, ensure_ascii=False))
        if not out["same"]:
            err.print("[red]重新抽取的专家组与记录不一致[/red]")
            raise typer.Exit(1)
