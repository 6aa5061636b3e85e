"""The year's statements and final accounts (决算) of the occupational-injury money, from the ledger.

``statements(session, year)`` draws, from the posted lines up to the end of ``year``:

- 收支表 (income and expenditure statement): income by subject (4001, 4002, 4009), expenditure by
  benefit-item sub-subject and 5009, the year's surplus (本年收支结余), the balance brought forward
  (上年结余: earlier years' income − expenditure and the fund balance subject 3001), and the
  balance carried at year end (年末滚存结余); expenditure also by city;
- 资产负债表 (balance sheet): assets (1001 at the region, 1002 per city, 1101, 1201 — which nets to
  nil across the province), liabilities (2101) and the fund balance (the year-end balance). Since
  every posted entry balances, assets = liabilities + fund balance; ``balanced`` says whether it does.

``draw`` keeps the statements of a year whose twelve months are all closed as its final accounts
(draft, redrawn while draft), ``submit`` sends them to finance, finance ``approve``s them.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from oip.auth import permissions as P
from oip.auth.scope import out_of_scope, province_wide
from oip.auth.service import Principal
from oip.core import audit, clock
from oip.core.errors import Conflict, DomainError, Forbidden, IllegalTransition
from oip.fund import budget_rules as R, posting, rules
from oip.fund.budget import region_names
from oip.fund.models import EntryLine, FinalAccount, Period, Subject

audit.register_actions(
    {
        "fund.final.draw": "编制年度决算",
        "fund.final.submit": "报送年度决算",
        "fund.final.approve": "财政审批年度决算",
    }
)
audit.register_entity_names("fund_budget", "职业伤害保障资金预算")
audit.register_entity_names("fund_final_account", "职业伤害保障资金决算")

INCOME_ORDER = (rules.PREMIUM_INCOME, rules.INTEREST_INCOME, rules.OTHER_INCOME)
EXPENSE_ORDER = (*rules.ITEM_SUBJECTS.values(), rules.OTHER_EXPENSE)
ASSET_ORDER = (rules.FISCAL, rules.EXPENDITURE_ACCOUNT, rules.RECEIVABLE, rules.INTERUNIT)
CHART_KINDS = {s.code: s.kind for s in rules.CHART}


def _kinds(session: Session) -> dict[str, str]:
    out = dict(CHART_KINDS)
    for s in session.scalars(select(Subject).order_by(Subject.valid_from)):
        out[s.code] = s.kind
    return out


def _ordered(codes, first: tuple[str, ...]) -> list[str]:
    rest = sorted(c for c in codes if c not in first)
    return [*first, *rest]


def statements(session: Session, year: int) -> dict[str, Any]:
    """The income-and-expenditure statement and the balance sheet of ``year`` (JSON-ready: fen)."""
    start, end = f"{year:04d}-01", f"{year:04d}-12"
    in_year = EntryLine.period >= start
    q = (
        select(
            EntryLine.subject_code,
            EntryLine.city_code,
            func.coalesce(func.sum(EntryLine.debit_fen - EntryLine.credit_fen).filter(in_year), 0),
            func.coalesce(func.sum(EntryLine.debit_fen - EntryLine.credit_fen).filter(~in_year), 0),
        )
        .where(EntryLine.posted, EntryLine.period <= end)
        .group_by(EntryLine.subject_code, EntryLine.city_code)
    )
    kinds = _kinds(session)
    names = posting.subject_names(session)
    for s in rules.CHART:
        names.setdefault(s.code, s.name)
    regions = region_names(session)
    # net debit (debit − credit) per subject and city: of the year, and of the years before
    year_net: dict[tuple[str, str], int] = defaultdict(int)
    before_net: dict[tuple[str, str], int] = defaultdict(int)
    for code, city, y, b in session.execute(q):
        year_net[(code, city)] += int(y)
        before_net[(code, city)] += int(b)

    def by_subject(net: dict[tuple[str, str], int]) -> dict[str, int]:
        out: dict[str, int] = defaultdict(int)
        for (code, _), v in net.items():
            out[code] += v
        return out

    y_sub, b_sub = by_subject(year_net), by_subject(before_net)
    income_codes = {c for c in set(y_sub) | set(b_sub) if kinds.get(c) == "income"}
    expense_codes = {c for c in set(y_sub) | set(b_sub) if kinds.get(c) == "expense"}

    income = [
        {"code": c, "name": names.get(c, c), "amount_fen": -y_sub.get(c, 0)}
        for c in _ordered(income_codes, INCOME_ORDER)
    ]
    expenditure = [
        {"code": c, "name": names.get(c, c), "amount_fen": y_sub.get(c, 0)}
        for c in _ordered(expense_codes, EXPENSE_ORDER)
    ]
    income_total = sum(x["amount_fen"] for x in income)
    expense_total = sum(x["amount_fen"] for x in expenditure)
    surplus = income_total - expense_total
    # Brought forward: what the years before left (their income − expenditure) and the fund
    # balance subject's own earlier movements (credit side).
    brought = -sum(v for c, v in b_sub.items() if kinds.get(c) in ("income", "expense", "net"))
    adjustment = -sum(v for c, v in y_sub.items() if kinds.get(c) == "net")
    closing = brought + surplus + adjustment

    by_city: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for (code, city), v in year_net.items():
        if kinds.get(code) == "expense" and v:
            by_city[city][code] += v
    expenditure_by_city = [
        {
            "city_code": city,
            "city_name": regions.get(city, city),
            "items": {c: items.get(c, 0) for c in _ordered(expense_codes, EXPENSE_ORDER)},
            "total_fen": sum(items.values()),
        }
        for city, items in sorted(by_city.items())
    ]

    # the balance sheet at year end: closing balances (before + the year) on each subject's normal side
    closing_net: dict[tuple[str, str], int] = defaultdict(int)
    for k in set(year_net) | set(before_net):
        closing_net[k] = year_net.get(k, 0) + before_net.get(k, 0)
    asset_codes = {c for (c, _) in closing_net if kinds.get(c, "asset") == "asset"}
    liability_codes = {c for (c, _) in closing_net if kinds.get(c) == "liability"}
    assets = []
    for c in _ordered(asset_codes, ASSET_ORDER):
        cities = {city: v for (code, city), v in closing_net.items() if code == c and v}
        row = {"code": c, "name": names.get(c, c), "amount_fen": sum(cities.values())}
        if c in (rules.EXPENDITURE_ACCOUNT, rules.INTERUNIT):
            row["by_city"] = [
                {"city_code": city, "city_name": regions.get(city, city), "amount_fen": v}
                for city, v in sorted(cities.items())
            ]
        assets.append(row)
    liabilities = [
        {
            "code": c,
            "name": names.get(c, c),
            "amount_fen": -sum(v for (code, _), v in closing_net.items() if code == c),
        }
        for c in _ordered(liability_codes, (rules.SUSPENSE,))
    ]
    assets_total = sum(x["amount_fen"] for x in assets)
    liabilities_total = sum(x["amount_fen"] for x in liabilities)
    return {
        "year": year,
        "drawn_on": clock.today().isoformat(),
        "income": income,
        "income_total_fen": income_total,
        "expenditure": expenditure,
        "expenditure_total_fen": expense_total,
        "surplus_fen": surplus,
        "brought_forward_fen": brought,
        "adjustment_fen": adjustment,
        "closing_balance_fen": closing,
        "expenditure_by_city": expenditure_by_city,
        "balance_sheet": {
            "assets": assets,
            "assets_total_fen": assets_total,
            "liabilities": liabilities,
            "liabilities_total_fen": liabilities_total,
            "fund_balance_fen": closing,
            "liabilities_and_fund_fen": liabilities_total + closing,
            "balanced": assets_total == liabilities_total + closing,
        },
    }


# ---- final accounts ------------------------------------------------------------------------------


def _need(actor: Principal, permission: str, what: str) -> None:
    if not actor.can(permission):
        raise Forbidden(f"您无权{what}")
    if not province_wide(actor):
        raise Forbidden(f"{what}由自治区级部门办理")


def read_scope(actor: Principal) -> None:
    """The statements are the whole region's: a city officer is not shown them (as if absent)."""
    if not actor.can(P.FUND_READ) or not province_wide(actor):
        raise out_of_scope("全区基金报表")


def get(session: Session, year: int, *, for_update: bool = False) -> FinalAccount | None:
    q = select(FinalAccount).where(FinalAccount.year == year)
    if for_update:
        q = q.with_for_update()
    return session.scalar(q)


def open_months(session: Session, year: int) -> list[str]:
    """The months of ``year`` not yet closed. Months before the ledger's first period (the books
    began later: the pilot started mid-year) have nothing to close and do not count; a year wholly
    before the books began is all open (there is nothing to draw)."""
    first = session.scalar(select(func.min(Period.month)))
    if first is None or first > f"{year:04d}-12":  # the books had not begun: nothing to draw
        return R.months_of(year)
    closed = posting.closed_months(session)
    return [m for m in R.months_of(year) if m >= first and m not in closed]


def _check(act: str, fa: FinalAccount | None) -> None:
    why = R.final_why_not(act, fa.status if fa else None)
    if why:
        raise IllegalTransition(why)


def draw(session: Session, actor: Principal, year: int) -> FinalAccount:
    """Draw (or redraw, while draft) ``year``'s final accounts; every month must be closed."""
    _need(actor, P.FUND_CLOSE, "编制决算")
    first = session.scalar(select(func.min(Period.month)))
    if first is None or first > f"{year:04d}-12":
        raise Conflict(f"{year} 年总账尚无会计期间（记账始于 {first or '—'}），无须编制决算")
    still = open_months(session, year)
    if still:
        shown = "、".join(still[:3]) + ("等" if len(still) > 3 else "")
        raise Conflict(f"{year} 年还有 {len(still)} 个会计期间未结账（{shown}），全部结账后才能编制决算")
    fa = get(session, year, for_update=True)
    _check("draw", fa)
    st = statements(session, year)
    if fa is None:
        fa = FinalAccount(year=year, status="draft", statements=st, made_by=actor.user_id, made_at=clock.now())
        session.add(fa)
    else:
        fa.statements, fa.made_by, fa.made_at = st, actor.user_id, clock.now()
        fa.status = R.FINAL_TRANSITIONS["draw"][1]
    session.flush()
    audit.record(
        session,
        actor,
        "fund.final.draw",
        entity_type="fund_final_account",
        entity_id=fa.id,
        after={
            "year": year,
            "income_total_fen": st["income_total_fen"],
            "expenditure_total_fen": st["expenditure_total_fen"],
            "closing_balance_fen": st["closing_balance_fen"],
        },
    )
    return fa


def submit(session: Session, actor: Principal, year: int) -> FinalAccount:
    _need(actor, P.FUND_CLOSE, "报送决算")
    fa = get(session, year, for_update=True)
    _check("submit", fa)
    fa.status = R.FINAL_TRANSITIONS["submit"][1]
    session.flush()
    audit.record(
        session, actor, "fund.final.submit", entity_type="fund_final_account", entity_id=fa.id, after={"year": year}
    )
    return fa


def approve(session: Session, actor: Principal, year: int, note: str = "") -> FinalAccount:
    _need(actor, P.FUND_BUDGET_REVIEW, "审批决算")
    fa = get(session, year, for_update=True)
    _check("approve", fa)
    fa.status, fa.approved_by, fa.approved_at = "approved", actor.user_id, clock.now()
    fa.note = (note or "").strip()
    session.flush()
    audit.record(
        session,
        actor,
        "fund.final.approve",
        entity_type="fund_final_account",
        entity_id=fa.id,
        after={"year": year, "note": fa.note},
    )
    return fa


def return_(session: Session, actor: Principal, year: int, reason: str) -> FinalAccount:
    """Finance sends a submitted final account back with its reason; the centre redraws it (after
    correcting entries in the next open month) or resubmits it."""
    _need(actor, P.FUND_BUDGET_REVIEW, "退回决算")
    reason = (reason or "").strip()
    if not reason:
        raise DomainError("请填写退回原因", field="reason")
    fa = get(session, year, for_update=True)
    _check("return", fa)
    fa.status, fa.note = R.FINAL_TRANSITIONS["return"][1], reason
    session.flush()
    audit.record(
        session,
        actor,
        "fund.final.return",
        entity_type="fund_final_account",
        entity_id=fa.id,
        after={"year": year, "reason": reason},
    )
    return fa
