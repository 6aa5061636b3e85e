"""The payment deadline moves off rest days (税收征管法实施细则 art. 109): the 15th of the next month,
or the first working day after it on the official calendar; lateness is judged against that."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from oip.core import clock, workdays
from oip.core.errors import DomainError
from oip.exchange import tax
from oip.premiums import calc, reconciliation, service
from oip.premiums.models import Reconciliation, ReconciliationFlag
from tests.premiums.conftest import make_platform, orders, publish

D = dt.date


def test_due_dates_on_working_days():
    assert calc.due_date("2025-08", 15) == D(2025, 9, 15)  # a Monday: unchanged
    assert calc.due_date("2026-10", 15) == D(2026, 11, 16)  # Sunday 15 November → Monday
    assert calc.due_date("2026-01", 15) == D(2026, 2, 24)  # Spring Festival 15…23 February
    assert calc.due_date("2025-09", 15) == D(2025, 10, 15)
    assert calc.due_date("2025-10", 15) == D(2025, 11, 17)  # Saturday → Monday


def test_due_date_in_a_year_nobody_loaded_is_refused():
    last = max(workdays.package_years())
    with (
        workdays.using(workdays.Calendar()),
        pytest.raises(DomainError, match=f"{last + 1} 年的法定节假日安排尚未载入"),
    ):
        calc.due_date(f"{last}-12", 15)


def _returns(gw, *records):
    body, sig = tax.returns_message(list(records))
    gw.inbox.mkdir(parents=True, exist_ok=True)
    name = f"RET-{tax.sha256(body)[:10]}.json"
    (gw.inbox / name).write_bytes(body)
    (gw.inbox / f"{name}.sig").write_text(sig)


def test_paid_on_the_moved_deadline_is_not_late(db, si, tmp_path):
    gw = tax.FileTaxGateway(tmp_path)
    with clock.frozen(D(2026, 12, 1)):
        on_time, late = make_platform(db), make_platform(db)
        codes = [on_time.code, late.code]
        for month in ("2026-01", "2026-10"):
            for p in (on_time, late):
                publish(db, p, month, orders(f"{p.code}{month}", 100))  # 7.00 yuan
            res = service.send(db, si, month, platforms_=codes, gateway=gw)
            assert res.deliveries and all(d.ok for d in res.deliveries)
        due = {
            (d.platform_id, d.month): d.due_date
            for d in service.list_declarations(db, si)
            if d.platform_id in (on_time.id, late.id)
        }
        assert due[(on_time.id, "2026-10")] == D(2026, 11, 16) and due[(on_time.id, "2026-01")] == D(2026, 2, 24)

        def rec(p, month, paid_on):
            return {
                "uscc": p.uscc,
                "month": month,
                "declared_fen": 700,
                "paid_fen": 700,
                "declared_on": paid_on,
                "paid_on": paid_on,
                "tax_reference": f"T{p.code}{month}",
            }

        _returns(
            gw,
            rec(on_time, "2026-10", "2026-11-16"),
            rec(on_time, "2026-01", "2026-02-24"),
            rec(late, "2026-10", "2026-11-17"),
            rec(late, "2026-01", "2026-02-25"),
        )
        rep = reconciliation.fetch_returns(db, si, gw)
        db.commit()
        rep.settle()

        flags = {
            (f.platform_id, f.month, f.kind): f
            for f in db.scalars(
                select(ReconciliationFlag).where(
                    ReconciliationFlag.platform_id.in_([on_time.id, late.id]), ReconciliationFlag.status != "resolved"
                )
            )
        }
        assert not [k for k in flags if k[0] == on_time.id]
        assert flags[(late.id, "2026-10", "late")].detail == "缴费截止日 2026-11-16：2026-11-17 缴费 7.00 元，逾期 1 天"
        assert flags[(late.id, "2026-01", "late")].detail == "缴费截止日 2026-02-24：2026-02-25 缴费 7.00 元，逾期 1 天"
        recs = {
            (r.platform_id, r.month): r
            for r in db.scalars(select(Reconciliation).where(Reconciliation.platform_id == on_time.id))
        }
        assert recs[(on_time.id, "2026-10")].due_date == D(2026, 11, 16)

        # the platform's portal says the same
        rows = {r.declaration.month: r for r in reconciliation.statement(db, si, on_time).rows}
        assert rows["2026-10"].state == "已缴清" and rows["2026-01"].state == "已缴清"
        rows = {r.declaration.month: r for r in reconciliation.statement(db, si, late).rows}
        assert rows["2026-10"].state == "逾期缴清"


def test_the_demo_leaves_a_month_undeclared_when_its_deadline_year_is_unknown(database, tmp_path):
    from oip.core.db import session_scope
    from oip.demo import premiums as demo
    from oip.reference import calendar

    with session_scope() as s:
        last = max(calendar.current(s).years())  # the package's years and those loaded (the demo loads some)
    with clock.frozen(D(last + 1, 2, 1)), session_scope() as s:
        summary = demo.generate(s, [f"{last}-12"], tax_dir=tmp_path)
    assert summary["declared"] == {} and summary["sent"] == {}
    assert f"{last + 1} 年的法定节假日安排尚未载入" in summary["not_declared"][f"{last}-12"]


def test_the_migration_moves_stored_due_dates_off_rest_days():
    import importlib.util
    from pathlib import Path

    import oip.migrations

    path = Path(oip.migrations.__path__[0]) / "versions" / "0006_calendar_days.py"
    spec = importlib.util.spec_from_file_location("m0006", path)
    m = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(m)
    assert m._moved(D(2026, 11, 15)) == D(2026, 11, 16) and m._moved(D(2026, 2, 15)) == D(2026, 2, 24)
    assert m._moved(D(2025, 9, 15)) is None  # a working day stays
    assert m._moved(D(max(workdays.package_years()) + 1, 1, 15)) is None  # unknown: left as it is
