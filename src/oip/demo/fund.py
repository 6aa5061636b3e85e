"""The demo's fund (基金): the books of the demo's money, kept through the services officers use,
each act on the past day it happened (``demo.timeline``).

- **the ledger**: every premium the tax bureau returned and every benefit the bank paid or returned
  (domain events of the premiums and payments demos) is booked by the posting run; one manual
  reclassification (a meal subsidy booked as medical costs) made by ``gx_si`` and checked by
  ``gx_si_check``, and one more waiting for its check; interest apportioned at each past quarter's
  settlement day (the 21st of its last month) when the occupational-injury money had a balance;
- **the budget** of the current year: drafted by the social insurance centre in January (income at
  the platforms' monthly declarations, expenditure per item and city in round figures), the tax
  bureau's income forecast, reviewed and approved by finance; a mid-year adjustment (version 2) for
  the two deaths the January budget did not foresee, submitted and waiting for finance's review;
- **quarterly cash-use plans** in several states: 南宁's plans of the last and the current quarter
  allocated on each quarter's first day; 桂林's last quarter approved and waiting for the allocation; 桂林's current quarter
  returned once (with a reason), corrected and submitted again; 南宁's next quarter a draft;
- **supervision**: a self-check campaign of 南宁 and 桂林 with a finding rectified and closed, and a
  major-situation report (要情报告) acknowledged;
- **period close** (only in the full demo, not the tests' small province): every month before the
  current one is closed, so the books of past months are final.

The occupational-injury money of the demo runs a deficit: its three months of orders bring little
premium while its cases are paid at real size; inside the work-injury fund (统一收支管理) that is
allowed, and the statements show it.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from oip.core import audit, clock
from oip.core.errors import DomainError
from oip.demo.benefits import _principal
from oip.demo.timeline import at, moment
from oip.fund import budget, cashplans, interest, journal, posting, rules, supervision
from oip.fund.models import CampaignTask, EntryLine, Finding, Period
from oip.premiums.models import Declaration

NANNING, GUILIN = "450100", "450300"


def _quarter_first(year: int, q: int) -> dt.date:
    return dt.date(year, 3 * (q - 1) + 1, 1)


def _prev_quarter(year: int, q: int) -> tuple[int, int]:
    return (year, q - 1) if q > 1 else (year - 1, 4)


def _next_quarter(year: int, q: int) -> tuple[int, int]:
    return (year, q + 1) if q < 4 else (year + 1, 1)


def _plan(session: Session, city: str, year: int, q: int, maker: str, floor_fen: int):
    """A plan filled in a fortnight before its quarter. When the system's forecast is below what the
    quarter needed (the demo knows: what its cases were paid, item by item, plus 10 %), the city asks
    for that — at least ``floor_fen``."""
    day = _quarter_first(year, q) - dt.timedelta(days=14)
    need = {item: -(-fen * 11 // 10 // 100_000) * 100_000 for item, fen in _spent(session, city, year, q).items()}
    if sum(need.values()) < floor_fen:
        need["medical"] = need.get("medical", 0) + floor_fen - sum(need.values())
    with at(moment(day, 10)):
        plan = cashplans.prefill(session, _principal(session, maker), city, year, q)
        if plan.forecast_fen < sum(need.values()):
            cashplans.update(
                session, _principal(session, maker), plan.id, need, note="（演示）按在办案件、定期待遇和近期支出测算"
            )
    return plan, day


def _spent(session: Session, city: str, year: int, q: int) -> dict[str, int]:
    """What the city paid in a quarter per benefit item (posted expenditure, net of returns)."""
    months = [f"{year:04d}-{m:02d}" for m in range(3 * q - 2, 3 * q + 1)]
    items = {code: item for item, code in rules.ITEM_SUBJECTS.items()}
    rows = session.execute(
        select(EntryLine.subject_code, func.sum(EntryLine.debit_fen - EntryLine.credit_fen))
        .where(
            EntryLine.posted,
            EntryLine.subject_code.in_(list(items)),
            EntryLine.city_code == city,
            EntryLine.period.in_(months),
        )
        .group_by(EntryLine.subject_code)
    )
    return {items[code]: int(fen) for code, fen in rows if fen and fen > 0}


def _cash_plans(session: Session, today: dt.date) -> dict:
    year, q_now = today.year, (today.month - 1) // 3 + 1
    states: dict[str, str] = {}
    region, finance = "gx_si", "gx_finance"
    # 南宁: last quarter's and this quarter's plans, each allocated on the quarter's first day, large
    # enough for what the quarter paid (the demo knows; a city knows its pipeline).
    for y, q in (_prev_quarter(year, q_now), (year, q_now)):
        plan, day = _plan(session, NANNING, y, q, "nn_si", 60_000_000)
        with at(moment(day + dt.timedelta(days=1), 9)):
            cashplans.submit(session, _principal(session, "nn_si"), plan.id)
        with at(moment(day + dt.timedelta(days=5), 15)):
            cashplans.approve(
                session, _principal(session, region), plan.id, plan.requested_fen, note="（演示）审核同意"
            )
        on = _quarter_first(y, q)
        with at(moment(on, 10)):
            cashplans.allocate(session, _principal(session, finance), plan.id, plan.requested_fen, on)
        states[f"{NANNING} {y}Q{q}"] = "allocated"
    # 桂林: last quarter approved, awaiting the allocation.
    py, pq = _prev_quarter(year, q_now)
    plan, day = _plan(session, GUILIN, py, pq, "gl_si", 20_000_000)
    with at(moment(day + dt.timedelta(days=1), 9)):
        cashplans.submit(session, _principal(session, "gl_si"), plan.id)
    with at(moment(day + dt.timedelta(days=6), 16)):
        cashplans.approve(session, _principal(session, region), plan.id, plan.requested_fen, note="（演示）审核同意")
    states[f"{GUILIN} {py}Q{pq}"] = "approved"
    # 桂林: this quarter returned once, corrected, submitted again.
    plan, day = _plan(session, GUILIN, year, q_now, "gl_si", 24_000_000)
    with at(moment(day + dt.timedelta(days=1), 9)):
        cashplans.submit(session, _principal(session, "gl_si"), plan.id)
    with at(moment(day + dt.timedelta(days=3), 11)):
        cashplans.return_(
            session, _principal(session, region), plan.id, "医疗费预测偏高，请按近两个季度实际支出重新测算"
        )
    with at(moment(day + dt.timedelta(days=4), 10)):
        cashplans.update(
            session,
            _principal(session, "gl_si"),
            plan.id,
            {"medical": 8_000_000, "disability_monthly": 12_000_000},
            note="（演示）按近两个季度实际支出重新测算",
        )
        cashplans.submit(session, _principal(session, "gl_si"), plan.id)
    states[f"{GUILIN} {year}Q{q_now}"] = "submitted"
    # 南宁: next quarter's draft.
    ny, nq = _next_quarter(year, q_now)
    with at(moment(today, 9)):
        cashplans.prefill(session, _principal(session, "nn_si"), NANNING, ny, nq)
    states[f"{NANNING} {ny}Q{nq}"] = "draft"
    return states


def _round_up(fen: int, unit: int = 1_000_000) -> int:
    """Up to whole ``unit`` fen (10,000 yuan by default): budgets are planned in round figures."""
    return -(-fen // unit) * unit


def _year_spent(session: Session, year: int) -> dict[tuple[str, str], int]:
    """The year's expenditure per sub-subject and city in the ledger (the demo knows its own year)."""
    rows = session.execute(
        select(EntryLine.subject_code, EntryLine.city_code, func.sum(EntryLine.debit_fen - EntryLine.credit_fen))
        .where(
            EntryLine.posted,
            EntryLine.subject_code.in_(list(rules.ITEM_SUBJECTS.values())),
            EntryLine.period.like(f"{year:04d}-%"),
        )
        .group_by(EntryLine.subject_code, EntryLine.city_code)
    )
    return {(code, city): int(fen) for code, city, fen in rows if fen and fen > 0}


def _budget(session: Session, today: dt.date) -> dict:
    """The year's budget as drafted in January: income from the platforms' declarations at the year's
    monthly rate (the tax bureau's forecast), expenditure per item and city in round figures (the
    demo's cases are what the year paid); a mid-year adjustment raises what ran over."""
    year = today.year
    jan = dt.date(year, 1, 1)
    declared = session.execute(
        select(func.sum(Declaration.total_fen), func.count(func.distinct(Declaration.month)))
    ).one()
    income = _round_up(12 * int(declared[0] or 0) // max(int(declared[1] or 0), 1) or 1_200_000_00)
    spent = _year_spent(session, year)
    with at(moment(jan + dt.timedelta(days=9), 10)):
        si = _principal(session, "gx_si")
        b = budget.draft(session, si, year, note="（演示）年度职业伤害保障资金收支预算")
        for (code, city), fen in spent.items():
            if code != rules.ITEM_SUBJECTS["death_once"] and code != rules.ITEM_SUBJECTS["death_once_advance"]:
                budget.set_line(
                    session, si, b.id, code, city, _round_up(fen * 12 // 10), basis="（演示）按在册待遇与近年案件测算"
                )
    with at(moment(jan + dt.timedelta(days=12), 15)):
        budget.set_forecast(
            session, _principal(session, "gx_tax"), b.id, income, note="（演示）按试点平台企业月度申报额测算"
        )
    with at(moment(jan + dt.timedelta(days=13), 9)):
        budget.set_line(session, _principal(session, "gx_si"), b.id, rules.PREMIUM_INCOME, rules.PROVINCE, income)
        budget.submit(session, _principal(session, "gx_si"), b.id)
    with at(moment(jan + dt.timedelta(days=20), 10)):
        budget.review(session, _principal(session, "gx_finance"), b.id, note="（演示）审核通过")
    with at(moment(jan + dt.timedelta(days=40), 10)):
        budget.approve(
            session, _principal(session, "gx_finance"), b.id, note="（演示）经自治区人民政府审核、人大批准后批复"
        )
    out = {"year": year, "approved_version": b.version}
    if today.month >= 7:
        # Two deaths (工亡 and 下落不明) were not in the January budget: the adjustment adds them.
        with at(moment(today - dt.timedelta(days=3), 10)):
            si = _principal(session, "gx_si")
            adj = budget.adjust(session, si, b.id, note="（演示）新增工亡、失踪案件一次性待遇，调整支出预算")
            for (code, city), fen in spent.items():
                budget.set_line(
                    session, si, adj.id, code, city, _round_up(fen * 11 // 10), basis="（演示）按已发生支出调整"
                )
            budget.submit(session, si, adj.id)
        out["adjustment_version"] = adj.version
    return out


def _interest(session: Session, today: dt.date) -> int:
    """The fund's interest at each past quarterly settlement day (the 21st of the quarter's last
    month); the occupational-injury share is booked only while its money had a balance (a nil share
    is refused by the service, and then nothing is recorded)."""
    made = 0
    for q in range(1, 5):
        day = dt.date(today.year, 3 * q, 21)
        if day >= today:
            break
        sp = session.begin_nested()
        try:
            with at(moment(day, 11)):
                interest.record(
                    session,
                    _principal(session, "gx_si"),
                    month=f"{day:%Y-%m}",
                    received_on=day,
                    bank_ref=f"DEMO-LX-{day:%Y%m%d}",
                    fund_interest_fen=1_280_000_00,
                    fund_balance_fen=9_600_000_000_00,
                )
        except DomainError:
            sp.rollback()
            continue
        sp.commit()
        made += 1
    return made


def _manual(session: Session, today: dt.date) -> dict:
    """A reclassification (posted) and one more awaiting its check, in 南宁's books."""
    out = {}
    spent = session.scalar(
        select(func.coalesce(func.sum(EntryLine.debit_fen - EntryLine.credit_fen), 0)).where(
            EntryLine.posted, EntryLine.subject_code == rules.ITEM_SUBJECTS["medical"], EntryLine.city_code == NANNING
        )
    )
    if spent and spent > 20_000:
        legs = [
            rules.Leg(rules.ITEM_SUBJECTS["meal_subsidy"], NANNING, debit=15_000),
            rules.Leg(rules.ITEM_SUBJECTS["medical"], NANNING, credit=15_000),
        ]
        with at(moment(today - dt.timedelta(days=2), 10)):
            e = journal.draft(
                session,
                _principal(session, "gx_si"),
                entry_date=today - dt.timedelta(days=2),
                summary="（演示）调整科目：住院伙食补助费误记为医疗费",
                legs=legs,
            )
            journal.submit(session, _principal(session, "gx_si"), e.id)
        with at(moment(today - dt.timedelta(days=2), 15)):
            journal.approve(session, _principal(session, "gx_si_check"), e.id)
        out["posted"] = 1
        with at(moment(today, 9)):
            w = journal.draft(
                session,
                _principal(session, "gx_si"),
                entry_date=today,
                summary="（演示）银行手续费",
                legs=[
                    rules.Leg(rules.OTHER_EXPENSE, NANNING, debit=2_000),
                    rules.Leg(rules.EXPENDITURE_ACCOUNT, NANNING, credit=2_000),
                ],
            )
            journal.submit(session, _principal(session, "gx_si"), w.id)
        out["awaiting_check"] = 1
    return out


def _supervision(session: Session, today: dt.date) -> dict:
    start = today - dt.timedelta(days=40)
    with at(moment(start, 10)):
        c = supervision.open_campaign(
            session,
            _principal(session, "gx_si"),
            kind="self_check",
            title=f"{today.year}年职业伤害保障基金风险自查",
            due_on=start + dt.timedelta(days=30),
            cities=[NANNING, GUILIN],
            scope_note="（演示）待遇核定、支付与账户变更",
        )
    tasks = {t.city_code: t for t in session.scalars(select(CampaignTask).where(CampaignTask.campaign_id == c.id))}
    with at(moment(start + dt.timedelta(days=12), 16)):
        supervision.report_task(
            session,
            _principal(session, "nn_si"),
            tasks[NANNING].id,
            report="（演示）抽查本季度待遇核定案卷 30 件、支付批次 6 个",
            findings=[
                {
                    "description": "1 笔收款账户变更未留存申请人书面申请",
                    "severity": "medium",
                    "amount_fen": 0,
                    "rectify_by": start + dt.timedelta(days=27),
                }
            ],
        )
    finding = session.scalar(select(Finding).where(Finding.task_id == tasks[NANNING].id))
    with at(moment(start + dt.timedelta(days=18), 10)):
        supervision.rectify(
            session, _principal(session, "nn_si"), finding.id, "（演示）已补齐书面申请并建立变更复核台账"
        )
    with at(moment(start + dt.timedelta(days=20), 10)):
        supervision.close_finding(session, _principal(session, "gx_si"), finding.id)
    occurred = today - dt.timedelta(days=6)
    with at(moment(occurred, 20)):
        r = supervision.report_major(
            session,
            _principal(session, "nn_si"),
            category="fraud",
            title="（演示）疑似冒用他人身份申报职业伤害",
            content="（演示）受理时发现申请材料中的身份证明与平台登记信息不一致，已暂停受理并报告",
            occurred_at=moment(occurred, 14),
        )
    with at(moment(occurred + dt.timedelta(days=1), 9)):
        supervision.acknowledge(session, _principal(session, "gx_si"), r.id)
    return {"campaigns": 1, "findings": 1, "major_reports": 1}


def _close(session: Session, today: dt.date) -> list[str]:
    first = session.scalar(select(func.min(Period.month)))
    if first is None:
        return []
    closed, month = [], first
    this = rules.month_of(today)
    while month < this:
        posting.close_period(session, _principal(session, "gx_si"), month)
        closed.append(month)
        month = rules.next_month(month)
    return closed


def generate(session: Session, *, full: bool) -> dict:
    """The demo's fund (module docstring). Returns what was made."""
    today = clock.today()
    out: dict = {}
    out["posted"] = posting.post_pending(session, audit.SYSTEM).as_dict()
    out["budget"] = _budget(session, today)
    out["cash_plans"] = _cash_plans(session, today)
    out["interest_vouchers"] = _interest(session, today)
    out["manual_entries"] = _manual(session, today)
    out["supervision"] = _supervision(session, today)
    if full:
        out["closed_periods"] = len(_close(session, today))
    session.flush()
    return out
