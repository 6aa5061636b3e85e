"""The calculator (oip.benefits.calc) against worked examples: every item, both ends of every rule."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import given, settings, strategies as st

import oip.benefits.parameters  # noqa: F401  (the definitions and their defaults)
from oip.benefits import calc
from oip.benefits.calc import BillIn, DependantIn, QuoteInput, Rates
from oip.core.errors import DomainError
from oip.reference import parameters

DAY = dt.date(2025, 9, 10)


def rates(**over) -> Rates:
    """The defaults of every benefit parameter, with ``over`` (key suffix → value) replacing some."""
    values = {k: parameters.DEFINITIONS[k].default for k in calc.RATE_KEYS}
    for k, v in over.items():
        values[f"benefit.{k}"] = v
    return Rates(DAY, "4501", values, {k: f"{k}@2025-07-01" for k in values})


def q(**kw) -> calc.Quote:
    r = kw.pop("rates", None) or rates()
    kw.setdefault("event_date", DAY)
    kw.setdefault("region_code", "4501")
    return calc.quote(QuoteInput(**kw), r)


def by_item(quote: calc.Quote) -> dict[str, calc.Line]:
    return {x.item: x for x in quote.lines}


def test_pilot_start_is_the_parameters_one():
    assert calc.PILOT_START == parameters.PILOT_START
    assert set(calc.RATE_KEYS) <= set(parameters.DEFINITIONS)


def test_injury_grade_1_complete_dependency_every_line():
    # B = W = 6,772 yuan; the first tier's minimum wage 1,990 yuan.
    quote = q(
        kind="injury",
        grade=1,
        self_care="complete",
        hospital_days=12,
        medical_bills=(BillIn(100_000, True, "R1"), BillIn(23_456, True, "R2", "rehab"), BillIn(5_000, False, "R3")),
    )
    lines = by_item(quote)
    assert list(lines) == ["medical", "meal_subsidy", "disability_once", "disability_monthly", "nursing"]
    med = lines["medical"]
    assert med.amount_fen == 123_456 and not med.monthly
    assert med.detail["excluded"] == [{"ref": "R3", "kind": "medical", "amount_fen": 5_000}]
    assert med.detail["excluded_fen"] == 5_000 and "不予支付" in med.formula and "50.00 元" in med.formula
    assert lines["meal_subsidy"].amount_fen == 12 * 5_000
    assert "住院 12 天 × 50.00 元/天 = 600.00 元" in lines["meal_subsidy"].formula
    assert lines["disability_once"].amount_fen == 27 * 677_200  # 182,844 yuan
    assert "6,772.00 元 × 27 个月（一级伤残）= 182,844.00 元" in lines["disability_once"].formula
    assert lines["disability_monthly"].amount_fen == 609_480  # 90 % × 6,772 = 6,094.80 yuan
    assert lines["disability_monthly"].monthly and not lines["disability_monthly"].detail["floor_applied"]
    assert lines["nursing"].amount_fen == 338_600 and "完全不能自理" in lines["nursing"].formula
    assert quote.total_once_fen == 123_456 + 60_000 + 27 * 677_200
    assert quote.total_monthly_fen == 609_480 + 338_600
    assert lines["disability_monthly"].parameters == (
        "benefit.base_monthly_fen@2025-07-01",
        "benefit.disability_monthly_percent@2025-07-01",
        "benefit.minimum_wage_monthly_fen@2025-07-01",
    )


@pytest.mark.parametrize(
    ("grade", "months", "pct"),
    [
        (1, 27, 90),
        (2, 25, 85),
        (3, 23, 80),
        (4, 21, 75),
        (5, 18, None),
        (6, 16, None),
        (7, 13, None),
        (8, 11, None),
        (9, 9, None),
        (10, 7, None),
    ],
)
def test_disability_by_grade(grade, months, pct):
    lines = by_item(q(kind="injury", grade=grade))
    assert lines["disability_once"].amount_fen == months * 677_200
    if pct is None:
        assert "disability_monthly" not in lines
    else:
        assert lines["disability_monthly"].amount_fen == 677_200 * pct // 100


def test_no_grade_no_disability_and_no_nursing():
    assert [x.item for x in q(kind="injury").lines] == []
    assert q(kind="injury").total_once_fen == 0


@pytest.mark.parametrize(("level", "pct"), [("complete", 50), ("most", 40), ("partial", 30)])
def test_nursing_by_self_care(level, pct):
    line = by_item(q(kind="injury", grade=5, self_care=level))["nursing"]
    assert line.amount_fen == 677_200 * pct // 100 and line.monthly


def test_minimum_wage_floor_just_below_and_just_above():
    # grade 4: 75 % × B. B = 265,333 fen → 198,999.75 → 199,000 fen = the floor exactly: not below it.
    at = by_item(q(kind="injury", grade=4, rates=rates(base_monthly_fen=265_333)))["disability_monthly"]
    assert at.amount_fen == 199_000 and not at.detail["floor_applied"]
    # B = 265_332 fen → 198,999 fen: one fen below the floor → the floor applies and the formula says so.
    below = by_item(q(kind="injury", grade=4, rates=rates(base_monthly_fen=265_332)))["disability_monthly"]
    assert below.detail["computed_fen"] == 198_999 and below.amount_fen == 199_000
    assert (
        below.detail["floor_applied"]
        and "低于当地最低工资标准 1,990.00 元，按最低工资标准 1,990.00 元/月支付" in below.formula
    )
    # B = 265_336 → 199,002 fen: above, paid as computed.
    above = by_item(q(kind="injury", grade=4, rates=rates(base_monthly_fen=265_336)))["disability_monthly"]
    assert above.amount_fen == 199_002 and not above.detail["floor_applied"]


def test_funeral_and_death_once_for_a_2025_death():
    quote = q(kind="death", event_date=dt.date(2025, 10, 3))
    lines = by_item(quote)
    assert list(lines) == ["funeral", "death_once"]
    assert lines["funeral"].amount_fen == 6 * 677_200
    assert lines["death_once"].amount_fen == 108_376_000  # 20 × 54,188 yuan = 1,083,760 yuan
    assert "54,188.00 元 × 20 = 1,083,760.00 元" in lines["death_once"].formula
    assert quote.total_once_fen == 6 * 677_200 + 108_376_000 and quote.total_monthly_fen == 0


def test_dependants_under_the_cap():
    quote = q(kind="death", dependants=(DependantIn("spouse", ref="a"), DependantIn("child", ref="b")))
    two = [x for x in quote.lines if x.item == "dependants"]
    assert [d.dependant_ref for d in two] == ["a", "b"]
    assert [d.amount_fen for d in two] == [270_880, 203_160]  # 40 % and 30 % of 6,772 yuan
    assert not any(d.detail["capped"] for d in two) and all("核减" not in d.formula for d in two)
    assert all(d.starts_on == dt.date(2025, 10, 1) for d in two)  # the month after a 10 September death
    assert quote.total_monthly_fen == 270_880 + 203_160
    # 40 + 30 + 30 = 100 %: exactly B, not over it: no scaling.
    three = [
        x
        for x in q(kind="death", dependants=(DependantIn("spouse"), DependantIn("child"), DependantIn("parent"))).lines
        if x.item == "dependants"
    ]
    assert [d.amount_fen for d in three] == [270_880, 203_160, 203_160] and not three[0].detail["capped"]


def test_dependants_over_the_cap_are_scaled_down_to_b():
    deps = [
        x
        for x in q(
            kind="death",
            dependants=(DependantIn("spouse"), DependantIn("child"), DependantIn("parent", True)),
        ).lines
        if x.item == "dependants"
    ]
    # 40 + 30 + 40 = 110 %: each × 100/110 → 246,254.5…, 184,690.9…, 246,254.5… ; sum exactly B.
    assert sum(d.amount_fen for d in deps) == 677_200
    assert all(d.detail["capped"] and "核减" in d.formula for d in deps)
    assert [d.amount_fen for d in deps] == [246_255, 184_691, 246_254]
    assert "合计 110%" in deps[0].formula and "（孤儿或孤寡老人，加发 10%）" in deps[2].formula


def test_dependants_exactly_at_b_keep_the_sum_within_b_when_rounding():
    # 40 + 30 + 30 = 100 % of an odd B: half-up would give 3 + 2 + 2 (B = 5 fen → 2, 1.5, 1.5).
    shares, capped = calc.dependant_shares([40, 30, 30], 5)
    assert sum(shares) <= 5 and not capped
    shares, capped = calc.dependant_shares([40, 30, 30], 677_201)
    assert sum(shares) <= 677_201


def test_missing_person_pension_from_the_fourth_month_and_half_the_subsidy():
    quote = q(kind="missing", event_date=dt.date(2025, 8, 31), dependants=(DependantIn("spouse"),))
    lines = by_item(quote)
    assert list(lines) == ["dependants", "death_once_advance"]
    assert lines["dependants"].starts_on == dt.date(2025, 11, 1)  # Aug (1st), Sep, Oct, Nov (4th)
    assert "第 4 个月（2025 年 11 月）" in lines["dependants"].formula
    assert lines["death_once_advance"].amount_fen == 108_376_000 // 2  # 541,880 yuan
    assert "funeral" not in lines and "death_once" not in lines
    # The turn of the year: an accident in November → from February.
    dec = by_item(q(kind="missing", event_date=dt.date(2025, 11, 1), dependants=(DependantIn("child"),)))
    assert dec["dependants"].starts_on == dt.date(2026, 2, 1)
    # The month is a parameter: "from the 1st month" is the accident's month itself.
    first = by_item(q(kind="missing", dependants=(DependantIn("child"),), rates=rates(missing_pension_from_month=1)))
    assert first["dependants"].starts_on == dt.date(2025, 9, 1)


def test_devices_are_their_own_line():
    lines = by_item(
        q(kind="injury", medical_bills=(BillIn(30_000, True, "D1", "devices"), BillIn(1_000, False, "D2", "devices")))
    )
    assert list(lines) == ["devices"] and lines["devices"].amount_fen == 30_000
    assert lines["devices"].detail["excluded_fen"] == 1_000


def test_bills_all_outside_the_catalogue_give_a_zero_line_that_shows_them():
    line = by_item(q(kind="injury", medical_bills=(BillIn(8_000, False, "X"),)))["medical"]
    assert line.amount_fen == 0 and line.detail["excluded"][0]["ref"] == "X"


def test_a_parameter_change_between_two_events_is_the_callers_rates():
    before = q(kind="death", rates=rates(national_disposable_income_fen=5_418_800))
    after = q(kind="death", rates=rates(national_disposable_income_fen=5_600_000))
    assert by_item(before)["death_once"].amount_fen == 108_376_000
    assert by_item(after)["death_once"].amount_fen == 112_000_000


@pytest.mark.parametrize(
    ("kw", "field", "words"),
    [
        ({"kind": "injury", "grade": 11}, "grade", "伤残等级"),
        ({"kind": "injury", "grade": 0}, "grade", "伤残等级"),
        ({"kind": "death", "grade": 3}, "grade", "死亡的情形不应填写伤残等级"),
        ({"kind": "missing", "grade": 3}, "grade", "失踪"),
        ({"kind": "injury", "medical_bills": (BillIn(-1),)}, "medical_bills.0.amount_fen", "第 1 张的金额"),
        ({"kind": "injury", "hospital_days": -1}, "hospital_days", "住院天数"),
        ({"kind": "injury", "event_date": dt.date(2025, 6, 30)}, "event_date", "早于试点开始日 2025-07-01"),
        ({"kind": "fall"}, "kind", "事件类型"),
        ({"kind": "injury", "grade": 2, "self_care": "some"}, "self_care", "生活自理障碍等级"),
        ({"kind": "injury", "self_care": "most"}, "self_care", "未评定伤残等级"),
        (
            {"kind": "death", "dependants": (DependantIn("spouse"), DependantIn("cousin"))},
            "dependants.1.relation",
            "第 2 人的关系",
        ),
        ({"kind": "injury", "dependants": (DependantIn("spouse"),)}, "dependants", "受伤的情形不应填写供养亲属"),
        ({"kind": "death", "dependants": (DependantIn("spouse"), DependantIn("spouse"))}, "dependants", "配偶至多一人"),
        ({"kind": "injury", "region_code": "4401"}, "region_code", "广西"),
    ],
)
def test_validation_names_the_field_in_chinese(kw, field, words):
    with pytest.raises(DomainError) as e:
        q(**kw)
    assert e.value.field == field and words in e.value.reason


def test_the_first_day_of_the_pilot_is_accepted():
    assert q(kind="death", event_date=dt.date(2025, 7, 1)).total_once_fen > 0


def test_yuan_words():
    assert calc.yuan(677_200) == "6,772.00 元"
    assert calc.yuan(Decimal("270880.4")) == "2,708.804 元"
    assert calc.round_fen(Decimal("0.5")) == 1 and calc.round_fen(Decimal("1.49")) == 1


# ---- properties --------------------------------------------------------------------------------------

fen = st.integers(min_value=1, max_value=5_000_000)
dependant = st.builds(DependantIn, st.sampled_from(calc.RELATIONS), st.booleans())


@st.composite
def cases(draw):
    kind = draw(st.sampled_from(calc.KINDS))
    grade = draw(st.one_of(st.none(), st.integers(1, 10))) if kind == "injury" else None
    self_care = draw(st.sampled_from(calc.SELF_CARE)) if grade else "none"
    deps = tuple(draw(st.lists(dependant, max_size=6))) if kind != "injury" else ()
    if sum(d.relation == "spouse" for d in deps) > 1:
        deps = tuple(
            d for i, d in enumerate(deps) if d.relation != "spouse" or i == [x.relation for x in deps].index("spouse")
        )
    bills = tuple(
        draw(
            st.lists(
                st.builds(
                    BillIn, st.integers(0, 10_000_000), st.booleans(), st.none(), st.sampled_from(calc.BILL_KINDS)
                ),
                max_size=5,
            )
        )
    )
    inp = QuoteInput(
        event_date=draw(st.dates(dt.date(2025, 7, 1), dt.date(2030, 12, 31))),
        region_code="450103",
        kind=kind,
        grade=grade,
        self_care=self_care,
        dependants=deps,
        medical_bills=bills,
        hospital_days=draw(st.integers(0, 400)),
    )
    r = rates(
        base_monthly_fen=draw(fen),
        avg_monthly_wage_fen=draw(fen),
        minimum_wage_monthly_fen=draw(fen),
        meal_subsidy_daily_fen=draw(st.integers(1, 50_000)),
        national_disposable_income_fen=draw(st.integers(1, 50_000_000)),
    )
    return inp, r


@settings(max_examples=300, deadline=None)
@given(cases())
def test_properties(case):
    inp, r = case
    quote = calc.quote(inp, r)
    base = r.values[calc.B]
    for line in quote.lines:
        assert isinstance(line.amount_fen, int) and line.amount_fen >= 0  # whole fen, never negative
        assert line.monthly == (line.item in calc.MONTHLY_ITEMS)
        assert line.formula and line.name
    deps = [x for x in quote.lines if x.item == "dependants"]
    assert len(deps) == len(inp.dependants)
    assert sum(d.amount_fen for d in deps) <= base
    for line in quote.lines:
        if line.item == "disability_monthly":
            assert line.amount_fen >= r.values[calc.MINIMUM_WAGE]
            assert line.amount_fen == max(line.detail["computed_fen"], r.values[calc.MINIMUM_WAGE])
    assert quote.total_once_fen == sum(x.amount_fen for x in quote.lines if not x.monthly)
    assert quote.total_monthly_fen == sum(x.amount_fen for x in quote.lines if x.monthly)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.integers(0, 100), min_size=1, max_size=8), st.integers(1, 10**9))
def test_dependant_shares_never_exceed_b(percents, base):
    shares, capped = calc.dependant_shares(percents, base)
    assert sum(shares) <= base and all(s >= 0 for s in shares)
    assert capped == (sum(percents) > 100)
    if capped:  # scaled to B: each share half-up, so the sum is B within half a fen a share
        assert base - len(shares) / 2 <= sum(shares) <= base
    else:  # uncapped shares are each percent × B to the fen (half-up), unless rounding would pass B
        exact = [Decimal(base) * p / 100 for p in percents]
        assert all(abs(s - e) < 1 for s, e in zip(shares, exact, strict=True))
