"""The demo province's ledger ties out to its business: with every event posted (the demo posts them),
premium income booked equals what the tax returns paid and benefit expenditure equals what the bank
paid less what it sent back — straight from the source tables, fen for fen — and the check finds
nothing wrong. Taken as the demo left the database (tests/conftest.py ``_demo_fund``), before other
tests post entries of their own into it."""

from __future__ import annotations

import pytest

from oip.fund import rules


def test_the_demo_ledger_ties_out_to_tax_returns_and_payment_lines(database):
    f = pytest.demo_fund
    assert f["paid_lines"] > 0  # the tests' demo pays benefits (oip.demo.benefits)
    assert f["pending"] == 0
    report = f["check"]
    assert report.ok, report.problems[:10]
    t = report.figures["tie_out"]
    assert t["premium_income_fen"] == t["tax_returns_paid_fen"] == f["returns_paid_fen"]
    assert t["benefit_expenditure_fen"] == t["benefits_paid_fen"] == f["lines_paid_fen"] - f["lines_reversed_fen"]
    assert t["benefits_paid_fen"] > 0


def test_the_demo_trial_balance_balances_and_carries_the_same_figures(database):
    rows = pytest.demo_fund["trial_balance"]
    assert sum(r["debit_fen"] for r in rows) == sum(r["credit_fen"] for r in rows)
    debit_side = sum(r["balance_fen"] for r in rows if r["kind"] in rules.DEBIT_KINDS)
    credit_side = sum(r["balance_fen"] for r in rows if r["kind"] not in rules.DEBIT_KINDS)
    assert debit_side == credit_side
    spent = sum(r["balance_fen"] for r in rows if r["subject_code"] in rules.ITEM_SUBJECTS.values())
    t = pytest.demo_fund["check"].figures["tie_out"]
    # this year's expenditure is at most everything paid (the demo's payments are recent)
    assert 0 < spent <= t["benefits_paid_fen"]
