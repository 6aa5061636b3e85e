"""``oip benefits run-month / eligibility / stop / rerate`` as an officer types them."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from typer.testing import CliRunner

from oip.cli import app
from oip.core import clock
from tests.benefits._monthly_support import approve, monthly_ids, new_case, owed

D = dt.date
runner = CliRunner()
pytestmark = pytest.mark.usefixtures("database")


def test_run_month_eligibility_and_stop_from_the_command_line():
    cid = new_case()
    approve(cid, [{"item": "nursing", "amount_fen": 120_000, "starts_on": D(2027, 3, 1)}], approved_on=D(2027, 3, 2))
    (mid,) = monthly_ids(cid)
    with clock.frozen(D(2027, 5, 4)):
        r = runner.invoke(app, ["benefits", "run-month", "--month", "2027-05", "--case", str(cid), "--by", "nn_si"])
        assert r.exit_code == 0, r.output
        assert (json.loads(r.stdout)["created"], json.loads(r.stdout)["owed_fen"]) == (3, 360_000)
        r = runner.invoke(app, ["benefits", "run-month", "--month", "2027-05", "--case", str(cid), "--by", "nn_si"])
        assert json.loads(r.stdout)["created"] == 0
        r = runner.invoke(app, ["benefits", "run-month", "--month", "2027-05", "--by", "gx_finance"])
        assert r.exit_code == 2 and "无权" in r.stderr
        r = runner.invoke(
            app,
            ["benefits", "eligibility", "confirm", str(mid), "--on", "2027-05-04", "--means", "visit", "--by", "qx_si"],
        )
        assert r.exit_code == 0, r.output
        assert json.loads(r.stdout) == [{"id": mid, "status": "active", "eligibility_due": "2028-05-04"}]
        r = runner.invoke(
            app, ["benefits", "stop", str(mid), "--on", "2027-04-02", "--reason", "refusal_review", "--by", "nn_si"]
        )
        assert r.exit_code == 0, r.output
        assert json.loads(r.stdout)["last_month"] == "2027-04"
        r = runner.invoke(
            app, ["benefits", "stop", str(mid), "--on", "2027-04-02", "--reason", "nope", "--by", "nn_si"]
        )
        assert r.exit_code == 2 and "停发原因" in r.stderr
    assert owed(mid) == {"2027-03": 120_000, "2027-04": 120_000}
