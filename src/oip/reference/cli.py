"""``oip parameters …``: one command for every effective-dated parameter of the system (参数).

- ``oip parameters list [--json] [--key PREFIX]``: every parameter's values with their validity
  periods, per region (a readable table; ``--json`` prints one JSON array). A parameter that was
  never stored shows its built-in default from the pilot's start (the list writes nothing).
- ``oip parameters set KEY VALUE --from YYYY-MM-DD [--region CODE] --note TEXT --by USERNAME``: a new
  value (JSON) from a date, for everywhere or for a region (``45``, a city ``4501``, a county
  ``450103``, or their 6-digit codes) when the parameter is regional; the value before it in the same
  region ends the day before. Audited under the officer's name.

Refusals exit with status 2 and the reason in Chinese on stderr. The acting officer is resolved by
the caller (oip.cli passes ``officer``: this layer does not know users)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

from oip.core import clock

err = Console(stderr=True, soft_wrap=True)


def _fail(reason: str) -> None:
    err.print(f"[red]{reason}[/red]")
    raise typer.Exit(2)


def rows(session, prefix: str = "") -> list[dict[str, Any]]:
    """Every stored value (and the default of every parameter never stored), by key, region, date."""
    from sqlalchemy import select

    from oip.reference import parameters
    from oip.reference.models import Region

    names = {r.code: r.name for r in session.scalars(select(Region))}
    keys = sorted(k for k in parameters.DEFINITIONS if k.startswith(prefix))
    stored = parameters.history(session, keys) if keys else []
    out: list[dict[str, Any]] = []
    have = {r.key for r in stored}
    for key in keys:
        d = parameters.DEFINITIONS[key]
        mine = [r for r in stored if r.key == key]
        if key not in have:
            out.append(_row(d, "", d.default, parameters.PILOT_START, None, d.note, names, stored=False))
        for r in sorted(mine, key=lambda r: (r.region, r.valid_from)):
            out.append(_row(d, r.region, r.value, r.valid_from, r.valid_to, r.note, names, stored=True))
    return out


def _region_name(region: str, names: dict[str, str]) -> str:
    if not region:
        return "全区通用"
    full = region.ljust(6, "0")
    return names.get(full, region)


def _row(d, region, value, valid_from, valid_to, note, names, *, stored: bool) -> dict[str, Any]:
    return {
        "key": d.key,
        "label": d.label,
        "regional": d.regional,
        "region": region,
        "region_name": _region_name(region, names),
        "value": value,
        "valid_from": valid_from.isoformat(),
        "valid_to": valid_to.isoformat() if valid_to else None,
        "note": note,
        "stored": stored,
    }


def _short(value: Any, width: int = 60) -> str:
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return text if len(text) <= width else text[: width - 1] + "…"


def print_table(items: list[dict[str, Any]]) -> None:
    table = Table(show_lines=False, header_style="bold")
    for col in ("参数", "名称", "地区", "取值", "起", "止", "说明"):
        table.add_column(col, overflow="fold")
    for r in items:
        region = f"{r['region']} {r['region_name']}" if r["region"] else r["region_name"]
        table.add_row(
            r["key"],
            r["label"],
            region,
            _short(r["value"]),
            r["valid_from"],
            r["valid_to"] or "—",
            ("（默认值，尚未存储）" if not r["stored"] else "") + r["note"],
        )
    Console(width=200, soft_wrap=False).print(table)


def list_parameters(as_json: bool, prefix: str = "") -> None:
    from oip.core.db import session_scope

    with session_scope() as s:
        items = rows(s, prefix)
    if as_json:
        print(json.dumps(items, ensure_ascii=False, default=clock.json_default))
    else:
        print_table(items)


def set_parameter(
    officer: Callable[[Any, str], Any],
    key: str,
    value: str,
    valid_from: str,
    note: str,
    by: str,
    region: str | None = None,
) -> None:
    from oip.core.db import session_scope
    from oip.core.errors import DomainError
    from oip.reference import parameters

    try:
        parsed = json.loads(value)
    except json.JSONDecodeError:
        _fail("参数值应为 JSON，如 15、677200、'[\"completed\"]' 或 '{\"1\": 90}'")
    try:
        day = dt.date.fromisoformat(valid_from)
    except ValueError:
        _fail("生效日期应为 YYYY-MM-DD")
    try:
        with session_scope() as s:
            row = parameters.set(s, officer(s, by), key, parsed, day, note, region=region)
            out = {
                "key": row.key,
                "region": row.region,
                "value": row.value,
                "valid_from": row.valid_from.isoformat(),
                "note": row.note,
            }
    except DomainError as e:
        _fail(e.reason)
    print(json.dumps(out, ensure_ascii=False, default=clock.json_default))


def register(app: typer.Typer, officer: Callable[[Any, str], Any]) -> None:
    """Add ``oip parameters list|set``; ``officer(session, username)`` is the acting officer."""
    params = typer.Typer(help="Effective-dated parameters of every domain (list, set).", no_args_is_help=True)
    app.add_typer(params, name="parameters")

    @params.command("list")
    def list_command(
        as_json: bool = typer.Option(False, "--json", help="One JSON array instead of the table."),
        key: str = typer.Option("", "--key", help="Only keys starting with this, e.g. benefit."),
    ) -> None:
        """Every parameter: key, label, region, value, valid_from, valid_to, note."""
        list_parameters(as_json, key)

    @params.command("set")
    def set_command(
        key: str = typer.Argument(..., help="e.g. benefit.minimum_wage_monthly_fen"),
        value: str = typer.Argument(..., help="JSON, e.g. 184000 or '[\"completed\"]'"),
        valid_from: str = typer.Option(..., "--from", help="First day, YYYY-MM-DD (events on or after it)."),
        region: str = typer.Option(
            None, "--region", help="Regional parameters only: 45, a city (4501) or a county (450123)."
        ),
        note: str = typer.Option(..., help="Basis (document number) or reason."),
        by: str = typer.Option(..., help="Acting officer's username."),
    ) -> None:
        """Give a parameter a new value from a date (the value before it, same region, ends the day before)."""
        set_parameter(officer, key, value, valid_from, note, by, region)
