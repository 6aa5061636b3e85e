"""The yearly public disclosure (年度信息公开): the autonomous region's social insurance centre
publishes, once a year has ended, the pilot's enrolment, cases and the fund's income and expenditure
(seed 二(三): 按年度向社会公开职业伤害保障参保、收支等情况).

``draw(session, year)`` counts the year's figures by city and for Guangxi in total, every cell
already in its public form (aggregated; small cells suppressed by oip.fund.disclosure_rules, with
the threshold ``fund.disclosure_threshold``); ``publish(session, actor, year)`` keeps them in
``Disclosure`` — once: a published year is final. The public pages (/public/fund) and the JSON
(/api/v1/public/fund/{year}) show only what was published.

Where the figures come from:
- enrolment: the per-person-month order summaries (oip.orders.models.WorkerMonth) — a person is
  insured in a year when they took at least one order in it (每单必保: each order is covered);
  person-months are distinct (person, month) pairs with orders; orders are their sum; a person
  working in two cities counts in each city and once in Guangxi's total;
- platforms in the pilot: the register (admitted platforms covered by the year's end); by city the
  admitted platforms with orders there in the year;
- cases: reports (cases reported in the year, merged duplicates left out), confirmation decisions
  made in the year (one per case: the one in force at the year's end), of which confirmed, of which
  deaths — by the city of the place of injury;
- money: the posted ledger (oip.fund.posting): premium income 4001, interest 4002, other income
  4009, expenditure 5001xx by benefit item and 5009, by ledger period; the balance brought forward
  is the fund balance (3001) at the start of the year;
- people paid benefits: distinct payees (the worker or a dependant) of payment lines the bank paid
  in the year (oip.payments), by the city of the payable.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import and_, func, literal_column, or_, select
from sqlalchemy.orm import Session

from oip.auth import permissions as P
from oip.auth.service import Principal
from oip.benefits.models import Payable
from oip.cases.models import Case, Decision
from oip.core import audit, clock
from oip.core.errors import Conflict, DomainError, Forbidden, NotFound
from oip.fund import disclosure_rules as R, posting, rules
from oip.fund.models import Disclosure, EntryLine
from oip.orders.models import WorkerMonth
from oip.payments.models import PaymentLine
from oip.platforms.models import ADMITTED, Platform
from oip.reference import parameters
from oip.reference.models import Region
from oip.reference.parameters import PILOT_START, Definition, define

THRESHOLD = "fund.disclosure_threshold"


def _validate_threshold(v) -> int:
    if isinstance(v, bool) or not isinstance(v, int) or not 1 <= v <= 1000:
        raise DomainError("公开阈值应为 1 至 1000 的整数（人）", field="value")
    return v


define(
    Definition(
        THRESHOLD,
        "年度信息公开的小数值隐去阈值（人）",
        10,
        _validate_threshold,
        "年度信息公开中，人数或件数大于 0 且小于该值的单元格不予公开（显示为“<阈值”），"
        "对应人数少于该值的金额单元格也不予公开；取值无公开依据，暂定 10 人",
    )
)

audit.register_actions({"fund.disclosure.publish": "发布年度信息公开"})

COUNT_KEYS = ("insured", "person_months", "orders", "reports", "decisions", "confirmed", "deaths", "paid_people")
COUNT_NAMES = {
    "insured": "参保人数",
    "person_months": "参保人月数",
    "orders": "保障订单数",
    "platforms": "有接单的试点平台企业数",
    "reports": "受理报案（件）",
    "decisions": "作出确认结论（件）",
    "confirmed": "予以确认（件）",
    "deaths": "其中因工死亡（件）",
    "paid_people": "领取待遇人数",
    "expenditure_fen": "待遇支出（元）",
}
ITEM_CODES = {code: item for item, code in rules.ITEM_SUBJECTS.items()}
INCOME_CODES = (rules.PREMIUM_INCOME, rules.INTEREST_INCOME, rules.OTHER_INCOME)
EXPENSE_CODES = (*rules.ITEM_SUBJECTS.values(), rules.OTHER_EXPENSE)


def threshold_for(session: Session, year: int) -> int:
    """The threshold in force at the end of ``year``."""
    return int(parameters.get(session, THRESHOLD, dt.date(year, 12, 31)))


def _span(year: int) -> tuple[dt.date, dt.date]:
    return dt.date(year, 1, 1), dt.date(year, 12, 31)


def _city(col):
    """The city a region code books under (rules.city_of), in SQL; literal, not bound, so that the
    same expression in SELECT and GROUP BY is the same expression."""
    return func.concat(func.substr(col, literal_column("1"), literal_column("4")), literal_column("'00'"))


def _cities(session: Session, end: dt.date) -> dict[str, str]:
    rows = session.scalars(
        select(Region)
        .where(
            Region.level == "city",
            Region.parent_code == rules.PROVINCE,
            Region.valid_from <= end,
            or_(Region.valid_to.is_(None), Region.valid_to >= end),
        )
        .order_by(Region.code)
    )
    return {r.code: r.name for r in rows}


# ---- the counts ----------------------------------------------------------------------------------


def _enrolment(session: Session, year: int) -> tuple[dict[str, dict[str, int]], dict[str, int]]:
    start, end = _span(year)
    period = (WorkerMonth.month >= start, WorkerMonth.month <= end, WorkerMonth.orders > 0)
    # One row per person, month and city: a person in two counties of one city is one person-month there.
    pm = (
        select(
            WorkerMonth.person_id.label("person_id"),
            WorkerMonth.month.label("month"),
            _city(WorkerMonth.county_code).label("city"),
            func.sum(WorkerMonth.orders).label("orders"),
        )
        .where(*period)
        .group_by(WorkerMonth.person_id, WorkerMonth.month, _city(WorkerMonth.county_code))
        .subquery()
    )
    by_city: dict[str, dict[str, int]] = {}
    for city, people, months, orders in session.execute(
        select(pm.c.city, func.count(func.distinct(pm.c.person_id)), func.count(), func.sum(pm.c.orders)).group_by(
            pm.c.city
        )
    ):
        by_city[city] = {"insured": int(people), "person_months": int(months), "orders": int(orders or 0)}
    for city, n in session.execute(
        select(_city(WorkerMonth.county_code), func.count(func.distinct(WorkerMonth.platform_id)))
        .join(Platform, Platform.id == WorkerMonth.platform_id)
        .where(*period, Platform.status == ADMITTED)
        .group_by(_city(WorkerMonth.county_code))
    ):
        by_city.setdefault(city, {"insured": 0, "person_months": 0, "orders": 0})["platforms"] = int(n)
    months = (
        select(WorkerMonth.person_id, WorkerMonth.month)
        .where(*period)
        .group_by(WorkerMonth.person_id, WorkerMonth.month)
    ).subquery()
    people = session.scalar(select(func.count(func.distinct(WorkerMonth.person_id))).where(*period)) or 0
    total = {
        "insured": int(people),
        "person_months": int(session.scalar(select(func.count()).select_from(months)) or 0),
        "orders": int(session.scalar(select(func.coalesce(func.sum(WorkerMonth.orders), 0)).where(*period)) or 0),
        "platforms": int(
            session.scalar(
                select(func.count()).where(
                    Platform.status == ADMITTED, or_(Platform.covered_from.is_(None), Platform.covered_from <= end)
                )
            )
            or 0
        ),
    }
    return by_city, total


def _cases(session: Session, year: int) -> tuple[dict[str, dict[str, int]], dict[str, int]]:
    start, end = _span(year)
    by_city: dict[str, dict[str, int]] = {}
    city = _city(Case.county_code)
    for c, n in session.execute(
        select(city, func.count())
        .where(Case.reported_on >= start, Case.reported_on <= end, Case.merged_into_id.is_(None))
        .group_by(city)
    ):
        by_city.setdefault(c, {})["reports"] = int(n)
    # The decision in force at the year's end: made in the year and not overturned by then.
    in_force = and_(
        Decision.decided_on >= start,
        Decision.decided_on <= end,
        or_(Decision.overturned_on.is_(None), Decision.overturned_on > end),
    )
    confirmed = Decision.outcome == "confirmed"
    q = (
        select(
            city,
            func.count(func.distinct(Decision.case_id)),
            func.count(func.distinct(Decision.case_id)).filter(confirmed),
            func.count(func.distinct(Decision.case_id)).filter(confirmed, Case.kind == "death"),
        )
        .join(Case, Case.id == Decision.case_id)
        .where(in_force)
        .group_by(city)
    )
    for c, d, k, x in session.execute(q):
        by_city.setdefault(c, {}).update(decisions=int(d), confirmed=int(k), deaths=int(x))
    total = {
        key: sum(v.get(key, 0) for v in by_city.values()) for key in ("reports", "decisions", "confirmed", "deaths")
    }
    return by_city, total


def _paid_people(session: Session, year: int):
    """Distinct payees of the year's paid payment lines: by city, by city and item, by item, in all."""
    start, end = _span(year)
    payee = func.coalesce(-Payable.dependant_id, Payable.person_id)
    city = _city(Payable.region_code)
    base = (
        select()
        .select_from(PaymentLine)
        .join(Payable, Payable.id == PaymentLine.payable_id)
        .where(PaymentLine.status == "paid", PaymentLine.paid_on >= start, PaymentLine.paid_on <= end)
    )
    by_city = {
        c: int(n) for c, n in session.execute(base.add_columns(city, func.count(func.distinct(payee))).group_by(city))
    }
    by_item = {
        i: int(n)
        for i, n in session.execute(
            base.add_columns(Payable.item, func.count(func.distinct(payee))).group_by(Payable.item)
        )
    }
    total = int(session.scalar(base.add_columns(func.count(func.distinct(payee)))) or 0)
    return by_city, by_item, total


def _ledger(session: Session, year: int) -> tuple[dict[str, dict[str, int]], list[dict]]:
    """Expenditure by city and subject (the year's periods), and the trial balance of the year."""
    cond = (EntryLine.posted, EntryLine.period >= f"{year:04d}-01", EntryLine.period <= f"{year:04d}-12")
    by_city: dict[str, dict[str, int]] = {}
    for c, code, debit, credit in session.execute(
        select(
            EntryLine.city_code,
            EntryLine.subject_code,
            func.coalesce(func.sum(EntryLine.debit_fen), 0),
            func.coalesce(func.sum(EntryLine.credit_fen), 0),
        )
        .where(*cond, EntryLine.subject_code.in_(EXPENSE_CODES))
        .group_by(EntryLine.city_code, EntryLine.subject_code)
    ):
        by_city.setdefault(c, {})[code] = int(debit) - int(credit)
    return by_city, posting.trial_balance(session, year)


# ---- the figures ---------------------------------------------------------------------------------


def draw(session: Session, year: int) -> dict:
    """The figures of ``year`` in their public form (suppressed cells have no value, only a mark)."""
    if not 2000 <= year <= 2100:
        raise DomainError("年度应为四位年份", field="year")
    start, end = _span(year)
    threshold = threshold_for(session, year)
    cities = _cities(session, end)
    enrol_city, enrol_total = _enrolment(session, year)
    case_city, case_total = _cases(session, year)
    paid_city, paid_item, paid_total = _paid_people(session, year)
    spend_city, tb = _ledger(session, year)
    names = posting.subject_names(session)

    # Rows: every city of Guangxi, and the region itself or an unknown code only when it has figures.
    codes = list(cities)
    for extra in sorted(set(enrol_city) | set(case_city) | set(paid_city) | set(spend_city)):
        if extra not in cities:
            codes.append(extra)
            cities[extra] = "自治区本级" if extra == rules.PROVINCE else extra

    def col(source: dict, key: str) -> dict[str, int]:
        return {c: int(source.get(c, {}).get(key, 0)) for c in codes}

    values: dict[str, dict[str, int]] = {k: col(enrol_city, k) for k in ("insured", "person_months", "orders")}
    values.update({k: col(case_city, k) for k in ("reports", "decisions", "confirmed", "deaths")})
    values["paid_people"] = {c: paid_city.get(c, 0) for c in codes}
    values["expenditure_fen"] = {c: sum(spend_city.get(c, {}).values()) for c in codes}
    basis = {
        "person_months": values["insured"],
        "orders": values["insured"],
        "expenditure_fen": values["paid_people"],
    }
    totals_raw = {**enrol_total, **case_total, "paid_people": paid_total}
    income = {r["subject_code"]: r["balance_fen"] for r in tb if r["subject_code"] in INCOME_CODES}
    expense = {r["subject_code"]: r["balance_fen"] for r in tb if r["subject_code"] in EXPENSE_CODES}
    totals_raw["expenditure_fen"] = sum(expense.values())
    total_basis = {
        "person_months": enrol_total["insured"],
        "orders": enrol_total["insured"],
        "expenditure_fen": paid_total,
    }

    columns: dict[str, dict[str, dict]] = {}
    total: dict[str, dict | int] = {}
    for key, line in values.items():
        prot = R.protect(line, threshold, basis.get(key))
        columns[key] = R.line_cells(line, prot)
        total[key] = R.total_cell(totals_raw[key], threshold, hide=prot.hide_total, basis=total_basis.get(key))
    total["platforms"] = enrol_total["platforms"]
    rows = [
        {
            "code": c,
            "name": cities[c],
            "platforms": int(enrol_city.get(c, {}).get("platforms", 0)),
            **{key: columns[key][c] for key in values},
        }
        for c in codes
    ]

    # Expenditure by item (Guangxi): an item paid to fewer people than the threshold is hidden.
    item_codes = [c for c in EXPENSE_CODES if c in expense]
    item_people = {c: paid_item.get(ITEM_CODES.get(c, ""), 0) for c in item_codes}
    # 5009 other expenditure is not paid to people: never small on that account.
    item_basis = {c: (item_people[c] if c in ITEM_CODES else threshold) for c in item_codes}
    prot_money = R.protect({c: expense[c] for c in item_codes}, threshold, item_basis)
    prot_people = R.protect({c: item_people[c] for c in item_codes if c in ITEM_CODES}, threshold)
    items = [
        {
            "subject_code": c,
            "name": names.get(c, c),
            "amount_fen": R.cell(expense[c], prot_money.marks[c]),
            "people": R.cell(item_people[c], prot_people.marks.get(c, "")) if c in ITEM_CODES else None,
        }
        for c in item_codes
    ]
    income_total = sum(income.values())
    expenditure_total = sum(expense.values())
    brought = next((r["opening_fen"] for r in tb if r["subject_code"] == rules.BALANCE), 0)
    return {
        "year": year,
        "threshold": threshold,
        "drawn_at": clock.now().isoformat(),
        "period": {"from": start.isoformat(), "to": end.isoformat()},
        "total": total,
        "cities": rows,
        "income": [
            {"subject_code": c, "name": names.get(c, c), "amount_fen": int(income[c])}
            for c in INCOME_CODES
            if c in income
        ],
        "items": items,
        "money": {
            "premium_fen": int(income.get(rules.PREMIUM_INCOME, 0)),
            "interest_fen": int(income.get(rules.INTEREST_INCOME, 0)),
            "income_fen": int(income_total),
            "expenditure_fen": int(expenditure_total),
            "expenditure_hidden": prot_money.hide_total,
            "brought_forward_fen": int(brought),
            "balance_fen": int(brought + income_total - expenditure_total),
        },
    }


# ---- publishing ----------------------------------------------------------------------------------


def published(session: Session, year: int) -> Disclosure:
    d = session.scalar(select(Disclosure).where(Disclosure.year == year))
    if d is None:
        raise NotFound(f"{year} 年度的信息尚未公开")
    return d


def published_years(session: Session) -> list[Disclosure]:
    return list(session.scalars(select(Disclosure).order_by(Disclosure.year.desc())))


def can_publish(year: int) -> str | None:
    """None if ``year`` may be published now, else why not."""
    today = clock.today()
    if year >= today.year:
        return f"{year} 年度尚未结束，年度结束后才能公开"
    if year < PILOT_START.year:
        return f"试点自 {PILOT_START:%Y年%m月%d日} 起实施，{year} 年度没有可公开的信息"
    return None


def publish(session: Session, actor: Principal, year: int) -> Disclosure:
    """Publish ``year``'s figures as drawn now. Only the autonomous region's social insurance
    centre, only a year that has ended, and only once: a published year is final."""
    if not actor.can(P.FUND_DISCLOSE):
        raise Forbidden("无权发布年度信息公开")
    if actor.region_prefix not in ("", rules.PROVINCE[:2]):
        raise Forbidden("年度信息公开由自治区社会保险经办机构统一发布")
    why = can_publish(year)
    if why:
        raise DomainError(why, field="year")
    # One publication per year, even when two officers press the button at once.
    session.execute(select(func.pg_advisory_xact_lock(0x0F0D15, year)))
    old = session.scalar(select(Disclosure).where(Disclosure.year == year))
    if old is not None:
        raise Conflict(
            f"{year} 年度信息已于 {clock.fmt(old.published_at)} 公开；公开的信息不再更改（更正须另行发布更正说明）"
        )
    figures = draw(session, year)
    d = Disclosure(
        year=year,
        figures=figures,
        threshold=figures["threshold"],
        published_by=actor.user_id,
        published_at=clock.now(),
    )
    session.add(d)
    session.flush()
    audit.record(
        session,
        actor,
        "fund.disclosure.publish",
        entity_type="fund_disclosure",
        entity_id=d.id,
        after={
            "year": year,
            "threshold": d.threshold,
            "income_fen": figures["money"]["income_fen"],
            "expenditure_fen": figures["money"]["expenditure_fen"],
        },
    )
    return d


def years_to_pick() -> list[int]:
    """The years an officer may preview: from the pilot's first year to this one, newest first."""
    return list(range(clock.today().year, PILOT_START.year - 1, -1))
