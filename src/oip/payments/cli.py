"""``oip payments …``: make, approve and send payment batches and import the bank's results from the
command line (a scheduled job or an officer at a terminal), as the user named by ``--by``.

Prints JSON on stdout; exits with status 2 and the reason in Chinese when the act is refused, and
with status 1 when the bank did not confirm a send (recorded: send again)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import typer
from rich.console import Console

err = Console(stderr=True)


def register(app: typer.Typer) -> None:
    """Adds this domain's commands to ``oip``."""
    payments = typer.Typer(help="Benefit payments (待遇支付): batches, the bank, results.", no_args_is_help=True)
    app.add_typer(payments, name="payments")

    def _run(by: str, fn):
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
                return fn(s, principal_for(s, user, via="cli"))
        except DomainError as e:
            err.print(f"[red]{e.reason}[/red]")
            raise typer.Exit(2) from None

    @payments.command("make-batch")
    def make_batch(
        by: str = typer.Option(..., "--by", help="The maker (a user with payment.manage), audited."),
        region: str | None = typer.Option(None, "--region", help="Region code (default: the maker's region)."),
        due_by: str | None = typer.Option(
            None, "--due-by", help="Payables due on or before YYYY-MM-DD (default today)."
        ),
        note: str = typer.Option("", "--note"),
    ) -> None:
        """Gather the due payables that have a payee account into a draft batch."""
        from oip.payments import service

        day = dt.date.fromisoformat(due_by) if due_by else None
        out = _run(by, lambda s, a: service.batch_dict(s, service.make_batch(s, a, region, due_by=day, note=note)))
        print(json.dumps(out, ensure_ascii=False))

    @payments.command("approve")
    def approve(
        batch: str = typer.Argument(..., help="The batch number (ZF…) or id."),
        by: str = typer.Option(..., "--by", help="The checker (payment.approve; not the maker), audited."),
        note: str = typer.Option("", "--note"),
    ) -> None:
        """Approve a draft batch (maker-checker, within the checker's role limit)."""
        from oip.payments import service

        out = _run(by, lambda s, a: service.batch_dict(s, service.approve(s, a, _batch_id(s, a, batch), note=note)))
        print(json.dumps(out, ensure_ascii=False))

    @payments.command("send")
    def send(
        batch: str = typer.Argument(..., help="The batch number (ZF…) or id."),
        by: str = typer.Option(..., "--by", help="The officer sending (payment.manage), audited."),
    ) -> None:
        """Send the batch's signed file to the bank (a re-send sends the same file)."""
        from oip.payments import bank, service

        def run(s, a):
            o = service.send(s, a, _batch_id(s, a, batch), bank.gateway_from_settings())
            return {"ok": o.ok, "error": o.error, "location": o.location, "batch": service.batch_dict(s, o.batch)}

        out = _run(by, run)
        print(json.dumps(out, ensure_ascii=False))
        if not out["ok"]:
            err.print(f"[red]报送银行未成功：{out['error']}（已记录，可再次报送）[/red]")
            raise typer.Exit(1)

    @payments.command("import-result")
    def import_result(
        file: Path | None = typer.Argument(None, help="A result file (bank-v1 JSON); its signature in FILE.sig."),
        by: str = typer.Option(..., "--by", help="The officer importing (payment.manage), audited."),
        signature: Path | None = typer.Option(None, "--signature", help="The signature file (default FILE.sig)."),
    ) -> None:
        """Import a bank result file, or (no FILE) every result file the bank gateway has for us."""
        from oip.payments import bank, service

        if file is not None:
            sig_path = signature or file.with_name(file.name + ".sig")
            body = file.read_bytes()
            sig = sig_path.read_text(encoding="ascii", errors="replace").strip() if sig_path.exists() else None
            out = _run(by, lambda s, a: service.import_result(s, a, body, sig, file.name).as_dict())
            print(json.dumps(out, ensure_ascii=False))
            return
        gateway = bank.gateway_from_settings()
        got = _run(
            by,
            lambda s, a: [
                (f, r.as_dict() if r else None, why) for f, r, why in service.import_from_bank(s, a, gateway)
            ],
        )
        for f, _res, why in got:  # after the commit: file away what was read
            gateway.settle(f, why is None, why)
        print(json.dumps([{"file": f.name, "result": res, "refused": why} for f, res, why in got], ensure_ascii=False))

    def _batch_id(s, actor, ref: str) -> int:
        from sqlalchemy import select

        from oip.core.errors import NotFound
        from oip.payments.models import PaymentBatch

        bid = int(ref) if ref.isdigit() else s.scalar(select(PaymentBatch.id).where(PaymentBatch.number == ref))
        if bid is None:
            raise NotFound(f"没有支付批次 {ref}")
        return bid
