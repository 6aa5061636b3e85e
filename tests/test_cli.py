"""The command line as a whole: its version, help texts written for a terminal (no reStructuredText
markup), and times printed in Beijing time like the pages."""

from __future__ import annotations

import datetime as dt
import json
import re

import click
import typer
from typer.testing import CliRunner

from oip import __version__
from oip.cli import app
from oip.core import clock

runner = CliRunner()


def _commands():
    root = typer.main.get_command(app)
    ctx = click.Context(root)

    def walk(c, path):
        yield path, c
        if hasattr(c, "list_commands"):
            for name in c.list_commands(ctx):
                yield from walk(c.get_command(ctx, name), [*path, name])

    return list(walk(root, []))


def test_version():
    r = runner.invoke(app, ["--version"])
    assert r.exit_code == 0 and r.output.strip() == f"oip {__version__}"


def test_help_texts_have_no_rst_markup():
    commands = _commands()
    assert len(commands) > 25
    for path, c in commands:
        for text in [c.help or "", *(getattr(p, "help", "") or "" for p in c.params)]:
            assert "``" not in text and not re.search(r"`[^`]+`", text), (path, text)
        r = runner.invoke(app, [*path, "--help"])
        assert r.exit_code == 0 and "``" not in r.output, path


def test_json_times_are_beijing_time():
    t = dt.datetime(2026, 8, 1, 4, 30, tzinfo=dt.UTC)
    out = json.loads(
        json.dumps({"at": t, "day": t.date(), "n": __import__("decimal").Decimal("0.07")}, default=clock.json_default)
    )
    assert out == {"at": "2026-08-01T12:30:00+08:00", "day": "2026-08-01", "n": "0.07"}


def test_order_batches_are_listed_in_beijing_time(database, tmp_path):
    from tests.orders.conftest import import_rows, order, register_workers

    ((a, _),) = register_workers("meituan", 1)
    batch = import_rows(tmp_path, [order(a, day="2025-10-23")]).batch_id
    r = runner.invoke(app, ["orders", "batches", "--platform", "meituan", "--limit", "1"])
    assert r.exit_code == 0, r.output
    b = json.loads(r.output.strip().splitlines()[0])
    assert b["batch_id"] == batch
    for key in ("started_at", "published_at"):
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?\+08:00", b[key]), b[key]
