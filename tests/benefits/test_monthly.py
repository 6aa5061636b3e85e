"""Monthly benefits (定期待遇) through the service: start, schedule with catch-up, stops, eligibility,
re-rating — worked examples with fixed dates (the clock frozen)."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from oip.benefits import monthly, monthly_rules as R
from oip.benefits.models import MonthlyBenefit, MonthlyRate
from oip.core.errors import DomainError
from tests.benefits._monthly_support import (
    add_dependant,
    approve,
    fixed,
    monthly_ids,
    new_case,
    on,
    owed,
    pay,
    payables_of,
)

D = dt.date
pytestmark = pytest.mark.usefixtures("database")


def _worker_benefit(amount: int = 300_000, starts_on: D = D(2027, 1, 15), approved_on: D = D(2027, 1, 20)):
    cid = new_case()
    approve(
        cid, [{"item": "disability_monthly", "amount_fen": amount, "starts_on": starts_on}], approved_on=approved_on
    )
    (mid,) = monthly_ids(cid)
    return cid, mid


def test_start_creates_one_benefit_per_monthly_line_with_its_first_rate():
    cid = new_case(kind="death")
    spouse = add_dependant(cid, relation="spouse", birth_date=D(1990, 1, 1))
    child = add_dependant(cid, relation="child", birth_date=D(2015, 5, 5))
    approve(
        cid,
        [
            {"item": "dependants", "amount_fen": 200_000, "starts_on": D(2027, 2, 1), "dependant_id": spouse},
            {"item": "dependants", "amount_fen": 150_000, "starts_on": D(2027, 2, 1), "dependant_id": child},
        ],
        approved_on=D(2027, 2, 3),
    )
    with on(D(2027, 2, 3)) as (s, _):
        rows = list(s.scalars(select(MonthlyBenefit).where(MonthlyBenefit.case_id == cid).order_by(MonthlyBenefit.id)))
        assert [(m.dependant_id, m.person_id, m.status) for m in rows] == [
            (spouse, None, "active"),
            (child, None, "active"),
        ]
        assert rows[0].eligibility_due == D(2028, 2, 3)
        rate = s.scalar(select(MonthlyRate).where(MonthlyRate.monthly_id == rows[1].id))
        assert (rate.from_month, rate.amount_fen, rate.reason) == (D(2027, 2, 1), 150_000, "determination")


def test_schedule_catches_up_from_the_start_and_is_idempotent():
    cid, mid = _worker_benefit()
    with on(D(2027, 4, 2)) as (s, actor):
        c = monthly.run_month(s, actor, "2027-04", case_id=cid)
        assert (c.created, c.owed_fen) == (4, 1_200_000)
    rows = payables_of(mid)
    assert [(p.key, p.amount_fen, p.kind, p.status) for p in rows] == [
        (f"monthly:{mid}:2027-0{m}", 300_000, "monthly", "due") for m in (1, 2, 3, 4)
    ]
    assert [p.due_on for p in rows] == [D(2027, m, 10) for m in (1, 2, 3, 4)]
    assert {p.region_code for p in rows} == {"450103"}
    assert rows[0].period == D(2027, 1, 1)  # never before the start: the start's month is the first
    with on(D(2027, 4, 3)) as (s, actor):
        again = monthly.run_month(s, actor, "2027-04", case_id=cid)
        assert (again.created, again.arrears, again.owed_fen) == (0, 0, 0)
        with pytest.raises(DomainError, match="未来月份"):
            monthly.run_month(s, actor, "2027-05", case_id=cid)
        earlier = monthly.run_month(s, actor, "2027-02", case_id=cid)  # an earlier month: nothing undone
        assert (earlier.created, earlier.cancelled) == (0, 0)
    assert [p.status for p in payables_of(mid)] == ["due"] * 4


def test_a_month_before_the_start_owes_nothing():
    cid, mid = _worker_benefit(starts_on=D(2027, 3, 31), approved_on=D(2027, 4, 1))
    with on(D(2027, 4, 2)) as (s, actor):
        monthly.run_month(s, actor, "2027-02", case_id=cid)
    assert payables_of(mid) == []
    with on(D(2027, 4, 2)) as (s, actor):
        monthly.run_month(s, actor, "2027-04", case_id=cid)
    assert owed(mid) == {"2027-03": 300_000, "2027-04": 300_000}


@pytest.mark.parametrize(
    ("birth", "last"),
    [
        (D(2009, 6, 1), "2027-06"),  # 18 on the first of June: June owed, July not
        (D(2009, 6, 30), "2027-06"),  # 18 on the last of June: the same
        (D(2009, 7, 1), "2027-07"),  # a day later: July owed too
    ],
)
def test_child_turning_18_stops_from_the_month_after(birth, last):
    cid = new_case(kind="death")
    child = add_dependant(cid, birth_date=birth)
    approve(
        cid,
        [{"item": "dependants", "amount_fen": 150_000, "starts_on": D(2027, 5, 1), "dependant_id": child}],
        approved_on=D(2027, 5, 2),
    )
    (mid,) = monthly_ids(cid)
    with on(D(2027, 9, 1)) as (s, actor):
        c = monthly.run_month(s, actor, "2027-09", case_id=cid)
        assert c.stopped == 1
        mb = s.get(MonthlyBenefit, mid)
        assert (mb.status, mb.stopped_on, mb.stop_reason) == ("stopped", R.eighteenth_birthday(birth), "age")
    months = list(owed(mid))
    assert months[0] == "2027-05" and months[-1] == last


def test_school_extends_a_child_pension_until_leaving_school():
    cid = new_case(kind="death")
    child = add_dependant(cid, birth_date=D(2009, 6, 1), school_until=D(2027, 9, 15))
    approve(
        cid,
        [{"item": "dependants", "amount_fen": 150_000, "starts_on": D(2027, 5, 1), "dependant_id": child}],
        approved_on=D(2027, 5, 2),
    )
    (mid,) = monthly_ids(cid)
    with on(D(2027, 9, 20)) as (s, actor):
        monthly.run_month(s, actor, "2027-09", case_id=cid)
        view = monthly.describe(s, s.get(MonthlyBenefit, mid))
        assert (view["ends_on"], view["ends_reason_name"]) == ("2027-09-15", "子女毕业或离校")
    assert list(owed(mid)) == ["2027-05", "2027-06", "2027-07", "2027-08", "2027-09"]
    with on(D(2027, 11, 2)) as (s, actor):
        monthly.run_month(s, actor, "2027-11", case_id=cid)
        assert s.get(MonthlyBenefit, mid).stop_reason == "school"
    assert list(owed(mid))[-1] == "2027-09"


def test_death_stops_cancels_unpaid_and_shows_the_overpayment():
    cid, mid = _worker_benefit()
    with on(D(2027, 5, 2)) as (s, actor):
        monthly.run_month(s, actor, "2027-05", case_id=cid)
    pay(mid, ["2027-01", "2027-02", "2027-03", "2027-04"], D(2027, 5, 3))
    with on(D(2027, 5, 6)) as (s, actor):
        monthly.stop(s, actor, mid, on=D(2027, 3, 20), reason="death", note="家属告知")
    by_month = {f"{p.period:%Y-%m}": p.status for p in payables_of(mid)}
    assert by_month == {
        "2027-01": "paid",
        "2027-02": "paid",
        "2027-03": "paid",
        "2027-04": "paid",
        "2027-05": "cancelled",
    }
    with on(D(2027, 5, 6)) as (s, actor):
        mb = s.get(MonthlyBenefit, mid)
        assert monthly.overpayments(s, mb) == [{"month": "2027-04", "amount_fen": 300_000, "at_bank": False}]
        view = monthly.describe(s, mb)
        assert (view["status"], view["stop_reason_name"], view["stop_note"]) == ("stopped", "领取人死亡", "家属告知")
        # a stopped benefit owes nothing more, however often the month is run
        monthly.run_month(s, actor, "2027-05", case_id=cid)
        with pytest.raises(DomainError, match="已于"):
            monthly.stop(s, actor, mid, on=D(2027, 3, 20), reason="death")
    assert owed(mid) == {f"2027-0{m}": 300_000 for m in (1, 2, 3, 4)}


def test_eligibility_lapse_pauses_with_held_months_and_confirmation_pays_the_arrears():
    cid, mid = _worker_benefit(approved_on=D(2027, 1, 20))
    with on(D(2027, 12, 1)) as (s, actor):
        monthly.run_month(s, actor, "2027-12", case_id=cid)
    pay(mid, [f"2027-{m:02d}" for m in range(1, 12)], D(2027, 12, 2))
    with on(D(2028, 1, 2)) as (s, actor):  # due 2028-01-20: not lapsed yet
        c = monthly.run_month(s, actor, "2028-01", case_id=cid)
        assert (c.paused, c.held) == (0, 0)
    with on(D(2028, 3, 2)) as (s, actor):
        c = monthly.run_month(s, actor, "2028-03", case_id=cid)
        assert (c.paused, c.created, c.held) == (1, 2, 2)
        mb = s.get(MonthlyBenefit, mid)
        assert (mb.status, mb.paused_on) == ("paused", D(2028, 1, 21))
    held = [f"{p.period:%Y-%m}" for p in payables_of(mid) if p.status == "held"]
    assert held == ["2027-12", "2028-01", "2028-02", "2028-03"]  # the unpaid month before is held too
    assert {p.failure_reason for p in payables_of(mid) if p.status == "held"} == {monthly.PAUSE_REASON}
    with on(D(2028, 3, 5)) as (s, actor):
        monthly.confirm_eligibility(s, actor, mid, confirmed_on=D(2028, 3, 5), means="desk")
        mb = s.get(MonthlyBenefit, mid)
        assert (mb.status, mb.paused_on, mb.eligibility_due) == ("active", None, D(2029, 3, 5))
        from oip.cases.models import CaseEvent

        actions = list(s.scalars(select(CaseEvent.action).where(CaseEvent.case_id == cid).order_by(CaseEvent.id)))
        assert "monthly_pause" in actions and actions[-1] == "monthly_resume"
    assert [p.status for p in payables_of(mid)][-4:] == ["due"] * 4
    assert owed(mid)["2028-03"] == 300_000


def test_rerating_owes_the_difference_as_arrears_exactly_once():
    cid, mid = _worker_benefit()
    with on(D(2027, 6, 2)) as (s, actor):
        monthly.run_month(s, actor, "2027-06", case_id=cid)
    pay(mid, ["2027-01", "2027-02", "2027-03", "2027-04"], D(2027, 6, 3))
    with on(D(2027, 6, 20)) as (s, actor):
        out = monthly.rerate(s, actor, "2027-04", compute=fixed(320_000), case_id=cid)
        assert (out["rerated"], out["arrears"], out["arrears_fen"]) == (1, 3, 60_000)
        rate = s.scalar(select(MonthlyRate).where(MonthlyRate.monthly_id == mid, MonthlyRate.reason == "adjustment"))
        assert (rate.from_month, rate.amount_fen) == (D(2027, 4, 1), 320_000)
        again = monthly.rerate(s, actor, "2027-04", compute=fixed(320_000), case_id=cid)
        assert again["rerated"] == 0
    arrears = [p for p in payables_of(mid) if p.kind == "arrears"]
    assert [(p.key, p.amount_fen) for p in arrears] == [
        (f"arrears:{mid}:2027-0{m}:r{rate.id}", 20_000) for m in (4, 5, 6)
    ]
    assert owed(mid) == {**{f"2027-0{m}": 300_000 for m in (1, 2, 3)}, **{f"2027-0{m}": 320_000 for m in (4, 5, 6)}}
    with on(D(2027, 7, 1)) as (s, actor):
        monthly.run_month(s, actor, "2027-07", case_id=cid)
    assert owed(mid)["2027-07"] == 320_000


def test_a_lower_rate_cancels_the_unpaid_surplus_and_shows_the_paid_one():
    cid, mid = _worker_benefit()
    with on(D(2027, 3, 2)) as (s, actor):
        monthly.run_month(s, actor, "2027-03", case_id=cid)
    pay(mid, ["2027-01"], D(2027, 3, 3))
    with on(D(2027, 3, 4)) as (s, actor):
        monthly.rerate(s, actor, "2027-01", compute=fixed(250_000), case_id=cid)
        assert monthly.overpayments(s, s.get(MonthlyBenefit, mid)) == [
            {"month": "2027-01", "amount_fen": 50_000, "at_bank": False}
        ]
    assert owed(mid) == {"2027-01": 300_000, "2027-02": 250_000, "2027-03": 250_000}


def test_a_later_version_replaces_the_rate_from_its_start():
    cid = new_case()
    det = approve(
        cid,
        [{"item": "disability_monthly", "amount_fen": 300_000, "starts_on": D(2027, 1, 1)}],
        approved_on=D(2027, 1, 5),
    )
    (mid,) = monthly_ids(cid)
    with on(D(2027, 4, 2)) as (s, actor):
        monthly.run_month(s, actor, "2027-04", case_id=cid)
    pay(mid, ["2027-01", "2027-02"], D(2027, 4, 3))
    approve(
        cid,
        [
            {"item": "disability_monthly", "amount_fen": 350_000, "starts_on": D(2027, 1, 1)},
            {"item": "nursing", "amount_fen": 100_000, "starts_on": D(2027, 3, 1)},
        ],
        approved_on=D(2027, 4, 10),
        chain_id=det,
        version=2,
    )
    mids = monthly_ids(cid)
    assert mids[0] == mid and len(mids) == 2
    assert owed(mid) == {f"2027-0{m}": 350_000 for m in (1, 2, 3, 4)}
    assert sum(p.amount_fen for p in payables_of(mid) if p.kind == "arrears") == 4 * 50_000
    with on(D(2027, 4, 11)) as (s, actor):
        monthly.run_month(s, actor, "2027-04", case_id=cid)
    assert owed(mids[1]) == {"2027-03": 100_000, "2027-04": 100_000}


def test_eligibility_and_stop_refuse_bad_input():
    cid, mid = _worker_benefit()
    with on(D(2027, 2, 1)) as (s, actor):
        with pytest.raises(DomainError, match="认证方式"):
            monthly.confirm_eligibility(s, actor, mid, confirmed_on=D(2027, 2, 1), means="fax")
        with pytest.raises(DomainError, match="晚于今天"):
            monthly.stop(s, actor, mid, on=D(2027, 2, 2), reason="refusal_treatment")
        with pytest.raises(DomainError, match="停发原因"):
            monthly.stop(s, actor, mid, on=D(2027, 2, 1), reason="age")
        other = s.scalar(select(MonthlyBenefit.id).where(MonthlyBenefit.id == mid))
        assert other == mid


def test_rules_worked_examples():
    assert R.eighteenth_birthday(D(2008, 2, 29)) == D(2026, 3, 1)
    assert R.eligibility_due(D(2027, 3, 5)) == D(2028, 3, 5)
    assert R.dependant_end("spouse", D(1990, 1, 1), None, None) is None
    assert R.dependant_end("child", D(2010, 1, 1), None, D(2025, 1, 1)) == R.End(D(2025, 1, 1), "death")
    assert R.dependant_end("child", D(2010, 1, 1), D(2027, 6, 30), None) == R.End(D(2028, 1, 1), "age")
    plan = R.plan_month(
        250, [R.Owed(1, "monthly", "paid", 200), R.Owed(2, "arrears", "due", 100), R.Owed(3, "arrears", "due", 50)]
    )
    assert plan == R.Plan(cancel=(3, 2), add_fen=50, overpaid_fen=0)
    assert R.plan_month(0, [R.Owed(1, "monthly", "batched", 200)]) == R.Plan((), 0, 200)


def test_rerating_with_the_calculator_after_a_parameter_change():
    """调整: B rises from a month in one county; the grade-3 allowance (80 % × B) of an injury that
    happened before is re-rated from that month, the difference owed as arrears."""
    from oip.benefits import calc, service
    from oip.core import audit
    from oip.reference import parameters

    county = "450126"  # 宾阳县: no other test sets parameters there
    event = D(2027, 1, 10)
    with on(D(2027, 2, 1)) as (s, _):
        quote = service.quote_for(s, calc.QuoteInput(event_date=event, region_code=county, kind="injury", grade=3))
        line = next(x for x in quote.lines if x.item == "disability_monthly")
        b = parameters.get(s, calc.B, event, county)
    cid = new_case(county=county)
    approve(
        cid,
        [{"item": "disability_monthly", "amount_fen": line.amount_fen, "starts_on": D(2027, 2, 1)}],
        approved_on=D(2027, 2, 1),
        event_date=event,
        inputs={"grade": 3, "self_care": "none"},
    )
    (mid,) = monthly_ids(cid)
    with on(D(2027, 9, 2)) as (s, actor):
        monthly.run_month(s, actor, "2027-09", case_id=cid)
        parameters.set(s, audit.SystemActor(label="test"), calc.B, b + 50_000, D(2027, 7, 1), "测试调整", region=county)
        out = monthly.rerate(s, actor, "2027-07", case_id=cid)
        assert (out["rerated"], out["arrears"]) == (1, 3)
        assert out["arrears_fen"] == 3 * 40_000  # 80 % of the 500 yuan rise, for July, August, September
        rate = s.scalar(select(MonthlyRate).where(MonthlyRate.monthly_id == mid, MonthlyRate.reason == "adjustment"))
        assert rate.amount_fen == line.amount_fen + 40_000 and "2027-07" in rate.formula
    assert owed(mid)["2027-06"] == line.amount_fen and owed(mid)["2027-07"] == line.amount_fen + 40_000


def test_a_paused_child_pension_that_ends_keeps_its_held_months_until_confirmed():
    cid = new_case(kind="death")
    child = add_dependant(cid, birth_date=D(2010, 3, 15))  # 18 on 2028-03-15
    approve(
        cid,
        [{"item": "dependants", "amount_fen": 150_000, "starts_on": D(2027, 1, 1), "dependant_id": child}],
        approved_on=D(2027, 1, 5),
    )
    (mid,) = monthly_ids(cid)
    with on(D(2027, 12, 2)) as (s, actor):
        monthly.run_month(s, actor, "2027-12", case_id=cid)
    pay(mid, [f"2027-{m:02d}" for m in range(1, 13)], D(2027, 12, 3))
    with on(D(2028, 2, 2)) as (s, actor):  # not confirmed by 2028-01-05
        assert monthly.run_month(s, actor, "2028-02", case_id=cid).paused == 1
    with on(D(2028, 5, 2)) as (s, actor):  # 18 in March: stopped, the months before still held
        c = monthly.run_month(s, actor, "2028-05", case_id=cid)
        assert (c.stopped, c.created, c.held) == (1, 1, 1)
        assert s.get(MonthlyBenefit, mid).status == "stopped"
    assert {f"{p.period:%Y-%m}": p.status for p in payables_of(mid) if p.period.year == 2028} == {
        "2028-01": "held",
        "2028-02": "held",
        "2028-03": "held",
    }
    with on(D(2028, 5, 3)) as (s, actor):
        monthly.confirm_eligibility(s, actor, mid, confirmed_on=D(2028, 5, 3), means="desk")
        assert s.get(MonthlyBenefit, mid).status == "stopped"
        monthly.rerate(s, actor, "2028-02", compute=fixed(160_000), case_id=cid)  # reaches a stopped pension
        with pytest.raises(DomainError, match="无需资格认证"):
            monthly.confirm_eligibility(s, actor, mid, confirmed_on=D(2028, 5, 3), means="desk")
    assert {p.status for p in payables_of(mid)} == {"paid", "due"}
    assert owed(mid)["2028-03"] == 160_000 and "2028-04" not in owed(mid)
