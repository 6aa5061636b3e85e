"""The yearly float with the database: inputs from declarations and returns, the officer-entered
experience, proposals under the rules in force, approval writing the platform's k — the only way k
is set: before 1 January of its year, inside the rules, never for a year in force.

The clock is frozen (oip.core.clock.frozen) at fixed dates of a worked example, so these tests pass
whatever today is."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from oip.core import clock
from oip.core.audit_models import AuditEvent
from oip.core.errors import Conflict, DomainError
from oip.core.months import next_month
from oip.exchange import tax
from oip.platforms.models import PlatformFloat
from oip.premiums import calc, floats, reconciliation, service
from tests.premiums.conftest import make_platform, orders, publish

DECEMBER_2026 = dt.date(2026, 12, 10)  # figures of 2026 are in; k of 2027 is decided now


def _months(start: str, n: int) -> list[str]:
    out, m = [], start
    for _ in range(n):
        out.append(m)
        m = next_month(m)
    return out


def _proposal(props, platform):
    return next(f for f in props if f.platform_id == platform.id)


@pytest.mark.slow
def test_proposal_from_a_year_of_contributions_and_approval(db, si, tmp_path):
    gw = tax.FileTaxGateway(tmp_path)
    with clock.frozen(DECEMBER_2026):
        veteran = make_platform(db)  # from 2025-07: 12 months by 2026-06
        newcomer = make_platform(db, covered_from="2026-01-01")  # 6 months in 2026
        for m in _months("2025-07", 12):
            publish(db, veteran, m, orders(m, 1000))  # 1000 × 0.07 = 70.00 yuan a month
            if m >= "2026-01":
                publish(db, newcomer, m, orders(m, 10))
            service.send(db, si, m, platforms_=[veteran.code] + ([newcomer.code] if m >= "2026-01" else []), gateway=gw)
        # one return for January 2026 (underpaid: its paid amount counts, not the declared one)
        body, sig = tax.returns_message(
            [
                {
                    "uscc": veteran.uscc,
                    "month": "2026-01",
                    "declared_fen": 7000,
                    "paid_fen": 6000,
                    "paid_on": "2026-02-10",
                    "tax_reference": f"F{veteran.code}",
                }
            ]
        )
        gw.inbox.mkdir(parents=True, exist_ok=True)
        (gw.inbox / "f.json").write_bytes(body)
        (gw.inbox / "f.json.sig").write_text(sig)
        reconciliation.fetch_returns(db, si, gw)
        floats.set_experience(
            db,
            si,
            veteran.code,
            2026,
            claims_fen=41_000,
            injuries=3,
            insured_avg=1_000,
            reason="2026 年待遇支出台账（测试）",
        )
        floats.set_experience(
            db, si, newcomer.code, 2026, claims_fen=90_000, injuries=9, insured_avg=100, reason="测试"
        )

        year = 2027
        props = floats.propose_floats(db, si, year)
        v, n = _proposal(props, veteran), _proposal(props, newcomer)
        assert v.inputs["months_with_contributions"] == 12 and v.inputs["premiums_fen"] == 6000 + 5 * 7000
        assert v.inputs["claims_ratio"] == "1.0000" and v.inputs["injury_rate"] == "30.00"
        assert (v.proposed_k, v.status) == (1, "proposed")  # ratio 100 % → +1, 30 per 10,000 → ±0
        assert v.rule_version.startswith("premium.float_rules@2025-07-01")
        assert (n.inputs["months_with_contributions"], n.proposed_k) == (6, 0) and "不满 12 个月" in n.reasons[0]

        with pytest.raises(DomainError, match="请填写理由") as e:
            floats.approve_float(db, si, v.id, k=3)
        assert e.value.field == "reason"
        with pytest.raises(DomainError, match="−5|-5") as e:
            floats.approve_float(db, si, v.id, k=6, reason="超出范围")
        assert e.value.field == "k"
        # under 12 months of contributions k stays 0, whatever the officer's reason
        with pytest.raises(DomainError, match="不满 12 个月，浮动档次只能为 0") as e:
            floats.approve_float(db, si, n.id, k=2, reason="伤害率高")
        assert e.value.field == "k" and n.status == "proposed"

        floats.approve_float(db, si, v.id, k=2, reason="近两年伤害率上升，经集体研究上调一档")
        assert (v.status, v.decided_k) == ("approved", 2)
        row = db.scalar(
            select(PlatformFloat).where(PlatformFloat.platform_id == veteran.id, PlatformFloat.year == year)
        )
        assert row.k == 2 and row.decided_by == si.user_id
        db.refresh(veteran)
        assert veteran.k_for(year) == 2 and veteran.k_for(year - 1) == 0
        with pytest.raises(Conflict):
            floats.approve_float(db, si, v.id)
        # a new proposal run leaves the decided one alone
        again = floats.propose_floats(db, si, year)
        assert _proposal(again, veteran).status == "approved" and _proposal(again, veteran).decided_k == 2
        floats.reject_float(db, si, n.id, "平均参保人数待核实")
        assert n.status == "rejected"
        events = {
            e.action
            for e in db.scalars(
                select(AuditEvent).where(
                    AuditEvent.entity_id.in_(
                        [veteran.code, f"{veteran.code}/{year}", f"{newcomer.code}/{year}", f"{veteran.code}/2026"]
                    )
                )
            )
        }
        assert {"premium.float_approve", "premium.float_reject", "premium.experience_set"} <= events
        assert calc.rate_str(calc.rate(veteran.base_on(dt.date(year, 1, 1)), veteran.k_for(year))) == "0.084"
    db.commit()


def test_a_one_month_platform_keeps_k_zero(db, si, tmp_path):
    gw = tax.FileTaxGateway(tmp_path)
    with clock.frozen(DECEMBER_2026):
        p = make_platform(db, covered_from="2026-11-01")
        publish(db, p, "2026-11", orders("one", 10))
        service.send(db, si, "2026-11", platforms_=[p.code], gateway=gw)
        f = _proposal(floats.propose_floats(db, si, 2027), p)
        assert f.inputs["months_with_contributions"] == 1 and f.proposed_k == 0
        with pytest.raises(DomainError, match="累计缴费 1 个月，不满 12 个月，浮动档次只能为 0") as e:
            floats.approve_float(db, si, f.id, k=3, reason="试点期间上调")
        assert e.value.field == "k" and f.status == "proposed"
        assert db.scalar(select(PlatformFloat).where(PlatformFloat.platform_id == p.id)) is None
        floats.approve_float(db, si, f.id)
        assert (f.status, f.decided_k) == ("approved", 0)
    db.rollback()


def test_a_k_in_force_is_never_changed(db, si):
    with clock.frozen(DECEMBER_2026):
        p = make_platform(db)
        f = _proposal(floats.propose_floats(db, si, 2027), p)
    with clock.frozen(dt.date(2027, 1, 4)):  # 2027 has begun: its k is in force
        with pytest.raises(DomainError, match="2027 年的浮动档次自 2027 年 1 月 1 日起已执行") as e:
            floats.approve_float(db, si, f.id)
        assert e.value.field == "year" and f.status == "proposed"
        with pytest.raises(DomainError, match="只能测算 2028 年") as e:
            floats.propose_floats(db, si, 2027)
        assert e.value.field == "year"
    db.rollback()


def test_experience_is_validated(db, si):
    p = make_platform(db)
    with clock.frozen(DECEMBER_2026):
        with pytest.raises(DomainError) as e:
            floats.set_experience(db, si, p.code, 2026, claims_fen=-1, injuries=0, insured_avg=10, reason="x")
        assert e.value.field == "claims_fen"
        with pytest.raises(DomainError) as e:
            floats.set_experience(db, si, p.code, 2026, claims_fen=1, injuries=0, insured_avg=10, reason=" ")
        assert e.value.field == "reason"
        with pytest.raises(DomainError) as e:
            floats.set_experience(db, si, p.code, 2027, claims_fen=1, injuries=0, insured_avg=10, reason="x")
        assert e.value.field == "year"  # a year not over yet
        with pytest.raises(DomainError) as e:
            floats.propose_floats(db, si, 2025)
        assert e.value.field == "year"
    db.rollback()
