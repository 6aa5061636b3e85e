"""Effective-dated parameters: defaults as data, values by date, history kept, audited changes."""

from __future__ import annotations

import copy
import datetime as dt

import pytest
from sqlalchemy import select

from oip.core.audit_models import AuditEvent
from oip.core.errors import DomainError
from oip.premiums.parameters import DEFAULT_FLOAT_RULES
from oip.reference import parameters as P


def test_values_by_date_and_history(db, si):
    P.ensure_defaults(db)
    assert P.get(db, "premium.payment_due_day", dt.date(2025, 7, 1)) == 15
    P.set(db, si, "premium.payment_due_day", 20, dt.date(2026, 3, 1), "测试：截止日改为 20 日")
    assert P.get(db, "premium.payment_due_day", dt.date(2026, 2, 28)) == 15
    assert P.get(db, "premium.payment_due_day", dt.date(2026, 3, 1)) == 20
    old, new = [r for r in P.history(db, ["premium.payment_due_day"])]
    assert (old.valid_to, new.valid_from, new.valid_to, new.changed_by) == (
        dt.date(2026, 2, 28),
        dt.date(2026, 3, 1),
        None,
        si.user_id,
    )
    v = P.get_version(db, "premium.payment_due_day", dt.date(2026, 5, 1))
    assert v.version == "premium.payment_due_day@2026-03-01" and v.row_id == new.id
    ev = db.scalars(
        select(AuditEvent).where(
            AuditEvent.action == "parameter.set", AuditEvent.entity_id == "premium.payment_due_day"
        )
    ).all()[-1]
    assert ev.before["value"] == 15 and ev.after["value"] == 20 and ev.after["note"] == "测试：截止日改为 20 日"
    db.rollback()


@pytest.mark.parametrize(
    "key, value, match",
    [
        ("premium.payment_due_day", 31, "1 到 28"),
        ("premium.payment_due_day", "15", "1 到 28"),
        ("premium.billable_statuses", ["Completed"], "小写"),
        ("premium.billable_statuses", ["completed", "completed"], "重复"),
        ("exchange.tax.signing", {"algorithm": "MD5", "require_signed_returns": True}, "HMAC-SHA256"),
        ("premium.float_rules", {"k_min": -5}, "只包含"),
        ("no.such.key", 1, "未知的参数"),
    ],
)
def test_values_are_validated(db, si, key, value, match):
    with pytest.raises(DomainError, match=match):
        P.set(db, si, key, value, dt.date(2030, 1, 1), "测试")
    db.rollback()


def test_a_change_needs_a_note_and_a_later_date(db, si):
    with pytest.raises(DomainError) as e:
        P.set(db, si, "premium.payment_due_day", 10, dt.date(2030, 1, 1), " ")
    assert e.value.field == "note"
    with pytest.raises(DomainError) as e:
        P.set(db, si, "premium.payment_due_day", 10, dt.date(2025, 7, 1), "与默认值同日")
    assert e.value.field == "valid_from"
    rules = copy.deepcopy(DEFAULT_FLOAT_RULES)
    rules["min_contribution_months"] = 24
    P.set(db, si, "premium.float_rules", rules, dt.date(2028, 1, 1), "测试：满 24 个月方可浮动")
    assert P.get(db, "premium.float_rules", dt.date(2027, 12, 31))["min_contribution_months"] == 12
    assert P.get(db, "premium.float_rules", dt.date(2028, 1, 1))["min_contribution_months"] == 24
    db.rollback()
