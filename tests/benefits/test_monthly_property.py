"""The cap of monthly benefits (property): whatever sequence of monthly runs, re-ratings, payments,
stops, lapses and confirmations, a month never owes more than its rate — except what was already
paid (or is at the bank) before a stop or a lower rate, which is listed to recover (应追回) — and a
month that should be owed is owed exactly once."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from oip.benefits import monthly, monthly_rules as R
from oip.benefits.models import MonthlyBenefit
from tests.benefits._monthly_support import approve, fixed, monthly_ids, new_case, on, pay, payables_of

D = dt.date
START = D(2027, 1, 1)

op = st.one_of(
    st.tuples(st.just("advance"), st.integers(1, 8)),  # months on, then the monthly run
    st.tuples(st.just("rerate"), st.integers(0, 10), st.sampled_from([250_000, 300_000, 330_000, 360_000])),
    st.tuples(st.just("pay"), st.integers(1, 4)),  # pay every due month
    st.tuples(st.just("stop"), st.integers(0, 20)),
    st.tuples(st.just("confirm"), st.integers(0, 1)),
)


def _check(s, mid: int) -> None:
    mb = s.get(MonthlyBenefit, mid)
    rates = [(r.from_month, r.amount_fen) for r in monthly.rates_of(s, mb)]
    last = monthly.last_month(s, mb)
    by_month: dict[dt.date, list] = {}
    for p in monthly.payables_of(s, mb):
        by_month.setdefault(p.period, []).append(p)
    recover = {o["month"]: o["amount_fen"] for o in monthly.overpayments(s, mb)}
    for month, rows in by_month.items():
        live = [p for p in rows if p.status != "cancelled"]
        total = sum(p.amount_fen for p in live)
        in_hand = sum(p.amount_fen for p in live if p.status in R.IN_HAND)
        entitled = R.rate_in_force(rates, month) if R.entitled(month, mb.starts_on, last) else 0
        rate = R.rate_in_force(rates, month)
        assert total <= max(rate, in_hand), (month, total, rate)
        assert total == max(entitled, in_hand), (month, total, entitled, in_hand)
        assert recover.get(R.ym(month), 0) == max(0, in_hand - entitled)
        if mb.status == "paused":
            assert not any(p.status == "due" for p in live)


@pytest.mark.slow
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=st.lists(op, min_size=1, max_size=8))
def test_a_month_never_owes_more_than_its_rate(database, ops):
    cid = new_case()
    approve(cid, [{"item": "disability_monthly", "amount_fen": 300_000, "starts_on": START}], approved_on=START)
    (mid,) = monthly_ids(cid)
    today = D(2027, 1, 5)
    for o in ops:
        match o:
            case ("advance", n):
                today = R.add_months(today.replace(day=1), n).replace(day=5)
                with on(today) as (s, actor):
                    monthly.run_month(s, actor, R.ym(today), case_id=cid)
            case ("rerate", k, amount):
                with on(today) as (s, actor):
                    monthly.rerate(s, actor, R.ym(R.add_months(START, k)), compute=fixed(amount), case_id=cid)
            case ("pay", _):
                due = sorted({R.ym(p.period) for p in payables_of(mid) if p.status == "due"})
                pay(mid, due, today)
            case ("stop", k):
                with on(today) as (s, actor):
                    if s.get(MonthlyBenefit, mid).status != "stopped":
                        monthly.stop(s, actor, mid, on=min(today, START + dt.timedelta(days=30 * k)), reason="death")
            case ("confirm", _):
                with on(today) as (s, actor):
                    if s.get(MonthlyBenefit, mid).status != "stopped":
                        monthly.confirm_eligibility(s, actor, mid, confirmed_on=today, means="data")
        with on(today) as (s, _):
            _check(s, mid)
