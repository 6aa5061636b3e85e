"""The yearly budget: pre-fill from the ledger and the monthly benefits, the flow between the social
insurance centre, the tax bureau and finance (return and resubmit, approval, adjustment in force),
one version in progress at a time, the audit, and the execution against the ledger with a city
officer's scope. Budget years come from the clock (today + 2 … + 5: the demo keeps the current
year); ledger entries are posted in sessions that are rolled back."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import select

from oip.auth.models import User
from oip.auth.service import principal_for
from oip.core import clock
from oip.core.audit_models import AuditEvent
from oip.core.db import session_scope
from oip.core.errors import DomainError
from oip.fund import budget, budget_rules as R, posting, rules
from oip.fund.models import BudgetLine

CITY = "451400"  # 崇左: the city these tests book expenditure in


def who(s, username: str):
    return principal_for(s, s.scalar(select(User).where(User.username == username)), via="test")


def line_of(s, budget_id: int, subject: str, city: str) -> BudgetLine | None:
    return s.scalar(
        select(BudgetLine).where(
            BudgetLine.budget_id == budget_id, BudgetLine.subject_code == subject, BudgetLine.city_code == city
        )
    )


# ---- pure rules ----------------------------------------------------------------------------------


def test_state_machine():
    assert R.next_status("submit", "draft") == "submitted"
    assert R.next_status("submit", "returned") == "submitted"
    assert R.next_status("review", "submitted") == "reviewed"
    assert R.next_status("approve", "reviewed") == "approved"
    assert R.next_status("return", "submitted") == "returned"
    assert R.next_status("return", "reviewed") == "returned"
    assert R.next_status("edit", "returned") == "returned"
    for act, status in [("approve", "submitted"), ("edit", "submitted"), ("review", "draft"), ("adjust", "draft")]:
        with pytest.raises(ValueError):
            R.next_status(act, status)
    assert "已报送财政" in R.why_not("edit", "submitted")
    assert R.in_force([(1, "approved"), (2, "approved"), (3, "draft")]) == 2
    assert R.in_force([(1, "returned")]) is None


def test_prefill_maths_and_rates():
    months = R.last_months(dt.date(2031, 3, 15))
    assert months[0] == "2030-03" and months[-1] == "2031-02" and len(months) == 12
    assert R.premium_prefill(500, 900, months)[0] == 500
    amount, basis = R.premium_prefill(0, 900, months)
    assert amount == 900 and "申报" in basis
    # a monthly item: the schedule × 12 when larger than the past year's payments, and the other way
    amount, basis = R.expense_prefill(1_000_00, 2, 1_500_00, months)
    assert amount == 18_000_00 and "× 12" in basis and "2 人" in basis
    assert R.expense_prefill(50_000_00, 1, 1_000_00, months)[0] == 50_000_00
    assert R.expense_prefill(7_00, 0, 0, months) == (7_00, f"按{R.window_text(months)} 实际支出 7.00 元测算")
    assert R.rate(1, 3) == Decimal("33.3") and R.rate(2, 3) == Decimal("66.7") and R.rate(5, 0) is None
    assert R.time_progress(2031, dt.date(2031, 12, 31)) == Decimal("100.0")
    assert R.time_progress(2031, dt.date(2031, 1, 1)) == Decimal("0.3")
    assert R.time_progress(2032, dt.date(2032, 7, 1)) == Decimal("50.0")  # 183 of 366 days
    assert R.time_progress(2030, dt.date(2031, 1, 1)) == Decimal("100.0")
    assert R.time_progress(2035, dt.date(2031, 1, 1)) == Decimal("0.0")
    assert R.fen_from_yuan("1,234.5") == 123450
    for bad in ("", "-1", "1.234", "abc", "nan"):
        with pytest.raises(R.BadAmount):
            R.fen_from_yuan(bad)


# ---- pre-fill from the ledger (rolled back) ------------------------------------------------------


def test_prefill_takes_the_last_twelve_months_of_the_ledger(db):
    today = clock.today()
    months = R.last_months(today)
    inside = dt.date(int(months[-1][:4]), int(months[-1][5:]), 10)
    actor = who(db, "gx_si")
    # Income in the ledger's window first: without any, the pre-fill takes the declarations instead
    # (which other tests may have made), and the difference below would not be the ledger's.
    posting.post(db, actor, [posting.NewEntry("premium", inside, "测试保费（基数）", rules.premium_legs(1))])
    before = {(x["subject_code"], x["city_code"]): x["amount_fen"] for x in budget.prefill(db, today)}
    posting.post(
        db,
        actor,
        [
            posting.NewEntry("premium", inside, "测试保费", rules.premium_legs(9_876_54)),
            posting.NewEntry("interest", inside, "测试利息", rules.interest_legs(12_34)),
            posting.NewEntry("allocation", inside, "测试拨付", rules.allocation_legs(CITY, 500_000_00)),
            posting.NewEntry("payment", inside, "测试支付", rules.payment_legs("medical", "451402", 4_321_00)),
        ],
    )
    after = {(x["subject_code"], x["city_code"]): x for x in budget.prefill(db, today)}
    assert after[("4001", "450000")]["amount_fen"] - before.get(("4001", "450000"), 0) == 9_876_54
    assert after[("4002", "450000")]["amount_fen"] - before.get(("4002", "450000"), 0) == 12_34
    assert after[("500101", CITY)]["amount_fen"] - before.get(("500101", CITY), 0) == 4_321_00
    assert "总账" in after[("4001", "450000")]["basis"] and R.window_text(months) in after[("500101", CITY)]["basis"]
    # an entry older than the window does not count
    old = dt.date(int(months[0][:4]), int(months[0][5:]), 1) - dt.timedelta(days=3)
    posting.post(db, actor, [posting.NewEntry("premium", old, "测试旧保费", rules.premium_legs(1_00))])
    again = {(x["subject_code"], x["city_code"]): x["amount_fen"] for x in budget.prefill(db, today)}
    assert again[("4001", "450000")] == after[("4001", "450000")]["amount_fen"]


def test_prefill_budgets_monthly_benefits_at_their_current_rates():
    from tests.benefits._monthly_support import approve, new_case

    today = clock.today()
    first = dt.date(today.year, today.month, 1)
    start = (first - dt.timedelta(days=40)).replace(day=1)
    case_id = new_case(county="451402")
    approve(
        case_id,
        [{"item": "disability_monthly", "amount_fen": 3_210_00, "starts_on": start}],
        approved_on=today,
    )
    with session_scope() as s:
        sched = budget._monthly_schedules(s, first)
        n, rate_fen = sched[("500105", CITY)]
        assert n >= 1 and rate_fen >= 3_210_00
        line = next(x for x in budget.prefill(s, today) if (x["subject_code"], x["city_code"]) == ("500105", CITY))
        past = budget._ledger_sums(s, R.last_months(today)).get(("500105", CITY), 0)
        assert line["amount_fen"] == max(past, 12 * rate_fen)
        assert f"在册定期待遇 {n} 人" in line["basis"]


# ---- the flow ------------------------------------------------------------------------------------


def test_flow_with_return_resubmit_approval_and_adjustment():
    year = clock.today().year + 3
    with session_scope() as s:
        b = budget.draft(s, who(s, "gx_si"), year, note="年初预算")
        bid = b.id
        assert (b.version, b.basis, b.status) == (1, "original", "draft")
        assert line_of(s, bid, "4001", "450000") is not None and line_of(s, bid, "4002", "450000") is not None
    # only the centre drafts; only one version in progress
    with session_scope() as s:
        with pytest.raises(DomainError) as e:
            budget.draft(s, who(s, "gx_finance"), year)
        assert e.value.status_code == 403
        with pytest.raises(DomainError) as e:
            budget.draft(s, who(s, "gx_si"), year)
        assert e.value.status_code == 409
    with session_scope() as s:
        si = who(s, "gx_si")
        budget.set_line(s, si, bid, "500101", CITY, 1_000_000_00, "按上年医疗费支出增长 5% 测算")
        budget.set_line(s, si, bid, "4001", "450000", 8_000_000_00)
        for subject, city, field in [
            ("4001", CITY, "city_code"),
            ("500101", "450000", "city_code"),
            ("3001", "450000", "subject_code"),
        ]:
            with pytest.raises(DomainError) as e:
                budget.set_line(s, si, bid, subject, city, 1)
            assert e.value.field == field
        # submit requires the tax bureau's forecast
        with pytest.raises(DomainError) as e:
            budget.submit(s, si, bid)
        assert "税务" in e.value.reason
    with session_scope() as s:
        with pytest.raises(DomainError) as e:
            budget.set_forecast(s, who(s, "gx_finance"), bid, 1)  # finance reviews; it does not forecast
        assert e.value.status_code == 403
        budget.set_forecast(s, who(s, "gx_tax"), bid, 8_100_000_00, "按平台订单量增长预测")
    with session_scope() as s:
        assert budget.submit(s, who(s, "gx_si"), bid).status == "submitted"
    with session_scope() as s:
        si = who(s, "gx_si")
        with pytest.raises(DomainError) as e:
            budget.set_line(s, si, bid, "500101", CITY, 1)
        assert e.value.status_code == 409
        with pytest.raises(DomainError) as e:
            budget.approve(s, who(s, "gx_finance"), bid)
        assert e.value.status_code == 409  # review first
        with pytest.raises(DomainError) as e:
            budget.return_(s, who(s, "gx_finance"), bid, " ")
        assert e.value.field == "reason"
    with session_scope() as s:
        b = budget.return_(s, who(s, "gx_finance"), bid, "医疗费测算偏高，请按近三年平均数重新测算")
        assert b.status == "returned"
    with session_scope() as s:
        si = who(s, "gx_si")
        budget.set_line(s, si, bid, "500101", CITY, 900_000_00, "按近三年平均数测算")
        budget.submit(s, si, bid)
    with session_scope() as s:
        fin = who(s, "gx_finance")
        budget.review(s, fin, bid, "测算依据充分")
        assert budget.in_force(s, year) is None
        b = budget.approve(s, fin, bid, "同意")
        assert b.status == "approved" and b.approved_by == fin.user_id
        assert budget.in_force(s, year).id == bid
        # an approved year takes no new original version
        with pytest.raises(DomainError) as e:
            budget.draft(s, who(s, "gx_si"), year)
        assert e.value.status_code == 409
    # adjustment: a copy that goes the same way and then is in force
    with session_scope() as s:
        adj = budget.adjust(s, who(s, "gx_si"), bid, note="年中调整")
        aid = adj.id
        assert (adj.version, adj.basis, adj.status) == (2, "adjustment", "draft")
        assert line_of(s, aid, "500101", CITY).amount_fen == 900_000_00
        assert adj.income_forecast_fen == 8_100_000_00
        with pytest.raises(DomainError) as e:
            budget.adjust(s, who(s, "gx_si"), bid)
        assert e.value.status_code == 409  # one in progress
    with session_scope() as s:
        si = who(s, "gx_si")
        budget.set_line(s, si, aid, "500101", CITY, 1_200_000_00, "上半年医疗费支出超预期")
        budget.submit(s, si, aid)
        fin = who(s, "gx_finance")
        budget.review(s, fin, aid)
        assert budget.in_force(s, year).id == bid  # still the original until approved
        budget.approve(s, fin, aid)
        assert budget.in_force(s, year).id == aid
        with pytest.raises(DomainError) as e:
            budget.adjust(s, si, bid)  # not the version in force
        assert e.value.status_code == 409
    with session_scope() as s:
        actions = list(
            s.scalars(
                select(AuditEvent.action)
                .where(AuditEvent.entity_type == "fund_budget", AuditEvent.entity_id == str(bid))
                .order_by(AuditEvent.seq)
            )
        )
        assert actions[0] == "fund.budget.draft"
        for a in ("fund.budget.forecast", "fund.budget.return", "fund.budget.review", "fund.budget.approve"):
            assert a in actions
        assert actions.count("fund.budget.submit") == 2
        hist = budget.history(s, budget.get(s, who(s, "gx_si"), bid))
        assert any("近三年平均数" in h["detail"] for h in hist)
        assert any(h["action_name"] == "财政批复预算" for h in hist)


def test_execution_against_the_ledger_and_a_city_officers_scope(db):
    today = clock.today()
    year = today.year + 2
    si, fin = who(db, "gx_si"), who(db, "gx_finance")
    b = budget.draft(db, si, year)
    budget.set_line(db, si, b.id, "4001", "450000", 3_000_00)
    budget.set_line(db, si, b.id, "500101", CITY, 1_000_00)
    budget.set_line(db, si, b.id, "500101", "450100", 2_000_00)
    budget.set_line(db, si, b.id, "500107", "450100", 0)  # whatever the pre-fill found: nothing budgeted
    budget.set_forecast(db, who(db, "gx_tax"), b.id, 3_000_00)
    budget.submit(db, si, b.id)
    budget.review(db, fin, b.id)
    budget.approve(db, fin, b.id)
    posting.post(
        db,
        si,
        [
            posting.NewEntry("premium", dt.date(year, 2, 3), "测试保费", rules.premium_legs(1_000_00)),
            posting.NewEntry("allocation", dt.date(year, 2, 4), "测试拨付", rules.allocation_legs(CITY, 900_00)),
            posting.NewEntry(
                "payment", dt.date(year, 2, 5), "测试支付", rules.payment_legs("medical", "451402", 100_00)
            ),
            posting.NewEntry(
                "payment", dt.date(year, 5, 5), "测试支付", rules.payment_legs("medical", "451402", 233_00)
            ),
            posting.NewEntry(
                "payment", dt.date(year, 5, 6), "退汇", rules.payment_legs("medical", "451402", 33_00, reversed_=True)
            ),
            posting.NewEntry(
                "payment", dt.date(year, 6, 1), "测试支付", rules.payment_legs("funeral", "450103", 50_00)
            ),
        ],
    )
    ex = budget.execution(db, year)
    rows = {(r["subject_code"], r["city_code"]): r for r in ex["rows"]}
    prem = rows[("4001", "450000")]
    assert prem["budget_fen"] == 3_000_00 and prem["actual_fen"] == 1_000_00 and prem["months"][1] == 1_000_00
    assert prem["rate"] == "33.3"
    med = rows[("500101", CITY)]
    assert med["months"][1] == 100_00 and med["months"][4] == 200_00 and med["actual_fen"] == 300_00
    assert med["rate"] == "30.0" and med["city_name"] == "崇左市"
    assert rows[("500107", "450100")]["budget_fen"] == 0 and rows[("500107", "450100")]["rate"] is None
    assert ex["time_progress"] == "0.0" and ex["budget"]["id"] == b.id
    assert ex["totals"]["expense"]["actual_fen"] == 350_00
    # a city officer sees its own city's expenditure only, whatever it asks for
    nn = budget.execution(db, year, CITY, actor=who(db, "nn_si"))
    assert nn["city"] == "450100"
    seen = {(r["subject_code"], r["city_code"]) for r in nn["rows"]}
    assert {r["city_code"] for r in nn["rows"]} == {"450100"} and {("500101", "450100"), ("500107", "450100")} <= seen
    assert {x.city_code for x in budget.lines(db, b, who(db, "nn_si"))} == {"450100"}
    # the region filters by city
    cz = budget.execution(db, year, CITY, actor=si)
    assert {r["city_code"] for r in cz["rows"]} == {CITY}
