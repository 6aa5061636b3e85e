"""The yearly float rules (pure): under 12 months → 0, bands, the injury adjustment, clamping."""

from __future__ import annotations

import copy
from decimal import Decimal as D

import pytest

from oip.core.errors import DomainError
from oip.premiums import float_rules as F
from oip.premiums.parameters import DEFAULT_FLOAT_RULES

RULES = F.parse_rules(DEFAULT_FLOAT_RULES)


def x(premiums=1_000_000, claims=500_000, injuries=30, insured=10_000, months=12):
    return F.Inputs(
        premiums_fen=premiums,
        months_with_contributions=months,
        claims_fen=claims,
        injuries=injuries,
        insured_avg=insured,
    )


def test_under_twelve_months_stays_at_zero_whatever_the_figures():
    out = F.propose(RULES, x(claims=5_000_000, injuries=500, months=11))
    assert out.k == 0 and "不满 12 个月" in out.reasons[0]
    assert F.propose(RULES, x(claims=5_000_000, injuries=500, months=12)).k == 5


@pytest.mark.parametrize(
    "claims, k",
    [
        (0, -3),
        (300_000, -3),
        (300_001, -2),
        (500_000, -2),
        (700_000, -1),
        (800_000, 0),
        (900_000, 0),
        (1_000_000, 1),
        (1_300_000, 2),
        (1_600_000, 3),
        (2_000_000, 4),
        (2_000_100, 5),
    ],
)
def test_ratio_bands_with_a_neutral_injury_rate(claims, k):
    out = F.propose(RULES, x(claims=claims, injuries=30, insured=10_000))  # 30 per 10,000: adjustment 0
    assert out.ratio == (D(claims) / D(1_000_000)).quantize(D("0.0001"))  # shown rounded, banded exact
    assert out.injury_rate == D("30.00") and out.injury_k == 0
    assert out.k == k == out.ratio_k


@pytest.mark.parametrize("injuries, adj", [(0, -1), (20, -1), (21, 0), (50, 0), (51, 1)])
def test_injury_rate_adjusts_the_base(injuries, adj):
    out = F.propose(RULES, x(claims=800_000, injuries=injuries, insured=10_000))
    assert out.ratio_k == 0 and out.injury_k == adj and out.k == adj


def test_clamped_to_minus_five_plus_five():
    rules = F.parse_rules({**DEFAULT_FLOAT_RULES, "ratio_bands": [{"upto": "0.5", "k": -5}, {"upto": None, "k": 5}]})
    low = F.propose(rules, x(claims=0, injuries=0))
    assert (low.ratio_k, low.injury_k, low.k) == (-5, -1, -5) and "超出" in low.reasons[-1]
    high = F.propose(rules, x(claims=9_000_000, injuries=900))
    assert (high.ratio_k, high.injury_k, high.k) == (5, 1, 5)


def test_missing_figures_give_zero_with_a_reason():
    assert "缺少上年度赔付" in F.propose(RULES, F.Inputs(premiums_fen=10, months_with_contributions=14)).reasons[0]
    assert F.propose(RULES, x(premiums=0)).k == 0
    assert F.propose(RULES, x(insured=0)).k == 0


def test_rules_are_validated_with_chinese_reasons():
    bad = copy.deepcopy(DEFAULT_FLOAT_RULES)
    bad["ratio_bands"][1]["upto"] = "0.10"  # not ascending
    with pytest.raises(DomainError, match="从小到大"):
        F.parse_rules(bad)
    bad = copy.deepcopy(DEFAULT_FLOAT_RULES)
    bad["ratio_bands"][-1]["upto"] = "9"
    with pytest.raises(DomainError, match="最后一档"):
        F.parse_rules(bad)
    bad = copy.deepcopy(DEFAULT_FLOAT_RULES)
    bad["injury_rate_bands"][0]["k"] = 7
    with pytest.raises(DomainError, match="-5 到 5"):
        F.parse_rules(bad)
    with pytest.raises(DomainError, match="只包含"):
        F.parse_rules({"ratio_bands": []})
