"""The yearly float's figures from the data (oip.benefits.experience through
oip.premiums.float_figures): claims paid from the paid payables of the year on the platform's cases,
injuries from its confirmed cases of the year, insured workers from the order ledger's
worker-months; an officer's override needs a reason, is audited and shown, and the proposal uses
whichever is in force.

Every test makes its own platform, so the figures are exact whatever else the database holds. The
clock is frozen in December of the year of the figures (the float of the next year is proposed
then), so nothing depends on today's date."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from oip.core import clock
from oip.core.audit_models import AuditEvent
from oip.core.errors import DomainError
from oip.orders.models import WorkerMonth
from oip.premiums import float_figures, floats
from tests.benefits.portal_rows import account_on, case_on, decide, determination, payable
from tests.premiums.conftest import make_platform, officer

YEAR = 2026
DECEMBER = dt.date(YEAR, 12, 10)  # the figures of YEAR are in; the float of YEAR + 1 is proposed now


@pytest.fixture
def si(db):
    """The regional social insurance centre's officer (gx_si: the float and its figures)."""
    return officer(db)


def _at(y: int, m: int, d: int, h: int = 10, mi: int = 0) -> dt.datetime:
    return dt.datetime(y, m, d, h, mi, tzinfo=clock.SHANGHAI)


def _worker_month(db, platform, month: dt.date, person_id: int, orders: int = 3) -> None:
    db.add(
        WorkerMonth(
            platform_id=platform.id,
            account_id=f"acct-{person_id}",
            month=month,
            county_code="450103",
            person_id=person_id,
            orders=orders,
            completed=orders,
            day_orders=[orders] + [0] * 30,
            day_first=[3600] + [None] * 30,
            day_last=[7200] + [None] * 30,
            first_accepted_at=_at(month.year, month.month, 1, 1),
            last_finished_at=_at(month.year, month.month, 1, 2),
        )
    )


def _year_of_data(db, si):
    """A platform with, in YEAR: cases (confirmed, overturned, undecided, across the New Year in
    Beijing time), payables (paid in and out of the year, unpaid, paid by the platform) and two months
    of orders (7 and 4 workers)."""
    plat = make_platform(db)
    acc = account_on(db, plat)

    c1 = case_on(db, acc, _at(YEAR, 3, 1))
    decide(db, c1, on=dt.date(YEAR, 4, 1))
    _, (once, plat_paid) = determination(
        db,
        c1,
        [
            {"item": "disability_once", "amount_fen": 500_000},
            {"item": "medical", "amount_fen": 20_000, "payer": "platform"},
        ],
    )
    payable(db, c1, once, 100_000, status="paid", paid_on=dt.date(YEAR, 4, 20))  # counts
    payable(db, c1, once, 60_000, status="paid", paid_on=dt.date(YEAR, 12, 31))  # counts (last day)
    payable(db, c1, once, 50_000, status="paid", paid_on=dt.date(YEAR + 1, 1, 1))  # next year
    payable(db, c1, once, 30_000, status="due")  # not paid
    payable(db, c1, once, 40_000, status="batched")  # being paid
    payable(db, c1, plat_paid, 20_000, status="paid", paid_on=dt.date(YEAR, 5, 1))  # not the fund's

    c2 = case_on(db, acc, _at(YEAR, 5, 1))  # confirmed, then overturned, then not confirmed
    decide(db, c2, on=dt.date(YEAR, 6, 1), overturned_on=dt.date(YEAR, 8, 1))
    decide(db, c2, "not_confirmed", on=dt.date(YEAR, 9, 1), rnd=2)
    c3 = case_on(db, acc, _at(YEAR, 1, 1, 0, 30))  # 00:30 on 1 January in Beijing (16:30 UTC the day before)
    decide(db, c3, on=dt.date(YEAR, 2, 1))
    c4 = case_on(db, acc, _at(YEAR - 1, 12, 31, 23, 30))  # the year before
    decide(db, c4, on=dt.date(YEAR, 2, 1))
    case_on(db, acc, _at(YEAR, 7, 1))  # undecided
    c6 = case_on(db, acc, _at(YEAR, 8, 1))  # not confirmed
    decide(db, c6, "not_confirmed", on=dt.date(YEAR, 9, 1))

    for p in range(7):
        _worker_month(db, plat, dt.date(YEAR, 9, 1), 900_000 + p)
    for p in range(4):
        _worker_month(db, plat, dt.date(YEAR, 10, 1), 900_000 + p)
    _worker_month(db, plat, dt.date(YEAR, 10, 1), 900_100, orders=0)  # no order: not insured that month
    _worker_month(db, plat, dt.date(YEAR - 1, 12, 1), 900_200)  # the year before
    db.flush()
    return plat


def test_figures_come_from_the_cases_and_the_paid_payables(db, si):
    with clock.frozen(DECEMBER):
        plat = _year_of_data(db, si)
        fig = float_figures.figures(db, plat, YEAR)
        assert fig.source == "data" and fig.source_name == "按业务数据计算" and fig.reason == ""
        assert fig.claims_fen == 160_000  # 100,000 + 60,000 paid by the fund in the year
        assert fig.injuries == 2  # c1 and c3 (1 January, Beijing time)
        assert fig.insured_avg == 6  # (7 + 4) / 2 months, rounded half up
        assert fig.detail == {"insured_months": 2, "paid_payables": 2, "confirmed_cases": 2}
        prev = float_figures.figures(db, plat, YEAR - 1)
        assert (prev.claims_fen, prev.injuries, prev.insured_avg) == (0, 1, 1)  # c4; December's worker
        nxt = float_figures.figures(db, plat, YEAR + 1)
        assert (nxt.claims_fen, nxt.injuries, nxt.insured_avg) == (50_000, 0, 0)
    db.rollback()


def test_the_proposal_uses_the_data_and_then_the_override(db, si):
    with clock.frozen(DECEMBER):
        plat = _year_of_data(db, si)
        f = next(x for x in floats.propose_floats(db, si, YEAR + 1) if x.platform_id == plat.id)
        x = f.inputs
        assert (x["claims_fen"], x["injuries"], x["insured_avg"]) == (160_000, 2, 6)
        assert x["figures_source"] == "data" and x["figures_detail"]["paid_payables"] == 2
        assert x["year_of_figures"] == YEAR

        floats.set_experience(
            db, si, plat.code, YEAR, claims_fen=900_000, injuries=5, insured_avg=2_000, reason="年底补录的线下支付台账"
        )
        f = next(x for x in floats.propose_floats(db, si, YEAR + 1) if x.platform_id == plat.id)
        x = f.inputs
        assert (x["claims_fen"], x["injuries"], x["insured_avg"]) == (900_000, 5, 2_000)
        assert x["figures_source"] == "override" and x["figures_reason"] == "年底补录的线下支付台账"
        assert any("人工录入：年底补录的线下支付台账" in r for r in f.reasons)
    db.rollback()


def test_an_override_needs_a_reason_is_audited_and_can_be_withdrawn(db, si):
    with clock.frozen(DECEMBER):
        plat = _year_of_data(db, si)
        for blank in ("", "  "):
            with pytest.raises(DomainError) as e:
                floats.set_experience(db, si, plat.code, YEAR, claims_fen=1, injuries=0, insured_avg=10, reason=blank)
            assert e.value.field == "reason"
        assert float_figures.figures(db, plat, YEAR).source == "data"

        row = floats.set_experience(
            db, si, plat.code, YEAR, claims_fen=1_000, injuries=1, insured_avg=10, reason="财务科更正"
        )
        assert (row.source, row.reason) == ("override", "财务科更正")
        fig = float_figures.figures(db, plat, YEAR)
        assert (fig.source, fig.reason, fig.claims_fen, fig.injuries, fig.insured_avg) == (
            "override",
            "财务科更正",
            1_000,
            1,
            10,
        )
        assert (fig.data.claims_fen, fig.data.injuries, fig.data.insured_avg) == (160_000, 2, 6)  # shown beside
        ev = db.scalar(
            select(AuditEvent).where(
                AuditEvent.action == "premium.experience_set", AuditEvent.entity_id == f"{plat.code}/{YEAR}"
            )
        )
        assert ev.after["reason"] == "财务科更正" and ev.after["data"]["claims_fen"] == 160_000

        with pytest.raises(DomainError) as e:
            floats.clear_experience(db, si, plat.code, YEAR, reason=" ")
        assert e.value.field == "reason"
        floats.clear_experience(db, si, plat.code, YEAR, reason="台账已并入系统")
        assert float_figures.figures(db, plat, YEAR).source == "data"
        ev = db.scalar(
            select(AuditEvent).where(
                AuditEvent.action == "premium.experience_cleared", AuditEvent.entity_id == f"{plat.code}/{YEAR}"
            )
        )
        assert ev.before["reason"] == "财务科更正" and ev.after["reason"] == "台账已并入系统"
        with pytest.raises(DomainError, match="没有人工录入"):
            floats.clear_experience(db, si, plat.code, YEAR, reason="再撤一次")
    db.rollback()


def test_override_through_the_api_and_the_page(client, as_user, db, si):
    """The API refuses an override without a reason (422) and accepts the old field name; the officer's
    page lists the figures with their source and reason, and withdrawing needs a reason too."""
    with clock.frozen(DECEMBER):
        plat = make_platform(db)
        db.commit()
        h = as_user("gx_si")
        url = f"/api/v1/premiums/experience/{plat.code}/{YEAR}"
        r = client.put(url, json={"claims_fen": 1, "injuries": 0, "insured_avg": 10}, headers=h)
        assert r.status_code == 422 and "reason" in r.text
        r = client.put(url, json={"claims_fen": 1, "injuries": 0, "insured_avg": 10, "reason": " "}, headers=h)
        assert r.status_code == 400 and r.json()["error"]["field"] == "reason"
        r = client.put(
            url,
            json={"claims_fen": 12_345, "injuries": 2, "insured_avg": 300, "source": "线下台账（旧字段名）"},
            headers=h,
        )
        assert r.status_code == 200, r.text
        assert (r.json()["source"], r.json()["reason"]) == ("override", "线下台账（旧字段名）")

        rows = {x["platform_code"]: x for x in client.get(f"/api/v1/premiums/experience/{YEAR}", headers=h).json()}
        assert rows[plat.code]["source"] == "override" and rows[plat.code]["data"]["claims_fen"] == 0

        page = client.get(f"/premiums?year={YEAR + 1}")
        assert page.status_code == 200
        assert "线下台账（旧字段名）" in page.text and "123.45" in page.text and "人工录入" in page.text

        csrf = h["X-CSRF-Token"]
        r = client.post(
            "/premiums/experience/clear",
            data={"csrf_token": csrf, "platform_code": plat.code, "year": str(YEAR), "reason": ""},
            follow_redirects=False,
        )
        assert r.status_code == 400
        r = client.post(
            "/premiums/experience/clear",
            data={"csrf_token": csrf, "platform_code": plat.code, "year": str(YEAR), "reason": "改用业务数据"},
            follow_redirects=False,
        )
        assert r.status_code == 303
        rows = {x["platform_code"]: x for x in client.get(f"/api/v1/premiums/experience/{YEAR}", headers=h).json()}
        assert rows[plat.code]["source"] == "data" and rows[plat.code]["claims_fen"] == 0


def test_the_command_line_shows_and_overrides_the_figures(database):
    """``oip premiums float figures YEAR`` and ``… experience CODE YEAR … --reason`` / ``--clear``
    (the command runs on the real clock: the year of the figures is this year)."""
    import json

    from oip.core.db import session_scope
    from tests.premiums.test_cli import oip

    year = clock.today().year
    with session_scope() as s:
        code = make_platform(s).code
    base = ("premiums", "float", "experience", code, str(year), "--by", "gx_si")
    r = oip(*base, "--claims-fen", "5000", "--injuries", "1", "--insured-avg", "10")
    assert r.returncode == 2 and "理由" in r.stderr
    r = oip(*base, "--claims-fen", "5000", "--injuries", "1", "--insured-avg", "10", "--reason", "线下台账")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert (out["source"], out["reason"], out["claims_fen"], out["data"]["claims_fen"]) == (
        "override",
        "线下台账",
        5000,
        0,
    )
    r = oip("premiums", "float", "figures", str(year))
    assert r.returncode == 0, r.stderr
    row = next(x for x in json.loads(r.stdout) if x["platform_code"] == code)
    assert (row["source"], row["injuries"], row["insured_avg"]) == ("override", 1, 10)
    r = oip(*base, "--clear", "--reason", "改用业务数据")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["source"] == "data"
