"""Pure rules, no database: the admission transition table, phasing of coverage, the rate formula."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from types import SimpleNamespace

import pytest
from hypothesis import given, strategies as st

from oip.core.errors import DomainError, IllegalTransition, TooLarge
from oip.platforms import admission as A, phasing, rates, service as S

# ---- the transition table ------------------------------------------------------------------------

LEGAL = (
    [
        ("submitted", "assess", "pass", "assessed"),
        ("submitted", "assess", "fail", "rejected"),
        ("assessed", "report", "reported", "reported"),
        ("reported", "consent", "consented", "consented"),
        ("reported", "consent", "refused", "rejected"),
        ("consented", "publish", "published", "publicised"),
        ("publicised", "conclude", "include", "admitted"),
        ("publicised", "conclude", "reject", "rejected"),
    ]
    + [(s, "reject", "rejected", "rejected") for s in ("submitted", "assessed", "reported", "consented", "publicised")]
    + [
        (s, "withdraw", "withdrawn", "withdrawn")
        for s in ("submitted", "assessed", "reported", "consented", "publicised")
    ]
)


def test_table_is_exactly_the_documented_workflow():
    assert {(s, a, d): t for s, a, d, t in LEGAL} == A.TRANSITIONS
    assert set(A.STATE_NAMES) == {
        "submitted",
        "assessed",
        "reported",
        "consented",
        "publicised",
        "admitted",
        "rejected",
        "withdrawn",
    }
    assert A.STATE_NAMES["publicised"] == "公示中" and A.STATE_NAMES["admitted"] == "已纳入试点"


@pytest.mark.parametrize("state,action,decision,to", LEGAL)
def test_every_legal_transition(state, action, decision, to):
    assert A.next_state(state, action, decision) == to
    assert action in A.legal_actions(state)


@pytest.mark.parametrize(
    "action,default,to", [("report", "reported", "reported"), ("publish", "published", "publicised")]
)
def test_single_outcome_actions_need_no_decision(action, default, to):
    state = {"report": "assessed", "publish": "consented"}[action]
    assert A.next_state(state, action) == to


@pytest.mark.parametrize("state", list(A.STATE_NAMES))
@pytest.mark.parametrize("action", A.ACTIONS)
def test_illegal_transitions_raise_and_name_state_and_action(state, action):
    if A.decisions_for(state, action):
        return
    with pytest.raises(IllegalTransition) as e:
        A.next_state(state, action, "pass")
    assert e.value.status_code == 409
    assert A.STATE_NAMES[state] in e.value.reason and action in e.value.reason


def test_final_states_allow_nothing():
    for s in A.FINAL_STATES:
        assert A.legal_actions(s) == []


def test_wrong_decision_is_a_field_error_not_a_transition():
    with pytest.raises(DomainError) as e:
        A.next_state("submitted", "assess", "maybe")
    assert e.value.field == "decision" and "pass" in e.value.reason
    with pytest.raises(DomainError) as e:
        A.next_state("submitted", "assess")
    assert e.value.field == "decision"


def test_unknown_action():
    with pytest.raises(DomainError) as e:
        A.next_state("submitted", "approve_everything")
    assert e.value.field == "action" and not isinstance(e.value, IllegalTransition)


STEPS = st.lists(
    st.tuples(
        st.sampled_from(A.ACTIONS), st.sampled_from(sorted({d for (_, _, d) in A.TRANSITIONS} | {"bogus"}) + [None])
    ),
    max_size=30,
)


@given(STEPS)
def test_random_action_sequences_stay_inside_the_table(steps):
    """Whatever officers try, the state only moves along the table, and final states are final."""
    state = A.INITIAL_STATE
    for action, decision in steps:
        try:
            after = A.next_state(state, action, decision)
        except DomainError:  # IllegalTransition included
            continue
        assert (state, action, decision or A.DEFAULT_DECISION[action]) in A.TRANSITIONS
        assert state not in A.FINAL_STATES
        state = after
        assert state in A.STATE_NAMES


# ---- phasing -------------------------------------------------------------------------------------


def plat(covered_from, status="admitted"):
    return SimpleNamespace(status=status, covered_from=covered_from)


def industry(covered_from, covered_to=None):
    return SimpleNamespace(covered_from=covered_from, covered_to=covered_to)


def test_covered_from_the_first_day_not_the_day_before():
    p, i = plat(dt.date(2025, 7, 1)), industry(dt.date(2025, 7, 1))
    assert phasing.coverage_start(p, i) == dt.date(2025, 7, 1)
    assert phasing.is_covered(p, i, dt.date(2025, 7, 1))
    assert not phasing.is_covered(p, i, dt.date(2025, 6, 30))


def test_new_industry_starts_later_than_the_platform():
    """An industry added for 2027-01-01, a platform admitted 2026-05-01: coverage starts in 2027."""
    p, i = plat(dt.date(2026, 5, 1)), industry(dt.date(2027, 1, 1))
    assert phasing.coverage_start(p, i) == dt.date(2027, 1, 1)
    assert not phasing.is_covered(p, i, dt.date(2026, 12, 31))
    assert phasing.is_covered(p, i, dt.date(2027, 1, 1))


def test_platform_admitted_after_its_industry():
    p, i = plat(dt.date(2026, 3, 15)), industry(dt.date(2025, 7, 1))
    assert phasing.coverage_start(p, i) == dt.date(2026, 3, 15)
    assert not phasing.is_covered(p, i, dt.date(2026, 3, 14))


@pytest.mark.parametrize(
    "p,i",
    [
        (plat(None), industry(dt.date(2025, 7, 1))),
        (plat(dt.date(2025, 7, 1)), industry(None)),
        (plat(dt.date(2025, 7, 1), status="applicant"), industry(dt.date(2025, 7, 1))),
        (plat(dt.date(2025, 7, 1), status="rejected"), industry(dt.date(2025, 7, 1))),
    ],
)
def test_no_coverage_without_both_dates_and_admission(p, i):
    assert phasing.coverage_start(p, i) is None
    assert not phasing.is_covered(p, i, dt.date(2030, 1, 1))


def test_coverage_ends_with_the_industry():
    p, i = plat(dt.date(2025, 7, 1)), industry(dt.date(2025, 7, 1), covered_to=dt.date(2027, 12, 31))
    assert phasing.is_covered(p, i, dt.date(2027, 12, 31))
    assert not phasing.is_covered(p, i, dt.date(2028, 1, 1))


# ---- rate --------------------------------------------------------------------------------------


@pytest.mark.parametrize("k", range(-5, 6))
@pytest.mark.parametrize("base", ["0.01", "0.07", "0.25", "0.18"])
def test_rate_is_base_times_one_plus_a_tenth_k(base, k):
    b = Decimal(base)
    r = rates.rate_yuan(b, k)
    assert isinstance(r, Decimal)
    assert r == b * (Decimal(10 + k) / Decimal(10))  # exact, no float on the way


def test_rate_worked_examples():
    assert rates.rate_yuan(Decimal("0.07"), 5) == Decimal("0.105")
    assert rates.rate_yuan(Decimal("0.07"), -5) == Decimal("0.035")
    assert rates.rate_yuan(Decimal("0.18"), 0) == Decimal("0.18")
    assert S.yuan_str(rates.rate_yuan(Decimal("0.0700"), 3)) == "0.091"


@pytest.mark.parametrize("k", [6, -6, 1.5, True, "1"])
def test_rate_refuses_k_outside_the_range(k):
    with pytest.raises(ValueError):
        rates.rate_yuan(Decimal("0.07"), k)


@pytest.mark.parametrize(
    "amount,text", [("0.0700", "0.07"), ("0.1050", "0.105"), ("10", "10.00"), ("0.1", "0.10"), ("0.0001", "0.0001")]
)
def test_yuan_str(amount, text):
    assert S.yuan_str(Decimal(amount)) == text


def test_default_bases_live_in_one_place():
    assert rates.default_base("ride_hailing") == Decimal("0.01")
    assert rates.default_base("instant_delivery") == Decimal("0.07")
    assert rates.default_base("intracity_freight") == Decimal("0.18")
    assert rates.default_base("other") is None


@pytest.mark.parametrize("value", ["0", "-0.01", "10.01", "abc", "0.00001", "", None, "NaN", "Infinity"])
def test_base_amount_bounds(value):
    with pytest.raises(DomainError) as e:
        S.base_amount(value)
    assert e.value.field == "base_yuan"


def test_base_amount_accepts_the_upper_bound():
    assert S.base_amount("10") == Decimal("10")
    assert S.base_amount("0.25") == Decimal("0.25")


# ---- attachments -------------------------------------------------------------------------------


def test_attachment_checks(monkeypatch):
    a = A.make_attachment(A.Upload("C:\\scan\\申请书.PDF", b"%PDF-1.4 x"))
    assert a.filename == "申请书.PDF" and a.content_type == "application/pdf" and a.size == 10
    assert len(a.sha256) == 64
    with pytest.raises(DomainError) as e:
        A.make_attachment(A.Upload("run.exe", b"MZ"))
    assert e.value.field == "attachments" and "pdf" in e.value.reason
    with pytest.raises(DomainError):
        A.make_attachment(A.Upload("empty.pdf", b""))
    from oip.core import config

    monkeypatch.setattr(config.get_settings(), "upload_max_bytes", 8)
    with pytest.raises(TooLarge) as e:
        A.make_attachment(A.Upload("big.ofd", b"123456789"))
    assert e.value.status_code == 413
