"""Commands of the order ledger: ``oip orders import|batches|sweep`` and ``oip coverage``."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import typer
from rich.console import Console

from oip.core import clock

err = Console(stderr=True)
orders_app = typer.Typer(help="Order data: import platform files, list batches.", no_args_is_help=True)


def _progress_bar():
    """A rich progress bar on a terminal (stderr), nothing otherwise. Returns (callback, stop)."""
    if not err.is_terminal:
        return None, lambda: None
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    bar = Progress(
        TextColumn("{task.description:<8}"),
        BarColumn(),
        TextColumn("{task.percentage:>3.0f}%"),
        TimeElapsedColumn(),
        console=err,
        transient=True,
    )
    task = bar.add_task("读取文件", total=1.0)
    bar.start()

    def update(stage: str, done: float) -> None:
        bar.update(task, description=stage, completed=done)

    return update, bar.stop


@orders_app.command("import")
def import_cmd(
    file: Path = typer.Argument(..., help="The order file (interface v1: CSV, JSON Lines or Parquet)."),
    platform: str = typer.Option(..., "--platform", help="Code of the platform the file is from."),
    fmt: str = typer.Option(None, "--format", help="csv | jsonl | parquet (default: from the file name)."),
) -> None:
    """Import one order file as a batch: every row validated, rejects to a file, published atomically.
    Ends with one JSON line: batch_id, received, accepted, rejected, duplicates, rejects_path, seconds."""
    from oip.core import audit
    from oip.core.errors import DomainError
    from oip.orders import ingest

    if fmt is not None and fmt.lower() not in ingest.FORMATS:
        err.print(f"[red]不支持的格式 {fmt}：应为 csv、jsonl 或 parquet[/red]")
        raise typer.Exit(2)
    update, stop = _progress_bar()
    try:
        res = ingest.import_file(
            file,
            platform,
            fmt=fmt,
            actor=audit.SystemActor(label="cli"),
            source="cli",
            filename=file.name,
            progress=update,
        )
    except DomainError as e:
        stop()
        err.print(f"[red]导入失败：{e.reason}[/red]")
        raise typer.Exit(2) from None
    except Exception as e:  # noqa: BLE001 - reported, batch marked failed
        stop()
        err.print(f"[red]导入失败（批次已标记为失败，未发布任何数据）：{type(e).__name__}: {e}[/red]")
        raise typer.Exit(1) from None
    stop()
    if res.rejected:
        err.print(f"{res.rejected:,} 条记录被拒绝，原因见 {res.rejects_path}")
    sys.stdout.write(json.dumps(res.summary(), ensure_ascii=False, default=clock.json_default) + "\n")
    sys.stdout.flush()


@orders_app.command("batches")
def batches_cmd(
    platform: str = typer.Option(None, "--platform", help="Only this platform."),
    limit: int = typer.Option(20, help="How many (newest first)."),
) -> None:
    """The newest order batches as JSON lines."""
    from oip.core.db import session_scope
    from oip.orders import service

    with session_scope() as s:
        for b in service.all_batches(s, platform_code=platform, limit=limit):
            print(json.dumps(service.batch_dict(b), ensure_ascii=False, default=clock.json_default))


@orders_app.command("sweep")
def sweep_cmd() -> None:
    """Mark imports interrupted by a crash as failed and delete ledger files no published batch lists."""
    from oip.core.db import get_sessionmaker
    from oip.orders import ingest, ledger

    s = get_sessionmaker()()
    try:
        failed = ingest.recover_interrupted(s)
        removed = ledger.sweep(s)
        s.commit()
    finally:
        s.close()
    print(json.dumps({"interrupted_batches": failed, "removed_files": [str(p) for p in removed]}, ensure_ascii=False))


def coverage_cmd(
    platform: str = typer.Option(None, "--platform", help="Platform code (with --account)."),
    account: str = typer.Option(None, "--account", help="The worker's account id on that platform."),
    person: int = typer.Option(None, "--person", help="Or: the person id (all their platforms)."),
    at: str = typer.Option(..., "--at", help="The moment, ISO 8601 with offset, e.g. 2026-08-01T12:30:00+08:00."),
) -> None:
    """Was this worker covered at that moment, and by which order? Prints JSON."""
    from oip.core.db import session_scope
    from oip.core.errors import DomainError
    from oip.orders import coverage

    try:
        when = coverage.parse_at(at)
        with session_scope() as s:
            res = coverage.covered_at(s, at=when, person_id=person, platform_code=platform, account_id=account)
    except DomainError as e:
        err.print(f"[red]{e.reason}[/red]")
        raise typer.Exit(2) from None
    print(json.dumps(res.as_dict(), ensure_ascii=False, default=clock.json_default))


def register(app: typer.Typer) -> None:
    """Adds this domain's commands to ``oip``."""
    app.add_typer(orders_app, name="orders")
    app.command("coverage")(coverage_cmd)
