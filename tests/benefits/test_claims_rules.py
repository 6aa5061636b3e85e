"""The pure rules of claims and the fast lane: yuan → fen exactly, the rows' checks and duplicate
receipts, the fast lane's conditions at both ends of the limit, and the clocks."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import given, strategies as st

from oip.benefits import claims_rules as R
from oip.core import workdays
from oip.core.errors import DomainError

INJURED, RECEIVED = dt.date(2025, 9, 20), dt.date(2025, 9, 30)


@pytest.mark.parametrize(
    ("typed", "fen"),
    [
        ("3000.00", 300000),
        ("3000.01", 300001),
        ("0.1", 10),
        ("0.01", 1),
        ("1234.5", 123450),
        (" ４５.６７ ", 4567),  # full-width digits, as an IME types them
        ("¥88", 8800),
        ("1.230", 123),  # a trailing zero is still exact
        (12, 1200),
        (Decimal("19.99"), 1999),
    ],
)
def test_yuan_to_fen_is_exact(typed, fen):
    assert R.yuan_to_fen(typed) == fen


@pytest.mark.parametrize(
    ("typed", "words"),
    [
        ("1.234", "两位小数"),
        ("1,234.50", "不是有效的金额"),
        ("abc", "不是有效的金额"),
        ("0", "大于零"),
        ("-5", "大于零"),
        ("", "请填写"),
        (12.5, "浮点数"),
        ("NaN", "不是有效的金额"),
        ("99999999.99", "请核对"),
    ],
)
def test_bad_amounts_are_refused_with_the_reason(typed, words):
    with pytest.raises(DomainError) as e:
        R.yuan_to_fen(typed, "amount", "金额")
    assert words in e.value.reason and e.value.field == "amount"


@given(st.integers(min_value=1, max_value=R.MAX_AMOUNT_FEN))
def test_fen_text_round_trips(fen):
    assert R.yuan_to_fen(R.fen_text(fen)) == fen


def _row(line, receipt, amount="100.00", **kw):
    return R.BillRow(
        line=line,
        receipt_no=receipt,
        provider="南宁市第一人民医院",
        issued_on=kw.pop("issued_on", "2025-09-25"),
        amount=amount,
        **kw,
    )


def test_rows_duplicates_within_the_claim_and_known_ones_are_refused_and_counts_reconcile():
    rows = [
        _row(1, "A001"),
        _row(2, "a 001"),  # the same receipt (spaces and case do not count)
        _row(3, "B002", amount="1.005"),
        _row(4, "C003"),
        R.BillRow(line=5),  # a blank form row: not counted
        _row(6, "D004", issued_on="2025-09-01"),  # before the injury
    ]
    checked = R.check_rows(
        rows, injured_on=INJURED, received_on=RECEIVED, known={"C003": ("FY2025450103000001", "GX2025-1")}
    )
    assert [b.receipt_no for b in checked.accepted] == ["A001"]
    reasons = {r.line: r.reason for r in checked.rejected}
    assert "与本次申报第 1 行重复" in reasons[2]
    assert "两位小数" in reasons[3]
    assert "已在费用申报 FY2025450103000001（案件 GX2025-1）中申报过" in reasons[4]
    assert "早于事故发生日期" in reasons[6]
    assert checked.counts() == {"submitted": 5, "accepted": 1, "rejected": 4}
    assert checked.submitted == len(checked.accepted) + len(checked.rejected)


def test_a_form_with_only_blank_rows_is_refused():
    with pytest.raises(DomainError, match="至少填写一行"):
        R.check_rows([R.BillRow(line=1), R.BillRow(line=2)], injured_on=INJURED, received_on=RECEIVED, known={})


def test_a_bill_issued_after_the_claim_is_refused():
    with pytest.raises(DomainError, match="晚于申报日期"):
        R.check_row(_row(1, "X", issued_on="2025-10-01"), injured_on=INJURED, received_on=RECEIVED)


def test_an_excluded_bill_needs_a_reason():
    assert R.check_exclusion(True, "") is None
    assert R.check_exclusion(False, " 自费药品 ") == "自费药品"
    with pytest.raises(DomainError, match="剔除理由"):
        R.check_exclusion(False, "  ")


def _facts(**kw):
    base = dict(
        case_kind="injury",
        inpatient_bills=0,
        hospital_days=0,
        appraisal_applied=False,
        claimed_fen=300000,
        limit_fen=300000,
    )
    return R.FastLaneFacts(**{**base, **kw})


def test_fast_lane_both_ends_of_the_limit():
    assert R.fast_lane_reasons(_facts(claimed_fen=300000)) == []  # 3,000.00 yuan qualifies
    over = R.fast_lane_reasons(_facts(claimed_fen=300001))  # 3,000.01 does not
    assert over == ["申报医疗费用合计 3000.01 元，超过小伤快赔上限 3000.00 元"]


def test_fast_lane_a_hospital_stay_an_appraisal_or_a_death_disqualify():
    assert "住院 1 天" in R.fast_lane_reasons(_facts(hospital_days=1))[0]
    assert "1 张住院费用票据" in R.fast_lane_reasons(_facts(inpatient_bills=1))[0]
    assert R.fast_lane_reasons(_facts(appraisal_applied=True)) == ["已申请劳动能力鉴定"]
    assert R.fast_lane_reasons(_facts(case_kind="death")) == ["小伤快赔仅适用于受伤案件"]


def test_clock_overdue_due_today_and_left():
    due = dt.date(2025, 10, 10)
    assert R.clock(due, dt.date(2025, 10, 13), -1).overdue and R.clock(due, dt.date(2025, 10, 13), -1).css == "overdue"
    today = R.clock(due, due, 0)
    assert today.today and today.label == "今日到期"
    left = R.clock(due, dt.date(2025, 9, 30), workdays.working_days_between(dt.date(2025, 9, 30), due))
    assert left.label == "剩余 2 个工作日"  # 10-01…10-08 are the National Day holidays
    assert R.clock(due, dt.date(2025, 10, 13), -1, done=True).css == ""
