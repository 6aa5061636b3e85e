"""The premium maths (pure): worked examples from domain.md §2 and invariants."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal as D

import pytest
from hypothesis import given, settings, strategies as st

from oip.core.errors import DomainError
from oip.premiums import calc


@pytest.mark.parametrize(
    "orders, base, k, fen",
    [
        (1_234_567, "0.01", 0, 1_234_567),  # 出行: 1,234,567 orders × 0.01 = 12,345.67 yuan
        (1_000, "0.07", 2, 8_400),  # 即时配送 k = +2: 0.084/order → 84.00 yuan
        (5, "0.0105", 0, 5),  # 0.0525 yuan = 5.25 fen → 5 fen
        (1, "0.07", -5, 4),  # 0.035 yuan = 3.5 fen → 4 (half-up)
        (3, "0.07", -5, 11),  # 10.5 fen → 11; per order it would be 3 × 4 = 12
        (1, "0.25", -1, 23),  # 0.225 yuan = 22.5 fen → 23
        (2, "0.25", -1, 45),
        (1, "0.01", -5, 1),  # 0.5 fen → 1
        (3, "0.01", -5, 2),  # 1.5 fen → 2
        (7, "0.01", 3, 9),  # 0.013 × 7 = 0.091 yuan = 9.1 fen → 9
        (0, "0.18", 5, 0),
        (90_000_000, "0.07", 2, 756_000_000),  # a large month: 7,560,000.00 yuan
        (3, "0.18", 5, 81),  # 同城货运 at the top of the range: 0.27/order
    ],
)
def test_worked_examples(orders, base, k, fen):
    assert calc.amount_fen(orders, D(base), k) == fen
    assert isinstance(calc.amount_fen(orders, D(base), k), int)


def test_rate_is_the_platforms_formula_in_decimal():
    assert calc.rate(D("0.07"), 2) == D("0.084")
    assert calc.rate_str(calc.rate(D("0.0700"), 2)) == "0.084"
    assert calc.rate_str(D("0.010000")) == "0.01"
    assert calc.rate(D("0.18"), -5) == D("0.09")
    with pytest.raises(ValueError):
        calc.rate(D("0.07"), 6)
    with pytest.raises(ValueError):
        calc.amount_fen(-1, D("0.07"), 0)
    with pytest.raises(ValueError):
        calc.amount_fen(True, D("0.07"), 0)


bases = st.decimals(min_value=D("0.0001"), max_value=D("10"), places=4)
ks = st.integers(min_value=-5, max_value=5)
counts = st.integers(min_value=0, max_value=10**11)


@settings(max_examples=400, deadline=None)
@given(counts, bases, ks)
def test_amount_is_never_negative_and_within_half_a_fen(n, base, k):
    fen = calc.amount_fen(n, base, k)
    exact = calc.unrounded_fen(n, base, k)
    assert fen >= 0
    assert exact - D("0.5") < fen <= exact + D("0.5")  # half-up: exactly .5 goes up


@settings(max_examples=300, deadline=None)
@given(counts, st.integers(min_value=1, max_value=10**6), bases, ks)
def test_amount_is_monotonic_in_orders(n, more, base, k):
    assert calc.amount_fen(n + more, base, k) >= calc.amount_fen(n, base, k)


@settings(max_examples=200, deadline=None)
@given(counts, bases, st.integers(min_value=-5, max_value=4))
def test_a_higher_k_never_costs_less(n, base, k):
    assert calc.amount_fen(n, base, k + 1) >= calc.amount_fen(n, base, k)


def test_due_dates():
    assert calc.due_date("2025-12", 15) == dt.date(2026, 1, 15)
    assert calc.due_date("2025-07", 15) == dt.date(2025, 8, 15)


def test_yuan_display_and_input():
    assert calc.yuan(1_234_567) == "12,345.67" and calc.yuan(5) == "0.05" and calc.yuan(-250) == "-2.50"
    assert calc.yuan(0) == "0.00" and calc.yuan(None) == ""
    assert calc.fen_of_yuan("12,345.67", "x", "金额") == 1_234_567
    assert calc.fen_of_yuan("0.5", "x", "金额") == 50
    for bad in ("1.234", "-1", "abc", "", "NaN"):
        with pytest.raises(DomainError) as e:
            calc.fen_of_yuan(bad, "claims_yuan", "赔付金额")
        assert e.value.field == "claims_yuan" and "赔付金额" in e.value.reason
