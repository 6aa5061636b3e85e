"""The demo's orders: realistic rhythm, through the real ingest, nothing rejected."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from oip.core import clock
from oip.core.db import session_scope
from oip.demo import orders as demo_orders
from oip.orders import ledger
from oip.orders.models import OrderBatch
from oip.workers.models import PlatformAccount
from tests.orders.conftest import register_workers


def test_generate_a_month_for_some_accounts():
    """August 2025 (the premiums tests count the real platforms' orders of 2025-07)."""
    ids = [a for a, _ in register_workers("meituan", 6, registered_on="2025-08-01")]
    ids += [a for a, _ in register_workers("didi", 4, registered_on="2025-08-10")]
    ids += [a for a, _ in register_workers("huolala", 3, registered_on="2025-08-01")]
    with session_scope() as s:
        pks = list(s.scalars(select(PlatformAccount.id).where(PlatformAccount.account_id.in_(ids))))
        summary = demo_orders.generate(s, seed=11, months=1, end=dt.date(2025, 9, 1), account_ids=pks)
    assert summary["months"] == ["2025-08"] and summary["rejected"] == 0 and summary["duplicates"] == 0
    assert summary["orders"] > 13 * 31 * 0.4 and summary["batches"] == 3
    assert summary["platforms"] == ["didi", "huolala", "meituan"]
    with session_scope() as s:
        # delivered in the small hours of 1 September 2025, as a platform's monthly file would be
        batches = s.scalars(select(OrderBatch).order_by(OrderBatch.id.desc()).limit(3)).all()
        assert {clock.local(b.started_at).date() for b in batches} == {dt.date(2025, 9, 1)}
        assert all(clock.local(b.published_at).hour == 1 for b in batches)
        con = ledger.connect()
        ledger.register_orders(con, s, ledger.Slice(months=("2025-08",)))
        quoted = ", ".join(f"'{a}'" for a in ids)
        rows = con.execute(f"""SELECT industry, count(*), avg(CASE WHEN status = 'cancelled' THEN 1 ELSE 0 END),
                min(epoch(finished_at - accepted_at)) / 60, max(epoch(finished_at - accepted_at)) / 60,
                min(accepted_at), count(DISTINCT worker_account_id)
            FROM orders WHERE worker_account_id IN ({quoted}) GROUP BY industry ORDER BY industry""").fetchall()
        hours = dict(
            con.execute(f"""SELECT hour(accepted_at), count(*) FROM orders
            WHERE worker_account_id IN ({quoted}) AND industry = 'instant_delivery' GROUP BY 1""").fetchall()
        )
        con.close()
    by = {r[0]: r for r in rows}
    assert set(by) == {"instant_delivery", "ride_hailing", "intracity_freight"}
    assert by["instant_delivery"][4] <= 51 and by["ride_hailing"][4] <= 41 and by["intracity_freight"][4] <= 121
    assert by["intracity_freight"][3] >= 0 and all(r[2] < 0.1 for r in rows)
    assert by["ride_hailing"][5].date() >= dt.date(2025, 8, 10)  # not before the accounts were registered
    assert hours.get(12, 0) > hours.get(4, 0) and hours.get(18, 0) > hours.get(15, 0)  # lunch and dinner peaks
