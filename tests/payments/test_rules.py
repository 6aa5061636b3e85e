"""Card numbers: the Luhn check and the mask, with worked examples; what a bank result may do."""

from __future__ import annotations

import pytest
from hypothesis import given, strategies as st

from oip.auth import limits
from oip.core.errors import DomainError
from oip.payments import rules


def test_luhn_worked_examples():
    assert rules.luhn_ok("6222020200112345679")
    assert rules.luhn_ok("4111111111111111")
    assert not rules.luhn_ok("4111111111111112")
    assert not rules.luhn_ok("")
    assert not rules.luhn_ok("62a2")


def test_check_card_names_the_problem():
    assert rules.check_card("6222 0202 0011 2345 679") == "6222020200112345679"
    for bad, word in (("6222-0202-0011-2345-675", "校验位"), ("62220202", "12 到 19"), ("6222x", "数字")):
        with pytest.raises(DomainError) as e:
            rules.check_card(bad)
        assert word in e.value.reason and e.value.field == "card_number"


def test_mask_shows_prefix_and_last_four_only():
    assert rules.mask_card("6222020200112345679") == "6222 **** **** 5679"
    assert rules.mask_card("4111111111111111") == "4111 **** **** 1111"


@given(st.text(alphabet="0123456789", min_size=11, max_size=18))
def test_one_check_digit_makes_any_number_valid(body):
    valid = [d for d in "0123456789" if rules.luhn_ok(body + d)]
    assert len(valid) == 1
    assert rules.check_card(body + valid[0]) == body + valid[0]


def test_result_effects():
    assert rules.result_effect("sent", "paid") == "apply"
    assert rules.result_effect("pending", "paid") == "apply"  # the bank got a send whose answer we lost
    assert rules.result_effect("paid", "paid") == "duplicate"
    assert rules.result_effect("failed", "paid") == "reject"
    assert rules.result_effect("paid", "failed") == "reject"
    assert rules.result_effect("paid", "reversed") == "apply"
    assert rules.result_effect("sent", "reversed") == "reject"
    assert rules.result_effect("reversed", "reversed") == "duplicate"


def test_limits():
    table = limits.validate({"si_city": 100, "si_region": None})
    assert limits.within(table, "si_city", 100)
    assert not limits.within(table, "si_city", 101)
    assert limits.within(table, "si_region", 10**12)  # null: no limit
    assert not limits.within(table, "si_county", 1)  # not listed: may approve nothing
