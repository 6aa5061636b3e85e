"""The ledger's one write path (总账): entries posted from business events and by officers, period
close, the check, and the trial balance.

``post`` is the only function that writes posted entries. Generated entries come from domain events
(oip.core.events): ``post_pending`` takes every event the fund has not handled, groups them
(``rules.event_group``: a tax return, a bank batch's payments of a day, a reversal), books each group
as one balanced entry and records a receipt per event — all in one transaction under an advisory
lock, so a crash posts nothing and two runs never post an event twice.

A period (month) is closed in order (``close_period``); a closed period takes no entries — an event
of a closed month goes to the first open month (``rules.period_for``) — and posted entries never
change: the database refuses both (triggers of migration 0019). Corrections are reversals.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field

from sqlalchemy import func, insert, select, text
from sqlalchemy.orm import Session

from oip.core import audit, clock
from oip.core.errors import Conflict, DomainError
from oip.core.events import DomainEvent
from oip.fund import rules
from oip.fund.models import Entry, EntryLine, EventReceipt, Period, Subject

POST_LOCK = 0x0F0D01  # pg_advisory_xact_lock key: one posting run (or close) at a time

audit.register_actions(
    {
        "fund.post": "业务事件生成记账凭证",
        "fund.entry.post": "记账凭证记账",
        "fund.period.close": "会计期间结账",
    }
)


# ---- the chart -----------------------------------------------------------------------------------


def subjects_on(session: Session, day: dt.date) -> dict[str, Subject]:
    """The chart in force on ``day``: code → subject."""
    rows = session.scalars(
        select(Subject).where(Subject.valid_from <= day, (Subject.valid_to.is_(None)) | (Subject.valid_to >= day))
    )
    return {s.code: s for s in rows}


def subject_names(session: Session) -> dict[str, str]:
    """Every code's latest name (for lists spanning years)."""
    out: dict[str, str] = {}
    for s in session.scalars(select(Subject).order_by(Subject.valid_from)):
        out[s.code] = s.name
    return out


def closed_months(session: Session) -> set[str]:
    return set(session.scalars(select(Period.month).where(Period.status == "closed")))


def ensure_periods(session: Session, months: set[str]) -> None:
    """The months exist as periods (open unless closed before)."""
    if months:
        session.execute(
            text(
                "INSERT INTO fund_periods (month, status) SELECT m, 'open' FROM unnest(CAST(:ms AS text[])) AS m ON CONFLICT DO NOTHING"
            ),
            {"ms": sorted(months)},
        )


def _next_ids(session: Session, n: int) -> list[int]:
    if n <= 0:
        return []
    return list(session.scalars(text("SELECT nextval('fund_entries_id_seq') FROM generate_series(1, :n)"), {"n": n}))


def entry_number(entry_id: int, period: str) -> str:
    """记-YYYYMM-00000123: the period and the entry's own id (unique, never reused)."""
    return f"记-{period.replace('-', '')}-{entry_id:08d}"


@dataclass
class NewEntry:
    """What ``post`` writes: an entry's header and legs."""

    kind: str
    entry_date: dt.date
    summary: str
    legs: list[rules.Leg]
    source_type: str | None = None
    source_id: int | None = None
    source_ref: str = ""
    reverses_id: int | None = None
    event_ids: list[int] = field(default_factory=list)
    note: str = ""


def _validate(session: Session, e: NewEntry, charts: dict) -> None:
    rules.check_legs(e.legs)
    chart = charts.get(e.entry_date)
    if chart is None:
        # The whole chart is read once per run (a year's entries have hundreds of dates).
        every = charts.get(None)
        if every is None:
            every = charts[None] = {s.id: s for s in session.scalars(select(Subject))}
        day = e.entry_date
        chart = charts[day] = {
            s.code: s for s in every.values() if s.valid_from <= day and (s.valid_to is None or s.valid_to >= day)
        }
    parents = {c.parent_code for c in chart.values()}
    for leg in e.legs:
        s = chart.get(leg.subject)
        if s is None:
            raise DomainError(f"科目 {leg.subject} 在 {e.entry_date} 不存在或未生效", field="subject")
        if leg.subject in parents:
            raise DomainError(f"科目 {leg.subject} {s.name} 有明细科目，请记入明细科目", field="subject")


def post(
    session: Session,
    actor: audit.Actor,
    entries: list[NewEntry],
    *,
    made_by: int | None = None,
    checked_by: int | None = None,
) -> list[int]:
    """Write ``entries`` as posted, each in the period its date allows; returns their ids. Every
    entry is checked (balanced in total and per city, subjects in force and leaf) before any is
    written. The caller audits (one record per run or per entry)."""
    if not entries:
        return []
    closed = closed_months(session)
    charts: dict = {}
    try:
        for e in entries:
            _validate(session, e, charts)
    except rules.Unbalanced as exc:
        raise DomainError(str(exc), field="lines") from None
    periods = [rules.period_for(e.entry_date, closed) for e in entries]
    ensure_periods(session, set(periods))
    ids = _next_ids(session, len(entries))
    now = clock.now()
    heads, lines, receipts = [], [], []
    for eid, e, period in zip(ids, entries, periods, strict=True):
        total = sum(x.debit for x in e.legs)
        heads.append(
            {
                "id": eid,
                "number": entry_number(eid, period),
                "period": period,
                "entry_date": e.entry_date,
                "kind": e.kind,
                "status": "posted",
                "summary": e.summary,
                "source_type": e.source_type,
                "source_id": e.source_id,
                "source_ref": e.source_ref,
                "reverses_id": e.reverses_id,
                "total_fen": total,
                "made_by": made_by,
                "made_at": now,
                "checked_by": checked_by,
                "checked_at": now if checked_by else None,
                "posted_at": now,
                "note": e.note,
            }
        )
        for i, x in enumerate(e.legs, 1):
            lines.append(
                {
                    "entry_id": eid,
                    "line_no": i,
                    "subject_code": x.subject,
                    "city_code": x.city,
                    "debit_fen": x.debit,
                    "credit_fen": x.credit,
                    "period": period,
                    "posted": True,
                    "summary": e.summary,
                }
            )
        receipts.extend({"event_id": ev, "entry_id": eid, "note": "", "at": now} for ev in e.event_ids)
    session.execute(insert(Entry), heads)
    session.execute(insert(EntryLine), lines)
    if receipts:
        # One statement with arrays: a year's ~70,000 receipts as executemany took seconds.
        session.execute(
            text(
                "INSERT INTO fund_event_receipts (event_id, entry_id, note, at) "
                "SELECT e, n, '', :at FROM unnest(CAST(:evs AS bigint[]), CAST(:ens AS bigint[])) AS u(e, n)"
            ),
            {"evs": [r["event_id"] for r in receipts], "ens": [r["entry_id"] for r in receipts], "at": now},
        )
    return ids


# ---- from business events ------------------------------------------------------------------------


@dataclass
class PostOutcome:
    events: int = 0
    entries: int = 0
    amount_fen: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict:
        return {"events": self.events, "entries": self.entries, "amount_fen": self.amount_fen}


def pending_events_query():
    return select(DomainEvent).where(
        ~select(EventReceipt.event_id).where(EventReceipt.event_id == DomainEvent.id).exists()
    )


def pending_count(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(pending_events_query().subquery())) or 0


def _summary(kind: str, evs: list) -> tuple[str, str, int | None, str]:
    first = evs[0]
    p = first.payload or {}
    if kind == "premium":
        ref = p.get("tax_reference", "")
        return (
            f"收到职业伤害保障费（{p.get('month', '')} 所属期，税务凭证 {ref}）",
            "tax_return",
            first.source_id,
            ref,
        )
    if kind == "payment":
        num = p.get("batch_number", "")
        return (
            f"支付职业伤害保障待遇（批次 {num}，{len(evs)} 笔，{first.occurred_on:%Y-%m-%d} 到账）",
            "payment_batch",
            p.get("batch_id"),
            num,
        )
    return (
        f"待遇退汇冲回（支付明细 {p.get('key', first.source_id)}）",
        "payment_line",
        first.source_id,
        p.get("key", ""),
    )


def post_pending(session: Session, actor: audit.Actor = audit.SYSTEM, *, limit: int | None = None) -> PostOutcome:
    """Book every domain event the fund has not handled (oldest first; at most ``limit``)."""
    session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": POST_LOCK})
    # Rows, not ORM objects: a year's events as entities took several seconds to build.
    q = (
        pending_events_query()
        .with_only_columns(
            DomainEvent.id,
            DomainEvent.kind,
            DomainEvent.source_id,
            DomainEvent.occurred_on,
            DomainEvent.region_code,
            DomainEvent.amount_fen,
            DomainEvent.payload,
        )
        .order_by(DomainEvent.id)
    )
    if limit:
        q = q.limit(limit)
    evs = session.execute(q).all()
    out = PostOutcome(events=len(evs))
    if not evs:
        return out
    groups: dict[tuple, list] = defaultdict(list)
    for ev in evs:
        groups[rules.event_group(ev.kind, ev.source_id, ev.occurred_on, ev.payload or {})].append(ev)
    new: list[NewEntry] = []
    for key, members in groups.items():
        kind = key[0]
        legs = rules.merge(
            leg for ev in members for leg in rules.event_legs(ev.kind, ev.amount_fen, ev.region_code, ev.payload or {})
        )
        summary, stype, sid, ref = _summary(kind, members)
        new.append(
            NewEntry(
                kind=kind,
                entry_date=members[0].occurred_on,
                summary=summary,
                legs=legs,
                source_type=stype,
                source_id=sid,
                source_ref=ref,
                event_ids=[ev.id for ev in members],
            )
        )
        out.amount_fen[kind] = out.amount_fen.get(kind, 0) + sum(ev.amount_fen for ev in members)
    ids = post(session, actor, new)
    out.entries = len(ids)
    audit.record(
        session,
        actor,
        "fund.post",
        entity_type="fund_entry",
        entity_id=ids[0] if ids else None,
        after={"events": out.events, "entries": out.entries, "first": ids[0], "last": ids[-1], **out.amount_fen},
    )
    return out


# ---- period close --------------------------------------------------------------------------------


def period_totals(session: Session, month: str) -> dict:
    row = session.execute(
        select(
            func.count(func.distinct(EntryLine.entry_id)),
            func.coalesce(func.sum(EntryLine.debit_fen), 0),
            func.coalesce(func.sum(EntryLine.credit_fen), 0),
        ).where(EntryLine.period == month, EntryLine.posted)
    ).one()
    return {"entries": int(row[0]), "debit_fen": int(row[1]), "credit_fen": int(row[2])}


def close_period(session: Session, actor, month: str) -> Period:
    """Close ``month`` (结账): the events up to its end are posted first; it must be the next month
    in order, hold no manual entries awaiting a decision, and balance. Its totals are kept."""
    session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": POST_LOCK})
    try:
        y, m = int(month[:4]), int(month[5:7])
        end = (dt.date(y + m // 12, m % 12 + 1, 1)) - dt.timedelta(days=1)
        if len(month) != 7 or month[4] != "-":
            raise ValueError
    except ValueError:
        raise DomainError("会计期间应为 YYYY-MM", field="month") from None
    if end >= clock.today():
        raise DomainError(f"{month} 尚未结束，月末之后才能结账", field="month")
    post_pending(session, actor)
    closed = closed_months(session)
    first = session.scalar(select(func.min(Period.month)))
    why = rules.can_close(month, closed, first)
    if why:
        raise Conflict(why)
    waiting = session.scalar(
        select(func.count()).where(Entry.period == month, Entry.status.in_(("draft", "submitted")))
    )
    if waiting:
        raise Conflict(f"{month} 还有 {waiting} 张手工凭证未复核（记账或退回后才能结账）")
    totals = period_totals(session, month)
    if totals["debit_fen"] != totals["credit_fen"]:
        raise Conflict(f"{month} 借方合计 {totals['debit_fen']} 分不等于贷方合计 {totals['credit_fen']} 分，不能结账")
    ensure_periods(session, {month})
    p = session.get(Period, month, with_for_update=True)
    p.status, p.closed_at, p.closed_by, p.totals = "closed", clock.now(), actor.user_id, totals
    session.flush()
    audit.record(session, actor, "fund.period.close", entity_type="fund_period", entity_id=month, after=totals)
    return p


# ---- trial balance -------------------------------------------------------------------------------


def trial_balance(session: Session, year: int, city: str | None = None) -> list[dict]:
    """Per leaf subject: the year's debits and credits and the balance on its normal side — for
    balance-sheet subjects the closing balance (opening + the year), for income and expenditure the
    year's. ``city``: one city's books ("450100"; "450000" the region itself)."""
    start, end = f"{year:04d}-01", f"{year:04d}-12"
    cond = [EntryLine.posted, EntryLine.period <= end]
    if city:
        cond.append(EntryLine.city_code == city)
    in_year = EntryLine.period >= start
    q = (
        select(
            EntryLine.subject_code,
            func.coalesce(func.sum(EntryLine.debit_fen).filter(in_year), 0),
            func.coalesce(func.sum(EntryLine.credit_fen).filter(in_year), 0),
            func.coalesce(func.sum(EntryLine.debit_fen - EntryLine.credit_fen).filter(~in_year), 0),
        )
        .where(*cond)
        .group_by(EntryLine.subject_code)
    )
    chart = {s.code: s for s in session.scalars(select(Subject).order_by(Subject.valid_from))}
    # Income and expenditure start each year at nil: what earlier years left over is part of the fund
    # balance (3001) brought forward, so the closing balances balance as the movements do.
    brought = 0
    out = []
    for code, debit, credit, before in session.execute(q):
        s = chart.get(code)
        kind = s.kind if s else "asset"
        debit, credit, before = int(debit), int(credit), int(before)
        opening = rules.balance(kind, before, 0) if before >= 0 else rules.balance(kind, 0, -before)
        if kind in ("income", "expense"):
            brought += -before  # credit-side surplus of earlier years (income − expenditure)
            if not (debit or credit):
                continue
            opening = 0
        bal = opening + rules.balance(kind, debit, credit)
        out.append(
            {
                "subject_code": code,
                "subject_name": s.name if s else code,
                "kind": kind,
                "parent_code": s.parent_code if s else None,
                "opening_fen": opening,
                "debit_fen": debit,
                "credit_fen": credit,
                "balance_fen": bal,
            }
        )
    if brought:
        row = next((r for r in out if r["subject_code"] == rules.BALANCE), None)
        if row is None:
            s = chart.get(rules.BALANCE)
            row = {
                "subject_code": rules.BALANCE,
                "subject_name": s.name if s else "职业伤害保障基金结余",
                "kind": "net",
                "parent_code": None,
                "opening_fen": 0,
                "debit_fen": 0,
                "credit_fen": 0,
                "balance_fen": 0,
            }
            out.append(row)
        row["opening_fen"] += brought
        row["balance_fen"] += brought
    return sorted(out, key=lambda r: r["subject_code"])


# ---- the server's poster -------------------------------------------------------------------------


def start_background_poster(interval: float | None = None):
    """Book new business events every ``fund_post_interval`` seconds beside the server (None when
    it is 0), so the ledger follows the business in near real time; ``.stop()`` ends it."""
    from oip.core.background import Periodic
    from oip.core.config import get_settings
    from oip.core.db import session_scope

    interval = get_settings().fund_post_interval if interval is None else interval
    if interval <= 0:
        return None

    def run() -> None:
        with session_scope() as s:
            if pending_count(s):
                post_pending(s, audit.SYSTEM)

    return Periodic("oip-fund-poster", interval, run).start()
