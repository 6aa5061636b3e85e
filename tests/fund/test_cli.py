"""``oip fund post | trial-balance | check`` as subprocesses, on a database of their own.

The command line commits (it is the scheduled job's and an officer's terminal), and ``check`` must
be shown a broken ledger: neither may happen in the database the other tests share. So this module
creates an empty database, migrates it, gives it a platform's tax returns (the source rows of its
premium events), runs the commands against it (``OIP_DATABASE_URL`` of the subprocess) and drops it."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from sqlalchemy import select

from oip.core import clock, events
from oip.fund import rules
from tests.conftest import migrated_database, run_oip

NN = "450100"


@pytest.fixture(scope="module")
def scratch(database):
    """An empty, migrated database with the reference data and the pilot platforms."""
    from oip.platforms import service as platforms
    from oip.reference import service as reference

    with migrated_database(database, "oip_fund_cli") as (url, make):
        with make() as s:
            reference.load(s)
            platforms.load_pilot_platforms(s)
            s.commit()
        yield url, make


def _tax_return(s, ref: str, paid_fen: int, day: dt.date) -> int:
    """A platform's tax return and its premium event, as the tax import writes them."""
    from oip.platforms.models import Platform
    from oip.premiums.models import TaxReturn

    pid = s.scalar(select(Platform.id).where(Platform.code == "meituan"))
    t = TaxReturn(
        platform_id=pid,
        month=rules.month_of(day),
        declared_fen=paid_fen,
        paid_fen=paid_fen,
        declared_on=day,
        paid_on=day,
        tax_reference=ref,
        imported_at=clock.now(),
    )
    s.add(t)
    s.flush()
    events.emit(
        s,
        "premium.received",
        source_type="tax_return",
        source_id=t.id,
        occurred_on=day,
        region_code=rules.PROVINCE,
        amount_fen=paid_fen,
        payload={"platform_id": pid, "month": t.month, "tax_reference": ref},
    )
    return t.id


def test_post_trial_balance_and_check_of_a_whole_ledger_then_a_broken_one(scratch):
    url, make = scratch
    today = clock.today()
    year = today.year
    with make() as s:
        _tax_return(s, "CLI-T-1", 1_234_500, today)
        _tax_return(s, "CLI-T-2", 99, today)
        s.commit()

    # post: books both events.
    r = run_oip(url, "fund", "post")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["events"] == 2 and out["entries"] == 2 and out["amount_fen"] == {"premium": 1_234_599}

    # trial-balance --json: the region's fiscal account and premium income.
    r = run_oip(url, "fund", "trial-balance", "--year", str(year), "--json")
    assert r.returncode == 0, r.stderr
    rows = {x["subject_code"]: x for x in json.loads(r.stdout)}
    assert set(rows) == {rules.FISCAL, rules.PREMIUM_INCOME}
    for x in rows.values():
        assert {"subject_code", "subject_name", "debit_fen", "credit_fen", "balance_fen"} <= set(x)
    assert rows["1001"]["subject_name"] == "财政专户存款（职业伤害保障）"
    assert (rows["1001"]["debit_fen"], rows["1001"]["credit_fen"], rows["1001"]["balance_fen"]) == (
        1_234_599,
        0,
        1_234_599,
    )
    assert (rows["4001"]["debit_fen"], rows["4001"]["credit_fen"], rows["4001"]["balance_fen"]) == (
        0,
        1_234_599,
        1_234_599,
    )

    # check: whole.
    r = run_oip(url, "fund", "check")
    assert r.returncode == 0, r.stdout + r.stderr
    report = json.loads(r.stdout)
    assert report["ok"] is True and report["problems"] == []
    assert report["figures"]["tie_out"]["premium_income_fen"] == 1_234_599

    # Now break it: a benefit paid in 南宁 whose payment line does not exist, and a premium event
    # whose tax return does not exist.
    with make() as s:
        bad_line = events.emit(
            s,
            "benefit.paid",
            source_type="payment_line",
            source_id=987_654_321,
            occurred_on=today,
            region_code="450103",
            amount_fen=5_000,
            payload={"item": "medical", "batch_id": 1, "batch_number": "ZF-CLI-1", "key": "CLI-1"},
        )
        bad_return = events.emit(
            s,
            "premium.received",
            source_type="tax_return",
            source_id=987_654_322,
            occurred_on=today,
            region_code=rules.PROVINCE,
            amount_fen=700,
            payload={},
        )
        s.commit()
        bad_ids = (bad_line.id, bad_return.id)
    r = run_oip(url, "fund", "post")  # only the two new ones: the first two were booked once
    assert r.returncode == 0 and json.loads(r.stdout)["events"] == 2

    # trial-balance --city: 南宁's books hold the payment, not the premiums (those are the region's).
    r = run_oip(url, "fund", "trial-balance", "--year", str(year), "--city", NN, "--json")
    assert r.returncode == 0, r.stderr
    nn = {x["subject_code"]: x for x in json.loads(r.stdout)}
    assert set(nn) == {"500101", rules.EXPENDITURE_ACCOUNT}
    assert (nn["500101"]["debit_fen"], nn["500101"]["balance_fen"]) == (5_000, 5_000)
    assert (nn["1002"]["credit_fen"], nn["1002"]["balance_fen"]) == (5_000, -5_000)
    r = run_oip(url, "fund", "check")
    assert r.returncode == 1
    report = json.loads(r.stdout)
    assert report["ok"] is False
    assert any(f"业务事件 {bad_ids[0]}" in p and "支付明细 987654321 不存在" in p for p in report["problems"])
    assert any(f"业务事件 {bad_ids[1]}" in p and "税务回执 987654322 不存在" in p for p in report["problems"])
    # Named on stderr too, for a terminal.
    assert "支付明细 987654321 不存在" in r.stderr and "税务回执 987654322 不存在" in r.stderr


def test_close_a_month_by_an_officer_who_may(scratch):
    """``oip fund close MONTH --by USER``: the region's officer closes last month (its premium kept in
    its totals); a city officer may not; nobody closes it twice; an unknown user is refused."""
    from oip.auth.models import Organisation, User

    url, make = scratch
    last = clock.today().replace(day=1) - dt.timedelta(days=1)
    month = rules.month_of(last)
    with make() as s:
        for code, region, user, role in (
            ("cli-gx-si", rules.PROVINCE, "cli_gx_si", "si_region"),
            ("cli-nn-si", NN, "cli_nn_si", "si_city"),
        ):
            org = Organisation(code=code, name=f"社保中心 {region}（命令行测试）", kind="si_agency", region_code=region)
            s.add(org)
            s.flush()
            s.add(User(username=user, display_name=f"{user}（测试）", role=role, kind="staff", organisation_id=org.id))
        _tax_return(s, "CLI-T-LAST", 4_321, last.replace(day=1))
        s.commit()

    r = run_oip(url, "fund", "close", month, "--by", "cli_nn_si")
    assert r.returncode == 2 and "没有会计期间结账的权限" in r.stderr
    r = run_oip(url, "fund", "close", month, "--by", "nobody_here")
    assert r.returncode == 2 and "没有启用的用户 nobody_here" in r.stderr
    r = run_oip(url, "fund", "close", month, "--by", "cli_gx_si")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["month"] == month and out["status"] == "closed"
    assert out["totals"]["debit_fen"] == out["totals"]["credit_fen"] >= 4_321 and out["totals"]["entries"] >= 1
    r = run_oip(url, "fund", "close", month, "--by", "cli_gx_si")
    assert r.returncode == 2 and f"{month} 已结账" in r.stderr
