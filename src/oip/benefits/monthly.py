"""Monthly benefits (定期待遇): the service — start from an approved determination, the monthly
schedule of payables, dated stops, the yearly eligibility confirmation (领取待遇资格认证) and the
re-rating after a parameter change (调整). The decisions are pure (oip.benefits.monthly_rules);
payables are written only through oip.benefits.payables.

Every month of a benefit is kept equal to what it should owe by one routine, ``_reconcile``: for
each month it compares the payables (monthly and arrears, not cancelled) with the rate in force
(0 when the month is not owed: before the start, after a stop) and cancels unpaid surplus, owes a
shortfall once (``arrears:{id}:{YYYY-MM}:r{rate id}``), or lists what was already paid beyond it as
an overpayment to recover (应追回). So a month never owes more than its rate unless the excess was
already paid — and that excess is shown, not forgotten.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, exists, func, or_, select
from sqlalchemy.orm import Session

from oip.auth.service import Principal
from oip.benefits import calc, hooks, monthly_rules as R, payables, service as benefits_service
from oip.benefits.calc import ITEM_NAMES, MONTHLY_ITEMS
from oip.benefits.models import (
    Dependant,
    Determination,
    DeterminationLine,
    EligibilityConfirmation,
    MonthlyBenefit,
    MonthlyRate,
    Payable,
)
from oip.cases import service as cases
from oip.cases.models import Case
from oip.cases.scope import case_condition
from oip.core import audit, clock
from oip.core.errors import DomainError, NotFound
from oip.core.ids import mask_name
from oip.core.months import parse_month
from oip.reference import parameters
from oip.reference.parameters import Definition
from oip.workers.models import Person

PAY_DAY = "benefit.monthly_pay_day"
PAUSE_REASON = "未按期完成领取待遇资格认证，暂停发放"
LIST_PAGE = 50


def _pay_day(v: Any) -> int:
    if not isinstance(v, int) or isinstance(v, bool) or not 1 <= v <= 28:
        raise DomainError("定期待遇发放日应为 1 至 28 之间的整数", field="value")
    return v


parameters.define(
    Definition(
        PAY_DAY,
        "定期待遇每月发放日",
        10,
        _pay_day,
        "每月定期待遇应付明细的应付日（1–28 日），可按地区设置 [P]",
        regional=True,
    )
)
audit.register_actions(
    {
        "benefit.monthly_start": "定期待遇开始发放",
        "benefit.monthly_redetermine": "定期待遇按新版本核定调整",
        "benefit.monthly_run": "生成月度定期待遇应付明细",
        "benefit.monthly_stop": "定期待遇停发",
        "benefit.monthly_pause": "定期待遇暂停发放（未按期资格认证）",
        "benefit.monthly_resume": "定期待遇恢复发放（资格认证后补发）",
        "benefit.monthly_eligibility": "登记领取待遇资格认证",
        "benefit.monthly_rerate": "定期待遇调整（调待）",
    }
)
audit.register_entity_names("benefit_monthly", "定期待遇")
cases.register_event_names(
    {
        "monthly_start": "定期待遇开始发放",
        "monthly_stop": "定期待遇停发",
        "monthly_pause": "定期待遇暂停发放",
        "monthly_resume": "定期待遇恢复发放",
        "monthly_eligibility": "领取待遇资格认证",
        "monthly_rerate": "定期待遇调整",
    }
)


# ---- scope and reads ------------------------------------------------------------------------------


def monthly_condition(p: Principal) -> ColumnElement[bool]:
    """A monthly benefit is in scope when its case is (region, or the worker's own case)."""
    return exists(select(Case.id).where(Case.id == MonthlyBenefit.case_id, case_condition(p)))


def get_monthly(session: Session, actor: Principal, monthly_id: int, *, for_update: bool = False) -> MonthlyBenefit:
    q = select(MonthlyBenefit).where(MonthlyBenefit.id == monthly_id, monthly_condition(actor))
    if for_update:
        q = q.with_for_update(of=MonthlyBenefit)
    mb = session.scalar(q)
    if mb is None:
        raise NotFound("定期待遇不存在或不在您的管辖范围内")
    return mb


def rates_of(session: Session, mb: MonthlyBenefit) -> list[MonthlyRate]:
    return list(
        session.scalars(select(MonthlyRate).where(MonthlyRate.monthly_id == mb.id).order_by(MonthlyRate.from_month))
    )


def payables_of(session: Session, mb: MonthlyBenefit) -> list[Payable]:
    return list(
        session.scalars(
            select(Payable)
            .where(Payable.monthly_id == mb.id, Payable.kind.in_(("monthly", "arrears")))
            .order_by(Payable.period, Payable.id)
        )
    )


def natural_end(session: Session, mb: MonthlyBenefit) -> R.End | None:
    """A dependant's pension ends on its own (death, 18, school); the worker's only when recorded."""
    if mb.dependant_id is None:
        return None
    d = session.get(Dependant, mb.dependant_id)
    return R.dependant_end(d.relation, d.birth_date, d.school_until, d.died_on)


def last_month(session: Session, mb: MonthlyBenefit) -> dt.date | None:
    return R.last_month(mb.stopped_on, natural_end(session, mb))


def rate_now(rates: list[MonthlyRate], month: dt.date) -> MonthlyRate | None:
    best = None
    for r in rates:
        if r.from_month <= month:
            best = r
    return best


def pay_day(session: Session, mb: MonthlyBenefit, month: dt.date) -> dt.date:
    return month.replace(day=parameters.get(session, PAY_DAY, month, mb.region_code))


# ---- one month, kept right -----------------------------------------------------------------------


@dataclass
class Counts:
    created: int = 0  # the month's own payables
    held: int = 0  # of the payables added, those held (paused recipient)
    arrears: int = 0
    owed_fen: int = 0
    cancelled: int = 0
    cancelled_fen: int = 0
    paused: int = 0
    stopped: int = 0
    benefits: int = 0
    overpaid_fen: int = 0

    def add(self, other: Counts) -> None:
        for k in self.__dataclass_fields__:
            setattr(self, k, getattr(self, k) + getattr(other, k))

    def as_dict(self) -> dict[str, int]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


def _add(
    session: Session,
    mb: MonthlyBenefit,
    case: Case,
    month: dt.date,
    amount: int,
    kind: str,
    key: str,
    due_on: dt.date,
    counts: Counts,
) -> None:
    # a paused recipient's months are held; so are those of a pension that ended while paused
    held = mb.status == "paused" or (mb.status == "stopped" and mb.paused_on is not None)
    base, n = key, 1
    while session.scalar(select(Payable.id).where(Payable.key == key)) is not None:
        n += 1  # a key used before (and since cancelled): the month's plan saw it, owe afresh
        key = f"{base}:{n}"
    payables.add(
        session,
        line=session.get(DeterminationLine, mb.line_id),
        case_id=case.id,
        amount_fen=amount,
        key=key,
        due_on=due_on,
        region_code=case.county_code,
        person_id=mb.person_id,
        dependant_id=mb.dependant_id,
        kind=kind,
        period=month,
        monthly_id=mb.id,
        hold_reason=PAUSE_REASON if held else None,
    )
    counts.owed_fen += amount
    if kind == "monthly":
        counts.created += 1
    else:
        counts.arrears += 1
    if held:
        counts.held += 1


def _reconcile(session: Session, mb: MonthlyBenefit, upto: dt.date, *, cancel_reason: str) -> Counts:
    """Make every month of ``mb`` up to ``upto`` (and every month that already has a payable) owe
    what it should: new months get their payable (catch-up), owed months are corrected."""
    counts = Counts()
    case = session.get(Case, mb.case_id)
    rates = rates_of(session, mb)
    last = last_month(session, mb)
    by_month: dict[dt.date, list[Payable]] = defaultdict(list)
    for p in payables_of(session, mb):
        by_month[p.period].append(p)
    if mb.paid_through is not None and mb.paid_through > upto:
        upto = mb.paid_through  # months already scheduled stay scheduled (an earlier month's run)
    end = upto if last is None else min(upto, last)
    wanted = set(R.months(mb.starts_on, end))
    today = clock.today()
    for month in sorted(wanted | set(by_month)):
        target = R.rate_in_force([(r.from_month, r.amount_fen) for r in rates], month) if month in wanted else 0
        rows = by_month.get(month, [])
        plan = R.plan_month(target, [R.Owed(p.id, p.kind, p.status, p.amount_fen) for p in rows])
        for p in rows:
            if p.id in plan.cancel:
                payables.cancel(p, cancel_reason)
                counts.cancelled += 1
                counts.cancelled_fen += p.amount_fen
        if plan.add_fen:
            if not any(p.kind == "monthly" for p in rows):
                _add(
                    session, mb, case, month, plan.add_fen, "monthly", f"monthly:{mb.id}:{R.ym(month)}",
                    pay_day(session, mb, month), counts,
                )  # fmt: skip
            else:
                rate = rate_now(rates, month)
                _add(
                    session, mb, case, month, plan.add_fen, "arrears", f"arrears:{mb.id}:{R.ym(month)}:r{rate.id}",
                    max(today, pay_day(session, mb, month)), counts,
                )  # fmt: skip
        counts.overpaid_fen += plan.overpaid_fen
    if wanted:
        mb.paid_through = max(wanted) if mb.paid_through is None else max(mb.paid_through, max(wanted))
    return counts


# ---- start: an approved determination --------------------------------------------------------------


def _recipient_key(line: DeterminationLine) -> tuple[str, int | None]:
    return line.item, line.dependant_id


def _first_rate(session: Session, mb: MonthlyBenefit, line: DeterminationLine, det: Determination) -> None:
    """The determination's amount from the line's first month; rates from that month on are replaced
    (a row at the same month is replaced by a new row, so arrears keys stay unique per rate)."""
    from_month = R.month_of(mb.starts_on)
    for r in rates_of(session, mb):
        if r.from_month >= from_month:
            session.delete(r)
    session.flush()
    session.add(
        MonthlyRate(
            monthly_id=mb.id,
            from_month=from_month,
            amount_fen=line.amount_fen,
            reason="determination",
            formula=f"待遇核定第 {det.version} 版：{line.formula}",
            parameters=list(line.parameters or []),
            created_at=clock.now(),
        )
    )
    session.flush()


def on_approved(session: Session, actor: Any, det: Determination) -> None:
    """ON_APPROVED hook: one monthly benefit per monthly line of an approved benefits determination
    (the worker's allowance and nursing fee; one pension per dependant). A later approved version of
    the same chain takes over its benefits: the new line's amount replaces the rates from the line's
    first month (months already owed are corrected: arrears for more, unpaid surplus cancelled, paid
    surplus shown to recover); an item the new version no longer has stops on its approval day."""
    if det.purpose != "benefits":
        return
    case = session.get(Case, det.case_id)
    chain = det.chain_id or det.id
    lines = list(
        session.scalars(
            select(DeterminationLine).where(
                DeterminationLine.determination_id == det.id,
                DeterminationLine.monthly.is_(True),
                DeterminationLine.item.in_(MONTHLY_ITEMS),
                DeterminationLine.amount_fen > 0,
            )
        )
    )
    existing = {
        (mb.item, mb.dependant_id): mb
        for mb in session.scalars(
            select(MonthlyBenefit)
            .join(DeterminationLine, DeterminationLine.id == MonthlyBenefit.line_id)
            .join(Determination, Determination.id == DeterminationLine.determination_id)
            .where(func.coalesce(Determination.chain_id, Determination.id) == chain)
            .with_for_update(of=MonthlyBenefit)
        )
    }
    approved_on = det.approved_on or clock.today()
    today = clock.today()
    seen = set()
    for line in lines:
        key = _recipient_key(line)
        seen.add(key)
        starts_on = first_day_of(line, det)
        mb = existing.get(key)
        if mb is None:
            mb = MonthlyBenefit(
                case_id=case.id,
                line_id=line.id,
                item=line.item,
                person_id=None if line.dependant_id else case.person_id,
                dependant_id=line.dependant_id,
                region_code=case.county_code,
                starts_on=starts_on,
                status="active",
                eligibility_due=R.eligibility_due(approved_on),
                created_at=clock.now(),
            )
            session.add(mb)
            session.flush()
            _first_rate(session, mb, line, det)
            cases.record_event(
                session, actor, case, "monthly_start", on=approved_on,
                note=f"{_item_name(mb)}：{_recipient(session, mb)}，每月 {_yuan(line.amount_fen)}，"
                f"自 {R.ym(R.month_of(starts_on))} 起",
                detail={"monthly_id": mb.id, "line_id": line.id, "amount_fen": line.amount_fen},
                audit_action="benefit.monthly_start",
            )  # fmt: skip
            continue
        if mb.status == "stopped":
            continue  # a stop is final; a new version does not restart it
        before = {"line_id": mb.line_id, "starts_on": mb.starts_on, "rates": _rates_out(rates_of(session, mb))}
        mb.line_id, mb.starts_on = line.id, starts_on
        _first_rate(session, mb, line, det)
        counts = _reconcile(session, mb, _owed_upto(mb), cancel_reason=f"待遇核定第 {det.version} 版重新核定")
        audit.record(
            session, actor, "benefit.monthly_redetermine", entity_type="benefit_monthly", entity_id=mb.id,
            before=before, after={"line_id": line.id, "starts_on": starts_on, "rates": _rates_out(rates_of(session, mb)),
                                  **counts.as_dict()},
            subjects=[case.person_id],
        )  # fmt: skip
    for key, mb in existing.items():
        if key not in seen and mb.status != "stopped":
            _stop(session, actor, mb, approved_on, "superseded", f"待遇核定第 {det.version} 版", today)


def first_day_of(line: DeterminationLine, det: Determination) -> dt.date:
    """When a monthly line starts: its own ``starts_on``; else, for an injury, the day of the appraisal
    conclusion the determination used (``inputs.concluded_on``); else the event date."""
    if line.starts_on is not None:
        return line.starts_on
    concluded = (det.inputs or {}).get("concluded_on")
    if det.kind == "injury" and concluded:
        return dt.date.fromisoformat(concluded)
    return det.event_date


def _owed_upto(mb: MonthlyBenefit) -> dt.date:
    """The months already scheduled (a re-determination corrects them; run_month owes the rest)."""
    return mb.paid_through or R.add_months(R.month_of(mb.starts_on), -1)


hooks.ON_APPROVED.append(on_approved)


# ---- the monthly run -------------------------------------------------------------------------------


def _pause(session: Session, actor: Any, mb: MonthlyBenefit, counts: Counts) -> None:
    mb.status = "paused"
    mb.paused_on = mb.eligibility_due + dt.timedelta(days=1)
    held = 0
    for p in payables_of(session, mb):
        if p.status == "due":
            payables.hold(p, PAUSE_REASON)
            held += 1
    counts.paused += 1
    cases.record_event(
        session, actor, session.get(Case, mb.case_id), "monthly_pause", on=mb.paused_on,
        note=f"{_item_name(mb)}：{_recipient(session, mb)} 未在 {mb.eligibility_due} 前完成领取待遇资格认证，暂停发放",
        detail={"monthly_id": mb.id, "eligibility_due": mb.eligibility_due, "held": held},
        audit_action="benefit.monthly_pause",
    )  # fmt: skip


def sweep(session: Session, actor: Any, mb: MonthlyBenefit, today: dt.date, counts: Counts) -> None:
    """Dated conditions as of ``today``: a dependant's pension past its natural end is stopped; an
    active recipient not confirmed by the eligibility date is paused."""
    end = natural_end(session, mb)
    if mb.status != "stopped" and end is not None and R.month_of(end.on) < R.month_of(today):
        _stop(session, actor, mb, end.on, end.reason, "", today)
        counts.stopped += 1
    if mb.status == "active" and mb.eligibility_due is not None and today > mb.eligibility_due:
        _pause(session, actor, mb, counts)


def run_month(session: Session, actor: Any, month: str, *, case_id: int | None = None) -> Counts:
    """Owe every monthly benefit in scope its payables up to ``month`` (YYYY-MM): the month itself and
    any month since the start not owed yet (catch-up), never before the start or after a stop, held
    while the recipient is paused. Running again owes nothing more. Audited with the counts."""
    m = parse_month(month)
    upto = dt.date(int(m[:4]), int(m[5:]), 1)
    today = clock.today()
    if upto > R.month_of(today):
        raise DomainError(f"不能生成未来月份（{m}）的定期待遇", field="month")
    # Stopped benefits too while a month before the stop is not owed yet (the stop's month is owed).
    q = (
        select(MonthlyBenefit)
        .where(
            or_(
                MonthlyBenefit.status != "stopped",
                MonthlyBenefit.paid_through.is_(None),
                MonthlyBenefit.paid_through < func.date_trunc("month", MonthlyBenefit.stopped_on),
            )
        )
        .order_by(MonthlyBenefit.id)
    )
    if isinstance(actor, Principal):
        q = q.where(monthly_condition(actor))
    if case_id is not None:
        q = q.where(MonthlyBenefit.case_id == case_id)
    total = Counts()
    for mb in session.scalars(q.with_for_update(of=MonthlyBenefit)).all():
        total.benefits += 1
        if mb.status != "stopped":
            sweep(session, actor, mb, today, total)
        total.add(_reconcile(session, mb, upto, cancel_reason="超出应发月份或标准"))
    audit.record(
        session, actor, "benefit.monthly_run", entity_type="benefit_month", entity_id=m,
        after={"month": m, "case_id": case_id, **total.as_dict()},
    )  # fmt: skip
    return total


audit.register_entity_names("benefit_month", "定期待遇月份")


# ---- stops -----------------------------------------------------------------------------------------


def _stop(
    session: Session, actor: Any, mb: MonthlyBenefit, on: dt.date, reason: str, note: str, today: dt.date
) -> None:
    mb.status = "stopped"
    mb.stopped_on = on
    mb.stop_reason = f"{reason}:{note}" if note else reason
    counts = _reconcile(session, mb, _owed_upto(mb), cancel_reason=f"停发：{R.STOP_REASONS[reason]}")
    case = session.get(Case, mb.case_id)
    over = overpayments(session, mb)
    cases.record_event(
        session, actor, case, "monthly_stop", on=min(on, today),
        note=f"{_item_name(mb)}：{_recipient(session, mb)}，{R.STOP_REASONS[reason]}（{on}），"
        f"自 {R.ym(R.add_months(R.month_of(on), 1))} 起停发" + (f"；{note}" if note else "")
        + (f"；应追回 {_yuan(sum(o['amount_fen'] for o in over))}" if over else ""),
        detail={"monthly_id": mb.id, "stopped_on": on, "reason": reason, "cancelled": counts.cancelled,
                "cancelled_fen": counts.cancelled_fen, "overpaid": over},
        audit_action="benefit.monthly_stop",
    )  # fmt: skip


def stop(
    session: Session, actor: Principal, monthly_id: int, *, on: dt.date, reason: str, note: str = ""
) -> MonthlyBenefit:
    """An officer records a stopping condition on a date: the month of ``on`` is the last owed;
    unpaid months after it are cancelled and months after it already paid are listed to recover."""
    if reason not in R.OFFICER_STOP_REASONS:
        raise DomainError("请选择停发原因", field="reason")
    today = clock.today()
    if on > today:
        raise DomainError("停发日期不能晚于今天", field="on")
    mb = get_monthly(session, actor, monthly_id, for_update=True)
    if mb.status == "stopped":
        raise DomainError(f"该定期待遇已于 {mb.stopped_on} 停发", field="reason")
    if reason == "death" and mb.dependant_id is not None:
        d = session.get(Dependant, mb.dependant_id)
        d.died_on = d.died_on or on
    _stop(session, actor, mb, on, reason, note.strip()[:500], today)
    return mb


def overpayments(session: Session, mb: MonthlyBenefit) -> list[dict[str, Any]]:
    """Months paid (or at the bank) beyond what they should owe: 应追回, with the amounts."""
    rates = [(r.from_month, r.amount_fen) for r in rates_of(session, mb)]
    last = last_month(session, mb)
    by_month: dict[dt.date, list[Payable]] = defaultdict(list)
    for p in payables_of(session, mb):
        by_month[p.period].append(p)
    out = []
    for month, rows in sorted(by_month.items()):
        target = R.rate_in_force(rates, month) if R.entitled(month, mb.starts_on, last) else 0
        plan = R.plan_month(target, [R.Owed(p.id, p.kind, p.status, p.amount_fen) for p in rows])
        if plan.overpaid_fen:
            at_bank = any(p.status == "batched" for p in rows)
            out.append({"month": R.ym(month), "amount_fen": plan.overpaid_fen, "at_bank": at_bank})
    return out


# ---- eligibility (领取待遇资格认证) -------------------------------------------------------------------


def confirm_eligibility(
    session: Session, actor: Principal, monthly_id: int, *, confirmed_on: dt.date, means: str, note: str = ""
) -> list[MonthlyBenefit]:
    """Record that the recipient was confirmed on a day; it covers every monthly benefit of the same
    recipient on the case. The next confirmation is due a year on; a paused benefit resumes and its
    held months are released (arrears paid with the next batch)."""
    if means not in R.MEANS:
        raise DomainError("请选择认证方式", field="means")
    today = clock.today()
    if confirmed_on > today:
        raise DomainError("认证日期不能晚于今天", field="confirmed_on")
    mb = get_monthly(session, actor, monthly_id, for_update=True)
    if mb.status == "stopped" and not _held_by_pause(session, mb):
        raise DomainError("该定期待遇已停发，无需资格认证", field="means")
    same = [mb] if mb.status == "stopped" else []
    same += list(
        session.scalars(
            select(MonthlyBenefit)
            .where(
                MonthlyBenefit.case_id == mb.case_id,
                MonthlyBenefit.status != "stopped",
                MonthlyBenefit.person_id == mb.person_id
                if mb.person_id is not None
                else MonthlyBenefit.dependant_id == mb.dependant_id,
            )
            .order_by(MonthlyBenefit.id)
            .with_for_update()
        )
    )
    case = session.get(Case, mb.case_id)
    note = note.strip()[:500]
    for b in same:
        session.add(
            EligibilityConfirmation(
                monthly_id=b.id, confirmed_on=confirmed_on, means=means, note=note,
                recorded_by=getattr(actor, "user_id", None), recorded_at=clock.now(),
            )
        )  # fmt: skip
        before = {"eligibility_due": b.eligibility_due, "status": b.status}
        b.eligibility_due = max(b.eligibility_due or confirmed_on, R.eligibility_due(confirmed_on))
        if b.status in ("paused", "stopped") and b.eligibility_due >= today:
            released = 0
            for p in _held_by_pause(session, b):
                payables.release(p)
                released += 1
            if b.status == "paused":
                b.status = "active"
            b.paused_on = None
            cases.record_event(
                session, actor, case, "monthly_resume", on=confirmed_on,
                note=f"{_item_name(b)}：{_recipient(session, b)} 已完成资格认证，恢复发放，补发暂停期间 {released} 笔",
                detail={"monthly_id": b.id, "released": released},
                audit_action="benefit.monthly_resume",
            )  # fmt: skip
        audit.record(
            session, actor, "benefit.monthly_eligibility", entity_type="benefit_monthly", entity_id=b.id,
            before=before, after={"eligibility_due": b.eligibility_due, "status": b.status, "means": means,
                                  "confirmed_on": confirmed_on},
            subjects=[case.person_id],
        )  # fmt: skip
    session.flush()
    return same


def _held_by_pause(session: Session, mb: MonthlyBenefit) -> list[Payable]:
    return [p for p in payables_of(session, mb) if p.status == "held" and p.failure_reason == PAUSE_REASON]


# ---- re-rating (调整) --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Rated:
    """A recomputed monthly amount and how it was reached."""

    amount_fen: int
    formula: str
    parameters: tuple[str, ...] = ()


# (session, benefit, its line, its determination, the adjustment month) → the amount in force from
# that month, or None when it is not re-rated (the function boundary of ``rerate``; tests pass one).
Compute = Callable[[Session, MonthlyBenefit, DeterminationLine, Determination, dt.date], Rated | None]


def requote(
    session: Session, mb: MonthlyBenefit, line: DeterminationLine, det: Determination, month: dt.date
) -> Rated | None:
    """The calculator's amount for the benefit's line: the determination's own inputs (event, region,
    kind, grade, self-care, dependants) under the parameters in force in ``month`` — the one exception
    to "parameters apply by the event date" (调整 re-rates existing pensioners). A line the officer
    adjusted (amount ≠ proposal) is not re-rated: it takes a new determination version."""
    if line.amount_fen != line.proposed_fen:
        return None
    x = det.inputs or {}
    inp = calc.QuoteInput(
        event_date=det.event_date,
        region_code=det.region_code,
        kind=det.kind,
        grade=x.get("grade"),
        self_care=x.get("self_care") or "none",
        dependants=tuple(
            calc.DependantIn(d["relation"], bool(d.get("orphan_or_lone_elderly")), ref=d.get("id"))
            for d in x.get("dependants") or []
        ),
    )
    quote = calc.quote(inp, benefits_service.rates_for(session, month, det.region_code))
    for q in quote.lines:
        if q.item == mb.item and (mb.dependant_id is None or q.dependant_ref == mb.dependant_id):
            return Rated(q.amount_fen, f"{R.ym(month)} 起按调整后的参数重算：{q.formula}", tuple(q.parameters))
    return None


def rerate(
    session: Session,
    actor: Any,
    from_month: str,
    *,
    compute: Compute | None = None,
    note: str = "",
    case_id: int | None = None,
) -> dict[str, int]:
    """调整: recompute each monthly benefit in scope from ``from_month`` on; where the amount differs a
    new rate starts that month (reason ``adjustment``) and months already owed since then are corrected
    (the difference owed as arrears; a lower rate cancels unpaid surplus and shows paid surplus)."""
    m = parse_month(from_month, "from_month")
    start = dt.date(int(m[:4]), int(m[5:]), 1)
    compute = compute or requote
    # Stopped benefits too when they were owed in or after the month (the adjustment reaches back).
    q = (
        select(MonthlyBenefit)
        .where(or_(MonthlyBenefit.status != "stopped", MonthlyBenefit.stopped_on >= start))
        .order_by(MonthlyBenefit.id)
    )
    if isinstance(actor, Principal):
        q = q.where(monthly_condition(actor))
    if case_id is not None:
        q = q.where(MonthlyBenefit.case_id == case_id)
    out = {
        "benefits": 0,
        "rerated": 0,
        "unchanged": 0,
        "not_rerated": 0,
        "arrears": 0,
        "arrears_fen": 0,
        "cancelled": 0,
    }
    for mb in session.scalars(q.with_for_update(of=MonthlyBenefit)).all():
        out["benefits"] += 1
        line = session.get(DeterminationLine, mb.line_id)
        det = session.get(Determination, line.determination_id)
        month = max(start, R.month_of(mb.starts_on))
        rated = compute(session, mb, line, det, month)
        rates = rates_of(session, mb)
        current = rate_now(rates, month)
        if rated is None:
            out["not_rerated"] += 1
            continue
        if current is not None and current.amount_fen == rated.amount_fen:
            out["unchanged"] += 1
            continue
        before = _rates_out(rates)
        same = next((r for r in rates if r.from_month == month), None)
        if same is not None:
            session.delete(same)  # replaced by a new row: arrears keys stay unique per rate
            session.flush()
        session.add(
            MonthlyRate(
                monthly_id=mb.id, from_month=month, amount_fen=rated.amount_fen, reason="adjustment",
                formula=rated.formula + (f"（{note}）" if note else ""), parameters=list(rated.parameters),
                created_at=clock.now(),
            )
        )  # fmt: skip
        session.flush()
        counts = _reconcile(session, mb, _owed_upto(mb), cancel_reason=f"{m} 起调整待遇标准")
        out["rerated"] += 1
        out["arrears"] += counts.arrears
        out["arrears_fen"] += counts.owed_fen
        out["cancelled"] += counts.cancelled
        case = session.get(Case, mb.case_id)
        cases.record_event(
            session, actor, case, "monthly_rerate", on=clock.today(),
            note=f"{_item_name(mb)}：自 {R.ym(month)} 起每月 {_yuan(current.amount_fen if current else 0)} → "
            f"{_yuan(rated.amount_fen)}" + (f"，补发差额 {_yuan(counts.owed_fen)}" if counts.owed_fen else ""),
            detail={"monthly_id": mb.id, "before": before, "after": _rates_out(rates_of(session, mb)),
                    **counts.as_dict()},
            audit_action="benefit.monthly_rerate",
        )  # fmt: skip
    return out


# ---- views -----------------------------------------------------------------------------------------


_yuan = R.yuan


def _item_name(mb: MonthlyBenefit) -> str:
    return ITEM_NAMES.get(mb.item, mb.item)


def _recipient(session: Session, mb: MonthlyBenefit, masked: bool = True) -> str:
    if mb.dependant_id is not None:
        name = session.get(Dependant, mb.dependant_id).name
    else:
        name = session.get(Person, mb.person_id).name
    return mask_name(name) if masked else name


def _rates_out(rates: list[MonthlyRate]) -> list[dict[str, Any]]:
    return [
        {"id": r.id, "from_month": R.ym(r.from_month), "amount_fen": r.amount_fen, "reason": r.reason} for r in rates
    ]


def schedule(session: Session, mb: MonthlyBenefit) -> list[dict[str, Any]]:
    """Month by month, newest first: the rate, what is owed and in which state."""
    rates = rates_of(session, mb)
    by_month: dict[dt.date, list[Payable]] = defaultdict(list)
    for p in payables_of(session, mb):
        by_month[p.period].append(p)
    out = []
    for month in sorted(by_month, reverse=True):
        rows = by_month[month]
        live = [p for p in rows if p.status != "cancelled"]
        states = sorted({p.status for p in live}) or ["cancelled"]
        out.append(
            {
                "month": R.ym(month),
                "rate_fen": R.rate_in_force([(r.from_month, r.amount_fen) for r in rates], month),
                "owed_fen": sum(p.amount_fen for p in live),
                "paid_fen": sum(p.amount_fen for p in live if p.status == "paid"),
                "status": states[0] if len(states) == 1 else "mixed",
                "status_name": "、".join(payables.STATUS_NAMES[s] for s in states),
                "payables": [
                    {
                        "id": p.id, "key": p.key, "kind": p.kind, "kind_name": payables.KIND_NAMES[p.kind],
                        "amount_fen": p.amount_fen, "status": p.status, "status_name": payables.STATUS_NAMES[p.status],
                        "due_on": p.due_on.isoformat(), "reason": p.failure_reason,
                    }
                    for p in rows
                ],
            }
        )  # fmt: skip
    return out


def describe(session: Session, mb: MonthlyBenefit, *, months: int | None = 12) -> dict[str, Any]:
    rates = rates_of(session, mb)
    today = clock.today()
    current = rate_now(rates, R.month_of(today)) or (rates[0] if rates else None)
    end = natural_end(session, mb)
    reason, _, note = (mb.stop_reason or "").partition(":")
    sched = schedule(session, mb)
    over = overpayments(session, mb)
    last = last_month(session, mb)
    return {
        "id": mb.id,
        "case_id": mb.case_id,
        "item": mb.item,
        "item_name": _item_name(mb),
        "recipient": _recipient(session, mb),
        "recipient_kind": "dependant" if mb.dependant_id else "worker",
        "dependant_id": mb.dependant_id,
        "starts_on": mb.starts_on.isoformat(),
        "status": mb.status,
        "status_name": R.STATUS_NAMES[mb.status],
        "rate_fen": current.amount_fen if current else 0,
        "rates": [{**x, "formula": r.formula} for x, r in zip(_rates_out(rates), rates, strict=True)],
        "eligibility_due": mb.eligibility_due.isoformat() if mb.eligibility_due else None,
        "eligibility_soon": bool(mb.eligibility_due and mb.status == "active" and (mb.eligibility_due - today).days <= 30),
        "paused_on": mb.paused_on.isoformat() if mb.paused_on else None,
        "stopped_on": mb.stopped_on.isoformat() if mb.stopped_on else None,
        "stop_reason": reason or None,
        "stop_reason_name": R.STOP_REASONS.get(reason) if reason else None,
        "stop_note": note or None,
        "ends_on": end.on.isoformat() if end and mb.status != "stopped" else None,
        "ends_reason_name": R.STOP_REASONS[end.reason] if end and mb.status != "stopped" else None,
        "last_month": R.ym(last) if last else None,
        "paid_through": R.ym(mb.paid_through) if mb.paid_through else None,
        "months": len(sched),
        "schedule": sched if months is None else sched[:months],
        "overpaid": over,
        "overpaid_fen": sum(o["amount_fen"] for o in over),
        "confirmations": [
            {"confirmed_on": c.confirmed_on.isoformat(), "means": c.means, "means_name": R.MEANS.get(c.means, c.means),
             "note": c.note}
            for c in session.scalars(
                select(EligibilityConfirmation)
                .where(EligibilityConfirmation.monthly_id == mb.id)
                .order_by(EligibilityConfirmation.confirmed_on.desc(), EligibilityConfirmation.id.desc())
                .limit(5)
            )
        ],
    }  # fmt: skip


def for_case(session: Session, case: Case) -> list[MonthlyBenefit]:
    return list(
        session.scalars(select(MonthlyBenefit).where(MonthlyBenefit.case_id == case.id).order_by(MonthlyBenefit.id))
    )


FILTERS = {"paused": "暂停发放", "due_soon": "30日内待资格认证", "stopped": "已停发", "active": "正常发放"}


@dataclass
class Listing:
    items: list[dict[str, Any]] = field(default_factory=list)
    total: int = 0


def list_monthly(session: Session, p: Principal, *, filter: str | None = None, page: int = 1) -> Listing:
    """Monthly benefits in scope, with the worklist's filters, one page at a time (the eligibility
    date first)."""
    today = clock.today()
    q = select(MonthlyBenefit).where(monthly_condition(p))
    match filter:
        case "paused":
            q = q.where(MonthlyBenefit.status == "paused")
        case "due_soon":
            q = q.where(
                MonthlyBenefit.status == "active",
                MonthlyBenefit.eligibility_due <= today + dt.timedelta(days=30),
            )
        case "stopped":
            q = q.where(MonthlyBenefit.status == "stopped")
        case "active":
            q = q.where(MonthlyBenefit.status == "active")
        case None | "":
            pass
        case _:
            raise DomainError("未知的筛选条件", field="filter")
    total = session.scalar(select(func.count()).select_from(q.subquery())) or 0
    rows = session.scalars(
        q.order_by(MonthlyBenefit.eligibility_due.asc().nulls_last(), MonthlyBenefit.id)
        .offset((page - 1) * LIST_PAGE)
        .limit(LIST_PAGE)
    ).all()
    numbers = dict(session.execute(select(Case.id, Case.number).where(Case.id.in_({r.case_id for r in rows}))).all())
    items = []
    for mb in rows:
        rates = rates_of(session, mb)
        cur = rate_now(rates, R.month_of(today)) or (rates[0] if rates else None)
        items.append(
            {
                "id": mb.id,
                "case_id": mb.case_id,
                "case_number": numbers.get(mb.case_id),
                "item_name": _item_name(mb),
                "recipient": _recipient(session, mb),
                "rate_fen": cur.amount_fen if cur else 0,
                "status": mb.status,
                "status_name": R.STATUS_NAMES[mb.status],
                "eligibility_due": mb.eligibility_due.isoformat() if mb.eligibility_due else None,
                "stopped_on": mb.stopped_on.isoformat() if mb.stopped_on else None,
            }
        )
    return Listing(items, total)


def owed_by_month(session: Session, monthly_id: int) -> dict[dt.date, int]:
    """Fen owed (not cancelled) per month of one monthly benefit (tests and checks)."""
    rows = session.execute(
        select(Payable.period, func.sum(Payable.amount_fen))
        .where(Payable.monthly_id == monthly_id, Payable.status != "cancelled")
        .group_by(Payable.period)
    ).all()
    return {m: int(v) for m, v in rows}
