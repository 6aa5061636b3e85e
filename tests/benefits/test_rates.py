"""The rates of an event (oip.benefits.service): by the event date and the most specific region."""

from __future__ import annotations

import datetime as dt

import pytest

from oip.benefits import calc, service
from oip.benefits.calc import DependantIn, QuoteInput
from oip.core import audit
from oip.core.errors import DomainError
from oip.reference import parameters

ACTOR = audit.SystemActor(label="test")


def test_defaults_apply_from_the_pilot(db):
    r = service.rates_for(db, dt.date(2025, 7, 1), "450103")
    assert r.values[calc.I] == 5_418_800 and r.values[calc.B] == 677_200
    assert set(r.values) == set(calc.RATE_KEYS) and set(r.versions) == set(calc.RATE_KEYS)
    assert r.versions[calc.I].startswith("benefit.national_disposable_income_fen@2025-07-01")


def test_a_death_in_2025_gets_1_083_760_yuan(db):
    quote = service.quote_for(db, QuoteInput(dt.date(2025, 11, 20), "450103", "death"))
    line = next(x for x in quote.lines if x.item == "death_once")
    assert line.amount_fen == 108_376_000
    assert line.parameters[0].startswith("benefit.national_disposable_income_fen@2025-07-01")


def test_a_parameter_change_between_two_events(db):
    """A value applies to events on or after its date: two deaths either side of the change."""
    parameters.set(db, ACTOR, calc.I, 5_600_000, dt.date(2026, 1, 1), "2025 年全国城镇居民人均可支配收入（测试）")
    before = service.quote_for(db, QuoteInput(dt.date(2025, 12, 31), "450103", "death"))
    after = service.quote_for(db, QuoteInput(dt.date(2026, 1, 1), "450103", "death"))
    b, a = (next(x for x in q.lines if x.item == "death_once") for q in (before, after))
    assert b.amount_fen == 108_376_000 and "@2025-07-01" in b.parameters[0]
    assert a.amount_fen == 112_000_000 and "@2026-01-01" in a.parameters[0]


def test_the_most_specific_region_wins(db):
    """County beats city beats Guangxi (45) beats everywhere; each on its own date."""
    key = calc.MINIMUM_WAGE
    parameters.set(db, ACTOR, key, 200_000, dt.date(2025, 8, 1), "全区（测试）")
    parameters.set(db, ACTOR, key, 195_000, dt.date(2025, 8, 1), "广西（测试）", region="45")
    parameters.set(db, ACTOR, key, 184_000, dt.date(2025, 8, 1), "南宁（测试）", region="4501")
    parameters.set(db, ACTOR, key, 171_000, dt.date(2025, 8, 1), "二类县（测试）", region="450123")
    day = dt.date(2025, 9, 1)
    got = {code: service.rates_for(db, day, code).values[key] for code in ("450123", "450103", "450203", "")}
    assert got == {"450123": 171_000, "450103": 184_000, "450203": 195_000, "": 200_000}
    assert service.rates_for(db, day, "450123").versions[key] == f"{key}@2025-08-01/450123"
    # Before those values began, the default (everywhere) still applies to every region.
    assert service.rates_for(db, dt.date(2025, 7, 31), "450123").values[key] == 199_000
    # The floor follows the county: grade 4 on a low B is paid the county's minimum wage.
    low = service.quote_for(db, QuoteInput(day, "450123", "injury", grade=4))
    assert next(x for x in low.lines if x.item == "disability_monthly").amount_fen >= 171_000


def test_region_must_exist_in_guangxi(db):
    with pytest.raises(DomainError) as e:
        service.quote_for(db, QuoteInput(dt.date(2025, 9, 1), "459999", "injury"))
    assert e.value.field == "region_code"
    service.quote_for(db, QuoteInput(dt.date(2025, 9, 1), "4501", "death", dependants=(DependantIn("spouse"),)))


@pytest.mark.parametrize(
    ("key", "value"),
    [
        (calc.B, -1),
        (calc.B, 12.5),
        (calc.ONCE_MONTHS, [27, 25]),
        (calc.MONTHLY_PERCENT, {"1": 90, "2": 85, "3": 80}),
        (calc.NURSING_PERCENT, {"complete": 150, "most": 40, "partial": 30}),
        (calc.MISSING_FROM_MONTH, 0),
    ],
)
def test_parameter_values_are_validated(db, key, value):
    with pytest.raises(DomainError) as e:
        parameters.set(db, ACTOR, key, value, dt.date(2025, 8, 1), "测试")
    assert e.value.field == "value"


def test_national_income_is_not_regional(db):
    with pytest.raises(DomainError) as e:
        parameters.set(db, ACTOR, calc.I, 5_000_000, dt.date(2025, 8, 1), "测试", region="4501")
    assert e.value.field == "region"


def test_requote_rerates_monthly_lines_under_the_parameters_of_the_month(db):
    """调整: the determination's inputs quoted again with the values in force in the adjustment month."""
    from oip.benefits import monthly
    from oip.benefits.models import Determination, DeterminationLine, MonthlyBenefit

    parameters.set(db, ACTOR, calc.B, 700_000, dt.date(2026, 7, 1), "新年度本人工资基数（测试）", region="45")
    det = Determination(
        event_date=dt.date(2025, 9, 1), region_code="450103", kind="injury", inputs={"grade": 2, "self_care": "most"}
    )
    allowance = MonthlyBenefit(item="disability_monthly")
    line = DeterminationLine(item="disability_monthly", proposed_fen=575_620, amount_fen=575_620)
    before = monthly.requote(db, allowance, line, det, dt.date(2026, 6, 1))
    after = monthly.requote(db, allowance, line, det, dt.date(2026, 7, 1))
    assert before.amount_fen == 575_620 and after.amount_fen == 595_000  # 85 % of 6,772 / of 7,000 yuan
    assert after.parameters[0] == f"{calc.B}@2026-07-01/45" and "7,000.00 元 × 85%" in after.formula
    nursing_line = DeterminationLine(item="nursing", proposed_fen=270_880, amount_fen=270_880)
    nursing = monthly.requote(db, MonthlyBenefit(item="nursing"), nursing_line, det, dt.date(2026, 7, 1))
    assert nursing.amount_fen == 270_880  # W did not change: 40 % of 6,772 yuan
    # An amount the officer adjusted with a reason is not replaced by the calculator's.
    adjusted = DeterminationLine(item="nursing", proposed_fen=270_880, amount_fen=203_160, adjust_reason="另有证明")
    assert monthly.requote(db, MonthlyBenefit(item="nursing"), adjusted, det, dt.date(2026, 7, 1)) is None
    # Dependants: the line of the same dependant (its id), within the cap with the others.
    death = Determination(
        event_date=dt.date(2025, 9, 1),
        region_code="450103",
        kind="death",
        inputs={
            "dependants": [
                {"id": 7, "relation": "spouse", "orphan_or_lone_elderly": False},
                {"id": 9, "relation": "child", "orphan_or_lone_elderly": True},
            ]
        },
    )
    same = DeterminationLine(item="dependants", proposed_fen=1, amount_fen=1)
    child = monthly.requote(db, MonthlyBenefit(item="dependants", dependant_id=9), same, death, dt.date(2026, 7, 1))
    assert child.amount_fen == 280_000  # 40 % of 7,000 yuan
    assert (
        monthly.requote(db, MonthlyBenefit(item="dependants", dependant_id=8), same, death, dt.date(2026, 7, 1)) is None
    )
