"""``oip fund check``: is the ledger whole? Every entry and every period balances, every closed
period still has the totals it was closed with, every business event is booked exactly once and
every booked entry traces to its source and back, and the books tie out to the money received
(tax returns) and paid (bank results), fen for fen.

Returns a list of problems, each naming what is wrong in Chinese; empty when all is well.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from oip.core.events import DomainEvent
from oip.fund import rules
from oip.fund.models import CashPlan, Entry, EntryLine, EventReceipt, InterestVoucher, Period
from oip.fund.posting import closed_months, period_totals
from oip.payments.models import PaymentLine
from oip.premiums.models import TaxReturn

_GENERATED = ("premium", "payment", "reversal_payment")


@dataclass
class Report:
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    figures: dict = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.problems

    def as_dict(self) -> dict:
        return {"ok": self.ok, "problems": self.problems, "notes": self.notes, "figures": self.figures}


def _entries(session: Session, r: Report) -> None:
    per_entry = session.execute(
        select(
            EntryLine.entry_id,
            func.sum(EntryLine.debit_fen),
            func.sum(EntryLine.credit_fen),
            func.count(),
            func.bool_and(EntryLine.posted),
            func.min(EntryLine.period),
            func.max(EntryLine.period),
        ).group_by(EntryLine.entry_id)
    ).all()
    heads = {
        e.id: e for e in session.execute(select(Entry.id, Entry.number, Entry.status, Entry.period, Entry.total_fen))
    }
    seen = set()
    for eid, d, c, n, posted, p1, p2 in per_entry:
        seen.add(eid)
        e = heads.get(eid)
        name = e.number if e and e.number else f"#{eid}"
        if d != c:
            r.problems.append(f"凭证 {name} 借方 {d} 分不等于贷方 {c} 分")
        if n < 2:
            r.problems.append(f"凭证 {name} 只有 {n} 条分录")
        if e is None:
            continue
        if (e.status == "posted") != bool(posted):
            r.problems.append(f"凭证 {name} 的分录记账标志与凭证状态（{e.status}）不符")
        if e.status == "posted" and e.total_fen != d:
            r.problems.append(f"凭证 {name} 记载金额 {e.total_fen} 分与分录合计 {d} 分不符")
        if p1 != e.period or p2 != e.period:
            r.problems.append(f"凭证 {name} 的分录期间与凭证期间 {e.period} 不一致")
    per_city = session.execute(
        select(EntryLine.entry_id, EntryLine.city_code)
        .where(EntryLine.posted)
        .group_by(EntryLine.entry_id, EntryLine.city_code)
        .having(func.sum(EntryLine.debit_fen) != func.sum(EntryLine.credit_fen))
    ).all()
    for eid, city in per_city:
        e = heads.get(eid)
        r.problems.append(f"凭证 {e.number if e else eid} 在地区 {city} 借贷不平衡")
    for eid, e in heads.items():
        if e.status == "posted" and eid not in seen:
            r.problems.append(f"已记账凭证 {e.number} 没有分录")
    r.figures["entries"] = sum(1 for e in heads.values() if e.status == "posted")


def _periods(session: Session, r: Report) -> None:
    rows = session.execute(
        select(EntryLine.period, func.sum(EntryLine.debit_fen), func.sum(EntryLine.credit_fen))
        .where(EntryLine.posted)
        .group_by(EntryLine.period)
    ).all()
    for month, d, c in rows:
        if d != c:
            r.problems.append(f"会计期间 {month} 借方合计 {d} 分不等于贷方合计 {c} 分")
    for p in session.scalars(select(Period).where(Period.status == "closed")):
        now = period_totals(session, p.month)
        if p.totals != now:
            r.problems.append(f"已结账期间 {p.month} 的发生额已变动：结账时 {p.totals}，现在 {now}")
    r.figures["periods_closed"] = len(closed_months(session))


def _events(session: Session, r: Report) -> None:
    closed = closed_months(session)
    pending = session.execute(
        select(DomainEvent.id, DomainEvent.kind, DomainEvent.occurred_on).where(
            ~select(EventReceipt.event_id).where(EventReceipt.event_id == DomainEvent.id).exists()
        )
    ).all()
    for ev_id, kind, day in pending:
        if rules.month_of(day) in closed:
            r.problems.append(f"业务事件 {ev_id}（{kind}，{day}）属于已结账期间，却未入账")
    if pending:
        r.notes.append(f"{len(pending)} 个业务事件尚未入账（运行 oip fund post 入账）")
    r.figures["events_pending"] = len(pending)
    # Each receipt's entry exists and is posted; the events of an entry add up to it.
    rows = session.execute(
        select(
            Entry.id,
            Entry.number,
            Entry.kind,
            Entry.status,
            Entry.total_fen,
            func.sum(DomainEvent.amount_fen),
            func.count(),
        )
        .join(EventReceipt, EventReceipt.entry_id == Entry.id)
        .join(DomainEvent, DomainEvent.id == EventReceipt.event_id)
        .group_by(Entry.id)
    ).all()
    traced = set()
    for eid, number, _kind, status, total, amount, n in rows:
        traced.add(eid)
        if status != "posted":
            r.problems.append(f"凭证 {number} 由业务事件生成却未记账")
        if total != amount:
            r.problems.append(f"凭证 {number} 金额 {total} 分与其 {n} 个业务事件合计 {amount} 分不符")
    for eid, number in session.execute(select(Entry.id, Entry.number).where(Entry.kind.in_(_GENERATED))):
        if eid not in traced:
            r.problems.append(f"凭证 {number} 是业务凭证却追溯不到业务事件")


def _sources(session: Session, r: Report) -> None:
    """Each event's source row exists and says the same amount; and the other way round."""
    evs = session.execute(select(DomainEvent.id, DomainEvent.kind, DomainEvent.source_id, DomainEvent.amount_fen)).all()
    returns = dict(session.execute(select(TaxReturn.id, TaxReturn.paid_fen)).all())
    lines = {
        x.id: x
        for x in session.execute(
            select(PaymentLine.id, PaymentLine.amount_fen, PaymentLine.status, PaymentLine.paid_on)
        )
    }
    seen: dict[str, set[int]] = defaultdict(set)
    for ev_id, kind, sid, amount in evs:
        seen[kind].add(sid)
        if kind == "premium.received":
            if returns.get(sid) != amount:
                r.problems.append(f"业务事件 {ev_id}：税务回执 {sid} 不存在或实缴金额不是 {amount} 分")
        elif kind in ("benefit.paid", "benefit.reversed"):
            x = lines.get(sid)
            if x is None or x.amount_fen != amount:
                r.problems.append(f"业务事件 {ev_id}：支付明细 {sid} 不存在或金额不是 {amount} 分")
            elif kind == "benefit.reversed" and x.status != "reversed":
                r.problems.append(f"业务事件 {ev_id}：支付明细 {sid} 并未退汇")
    for rid, paid in returns.items():
        if paid > 0 and rid not in seen["premium.received"]:
            r.problems.append(f"税务回执 {rid} 已实缴 {paid} 分，却没有到账事件")
    for lid, x in lines.items():
        if x.paid_on is not None and lid not in seen["benefit.paid"]:
            r.problems.append(f"支付明细 {lid} 已支付，却没有支付事件")
        if x.status == "reversed" and lid not in seen["benefit.reversed"]:
            r.problems.append(f"支付明细 {lid} 已退汇，却没有退汇事件")


def _vouchers(session: Session, r: Report) -> None:
    """Interest and allocation entries each have their voucher and plan, and back; reversals mirror."""
    by_id = {
        e.id: e for e in session.execute(select(Entry.id, Entry.number, Entry.kind, Entry.status, Entry.total_fen))
    }
    linked = set()
    for v in session.scalars(select(InterestVoucher)):
        e = by_id.get(v.entry_id)
        if v.apportioned_fen and (e is None or e.kind != "interest" or e.total_fen != v.apportioned_fen):
            r.problems.append(f"利息凭据 {v.bank_ref} 的入账凭证缺失或金额不符")
        linked.add(v.entry_id)
    for p in session.scalars(select(CashPlan).where(CashPlan.entry_id.is_not(None))):
        e = by_id.get(p.entry_id)
        if e is None or e.kind != "allocation" or e.total_fen != 2 * (p.allocated_fen or 0):
            r.problems.append(f"用款计划 {p.city_code} {p.year}Q{p.quarter} 的拨付凭证缺失或金额不符")
        linked.add(p.entry_id)
    for eid, e in by_id.items():
        if e.kind in ("interest", "allocation") and e.status == "posted" and eid not in linked:
            r.problems.append(f"凭证 {e.number}（{rules.ENTRY_KINDS[e.kind]}）追溯不到利息凭据或用款计划")
    pairs = session.execute(
        select(Entry.id, Entry.reverses_id, Entry.number).where(
            Entry.reverses_id.is_not(None), Entry.status == "posted"
        )
    ).all()
    for eid, rid, number in pairs:
        a = _legs(session, rid)
        b = _legs(session, eid)
        if not rules.mirrors(b, a):
            r.problems.append(
                f"冲销凭证 {number} 与被冲销凭证 {by_id[rid].number if rid in by_id else rid} 的分录不对应"
            )


def _legs(session: Session, entry_id: int) -> list[rules.Leg]:
    return [
        rules.Leg(s, c, d, cr)
        for s, c, d, cr in session.execute(
            select(EntryLine.subject_code, EntryLine.city_code, EntryLine.debit_fen, EntryLine.credit_fen).where(
                EntryLine.entry_id == entry_id
            )
        )
    ]


def tie_out(session: Session) -> dict:
    """The books against the business: premium income booked = paid in the booked tax returns;
    benefit expenditure booked = paid − reversed in the booked payment lines."""
    income = session.scalar(
        select(func.coalesce(func.sum(EntryLine.credit_fen - EntryLine.debit_fen), 0)).where(
            EntryLine.posted, EntryLine.subject_code == rules.PREMIUM_INCOME
        )
    )
    spent = session.scalar(
        select(func.coalesce(func.sum(EntryLine.debit_fen - EntryLine.credit_fen), 0)).where(
            EntryLine.posted, EntryLine.subject_code.in_(list(rules.ITEM_SUBJECTS.values()))
        )
    )
    booked = (
        select(DomainEvent.kind, func.coalesce(func.sum(DomainEvent.amount_fen), 0))
        .join(EventReceipt, EventReceipt.event_id == DomainEvent.id)
        .group_by(DomainEvent.kind)
    )
    ev = {k: int(v) for k, v in session.execute(booked)}
    return {
        "premium_income_fen": int(income),
        "tax_returns_paid_fen": ev.get("premium.received", 0),
        "benefit_expenditure_fen": int(spent),
        "benefits_paid_fen": ev.get("benefit.paid", 0) - ev.get("benefit.reversed", 0),
    }


def run(session: Session) -> Report:
    r = Report()
    _entries(session, r)
    _periods(session, r)
    _events(session, r)
    _sources(session, r)
    _vouchers(session, r)
    t = tie_out(session)
    r.figures["tie_out"] = t
    if t["premium_income_fen"] != t["tax_returns_paid_fen"]:
        r.problems.append(
            f"职业伤害保障费收入 {t['premium_income_fen']} 分与已入账税务回执实缴 {t['tax_returns_paid_fen']} 分不符"
        )
    if t["benefit_expenditure_fen"] != t["benefits_paid_fen"]:
        r.problems.append(
            f"职业伤害保障支出 {t['benefit_expenditure_fen']} 分与已入账支付（扣除退汇）{t['benefits_paid_fen']} 分不符"
        )
    return r
