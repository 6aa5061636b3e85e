"""The yearly budget of the occupational-injury money (职业伤害保障资金收支预算), part of the
work-injury insurance fund's budget (seed 二(三)), and its execution (预算执行).

The autonomous region's social insurance centre drafts (``draft``: a version pre-filled from the
ledger's last twelve months and the monthly benefits in payment, each figure with its basis), the
tax bureau records its income forecast (``set_forecast``), the centre submits, the finance
department reviews and approves (批复) or returns it with a reason. An approved budget is adjusted
(预算调整) by a new version copied from it that goes the same way; the approved version with the
highest number is in force. One version of a year at most is in progress at a time.

Every act takes the acting principal, checks permission and data scope, and audits in the caller's
transaction. The state machine and the arithmetic are pure (oip.fund.budget_rules).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from oip.auth import permissions as P
from oip.auth.models import User
from oip.auth.scope import out_of_scope, province_wide
from oip.auth.service import Principal
from oip.benefits.calc import MONTHLY_ITEMS
from oip.benefits.models import MonthlyBenefit, MonthlyRate
from oip.core import audit, clock
from oip.core.audit_models import AuditEvent
from oip.core.errors import Conflict, DomainError, Forbidden, IllegalTransition
from oip.fund import budget_rules as R, posting, rules
from oip.fund.models import Budget, BudgetLine, EntryLine
from oip.premiums.models import Declaration
from oip.reference.models import Region

audit.register_actions(
    {
        "fund.budget.draft": "编制职业伤害保障资金收支预算",
        "fund.budget.line": "修改预算明细",
        "fund.budget.forecast": "税务部门录入保障费收入预测",
        "fund.budget.submit": "报送预算",
        "fund.budget.review": "财政审核预算",
        "fund.budget.approve": "财政批复预算",
        "fund.budget.return": "退回预算",
        "fund.budget.adjust": "发起预算调整",
    }
)

INCOME_SUBJECTS = (rules.PREMIUM_INCOME, rules.INTEREST_INCOME, rules.OTHER_INCOME)
EXPENSE_SUBJECTS = (*rules.ITEM_SUBJECTS.values(), rules.OTHER_EXPENSE)
SUBJECT_ITEM = {code: item for item, code in rules.ITEM_SUBJECTS.items()}


# ---- scope and names -----------------------------------------------------------------------------


def _need(actor: Principal, permission: str, what: str) -> None:
    if not actor.can(permission):
        raise Forbidden(f"您无权{what}")


def _province(actor: Principal, what: str) -> None:
    """Budgets are compiled and approved for the whole region: only province-wide officers act."""
    if not province_wide(actor):
        raise Forbidden(f"{what}由自治区级部门办理")


def city_scope(actor: Principal | None, city: str | None = None) -> str | None:
    """The city whose lines ``actor`` sees: a city officer always its own; a province-wide officer
    the one asked for (None: all)."""
    if actor is None or province_wide(actor):
        return city or None
    return rules.city_of(actor.region_code)


def cities(session: Session) -> list[tuple[str, str]]:
    """Guangxi's cities in force, (code, name)."""
    return [
        (r.code, r.name)
        for r in session.scalars(
            select(Region)
            .where(Region.level == "city", Region.parent_code == rules.PROVINCE, Region.valid_to.is_(None))
            .order_by(Region.code)
        )
    ]


def region_names(session: Session) -> dict[str, str]:
    out = dict(cities(session))
    out[rules.PROVINCE] = "自治区本级"
    return out


def user_names(session: Session, ids) -> dict[int, str]:
    ids = {i for i in ids if i}
    if not ids:
        return {}
    return {u.id: u.display_name or u.username for u in session.scalars(select(User).where(User.id.in_(ids)))}


# ---- reading -------------------------------------------------------------------------------------


def get(session: Session, actor: Principal, budget_id: int, *, for_update: bool = False) -> Budget:
    _need(actor, P.FUND_READ, "查看预算")
    q = select(Budget).where(Budget.id == budget_id)
    if for_update:
        q = q.with_for_update()
    b = session.scalar(q)
    if b is None:
        raise out_of_scope("预算")
    return b


def versions(session: Session, year: int) -> list[Budget]:
    return list(session.scalars(select(Budget).where(Budget.year == year).order_by(Budget.version)))


def list_budgets(session: Session, actor: Principal) -> dict[int, list[Budget]]:
    """Every year's versions, newest year first."""
    _need(actor, P.FUND_READ, "查看预算")
    out: dict[int, list[Budget]] = defaultdict(list)
    for b in session.scalars(select(Budget).order_by(Budget.year.desc(), Budget.version)):
        out[b.year].append(b)
    return dict(out)


def in_force(session: Session, year: int) -> Budget | None:
    """The year's budget in force: the approved version with the highest number."""
    return session.scalar(
        select(Budget).where(Budget.year == year, Budget.status == "approved").order_by(Budget.version.desc()).limit(1)
    )


def lines(session: Session, budget: Budget, actor: Principal | None = None) -> list[BudgetLine]:
    """The budget's lines; a city officer sees its own city's expenditure lines only."""
    q = select(BudgetLine).where(BudgetLine.budget_id == budget.id)
    city = city_scope(actor)
    if city:
        q = q.where(BudgetLine.city_code == city)
    return list(session.scalars(q.order_by(BudgetLine.city_code, BudgetLine.subject_code)))


def as_dict(session: Session, b: Budget, actor: Principal | None = None, *, with_lines: bool = True) -> dict[str, Any]:
    names = user_names(session, [b.made_by, b.reviewed_by, b.approved_by, b.forecast_by])
    out: dict[str, Any] = {
        "id": b.id,
        "year": b.year,
        "version": b.version,
        "basis": b.basis,
        "basis_name": R.BASIS_NAMES.get(b.basis, b.basis),
        "status": b.status,
        "status_name": R.STATUS_NAMES.get(b.status, b.status),
        "income_forecast_fen": b.income_forecast_fen,
        "forecast_by": names.get(b.forecast_by),
        "forecast_note": b.forecast_note,
        "made_by": names.get(b.made_by),
        "made_at": b.made_at.isoformat() if b.made_at else None,
        "submitted_at": b.submitted_at.isoformat() if b.submitted_at else None,
        "reviewed_by": names.get(b.reviewed_by),
        "reviewed_at": b.reviewed_at.isoformat() if b.reviewed_at else None,
        "approved_by": names.get(b.approved_by),
        "approved_at": b.approved_at.isoformat() if b.approved_at else None,
        "note": b.note,
    }
    if with_lines:
        subj = posting.subject_names(session)
        regions = region_names(session)
        ls = lines(session, b, actor)
        out["lines"] = [
            {
                "subject_code": x.subject_code,
                "subject_name": subj.get(x.subject_code, x.subject_code),
                "kind": "income" if x.subject_code in INCOME_SUBJECTS else "expense",
                "city_code": x.city_code,
                "city_name": regions.get(x.city_code, x.city_code),
                "amount_fen": x.amount_fen,
                "basis": x.basis,
            }
            for x in ls
        ]
        out["income_fen"] = sum(x.amount_fen for x in ls if x.subject_code in INCOME_SUBJECTS)
        out["expense_fen"] = sum(x.amount_fen for x in ls if x.subject_code not in INCOME_SUBJECTS)
    return out


def history(session: Session, b: Budget) -> list[dict[str, Any]]:
    """Who did what to this version, oldest first (from the audit log)."""
    rows = session.scalars(
        select(AuditEvent)
        .where(AuditEvent.entity_type == "fund_budget", AuditEvent.entity_id == str(b.id))
        .order_by(AuditEvent.seq)
    )
    names = audit.ACTION_NAMES
    rows = list(rows)
    people = user_names(session, [e.actor_user_id for e in rows])
    out = []
    for e in rows:
        after = e.after or {}
        org = e.actor[e.actor.find("（") :] if "（" in e.actor else ""
        out.append(
            {
                "at": e.at,
                "actor": f"{people[e.actor_user_id]}{org}" if e.actor_user_id in people else e.actor,
                "action": e.action,
                "action_name": names.get(e.action, e.action),
                "detail": after.get("reason") or after.get("note") or after.get("what") or "",
            }
        )
    return out


# ---- the ledger's last twelve months -------------------------------------------------------------


def _ledger_sums(session: Session, months: list[str]) -> dict[tuple[str, str], int]:
    """(subject, city) → the movement on the subject's normal side over ``months`` (posted lines)."""
    if not months:
        return {}
    q = (
        select(
            EntryLine.subject_code,
            EntryLine.city_code,
            func.coalesce(func.sum(EntryLine.debit_fen), 0),
            func.coalesce(func.sum(EntryLine.credit_fen), 0),
        )
        .where(EntryLine.posted, EntryLine.period >= months[0], EntryLine.period <= months[-1])
        .group_by(EntryLine.subject_code, EntryLine.city_code)
    )
    out = {}
    for code, city, d, c in session.execute(q):
        kind = "income" if code.startswith("4") else "expense" if code.startswith("5") else "asset"
        out[(code, city)] = rules.balance(kind, int(d), int(c))
    return out


def _declared(session: Session, months: list[str]) -> int:
    return int(
        session.scalar(
            select(func.coalesce(func.sum(Declaration.total_fen), 0)).where(
                Declaration.month >= months[0], Declaration.month <= months[-1]
            )
        )
        or 0
    )


def _monthly_schedules(session: Session, month: dt.date) -> dict[tuple[str, str], tuple[int, int]]:
    """(expenditure subject, city) → (monthly benefits active, their rates in force in ``month``)."""
    mbs = list(session.scalars(select(MonthlyBenefit).where(MonthlyBenefit.status == "active")))
    if not mbs:
        return {}
    rates: dict[int, list[MonthlyRate]] = defaultdict(list)
    for r in session.scalars(
        select(MonthlyRate).where(MonthlyRate.monthly_id.in_([m.id for m in mbs])).order_by(MonthlyRate.from_month)
    ):
        rates[r.monthly_id].append(r)
    out: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    for mb in mbs:
        rs = [r for r in rates[mb.id] if r.from_month <= month] or rates[mb.id][:1]
        if not rs:
            continue
        key = (rules.ITEM_SUBJECTS.get(mb.item, rules.OTHER_EXPENSE), rules.city_of(mb.region_code))
        out[key][0] += 1
        out[key][1] += rs[-1].amount_fen
    return {k: (v[0], v[1]) for k, v in out.items()}


def prefill(session: Session, today: dt.date) -> list[dict[str, Any]]:
    """The lines a new budget starts with: (subject, city, amount_fen, basis)."""
    months = R.last_months(today)
    ledger = _ledger_sums(session, months)
    out = []
    prem = sum(v for (code, _), v in ledger.items() if code == rules.PREMIUM_INCOME)
    amount, basis = R.premium_prefill(prem, _declared(session, months) if prem <= 0 else 0, months)
    out.append(
        {"subject_code": rules.PREMIUM_INCOME, "city_code": rules.PROVINCE, "amount_fen": amount, "basis": basis}
    )
    interest = sum(v for (code, _), v in ledger.items() if code == rules.INTEREST_INCOME)
    amount, basis = R.interest_prefill(interest, months)
    out.append(
        {"subject_code": rules.INTEREST_INCOME, "city_code": rules.PROVINCE, "amount_fen": amount, "basis": basis}
    )
    schedules = _monthly_schedules(session, dt.date(today.year, today.month, 1))
    keys = {(c, city) for (c, city) in ledger if c in EXPENSE_SUBJECTS} | set(schedules)
    for code, city in sorted(keys, key=lambda k: (k[1], k[0])):
        if city == rules.PROVINCE:
            continue
        n, rate_fen = schedules.get((code, city), (0, 0))
        if SUBJECT_ITEM.get(code) not in MONTHLY_ITEMS:
            n, rate_fen = 0, 0
        amount, basis = R.expense_prefill(max(ledger.get((code, city), 0), 0), n, rate_fen, months)
        if amount > 0:
            out.append({"subject_code": code, "city_code": city, "amount_fen": amount, "basis": basis})
    return out


# ---- acts ----------------------------------------------------------------------------------------


def _in_progress(session: Session, year: int) -> Budget | None:
    return session.scalar(select(Budget).where(Budget.year == year, Budget.status.in_(R.IN_PROGRESS)).limit(1))


def _lock_year(session: Session, year: int) -> None:
    session.execute(select(func.pg_advisory_xact_lock(0x0F0DB0, year)))


def _check(act: str, b: Budget) -> None:
    why = R.why_not(act, b.status)
    if why:
        raise IllegalTransition(why)


def _snapshot(b: Budget) -> dict[str, Any]:
    return {"year": b.year, "version": b.version, "status": b.status}


def draft(session: Session, actor: Principal, year: int, *, note: str = "") -> Budget:
    """A new version of ``year``'s budget, pre-filled; the first is the original budget."""
    _need(actor, P.FUND_BUDGET, "编制预算")
    _province(actor, "预算编制")
    today = clock.today()
    if not isinstance(year, int) or not (today.year - 1 <= year <= today.year + 5):
        raise DomainError(f"预算年度应在 {today.year - 1} 至 {today.year + 5} 年之间", field="year")
    _lock_year(session, year)
    busy = _in_progress(session, year)
    if busy:
        raise Conflict(f"{year} 年预算第 {busy.version} 版尚在办理中（{R.STATUS_NAMES[busy.status]}），不能另起一版")
    existing = versions(session, year)
    if any(v.status == "approved" for v in existing):
        raise Conflict(f"{year} 年预算已批复，如需变动请发起预算调整")
    b = Budget(
        year=year,
        version=max((v.version for v in existing), default=0) + 1,
        basis="original",
        status="draft",
        made_by=actor.user_id,
        made_at=clock.now(),
        note=note.strip(),
    )
    session.add(b)
    session.flush()
    for x in prefill(session, today):
        session.add(BudgetLine(budget_id=b.id, **x))
    session.flush()
    audit.record(session, actor, "fund.budget.draft", entity_type="fund_budget", entity_id=b.id, after=_snapshot(b))
    return b


def _valid_line(session: Session, subject_code: str, city_code: str) -> None:
    if subject_code in INCOME_SUBJECTS:
        if city_code != rules.PROVINCE:
            raise DomainError("收入预算列在自治区本级（450000）", field="city_code")
    elif subject_code in EXPENSE_SUBJECTS:
        if city_code not in dict(cities(session)):
            raise DomainError("支出预算须选择设区市", field="city_code")
    else:
        raise DomainError("预算科目应为职业伤害保障收入或支出的明细科目", field="subject_code")


def set_line(
    session: Session,
    actor: Principal,
    budget_id: int,
    subject_code: str,
    city_code: str,
    amount_fen: int,
    basis: str = "",
) -> BudgetLine:
    _need(actor, P.FUND_BUDGET, "修改预算")
    _province(actor, "预算编制")
    b = get(session, actor, budget_id, for_update=True)
    _check("edit", b)
    _valid_line(session, subject_code, city_code)
    if not isinstance(amount_fen, int) or amount_fen < 0:
        raise DomainError("金额不能为负数", field="amount")
    line = session.scalar(
        select(BudgetLine).where(
            BudgetLine.budget_id == b.id, BudgetLine.subject_code == subject_code, BudgetLine.city_code == city_code
        )
    )
    before = {"amount_fen": line.amount_fen, "basis": line.basis} if line else None
    basis = (basis or "").strip()
    if line is None:
        line = BudgetLine(
            budget_id=b.id, subject_code=subject_code, city_code=city_code, amount_fen=amount_fen, basis=basis
        )
        session.add(line)
    else:
        line.amount_fen = amount_fen
        if basis:
            line.basis = basis
    session.flush()
    audit.record(
        session,
        actor,
        "fund.budget.line",
        entity_type="fund_budget",
        entity_id=b.id,
        before=before,
        after={
            "subject_code": subject_code,
            "city_code": city_code,
            "amount_fen": amount_fen,
            "basis": line.basis,
            "what": f"{region_names(session).get(city_code, city_code)} "
            f"{posting.subject_names(session).get(subject_code, subject_code)} {R.yuan(amount_fen)} 元",
        },
    )
    return line


def set_forecast(session: Session, actor: Principal, budget_id: int, amount_fen: int, note: str = "") -> Budget:
    """The tax bureau's forecast of the premium income for the year (税务部门收入预测)."""
    _need(actor, P.FUND_FORECAST, "录入收入预测")
    _province(actor, "收入预测")
    b = get(session, actor, budget_id, for_update=True)
    _check("forecast", b)
    if not isinstance(amount_fen, int) or amount_fen < 0:
        raise DomainError("收入预测金额不能为负数", field="amount")
    before = {"income_forecast_fen": b.income_forecast_fen, "forecast_note": b.forecast_note}
    b.income_forecast_fen, b.forecast_by, b.forecast_note = amount_fen, actor.user_id, (note or "").strip()
    session.flush()
    audit.record(
        session,
        actor,
        "fund.budget.forecast",
        entity_type="fund_budget",
        entity_id=b.id,
        before=before,
        after={"income_forecast_fen": amount_fen, "note": b.forecast_note},
    )
    return b


def submit(session: Session, actor: Principal, budget_id: int) -> Budget:
    _need(actor, P.FUND_BUDGET, "报送预算")
    _province(actor, "预算报送")
    b = get(session, actor, budget_id, for_update=True)
    _check("submit", b)
    if b.income_forecast_fen is None:
        raise DomainError("须先由税务部门录入保障费收入预测，才能报送", field="forecast")
    before = _snapshot(b)
    b.status, b.submitted_at = R.next_status("submit", b.status), clock.now()
    session.flush()
    audit.record(
        session,
        actor,
        "fund.budget.submit",
        entity_type="fund_budget",
        entity_id=b.id,
        before=before,
        after=_snapshot(b),
    )
    return b


def review(session: Session, actor: Principal, budget_id: int, note: str = "") -> Budget:
    _need(actor, P.FUND_BUDGET_REVIEW, "审核预算")
    _province(actor, "预算审核")
    b = get(session, actor, budget_id, for_update=True)
    _check("review", b)
    before = _snapshot(b)
    b.status, b.reviewed_by, b.reviewed_at = R.next_status("review", b.status), actor.user_id, clock.now()
    session.flush()
    audit.record(
        session,
        actor,
        "fund.budget.review",
        entity_type="fund_budget",
        entity_id=b.id,
        before=before,
        after={**_snapshot(b), "note": (note or "").strip()},
    )
    return b


def approve(session: Session, actor: Principal, budget_id: int, note: str = "") -> Budget:
    """批复: the version becomes the one in force."""
    _need(actor, P.FUND_BUDGET_REVIEW, "批复预算")
    _province(actor, "预算批复")
    b = get(session, actor, budget_id, for_update=True)
    _check("approve", b)
    before = _snapshot(b)
    b.status, b.approved_by, b.approved_at = R.next_status("approve", b.status), actor.user_id, clock.now()
    session.flush()
    audit.record(
        session,
        actor,
        "fund.budget.approve",
        entity_type="fund_budget",
        entity_id=b.id,
        before=before,
        after={**_snapshot(b), "note": (note or "").strip()},
    )
    return b


def return_(session: Session, actor: Principal, budget_id: int, reason: str) -> Budget:
    _need(actor, P.FUND_BUDGET_REVIEW, "退回预算")
    _province(actor, "预算审核")
    reason = (reason or "").strip()
    if not reason:
        raise DomainError("请填写退回原因", field="reason")
    b = get(session, actor, budget_id, for_update=True)
    _check("return", b)
    before = _snapshot(b)
    b.status, b.reviewed_by, b.reviewed_at = R.next_status("return", b.status), None, None
    b.submitted_at = None
    session.flush()
    audit.record(
        session,
        actor,
        "fund.budget.return",
        entity_type="fund_budget",
        entity_id=b.id,
        before=before,
        after={**_snapshot(b), "reason": reason},
    )
    return b


def adjust(session: Session, actor: Principal, budget_id: int, *, note: str = "") -> Budget:
    """预算调整: a new version copied from the approved version in force."""
    _need(actor, P.FUND_BUDGET, "调整预算")
    _province(actor, "预算调整")
    b = get(session, actor, budget_id)
    _check("adjust", b)
    _lock_year(session, b.year)
    current = in_force(session, b.year)
    if current is None or current.id != b.id:
        raise Conflict(f"只能在现行预算（第 {current.version if current else '—'} 版）的基础上调整")
    busy = _in_progress(session, b.year)
    if busy:
        raise Conflict(f"{b.year} 年预算第 {busy.version} 版尚在办理中（{R.STATUS_NAMES[busy.status]}），不能另起一版")
    new = Budget(
        year=b.year,
        version=max(v.version for v in versions(session, b.year)) + 1,
        basis="adjustment",
        status="draft",
        income_forecast_fen=b.income_forecast_fen,
        forecast_by=b.forecast_by,
        forecast_note=b.forecast_note,
        made_by=actor.user_id,
        made_at=clock.now(),
        note=(note or "").strip(),
    )
    session.add(new)
    session.flush()
    for x in lines(session, b):
        session.add(
            BudgetLine(
                budget_id=new.id,
                subject_code=x.subject_code,
                city_code=x.city_code,
                amount_fen=x.amount_fen,
                basis=x.basis,
            )
        )
    session.flush()
    audit.record(
        session,
        actor,
        "fund.budget.adjust",
        entity_type="fund_budget",
        entity_id=new.id,
        after={**_snapshot(new), "from_version": b.version, "note": new.note},
    )
    return new


# ---- execution -----------------------------------------------------------------------------------


def _actuals(session: Session, year: int, city: str | None) -> dict[tuple[str, str], list[int]]:
    """(subject, city) → 12 monthly movements (income: credit − debit, expenditure: debit − credit)."""
    months = R.months_of(year)
    q = (
        select(
            EntryLine.subject_code,
            EntryLine.city_code,
            EntryLine.period,
            func.coalesce(func.sum(EntryLine.debit_fen), 0),
            func.coalesce(func.sum(EntryLine.credit_fen), 0),
        )
        .where(
            EntryLine.posted,
            EntryLine.period >= months[0],
            EntryLine.period <= months[-1],
            EntryLine.subject_code.in_((*INCOME_SUBJECTS, *EXPENSE_SUBJECTS)),
        )
        .group_by(EntryLine.subject_code, EntryLine.city_code, EntryLine.period)
    )
    if city:
        q = q.where(EntryLine.city_code == city)
    out: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0] * 12)
    for code, c, period, d, cr in session.execute(q):
        kind = "income" if code in INCOME_SUBJECTS else "expense"
        out[(code, c)][int(period[5:7]) - 1] += rules.balance(kind, int(d), int(cr))
    return out


def execution(session: Session, year: int, city: str | None = None, *, actor: Principal | None = None) -> dict:
    """The year's budget in force against the ledger: per subject and city, the budget, the actual
    of each month, the cumulative actual and the execution rate; with the time progress of the
    year. ``actor`` (when given) limits a city officer to its own city's expenditure."""
    if actor is not None:
        _need(actor, P.FUND_READ, "查看预算执行")
    city = city_scope(actor, city)
    b = in_force(session, year)
    budgeted: dict[tuple[str, str], int] = {}
    if b is not None:
        for x in session.scalars(select(BudgetLine).where(BudgetLine.budget_id == b.id)):
            if city is None or x.city_code == city:
                budgeted[(x.subject_code, x.city_code)] = x.amount_fen
    actual = _actuals(session, year, city)
    subj = posting.subject_names(session)
    regions = region_names(session)
    order = {code: i for i, code in enumerate((*INCOME_SUBJECTS, *EXPENSE_SUBJECTS))}
    rows = []
    for code, c in sorted(set(budgeted) | set(actual), key=lambda k: (k[0] not in INCOME_SUBJECTS, k[1], order[k[0]])):
        months = actual.get((code, c), [0] * 12)
        bud = budgeted.get((code, c), 0)
        total = sum(months)
        rate = R.rate(total, bud)
        rows.append(
            {
                "subject_code": code,
                "subject_name": subj.get(code, code),
                "kind": "income" if code in INCOME_SUBJECTS else "expense",
                "city_code": c,
                "city_name": regions.get(c, c),
                "budget_fen": bud,
                "months": months,
                "actual_fen": total,
                "rate": str(rate) if rate is not None else None,
            }
        )
    totals = {}
    for kind in ("income", "expense"):
        rs = [r for r in rows if r["kind"] == kind]
        bud, act = sum(r["budget_fen"] for r in rs), sum(r["actual_fen"] for r in rs)
        rate = R.rate(act, bud)
        totals[kind] = {
            "budget_fen": bud,
            "actual_fen": act,
            "months": [sum(r["months"][i] for r in rs) for i in range(12)],
            "rate": str(rate) if rate is not None else None,
        }
    return {
        "year": year,
        "city": city,
        "city_name": regions.get(city, city) if city else None,
        "budget": {"id": b.id, "version": b.version, "basis": b.basis} if b else None,
        "time_progress": str(R.time_progress(year, clock.today())),
        "rows": rows,
        "totals": totals,
    }
