"""Quarterly cash-use plans: the pure rules on worked examples; the forecast reckoned from a city's
own rows (payables, a submitted determination, monthly benefits, a confirmed case, the ledger's
medical expenditure); the whole flow city → region → finance through the API with the allocation
posted to the ledger; refusals; and the city scope."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from oip.core import clock
from oip.core.money import yuan
from oip.fund import cashplan_rules as R
from tests.conftest import bearer
from tests.fund._cashplan_support import fund_fiscal, plan_year, post_medical, principal


@pytest.fixture(autouse=True)
def _database(database):
    """The service tests run against the test database."""


# ---- pure rules: worked examples ----------------------------------------------------------------


def test_quarters():
    y = clock.today().year
    assert R.quarter_months(y, 3) == [dt.date(y, 7, 1), dt.date(y, 8, 1), dt.date(y, 9, 1)]
    assert R.quarter_periods(y, 1) == [f"{y}-01", f"{y}-02", f"{y}-03"]
    assert R.quarter_of(dt.date(y, 11, 30)) == (y, 4)
    assert R.next_quarter(y, 4) == (y + 1, 1) and R.previous_quarter(y, 1) == (y - 1, 4)
    assert R.label(y, 2) == f"{y}年第2季度"
    # A plan ahead of time looks back from the current quarter; a past one from its own.
    today = dt.date(y, 5, 10)
    assert R.history_quarters(y + 2, 3, today) == [(y, 1), (y - 1, 4)]
    assert R.history_quarters(y - 1, 2, today) == [(y - 1, 1), (y - 2, 4)]
    with pytest.raises(ValueError):
        R.quarter_months(y, 5)


def test_monthly_need_counts_entitled_months_at_the_rate_in_force():
    y = clock.today().year
    months = R.quarter_months(y, 3)  # July, August, September
    # 2,500.00 a month from the start, raised to 2,600.00 from August; runs all quarter: 2500 + 2600 × 2.
    a = R.Schedule(dt.date(y - 1, 3, 15), None, ((dt.date(y - 1, 3, 1), 250_000), (dt.date(y, 8, 1), 260_000)))
    assert R.monthly_need([a], months) == (250_000 + 260_000 * 2, 3)
    # A child's pension ending in August (the month of the end is owed): July and August.
    b = R.Schedule(dt.date(y - 2, 1, 1), dt.date(y, 8, 1), ((dt.date(y - 2, 1, 1), 80_000),))
    assert R.monthly_need([b], months) == (160_000, 2)
    # Starting in September; July already owed for another one (not counted twice).
    c = R.Schedule(dt.date(y, 9, 20), None, ((dt.date(y, 9, 1), 100_000),))
    d = R.Schedule(dt.date(y - 1, 1, 1), None, ((dt.date(y - 1, 1, 1), 50_000),), frozenset({dt.date(y, 7, 1)}))
    assert R.monthly_need([c, d], months) == (100_000 + 50_000 * 2, 3)


def test_line_forecast_adds_the_pipeline_and_says_how():
    p = R.Parts(
        owed_fen=120_000,
        owed_count=2,
        submitted_fen=500_000,
        submitted_count=1,
        monthly_fen=750_000,
        monthly_count=3,
        monthly_benefits=1,
        pending_cases=4,
        average_fen=33_333,
        average_basis=3,
    )
    fen, basis = R.line_forecast("disability_once", p)
    assert fen == 120_000 + 500_000 + 750_000 + 4 * 33_333
    assert "应付未支付 2 笔 1,200.00 元" in basis
    assert "待审批的核定 1 件 5,000.00 元" in basis
    assert "1 人按月标准计 3 人月 7,500.00 元" in basis
    assert "已认定未核定案件 4 件 × 近12个月平均每件核定 333.33 元（3 件核定）= 1,333.32 元" in basis
    assert R.line_forecast("funeral", R.Parts()) == (0, "无在途案件、应付待遇和定期待遇")
    # Medical: the last two quarters' average is a floor.
    fen, basis = R.line_forecast(
        "medical", R.Parts(owed_fen=10_000, owed_count=1, floor_fen=50_000, floor_quarters="Q")
    )
    assert fen == 50_000 and basis.startswith("按近两季度（Q）平均医疗费支出 500.00 元保底")
    fen, basis = R.line_forecast(
        "medical", R.Parts(owed_fen=90_000, owed_count=1, floor_fen=50_000, floor_quarters="Q")
    )
    assert fen == 90_000 and "不低于近两季度（Q）平均医疗费支出 500.00 元" in basis


def test_averages_floor_and_rates_round_half_up():
    assert R.averages({"funeral": 100_001, "medical": 5}, 2) == {"funeral": 50_001, "medical": 3}
    assert R.averages({"funeral": 7}, 0) == {"funeral": 0}
    assert R.medical_floor([30_001, 0]) == 15_001
    assert R.medical_floor([-500, 100]) == 0 and R.medical_floor([]) == 0
    assert R.use_rate(875, 1000) == "87.5" and R.use_rate(2, 3) == "66.7" and R.use_rate(5, None) is None


def test_approval_and_allocation_checks():
    assert R.check_approval(100_000, 100_000, "") is None
    assert "须填写审核意见" in R.check_approval(100_000, 90_000, " ")
    assert R.check_approval(100_000, 90_000, "医疗费测算偏高") is None
    assert "不能超过申请金额" in R.check_approval(100_000, 100_001, "x")
    assert "应大于零" in R.check_approval(100_000, 0, "x")
    assert R.check_allocation(100_000, 100_000) is None
    assert "超过核定金额" in R.check_allocation(100_000, 100_001)
    assert R.shortfall(100_000, 99_999) == 1 and R.shortfall(100_000, -5) == 100_000 and R.shortfall(5, 10) == 0
    assert "1.00 元超出" in R.shortfall_note(100) and R.shortfall_note(0) == ""
    assert R.check_transition("submit", "returned") is None
    assert "只有“已报送，待审核”" in R.check_transition("approve", "draft")
    assert R.check_transition("allocate", "approved") is None and R.check_transition("allocate", "allocated")


# ---- the forecast from real rows -----------------------------------------------------------------


def _forecast(city: str, year: int, quarter: int):
    from oip.core.db import session_scope
    from oip.fund import cashplans

    with session_scope() as s:
        return cashplans.forecast(s, city, year, quarter)


def _submitted_determination(county: str, item: str, amount_fen: int) -> int:
    from oip.benefits.models import Determination, DeterminationLine
    from oip.core.db import session_scope
    from tests.cases.conftest import make_case

    case_id = make_case(county=county, to="accepted")
    with session_scope() as s:
        det = Determination(
            case_id=case_id,
            status="submitted",
            event_date=clock.today(),
            region_code=county,
            kind="injury",
            inputs={},
            total_once_fen=amount_fen,
            made_at=clock.now(),
            submitted_at=clock.now(),
        )
        s.add(det)
        s.flush()
        s.add(
            DeterminationLine(
                determination_id=det.id, item=item, proposed_fen=amount_fen, amount_fen=amount_fen, formula="测试"
            )
        )
        return det.id


def _approved_once(county: str, item: str, amount_fen: int) -> int:
    """A benefits determination approved today in ``county`` with one once line paid by the fund."""
    from oip.benefits.models import Determination, DeterminationLine
    from oip.core.db import session_scope
    from tests.cases.conftest import make_case

    case_id = make_case(county=county, to="accepted")
    with session_scope() as s:
        det = Determination(
            case_id=case_id,
            status="approved",
            event_date=clock.today(),
            region_code=county,
            kind="death",
            inputs={},
            total_once_fen=amount_fen,
            made_at=clock.now(),
            approved_at=clock.now(),
            approved_on=clock.today(),
        )
        s.add(det)
        s.flush()
        s.add(
            DeterminationLine(
                determination_id=det.id, item=item, proposed_fen=amount_fen, amount_fen=amount_fen, formula="测试"
            )
        )
        return det.id


def _confirmed_case(county: str) -> int:
    from oip.cases.models import Case
    from oip.core.db import session_scope
    from tests.cases.conftest import make_case

    case_id = make_case(county=county, to="accepted")
    with session_scope() as s:
        s.get(Case, case_id).state = "confirmed"  # 予以确认, no determination yet
    return case_id


def test_forecast_is_reckoned_from_the_city_rows():
    from tests.benefits._monthly_support import add_dependant, approve, new_case
    from tests.payments.conftest import owed_case

    today = clock.today()
    year, quarter = plan_year(), R.quarter_of(today)[1]
    first = R.quarter_months(year, quarter)[0]
    before = _forecast("450300", year, quarter)

    owed_case((120_000, 30_000), county="450305", account=False)  # medical + meal subsidy, owed and unpaid
    _submitted_determination("450304", "disability_once", 500_000)
    worker = new_case(county="450305")
    approve(
        worker,
        [{"item": "disability_monthly", "amount_fen": 250_000, "starts_on": today.replace(day=1)}],
        approved_on=today,
    )
    # A child whose 18th birthday falls in the plan quarter's second month: two months owed.
    orphan = new_case(kind="death", county="450305")
    birthday = first.replace(year=first.year - 18, month=first.month + 1, day=10)
    dep = add_dependant(orphan, relation="child", birth_date=birthday)
    approve(
        orphan,
        [{"item": "dependants", "amount_fen": 80_000, "starts_on": today.replace(day=1), "dependant_id": dep}],
        approved_on=today,
    )
    _confirmed_case("450311")
    _approved_once("450303", "funeral", 300_000)  # feeds the last 12 months' average
    # A case elsewhere changes nothing here.
    owed_case((99_900,), county="450107", account=False)

    after = _forecast("450300", year, quarter)
    b, a = before.parts, after.parts
    assert (a["medical"].owed_fen - b["medical"].owed_fen, a["medical"].owed_count - b["medical"].owed_count) == (
        120_000,
        1,
    )
    assert a["meal_subsidy"].owed_fen - b["meal_subsidy"].owed_fen == 30_000
    assert a["disability_once"].submitted_fen - b["disability_once"].submitted_fen == 500_000
    assert a["disability_monthly"].monthly_fen - b["disability_monthly"].monthly_fen == 3 * 250_000
    assert a["disability_monthly"].monthly_benefits - b["disability_monthly"].monthly_benefits == 1
    assert a["dependants"].monthly_fen - b["dependants"].monthly_fen == 2 * 80_000
    assert a["dependants"].monthly_count - b["dependants"].monthly_count == 2
    assert after.pending_cases - before.pending_cases == 1
    assert after.average_basis - before.average_basis == 3  # the three approved today
    # The average per determination (half-up to the fen) took the new funeral amount in.
    was = b["funeral"].average_fen * before.average_basis
    now = a["funeral"].average_fen * after.average_basis
    assert abs(now - (was + 300_000)) <= (before.average_basis + after.average_basis) / 2 + 1
    # Each item's amount is its parts' sum (medical: at least the floor), and the basis says so.
    for item, p in a.items():
        fen, basis = after.items[item]
        base = p.owed_fen + p.submitted_fen + p.monthly_fen + p.pending_cases * p.average_fen
        assert fen == (max(base, p.floor_fen) if item == "medical" else base)
    assert "已提交待审批的核定" in after.items["disability_once"][1]
    assert (
        f"已认定未核定案件 {after.pending_cases} 件 × 近12个月平均每件核定 {yuan(a['funeral'].average_fen)} 元"
        f"（{after.average_basis} 件核定）" in after.items["funeral"][1]
    )

    # Prefill writes exactly that forecast, line by line (a city officer, its own city).
    from oip.core.db import session_scope
    from oip.fund import cashplans, rules
    from oip.fund.models import CashPlanLine

    with session_scope() as s:
        plan = cashplans.prefill(s, principal(s, "gl_si"), "450300", year, quarter)
        lines = {x.item: x for x in s.scalars(select(CashPlanLine).where(CashPlanLine.plan_id == plan.id))}
        assert set(lines) == set(rules.ITEM_SUBJECTS)
        assert {k: (x.forecast_fen, x.basis) for k, x in lines.items()} == after.items
        assert all(x.requested_fen == x.forecast_fen for x in lines.values())
        assert plan.status == "draft" and plan.forecast_fen == plan.requested_fen == after.total_fen


def test_medical_floor_from_the_ledger():
    """The medical line is at least the average of the last two quarters' posted medical spending."""
    from oip.core.db import session_scope
    from oip.fund import cashplans, posting

    year, quarter = plan_year(), 4
    with session_scope() as s:
        history = cashplans.medical_history(s, "450300", year, quarter)
        closed = posting.closed_months(s)
    window = [p for q, _ in history for p in R.quarter_periods(*q)]
    open_months = [p for p in window if p not in closed]
    assert open_months, "the tests never close the months of the last two quarters"
    month = open_months[-1]
    period = post_medical("450302", 4_000_001, dt.date(int(month[:4]), int(month[5:]), 1))
    assert period == month
    with session_scope() as s:
        after = cashplans.medical_history(s, "450300", year, quarter)
    assert sum(f for _, f in after) - sum(f for _, f in history) == 4_000_001
    fc = _forecast("450300", year, quarter)
    assert fc.parts["medical"].floor_fen == R.medical_floor([f for _, f in after])
    assert fc.items["medical"][0] >= fc.parts["medical"].floor_fen


# ---- the flow through the API --------------------------------------------------------------------


def _trial(year: int, city: str) -> dict[str, dict]:
    from oip.core.db import session_scope
    from oip.fund import posting

    with session_scope() as s:
        return {r["subject_code"]: r for r in posting.trial_balance(s, year, city)}


def _tb(rows: dict, code: str, side: str) -> int:
    return rows.get(code, {}).get(side, 0)


def test_city_region_finance_flow_posts_the_allocation(client):
    from oip.core.audit_models import AuditEvent
    from oip.core.db import session_scope
    from oip.fund.models import Entry, EntryLine

    year, quarter = plan_year(), R.quarter_of(clock.today())[1]
    nn, gx, fin, gl = bearer("nn_si"), bearer("gx_si"), bearer("gx_finance"), bearer("gl_si")

    r = client.post(
        "/api/v1/fund/cash-plans", json={"city_code": "450100", "year": year, "quarter": quarter}, headers=nn
    )
    assert r.status_code == 201, r.text
    plan = r.json()
    pid = plan["id"]
    assert plan["status"] == "draft" and plan["city_name"] == "南宁市" and len(plan["lines"]) == 10
    assert all(x["basis"] for x in plan["lines"])
    r = client.post(
        "/api/v1/fund/cash-plans", json={"city_code": "450100", "year": year, "quarter": quarter}, headers=nn
    )
    assert r.status_code == 409 and "已存在" in r.text

    # The city sets what it asks for and submits.
    r = client.post(
        f"/api/v1/fund/cash-plans/{pid}/requested",
        json={"requested": {"medical": 3_000_000, "disability_once": 2_000_000}, "note": "含新增认定案件"},
        headers=nn,
    )
    assert r.status_code == 200, r.text
    requested = r.json()["requested_fen"]
    assert requested == sum(x["requested_fen"] for x in r.json()["lines"]) and requested >= 5_000_000
    r = client.post(f"/api/v1/fund/cash-plans/{pid}/requested", json={"requested": {"medical": -1}}, headers=nn)
    assert r.status_code == 400 and "不能为负数" in r.text
    assert (
        client.post(f"/api/v1/fund/cash-plans/{pid}/approval", json={"approved_fen": 1}, headers=gx).status_code == 409
    )
    assert client.post(f"/api/v1/fund/cash-plans/{pid}/submission", headers=nn).json()["status"] == "submitted"
    r = client.post(f"/api/v1/fund/cash-plans/{pid}/requested", json={"requested": {"medical": 1}}, headers=nn)
    assert r.status_code == 409

    # The region returns it once, the city resubmits, the region approves with a cut and a note.
    assert client.post(f"/api/v1/fund/cash-plans/{pid}/return", json={"reason": " "}, headers=gx).status_code == 400
    r = client.post(f"/api/v1/fund/cash-plans/{pid}/return", json={"reason": "请补充伤残津贴测算"}, headers=gx)
    assert r.json()["status"] == "returned"
    assert client.post(f"/api/v1/fund/cash-plans/{pid}/submission", headers=nn).json()["status"] == "submitted"
    assert (
        client.post(f"/api/v1/fund/cash-plans/{pid}/approval", json={"approved_fen": 1}, headers=nn).status_code == 403
    )
    cut = requested - 500_000
    r = client.post(f"/api/v1/fund/cash-plans/{pid}/approval", json={"approved_fen": cut}, headers=gx)
    assert r.status_code == 400 and "审核意见" in r.text
    r = client.post(
        f"/api/v1/fund/cash-plans/{pid}/approval", json={"approved_fen": requested + 1, "note": "x"}, headers=gx
    )
    assert r.status_code == 400 and "不能超过申请金额" in r.text
    r = client.post(
        f"/api/v1/fund/cash-plans/{pid}/approval", json={"approved_fen": cut, "note": "医疗费核减"}, headers=gx
    )
    assert r.status_code == 200 and r.json()["approved_fen"] == cut and r.json()["status"] == "approved"

    # Finance allocates: never more than approved; the entry is posted and shows in the trial balance.
    today = clock.today()
    fund_fiscal(cut)  # premiums enough for it (whatever else the account holds)
    assert (
        client.post(
            f"/api/v1/fund/cash-plans/{pid}/allocation", json={"amount_fen": cut, "on": today.isoformat()}, headers=gx
        ).status_code
        == 403
    )
    r = client.post(
        f"/api/v1/fund/cash-plans/{pid}/allocation", json={"amount_fen": cut + 1, "on": today.isoformat()}, headers=fin
    )
    assert r.status_code == 400 and "超过核定金额" in r.text
    r = client.post(
        f"/api/v1/fund/cash-plans/{pid}/allocation",
        json={"amount_fen": cut, "on": (today + dt.timedelta(days=1)).isoformat()},
        headers=fin,
    )
    assert r.status_code == 400
    city_before, region_before = _trial(today.year, "450100"), _trial(today.year, "450000")
    r = client.post(
        f"/api/v1/fund/cash-plans/{pid}/allocation", json={"amount_fen": cut, "on": today.isoformat()}, headers=fin
    )
    assert r.status_code == 200, r.text
    done = r.json()
    assert done["status"] == "allocated" and done["allocated_fen"] == cut and done["allocated_on"] == today.isoformat()
    assert [h["status"] for h in done["history"]] == [
        "draft",
        "draft",
        "submitted",
        "returned",
        "submitted",
        "approved",
        "allocated",
    ]
    with session_scope() as s:
        e = s.get(Entry, done["entry_id"])
        assert (e.kind, e.status, e.source_type, e.source_id, e.total_fen) == (
            "allocation",
            "posted",
            "cash_plan",
            pid,
            2 * cut,
        )
        assert e.source_ref == f"南宁市 {R.label(year, quarter)}用款计划"
        # (an entry's total is its debits: both cities' legs)
        lines = list(s.scalars(select(EntryLine).where(EntryLine.entry_id == e.id)))
        assert len(lines) == 4 and sum(x.debit_fen for x in lines) == sum(x.credit_fen for x in lines) == 2 * cut
        assert {(x.subject_code, x.city_code, x.debit_fen, x.credit_fen) for x in lines} == {
            ("1002", "450100", cut, 0),
            ("1201", "450100", 0, cut),
            ("1201", "450000", cut, 0),
            ("1001", "450000", 0, cut),
        }
        acts = list(
            s.scalars(
                select(AuditEvent.action).where(
                    AuditEvent.entity_type == "fund_cash_plan", AuditEvent.entity_id == str(pid)
                )
            )
        )
        assert {
            "fund.cashplan.prefill",
            "fund.cashplan.update",
            "fund.cashplan.submit",
            "fund.cashplan.return",
            "fund.cashplan.approve",
            "fund.cashplan.allocate",
        } <= set(acts)
    city_after, region_after = _trial(today.year, "450100"), _trial(today.year, "450000")
    assert _tb(city_after, "1002", "debit_fen") - _tb(city_before, "1002", "debit_fen") == cut
    assert _tb(region_after, "1001", "credit_fen") - _tb(region_before, "1001", "credit_fen") == cut
    r = client.post(
        f"/api/v1/fund/cash-plans/{pid}/allocation", json={"amount_fen": 1, "on": today.isoformat()}, headers=fin
    )
    assert r.status_code == 409  # allocated once

    # Execution: requested, approved, allocated; nothing used yet in that future quarter.
    ex = client.get(f"/api/v1/fund/cash-plans/execution?year={year}&quarter={quarter}", headers=gx).json()["items"]
    row = next(x for x in ex if x["city_code"] == "450100")
    assert (row["requested_fen"], row["approved_fen"], row["allocated_fen"], row["actual_fen"]) == (
        requested,
        cut,
        cut,
        0,
    )
    assert row["remaining_fen"] == cut and row["use_rate"] == "0.0"

    # 桂林 sees none of it.
    assert client.get(f"/api/v1/fund/cash-plans/{pid}", headers=gl).status_code == 404
    assert client.post(f"/api/v1/fund/cash-plans/{pid}/submission", headers=gl).status_code == 404
    assert all(
        x["city_code"] == "450300"
        for x in client.get(f"/api/v1/fund/cash-plans?year={year}", headers=gl).json()["items"]
    )
    ex = client.get(f"/api/v1/fund/cash-plans/execution?year={year}", headers=gl).json()["items"]
    assert all(x["city_code"] == "450300" for x in ex)
    r = client.post(
        "/api/v1/fund/cash-plans", json={"city_code": "450100", "year": year, "quarter": 1 + quarter % 4}, headers=gl
    )
    assert r.status_code == 403


def test_execution_counts_use_net_of_reversals():
    """Actual use is the posted 5001xx expenditure of the city in the quarter's months, reversals netted."""
    from oip.core.db import session_scope
    from oip.fund import cashplans, posting

    today = clock.today()
    year, quarter = R.quarter_of(today)
    with session_scope() as s:
        closed = posting.closed_months(s)
    month = next(
        (p for p in reversed(R.quarter_periods(year, quarter)) if p not in closed and p <= f"{today:%Y-%m}"), None
    )
    assert month, "the current month is open"
    with session_scope() as s:
        before = {r["city_code"]: r for r in cashplans.execution(s, year, quarter, "450300")}
    on = dt.date(int(month[:4]), int(month[5:]), 1)
    post_medical("450302", 70_000, on)
    from oip.core import audit
    from oip.fund import rules

    with session_scope() as s:  # a reversal (退汇) of 20,000 of it
        posting.post(
            s,
            audit.SystemActor(label="test"),
            [
                posting.NewEntry(
                    "reversal_payment",
                    on,
                    "测试：退汇",
                    rules.payment_legs("medical", "450302", 20_000, reversed_=True),
                )
            ],
        )
    with session_scope() as s:
        after = {r["city_code"]: r for r in cashplans.execution(s, year, quarter, "450300")}
    old = before.get("450300", {"actual_fen": 0, "items": []})
    assert after["450300"]["actual_fen"] - old["actual_fen"] == 50_000

    def med(row):
        return next((x["actual_fen"] for x in row["items"] if x["item"] == "medical"), 0)

    assert med(after["450300"]) - med(old) == 50_000


def test_allocation_beyond_the_balance_is_covered_by_the_fund_and_said_so():
    """The occupational-injury money is managed with the work-injury fund (统一收支管理): an allocation
    beyond its own balance in the fiscal special account is not refused; the entry and the plan say how
    much the fund covers."""
    from oip.core.db import session_scope
    from oip.fund import cashplans
    from oip.fund.models import CashPlan, Entry

    year = plan_year()
    with session_scope() as s:
        gx = principal(s, "gx_si")
        plan = cashplans.prefill(s, gx, "450200", year, 1 + R.quarter_of(clock.today())[1] % 4)  # the region, for 柳州
        balance = cashplans.fiscal_balance(s)
        cashplans.update(s, gx, plan.id, {"medical": max(balance, 0) + 1_000_000})
        cashplans.submit(s, gx, plan.id)
        cashplans.approve(s, gx, plan.id, plan.requested_fen)
        pid, amount = plan.id, plan.requested_fen
    with session_scope() as s:
        fin = principal(s, "gx_finance")
        short = R.shortfall(amount, cashplans.fiscal_balance(s))
        cashplans.allocate(s, fin, pid, amount, clock.today())
    with session_scope() as s:
        plan = s.get(CashPlan, pid)
        assert plan.status == "allocated" and plan.allocated_fen == amount and short > 0
        entry = s.get(Entry, plan.entry_id)
        assert entry.note == R.shortfall_note(short) and "由工伤保险基金统一调剂" in plan.note
        # A city officer may not draft for another city, nor the county officer at all.
        from oip.core.errors import Forbidden

        with pytest.raises(Forbidden):
            cashplans.prefill(s, principal(s, "gl_si"), "450200", year, 1)
        with pytest.raises(Forbidden):
            cashplans.prefill(s, principal(s, "qx_si"), "450100", year, 1)
        s.rollback()
