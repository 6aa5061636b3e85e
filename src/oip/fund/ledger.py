"""The ledger as officers read it: entries (filtered, paginated, within the reader's data scope), one
entry with its lines and its trace back to the business (the source it records and the domain
events it was posted from), the way back from a source to its entries, the overview's figures,
the periods and the trial balance of the reader's books.

A city's officers read their own city's books (entries with a line in the city; the trial balance
of the city); the region's officers and the other regional readers read all.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from oip.auth import permissions as P
from oip.auth.models import User
from oip.auth.service import Principal
from oip.core import clock
from oip.core.db import paginate
from oip.core.errors import DomainError, Forbidden
from oip.core.events import KINDS as EVENT_KINDS, DomainEvent
from oip.core.money import yuan
from oip.core.pagination import Page
from oip.fund import journal, posting, rules
from oip.fund.models import CashPlan, Entry, EntryLine, EventReceipt, InterestVoucher, Period
from oip.payments.models import PaymentBatch, PaymentLine
from oip.platforms.models import Platform
from oip.premiums.models import TaxReturn
from oip.reference.models import Region

SOURCE_TYPES = {
    "tax_return": "税务回执",
    "payment_batch": "支付批次",
    "payment_line": "支付明细（退汇）",
    "cash_plan": "季度用款计划",
    "interest_voucher": "利息分摊凭据",
    "fund_entry": "被冲销的凭证",
}
PAGE_SIZE = 50


# ---- names ---------------------------------------------------------------------------------------


def city_names(session: Session) -> dict[str, str]:
    """The books' cities by code: the region itself (自治区本级) and each city of Guangxi."""
    rows = session.execute(
        select(Region.code, Region.name).where(
            or_(Region.code == rules.PROVINCE, Region.parent_code == rules.PROVINCE), Region.valid_to.is_(None)
        )
    ).all()
    out = {code: name for code, name in rows}
    if rules.PROVINCE in out:
        out[rules.PROVINCE] = out[rules.PROVINCE] + "本级"
    return dict(sorted(out.items()))


def cities_for(session: Session, actor: Principal) -> dict[str, str]:
    """The books the actor keeps or reads (by code → name)."""
    names = city_names(session)
    own = journal.actor_city(actor)
    return names if own is None else {own: names.get(own, own)}


def user_names(session: Session, ids) -> dict[int, str]:
    ids = {i for i in ids if i}
    if not ids:
        return {}
    return dict(session.execute(select(User.id, User.display_name).where(User.id.in_(ids))).all())


def leaf_subjects(session: Session, day: dt.date | None = None) -> list[tuple[str, str]]:
    """The subjects an entry may be booked to on ``day`` (in force, no sub-subjects)."""
    chart = posting.subjects_on(session, day or clock.today())
    parents = {s.parent_code for s in chart.values() if s.parent_code}
    return [(c, s.name) for c, s in sorted(chart.items()) if c not in parents]


# ---- entries -------------------------------------------------------------------------------------


@dataclass
class Filters:
    month: str = ""
    kind: str = ""
    status: str = ""
    city: str = ""
    subject: str = ""

    def as_query(self) -> dict[str, str]:
        return {k: v for k, v in self.__dict__.items() if v}


def clean_filters(month=None, kind=None, status=None, city=None, subject=None) -> Filters:
    month = (month or "").strip()
    if month and not (len(month) == 7 and month[4] == "-" and month[:4].isdigit() and month[5:].isdigit()):
        raise DomainError("期间应为 YYYY-MM", field="month")
    return Filters(
        month=month,
        kind=kind if kind in rules.ENTRY_KINDS else "",
        status=status if status in rules.ENTRY_STATUS_NAMES else "",
        city=(city or "").strip()[:6] if (city or "").strip().isdigit() else "",
        subject=(subject or "").strip()[:16] if (subject or "").strip().isdigit() else "",
    )


def list_entries(session: Session, actor: Principal, f: Filters, *, page: int = 1, size: int = PAGE_SIZE) -> Page:
    cond = [journal.entry_condition(actor)]
    if f.month:
        cond.append(Entry.period == f.month)
    if f.kind:
        cond.append(Entry.kind == f.kind)
    if f.status:
        cond.append(Entry.status == f.status)
    line_cond = []
    if f.city:
        line_cond.append(EntryLine.city_code == f.city)
    if f.subject:
        line_cond.append(EntryLine.subject_code == f.subject)
    if line_cond:
        cond.append(select(EntryLine.id).where(EntryLine.entry_id == Entry.id, *line_cond).exists())
    q = select(Entry).where(*cond).order_by(Entry.entry_date.desc(), Entry.id.desc())
    return paginate(session, q, page, size, clamp=True)


def entry_dict(session: Session, e: Entry, *, users: dict[int, str] | None = None) -> dict:
    users = users if users is not None else user_names(session, [e.made_by, e.checked_by])
    return {
        "id": e.id,
        "number": e.number,
        "period": e.period,
        "entry_date": e.entry_date.isoformat(),
        "kind": e.kind,
        "kind_name": rules.ENTRY_KINDS.get(e.kind, e.kind),
        "status": e.status,
        "status_name": rules.ENTRY_STATUS_NAMES.get(e.status, e.status),
        "summary": e.summary,
        "total_fen": e.total_fen,
        "source_type": e.source_type,
        "source_id": e.source_id,
        "source_ref": e.source_ref,
        "reverses_id": e.reverses_id,
        "made_by": e.made_by,
        "made_by_name": users.get(e.made_by, "系统自动生成" if e.made_by is None else ""),
        "made_at": clock.iso(e.made_at),
        "checked_by": e.checked_by,
        "checked_by_name": users.get(e.checked_by, ""),
        "checked_at": clock.iso(e.checked_at),
        "posted_at": clock.iso(e.posted_at),
        "note": e.note,
    }


def entries_dicts(session: Session, entries: list[Entry]) -> list[dict]:
    users = user_names(session, [x for e in entries for x in (e.made_by, e.checked_by)])
    return [entry_dict(session, e, users=users) for e in entries]


def lines_dicts(session: Session, entry_id: int) -> list[dict]:
    names = posting.subject_names(session)
    cities = city_names(session)
    rows = session.scalars(select(EntryLine).where(EntryLine.entry_id == entry_id).order_by(EntryLine.line_no))
    return [
        {
            "line_no": x.line_no,
            "subject_code": x.subject_code,
            "subject_name": names.get(x.subject_code, x.subject_code),
            "city_code": x.city_code,
            "city_name": cities.get(x.city_code, x.city_code),
            "debit_fen": x.debit_fen,
            "credit_fen": x.credit_fen,
            "period": x.period,
            "posted": x.posted,
        }
        for x in rows
    ]


def batch_url(session: Session, actor: Principal, batch_id: int) -> str | None:
    """The payment batch's page, for whom may open it (payment.read, the batch in its region)."""
    if not actor.can(P.PAYMENT_READ):
        return None
    b = session.get(PaymentBatch, batch_id)
    return f"/payments/batches/{b.id}" if b is not None and b.region_code.startswith(actor.region_prefix) else None


def _source(session: Session, actor: Principal, e: Entry) -> dict | None:
    """What the entry records, named, with a link where the reader may follow it."""
    st, sid = e.source_type, e.source_id
    if not st or sid is None:
        return None
    out = {
        "type": st,
        "type_name": SOURCE_TYPES.get(st, st),
        "id": sid,
        "ref": e.source_ref,
        "text": e.source_ref,
        "url": None,
    }
    if st == "tax_return":
        t = session.get(TaxReturn, sid)
        if t is not None:
            pf = session.get(Platform, t.platform_id)
            name = pf.display_name(clock.today()) if pf else ""
            out["text"] = f"{name}，{t.month} 所属期，税务凭证 {t.tax_reference}，实缴 {yuan(t.paid_fen)} 元"
            out["paid_fen"] = t.paid_fen
            out["platform"], out["month"], out["tax_reference"] = name, t.month, t.tax_reference
    elif st == "payment_batch":
        b = session.get(PaymentBatch, sid)
        if b is not None:
            out["text"] = f"支付批次 {b.number}（{b.line_count} 笔）"
            out["url"] = batch_url(session, actor, b.id)
    elif st == "payment_line":
        x = session.get(PaymentLine, sid)
        if x is not None:
            b = session.get(PaymentBatch, x.batch_id)
            out["text"] = f"支付明细 {x.idempotency_key}（批次 {b.number if b else x.batch_id}）"
            out["url"] = batch_url(session, actor, x.batch_id)
    elif st == "cash_plan":
        c = session.get(CashPlan, sid)
        if c is not None:
            out["text"] = f"{city_names(session).get(c.city_code, c.city_code)} {c.year} 年第 {c.quarter} 季度用款计划"
    elif st == "interest_voucher":
        v = session.get(InterestVoucher, sid)
        if v is not None:
            out["text"] = f"{v.month} 利息，银行凭证 {v.bank_ref}，{v.received_on} 到账"
            out["url"] = "/fund/interest"
    elif st == "fund_entry":
        o = session.get(Entry, sid)
        if o is not None:
            out["text"] = f"凭证 {o.number}"
            out["url"] = f"/fund/entries/{o.id}"
    return out


def trace(session: Session, actor: Principal, e: Entry) -> dict:
    """Where the entry comes from and what became of it: its source, the domain events it was
    posted from (with their own sources), the entry it reverses and the entry reversing it."""
    events = []
    cond = [EventReceipt.entry_id == e.id]
    own = journal.actor_city(actor)
    if own is not None:  # a city reads its own events of a batch that paid several cities
        cond.append(DomainEvent.region_code.startswith(own[:4]))
    rows = session.execute(
        select(DomainEvent)
        .join(EventReceipt, EventReceipt.event_id == DomainEvent.id)
        .where(*cond)
        .order_by(DomainEvent.id)
        .limit(500)
    ).scalars()
    cities = city_names(session)
    for ev in rows:
        p = ev.payload or {}
        d = {
            "id": ev.id,
            "kind": ev.kind,
            "kind_name": EVENT_KINDS.get(ev.kind, ev.kind),
            "occurred_on": ev.occurred_on.isoformat(),
            "region_code": ev.region_code,
            "city_name": cities.get(rules.city_of(ev.region_code), ev.region_code),
            "amount_fen": ev.amount_fen,
            "source_type": ev.source_type,
            "source_id": ev.source_id,
            "item_name": rules.ITEM_NAMES.get(p.get("item", ""), ""),
            "case_id": p.get("case_id"),
            "case_number": None,
            "ref": p.get("key") or p.get("tax_reference") or "",
        }
        events.append(d)
    case_ids = {d["case_id"] for d in events if d["case_id"]}
    if case_ids:
        from oip.cases.models import Case

        numbers = dict(session.execute(select(Case.id, Case.number).where(Case.id.in_(case_ids))).all())
        for d in events:
            d["case_number"] = numbers.get(d["case_id"])
    events_total = (
        session.scalar(
            select(func.count())
            .select_from(EventReceipt)
            .join(DomainEvent, DomainEvent.id == EventReceipt.event_id)
            .where(*cond)
        )
        or 0
    )
    reversed_by = session.scalar(select(Entry).where(Entry.reverses_id == e.id))
    reverses = session.get(Entry, e.reverses_id) if e.reverses_id else None
    return {
        "source": _source(session, actor, e),
        "events": events,
        "events_total": events_total,
        "reversed_by": {"id": reversed_by.id, "number": reversed_by.number, "status": reversed_by.status}
        if reversed_by
        else None,
        "reverses": {"id": reverses.id, "number": reverses.number} if reverses else None,
    }


def entries_of_source(session: Session, actor: Principal, source_type: str, source_id: int) -> list[Entry]:
    """Back from a source (a payment batch, a tax return, a cash plan, an interest voucher, a
    payment line) to the entries that booked it, within the reader's scope. A payment line's
    entries are those its events were posted to (the batch's entry and any reversal)."""
    if source_type not in SOURCE_TYPES:
        raise DomainError("未知的来源类型", field="source_type")
    cond = [journal.entry_condition(actor)]
    direct = select(Entry.id).where(Entry.source_type == source_type, Entry.source_id == source_id)
    ids = set(session.scalars(direct))
    ev_source = {"tax_return": "tax_return", "payment_line": "payment_line"}.get(source_type)
    if ev_source:
        ids |= set(
            session.scalars(
                select(EventReceipt.entry_id)
                .join(DomainEvent, DomainEvent.id == EventReceipt.event_id)
                .where(DomainEvent.source_type == ev_source, DomainEvent.source_id == source_id)
            )
        )
    if source_type == "payment_batch":
        ids |= set(
            session.scalars(
                select(EventReceipt.entry_id)
                .join(DomainEvent, DomainEvent.id == EventReceipt.event_id)
                .where(DomainEvent.payload["batch_id"].as_integer() == source_id)
            )
        )
    ids.discard(None)
    if not ids:
        return []
    return list(session.scalars(select(Entry).where(Entry.id.in_(ids), *cond).order_by(Entry.entry_date, Entry.id)))


# ---- overview, periods, trial balance ------------------------------------------------------------


def trial_balance(session: Session, actor: Principal, year: int, city: str | None) -> list[dict]:
    """The trial balance of the books the actor may read: a city officer its own city only."""
    own = journal.actor_city(actor)
    if own is not None:
        if city and city != own:
            raise Forbidden("设区市只能查看本市的试算平衡表")
        city = own
    return posting.trial_balance(session, year, city or None)


def tb_totals(rows: list[dict]) -> dict:
    """Totals of a trial balance (leaf rows) and the subtotal of 5001 职业伤害保障支出."""
    group = [r for r in rows if r["parent_code"] == rules.EXPENSE]
    return {
        "debit_fen": sum(r["debit_fen"] for r in rows),
        "credit_fen": sum(r["credit_fen"] for r in rows),
        "expense": {
            "debit_fen": sum(r["debit_fen"] for r in group),
            "credit_fen": sum(r["credit_fen"] for r in group),
            "balance_fen": sum(r["balance_fen"] for r in group),
        },
    }


def tb_rows_grouped(session: Session, rows: list[dict]) -> list[dict]:
    """The rows for display: 5001's sub-subjects followed by their subtotal row."""
    out, group = [], [r for r in rows if r["parent_code"] == rules.EXPENSE]
    names = posting.subject_names(session)
    for r in rows:
        out.append({**r, "subtotal": False})
        if group and r is group[-1]:
            t = tb_totals(rows)["expense"]
            out.append(
                {
                    "subject_code": rules.EXPENSE,
                    "subject_name": names.get(rules.EXPENSE, "职业伤害保障支出") + " 小计",
                    "kind": "expense",
                    "parent_code": None,
                    "opening_fen": 0,
                    "subtotal": True,
                    **t,
                }
            )
    return out


def years_with_data(session: Session) -> list[int]:
    years = {int(m[:4]) for m in session.scalars(select(func.distinct(EntryLine.period)).where(EntryLine.posted))}
    years.add(clock.today().year)
    return sorted(years, reverse=True)


def periods(session: Session, *, limit: int = 36) -> list[dict]:
    rows = list(session.scalars(select(Period).order_by(Period.month.desc()).limit(limit)))
    users = user_names(session, [p.closed_by for p in rows])
    waiting = dict(
        session.execute(
            select(Entry.period, func.count())
            .where(Entry.status.in_(("draft", "submitted")), Entry.period.in_([p.month for p in rows]))
            .group_by(Entry.period)
        ).all()
    )
    out = []
    for p in rows:
        totals = p.totals or posting.period_totals(session, p.month)
        out.append(
            {
                "month": p.month,
                "status": p.status,
                "status_name": "已结账" if p.status == "closed" else "未结账",
                "closed_at": clock.iso(p.closed_at),
                "closed_by_name": users.get(p.closed_by, ""),
                "entries": totals.get("entries", 0),
                "debit_fen": totals.get("debit_fen", 0),
                "credit_fen": totals.get("credit_fen", 0),
                "waiting": waiting.get(p.month, 0),
            }
        )
    return out


def monthly_flows(session: Session, actor: Principal, year: int) -> list[dict]:
    """Each month of ``year``: income (4xxx credits − debits) and expenditure (5xxx debits −
    credits) of the reader's books."""
    own = journal.actor_city(actor)
    cond = [EntryLine.posted, EntryLine.period >= f"{year:04d}-01", EntryLine.period <= f"{year:04d}-12"]
    if own:
        cond.append(EntryLine.city_code == own)
    income = func.sum(EntryLine.credit_fen - EntryLine.debit_fen).filter(EntryLine.subject_code.like("4%"))
    spent = func.sum(EntryLine.debit_fen - EntryLine.credit_fen).filter(EntryLine.subject_code.like("5%"))
    got = {
        m: (int(i or 0), int(s or 0))
        for m, i, s in session.execute(select(EntryLine.period, income, spent).where(*cond).group_by(EntryLine.period))
    }
    out = []
    for m in range(1, 13):
        month = f"{year:04d}-{m:02d}"
        i, s = got.get(month, (0, 0))
        out.append({"month": month, "income_fen": i, "expense_fen": s})
    peak = max([abs(x["income_fen"]) for x in out] + [abs(x["expense_fen"]) for x in out] + [0])
    for x in out:
        x["income_pct"] = round(100 * max(x["income_fen"], 0) / peak) if peak else 0
        x["expense_pct"] = round(100 * max(x["expense_fen"], 0) / peak) if peak else 0
    return out


MAIN_SUBJECTS = (
    rules.FISCAL,
    rules.EXPENDITURE_ACCOUNT,
    rules.PREMIUM_INCOME,
    rules.INTEREST_INCOME,
    rules.EXPENSE,
    rules.BALANCE,
)


def main_balances(session: Session, rows: list[dict]) -> list[dict]:
    """The overview's cards: the main subjects' balances (5001 as the sum of its sub-subjects)."""
    names = posting.subject_names(session)
    out = []
    for code in MAIN_SUBJECTS:
        if code == rules.EXPENSE:
            bal = sum(r["balance_fen"] for r in rows if r["parent_code"] == code or r["subject_code"] == code)
        else:
            bal = sum(r["balance_fen"] for r in rows if r["subject_code"] == code)
        out.append({"code": code, "name": names.get(code, code), "balance_fen": bal})
    return out


def awaiting_check(session: Session, actor: Principal, *, limit: int = 20) -> list[Entry]:
    return list(
        session.scalars(
            select(Entry)
            .where(Entry.status == "submitted", journal.entry_condition(actor))
            .order_by(Entry.made_at)
            .limit(limit)
        )
    )


def vouchers(session: Session, *, page: int = 1, size: int = PAGE_SIZE) -> Page:
    q = select(InterestVoucher).order_by(InterestVoucher.month.desc(), InterestVoucher.id.desc())
    return paginate(session, q, page, size, clamp=True)
