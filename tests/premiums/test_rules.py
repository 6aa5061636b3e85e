"""The pure decisions of the declaration and of reconciliation (oip.premiums.rules), without a
database."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from types import SimpleNamespace as NS

from oip.premiums import rules

D = dt.date
DUE = D(2025, 9, 15)


def test_a_plain_declaration():
    plan = rules.plan_declaration(
        orders=3, base_yuan=Decimal("0.035"), k=0, covered_from=D(2025, 8, 1), statuses=["completed"], due_date=DUE
    )
    v = plan.values
    assert (v["orders"], v["amount_fen"], v["total_fen"], v["adjustments"]) == (3, 11, 11, [])  # 10.5 → 11 once
    assert v["rate_yuan"] == Decimal("0.035") and v["due_date"] == DUE and v["billable_statuses"] == ["completed"]
    plan = rules.plan_declaration(
        orders=1000, base_yuan=Decimal("0.07"), k=2, covered_from=D(2026, 1, 1), statuses=("completed",), due_date=DUE
    )
    assert plan.values["rate_yuan"] == Decimal("0.084") and plan.values["amount_fen"] == 8400


def origin(**kw):
    base = dict(
        id=7, month="2025-08", orders=100, amount_fen=700, base_yuan=Decimal("0.07"), k=0, rate_yuan=Decimal("0.07")
    )
    return rules.Origin(**{**base, **kw})


def test_late_orders_of_a_sent_month_become_an_adjustment_at_its_rate():
    plan = rules.plan_declaration(
        orders=50,
        base_yuan=Decimal("0.07"),
        k=1,
        covered_from=D(2025, 9, 1),
        statuses=["completed"],
        due_date=D(2025, 10, 15),
        origins=[origin(recounted=103)],
    )
    assert plan.adjustments == [rules.Adjustment(7, "2025-08", 3, Decimal("0.07"), 21)]
    v = plan.values
    assert (v["amount_fen"], v["adjustment_orders"], v["adjustment_fen"], v["total_fen"]) == (385, 3, 21, 406)
    assert v["adjustments"] == [{"origin_month": "2025-08", "orders": 3, "amount_fen": 21}]


def test_adjustments_already_carried_elsewhere_are_not_carried_twice():
    # 2 orders were carried by an earlier declaration; the ledger holds 103: 1 more here
    a = rules.adjustment(origin(earlier=((2, 14),), recounted=103))
    assert (a.orders, a.amount_fen) == (1, 7)
    # nothing changed since: this declaration keeps what it carried (unchanged ledger, no recount)
    a = rules.adjustment(origin(earlier=((2, 14),), mine_orders=1))
    assert (a.orders, a.amount_fen) == (1, 7)
    assert rules.adjustment(origin(recounted=100)) is None
    # fewer orders (a cancellation): a negative adjustment, rounded once on the month's new total
    a = rules.adjustment(origin(orders=3, amount_fen=11, base_yuan=Decimal("0.035"), recounted=2))
    assert (a.orders, a.amount_fen) == (-1, 7 - 11)


def test_same_compares_by_meaning():
    assert rules.same(
        {"base_yuan": Decimal("0.0700"), "x": [Decimal("1.0")]}, {"base_yuan": Decimal("0.07"), "x": [Decimal("1")]}
    )
    assert not rules.same({"orders": 1}, {"orders": 2})


def test_stray_orders_are_warned_about():
    by_group = {
        ("a", "2025-08", ("completed",)): 5,
        ("b", "2025-08", ("completed",)): 1200,
        ("b", "2025-07", ("completed",)): 9,
        ("c", "2025-08", ("completed",)): 0,
    }
    assert rules.stray_warnings(by_group, "2025-08", ("completed",), {"a"}) == [
        "台账中平台 b 在 2025-08 有 1,200 单计费订单，但该平台当月未纳入保障，未计入核定"
    ]


def ret(paid, paid_on, declared=None):
    return NS(
        declared_fen=declared if declared is not None else paid,
        paid_fen=paid,
        paid_on=D.fromisoformat(paid_on) if paid_on else None,
    )


def test_figures_of_a_month():
    f = rules.figures(
        reported=120,
        billable=100,
        declared_orders=100,
        due=700,
        due_date=DUE,
        returns=[ret(400, "2025-09-10", declared=700), ret(0, None, declared=0), ret(100, "2025-09-20")],
    )
    assert (f.paid_fen, f.owed_fen, f.tax_declared_fen, f.last_paid_on) == (500, 200, 800, D(2025, 9, 20))
    assert (
        rules.figures(reported=0, billable=0, declared_orders=0, due=0, due_date=None, returns=[]).last_paid_on is None
    )


def test_flag_transitions():
    assert rules.flag_transition(None, True) == "open"
    assert rules.flag_transition("resolved", True) == "reopen"
    assert rules.flag_transition("open", True) == rules.flag_transition("handled", True) == "update"
    assert rules.flag_transition("open", False) == rules.flag_transition("handled", False) == "resolve"
    assert rules.flag_transition("resolved", False) is None and rules.flag_transition(None, False) is None


def test_statement_states():
    def state(returns, today=D(2025, 10, 1), total=700):
        return rules.statement_state(total_fen=total, returns=returns, due_date=DUE, today=today)

    assert state([ret(700, "2025-09-15")]) == ("已缴清", 700, 0, False)
    assert state([ret(700, "2025-09-16")])[0] == "逾期缴清"
    assert state([ret(500, "2025-09-10")]) == ("欠费", 500, 200, True)
    assert state([], today=DUE) == ("待缴", 0, 700, False)
    assert state([ret(900, "2025-09-10")])[0] == "多缴"
