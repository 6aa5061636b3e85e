"""Properties of the ledger, over random sequences of business (hypothesis):

- whatever happens — premiums received, benefits paid in batches of random items and cities,
  reversals (退汇) of earlier paid lines, interest, allocations to cities, manual entries, red-ink
  reversals of posted entries, and unbalanced entries that must be refused — the ledger stays
  balanced: every entry, every period, every entry in every city; the trial balance's debits equal
  its credits and its closing balances balance; and it moves by exactly what was booked;
- a closed period cannot change: no entry or line goes in, no posted line or entry is updated or
  deleted, the period cannot be reopened, and an event of that month is booked in the next open one.

Each example runs in its own session on the shared test database, rolled back at its end (closing
is irreversible in the database: nothing here is ever committed)."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from contextlib import contextmanager

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings, strategies as st
from sqlalchemy import select, text

from oip.core import audit, clock, events
from oip.core.errors import DomainError
from oip.fund import posting, rules
from oip.fund.models import Entry, EntryLine, EventReceipt, Period

SETTINGS = settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)

COUNTIES = ["450103", "450107", "450203", "450305", "450403", "450502", "450603", "451002", "451402"]
CITIES = sorted({rules.city_of(c) for c in COUNTIES})
ITEMS = list(rules.ITEM_SUBJECTS)
# Leaf subjects a manual entry may use (5001 has sub-subjects and takes none itself).
LEAVES = [s.code for s in rules.CHART if s.code != rules.EXPENSE]
# Source ids far beyond any real row (the events here are never committed).
_SOURCE = 8_000_000_000


@pytest.fixture(autouse=True)
def _database(database):
    """The shared test database."""


@contextmanager
def rolled_back():
    from oip.core.db import get_sessionmaker

    s = get_sessionmaker()()
    try:
        yield s
    finally:
        s.rollback()
        s.close()


# ---- the ledger's invariants ---------------------------------------------------------------------


def _trial_balance_totals(s, year: int, city: str | None = None) -> dict[str, int]:
    rows = posting.trial_balance(s, year, city)
    return {
        "debit": sum(r["debit_fen"] for r in rows),
        "credit": sum(r["credit_fen"] for r in rows),
        "debit_side": sum(r["balance_fen"] for r in rows if r["kind"] in rules.DEBIT_KINDS),
        "credit_side": sum(r["balance_fen"] for r in rows if r["kind"] not in rules.DEBIT_KINDS),
    }


def assert_balanced(s, years) -> None:
    s.flush()
    posted = EntryLine.posted
    d, c = sa.func.sum(EntryLine.debit_fen), sa.func.sum(EntryLine.credit_fen)
    assert not s.execute(select(EntryLine.entry_id).where(posted).group_by(EntryLine.entry_id).having(d != c)).all()
    assert not s.execute(select(EntryLine.period).where(posted).group_by(EntryLine.period).having(d != c)).all()
    assert not s.execute(
        select(EntryLine.entry_id, EntryLine.city_code)
        .where(posted)
        .group_by(EntryLine.entry_id, EntryLine.city_code)
        .having(d != c)
    ).all()
    for year in years:
        for city in (None, rules.PROVINCE, *CITIES[:2]):
            t = _trial_balance_totals(s, year, city)
            assert t["debit"] == t["credit"], (year, city, t)
            assert t["debit_side"] == t["credit_side"], (year, city, t)


def movements(s, years) -> dict[tuple[int, str], tuple[int, int]]:
    """(year, subject) → (debits, credits) of the year, from the trial balance."""
    out = {}
    for year in years:
        for r in posting.trial_balance(s, year):
            out[(year, r["subject_code"])] = (r["debit_fen"], r["credit_fen"])
    return out


# ---- what happens --------------------------------------------------------------------------------

amounts = st.integers(min_value=1, max_value=50_000_000)
days_back = st.integers(min_value=0, max_value=70)
line = st.tuples(st.sampled_from(ITEMS), st.sampled_from(COUNTIES), amounts)
manual_pair = st.tuples(
    st.sampled_from([rules.PROVINCE, *CITIES]), st.sampled_from(LEAVES), st.sampled_from(LEAVES), amounts
)

step = st.one_of(
    st.tuples(st.just("premium"), amounts, days_back),
    st.tuples(st.just("batch"), st.lists(line, min_size=1, max_size=8), days_back),
    st.tuples(st.just("reverse_line"), st.integers(min_value=0, max_value=1000), days_back),
    st.tuples(st.just("interest"), amounts, days_back),
    st.tuples(st.just("allocation"), st.sampled_from(CITIES), amounts, days_back),
    st.tuples(st.just("manual"), st.lists(manual_pair, min_size=1, max_size=4), days_back),
    st.tuples(st.just("reverse_entry"), st.integers(min_value=0, max_value=1000)),
    st.tuples(
        st.just("unbalanced"),
        st.sampled_from([rules.PROVINCE, *CITIES]),
        st.sampled_from([rules.PROVINCE, *CITIES]),
        amounts,
        st.integers(min_value=0, max_value=3),
    ),
)


class World:
    """The example's own business and what it expects the ledger to have moved by."""

    def __init__(self, s):
        self.s = s
        self.today = clock.today()
        self.seq = 0
        self.paid: list[tuple[int, str, str, int]] = []  # (line id, item, county, amount)
        self.reversed_lines: set[int] = set()
        self.entries: list[int] = []
        self.reversed_entries: set[int] = set()
        self.expected: dict[tuple[int, str], list[int]] = defaultdict(lambda: [0, 0])
        self.closed = posting.closed_months(s)

    def _book(self, day: dt.date, legs) -> None:
        year = int(rules.period_for(day, self.closed)[:4])
        for x in legs:
            acc = self.expected[(year, x.subject)]
            acc[0] += x.debit
            acc[1] += x.credit

    def _next(self) -> int:
        self.seq += 1
        return _SOURCE + self.seq

    def _emit(self, kind, day, county, amount, source_id, payload) -> events.DomainEvent:
        src = "tax_return" if kind == "premium.received" else "payment_line"
        return events.emit(
            self.s,
            kind,
            source_type=src,
            source_id=source_id,
            occurred_on=day,
            region_code=county,
            amount_fen=amount,
            payload=payload,
        )

    def _post_events(self, evs) -> None:
        self.s.flush()
        out = posting.post_pending(self.s)
        assert out.events == len(evs)
        ids = {ev.id for ev in evs}
        self.entries += sorted(set(self.s.scalars(select(EventReceipt.entry_id).where(EventReceipt.event_id.in_(ids)))))

    def _post(self, kind, day, legs, **kw) -> int:
        (eid,) = posting.post(self.s, audit.SYSTEM, [posting.NewEntry(kind, day, "性质测试", legs, **kw)])
        self._book(day, legs)
        self.entries.append(eid)
        return eid

    def apply(self, st_) -> None:
        kind = st_[0]
        if kind == "premium":
            _, amount, back = st_
            day = self.today - dt.timedelta(days=back)
            ev = self._emit("premium.received", day, rules.PROVINCE, amount, self._next(), {"tax_reference": "P"})
            self._book(day, rules.premium_legs(amount))
            self._post_events([ev])
        elif kind == "batch":
            _, lines, back = st_
            day = self.today - dt.timedelta(days=back)
            batch = self._next()
            evs = []
            for item, county, amount in lines:
                lid = self._next()
                payload = {"item": item, "batch_id": batch, "batch_number": f"PB{batch}", "key": f"L{lid}"}
                evs.append(self._emit("benefit.paid", day, county, amount, lid, payload))
                self.paid.append((lid, item, county, amount))
                self._book(day, rules.payment_legs(item, county, amount))
            self._post_events(evs)
        elif kind == "reverse_line":
            _, k, back = st_
            open_ = [p for p in self.paid if p[0] not in self.reversed_lines]
            if not open_:
                return
            lid, item, county, amount = open_[k % len(open_)]
            day = self.today - dt.timedelta(days=back)
            ev = self._emit("benefit.reversed", day, county, amount, lid, {"item": item, "key": f"L{lid}"})
            self.reversed_lines.add(lid)
            self._book(day, rules.payment_legs(item, county, amount, reversed_=True))
            self._post_events([ev])
        elif kind == "interest":
            _, amount, back = st_
            self._post("interest", self.today - dt.timedelta(days=back), rules.interest_legs(amount))
        elif kind == "allocation":
            _, city, amount, back = st_
            self._post("allocation", self.today - dt.timedelta(days=back), rules.allocation_legs(city, amount))
        elif kind == "manual":
            _, pairs, back = st_
            legs = []
            for city, dr, cr, amount in pairs:
                legs += [rules.Leg(dr, city, debit=amount), rules.Leg(cr, city, credit=amount)]
            self._post("manual", self.today - dt.timedelta(days=back), rules.merge(legs))
        elif kind == "reverse_entry":
            _, k = st_
            open_ = [e for e in self.entries if e not in self.reversed_entries]
            if not open_:
                return
            eid = open_[k % len(open_)]
            legs = [
                rules.Leg(sc, cc, d, c)
                for sc, cc, d, c in self.s.execute(
                    select(EntryLine.subject_code, EntryLine.city_code, EntryLine.debit_fen, EntryLine.credit_fen)
                    .where(EntryLine.entry_id == eid)
                    .order_by(EntryLine.line_no)
                )
            ]
            self.reversed_entries.add(eid)
            new = self._post("reversal", self.today, rules.reversal_of(legs), reverses_id=eid)
            self.reversed_entries.add(new)
        elif kind == "unbalanced":
            _, c1, c2, amount, how = st_
            legs = {
                0: [rules.Leg(rules.FISCAL, c1, debit=amount), rules.Leg(rules.PREMIUM_INCOME, c1, credit=amount + 1)],
                1: [rules.Leg(rules.FISCAL, c1, debit=amount)],
                2: [rules.Leg(rules.FISCAL, c1, debit=amount, credit=amount), rules.Leg(rules.BALANCE, c1, credit=1)],
                3: [rules.Leg("500101", c1, debit=amount), rules.Leg(rules.EXPENDITURE_ACCOUNT, c2, credit=amount)],
            }[how]
            if how == 3 and c1 == c2:
                legs = [rules.Leg(rules.EXPENSE, c1, debit=amount), rules.Leg(rules.FISCAL, c1, credit=amount)]
            before = self.s.scalar(select(sa.func.count()).select_from(Entry))
            with pytest.raises(DomainError):
                posting.post(self.s, audit.SYSTEM, [posting.NewEntry("manual", self.today, "不平", legs)])
            assert self.s.scalar(select(sa.func.count()).select_from(Entry)) == before


@SETTINGS
@given(steps=st.lists(step, min_size=1, max_size=10))
def test_no_sequence_of_business_unbalances_the_ledger(steps):
    with rolled_back() as s:
        posting.post_pending(s)  # whatever the demo left pending, so the baseline is settled
        w = World(s)
        years = sorted({w.today.year, (w.today - dt.timedelta(days=70)).year})
        base = movements(s, years)
        assert_balanced(s, years)
        for st_ in steps:
            w.apply(st_)
            assert_balanced(s, years)
            now = movements(s, years)
            for key in set(now) | set(base) | set(w.expected):
                b = base.get(key, (0, 0))
                n = now.get(key, (0, 0))
                assert (n[0] - b[0], n[1] - b[1]) == tuple(w.expected.get(key, (0, 0))), key


# ---- a closed period -----------------------------------------------------------------------------


def _close_through(s, month: str) -> Period:
    """Close every month from the first open one up to ``month`` (in this session only)."""
    # Manual entries other tests left awaiting a decision would stop a close: in this session (rolled
    # back) they are set aside as rejected.
    s.execute(
        text("UPDATE fund_entries SET status = 'rejected' WHERE status IN ('draft', 'submitted') AND period <= :m"),
        {"m": month},
    )
    posting.post_pending(s, audit.SYSTEM)  # what other tests left pending may open an earlier period
    first = s.scalar(select(sa.func.min(Period.month)))
    m = min(first, month) if first else month
    closed = posting.closed_months(s)
    p = None
    while m <= month:
        if m not in closed:
            p = posting.close_period(s, audit.SYSTEM, m)
        m = rules.next_month(m)
    return p or s.get(Period, month)


def _refused(s, sql: str, params: dict, match: str) -> None:
    with pytest.raises(sa.exc.IntegrityError, match=match):
        with s.begin_nested():
            s.execute(text(sql), params)


@settings(
    max_examples=4,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    back=st.integers(min_value=1, max_value=3),
    premium=amounts,
    lines=st.lists(line, min_size=1, max_size=4),
    late=amounts,
)
def test_a_closed_period_cannot_change(back, premium, lines, late):
    today = clock.today()
    y, m = today.year, today.month - back
    while m < 1:
        y, m = y - 1, m + 12
    month = f"{y:04d}-{m:02d}"
    day = dt.date(y, m, 15)
    with rolled_back() as s:
        if month in posting.closed_months(s):
            pytest.skip(f"{month} is closed in the shared database already")
        posting.post_pending(s)
        w = World(s)
        w.apply(("premium", premium, (today - day).days))
        w.apply(("batch", lines, (today - day).days))
        mine = list(w.entries)
        assert set(s.scalars(select(Entry.period).where(Entry.id.in_(mine)))) == {month}
        p = _close_through(s, month)
        assert p.month == month and p.status == "closed"
        totals = dict(p.totals)
        assert totals == posting.period_totals(s, month) and totals["debit_fen"] == totals["credit_fen"]
        eid = mine[0]
        line_id = s.scalar(select(EntryLine.id).where(EntryLine.entry_id == eid).limit(1))
        now = clock.now()
        for status in ("posted", "draft"):
            _refused(
                s,
                "INSERT INTO fund_entries (period, entry_date, kind, status, summary, source_ref, total_fen, made_at, note) "
                "VALUES (:m, :d, 'manual', :st, '补记', '', 1, :t, '')",
                {"m": month, "d": day, "st": status, "t": now},
                "已结账",
            )
        _refused(
            s,
            "INSERT INTO fund_entry_lines (entry_id, line_no, subject_code, city_code, debit_fen, credit_fen, period, posted, summary) "
            "VALUES (:e, 99, '1001', '450000', 1, 0, :m, false, '')",
            {"e": eid, "m": month},
            "已结账",
        )
        _refused(s, "UPDATE fund_entry_lines SET debit_fen = debit_fen + 1 WHERE id = :i", {"i": line_id}, "已记账")
        _refused(s, "UPDATE fund_entry_lines SET summary = 'x' WHERE id = :i", {"i": line_id}, "已记账")
        _refused(s, "DELETE FROM fund_entry_lines WHERE id = :i", {"i": line_id}, "已记账")
        _refused(s, "UPDATE fund_entries SET summary = 'x' WHERE id = :i", {"i": eid}, "已记账")
        _refused(s, "DELETE FROM fund_entries WHERE id = :i", {"i": eid}, "已记账")
        _refused(s, "UPDATE fund_periods SET status = 'open' WHERE month = :m", {"m": month}, "不能重新打开")
        _refused(s, "UPDATE fund_periods SET totals = NULL WHERE month = :m", {"m": month}, "不能重新打开")
        _refused(s, "DELETE FROM fund_periods WHERE month = :m", {"m": month}, "不能重新打开")
        # Late business of the closed month goes to the next open month.
        nxt = rules.period_for(day, posting.closed_months(s))
        assert nxt > month
        ev = events.emit(
            s,
            "premium.received",
            source_type="tax_return",
            source_id=_SOURCE + 999_999,
            occurred_on=day,
            region_code=rules.PROVINCE,
            amount_fen=late,
            payload={},
        )
        s.flush()
        assert posting.post_pending(s).events == 1
        late_entry = s.get(Entry, s.scalar(select(EventReceipt.entry_id).where(EventReceipt.event_id == ev.id)))
        assert late_entry.period == nxt and late_entry.entry_date == day
        assert late_entry.number.startswith(f"记-{nxt.replace('-', '')}-")
        (eid2,) = posting.post(
            s, audit.SYSTEM, [posting.NewEntry("interest", day, "迟到利息", rules.interest_legs(late))]
        )
        assert s.get(Entry, eid2).period == nxt
        # Nothing moved in the closed month.
        s.expire_all()
        assert posting.period_totals(s, month) == totals
        assert s.get(Period, month).status == "closed" and s.get(Period, month).totals == totals
        assert_balanced(s, sorted({y, today.year}))
