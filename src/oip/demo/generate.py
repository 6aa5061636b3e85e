"""The synthetic Guangxi province: organisations and users for every role, credentials for the 11
pilot platforms, two platforms part-way through admission, and N workers with valid synthetic
resident ID numbers spread over cities and platforms (some on two platforms).

Deterministic: the same seed gives the same province (names, numbers, assignments)."""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterator

from faker import Faker
from sqlalchemy import select
from sqlalchemy.orm import Session

from oip.auth import service as auth
from oip.auth.models import ApiCredential, InsurerAssignment, Organisation, User
from oip.core import audit, clock
from oip.demo.synthetic import birth_area, synthetic_id, synthetic_phone, synthetic_uscc
from oip.platforms.models import Platform, PlatformRegion
from oip.reference.models import Region

DEMO_PASSWORD = "Gx@2025demo"
DEMO_SECRET_PREFIX = "demo-secret-"
ACTOR = audit.SystemActor(label="demo")

# Relative weight of each city in the order-taking population (roughly by urban population).
CITY_WEIGHT = {
    "450100": 30,
    "450200": 12,
    "450300": 11,
    "450400": 5,
    "450500": 5,
    "450600": 2,
    "450700": 5,
    "450800": 6,
    "450900": 8,
    "451000": 4,
    "451100": 3,
    "451200": 3,
    "451300": 3,
    "451400": 3,
}
INDUSTRY_WEIGHT = {"ride_hailing": 30, "instant_delivery": 55, "intracity_freight": 15}

SINGLE_ORGS = [
    # code, name, kind, region
    ("gx-hrss", "广西壮族自治区人力资源和社会保障厅", "hrss", "450000"),
    ("gx-si", "广西壮族自治区社会保险事业管理中心", "si_agency", "450000"),
    ("gx-finance", "广西壮族自治区财政厅", "finance", "450000"),
    ("gx-tax", "国家税务总局广西壮族自治区税务局", "tax", "450000"),
    ("gx-nfra", "国家金融监督管理总局广西监管局", "fin_regulator", "450000"),
    ("gx-transport", "广西壮族自治区交通运输厅", "transport", "450000"),
    ("gx-commerce", "广西壮族自治区商务厅", "commerce", "450000"),
    ("gx-market", "广西壮族自治区市场监督管理局", "market", "450000"),
    ("gx-union", "广西壮族自治区总工会", "union", "450000"),
    ("insurer-a", "甲财产保险股份有限公司广西分公司（演示）", "insurer", "450000"),
    ("insurer-b", "乙财产保险股份有限公司广西分公司（演示）", "insurer", "450000"),
    ("public", "社会公众", "public", "450000"),
]

# username, display name, role, organisation code
USERS = [
    ("gx_hrss", "韦工（自治区人社厅）", "hrss_region", "gx-hrss"),
    ("nn_hrss", "黄工（南宁市人社局）", "hrss_city", "450100-hrss"),
    ("lz_hrss", "覃工（柳州市人社局）", "hrss_city", "450200-hrss"),
    ("qx_hrss", "陆工（青秀区人社局）", "hrss_county", "450103-hrss"),
    ("gx_si", "莫工（自治区社保中心）", "si_region", "gx-si"),
    ("gx_si_check", "甘工（自治区社保中心复核）", "si_region", "gx-si"),
    ("nn_si", "蒙工（南宁市社保中心）", "si_city", "450100-si"),
    ("nn_si_check", "覃工（南宁市社保中心复核）", "si_city", "450100-si"),
    ("gl_si", "梁工（桂林市社保中心）", "si_city", "450300-si"),
    ("qx_si", "农工（青秀区社保中心）", "si_county", "450103-si"),
    ("qx_si_check", "黎工（青秀区社保中心复核）", "si_county", "450103-si"),
    ("gx_finance", "李工（自治区财政厅）", "finance", "gx-finance"),
    ("gx_tax", "张工（广西税务局）", "tax", "gx-tax"),
    ("gx_nfra", "王工（广西金融监管局）", "fin_regulator", "gx-nfra"),
    ("gx_transport", "陈工（自治区交通运输厅）", "platform_regulator", "gx-transport"),
    ("gx_commerce", "刘工（自治区商务厅）", "platform_regulator", "gx-commerce"),
    ("gx_market", "杨工（自治区市场监管局）", "platform_regulator", "gx-market"),
    ("gx_union", "赵工（自治区总工会）", "union", "gx-union"),
    ("insurer_a", "周经理（甲保险）", "insurer", "insurer-a"),
    ("insurer_b", "吴经理（乙保险）", "insurer", "insurer-b"),
    ("meituan_admin", "美团广西运营", "platform", "platform-meituan"),
    ("didi_admin", "滴滴出行广西运营", "platform", "platform-didi"),
    ("huolala_admin", "货拉拉广西运营", "platform", "platform-huolala"),
]


def already_generated(session: Session) -> bool:
    return session.scalar(select(User.id).where(User.username == "gx_si")) is not None


def _orgs(session: Session, regions: dict[str, Region]) -> dict[str, Organisation]:
    orgs: dict[str, Organisation] = {}
    for code, name, kind, region in SINGLE_ORGS:
        orgs[code] = Organisation(code=code, name=name, kind=kind, region_code=region)
    for r in regions.values():
        if r.level == "city":
            orgs[f"{r.code}-hrss"] = Organisation(
                code=f"{r.code}-hrss", name=f"{r.name}人力资源和社会保障局", kind="hrss", region_code=r.code
            )
            orgs[f"{r.code}-si"] = Organisation(
                code=f"{r.code}-si", name=f"{r.name}社会保险事业局", kind="si_agency", region_code=r.code
            )
    for code in ("450103", "450202"):
        r = regions[code]
        orgs[f"{code}-hrss"] = Organisation(
            code=f"{code}-hrss",
            name=f"{regions[r.parent_code].name}{r.name}人力资源和社会保障局",
            kind="hrss",
            region_code=code,
        )
        orgs[f"{code}-si"] = Organisation(
            code=f"{code}-si",
            name=f"{regions[r.parent_code].name}{r.name}社会保险事业局",
            kind="si_agency",
            region_code=code,
        )
    for p in session.scalars(select(Platform).order_by(Platform.id)):
        orgs[f"platform-{p.code}"] = Organisation(
            code=f"platform-{p.code}",
            name=p.display_name(clock.today()),
            kind="platform",
            region_code="450000",
            platform_id=p.id,
        )
    session.add_all(orgs.values())
    session.flush()
    for o in orgs.values():
        audit.record(
            session,
            ACTOR,
            "organisation.create",
            entity_type="organisation",
            entity_id=o.id,
            after={"code": o.code, "name": o.name, "kind": o.kind, "region_code": o.region_code},
        )
    return orgs


def _weighted(rng: random.Random, weights: dict[str, int]) -> str:
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def worker_records(
    seed: int,
    n: int,
    counties_by_city: dict[str, list[str]],
    platforms_by_industry: dict[str, list[str]],
    today: dt.date,
) -> Iterator[tuple[str, dict]]:
    """(platform_code, registration record) pairs; about one person in eight is on two platforms."""
    rng = random.Random(seed)
    fake = Faker("zh_CN")
    fake.seed_instance(seed)
    start = dt.date(2025, 7, 1)
    span = max(1, (today - start).days)
    all_counties = [c for cs in counties_by_city.values() for c in cs]
    used: set[str] = set()
    for i in range(n):
        city = _weighted(rng, CITY_WEIGHT)
        county = rng.choice(counties_by_city[city])
        born = dt.date(1966, 1, 1) + dt.timedelta(days=rng.randrange(0, 365 * 39))
        area = birth_area(rng, county if rng.random() < 0.8 else rng.choice(all_counties), born.year)
        number = synthetic_id(rng, area, born)
        while number in used:
            number = synthetic_id(rng, area, born)
        used.add(number)
        sex = "M" if int(number[16]) % 2 else "F"
        name = fake.name_male() if sex == "M" else fake.name_female()
        industry = _weighted(rng, INDUSTRY_WEIGHT)
        platforms = [rng.choice(platforms_by_industry[industry])]
        if rng.random() < 0.125:
            other = rng.choice([p for ps in platforms_by_industry.values() for p in ps if p not in platforms])
            platforms.append(other)
        phone = synthetic_phone(rng)
        for code in platforms:
            registered = start + dt.timedelta(days=rng.randrange(0, span))
            yield (
                code,
                {
                    "platform_account_id": f"{code[:2].upper()}{i:07d}",
                    "name": name,
                    "id_number": number,
                    "phone": phone if rng.random() < 0.9 else synthetic_phone(rng),
                    "county_code": county,
                    "registered_on": registered.isoformat(),
                },
            )


def generate(
    session: Session,
    *,
    workers: int = 20000,
    seed: int = 2025,
    progress=None,
    orders: bool = True,
    cases: int | None = None,
) -> dict:
    from oip.workers import service as workers_service

    rng = random.Random(seed)
    regions = {r.code: r for r in session.scalars(select(Region))}
    orgs = _orgs(session, regions)
    platforms = {p.code: p for p in session.scalars(select(Platform).order_by(Platform.id))}

    # Deadlines of the demo's cases run into years the holiday package does not know yet: load the
    # provisional arrangement (fixed-date statutory holidays only, each row saying so) for them.
    from oip.reference import calendar as holiday_calendar

    holiday_calendar.load_provisional_years(session, ACTOR, clock.today() + dt.timedelta(days=730))

    # Register details the reference data leaves to officers: USCC, headquarters, where they operate.
    for p in platforms.values():
        if not p.uscc:
            p.uscc = synthetic_uscc(rng, "110000")
        if not p.headquarters:
            p.headquarters = "（演示）平台企业总部"
        for city in CITY_WEIGHT:
            p.regions.append(PlatformRegion(region_code=city))
    session.flush()

    # Users of every role. Demo accounts: their password is published (README), so they are not
    # marked for a forced change the way accounts an administrator creates are.
    pw = auth.hash_secret(DEMO_PASSWORD)
    users: dict[str, User] = {}
    for username, display, role, org in USERS:
        users[username] = User(
            username=username,
            display_name=display,
            role=role,
            kind="staff",
            organisation_id=orgs[org].id,
            password_hash=pw,
            must_change_password=False,
        )
    session.add_all(users.values())
    session.flush()
    for u in users.values():
        audit.record(
            session,
            ACTOR,
            "user.create",
            entity_type="user",
            entity_id=u.id,
            after={"username": u.username, "role": u.role, "organisation_id": u.organisation_id},
        )

    # API credentials for every pilot platform, with a known demo secret.
    for code in platforms:
        org = orgs[f"platform-{code}"]
        svc = User(
            username=f"{code}-api",
            display_name=f"{org.name} 接口",
            role="platform",
            kind="service",
            organisation_id=org.id,
        )
        session.add(svc)
        session.flush()
        session.add(
            ApiCredential(
                client_id=f"{code}-demo",
                secret_hash=auth.hash_secret(DEMO_SECRET_PREFIX + code),
                user_id=svc.id,
                label="演示凭证",
            )
        )
        audit.record(
            session,
            ACTOR,
            "credential.create",
            entity_type="api_credential",
            entity_id=f"{code}-demo",
            after={"platform": code},
        )

    # Workers, through the same service the API uses, in chunks.
    counties_by_city: dict[str, list[str]] = {}
    for r in regions.values():
        if r.level == "county" and r.parent_code in CITY_WEIGHT:
            counties_by_city.setdefault(r.parent_code, []).append(r.code)
    for v in counties_by_city.values():
        v.sort()
    by_industry: dict[str, list[str]] = {}
    for p in platforms.values():
        by_industry.setdefault(p.industry_code, []).append(p.code)
    from oip.auth.service import principal_for

    totals = {"received": 0, "accepted": 0, "rejected": 0}
    pending: dict[str, list[dict]] = {}

    def flush(code: str) -> None:
        plat_user = session.scalar(select(User).where(User.username == f"{code}-api"))
        actor = principal_for(session, plat_user, via="demo")
        res = workers_service.register(session, actor, platforms[code], pending.pop(code), source="demo")
        for k in totals:
            totals[k] += getattr(res, k)

    today = clock.today()
    for code, rec in worker_records(seed, workers, counties_by_city, by_industry, today):
        pending.setdefault(code, []).append(rec)
        if len(pending[code]) >= 2000:
            flush(code)
            if progress is not None:
                progress.print(f"  workers: {totals['accepted']:,} registrations…")
    for code in list(pending):
        flush(code)

    # A demo worker who can sign in, and assignments to the insurers.
    from oip.workers.models import Person

    person = session.scalar(select(Person).order_by(Person.id).limit(1))
    worker = User(
        username="worker_demo",
        display_name=person.name,
        role="worker",
        kind="worker",
        organisation_id=orgs["public"].id,
        person_id=person.id,
        password_hash=pw,
        must_change_password=False,
    )
    session.add(worker)
    ids = list(session.scalars(select(Person.id).order_by(Person.id).limit(200)))
    for k, pid in enumerate(ids[1:61]):
        org = orgs["insurer-a" if k % 2 == 0 else "insurer-b"]
        session.add(InsurerAssignment(organisation_id=org.id, person_id=pid, matter="职业伤害确认调查核实（演示）"))
    session.flush()
    audit.record(
        session, ACTOR, "insurer.assign", entity_type="insurer_assignment", after={"count": 60}, subjects=ids[1:61]
    )

    from oip.demo import admissions as demo_admissions

    admissions = demo_admissions.generate(session, rng, users["gx_hrss"])
    from oip.demo import insurers as demo_insurers

    contracts = demo_insurers.generate(session, users["gx_si"])
    from oip.demo import appraisal as demo_appraisal

    pools = demo_appraisal.generate(session, seed)  # its own random stream: the rest is unchanged
    summary = {
        "organisations": len(orgs),
        "users": len(users) + 1 + len(platforms),
        "platforms": len(platforms),
        "admissions_in_progress": admissions,
        "insurer_contracts": contracts,
        **{f"appraisal_{k}": v for k, v in pools.items()},
        **{f"workers_{k}": v for k, v in totals.items()},
    }
    if orders:
        # Three whole months of orders through the real import, then their declarations, the first
        # two sent to the tax bureau (file gateway) with synthetic returns, and reconciliation.
        from oip.demo import orders as demo_orders, premiums as demo_premiums

        made = demo_orders.generate(session, seed, months=3, progress=progress)
        summary.update({f"orders_{k}": made[k] for k in ("orders", "batches", "rejected", "months")})
        summary["premiums"] = demo_premiums.generate(session, made["months"])
    # Injury cases in every state (about 300; fewer for a small province), from the demo's orders.
    from oip.demo import cases as demo_cases

    count = cases if cases is not None else (300 if workers >= 5000 else 60)
    summary["cases"] = demo_cases.generate(session, random.Random(seed + 11), count=count, seed=seed, orders=orders)
    summary["appraisals"] = demo_appraisal.cases(session, random.Random(seed + 14))
    # Benefits and payments on 南宁's cases: determinations, monthly schedules, batches, the fast lane.
    from oip.demo import benefits as demo_benefits

    summary["benefits"] = demo_benefits.generate(
        session, random.Random(seed + 12), seed=seed, orders=orders, small=count < 300
    )
    # The fund's books of that money: the ledger, the year's budget, cash plans, supervision; the past
    # months closed (only with the full demo's orders: the tests' small province keeps them open).
    from oip.demo import fund as demo_fund

    summary["fund"] = demo_fund.generate(session, full=orders)
    return summary
