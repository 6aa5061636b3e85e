"""Reconciliation: worked examples of every flag, the worklist's handling, resolution."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace as NS

import pytest
from sqlalchemy import select

from oip.core.audit_models import AuditEvent
from oip.core.errors import DomainError
from oip.exchange import tax
from oip.premiums import reconciliation, rules, service
from oip.premiums.models import Reconciliation, ReconciliationFlag
from tests.premiums.conftest import make_platform, orders, publish

DUE = dt.date(2025, 9, 15)


def ret(paid, paid_on, declared=None):
    return NS(
        declared_fen=declared if declared is not None else paid,
        paid_fen=paid,
        paid_on=dt.date.fromisoformat(paid_on) if paid_on else None,
    )


def findings(returns, *, today=dt.date(2025, 10, 1), billable=100, declared=100, due=700, pending=None):
    return rules.findings(
        due=due,
        due_date=DUE,
        declared_orders=declared,
        billable=billable,
        returns=returns,
        today=today,
        pending_adjustment=pending,
    )


def test_paid_on_time_has_no_flags():
    assert findings([ret(700, "2025-09-15")]) == {}


def test_not_yet_due_is_not_arrears():
    assert findings([], today=dt.date(2025, 9, 15)) == {}
    assert set(findings([], today=dt.date(2025, 9, 16))) == {"arrears"}


def test_late_payment():
    f = findings([ret(700, "2025-09-22")])
    assert set(f) == {"late"} and f["late"].amount_fen == 700
    assert f["late"].detail == "缴费截止日 2025-09-15：2025-09-22 缴费 7.00 元，逾期 7 天"


def test_underpaid_is_arrears_with_the_amount_owed():
    f = findings([ret(500, "2025-09-10", declared=700)])
    assert set(f) == {"arrears"} and f["arrears"].amount_fen == 200
    assert f["arrears"].detail == "截至 2025-10-01，应缴 7.00 元，已缴 5.00 元，欠缴 2.00 元（缴费截止日 2025-09-15）"


def test_overpaid_and_declared_more_than_due():
    f = findings([ret(900, "2025-09-10")])
    assert set(f) == {"overpaid", "declared_mismatch"}
    assert f["overpaid"].amount_fen == 200 and f["declared_mismatch"].amount_fen == 200
    assert "平台企业在税务申报 9.00 元，核定应缴 7.00 元，相差 2.00 元" == f["declared_mismatch"].detail


def test_two_payments_add_up_and_only_the_late_one_is_late():
    f = findings([ret(400, "2025-09-10", declared=700), ret(300, "2025-09-20", declared=0)])
    assert set(f) == {"late"} and f["late"].amount_fen == 300


def test_order_mismatch():
    f = findings([ret(700, "2025-09-10")], billable=103, pending="2025-09")
    assert set(f) == {"order_mismatch"}
    assert f["order_mismatch"].detail == (
        "台账现有计费订单 103 单，已向税务推送 100 单，相差 +3 单，差额已计入 2025-09 的核定（待推送）"
    )


def _returns(gw, *records):
    body, sig = tax.returns_message(list(records))
    gw.inbox.mkdir(parents=True, exist_ok=True)
    name = f"RET-{tax.sha256(body)[:10]}.json"
    (gw.inbox / name).write_bytes(body)
    (gw.inbox / f"{name}.sig").write_text(sig)


def _flags(db, p, month="2025-08", status=None):
    q = select(ReconciliationFlag).where(ReconciliationFlag.platform_id == p.id, ReconciliationFlag.month == month)
    if status:
        q = q.where(ReconciliationFlag.status == status)
    return {f.kind: f for f in db.scalars(q)}


def test_reconciliation_end_to_end(db, si, tmp_path):
    gw = tax.FileTaxGateway(tmp_path)
    plats = {name: make_platform(db) for name in ("on_time", "late", "under", "over", "mismatch")}
    for name, p in plats.items():
        publish(db, p, "2025-08", orders(name, 100))  # 100 × 0.07 = 7.00 yuan
    service.send(db, si, "2025-08", platforms_=[p.code for p in plats.values()], gateway=gw)
    publish(db, plats["mismatch"], "2025-08", orders("mismatch-late", 3))
    service.declare(db, si, "2025-09", platforms_=[plats["mismatch"].code])

    def rec(name, paid, paid_on, declared=700, ref=""):
        p = plats[name]
        return {
            "uscc": p.uscc,
            "month": "2025-08",
            "declared_fen": declared,
            "paid_fen": paid,
            "declared_on": "2025-09-05",
            "paid_on": paid_on,
            "tax_reference": f"R{p.code}{ref}",
        }

    _returns(
        gw,
        rec("on_time", 700, "2025-09-12"),
        rec("late", 700, "2025-10-08"),
        rec("under", 450, "2025-09-12"),
        rec("over", 1000, "2025-09-12", declared=1000),
        rec("mismatch", 700, "2025-09-12"),
    )
    rep = reconciliation.fetch_returns(db, si, gw)
    db.commit()
    rep.settle()
    assert rep.reconciled == ["2025-08"]

    assert _flags(db, plats["on_time"]) == {}
    assert set(_flags(db, plats["late"])) == {"late"}
    assert _flags(db, plats["under"])["arrears"].amount_fen == 250
    assert {k: f.amount_fen for k, f in _flags(db, plats["over"]).items()} == {
        "overpaid": 300,
        "declared_mismatch": 300,
    }
    mm = _flags(db, plats["mismatch"])
    assert set(mm) == {"order_mismatch"} and "相差 +3 单" in mm["order_mismatch"].detail
    r = db.scalar(select(Reconciliation).where(Reconciliation.platform_id == plats["under"].id))
    assert (r.orders_reported, r.orders_billable, r.orders_declared, r.due_fen, r.paid_fen, r.owed_fen) == (
        100,
        100,
        100,
        700,
        450,
        250,
    )

    # the officer records what was done; the flag stays listed until the difference is gone
    arrears = _flags(db, plats["under"])["arrears"]
    with pytest.raises(DomainError) as e:
        reconciliation.handle_flag(db, si, arrears.id, "  ")
    assert e.value.field == "note"
    reconciliation.handle_flag(db, si, arrears.id, "已电话催缴，企业承诺 3 日内补缴")
    db.commit()
    assert arrears.status == "handled" and arrears.handled_by == si.user_id
    assert db.scalar(
        select(AuditEvent).where(AuditEvent.action == "premium.flag_handle", AuditEvent.entity_id == str(arrears.id))
    )
    assert arrears in reconciliation.list_flags(db, si, platform_code=plats["under"].code)

    # the platform pays the rest (late): arrears resolved, a late flag appears
    _returns(gw, rec("under", 250, "2025-10-20", declared=0, ref="b"))
    rep = reconciliation.fetch_returns(db, si, gw)
    db.commit()
    rep.settle()
    flags = _flags(db, plats["under"])
    assert flags["arrears"].status == "resolved" and flags["late"].status == "open"
    assert flags["late"].amount_fen == 250
    assert arrears not in reconciliation.list_flags(db, si, platform_code=plats["under"].code)
    with pytest.raises(DomainError, match="已消除"):
        reconciliation.handle_flag(db, si, arrears.id, "x")

    # September carries the 3 late orders; once it is sent, August's orders match again
    service.send(db, si, "2025-09", platforms_=[plats["mismatch"].code], gateway=gw)
    reconciliation.reconcile(db, si, "2025-08", platforms_=[plats["mismatch"].code])
    db.commit()
    assert _flags(db, plats["mismatch"])["order_mismatch"].status == "resolved"
    r = db.scalar(
        select(Reconciliation).where(
            Reconciliation.platform_id == plats["mismatch"].id, Reconciliation.month == "2025-08"
        )
    )
    assert (r.orders_billable, r.orders_declared) == (103, 103)
