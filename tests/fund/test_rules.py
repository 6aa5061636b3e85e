"""The fund's pure rules (oip.fund.rules) on worked examples: what balances, how legs merge, which
period takes an entry, when a month may close, and the fen-exact splits and roundings."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

import pytest

from oip.fund import rules
from oip.fund.rules import Leg

NN, GL = "450100", "450300"
R = rules.PROVINCE


def _per_city(legs):
    acc = defaultdict(int)
    for x in legs:
        acc[x.city] += x.debit - x.credit
    return dict(acc)


# ---- check_legs ----------------------------------------------------------------------------------


def test_check_legs_accepts_a_balanced_entry_and_returns_its_legs():
    legs = [Leg("500101", NN, debit=300), Leg("500104", NN, debit=200), Leg("1002", NN, credit=500)]
    assert rules.check_legs(iter(legs)) == legs


def test_check_legs_refuses_an_unbalanced_entry():
    with pytest.raises(rules.Unbalanced, match="借方合计不等于贷方合计"):
        rules.check_legs([Leg("1001", R, debit=100), Leg("4001", R, credit=99)])


def test_check_legs_refuses_fewer_than_two_legs():
    with pytest.raises(rules.Unbalanced, match="至少需要一借一贷"):
        rules.check_legs([Leg("1001", R, debit=100)])
    with pytest.raises(rules.Unbalanced, match="至少需要一借一贷"):
        rules.check_legs([])


@pytest.mark.parametrize(
    "bad",
    [
        Leg("1001", R, debit=100, credit=100),  # both sides
        Leg("1001", R),  # neither side
        Leg("1001", R, debit=-100),  # negative
        Leg("1001", R, debit=200, credit=100),  # both sides, unequal
    ],
)
def test_check_legs_refuses_a_leg_not_one_sided_and_positive(bad):
    with pytest.raises(rules.Unbalanced, match="只能有借方或贷方一方金额"):
        rules.check_legs([bad, Leg("4001", R, credit=100)])


def test_check_legs_refuses_an_entry_that_balances_in_total_but_not_per_city():
    # The region pays 南宁's benefit straight from the fiscal account: balanced in total, but each
    # city is off by the amount — the money must pass through 1201 上下级往来.
    legs = [Leg("500101", NN, debit=1000), Leg("1001", R, credit=1000)]
    with pytest.raises(rules.Unbalanced, match=f"{R}、{NN}.*上下级往来"):
        rules.check_legs(legs)
    # Two cities off against each other, the region balanced.
    with pytest.raises(rules.Unbalanced, match=f"{NN}、{GL}"):
        rules.check_legs([Leg("1002", NN, debit=5), Leg("1002", GL, credit=5)])


def test_check_legs_accepts_a_cross_city_entry_through_the_interunit_subject():
    legs = rules.allocation_legs(NN, 1_000_000)
    assert rules.check_legs(legs) == legs


# ---- merge ---------------------------------------------------------------------------------------


def test_merge_adds_up_same_subject_city_and_side_and_keeps_sides_apart():
    legs = [
        Leg("500101", NN, debit=100),
        Leg("1002", NN, credit=100),
        Leg("500101", NN, debit=250),
        Leg("1002", NN, credit=250),
        Leg("500101", GL, debit=7),
        Leg("1002", GL, credit=7),
        Leg("500101", NN, credit=30),  # a credit on the same subject stays its own leg
        Leg("1002", NN, debit=30),
    ]
    out = rules.merge(legs)
    assert out == [
        Leg("1002", NN, debit=30),
        Leg("500101", NN, debit=350),
        Leg("500101", GL, debit=7),
        Leg("1002", NN, credit=350),
        Leg("500101", NN, credit=30),
        Leg("1002", GL, credit=7),
    ]
    # Debits first, then by city and subject; the totals and each city's balance unchanged.
    assert sum(x.debit for x in out) == sum(x.debit for x in legs) == 387
    assert _per_city(out) == _per_city(legs) == {NN: 0, GL: 0}
    rules.check_legs(out)


def test_merge_of_nothing_is_nothing():
    assert rules.merge([]) == []


# ---- event legs ----------------------------------------------------------------------------------


def test_event_legs_book_each_kind_in_its_city():
    assert rules.event_legs("premium.received", 500, "450103", {}) == [
        Leg("1001", R, debit=500),
        Leg("4001", R, credit=500),
    ]
    assert rules.event_legs("benefit.paid", 800, "450103", {"item": "funeral"}) == [
        Leg("500107", NN, debit=800),
        Leg("1002", NN, credit=800),
    ]
    assert rules.event_legs("benefit.reversed", 800, "450305", {"item": "funeral"}) == [
        Leg("1002", GL, debit=800),
        Leg("500107", GL, credit=800),
    ]
    # An item the chart does not know is booked as other expenditure, still balanced.
    assert rules.event_legs("benefit.paid", 1, "450103", {"item": "x"})[0].subject == rules.OTHER_EXPENSE
    with pytest.raises(ValueError):
        rules.event_legs("benefit.refunded", 1, "450103", {})


def test_reversal_of_mirrors_every_leg():
    legs = rules.allocation_legs(GL, 123)
    red = rules.reversal_of(legs)
    assert [(x.debit, x.credit) for x in red] == [(x.credit, x.debit) for x in legs]
    rules.check_legs(red)
    assert rules.reversal_of(red) == legs


# ---- periods -------------------------------------------------------------------------------------


def test_period_for_is_the_month_or_the_first_open_month_after_it():
    day = dt.date(2026, 3, 31)
    assert rules.period_for(day, []) == "2026-03"
    assert rules.period_for(day, {"2026-02"}) == "2026-03"
    assert rules.period_for(day, {"2026-03"}) == "2026-04"
    assert rules.period_for(day, {"2026-03", "2026-04", "2026-05"}) == "2026-06"
    # Over the year's end.
    assert rules.period_for(dt.date(2026, 12, 15), {"2026-12"}) == "2027-01"
    assert rules.period_for(dt.date(2026, 11, 1), {"2026-11", "2026-12"}) == "2027-01"


def test_next_month_and_month_of():
    assert rules.next_month("2026-01") == "2026-02"
    assert rules.next_month("2026-12") == "2027-01"
    assert rules.month_of(dt.date(2026, 9, 30)) == "2026-09"


def test_can_close_in_order_only():
    assert rules.can_close("2026-01", [], None) is None  # nothing booked yet
    assert rules.can_close("2026-01", [], "2026-01") is None  # the first month
    assert rules.can_close("2026-03", [], "2026-01") == "请先结账 2026-01（会计期间须按月顺序结账）"
    assert rules.can_close("2026-03", ["2026-01"], "2026-01") == "请先结账 2026-02（会计期间须按月顺序结账）"
    assert rules.can_close("2026-03", ["2026-01", "2026-02"], "2026-01") is None
    assert rules.can_close("2026-02", ["2026-01", "2026-02"], "2026-01") == "2026-02 已结账"
    # Over the year's end.
    assert rules.can_close("2027-01", ["2026-11"], "2026-11") == "请先结账 2026-12（会计期间须按月顺序结账）"
    assert rules.can_close("2027-01", ["2026-11", "2026-12"], "2026-11") is None
    # A month before the first booked month may be closed (an empty month).
    assert rules.can_close("2025-12", [], "2026-01") is None


def test_balance_is_on_the_subjects_normal_side():
    assert rules.balance("asset", 100, 30) == 70
    assert rules.balance("expense", 100, 30) == 70
    assert rules.balance("income", 100, 30) == -70
    assert rules.balance("liability", 30, 100) == 70
    assert rules.balance("net", 0, 5) == 5


def test_city_of():
    assert rules.city_of("450103") == "450100"
    assert rules.city_of("451402") == "451400"
    assert rules.city_of("450000") == "450000"


# ---- splits and roundings ------------------------------------------------------------------------


def test_apportion_sums_exactly_with_the_largest_remainders():
    # 100 fen in three equal parts: 33 each and the one fen left goes to the first by code.
    assert rules.apportion(100, {"b": 1, "a": 1, "c": 1}) == {"a": 34, "b": 33, "c": 33}
    # 10 by 3:3:1 → exact shares 4.2857, 4.2857, 1.4286: floors 4, 4, 1 and the one fen left to the
    # largest remainder (0.4286 of c).
    assert rules.apportion(10, {"x": 3, "y": 3, "z": 1}) == {"x": 4, "y": 4, "z": 2}
    # 7 by 50:30:20 → 3.5, 2.1, 1.4: floors 3, 2, 1; remainders .5, .1, .4: the fen to x.
    assert rules.apportion(7, {"x": 50, "y": 30, "z": 20}) == {"x": 4, "y": 2, "z": 1}
    # A large sum stays exact.
    parts = rules.apportion(1_234_567_891, {str(i): i * i + 1 for i in range(14)})
    assert sum(parts.values()) == 1_234_567_891


def test_apportion_edge_cases():
    assert rules.apportion(0, {"a": 1, "b": 2}) == {"a": 0, "b": 0}
    assert rules.apportion(100, {"a": 0, "b": 0}) == {"a": 0, "b": 0}
    # Negative weights count as nothing.
    assert rules.apportion(100, {"a": -5, "b": 1}) == {"a": 0, "b": 100}
    assert rules.apportion(100, {}) == {}


def test_interest_share_rounds_half_up_and_never_exceeds_the_interest():
    # 1,000 fen of interest; the occupational-injury money is 1/8 of the balance: 125 exactly.
    assert rules.interest_share(1000, 8000, 1000) == 125
    # 1/3 of 100 = 33.33 → 33; 2/3 of 100 = 66.67 → 67.
    assert rules.interest_share(100, 3, 1) == 33
    assert rules.interest_share(100, 3, 2) == 67
    # Exactly half a fen rounds up: 5 × 1/2 = 2.5 → 3; 1 × 1/2 = 0.5 → 1.
    assert rules.interest_share(5, 2, 1) == 3
    assert rules.interest_share(1, 2, 1) == 1
    # A share larger than the fund is capped at the whole interest.
    assert rules.interest_share(1000, 100, 200) == 1000
    # Nothing to share.
    assert rules.interest_share(0, 100, 50) == 0
    assert rules.interest_share(1000, 0, 50) == 0
    assert rules.interest_share(1000, 100, 0) == 0
    assert rules.interest_share(-5, 100, 50) == 0


def test_suppress_hides_small_counts_only():
    assert rules.suppress(0, 5) == 0
    assert rules.suppress(1, 5) is None
    assert rules.suppress(4, 5) is None
    assert rules.suppress(5, 5) == 5
    assert rules.suppress(1234, 5) == 1234


@pytest.mark.parametrize("city", ["450100", "450300", "451400"])
@pytest.mark.parametrize("amount", [1, 99, 123_456_789])
def test_allocation_legs_balance_in_total_and_per_city(city, amount):
    legs = rules.allocation_legs(city, amount)
    rules.check_legs(legs)
    assert _per_city(legs) == {city: 0, R: 0}
    assert sum(x.debit for x in legs) == sum(x.credit for x in legs) == 2 * amount
    # The city's expenditure account gets the money, the region's fiscal account gives it.
    assert Leg(rules.EXPENDITURE_ACCOUNT, city, debit=amount) in legs
    assert Leg(rules.FISCAL, R, credit=amount) in legs


def test_event_group_one_entry_per_batch_and_day():
    day = dt.date(2026, 5, 6)
    assert rules.event_group("benefit.paid", 1, day, {"batch_id": 9}) == rules.event_group(
        "benefit.paid", 2, day, {"batch_id": 9}
    )
    assert rules.event_group("benefit.paid", 1, day, {"batch_id": 9}) != rules.event_group(
        "benefit.paid", 1, day + dt.timedelta(days=1), {"batch_id": 9}
    )
    assert rules.event_group("benefit.reversed", 1, day, {}) != rules.event_group("benefit.reversed", 2, day, {})
    assert rules.event_group("premium.received", 1, day, {})[0] == "premium"


def test_a_reversal_mirrors_its_original_in_any_order():
    original = [
        rules.Leg(rules.ITEM_SUBJECTS["medical"], "450100", debit=300),
        rules.Leg(rules.EXPENDITURE_ACCOUNT, "450100", credit=300),
    ]
    assert rules.mirrors(list(reversed(rules.reversal_of(original))), original)
    assert not rules.mirrors(original, original)
    assert not rules.mirrors([rules.Leg(rules.EXPENDITURE_ACCOUNT, "450100", debit=300)], original)


def test_every_benefit_item_has_its_expenditure_sub_subject():
    from oip.benefits.calc import ITEMS

    assert set(rules.ITEM_SUBJECTS) == set(ITEMS)
    assert all(rules.ITEM_SUBJECTS[i].startswith(rules.EXPENSE) for i in ITEMS)
