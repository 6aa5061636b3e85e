"""The appraisal committees' expert pools of the demo province: about a dozen experts in every city's
pool across the specialties an injury appraisal needs, some more at the regional committee
(450000); a few inactive (retired, moved away), a few tied to a pilot platform (its medical
consultant), so that the draw has someone to leave out.

Made through the pool's own service, each committee's experts by an officer of that committee, on
past days (``demo.timeline``). Deterministic: the same seed gives the same pools."""

from __future__ import annotations

import datetime as dt
import random

from faker import Faker
from sqlalchemy import select
from sqlalchemy.orm import Session

from oip.appraisal import experts, specialties
from oip.appraisal.scope import REGIONAL_COMMITTEE
from oip.auth.models import Organisation, User
from oip.auth.permissions import role
from oip.auth.service import Principal, principal_for
from oip.core import clock
from oip.demo.synthetic import synthetic_phone
from oip.demo.timeline import at, moment
from oip.platforms.models import Platform
from oip.platforms.scope import admitted
from oip.reference.models import Region

# Every city pool has these (orthopaedics twice: most injuries are fractures) …
CITY_CORE = (
    "orthopaedics",
    "orthopaedics",
    "neurosurgery",
    "neurology",
    "ophthalmology",
    "ent",
    "stomatology",
    "general_surgery",
    "thoracic_surgery",
    "urology",
    "burns_plastic",
    "rehabilitation",
)
# … and some of these.
CITY_EXTRA = ("psychiatry", "occupational", "respiratory", "dermatology", "orthopaedics", "neurosurgery")
REGIONAL_EXTRA = ("orthopaedics", "neurosurgery")
CITY_HOSPITALS = ("{city}第一人民医院", "{city}第二人民医院", "{city}中医医院", "{city}红十字会医院")
REGIONAL_HOSPITALS = (
    "广西医科大学第一附属医院",
    "广西壮族自治区人民医院",
    "广西中医药大学第一附属医院",
    "广西医科大学第二附属医院",
)
INACTIVE_REASONS = ("已退休", "调离本市", "本人申请退出专家库")
INACTIVE_SHARE = 0.08
TIED_SHARE = 0.07


def _officer(session: Session, org: Organisation, role_code: str) -> Principal:
    """An officer of the committee's HRSS bureau: its demo user if it has one, else the bureau itself."""
    user = session.scalar(select(User).where(User.organisation_id == org.id, User.role == role_code).limit(1))
    if user is not None:
        return principal_for(session, user, via="demo")
    return Principal(
        user_id=None,  # type: ignore[arg-type]  (no user: the bureau acts in the demo's set-up)
        username="demo",
        display_name="演示数据",
        role=role(role_code),
        organisation_id=org.id,
        organisation_name=org.name,
        region_code=org.region_code,
        region_prefix=org.region_code[:4],
        via="demo",
    )


def generate(session: Session, seed: int) -> dict[str, int]:
    rng = random.Random(seed * 31 + 14)
    fake = Faker("zh_CN")
    fake.seed_instance(seed * 31 + 14)
    today = clock.today()
    cities = list(
        session.scalars(
            select(Region).where(Region.level == "city", Region.parent_code == REGIONAL_COMMITTEE).order_by(Region.code)
        )
    )
    orgs = {o.region_code: o for o in session.scalars(select(Organisation).where(Organisation.kind == "hrss"))}
    platforms = list(session.scalars(select(Platform).where(admitted()).order_by(Platform.code)))

    pools: list[tuple[Principal, list[str], tuple[str, ...], str]] = []
    for city in cities:
        if city.code not in orgs:
            continue
        extra = rng.sample(CITY_EXTRA, rng.randint(0, 2))
        names = tuple(h.format(city=city.name) for h in CITY_HOSPITALS)
        pools.append((_officer(session, orgs[city.code], "hrss_city"), [*CITY_CORE, *extra], names, city.code))
    regional = [*sorted(specialties.specialties()), *REGIONAL_EXTRA]
    pools.append(
        (_officer(session, orgs[REGIONAL_COMMITTEE], "hrss_region"), regional, REGIONAL_HOSPITALS, REGIONAL_COMMITTEE)
    )

    made = {"experts": 0, "inactive": 0, "tied": 0}
    for officer, codes, hospitals, committee in pools:
        for code in codes:
            days_ago = rng.randint(60, 150)
            with at(moment(today - dt.timedelta(days=days_ago), rng.randint(9, 16), rng.randint(0, 59))):
                e = experts.create_expert(
                    session,
                    officer,
                    committee_code=committee,
                    name=fake.name(),
                    specialty_code=code,
                    organisation=rng.choice(hospitals),
                    title="主任医师" if rng.random() < 0.6 else "副主任医师",
                    phone=synthetic_phone(rng),
                )
            made["experts"] += 1
            if platforms and rng.random() < TIED_SHARE:
                plat = rng.choice(platforms)
                with at(moment(today - dt.timedelta(days=days_ago - 1), 10)):
                    experts.add_tie(
                        session, officer, e.id, platform_code=plat.code, relation="平台企业医疗顾问", note="（演示）"
                    )
                made["tied"] += 1
            if rng.random() < INACTIVE_SHARE:
                with at(moment(today - dt.timedelta(days=rng.randint(1, days_ago - 2)), 15)):
                    experts.set_active(session, officer, e.id, False, rng.choice(INACTIVE_REASONS))
                made["inactive"] += 1
    return made


# ---- appraisals on the demo's confirmed cases ----------------------------------------------------

# What becomes of a confirmed case's appraisal, with the days it needs after the confirmation.
APPRAISAL_PLAN: list[tuple[str, int]] = [
    ("applied", 8),  # the committee has not accepted yet
    ("drawn", 14),  # accepted, the panel drawn, the conclusion due
    ("concluded", 34),  # concluded: the re-appraisal window runs (or has passed)
    ("reappraisal", 52),  # a re-appraisal at the regional committee under way
]
DEMO_STATEMENT = "（演示）治疗终结，伤情相对稳定，申请劳动能力鉴定"
GRADES = (None, 10, 10, 9, 9, 8, 7, 6, 5)
NEEDED = (("orthopaedics",), ("orthopaedics", "rehabilitation"), ("neurosurgery",), ("general_surgery",))


def _confirmed_on(session: Session, case) -> dt.date | None:
    from oip.cases.models import CaseEvent

    return session.scalar(
        select(CaseEvent.on)
        .where(CaseEvent.case_id == case.id, CaseEvent.action == "confirm")
        .order_by(CaseEvent.id.desc())
        .limit(1)
    )


def cases(session: Session, rng: random.Random, share: float = 0.45) -> dict[str, int]:
    """Appraisals on about ``share`` of the demo's confirmed cases, each step through the appraisal
    service on its own past day, by the officer of the committee: applied, panel drawn, concluded,
    and re-appraised at the regional committee. Returns the number per outcome."""
    from oip.appraisal import service
    from oip.cases.models import Case
    from oip.core.errors import DomainError

    today = clock.today()
    orgs = {o.region_code: o for o in session.scalars(select(Organisation).where(Organisation.kind == "hrss"))}
    regional = _officer(session, orgs[REGIONAL_COMMITTEE], "hrss_region")
    made: dict[str, int] = {}
    for case in session.scalars(select(Case).where(Case.state == "confirmed").order_by(Case.id)).all():
        if rng.random() >= share or case.kind != "injury":  # a death is not appraised (the draw stays as it was)
            continue
        decided = _confirmed_on(session, case)
        city = orgs.get(case.county_code[:4] + "00")
        if decided is None or city is None:
            continue
        span = (today - decided).days
        fits = [plan for plan, need in APPRAISAL_PLAN if need <= span]
        if not fits:
            continue
        plan = rng.choice(fits)
        officer = _officer(session, city, "hrss_city")
        injured = clock.local(case.occurred_at).date()
        applied = decided + dt.timedelta(days=rng.randint(3, 6))
        ended = max(injured, applied - dt.timedelta(days=rng.randint(1, 4)))
        savepoint = session.begin_nested()
        try:
            with at(moment(applied, 10, rng.randint(0, 59))):
                a = service.apply(
                    session,
                    officer,
                    case.id,
                    applicant=rng.choice(["worker", "worker", "platform"]),
                    treatment_ended_on=ended,
                    statement=DEMO_STATEMENT,
                )
            if plan != "applied":
                accepted = applied + dt.timedelta(days=rng.randint(1, 3))
                with at(moment(accepted, 9, rng.randint(0, 59))):
                    service.accept(session, officer, a.id, needed_specialties=list(rng.choice(NEEDED)), panel_size=3)
                with at(moment(accepted + dt.timedelta(days=2), 15)):
                    service.draw_panel(session, officer, a.id)
            if plan in ("concluded", "reappraisal"):
                concluded = min(today, applied + dt.timedelta(days=rng.randint(20, 28)))
                received = min(today, concluded + dt.timedelta(days=rng.randint(0, 3)))
                with at(moment(received, 16)):  # recorded when the letter was served
                    service.conclude(
                        session,
                        officer,
                        a.id,
                        grade=rng.choice(GRADES) or "none",
                        dependency="none" if rng.random() < 0.8 else "partial",
                        concluded_on=concluded,
                        received_on=received,
                        note="（演示）专家组检查意见",
                    )
            if plan == "reappraisal":
                asked = received + dt.timedelta(days=rng.randint(3, 10))
                with at(moment(asked, 11)):
                    again = service.apply(
                        session, officer, case.id, kind="reappraisal", applicant="worker", statement=DEMO_STATEMENT
                    )
                with at(moment(asked + dt.timedelta(days=2), 10)):
                    service.accept(session, regional, again.id, needed_specialties=["orthopaedics"], panel_size=5)
        except DomainError:  # a pool that cannot make the panel, a date the windows refuse: no appraisal
            savepoint.rollback()
            continue
        savepoint.commit()
        made[plan] = made.get(plan, 0) + 1
    return made
