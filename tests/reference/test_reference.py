"""Reference data: Guangxi's divisions, the industries and the 11 pilot platforms."""

import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from oip.core import audit
from oip.core.errors import DomainError
from oip.platforms import phasing, service as platforms
from oip.platforms.models import Platform
from oip.reference import service
from oip.reference.models import Industry, Region


def test_divisions_region_cities_counties(db):
    levels = dict(db.execute(select(Region.level, func.count()).group_by(Region.level)).all())
    assert levels == {"province": 1, "city": 14, "county": 111}
    assert db.get(Region, "450181").name == "横州市"
    assert db.get(Region, "450103").scope_prefix == "450103"
    assert db.get(Region, "450100").scope_prefix == "4501"
    assert db.get(Region, "450000").scope_prefix == "45"


def test_the_pilot_platforms_with_names_and_base_amounts(db):
    plats = {p.code: p for p in db.scalars(select(Platform).where(Platform.status == "admitted"))}
    assert {
        "didi",
        "caocao",
        "meituan",
        "eleme",
        "dada",
        "shansong",
        "sfcity",
        "huolala",
        "kuaigou",
        "didifreight",
        "manbang",
    } <= set(plats)
    day = dt.date(2025, 7, 1)
    assert plats["didi"].base_on(day) == Decimal("0.01")
    assert plats["meituan"].base_on(day) == Decimal("0.07")
    assert plats["huolala"].base_on(day) == Decimal("0.18")
    assert plats["didi"].base_on(dt.date(2025, 6, 30)) is None
    assert {n.name for n in plats["eleme"].names} == {"饿了么", "淘宝闪购"}
    assert {n.name for n in plats["dada"].names} == {"达达", "京东秒送"}
    assert plats["dada"].industry_code == "instant_delivery"


def test_industries_are_data_with_start_dates(db):
    didi = db.scalar(select(Platform).where(Platform.code == "didi"))
    ride = db.get(Industry, "ride_hailing")
    assert phasing.is_covered(didi, ride, dt.date(2025, 7, 1))
    assert not phasing.is_covered(didi, ride, dt.date(2025, 6, 30))
    ind = service.add_industry(db, audit.SystemActor(label="test"), "home_services", "家政服务", dt.date(2027, 1, 1))
    assert ind.covered_from == dt.date(2027, 1, 1) and ind.covered_to is None
    with pytest.raises(DomainError):
        service.add_industry(db, audit.SystemActor(label="test"), "Bad Code", "x", None)
    db.rollback()


def test_loading_again_changes_nothing_that_officers_edited(db):
    didi = db.scalar(select(Platform).where(Platform.code == "didi"))
    didi.headquarters = "北京市海淀区（测试）"
    db.flush()
    counts = service.load(db)
    assert counts["regions"] == 126 and platforms.load_pilot_platforms(db) == 0
    assert db.scalar(select(Platform).where(Platform.code == "didi")).headquarters == "北京市海淀区（测试）"
    db.rollback()
