"""The pure rules of the register: services, the last day in force, collisions."""

from __future__ import annotations

import datetime as dt

import pytest

from oip.insurers import rules

D = dt.date


def term(id_, cities, services, start, end, terminated_on=None):
    return rules.Term(id_, f"doc{id_}", frozenset(cities), frozenset(services), start, end, terminated_on)


def test_services_are_cleaned_into_canonical_order():
    assert rules.clean_services(["payment_support", "investigation", "investigation"]) == [
        "investigation",
        "payment_support",
    ]
    assert rules.service_names(["payment_support", "investigation"]) == ["调查核实", "协助待遇支付"]
    with pytest.raises(ValueError, match="至少选择一项"):
        rules.clean_services([])
    with pytest.raises(ValueError, match="未知的服务事项 audit"):
        rules.clean_services(["audit"])


def test_a_termination_takes_effect_on_its_day():
    assert rules.last_day_in_force(D(2026, 6, 30), None) == D(2026, 6, 30)
    assert rules.last_day_in_force(D(2026, 6, 30), D(2025, 10, 1)) == D(2025, 9, 30)
    t = term(1, ["450100"], ["investigation"], D(2025, 7, 1), D(2026, 6, 30), D(2025, 10, 1))
    assert t.in_force(D(2025, 7, 1)) and t.in_force(D(2025, 9, 30))
    assert not t.in_force(D(2025, 10, 1)) and not t.in_force(D(2025, 6, 30))
    never = term(2, ["450100"], ["investigation"], D(2025, 7, 1), D(2026, 6, 30), D(2025, 7, 1))
    assert never.last_day < never.valid_from and not never.in_force(D(2025, 7, 1))


def test_collisions_need_a_shared_city_service_and_day():
    a = term(1, ["450100", "450200"], ["investigation", "material_collection"], D(2025, 7, 1), D(2026, 6, 30))
    same_days_other_city = term(None, ["450300"], ["investigation"], D(2025, 7, 1), D(2026, 6, 30))
    same_city_other_service = term(None, ["450100"], ["payment_support"], D(2025, 7, 1), D(2026, 6, 30))
    next_day = term(None, ["450100"], ["investigation"], D(2026, 7, 1), D(2027, 6, 30))
    last_day = term(None, ["450100"], ["investigation"], D(2026, 6, 30), D(2027, 6, 30))
    assert rules.collisions(same_days_other_city, [a]) == []
    assert rules.collisions(same_city_other_service, [a]) == []
    assert rules.collisions(next_day, [a]) == []
    [c] = rules.collisions(last_day, [a])
    assert (c.city, c.service, c.first_day, c.last_day, c.other.id) == (
        "450100",
        "investigation",
        D(2026, 6, 30),
        D(2026, 6, 30),
        1,
    )
    both = term(None, ["450200", "450100"], ["material_collection", "investigation"], D(2025, 1, 1), D(2025, 7, 1))
    assert [(c.city, c.service) for c in rules.collisions(both, [a])] == [
        ("450100", "investigation"),
        ("450100", "material_collection"),
        ("450200", "investigation"),
        ("450200", "material_collection"),
    ]


def test_a_terminated_contract_collides_only_with_the_days_it_was_in_force():
    old = term(1, ["450100"], ["investigation"], D(2024, 7, 1), D(2026, 6, 30), terminated_on=D(2025, 7, 1))
    assert rules.collisions(term(None, ["450100"], ["investigation"], D(2025, 7, 1), D(2027, 6, 30)), [old]) == []
    [c] = rules.collisions(term(None, ["450100"], ["investigation"], D(2025, 6, 30), D(2027, 6, 30)), [old])
    assert (c.first_day, c.last_day) == (D(2025, 6, 30), D(2025, 6, 30))
    # An amended contract is compared with the others, not with itself.
    assert rules.collisions(term(1, ["450100"], ["investigation"], D(2024, 1, 1), D(2026, 6, 30)), [old]) == []
