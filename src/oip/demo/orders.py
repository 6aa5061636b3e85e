"""Demo orders: whole months of orders for the demo workers' accounts, generated with numpy and
imported through the real ingest (one Parquet file per platform and month), so that the demo
exercises the same path as a platform's file.

The rhythm: a worker works on 40–60 % of days (their own rate), more on weekends for delivery; the
orders of a worked day follow the industry's hours (delivery: lunch and dinner peaks; ride-hailing:
morning and evening commutes; freight: daytime); about 1.5 % are cancelled; durations are 10–40 min
(ride-hailing), 20–50 min (delivery) and 40–120 min (freight). Volumes follow domain.md §7 (Guangxi:
1–3 M orders a day for 0.5–1.5 M insured, i.e. about two orders per registered worker per day).
Orders start on or after the account's registration day and the platform's coverage start, and stop
on the day an account left. Deterministic for a seed."""

from __future__ import annotations

import datetime as dt
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from oip.core import audit, clock
from oip.core.months import add_months, first_day, month_of, next_month, previous_month
from oip.demo.timeline import at, moment
from oip.platforms.models import Platform
from oip.platforms.scope import admitted
from oip.reference.models import Industry
from oip.workers.models import PlatformAccount

ACTOR = audit.SystemActor(label="demo")

# Share of each hour of the day in an industry's orders (local time).
HOURS = {
    "instant_delivery": [2, 1, 1, 0.5, 0.5, 0.5, 1, 3, 5, 5, 7, 14, 16, 8, 5, 4, 5, 9, 15, 12, 7, 5, 4, 3],
    "ride_hailing": [3, 2, 1, 1, 1, 2, 4, 10, 12, 8, 6, 6, 6, 6, 6, 6, 7, 11, 12, 9, 8, 7, 6, 4],
    "intracity_freight": [0.5, 0.2, 0.2, 0.2, 0.2, 0.5, 2, 6, 10, 11, 11, 10, 8, 9, 10, 10, 9, 7, 5, 3, 2, 1, 1, 0.5],
}
# Orders on a worked day (mean, before the worker's own intensity), duration in minutes, distance in m.
ORDERS_PER_DAY = {"instant_delivery": 5.0, "ride_hailing": 3.5, "intracity_freight": 2.0}
MINUTES = {"instant_delivery": (20, 50), "ride_hailing": (10, 40), "intracity_freight": (40, 120)}
DISTANCE = {"instant_delivery": (500, 6000), "ride_hailing": (2000, 20000), "intracity_freight": (3000, 30000)}
WEEKEND = {"instant_delivery": 1.25, "ride_hailing": 1.05, "intracity_freight": 0.8}  # work rate on Sat/Sun
CANCELLED = 0.015

# Approximate centres (lng, lat) of Guangxi's cities, for plausible coordinates.
CITY_CENTRES = {
    "4501": (108.37, 22.82),
    "4502": (109.42, 24.33),
    "4503": (110.29, 25.27),
    "4504": (111.28, 23.48),
    "4505": (109.12, 21.48),
    "4506": (108.35, 21.69),
    "4507": (108.65, 21.98),
    "4508": (109.60, 23.11),
    "4509": (110.18, 22.65),
    "4510": (106.62, 23.90),
    "4511": (111.57, 24.40),
    "4512": (108.09, 24.69),
    "4513": (109.23, 23.75),
    "4514": (107.36, 22.38),
}


def _months(end: dt.date, n: int) -> list[dt.date]:
    """The first days of the ``n`` whole months before ``end`` (a month's first day)."""
    last = previous_month(month_of(end))
    return [first_day(add_months(last, -i)) for i in reversed(range(n))]


def _orders_of_platform(
    rng: np.random.Generator,
    plat: Platform,
    industry: Industry,
    accounts: list[Any],
    days: np.ndarray,
    start_ok: dt.date,
    now_limit: np.datetime64,
) -> dict[str, np.ndarray]:
    """Every order of one platform's accounts over ``days`` (numpy datetime64[D], local dates)."""
    ind = industry.code if industry.code in HOURS else "instant_delivery"
    n_acc, n_days = len(accounts), len(days)
    first = np.array([np.datetime64(max(a.registered_on, start_ok)) for a in accounts])
    last = np.array(
        [np.datetime64(a.status_on if a.status == "left" and a.status_on else dt.date(9999, 12, 31)) for a in accounts]
    )
    rate = rng.uniform(0.4, 0.6, n_acc)
    intensity = rng.gamma(3.0, 1 / 3.0, n_acc)
    weekday = (days.astype("datetime64[D]").view("int64") - 4) % 7  # 1970-01-01 was a Thursday: 0 = Monday
    weekend = np.where(weekday >= 5, WEEKEND[ind], 1.0)
    worked = rng.random((n_acc, n_days)) < np.clip(rate[:, None] * weekend[None, :], 0, 0.95)
    worked &= (days[None, :] >= first[:, None]) & (days[None, :] <= last[:, None])
    ai, di = np.nonzero(worked)
    counts = 1 + rng.poisson(np.maximum(ORDERS_PER_DAY[ind] * intensity[ai] * weekend[di] - 1, 0))
    acc = np.repeat(ai, counts)
    day = np.repeat(di, counts)
    n = len(acc)
    hours = np.array(HOURS[ind], dtype=float)
    hour = rng.choice(24, size=n, p=hours / hours.sum())
    local = days[day].astype("datetime64[s]") + (hour * 3600 + rng.integers(0, 3600, n)).astype("timedelta64[s]")
    accepted = local - np.timedelta64(8, "h")  # UTC instants (Asia/Shanghai is UTC+8)
    cancelled = rng.random(n) < CANCELLED
    lo, hi = MINUTES[ind]
    minutes = np.where(cancelled, rng.integers(1, 8, n), rng.integers(lo, hi + 1, n))
    finished = accepted + (minutes * 60 + rng.integers(0, 60, n)).astype("timedelta64[s]")
    pickup = accepted + np.minimum(rng.integers(3, 11, n), np.maximum(minutes - 1, 1)).astype("timedelta64[m]")
    keep = finished < now_limit
    dlo, dhi = DISTANCE[ind]
    dist = rng.integers(dlo, dhi + 1, n)
    if ind == "ride_hailing":
        income = 800 + dist * 0.16 + rng.integers(0, 300, n)
    elif ind == "intracity_freight":
        income = 3000 + dist * 0.35 + rng.integers(0, 2000, n)
    else:
        income = 350 + dist * 0.09 + rng.integers(0, 250, n)
    county = np.array([a.county_code for a in accounts])[acc]
    centre = np.array([CITY_CENTRES.get(a.county_code[:4], (108.37, 22.82)) for a in accounts])[acc]
    slng = centre[:, 0] + rng.normal(0, 0.05, n)
    slat = centre[:, 1] + rng.normal(0, 0.04, n)
    angle = rng.uniform(0, 2 * np.pi, n)
    deg = dist / 111_000
    out = {
        "worker_account_id": np.array([a.account_id for a in accounts], dtype=object)[acc],
        "county_code": county,
        "accepted_at": accepted,
        "picked_up_at": pickup,
        "finished_at": finished,
        "status": np.where(cancelled, "cancelled", "completed"),
        "start_lng": np.round(slng, 6),
        "start_lat": np.round(slat, 6),
        "end_lng": np.round(slng + deg * np.cos(angle), 6),
        "end_lat": np.round(slat + deg * np.sin(angle) * 0.9, 6),
        "distance_m": dist,
        "income_fen": np.round(income).astype(np.int64),
        "cancelled": cancelled,
        "local_month": local.astype("datetime64[M]"),
    }
    return {k: v[keep] for k, v in out.items()}


def _write_month(
    path: Path, plat: Platform, industry_code: str, data: dict[str, np.ndarray], mask: np.ndarray, prefix: str
) -> int:
    import pyarrow as pa
    import pyarrow.parquet as pq

    idx = np.nonzero(mask)[0]
    order = idx[np.argsort(data["accepted_at"][idx], kind="stable")]  # a platform exports in time order
    n = len(order)
    cancelled = data["cancelled"][order]
    ts = pa.timestamp("s", tz="UTC")
    table = pa.table(
        {
            "order_id": pa.array([f"{prefix}{i:08d}" for i in range(n)], pa.string()),
            "platform_code": pa.array([plat.code] * n, pa.string()),
            "worker_account_id": pa.array(data["worker_account_id"][order].tolist(), pa.string()),
            "industry": pa.array([industry_code] * n, pa.string()),
            "county_code": pa.array(data["county_code"][order].tolist(), pa.string()),
            "accepted_at": pa.array(data["accepted_at"][order], ts),
            "picked_up_at": pa.array(data["picked_up_at"][order], ts, mask=cancelled),
            "finished_at": pa.array(data["finished_at"][order], ts),
            "status": pa.array(data["status"][order].tolist(), pa.string()),
            "start_lng": pa.array(data["start_lng"][order], pa.float64()),
            "start_lat": pa.array(data["start_lat"][order], pa.float64()),
            "end_lng": pa.array(data["end_lng"][order], pa.float64()),
            "end_lat": pa.array(data["end_lat"][order], pa.float64()),
            "distance_m": pa.array(data["distance_m"][order], pa.int64(), mask=cancelled),
            "income_fen": pa.array(data["income_fen"][order], pa.int64(), mask=cancelled),
        }
    )
    pq.write_table(table, path, compression="snappy")
    return n


def generate(
    session: Session,
    seed: int,
    months: int = 3,
    end: dt.date | None = None,
    progress=None,
    *,
    platforms: list[str] | None = None,
    account_ids: list[int] | None = None,
) -> dict:
    """Generate and import ``months`` whole months of orders before ``end`` (default: the first day of
    the current month) for the active accounts of the demo workers (optionally only the given
    platforms, or the given PlatformAccount ids). Commits ``session`` first: each file is imported
    and published by the ingest in its own transaction.

    Returns {"orders", "batches", "rejected", "duplicates", "months", "platforms", "files", "seconds"}."""
    from oip.orders import ingest
    from oip.platforms.phasing import coverage_start

    t0 = time.monotonic()
    session.commit()
    end = (end or clock.today()).replace(day=1)
    month_starts = _months(end, months)
    start = month_starts[0]
    days = np.arange(np.datetime64(start), np.datetime64(end), dtype="datetime64[D]")
    now_limit = np.datetime64(clock.now().replace(tzinfo=None) - dt.timedelta(minutes=10), "s")
    rng = np.random.default_rng(seed)
    industries = {i.code: i for i in session.scalars(select(Industry))}
    q = select(Platform).where(admitted()).order_by(Platform.code)
    if platforms:
        q = q.where(Platform.code.in_(platforms))
    totals = {"orders": 0, "batches": 0, "rejected": 0, "duplicates": 0, "files": 0}
    used: list[str] = []
    with tempfile.TemporaryDirectory(prefix="oip-demo-orders-") as tmp:
        for plat in list(session.scalars(q)):
            industry = industries[plat.industry_code]
            start_ok = coverage_start(plat, industry)
            if start_ok is None:
                continue
            aq = select(PlatformAccount).where(PlatformAccount.platform_id == plat.id).order_by(PlatformAccount.id)
            if account_ids is not None:
                aq = aq.where(PlatformAccount.id.in_(account_ids))
            accounts = [a for a in session.scalars(aq) if a.status == "active" or a.status_on]
            if not accounts:
                continue
            data = _orders_of_platform(rng, plat, industry, accounts, days, start_ok, now_limit)
            used.append(plat.code)
            for m in month_starts:
                mask = data["local_month"] == np.datetime64(m, "M")
                if not mask.any():
                    continue
                path = Path(tmp) / f"{plat.code}-{m:%Y-%m}.parquet"
                prefix = f"DM{plat.code[:4].upper()}{m:%Y%m}{seed % 1000:03d}"
                _write_month(path, plat, industry.code, data, mask, prefix)
                # Each platform delivers a month's orders in the small hours of the 1st of the next month
                # (demo.timeline: the batch and its audit events carry that time, never one after now).
                with at(moment(first_day(next_month(month_of(m))), 1, 10 + len(used))):
                    res = ingest.import_file(
                        path, plat.code, fmt="parquet", actor=ACTOR, source="demo", filename=path.name
                    )
                path.unlink()
                totals["orders"] += res.accepted
                totals["rejected"] += res.rejected
                totals["duplicates"] += res.duplicates
                totals["batches"] += 1
                totals["files"] += len(res.months)
                if progress is not None:
                    progress.print(f"  orders: {plat.code} {m:%Y-%m}: {res.accepted:,} 单")
    session.expire_all()
    return {
        **totals,
        "months": [f"{m:%Y-%m}" for m in month_starts],
        "platforms": used,
        "seconds": round(time.monotonic() - t0, 1),
    }
