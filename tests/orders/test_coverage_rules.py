"""The pure part of coverage (``oip.orders.coverage_rules``), without a database or files: which
orders to read for a moment, and the answer from the orders read."""

from __future__ import annotations

import datetime as dt
import random

import pytest

from oip.orders import coverage_rules as R

SH = dt.timezone(dt.timedelta(hours=8))
MT = R.Account(R.PlatformRef("meituan", "美团"), "M1", dt.date(2025, 7, 1))
DD = R.Account(R.PlatformRef("didi", "滴滴出行"), "D1", dt.date(2025, 7, 1))


@pytest.fixture(autouse=True)
def _database():
    """No database here (overrides the folder's autouse fixture)."""
    return None


def t(s: str) -> dt.datetime:
    return dt.datetime.fromisoformat(s).replace(tzinfo=SH)


def o(oid: str, start: str, end: str, acct: R.Account = MT, status: str = "completed") -> R.OrderRef:
    return R.OrderRef(oid, acct.platform.code, acct.account_id, t(start), t(end), status, "450103")


def span(acct: R.Account, first: str, last: str) -> R.DaySpan:
    return R.DaySpan(acct, t(first).date(), t(first), t(last))


# ---- decide -----------------------------------------------------------------------------------------


def test_inside_a_window_and_at_its_ends():
    orders = [
        o("A", "2025-11-10T09:00:00", "2025-11-10T09:30:00"),
        o("B", "2025-11-10T10:00:00", "2025-11-10T10:45:00"),
    ]
    for when in ("2025-11-10T09:00:00", "2025-11-10T09:15:00", "2025-11-10T09:30:00"):
        d = R.decide(t(when), [MT], orders)
        assert d.covered and d.order.order_id == "A" and [x.order_id for x in d.covering] == ["A"]
    d = R.decide(t("2025-11-10T09:30:01"), [MT], orders)
    assert not d.covered and d.order is None and d.covering == []
    assert d.nearest_before.order_id == "A" and d.nearest_after.order_id == "B"
    assert d.reason == "该时点没有进行中的订单"


def test_the_reason_does_not_repeat_the_verdict():
    d = R.decide(t("2025-11-10T09:15:00"), [MT], [o("A", "2025-11-10T09:00:00", "2025-11-10T09:30:00")])
    assert d.reason == "2025-11-10 09:15:00 处于订单 A 的执行期间（2025-11-10 09:00:00 接单，2025-11-10 09:30:00 完成）"
    assert not d.reason.startswith("在保")


def test_overlapping_orders_the_earliest_accepted_covers():
    orders = [
        o("B", "2025-11-10T09:10:00", "2025-11-10T09:40:00", DD),
        o("A", "2025-11-10T09:00:00", "2025-11-10T09:30:00"),
        o("C", "2025-11-10T09:10:00", "2025-11-10T09:20:00"),
    ]
    d = R.decide(t("2025-11-10T09:15:00"), [MT, DD], orders)
    assert [x.order_id for x in d.covering] == ["A", "B", "C"] and d.order.order_id == "A"
    assert "同时进行中的订单共 3 单" in d.reason


def test_a_cancelled_order_covers_its_window():
    d = R.decide(
        t("2025-11-10T10:20:00"), [MT], [o("X", "2025-11-10T10:00:00", "2025-11-10T10:45:00", status="cancelled")]
    )
    assert d.covered and d.reason.endswith("2025-11-10 10:45:00 取消）")


def test_an_order_before_the_platform_was_covered_does_not_cover():
    late = R.Account(R.PlatformRef("meituan", "美团"), "M1", dt.date(2025, 11, 11))
    orders = [o("A", "2025-11-10T23:50:00", "2025-11-11T00:20:00")]
    d = R.decide(t("2025-11-11T00:10:00"), [late], orders)
    assert not d.covered and d.covering[0].order_id == "A"
    assert d.reason == "该时点有进行中的订单 A，但美团在订单日期不在职业伤害保障范围内"
    # The day of the order (its acceptance) decides, not the day of the moment.
    assert R.decide(t("2025-11-11T00:10:00"), [MT], orders).covered


def test_coverage_ends_with_the_industry():
    ended = R.Account(R.PlatformRef("meituan", "美团"), "M1", dt.date(2025, 7, 1), dt.date(2025, 11, 9))
    assert not R.decide(
        t("2025-11-10T09:15:00"), [ended], [o("A", "2025-11-10T09:00:00", "2025-11-10T09:30:00")]
    ).covered
    assert not R.Account(R.PlatformRef("x", "X"), "1", None).covers(dt.date(2030, 1, 1))


def test_nearest_orders_across_accounts_ties_by_order_id():
    orders = [
        o("B", "2025-11-10T08:00:00", "2025-11-10T08:30:00", DD),
        o("A", "2025-11-10T08:10:00", "2025-11-10T08:30:00"),
        o("D", "2025-11-10T11:00:00", "2025-11-10T11:10:00"),
        o("C", "2025-11-10T11:00:00", "2025-11-10T11:20:00", DD),
    ]
    d = R.decide(t("2025-11-10T10:00:00"), [MT, DD], orders)
    assert d.nearest_before.order_id == "B" and d.nearest_after.order_id == "C"


def test_a_naive_moment_is_refused():
    with pytest.raises(ValueError):
        R.decide(dt.datetime(2025, 11, 10, 9), [MT], [])


# ---- plan_reads -------------------------------------------------------------------------------------


def test_reads_the_day_and_the_day_before_within_their_spans():
    spans = [
        span(MT, "2025-11-09T22:00:00", "2025-11-10T00:30:00"),
        span(MT, "2025-11-10T08:00:00", "2025-11-10T20:00:00"),
    ]
    reads = R.plan_reads(t("2025-11-10T12:00:00"), spans)
    assert [(r.day, r.lo, r.hi, r.finished_from) for r in reads] == [
        (dt.date(2025, 11, 9), t("2025-11-09T22:00:00"), t("2025-11-10T00:30:00"), None),
        (dt.date(2025, 11, 10), t("2025-11-10T08:00:00"), t("2025-11-10T20:00:00"), None),
    ]


def test_reads_only_the_last_order_of_the_last_worked_day_before_and_the_first_after():
    spans = [
        span(MT, "2025-11-01T08:00:00", "2025-11-01T18:00:00"),
        span(DD, "2025-11-01T09:00:00", "2025-11-01T21:00:00"),
        span(MT, "2025-11-03T08:00:00", "2025-11-03T10:00:00"),
        span(MT, "2025-11-20T07:00:00", "2025-11-20T09:00:00"),
        span(DD, "2025-11-20T06:30:00", "2025-11-20T08:00:00"),
        span(MT, "2025-11-25T07:00:00", "2025-11-25T09:00:00"),
    ]
    reads = R.plan_reads(t("2025-11-10T12:00:00"), spans)
    assert [(r.account.key, r.day, r.lo, r.hi, r.finished_from) for r in reads] == [
        (MT.key, dt.date(2025, 11, 3), t("2025-11-03T08:00:00"), t("2025-11-03T10:00:00"), t("2025-11-03T09:59:59")),
        (DD.key, dt.date(2025, 11, 20), t("2025-11-20T06:30:00"), t("2025-11-20T06:30:01"), None),
    ]


def test_the_local_day_decides_which_days_are_read():
    """00:30 Beijing time is still the previous day in UTC; the plan follows the Beijing day."""
    spans = [span(MT, "2025-11-09T10:00:00", "2025-11-09T11:00:00")]
    at = dt.datetime(2025, 11, 9, 16, 30, tzinfo=dt.UTC)  # 2025-11-10 00:30 in Beijing
    assert [r.day for r in R.plan_reads(at, spans)] == [dt.date(2025, 11, 9)]
    assert R.plan_reads(t("2025-11-12T00:30:00"), spans)[0].finished_from == t("2025-11-09T10:59:59")


def test_plan_and_decide_agree_with_a_scan_of_every_order():
    """Random orders of two accounts: reading what the plan asks for and deciding gives the same
    answer as looking at every order."""
    rng = random.Random(7)
    orders = []
    for acct in (MT, DD):
        for day in rng.sample(range(1, 29), 8):
            for _ in range(rng.randint(1, 5)):
                a = t(f"2025-11-{day:02d}T{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:00")
                orders.append(
                    R.OrderRef(
                        f"{acct.platform.code}{len(orders)}",
                        acct.platform.code,
                        acct.account_id,
                        a,
                        a + dt.timedelta(minutes=rng.choice([5, 30, 90, 400])),
                        "completed",
                        "450103",
                    )
                )
    spans = {}
    for x in orders:
        acct = MT if x.platform_code == "meituan" else DD
        k = (acct.key, R.local_day(x.accepted_at))
        first, last = spans.get(k, (x.accepted_at, x.finished_at))
        spans[k] = (min(first, x.accepted_at), max(last, x.finished_at))
    day_spans = [R.DaySpan(MT if key[0] == "meituan" else DD, day, f, la) for (key, day), (f, la) in spans.items()]
    for _ in range(300):
        at = t("2025-10-31T00:00:00") + dt.timedelta(minutes=rng.randint(0, 31 * 24 * 60))
        reads = R.plan_reads(at, day_spans)
        read = [
            x
            for x in orders
            for r in reads
            if (x.platform_code, x.account_id) == r.account.key
            and R.local_day(x.accepted_at) == r.day
            and r.lo <= x.accepted_at <= r.hi
            and (r.finished_from is None or x.finished_at >= r.finished_from)
        ]
        got, want = R.decide(at, [MT, DD], read), R.decide(at, [MT, DD], orders)
        assert (got.covered, got.order, got.nearest_before, got.nearest_after) == (
            want.covered,
            want.order,
            want.nearest_before,
            want.nearest_after,
        ), at


def test_the_rules_import_no_database_or_files():
    import ast
    import inspect

    tree = ast.parse(inspect.getsource(R))
    imported = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)} | {
        a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names
    }
    assert imported <= {"__future__", "datetime", "dataclasses", "oip.core"}, imported
