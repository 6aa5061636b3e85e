"""Benchmark: the fund's ledger over a province-year — posting a year's business events, the trial
balance, the check, closing twelve months.

    .venv/bin/python bench/fund_bench.py                          # 1.5 M insured, this year
    .venv/bin/python bench/fund_bench.py --cases 500 --monthly 6000 --repeat 3   # a quick run

Runs on a fresh database every time (the schema of ``--database-url``, or of the embedded server
under ``var/bench-fund``, is dropped and migrated first); never the development database.

The ledger sees business events, not persons: what 1.5 M insured platform workers make in a year
reaches the fund as ``domain_events`` — the platforms' premiums through the tax bureau's returns and
the benefits through the bank's results. So the benchmark generates the events a year produces, not
the persons:

- premiums: for each month and each of the 11 pilot platforms one tax return (a row in
  ``tax_returns``, paid on the 15th of the next month; December's on December 20th) and, for every
  fourth, a supplementary payment a week later — real source rows, so the check's tie-out finds
  them; amounts from ``--insured`` × ``--premium-yuan`` a year, split by the platforms' shares of
  orders;
- benefits: ``--cases`` cases' one-off payments (medical, meal subsidy, devices, disability or
  death lump sums, funeral…; 1–3 items a case) in weekly batches per city, ``--monthly`` monthly
  payments (disability allowance, nursing, dependants) in one batch per city and month, and
  ``--reversals`` reversals (退汇) of earlier paid lines a few days later; each line's county is drawn
  over the 14 cities by weight (南宁 most, 防城港 least). These events are inserted directly with the
  payload the payments domain writes (item, batch_id, batch_number, key) — their payment lines,
  payables, determinations and cases are not generated (that would be a benefits benchmark).

Then, with the clock frozen on ``--year`` + 1, January 5th (every month of the year has ended):

(a) ``posting.post_pending`` of the whole year in one run (one transaction, committed);
(b) ``posting.trial_balance(year)`` and ``trial_balance(year, city)`` for each city: median and max of
    ``--repeat`` runs each;
(c) ``check.run`` (all of it), and each part of it alone. The source tie-out (``_sources``) finds
    every tax return but no payment line (none generated): it must report exactly one problem per
    benefit event, "支付明细 … 不存在", and nothing else — asserted, so a real problem fails the run;
(d) closing the twelve months in order, each in its own transaction (``posting.close_period``).

One JSON line per figure on stdout, a summary on stderr.
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common  # noqa: E402

# The cities of Guangxi and a weight each (resident population, 10,000s, rounded).
CITY_WEIGHTS = {
    "450100": 890,
    "450200": 420,
    "450300": 495,
    "450400": 285,
    "450500": 190,
    "450600": 105,
    "450700": 330,
    "450800": 435,
    "450900": 580,
    "451000": 355,
    "451100": 200,
    "451200": 340,
    "451300": 205,
    "451400": 210,
}
# The pilot platforms' shares of orders (as bench/premiums_declare.py).
SHARES = {
    "meituan": 30,
    "eleme": 22,
    "dada": 6,
    "shansong": 3,
    "sfcity": 4,
    "didi": 18,
    "caocao": 5,
    "huolala": 6,
    "kuaigou": 2,
    "didifreight": 2,
    "manbang": 2,
}
# One-off items of a case (item, share of cases that have it, typical amount in yuan).
ONCE_ITEMS = [
    ("medical", 0.95, 6_000),
    ("meal_subsidy", 0.40, 600),
    ("devices", 0.05, 8_000),
    ("disability_once", 0.25, 60_000),
    ("funeral", 0.01, 45_000),
    ("death_once", 0.01, 1_000_000),
]
MONTHLY_ITEMS = [("disability_monthly", 0.6, 3_200), ("nursing", 0.25, 2_400), ("dependants", 0.15, 1_800)]


def _amount(rng: random.Random, yuan: int) -> int:
    """A fen amount around ``yuan`` (log-normal spread)."""
    return max(100, int(yuan * 100 * rng.lognormvariate(0, 0.5)))


def generate(args, year: int) -> dict:
    """The year's tax returns and events, inserted in bulk. Returns counts."""
    from sqlalchemy import insert, select

    from oip.core import clock
    from oip.core.db import session_scope
    from oip.core.events import DomainEvent
    from oip.platforms.models import Platform
    from oip.premiums.models import TaxReturn
    from oip.reference.models import Region

    rng = random.Random(args.seed)
    now = clock.now()
    with session_scope() as s:
        plats = dict(s.execute(select(Platform.code, Platform.id).where(Platform.code.in_(list(SHARES)))).all())
        counties: dict[str, list[str]] = {c: [] for c in CITY_WEIGHTS}
        for code in s.scalars(select(Region.code).where(Region.level == "county")):
            if code[:4] + "00" in counties:
                counties[code[:4] + "00"].append(code)
        cities, weights = list(CITY_WEIGHTS), list(CITY_WEIGHTS.values())

        def county() -> str:
            return rng.choice(counties[rng.choices(cities, weights)[0]])

        # Premiums: 12 months × 11 platforms, every fourth with a supplementary payment.
        monthly_fen = args.insured * args.premium_yuan * 100 // 12
        returns = []
        for m in range(1, 13):
            paid_on = dt.date(year, m + 1, 15) if m < 12 else dt.date(year, 12, 20)
            total = sum(SHARES.values())
            for i, (code, share) in enumerate(SHARES.items()):
                fen = int(monthly_fen * share // total * rng.uniform(0.9, 1.1))
                parts = [fen] if (m + i) % 4 else [fen * 9 // 10, fen - fen * 9 // 10]
                for k, part in enumerate(parts):
                    returns.append(
                        {
                            "platform_id": plats[code],
                            "month": f"{year}-{m:02d}",
                            "declared_fen": part,
                            "paid_fen": part,
                            "declared_on": paid_on - dt.timedelta(days=3),
                            "paid_on": paid_on + dt.timedelta(days=k * 7),
                            "tax_reference": f"BENCH{year}{m:02d}{code}{k}",
                            "imported_at": now,
                        }
                    )
        ids = s.scalars(insert(TaxReturn).returning(TaxReturn.id), returns).all()
        evs = [
            {
                "kind": "premium.received",
                "source_type": "tax_return",
                "source_id": rid,
                "occurred_on": r["paid_on"],
                "region_code": "450000",
                "amount_fen": r["paid_fen"],
                "payload": {"platform_id": r["platform_id"], "month": r["month"], "tax_reference": r["tax_reference"]},
                "recorded_at": now,
            }
            for rid, r in zip(ids, returns, strict=True)
        ]
        n_premium = len(evs)

        line_id = 0
        batch_id = 0
        paid: list[dict] = []

        def pay(batch: int, number: str, day: dt.date, item: str, region: str, fen: int) -> None:
            nonlocal line_id
            line_id += 1
            ev = {
                "kind": "benefit.paid",
                "source_type": "payment_line",
                "source_id": line_id,
                "occurred_on": day,
                "region_code": region,
                "amount_fen": fen,
                "payload": {
                    "item": item,
                    "case_id": line_id // 3,
                    "batch_id": batch,
                    "batch_number": number,
                    "paying_region": region[:4] + "00",
                    "key": f"B{batch}-L{line_id}",
                },
                "recorded_at": now,
            }
            evs.append(ev)
            paid.append(ev)

        # One-off payments: each case in its city's weekly batch of the week it was decided.
        weekly: dict[tuple[str, int], list] = {}
        for _ in range(args.cases):
            region = county()
            week = rng.randrange(52)
            for item, share, yuan in ONCE_ITEMS:
                if rng.random() < share:
                    weekly.setdefault((region[:4] + "00", week), []).append((item, region, _amount(rng, yuan)))
        for (city, week), items in sorted(weekly.items()):
            batch_id += 1
            day = dt.date(year, 1, 3) + dt.timedelta(days=7 * week)
            for item, region, fen in items:
                pay(batch_id, f"ZF{year}{city}W{week:02d}", day, item, region, fen)
        n_once = len(paid)
        # Monthly payments: one batch per city and month (the same pensioners every month).
        pensioners = [
            (county(), *rng.choices(MONTHLY_ITEMS, [x[1] for x in MONTHLY_ITEMS])[0][::2])
            for _ in range(args.monthly // 12)
        ]
        by_city: dict[str, list] = {}
        for region, item, yuan in pensioners:
            by_city.setdefault(region[:4] + "00", []).append((item, region, _amount(rng, yuan)))
        for m in range(1, 13):
            for city, people in sorted(by_city.items()):
                batch_id += 1
                for item, region, fen in people:
                    pay(batch_id, f"ZF{year}{city}M{m:02d}", dt.date(year, m, 10), item, region, fen)
        # Reversals of paid lines, a few days after (not past the year's end).
        for ev in rng.sample(paid, min(args.reversals, len(paid))):
            day = min(ev["occurred_on"] + dt.timedelta(days=rng.randint(2, 12)), dt.date(year, 12, 31))
            evs.append(
                {
                    **ev,
                    "kind": "benefit.reversed",
                    "occurred_on": day,
                    "payload": {"item": ev["payload"]["item"], "key": ev["payload"]["key"]},
                }
            )
        evs.sort(key=lambda e: (e["occurred_on"], e["kind"]))  # recorded in the order they happened
        s.execute(insert(DomainEvent), evs)
    return {
        "tax_returns": len(returns),
        "premium_events": n_premium,
        "once_payments": n_once,
        "monthly_payments": len(paid) - n_once,
        "payment_batches": batch_id,
        "reversals": min(args.reversals, len(paid)),
        "events": len(evs),
    }


def settle() -> None:
    from sqlalchemy import text

    from oip.core.db import get_engine

    with get_engine().connect().execution_options(isolation_level="AUTOCOMMIT") as c:
        c.execute(text("VACUUM ANALYZE"))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    _common.add_common(ap)
    ap.set_defaults(var_dir=str(_common.ROOT / "var" / "bench-fund"))
    ap.add_argument("--year", type=int, default=None, help="the year booked (default: this year)")
    ap.add_argument("--insured", type=int, default=1_500_000, help="insured workers (premiums scale with them)")
    ap.add_argument("--premium-yuan", type=int, default=100, help="premium per insured worker and year, yuan")
    ap.add_argument("--cases", type=int, default=5_000, help="cases with one-off payments in the year")
    ap.add_argument("--monthly", type=int, default=60_000, help="monthly benefit payments in the year")
    ap.add_argument("--reversals", type=int, default=300)
    ap.add_argument("--repeat", type=int, default=7, help="runs of each trial balance and of the check")
    ap.add_argument("--seed", type=int, default=13)
    ap.add_argument("--profile", action="store_true", help="profile the posting run (cProfile, top 25 on stderr)")
    args = ap.parse_args()
    _common.setup_env(args)
    _common.upgrade(reset=True)

    from sqlalchemy import func, select

    from oip.core import audit, clock
    from oip.core.db import get_sessionmaker, session_scope
    from oip.fund import check, posting
    from oip.fund.models import Entry, EntryLine

    year = args.year or clock.today().year
    figures: dict = {}
    with clock.frozen(dt.date(year + 1, 1, 5)):
        t0 = time.perf_counter()
        counts = generate(args, year)
        settle()
        _common.emit({"step": "generate", **counts, "seconds": round(time.perf_counter() - t0, 2)})

        # (a) the whole year posted in one run
        prof = None
        if args.profile:
            import cProfile

            prof = cProfile.Profile()
            prof.enable()
        t0 = time.perf_counter()
        with session_scope() as s:
            out = posting.post_pending(s)
        took = time.perf_counter() - t0
        if prof:
            import pstats

            prof.disable()
            pstats.Stats(prof, stream=sys.stderr).sort_stats("cumulative").print_stats(25)
        with session_scope() as s:
            entries = s.scalar(select(func.count()).select_from(Entry))
            lines = s.scalar(select(func.count()).select_from(EntryLine))
        figures["post"] = {"events": out.events, "entries": entries, "lines": lines, "seconds": round(took, 2)}
        _common.emit({"step": "post_pending", **figures["post"], "amount_fen": out.amount_fen})
        assert out.events == counts["events"], (out.events, counts)
        settle()

        def timed(fn, n: int) -> tuple[float, float]:
            ts = []
            for _ in range(n):
                s = get_sessionmaker()()
                try:
                    t0 = time.perf_counter()
                    fn(s)
                    ts.append((time.perf_counter() - t0) * 1000)
                finally:
                    s.rollback()
                    s.close()
            return statistics.median(ts), max(ts)

        # (b) trial balances
        with session_scope() as s:
            rows = posting.trial_balance(s, year)
        assert sum(r["debit_fen"] for r in rows) == sum(r["credit_fen"] for r in rows)
        med, mx = timed(lambda s: posting.trial_balance(s, year), args.repeat)
        figures["tb_year"] = (med, mx)
        _common.emit(
            {
                "step": "trial_balance",
                "city": None,
                "rows": len(rows),
                "median_ms": round(med, 1),
                "max_ms": round(mx, 1),
            }
        )
        city_meds = []
        for city in ["450000", *CITY_WEIGHTS]:
            med, mx = timed(lambda s, c=city: posting.trial_balance(s, year, c), args.repeat)
            city_meds.append((med, mx, city))
            _common.emit({"step": "trial_balance", "city": city, "median_ms": round(med, 1), "max_ms": round(mx, 1)})
        figures["tb_city"] = (statistics.median(m for m, _, _ in city_meds), max(x for _, x, _ in city_meds))

        # (c) the check, whole and by parts
        with session_scope() as s:
            report = check.run(s)
        benefit_events = counts["once_payments"] + counts["monthly_payments"] + counts["reversals"]
        missing = [p for p in report.problems if "支付明细" in p and "不存在" in p]
        missing_set = set(missing)
        other = [p for p in report.problems if p not in missing_set]
        assert len(missing) == benefit_events and not other, (len(missing), benefit_events, other[:5])
        med, mx = timed(check.run, max(3, args.repeat // 2))
        figures["check"] = (med, mx)
        _common.emit(
            {"step": "check.run", "problems": len(report.problems), "payment_lines_missing": len(missing),
             "other_problems": len(other), "median_ms": round(med, 1), "max_ms": round(mx, 1)}
        )  # fmt: skip
        parts = {
            "entries": check._entries,
            "periods": check._periods,
            "events": check._events,
            "sources": check._sources,
            "vouchers": check._vouchers,
        }
        figures["check_parts"] = {}
        for name, fn in parts.items():
            med, mx = timed(lambda s, f=fn: f(s, check.Report()), max(3, args.repeat // 2))
            figures["check_parts"][name] = med
            _common.emit({"step": f"check.{name}", "median_ms": round(med, 1), "max_ms": round(mx, 1)})
        med, mx = timed(check.tie_out, max(3, args.repeat // 2))
        figures["check_parts"]["tie_out"] = med
        _common.emit({"step": "check.tie_out", "median_ms": round(med, 1), "max_ms": round(mx, 1)})
        with session_scope() as s:
            t = check.tie_out(s)
        assert t["premium_income_fen"] == t["tax_returns_paid_fen"], t
        assert t["benefit_expenditure_fen"] == t["benefits_paid_fen"], t
        _common.emit({"step": "tie_out", **t})

        # (d) closing the twelve months in order
        closes = []
        t_all = time.perf_counter()
        for m in range(1, 13):
            t0 = time.perf_counter()
            with session_scope() as s:
                p = posting.close_period(s, audit.SYSTEM, f"{year}-{m:02d}")
                totals = dict(p.totals)
            closes.append(time.perf_counter() - t0)
            _common.emit({"step": "close", "month": f"{year}-{m:02d}", **totals, "seconds": round(closes[-1], 3)})
        figures["close"] = (time.perf_counter() - t_all, max(closes))
        with session_scope() as s:
            report = check.run(s)
        assert report.figures["periods_closed"] == 12

    print(
        f"\n{counts['events']:,} events ({counts['premium_events']} premiums, {counts['once_payments']:,} one-off and"
        f" {counts['monthly_payments']:,} monthly payments in {counts['payment_batches']:,} batches,"
        f" {counts['reversals']} reversals)\n"
        f"(a) post_pending: {figures['post']['entries']:,} entries, {figures['post']['lines']:,} lines in"
        f" {figures['post']['seconds']:.2f} s\n"
        f"(b) trial balance, year: median {figures['tb_year'][0]:.1f} ms (max {figures['tb_year'][1]:.1f});"
        f" one city: median of medians {figures['tb_city'][0]:.1f} ms (max {figures['tb_city'][1]:.1f})\n"
        f"(c) check.run: median {figures['check'][0]:.0f} ms (max {figures['check'][1]:.0f}); parts: "
        + ", ".join(f"{k} {v:.0f}" for k, v in figures["check_parts"].items())
        + " ms\n"
        f"(d) 12 closes: {figures['close'][0]:.2f} s in all, the slowest {figures['close'][1]:.2f} s",
        file=sys.stderr,
    )


if __name__ == "__main__":
    main()
