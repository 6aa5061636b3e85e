"""The demo province looks like a real one: resident IDs valid for their birth year (no wall of
"地区码尚未设立" warnings), admission steps and premium declarations on realistic past dates.

Every date is derived from the clock's today."""

from __future__ import annotations

import csv
import datetime as dt
import random
import secrets
from pathlib import Path

import pytest
from sqlalchemy import select
from stdnum.cn import ric

import oip.reference
from oip.core import clock
from oip.core.ids import area_codes, area_valid_in, parse_resident_id
from oip.core.months import first_day, next_month, previous_month
from oip.demo import timeline
from oip.demo.generate import CITY_WEIGHT, worker_records
from oip.demo.synthetic import birth_area


def _counties_by_city() -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    with open(Path(oip.reference.__file__).parent / "data" / "guangxi-divisions.csv", encoding="utf-8") as f:
        for r in csv.DictReader(f):
            if r["level"] == "county" and r["parent_code"] in CITY_WEIGHT:
                out.setdefault(r["parent_code"], []).append(r["code"])
    return out


# ---- resident IDs --------------------------------------------------------------------------------


def test_birth_area_keeps_a_code_in_use_and_replaces_one_that_was_not():
    rng = random.Random(1)
    assert birth_area(rng, "450103", 1990) == "450103"  # 新城区 then, 青秀区 now
    assert birth_area(rng, "450127", 1990) == "452122"  # 横县 was under 南宁地区 before 2002
    for year in (1966, 1975, 1990, 2001):
        code = birth_area(rng, "450108", year)  # 良庆区, created in 2004
        assert area_valid_in(code, year) and code[:4] in ("4501", "4521"), (year, code)
    assert birth_area(rng, "450108", 2005) == "450108"


def test_demo_ids_are_valid_for_their_birth_year():
    today = clock.today()
    records = [
        r
        for _, r in worker_records(
            2025,
            3000,
            _counties_by_city(),
            {"ride_hailing": ["didi"], "instant_delivery": ["meituan"], "intracity_freight": ["huolala"]},
            today,
        )
    ]
    assert len(records) > 3000
    for r in records:
        rid = parse_resident_id(r["id_number"], today)
        assert rid.warnings == [], (r["id_number"], rid.warnings)
        ric.validate(r["id_number"])  # python-stdnum agrees
    assert len({r["id_number"][:6] for r in records}) > 60  # from all over Guangxi, old codes and new
    assert all(c in area_codes() for c in {r["id_number"][:6] for r in records})


def test_the_demo_registrations_carry_no_area_code_warnings(db):
    from oip.workers.models import RegistrationBatch

    batches = db.scalars(select(RegistrationBatch).where(RegistrationBatch.source == "demo")).all()
    assert batches and sum(b.received for b in batches) >= 400
    warnings = [w for b in batches for r in b.results or [] for w in r.get("warnings", [])]
    assert [w for w in warnings if "地区码" in w] == []
    assert sum(b.rejected for b in batches) == 0


# ---- the simulated clock -------------------------------------------------------------------------


def test_timeline_runs_a_block_in_the_past_and_never_in_the_future():
    real = clock.now
    day = clock.today() - dt.timedelta(days=30)
    with timeline.at(timeline.moment(day, 9, 30)) as start:
        assert clock.today() == day and clock.local(clock.now()).hour == 9
        assert clock.now() >= start
    assert clock.now is real and clock.today() == day + dt.timedelta(days=30)
    with timeline.at(timeline.moment(clock.today() + dt.timedelta(days=3), 9)):
        assert clock.today() <= dt.date.today() + dt.timedelta(days=1)
        assert abs((clock.now() - real()).total_seconds()) < 5
    with pytest.raises(RuntimeError), timeline.at(timeline.moment(day, 9)):
        raise RuntimeError
    assert clock.now is real


# ---- admissions ------------------------------------------------------------------------------------


def test_admission_steps_are_spread_over_past_days(db):
    from oip.core.audit_models import AuditEvent
    from oip.platforms.models import Admission, Platform

    today = clock.today()
    days = {}
    adms = {}
    for code, n in (("bagui", 5), ("guijie", 3)):  # the demo's steps (a test may add later ones)
        adm = adms[code] = db.scalar(select(Admission).join(Platform).where(Platform.code == code))
        steps = adm.steps[:n]
        days[code] = [(s.action, (today - clock.local(s.at).date()).days) for s in steps]
        assert all(s.at <= clock.now() for s in steps)
        assert all(8 <= clock.local(s.at).hour <= 17 for s in steps)  # office hours, Beijing time
        assert [s.at for s in steps] == sorted(s.at for s in steps)
        assert clock.local(steps[0].at).date() == adm.applied_on
    assert [a for a, _ in days["bagui"]][:1] == ["apply"] and [d for _, d in days["bagui"]] == [75, 64, 50, 9, 4]
    assert [d for _, d in days["guijie"]] == [40, 31, 20]
    objection = db.scalar(
        select(AuditEvent)
        .where(AuditEvent.action == "admission.record_objection", AuditEvent.entity_id == str(adms["bagui"].id))
        .order_by(AuditEvent.seq)
    )
    assert objection is not None and clock.local(objection.at).date() == today - dt.timedelta(days=1)


# ---- premiums ----------------------------------------------------------------------------------------


def test_demo_declarations_are_dated_before_they_are_paid(database, tmp_path):
    from oip.core.db import session_scope
    from oip.demo import premiums as demo
    from oip.platforms.models import Platform
    from oip.premiums.models import Declaration, TaxReturn
    from tests.premiums.conftest import orders, publish

    this_month = clock.today().strftime("%Y-%m")
    months = [previous_month(previous_month(previous_month(this_month))), None, None]
    months[1] = next_month(months[0])
    months[2] = next_month(months[1])
    tag = secrets.token_hex(3)
    with session_scope() as s:
        plats = {
            p.code: p for p in s.scalars(select(Platform).where(Platform.code.in_(["meituan", "didi", "huolala"])))
        }
        for m in months:
            for code, n in (("meituan", 50), ("didi", 80), ("huolala", 4)):
                publish(s, plats[code], m, orders(f"hist-{tag}-{code}-{m}", n))
    started = clock.now()
    with session_scope() as s:
        summary = demo.generate(s, months, tax_dir=tmp_path)
    assert set(summary["sent"]) == set(months[:2])
    with session_scope() as s:
        for m in months:
            next_first = first_day(next_month(m))
            decls = s.scalars(select(Declaration).where(Declaration.month == m)).all()
            assert decls
            for d in decls:
                computed = clock.local(d.computed_at)
                assert d.computed_at < started  # not the generation second
                assert computed.date() == min(
                    next_first + dt.timedelta(days=1), clock.today()
                ) or computed.date() == next_first + dt.timedelta(days=2)  # recomputed when sent
                if m in months[:2]:
                    assert clock.local(d.sent_at).date() == next_first + dt.timedelta(days=2)
                    assert d.sent_at < started
        returns = s.scalars(
            select(TaxReturn)
            .join(Platform)
            .where(TaxReturn.month.in_(months[:2]), Platform.code.in_(["meituan", "didi", "huolala"]))
        ).all()
        assert len(returns) >= 6
        for r in returns:
            d = s.scalar(
                select(Declaration).where(Declaration.month == r.month, Declaration.platform_id == r.platform_id)
            )
            assert clock.local(d.computed_at).date() < r.paid_on and clock.local(d.sent_at).date() <= r.paid_on
            assert r.declared_on <= r.paid_on <= clock.today()
            assert clock.local(r.imported_at).date() > r.paid_on or r.paid_on == clock.today()
