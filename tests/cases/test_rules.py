"""The case's transition table: worked steps and property tests (hypothesis) — no illegal transition
is ever reached, and every reachable state is final or waits on a dated deadline."""

from __future__ import annotations

import pytest
from hypothesis import given, settings, strategies as st

from oip.cases import rules
from oip.core.errors import DomainError, IllegalTransition


def test_the_usual_path():
    s = rules.next_state(None, "report")
    for action, expected in [
        ("apply", "applied"),
        ("accept", "accepted"),
        ("offer_investigation", "investigating"),
        ("end_investigation", "accepted"),
        ("confirm", "confirmed"),
        ("apply_appraisal", "appraisal"),
        ("conclude_appraisal", "appraised"),
        ("close", "closed"),
    ]:
        s = rules.next_state(s, action)
        assert s == expected


def test_returning_steps_go_back_where_they_came_from():
    assert rules.next_state("correction", "materials_received", previous="accepted") == "accepted"
    assert rules.next_state("suspended", "resume", previous="investigating") == "investigating"
    assert rules.next_state("appealed", "appeal_upheld", previous="not_confirmed") == "not_confirmed"
    with pytest.raises(IllegalTransition):
        rules.next_state("suspended", "resume", previous=None)
    with pytest.raises(IllegalTransition):
        rules.next_state("suspended", "resume", previous="closed")


def test_illegal_and_unknown_actions():
    with pytest.raises(IllegalTransition, match="不能“作出予以确认结论”"):
        rules.next_state("reported", "confirm")
    with pytest.raises(DomainError):
        rules.next_state("reported", "fly")
    assert rules.legal_actions("closed") == ["apply_review"]


def test_every_state_is_named_final_or_waits():
    for s in rules.STATES:
        assert s in rules.FINAL_STATES or s in rules.WAITS_ON, s
    for (s, _a), to in rules.TRANSITIONS.items():
        assert s is None or s in rules.STATES
        assert to == rules.PREVIOUS or to in rules.STATES


@settings(max_examples=300, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=10_000), min_size=1, max_size=40))
def test_random_walks_of_legal_actions_stay_legal(choices):
    """Walk the table by legal actions only, keeping ``state_before`` as the service does: every state
    reached is known, and is final or waits on a deadline."""
    state, before = rules.next_state(None, "report"), None
    for c in choices:
        legal = [
            a
            for a in rules.legal_actions(state)
            if not (rules.TRANSITIONS[(state, a)] == rules.PREVIOUS and before is None)
        ]
        if not legal:
            assert state in rules.FINAL_STATES
            break
        action = legal[c % len(legal)]
        to = rules.next_state(state, action, before)
        if rules.keeps_previous(state, action):
            before = state
        elif to == before:
            before = None
        state = to
        assert state in rules.STATES
        assert state in rules.FINAL_STATES or state in rules.WAITS_ON


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(rules.STATES), st.sampled_from(rules.ACTIONS))
def test_anything_not_in_the_table_raises(state, action):
    if (state, action) in rules.TRANSITIONS:
        return
    with pytest.raises(IllegalTransition):
        rules.next_state(state, action, previous="accepted")
