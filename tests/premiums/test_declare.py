"""The monthly declaration from the order ledger: idempotent, recomputed while draft, frozen once
sent with late orders carried into the next month, parameters and rates by date."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal as D

import pytest
from sqlalchemy import func, select

from oip.core import clock
from oip.core.audit_models import AuditEvent
from oip.core.errors import DomainError
from oip.exchange import tax
from oip.platforms import service as platforms
from oip.platforms.models import PlatformFloat
from oip.premiums import service
from oip.premiums.models import Declaration
from oip.reference import parameters
from tests.premiums.conftest import Order, make_platform, orders, publish


def _events(db, code: str, month: str) -> int:
    return db.scalar(
        select(func.count())
        .select_from(AuditEvent)
        .where(AuditEvent.action == "premium.declare", AuditEvent.entity_id == f"{code}/{month}")
    )


def _one(res) -> Declaration:
    assert len(res.declarations) == 1
    return res.declarations[0]


def test_counts_billable_orders_and_is_idempotent(db, si):
    p = make_platform(db)  # 即时配送, 0.07
    publish(db, p, "2025-08", orders("a", 120) + orders("b", 15, status="cancelled"))
    res = service.declare(db, si, "2025-08", platforms_=[p.code])
    assert res.rows() == [
        {"platform_code": p.code, "orders": 120, "base_yuan": "0.07", "k": 0, "rate_yuan": "0.07", "amount_fen": 840}
    ]
    d = _one(res)
    assert (d.status, d.total_fen, d.adjustment_fen, d.due_date) == ("draft", 840, 0, dt.date(2025, 9, 15))
    assert d.billable_statuses == ["completed"] and d.engine == "duckdb"
    assert res.created == 1 and _events(db, p.code, "2025-08") == 1
    computed_at = d.computed_at

    again = service.declare(db, si, "2025-08", platforms_=[p.code])
    assert (again.created, again.changed, again.unchanged) == (0, 0, 1)
    assert _one(again).computed_at == computed_at
    assert _events(db, p.code, "2025-08") == 1  # nothing changed: no second event


def test_a_draft_is_recomputed_in_place(db, si):
    p = make_platform(db, industry="ride_hailing", base="0.01")
    publish(db, p, "2025-08", orders("a", 1000))
    d = _one(service.declare(db, si, "2025-08", platforms_=[p.code]))
    first_id = d.id
    publish(db, p, "2025-08", orders("late", 234))
    res = service.declare(db, si, "2025-08", platforms_=[p.code])
    d = _one(res)
    assert res.changed == 1 and d.id == first_id
    assert (d.orders, d.amount_fen, d.status) == (1234, 1234, "draft")  # 12.34 yuan
    ev = db.scalars(
        select(AuditEvent)
        .where(AuditEvent.action == "premium.declare", AuditEvent.entity_id == f"{p.code}/2025-08")
        .order_by(AuditEvent.seq)
    ).all()
    assert [e.before for e in ev][1] == {"orders": 1000, "amount_fen": 1000, "total_fen": 1000}
    assert ev[1].after["orders"] == 1234


def test_corrections_are_counted_once_in_their_current_version(db, si):
    p = make_platform(db)
    publish(db, p, "2025-08", orders("a", 10))
    # a-000000 corrected to cancelled, a-000001 corrected but still completed
    publish(
        db,
        p,
        "2025-08",
        [Order("a-000000", "cancelled", version=2), Order("a-000001", "completed", version=2)],
        supersede=[("a-000000", 1), ("a-000001", 1)],
    )
    d = _one(service.declare(db, si, "2025-08", platforms_=[p.code]))
    assert d.orders == 9 and d.amount_fen == 63


def test_after_sending_late_orders_go_into_the_next_draft(db, si, tmp_path):
    gw = tax.FileTaxGateway(tmp_path)
    p = make_platform(db, industry="instant_delivery", base="0.07")
    publish(db, p, "2025-08", orders("aug", 100))
    publish(db, p, "2025-09", orders("sep", 50))
    sent = service.send(db, si, "2025-08", platforms_=[p.code], gateway=gw)
    assert sent.queued == [p.code] and sent.deliveries[0].ok
    aug = db.scalar(select(Declaration).where(Declaration.platform_id == p.id, Declaration.month == "2025-08"))
    assert (aug.status, aug.orders, aug.total_fen) == ("sent", 100, 700)

    # 7 orders of August arrive late, 1 is cancelled by a correction
    publish(db, p, "2025-08", orders("aug-late", 7))
    publish(db, p, "2025-08", [Order("aug-000000", "cancelled", version=2)], supersede=[("aug-000000", 1)])
    again = service.declare(db, si, "2025-08", platforms_=[p.code])
    assert _one(again).status == "sent" and again.frozen == 1
    db.refresh(aug)
    assert (aug.orders, aug.total_fen) == (100, 700)  # a sent declaration never changes

    sep = _one(service.declare(db, si, "2025-09", platforms_=[p.code]))
    assert (sep.orders, sep.amount_fen) == (50, 350)
    assert (sep.adjustment_orders, sep.adjustment_fen, sep.total_fen) == (6, 42, 392)
    [adj] = sep.adjustments
    assert (adj.origin_month, adj.orders, adj.rate_yuan, adj.amount_fen) == ("2025-08", 6, D("0.07"), 42)
    # idempotent with the adjustment, and the October draft does not count it twice
    assert service.declare(db, si, "2025-09", platforms_=[p.code]).unchanged == 1
    octo = _one(service.declare(db, si, "2025-10", platforms_=[p.code]))
    assert (octo.orders, octo.adjustment_orders, octo.total_fen) == (0, 0, 0)

    # September is sent with the adjustment; then one more late August order goes into October
    service.send(db, si, "2025-09", platforms_=[p.code], gateway=gw)
    publish(db, p, "2025-08", orders("aug-later", 1))
    octo = _one(service.declare(db, si, "2025-10", platforms_=[p.code]))
    assert [(a.origin_month, a.orders, a.amount_fen) for a in octo.adjustments] == [("2025-08", 1, 7)]
    assert octo.total_fen == 7
    body = (tmp_path / "outbox" / f"{sep.message_id}.json").read_text(encoding="utf-8")
    assert '"adjustment_fen": 42' in body and '"origin_month": "2025-08"' in body


def test_adjustments_add_up_to_the_rounded_amount_of_the_month(db, si, tmp_path):
    """Late orders at 0.035/order: what is declared for the month always sums to round(n × rate)."""
    gw = tax.FileTaxGateway(tmp_path)
    p = make_platform(db, industry="instant_delivery", base="0.07")
    p.floats.append(PlatformFloat(year=2025, k=-5))  # 0.035/order (history: set directly)
    m1, m2 = "2025-10", "2025-11"
    publish(db, p, m1, orders("a", 1))
    service.send(db, si, m1, platforms_=[p.code], gateway=gw)  # 3.5 fen → 4
    publish(db, p, m1, orders("b", 2))
    d = _one(service.declare(db, si, m2, platforms_=[p.code]))
    # 3 orders → 10.5 fen → 11 in all, 4 already declared: the adjustment is 7 fen, not 2 × 3.5 → 8
    assert (d.adjustment_orders, d.adjustment_fen) == (2, 7)


def test_every_admitted_platform_gets_a_declaration_even_without_orders(db, si):
    quiet = make_platform(db, industry="intracity_freight", base="0.18")
    late_joiner = make_platform(db, covered_from="2025-12-01")
    res = service.declare(db, si, "2025-11")
    codes = {d.platform.code for d in res.declarations}
    assert quiet.code in codes and late_joiner.code not in codes
    assert {"meituan", "didi", "huolala", "eleme", "manbang"} <= codes
    d = next(d for d in res.declarations if d.platform.code == quiet.code)
    assert (d.orders, d.amount_fen, d.base_yuan) == (0, 0, D("0.18"))
    with pytest.raises(DomainError, match="未纳入保障") as e:
        service.declare(db, si, "2025-11", platforms_=[late_joiner.code])
    assert e.value.field == "platforms"


def test_orders_of_a_platform_not_yet_covered_are_not_billed_but_reported(db, si):
    p = make_platform(db, covered_from="2025-08-20")
    publish(db, p, "2025-08", [Order(f"x{i}", day=dt.date(2025, 8, 10 + i)) for i in range(20)])  # 10th … 29th
    d = _one(service.declare(db, si, "2025-08", platforms_=[p.code]))
    assert d.covered_from == dt.date(2025, 8, 20) and d.orders == 10 and d.amount_fen == 70
    stranger = make_platform(db, covered_from="2025-12-01")
    publish(db, stranger, "2025-09", orders("s", 4))
    res = service.declare(db, si, "2025-09")
    assert any(stranger.code in w and "4 单" in w for w in res.warnings)


def test_base_on_the_first_covered_day_and_k_of_the_year(db, si):
    p = make_platform(db, industry="instant_delivery", base="0.07")
    platforms.add_rate(db, si, p.code, base_yuan=D("0.25"), valid_from=dt.date(2025, 9, 1))
    platforms.add_rate(db, si, p.code, base_yuan=D("0.08"), valid_from=dt.date(2025, 10, 15))
    p.floats.append(PlatformFloat(year=2026, k=2))  # effective 1 January 2026
    months = ("2025-08", "2025-09", "2025-10", "2025-11", "2026-01")
    for m in months:
        publish(db, p, m, orders(m, 10))
    got = {m: service.declare(db, si, m, platforms_=[p.code]).rows()[0] for m in months}
    assert [(r["base_yuan"], r["k"], r["rate_yuan"], r["amount_fen"]) for r in got.values()] == [
        ("0.07", 0, "0.07", 70),
        ("0.25", 0, "0.25", 250),
        ("0.25", 0, "0.25", 250),  # changed on the 15th: October still at the base of 1 October
        ("0.08", 0, "0.08", 80),
        ("0.08", 2, "0.096", 96),
    ]


def test_billable_statuses_are_a_parameter_by_date(db, si):
    """Include cancelled orders from 2025-10-01 (in this test's transaction only)."""
    p = make_platform(db)
    for m in ("2025-09", "2025-10"):
        publish(db, p, m, orders(m, 10) + orders(m + "c", 5, status="cancelled"))
    parameters.set(
        db,
        si,
        "premium.billable_statuses",
        ["completed", "cancelled"],
        dt.date(2025, 10, 1),
        "测试：取消单自 2025-10-01 起计费",
    )
    sep = _one(service.declare(db, si, "2025-09", platforms_=[p.code]))
    octo = _one(service.declare(db, si, "2025-10", platforms_=[p.code]))
    assert (sep.orders, sep.billable_statuses) == (10, ["completed"])
    assert (octo.orders, octo.billable_statuses) == (15, ["completed", "cancelled"])
    assert parameters.get(db, "premium.billable_statuses", dt.date(2025, 9, 30)) == ["completed"]
    with pytest.raises(DomainError) as e:
        parameters.set(db, si, "premium.billable_statuses", [], dt.date(2025, 11, 1), "x")
    assert e.value.field == "value"
    with pytest.raises(DomainError, match="晚于"):
        parameters.set(db, si, "premium.billable_statuses", ["completed"], dt.date(2025, 9, 1), "x")
    db.rollback()


def test_months_are_checked(db, si):
    for bad in ("2025-13", "next month"):
        with pytest.raises(DomainError) as e:
            service.declare(db, si, bad)
        assert e.value.field == "month"
    future = clock.today().replace(day=1) + dt.timedelta(days=40)
    with pytest.raises(DomainError, match="尚未开始"):
        service.declare(db, si, future.strftime("%Y-%m"))
    this_month = clock.today().strftime("%Y-%m")
    p = make_platform(db)
    with pytest.raises(DomainError, match="尚未结束"):
        service.send(db, si, this_month, platforms_=[p.code])
    with pytest.raises(DomainError, match="试点自 2025-07 起"):
        service.declare(db, si, "2024-05")
    with pytest.raises(DomainError, match="计算引擎"):
        service.declare(db, si, "2025-08", engine="sqlite", platforms_=[p.code])
    db.rollback()
