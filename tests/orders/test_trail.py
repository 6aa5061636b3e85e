"""The order trail of a day (evidence for an injury case): the orders of a person on the day of a
moment — with pick-up, coordinates and distance — and where the moment falls on them: during an
order, between two, before the first, after the last, on a day without orders."""

from __future__ import annotations

import datetime as dt

import pytest

from oip.core.audit_models import AuditEvent
from oip.core.db import session_scope
from oip.orders import coverage, coverage_rules as R
from tests.orders.conftest import import_rows, order, register_workers
from tests.workers.conftest import new_id, new_name

SH = dt.timezone(dt.timedelta(hours=8))


def at(s: str) -> dt.datetime:
    return dt.datetime.fromisoformat(s).replace(tzinfo=SH)


def ref(oid: str, start: str, end: str, status: str = "completed") -> R.OrderRef:
    return R.OrderRef(oid, "meituan", "A1", at(start), at(end), status, "450103")


DAY = [ref("O1", "2025-09-10 09:00", "2025-09-10 09:30"), ref("O2", "2025-09-10 11:00", "2025-09-10 11:45")]


@pytest.mark.parametrize(
    ("moment", "kind", "words"),
    [
        ("2025-09-10 09:00", "during", "处于订单 O1 的执行期间（09:00 接单，09:30 完成；接单后 0 秒）"),
        ("2025-09-10 09:30", "during", "处于订单 O1 的执行期间"),  # the window's end is inside
        (
            "2025-09-10 09:31",
            "between",
            "处于订单 O1（09:30 完成）与订单 O2（11:00 接单）之间：上一单结束后 1 分钟，下一单接单前 1 小时 29 分钟",
        ),
        ("2025-09-10 08:15", "before_first", "早于当日第一单 O1（09:00 接单）45 分钟"),
        ("2025-09-10 13:45", "after_last", "晚于当日最后一单 O2（11:45 完成）2 小时"),
    ],
)
def test_where_a_moment_falls(moment, kind, words):
    p = R.place(at(moment), DAY)
    assert p.kind == kind and words in p.text, p.text


def test_two_orders_at_once_and_a_day_without_orders():
    both = DAY + [ref("O3", "2025-09-10 09:10", "2025-09-10 09:50", "cancelled")]
    p = R.place(at("2025-09-10 09:20"), both)
    assert [o.order_id for o in p.during] == ["O1", "O3"] and "同时进行中的订单共 2 单" in p.text
    p = R.place(at("2025-09-10 09:40"), both)
    assert p.kind == "during" and "O3" in p.text and "09:50 取消" in p.text
    none = R.place(at("2025-09-10 09:40"), [])
    assert none.kind == "no_orders" and none.name == "当日无订单" and "没有订单" in none.text


@pytest.fixture(scope="module")
def trail_worker(database, tmp_path_factory):
    """One person on meituan and didi: orders on 2026-08-08 (one from the evening before running
    past midnight) and one on didi the same day."""
    number, name = new_id(), new_name()
    ((m, person),) = register_workers("meituan", 1, id_numbers=[number], names=[name])
    ((d, _),) = register_workers("didi", 1, id_numbers=[number], names=[name])
    tmp = tmp_path_factory.mktemp("trail")
    late = order(m, day="2026-08-07", start="23:50", minutes=30)
    early = order(m, day="2026-08-07", start="20:00", minutes=20)  # finished the evening before: not shown
    o1 = order(m, day="2026-08-08", start="09:00", minutes=30, distance_m="4100", start_lng="108.31", start_lat="22.81")
    o2 = order(m, day="2026-08-08", start="12:00", minutes=40)
    other_day = order(m, day="2026-08-09", start="09:00", minutes=30)
    import_rows(tmp, [early, late, o1, o2, other_day])
    r1 = order(d, "didi", day="2026-08-08", start="10:00", minutes=25)
    import_rows(tmp, [r1], platform="didi")
    return {"person": person, "late": late, "o1": o1, "o2": o2, "r1": r1}


def test_the_trail_of_a_day_from_the_ledger(trail_worker):
    w = trail_worker
    with session_scope() as s:
        t = coverage.order_trail(s, person_id=w["person"], at=at("2026-08-08 10:10"))
    assert t.day == dt.date(2026, 8, 8)
    ids = [x.order.order_id for x in t.orders]
    assert ids == [w["late"]["order_id"], w["o1"]["order_id"], w["r1"]["order_id"], w["o2"]["order_id"]]
    first = t.orders[1]
    assert first.platform_name == "美团" and first.covered
    assert first.order.distance_m == 4100 and first.order.start_lng == pytest.approx(108.31)
    assert first.order.picked_up_at == at("2026-08-08 09:05")
    assert t.orders[2].platform_name.startswith("滴滴")
    assert t.placement.kind == "during" and t.placement.during[0].order_id == w["r1"]["order_id"]

    with session_scope() as s:
        between = coverage.order_trail(s, person_id=w["person"], at=at("2026-08-08 11:00"))
        before = coverage.order_trail(s, person_id=w["person"], at=at("2026-08-08 00:10"))
        after = coverage.order_trail(s, person_id=w["person"], at=at("2026-08-08 18:00"))
    assert between.placement.kind == "between"
    assert (between.placement.before.order_id, between.placement.after.order_id) == (
        w["r1"]["order_id"],
        w["o2"]["order_id"],
    )
    assert before.placement.kind == "during" and before.placement.during[0].order_id == w["late"]["order_id"]
    assert after.placement.kind == "after_last" and after.placement.before.order_id == w["o2"]["order_id"]


def test_a_day_without_orders_and_the_audit(trail_worker):
    w = trail_worker
    from oip.core import audit

    with session_scope() as s:
        t = coverage.order_trail(
            s,
            person_id=w["person"],
            at=at("2026-08-20 10:00"),
            actor=audit.SystemActor(label="test"),
            purpose="案件调查",
        )
        assert t.orders == [] and t.placement.kind == "no_orders"
        ev = s.query(AuditEvent).filter(AuditEvent.action == "coverage.trail").order_by(AuditEvent.seq.desc()).first()
        assert (
            ev.subjects == [w["person"]] and ev.purpose == "案件调查" and ev.after == {"day": "2026-08-20", "orders": 0}
        )
