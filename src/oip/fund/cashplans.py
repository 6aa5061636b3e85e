"""Quarterly cash-use plans (季度用款计划): a city asks for what it will pay in a quarter, the region's
social-insurance centre (自治区社保中心) reviews it, the region's finance department (财政厅)
allocates (拨付) from the fiscal special account to the city's expenditure account.

``prefill`` drafts a city's plan with one line per benefit item, each forecast from the city's own
rows (cashplan_rules explains the sum): payables owed and unpaid, determinations awaiting approval,
monthly benefits still running, confirmed cases not yet determined × the last 12 months' average,
and for medical expenses the last two quarters' ledger expenditure as a floor. The city sets what it
requests (``update``, by default the forecast) and submits; the region approves an amount (a cut
needs a note) or returns the plan; finance allocates — the allocation entry is posted to the ledger
through oip.fund.posting (Dr 1002 city / Cr 1201 city; Dr 1201 region / Cr 1001 region), never more
than approved; beyond the occupational-injury money's own balance the work-injury fund covers the
difference (统一收支管理), stated on the entry. ``execution`` compares plan and use.

Scope: a city officer (si_city) sees and acts on its own city's plans only; the region sees all.
Every act is audited in the same transaction.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from sqlalchemy import exists, func, or_, select, text
from sqlalchemy.orm import Session

from oip.auth import permissions as P
from oip.auth.service import Principal
from oip.benefits import monthly
from oip.benefits.models import Determination, DeterminationLine, MonthlyBenefit, MonthlyRate, Payable
from oip.cases.models import Case
from oip.core import audit, clock
from oip.core.audit_models import AuditEvent
from oip.core.db import paginate
from oip.core.errors import Conflict, DomainError, Forbidden, IllegalTransition, NotFound
from oip.core.pagination import Page
from oip.fund import cashplan_rules as R, posting, rules
from oip.fund.models import CashPlan, CashPlanLine, EntryLine
from oip.reference.models import Region

audit.register_entity_names("fund_cash_plan", "季度用款计划")
audit.register_actions(
    {
        "fund.cashplan.prefill": "编制季度用款计划",
        "fund.cashplan.update": "修改用款计划申请金额",
        "fund.cashplan.submit": "报送季度用款计划",
        "fund.cashplan.approve": "审核通过用款计划",
        "fund.cashplan.return": "退回用款计划",
        "fund.cashplan.allocate": "拨付用款计划资金",
    }
)

ENTITY = "fund_cash_plan"
CONFIRMED_STATES = ("confirmed", "appraisal", "appraised")  # 予以确认, not determined yet (see _pending_cases)
ITEMS = list(rules.ITEM_SUBJECTS)
SUBJECT_ITEMS = {v: k for k, v in rules.ITEM_SUBJECTS.items()}


# ---- scope ---------------------------------------------------------------------------------------


def cities(session: Session, actor: Principal | None = None) -> list[Region]:
    """The cities of the region (in the actor's scope), by code."""
    q = select(Region).where(Region.level == "city", Region.parent_code == rules.PROVINCE, Region.valid_to.is_(None))
    if actor is not None:
        q = q.where(Region.code.startswith(actor.region_prefix))
    return list(session.scalars(q.order_by(Region.code)))


def city_names(session: Session) -> dict[str, str]:
    return {
        r.code: r.name
        for r in session.scalars(select(Region).where(or_(Region.level == "city", Region.code == rules.PROVINCE)))
    }


def own_city(actor: Principal) -> str | None:
    """The city a city-level officer works for (None for the region)."""
    return actor.region_code if len(actor.region_prefix) == 4 else None


def _in_scope(actor: Principal, city_code: str) -> bool:
    return city_code.startswith(actor.region_prefix)


def _can_edit(actor: Principal, city_code: str) -> None:
    if not (actor.can(P.FUND_CASHPLAN) or actor.can(P.FUND_CASHPLAN_REVIEW)):
        raise Forbidden(f"当前角色（{actor.role.name}）无权编制用款计划")
    if not _in_scope(actor, city_code):
        raise Forbidden("只能编制本市的用款计划")


def get(session: Session, actor: Principal, plan_id: int, *, for_update: bool = False) -> CashPlan:
    q = select(CashPlan).where(CashPlan.id == plan_id, CashPlan.city_code.startswith(actor.region_prefix))
    if for_update:
        q = q.with_for_update()
    plan = session.scalar(q)
    if plan is None:
        raise NotFound("用款计划不存在或不在您的管辖范围内")
    return plan


def lines_of(session: Session, plan: CashPlan) -> list[CashPlanLine]:
    order = {item: i for i, item in enumerate(ITEMS)}
    rows = list(session.scalars(select(CashPlanLine).where(CashPlanLine.plan_id == plan.id)))
    return sorted(rows, key=lambda x: order.get(x.item, 99))


def list_plans(
    session: Session,
    actor: Principal,
    *,
    year: int | None = None,
    quarter: int | None = None,
    city: str | None = None,
    status: str | None = None,
    page: int = 1,
    size: int = 20,
) -> Page:
    cond = [CashPlan.city_code.startswith(actor.region_prefix)]
    if year:
        cond.append(CashPlan.year == year)
    if quarter:
        cond.append(CashPlan.quarter == quarter)
    if city:
        cond.append(CashPlan.city_code == city)
    if status:
        cond.append(CashPlan.status == status)
    q = select(CashPlan).where(*cond).order_by(CashPlan.year.desc(), CashPlan.quarter.desc(), CashPlan.city_code)
    return paginate(session, q, page, size)


# ---- the forecast --------------------------------------------------------------------------------


def _city_like(city_code: str) -> str:
    return city_code[:4] + "%"


def _owed(session: Session, city_code: str) -> dict[str, tuple[int, int]]:
    """Payables due or in a batch in the city: item → (fen, count)."""
    q = (
        select(Payable.item, func.sum(Payable.amount_fen), func.count())
        .where(Payable.status.in_(("due", "batched")), Payable.region_code.like(_city_like(city_code)))
        .group_by(Payable.item)
    )
    return {item: (int(fen), int(n)) for item, fen, n in session.execute(q)}


def _submitted(session: Session, city_code: str) -> dict[str, tuple[int, int]]:
    """Determinations (benefits and claims) submitted and awaiting approval: their once lines paid by
    the fund, item → (fen, determinations)."""
    q = (
        select(
            DeterminationLine.item, func.sum(DeterminationLine.amount_fen), func.count(func.distinct(Determination.id))
        )
        .join(Determination, Determination.id == DeterminationLine.determination_id)
        .where(
            Determination.status == "submitted",
            Determination.region_code.like(_city_like(city_code)),
            DeterminationLine.monthly.is_(False),
            DeterminationLine.payer == "fund",
        )
        .group_by(DeterminationLine.item)
    )
    return {item: (int(fen), int(n)) for item, fen, n in session.execute(q)}


def _determined():
    """A case has a benefits determination submitted or decided (drafts do not count)."""
    return exists(
        select(Determination.id).where(
            Determination.case_id == Case.id,
            Determination.purpose == "benefits",
            Determination.status.in_(("submitted", "approved", "superseded")),
        )
    )


def _pending_cases(session: Session, city_code: str) -> int:
    """Cases confirmed (认定, also in or after appraisal) with no benefits determination yet."""
    return int(
        session.scalar(
            select(func.count())
            .select_from(Case)
            .where(Case.state.in_(CONFIRMED_STATES), Case.county_code.like(_city_like(city_code)), ~_determined())
        )
        or 0
    )


def _averages(session: Session, city_code: str, today: dt.date) -> tuple[dict[str, int], int]:
    """The once amounts per benefits determination approved in the city in the last 12 months:
    (item → average fen, determinations)."""
    since = today - dt.timedelta(days=365)
    dets = (
        select(Determination.id)
        .where(
            Determination.purpose == "benefits",
            Determination.status.in_(("approved", "superseded")),
            Determination.approved_on.between(since, today),
            Determination.region_code.like(_city_like(city_code)),
        )
        .subquery()
    )
    n = int(session.scalar(select(func.count()).select_from(dets)) or 0)
    totals = {
        item: int(fen)
        for item, fen in session.execute(
            select(DeterminationLine.item, func.sum(DeterminationLine.amount_fen))
            .where(
                DeterminationLine.determination_id.in_(select(dets.c.id)),
                DeterminationLine.monthly.is_(False),
                DeterminationLine.payer == "fund",
            )
            .group_by(DeterminationLine.item)
        )
    }
    return R.averages(totals, n), n


def _monthly(session: Session, city_code: str, months: list[dt.date]) -> dict[str, tuple[int, int, int]]:
    """Active monthly benefits in the city over ``months``: item → (fen, benefit-months, benefits)."""
    mbs = list(
        session.scalars(
            select(MonthlyBenefit).where(
                MonthlyBenefit.status == "active", MonthlyBenefit.region_code.like(_city_like(city_code))
            )
        )
    )
    if not mbs:
        return {}
    ids = [m.id for m in mbs]
    rates: dict[int, list[tuple[dt.date, int]]] = defaultdict(list)
    for mid, from_month, amount in session.execute(
        select(MonthlyRate.monthly_id, MonthlyRate.from_month, MonthlyRate.amount_fen).where(
            MonthlyRate.monthly_id.in_(ids)
        )
    ):
        rates[mid].append((from_month, int(amount)))
    owed: dict[int, set[dt.date]] = defaultdict(set)
    for mid, period in session.execute(
        select(Payable.monthly_id, Payable.period).where(
            Payable.monthly_id.in_(ids),
            Payable.kind == "monthly",
            Payable.status != "cancelled",
            Payable.period.between(months[0], months[-1]),
        )
    ):
        owed[mid].add(period)
    out: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    for mb in mbs:
        sched = R.Schedule(
            starts_on=mb.starts_on,
            last_month=monthly.last_month(session, mb),
            rates=tuple(rates[mb.id]),
            owed_months=frozenset(owed[mb.id]),
        )
        fen, n = R.monthly_need([sched], months)
        if n:
            acc = out[mb.item]
            acc[0] += fen
            acc[1] += n
            acc[2] += 1
    return {k: (v[0], v[1], v[2]) for k, v in out.items()}


def expenditure(session: Session, city_code: str, periods: list[str]) -> dict[str, int]:
    """Posted expenditure (5001xx, debit − credit: net of reversals) in the city over ``periods``:
    item → fen."""
    q = (
        select(EntryLine.subject_code, func.sum(EntryLine.debit_fen - EntryLine.credit_fen))
        .where(
            EntryLine.posted,
            EntryLine.city_code == city_code,
            EntryLine.subject_code.like(rules.EXPENSE + "%"),
            EntryLine.period.in_(periods),
        )
        .group_by(EntryLine.subject_code)
    )
    out: dict[str, int] = defaultdict(int)
    for code, fen in session.execute(q):
        out[SUBJECT_ITEMS.get(code, "other")] += int(fen)
    return dict(out)


def medical_history(session: Session, city_code: str, year: int, quarter: int) -> list[tuple[tuple[int, int], int]]:
    """The quarters the medical floor looks back on and each one's posted medical expenditure."""
    return [
        (q, expenditure(session, city_code, R.quarter_periods(*q)).get(R.MEDICAL, 0))
        for q in R.history_quarters(year, quarter, clock.today())
    ]


@dataclass
class Forecast:
    items: dict[str, tuple[int, str]]  # item → (fen, basis)
    parts: dict[str, R.Parts]
    pending_cases: int
    average_basis: int

    @property
    def total_fen(self) -> int:
        return sum(v[0] for v in self.items.values())


def forecast(session: Session, city_code: str, year: int, quarter: int) -> Forecast:
    """Each benefit item's forecast for the city's quarter, reckoned from its rows (see module doc)."""
    owed = _owed(session, city_code)
    submitted = _submitted(session, city_code)
    month_need = _monthly(session, city_code, R.quarter_months(year, quarter))
    pending = _pending_cases(session, city_code)
    avg, n_avg = _averages(session, city_code, clock.today())
    history = medical_history(session, city_code, year, quarter)
    floor = R.medical_floor([fen for _, fen in history])
    floor_q = "、".join(R.label(*q) for q, _ in sorted(history))
    items: dict[str, tuple[int, str]] = {}
    parts: dict[str, R.Parts] = {}
    for item in ITEMS:
        m = month_need.get(item, (0, 0, 0))
        p = R.Parts(
            owed_fen=owed.get(item, (0, 0))[0],
            owed_count=owed.get(item, (0, 0))[1],
            submitted_fen=submitted.get(item, (0, 0))[0],
            submitted_count=submitted.get(item, (0, 0))[1],
            monthly_fen=m[0],
            monthly_count=m[1],
            monthly_benefits=m[2],
            pending_cases=pending,
            average_fen=avg.get(item, 0),
            average_basis=n_avg,
            floor_fen=floor if item == R.MEDICAL else None,
            floor_quarters=floor_q if item == R.MEDICAL else "",
        )
        parts[item] = p
        items[item] = R.line_forecast(item, p)
    return Forecast(items=items, parts=parts, pending_cases=pending, average_basis=n_avg)


# ---- the plan's life -----------------------------------------------------------------------------


def _snapshot(plan: CashPlan) -> dict[str, Any]:
    return {
        "city_code": plan.city_code,
        "year": plan.year,
        "quarter": plan.quarter,
        "status": plan.status,
        "forecast_fen": plan.forecast_fen,
        "requested_fen": plan.requested_fen,
        "approved_fen": plan.approved_fen,
        "allocated_fen": plan.allocated_fen,
        "allocated_on": plan.allocated_on,
        "entry_id": plan.entry_id,
    }


def _record(session: Session, actor: Principal, action: str, plan: CashPlan, before: dict | None, **extra) -> None:
    audit.record(
        session,
        actor,
        action,
        entity_type=ENTITY,
        entity_id=plan.id,
        before=before,
        after={**_snapshot(plan), **extra},
    )


def _transition(plan: CashPlan, act: str) -> None:
    why = R.check_transition(act, plan.status)
    if why:
        raise IllegalTransition(why)
    plan.status = R.TRANSITIONS[act][1]


def prefill(session: Session, actor: Principal, city_code: str, year: int, quarter: int) -> CashPlan:
    """Draft the city's plan for the quarter with a forecast line per benefit item (requested =
    forecast until the city changes it). One plan per city and quarter."""
    if not 1 <= int(quarter) <= 4:
        raise DomainError("季度应为 1 至 4", field="quarter")
    if not 2000 <= int(year) <= 2100:
        raise DomainError("年度不正确", field="year")
    region = session.get(Region, city_code)
    if region is None or region.level != "city" or region.parent_code != rules.PROVINCE:
        raise DomainError("请选择自治区内的设区市", field="city_code")
    _can_edit(actor, city_code)
    session.execute(text("SELECT pg_advisory_xact_lock(hashtext(:k))"), {"k": f"cashplan:{city_code}:{year}:{quarter}"})
    if session.scalar(
        select(CashPlan.id).where(CashPlan.city_code == city_code, CashPlan.year == year, CashPlan.quarter == quarter)
    ):
        raise Conflict(f"{region.name}{R.label(year, quarter)}用款计划已存在")
    fc = forecast(session, city_code, year, quarter)
    plan = CashPlan(
        city_code=city_code,
        year=year,
        quarter=quarter,
        status="draft",
        forecast_fen=fc.total_fen,
        requested_fen=fc.total_fen,
        made_by=actor.user_id,
        made_at=clock.now(),
    )
    session.add(plan)
    session.flush()
    for item, (fen, basis) in fc.items.items():
        session.add(CashPlanLine(plan_id=plan.id, item=item, forecast_fen=fen, requested_fen=fen, basis=basis))
    session.flush()
    _record(session, actor, "fund.cashplan.prefill", plan, None, lines={k: v[0] for k, v in fc.items.items()})
    return plan


def update(session: Session, actor: Principal, plan_id: int, requested: dict[str, int], note: str = "") -> CashPlan:
    """Set what the city requests per item (items not named keep theirs) while the plan is a draft or
    returned."""
    plan = get(session, actor, plan_id, for_update=True)
    _can_edit(actor, plan.city_code)
    if plan.status not in R.EDITABLE:
        raise IllegalTransition(f"用款计划当前为“{R.STATUS_NAMES[plan.status]}”，不能修改")
    before = _snapshot(plan)
    lines = {x.item: x for x in lines_of(session, plan)}
    changed = {}
    for item, fen in requested.items():
        if item not in lines:
            raise DomainError(f"未知的待遇项目：{item}", field="requested")
        why = R.check_requested(int(fen))
        if why:
            raise DomainError(f"{rules.ITEM_NAMES.get(item, item)}：{why}", field=f"requested_{item}")
        if lines[item].requested_fen != int(fen):
            changed[item] = [lines[item].requested_fen, int(fen)]
            lines[item].requested_fen = int(fen)
    plan.requested_fen = sum(x.requested_fen for x in lines.values())
    if note.strip():
        plan.note = note.strip()[:500]
    session.flush()
    _record(session, actor, "fund.cashplan.update", plan, before, changed=changed, note=plan.note)
    return plan


def submit(session: Session, actor: Principal, plan_id: int) -> CashPlan:
    plan = get(session, actor, plan_id, for_update=True)
    _can_edit(actor, plan.city_code)
    before = _snapshot(plan)
    _transition(plan, "submit")
    if plan.requested_fen <= 0:
        raise DomainError("申请金额合计为零，无需报送", field="requested")
    plan.submitted_at = clock.now()
    session.flush()
    _record(session, actor, "fund.cashplan.submit", plan, before)
    return plan


def _reviewer(actor: Principal) -> None:
    if not actor.can(P.FUND_CASHPLAN_REVIEW):
        raise Forbidden(f"当前角色（{actor.role.name}）无权审核用款计划")


def approve(session: Session, actor: Principal, plan_id: int, approved_fen: int, note: str = "") -> CashPlan:
    """The region approves ``approved_fen`` (at most the request; a cut needs a note)."""
    _reviewer(actor)
    plan = get(session, actor, plan_id, for_update=True)
    before = _snapshot(plan)
    why = R.check_transition("approve", plan.status)
    if why:
        raise IllegalTransition(why)
    why = R.check_approval(plan.requested_fen, int(approved_fen), note)
    if why:
        raise DomainError(why, field="approved_fen" if "审核意见" not in why else "note")
    _transition(plan, "approve")
    plan.approved_fen = int(approved_fen)
    plan.reviewed_by, plan.reviewed_at = actor.user_id, clock.now()
    session.flush()
    _record(session, actor, "fund.cashplan.approve", plan, before, note=note.strip()[:500])
    return plan


def return_(session: Session, actor: Principal, plan_id: int, reason: str) -> CashPlan:
    """The region returns the plan to the city with a reason; the city changes and submits it again."""
    _reviewer(actor)
    plan = get(session, actor, plan_id, for_update=True)
    before = _snapshot(plan)
    if not (reason or "").strip():
        raise DomainError("请填写退回理由", field="reason")
    _transition(plan, "return")
    plan.reviewed_by, plan.reviewed_at = actor.user_id, clock.now()
    session.flush()
    _record(session, actor, "fund.cashplan.return", plan, before, reason=reason.strip()[:500])
    return plan


def fiscal_balance(session: Session) -> int:
    """The fiscal special account's posted balance (1001 at the region), all periods."""
    return int(
        session.scalar(
            select(func.coalesce(func.sum(EntryLine.debit_fen - EntryLine.credit_fen), 0)).where(
                EntryLine.posted, EntryLine.subject_code == rules.FISCAL, EntryLine.city_code == rules.PROVINCE
            )
        )
        or 0
    )


def allocate(session: Session, actor: Principal, plan_id: int, amount_fen: int, on: dt.date) -> CashPlan:
    """Finance allocates ``amount_fen`` on ``on`` to the city's expenditure account: the allocation
    entry is posted, the plan is allocated. Never more than approved; what the occupational-injury
    money's own balance does not cover is stated (the work-injury fund covers it: rules.shortfall)."""
    if not actor.can(P.FUND_ALLOCATE):
        raise Forbidden(f"当前角色（{actor.role.name}）无权登记资金拨付")
    plan = get(session, actor, plan_id, for_update=True)
    before = _snapshot(plan)
    why = R.check_transition("allocate", plan.status)
    if why:
        raise IllegalTransition(why)
    if on is None or on > clock.today():
        raise DomainError("拨付日期不能晚于今天", field="on")
    # One posting at a time: the balance read here is the one the entry is checked against.
    session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": posting.POST_LOCK})
    why = R.check_allocation(plan.approved_fen or 0, int(amount_fen))
    if why:
        raise DomainError(why, field="amount_fen")
    short = R.shortfall(int(amount_fen), fiscal_balance(session))
    name = city_names(session).get(plan.city_code, plan.city_code)
    ref = f"{name} {R.label(plan.year, plan.quarter)}用款计划"
    [entry_id] = posting.post(
        session,
        actor,
        [
            posting.NewEntry(
                kind="allocation",
                entry_date=on,
                summary=f"拨付{ref}资金",
                legs=rules.allocation_legs(plan.city_code, int(amount_fen)),
                source_type="cash_plan",
                source_id=plan.id,
                source_ref=ref,
                note=R.shortfall_note(short),
            )
        ],
        made_by=actor.user_id,
        checked_by=None,
    )
    _transition(plan, "allocate")
    plan.allocated_fen, plan.allocated_on, plan.allocated_by, plan.entry_id = (
        int(amount_fen),
        on,
        actor.user_id,
        entry_id,
    )
    session.flush()
    if short:
        plan.note = "；".join(x for x in (plan.note, R.shortfall_note(short)) if x)
    _record(session, actor, "fund.cashplan.allocate", plan, before, entry_id=entry_id, shortfall_fen=short)
    return plan


# ---- reading -------------------------------------------------------------------------------------


ACTION_STATUS = {
    "fund.cashplan.prefill": "draft",
    "fund.cashplan.submit": "submitted",
    "fund.cashplan.approve": "approved",
    "fund.cashplan.return": "returned",
    "fund.cashplan.allocate": "allocated",
    "fund.cashplan.update": None,
}


def history(session: Session, plan: CashPlan) -> list[dict[str, Any]]:
    """The plan's acts, oldest first, from the audit trail."""
    rows = session.scalars(
        select(AuditEvent)
        .where(AuditEvent.entity_type == ENTITY, AuditEvent.entity_id == str(plan.id))
        .order_by(AuditEvent.seq)
    )
    out = []
    for ev in rows:
        after = ev.after or {}
        out.append(
            {
                "at": clock.iso(ev.at),
                "at_dt": ev.at,
                "actor": ev.actor,
                "action": ev.action,
                "action_name": audit.ACTION_NAMES.get(ev.action, ev.action),
                "status": after.get("status"),
                "status_name": R.STATUS_NAMES.get(after.get("status") or "", ""),
                "note": after.get("reason") or after.get("note") or "",
            }
        )
    return out


def plan_dict(session: Session, plan: CashPlan, *, lines: bool = False, names: dict[str, str] | None = None) -> dict:
    names = names if names is not None else city_names(session)
    out: dict[str, Any] = {
        "id": plan.id,
        "city_code": plan.city_code,
        "city_name": names.get(plan.city_code, plan.city_code),
        "year": plan.year,
        "quarter": plan.quarter,
        "label": R.label(plan.year, plan.quarter),
        "status": plan.status,
        "status_name": R.STATUS_NAMES.get(plan.status, plan.status),
        "forecast_fen": plan.forecast_fen,
        "requested_fen": plan.requested_fen,
        "approved_fen": plan.approved_fen,
        "allocated_fen": plan.allocated_fen,
        "allocated_on": plan.allocated_on.isoformat() if plan.allocated_on else None,
        "entry_id": plan.entry_id,
        "made_at": clock.iso(plan.made_at),
        "submitted_at": clock.iso(plan.submitted_at),
        "reviewed_at": clock.iso(plan.reviewed_at),
        "note": plan.note,
    }
    if lines:
        out["lines"] = [
            {
                "item": x.item,
                "item_name": rules.ITEM_NAMES.get(x.item, x.item),
                "forecast_fen": x.forecast_fen,
                "requested_fen": x.requested_fen,
                "basis": x.basis,
            }
            for x in lines_of(session, plan)
        ]
        out["history"] = [{k: v for k, v in h.items() if k != "at_dt"} for h in history(session, plan)]
    return out


def execution(
    session: Session, year: int, quarter: int | None = None, city: str | None = None, *, actor: Principal | None = None
) -> list[dict[str, Any]]:
    """Per city and quarter of ``year`` (one quarter, one city, or all): requested, approved,
    allocated, actual use (posted 5001xx expenditure in the city in the quarter's months, net of
    reversals), remaining and use rate; per item actual against requested. ``actor`` limits it to
    the actor's scope (a city officer: its city)."""
    quarters = [quarter] if quarter else [1, 2, 3, 4]
    names = city_names(session)
    city_list = [c.code for c in cities(session, actor)]
    if city:
        city_list = [c for c in city_list if c == city]
    plans = {
        (p.city_code, p.quarter): p
        for p in session.scalars(
            select(CashPlan).where(
                CashPlan.year == year, CashPlan.quarter.in_(quarters), CashPlan.city_code.in_(city_list)
            )
        )
    }
    plan_lines: dict[int, dict[str, int]] = defaultdict(dict)
    if plans:
        for pid, item, fen in session.execute(
            select(CashPlanLine.plan_id, CashPlanLine.item, CashPlanLine.requested_fen).where(
                CashPlanLine.plan_id.in_([p.id for p in plans.values()])
            )
        ):
            plan_lines[pid][item] = int(fen)
    # Actual use, one query: city × period × subject.
    periods = [p for q in quarters for p in R.quarter_periods(year, q)]
    used: dict[tuple[str, int], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    if city_list:
        for c, period, code, fen in session.execute(
            select(
                EntryLine.city_code,
                EntryLine.period,
                EntryLine.subject_code,
                func.sum(EntryLine.debit_fen - EntryLine.credit_fen),
            )
            .where(
                EntryLine.posted,
                EntryLine.city_code.in_(city_list),
                EntryLine.subject_code.like(rules.EXPENSE + "%"),
                EntryLine.period.in_(periods),
            )
            .group_by(EntryLine.city_code, EntryLine.period, EntryLine.subject_code)
        ):
            q = (int(period[5:7]) - 1) // 3 + 1
            used[(c, q)][SUBJECT_ITEMS.get(code, "other")] += int(fen)
    out = []
    for q in quarters:
        for c in city_list:
            plan = plans.get((c, q))
            actual_items = dict(used.get((c, q), {}))
            if plan is None and not actual_items:
                continue
            actual = sum(actual_items.values())
            allocated = plan.allocated_fen if plan else None
            requested_items = plan_lines.get(plan.id, {}) if plan else {}
            items = [
                {
                    "item": item,
                    "item_name": rules.ITEM_NAMES.get(item, "其他支出"),
                    "requested_fen": requested_items.get(item, 0),
                    "actual_fen": actual_items.get(item, 0),
                }
                for item in [*ITEMS, "other"]
                if requested_items.get(item) or actual_items.get(item)
            ]
            out.append(
                {
                    "city_code": c,
                    "city_name": names.get(c, c),
                    "year": year,
                    "quarter": q,
                    "label": R.label(year, q),
                    "plan_id": plan.id if plan else None,
                    "status": plan.status if plan else None,
                    "status_name": R.STATUS_NAMES.get(plan.status, "") if plan else "未编制",
                    "requested_fen": plan.requested_fen if plan else 0,
                    "approved_fen": plan.approved_fen if plan else None,
                    "allocated_fen": allocated,
                    "actual_fen": actual,
                    "remaining_fen": (allocated or 0) - actual,
                    "use_rate": R.use_rate(actual, allocated),
                    "items": items,
                }
            )
    return out


def suggested_quarter(today: dt.date) -> list[tuple[int, int]]:
    """The quarters a city may draft a plan for now: the current and the next."""
    cur = R.quarter_of(today)
    return [cur, R.next_quarter(*cur)]


__all__ = [
    "allocate",
    "approve",
    "execution",
    "forecast",
    "get",
    "list_plans",
    "prefill",
    "return_",
    "submit",
    "update",
]
