"""Benchmark: the worklists (待办工作台) over N injury cases, for a county, a city and the region office.

    .venv/bin/python bench/case_worklist.py                       # 100,000 cases, 200 rounds
    .venv/bin/python bench/case_worklist.py --cases 20000 --repeat 50 --explain

Runs in its own var directory (default ``var/bench-cases``) with its own embedded PostgreSQL, migrated
on first use; never touches the development database. The cases are generated directly with SQL
(not through the service: the benchmark measures the reads) on ``--accounts`` synthetic workers:
spread over every county of Guangxi, in the mix of states of a pilot a few years old (about 80 %
closed, the open ones in every state of the transition table), the date each open case waits on
(``next_due``) spread from 40 days overdue to 80 days ahead of "today", which is fixed (the clock is
frozen on ``--today``, a Monday) so that runs compare. A table of the same size is reused.

Then, for each office, it runs what the worklist page and API run — ``oip.cases.worklist.bucket``
for the three sections (the count, the first page of 20 ordered by the date due, the names of that
page, the audit event of the read) and ``worklist.summary`` (one grouped count) — ``--repeat`` times
each after 5 warm-up rounds, each call in a transaction that is rolled back, and prints p50/p95/max
in ms per office and query (one JSON line each, a table on stderr). With ``--explain`` it prints
PostgreSQL's plan (EXPLAIN ANALYZE, BUFFERS) of every statement on the cases table that one round
of each office sends, with the parameters it sent.
"""

from __future__ import annotations

import argparse
import datetime as dt
import re
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common  # noqa: E402

# Share of cases per state, per mille (a pilot a few years old: most cases closed).
STATE_MIX = {
    "closed": 800,
    "withdrawn": 20,
    "merged": 10,
    "reported": 10,
    "applied": 10,
    "correction": 10,
    "accepted": 30,
    "investigating": 20,
    "suspended": 10,
    "confirmed": 30,
    "not_confirmed": 10,
    "appealed": 5,
    "refused": 5,
    "appraisal": 20,
    "appraised": 10,
}
OFFICES = {"county": ("hrss_county", "450103", "南宁市青秀区人社局"), "city": ("hrss_city", "450100", "南宁市人社局"),
           "region": ("hrss_region", "450000", "自治区人社厅")}  # fmt: skip
QUERIES = ("overdue", "due_soon", "suspended", "summary")


def upgrade(reset: bool) -> None:
    from oip.core.db import session_scope
    from oip.reference import parameters

    _common.upgrade(reset)
    with session_scope() as s:
        parameters.ensure_defaults(s)


def generate(n: int, accounts: int, today: dt.date) -> float:
    """``n`` cases on ``accounts`` workers (created in bulk); idempotent for the same size."""
    from sqlalchemy import text

    from oip.core.db import get_engine

    assert sum(STATE_MIX.values()) == 1000
    t0 = time.monotonic()
    _common.register_accounts("meituan", "CW", accounts)
    with get_engine().begin() as c:
        have = c.execute(text("SELECT count(*) FROM cases WHERE number LIKE 'ZB%'")).scalar_one()
        if have == n:
            return 0.0
        c.execute(text("DELETE FROM cases WHERE number LIKE 'ZB%'"))
        states, cum, lo = [], [], 0
        for state, share in STATE_MIX.items():
            states.append(state)
            lo += share
            cum.append(lo)
        # The state of case g is where hash(g) % 1000 falls in the cumulative shares.
        state_case = " ".join(f"WHEN h % 1000 < {b} THEN '{s}'" for s, b in zip(states, cum, strict=True))
        open_states = ", ".join(f"'{s}'" for s in states if s not in ("closed", "withdrawn", "merged"))
        c.execute(
            text(f"""
            WITH acc AS (
                SELECT row_number() OVER (ORDER BY a.id) - 1 AS k, a.id, a.person_id, a.platform_id
                FROM platform_accounts a WHERE a.account_id LIKE 'BCW%'),
            counties AS (SELECT array_agg(code ORDER BY code) AS codes FROM regions WHERE level = 'county'),
            g AS (
                SELECT g, abs(hashtext('case-' || g)) AS h, abs(hashtext('due-' || g)) AS h2
                FROM generate_series(1, :n) g),
            s AS (
                SELECT g.g, g.h, g.h2, CASE {state_case} END AS state,
                       counties.codes[1 + (g.h2 % array_length(counties.codes, 1))] AS county,
                       CAST(:today AS date) - (g.h % 1800) AS occurred
                FROM g, counties)
            INSERT INTO cases (number, person_id, platform_id, platform_account_id, kind, outpatient_only,
                               occurred_at, county_code, address, description, injuries, state, version,
                               reported_on, applied_on, accepted_on, clock_from, simple, decision_due, next_due,
                               created_at, updated_at, closed_at)
            SELECT 'ZB' || lpad(CAST(s.g AS text), 10, '0'), acc.person_id, acc.platform_id, acc.id, 'injury', false,
                   s.occurred + time '10:00', s.county, '基准路 ' || s.g || ' 号', '基准案件', '', s.state, 3,
                   s.occurred, s.occurred, s.occurred + 2, s.occurred + 2, s.g % 5 = 0,
                   CASE WHEN s.state IN ('accepted', 'investigating', 'confirmed', 'not_confirmed', 'appealed',
                                         'appraisal', 'appraised', 'closed')
                        THEN CAST(:today AS date) - 40 + ((s.h2 / 7) % 120) END,
                   CASE WHEN s.state IN ({open_states}) THEN CAST(:today AS date) - 40 + ((s.h2 / 7) % 120) END,
                   now(), now(), CASE WHEN s.state IN ('closed', 'withdrawn', 'merged') THEN now() END
            FROM s JOIN acc ON acc.k = s.g % :accounts"""),
            {"n": n, "today": today, "accounts": accounts},
        )
    return time.monotonic() - t0


def settle() -> None:
    """The table as autovacuum leaves it: statistics, and the visibility map that lets a count answer
    from the index alone."""
    from sqlalchemy import text

    from oip.core.db import get_engine

    with get_engine().connect().execution_options(isolation_level="AUTOCOMMIT") as c:
        c.execute(text("VACUUM ANALYZE cases"))


def principals() -> dict:
    from oip.auth.permissions import role
    from oip.auth.service import Principal

    out = {}
    for i, (name, (code, region, org)) in enumerate(OFFICES.items()):
        prefix = {"hrss_region": region[:2], "hrss_city": region[:4]}.get(code, region)
        out[name] = Principal(
            user_id=-(i + 1),
            username=f"bench_{name}",
            display_name=f"基准（{org}）",
            role=role(code),
            organisation_id=0,
            organisation_name=org,
            region_code=region,
            region_prefix=prefix,
            via="token",
        )
    return out


def run_query(p, query: str):
    from oip.cases import worklist
    from oip.core.db import get_sessionmaker

    s = get_sessionmaker()()
    try:
        if query == "summary":
            return worklist.summary(s, p)
        return worklist.bucket(s, p, query, page=1)
    finally:
        s.rollback()
        s.close()


def explain(p, query: str) -> None:
    """EXPLAIN ANALYZE of each statement on the cases table that one call sends."""
    from sqlalchemy import event

    from oip.core.db import get_engine

    sent: list[tuple[str, object]] = []

    def capture(conn, cursor, statement, parameters, context, executemany):
        if re.search(r"\bFROM cases\b", statement) and not statement.lstrip().upper().startswith("EXPLAIN"):
            sent.append((statement, parameters))

    engine = get_engine()
    event.listen(engine, "before_cursor_execute", capture)
    try:
        run_query(p, query)
    finally:
        event.remove(engine, "before_cursor_execute", capture)
    raw = engine.raw_connection()
    try:
        cur = raw.cursor()
        for statement, parameters in sent:
            cur.execute("EXPLAIN (ANALYZE, BUFFERS) " + statement, parameters)
            plan = "\n".join(r[0] for r in cur.fetchall())
            print(f"\n--- {p.organisation_name} · {query}\n{statement}\n{parameters}\n{plan}", file=sys.stderr)
        raw.rollback()
    finally:
        raw.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    _common.add_common(ap)
    ap.set_defaults(var_dir=str(_common.ROOT / "var" / "bench-cases"))
    ap.add_argument("--cases", type=int, default=100_000)
    ap.add_argument("--accounts", type=int, default=20_000)
    ap.add_argument("--repeat", type=int, default=200)
    ap.add_argument("--today", default="2026-06-15", help="the frozen day the worklists are asked on (a Monday)")
    ap.add_argument("--explain", action="store_true", help="print the plans of one round (stderr)")
    ap.add_argument("--reset", action="store_true", help="drop the benchmark database's schema first")
    args = ap.parse_args()
    _common.setup_env(args)
    upgrade(args.reset)

    from sqlalchemy import text

    from oip.core import clock
    from oip.core.db import get_engine

    today = dt.date.fromisoformat(args.today)
    with clock.frozen(today):
        took = generate(args.cases, args.accounts, today)
        if took:
            print(f"generated {args.cases:,} cases in {took:.1f} s", file=sys.stderr)
        settle()
        with get_engine().connect() as c:
            by_state = dict(c.execute(text("SELECT state, count(*) FROM cases GROUP BY state")).all())
        _common.emit({"cases": sum(by_state.values()), "by_state": by_state})
        offices = principals()
        if args.explain:
            for p in offices.values():
                for q in QUERIES:
                    explain(p, q)
        rows = []
        for name, p in offices.items():
            sizes = {q: (r["total"] if q != "summary" else r["totals"]) for q in QUERIES if (r := run_query(p, q))}
            for _ in range(5):
                for q in QUERIES:
                    run_query(p, q)
            times: dict[str, list[float]] = {q: [] for q in QUERIES}
            for _ in range(args.repeat):
                for q in QUERIES:  # interleaved, as a page asks them one after another
                    t0 = time.perf_counter()
                    run_query(p, q)
                    times[q].append((time.perf_counter() - t0) * 1000)
            for q in QUERIES:
                t = sorted(times[q])
                rec = {
                    "office": name,
                    "query": q,
                    "rows": sizes[q],
                    "n": len(t),
                    "p50_ms": round(statistics.median(t), 2),
                    "p95_ms": round(t[int(0.95 * (len(t) - 1))], 2),
                    "max_ms": round(t[-1], 2),
                }
                _common.emit(rec)
                rows.append(rec)
    print(f"\n{'office':8} {'query':10} {'rows':>28} {'p50':>8} {'p95':>8} {'max':>8}", file=sys.stderr)
    for r in rows:
        print(
            f"{r['office']:8} {r['query']:10} {str(r['rows']):>28} {r['p50_ms']:8.2f} {r['p95_ms']:8.2f} {r['max_ms']:8.2f}",
            file=sys.stderr,
        )


if __name__ == "__main__":
    main()
