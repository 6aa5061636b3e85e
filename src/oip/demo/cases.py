"""Demo injury cases: about 300 cases across the cities in every state of the case's life, with
realistic dates before today and some overdue.

Each case starts from a real demo order when the demo has orders (the injury happens during an
order, so the coverage check at the report finds it; a few happen between orders and are not
confirmed), else from a demo account at a plausible time. Every step runs through the case service
(``oip.cases.service``: transition, timeline, audit) as if on the day it happened
(``oip.demo.timeline.at``), by the officer of the jurisdiction where the demo has one. Deterministic
for a seed."""

from __future__ import annotations

import datetime as dt
import hashlib
import random
from collections import Counter
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from oip.auth.models import User
from oip.cases import deadlines, intake_rules, service
from oip.cases.models import Appeal, CaseDocument, CaseSuspension, CorrectionNotice, Decision, Letter
from oip.core import audit, clock, workdays
from oip.demo.timeline import at, moment
from oip.platforms.models import Platform
from oip.reference.models import Region
from oip.workers.models import PlatformAccount

SYSTEM = audit.SystemActor(label="demo")
LETTER_BUDGET = 12  # letters take about a second each

# Target states and their share, with the age range (days since the injury) that suits each.
PLAN: list[tuple[str, int, tuple[int, int]]] = [
    ("reported", 24, (1, 6)),
    ("reported_late", 6, (35, 60)),  # nobody applied in time: overdue
    ("applied", 18, (3, 9)),
    ("correction", 18, (10, 30)),
    ("accepted", 22, (8, 30)),
    ("accepted_overdue", 8, (55, 90)),
    ("investigating", 30, (8, 25)),
    ("suspended", 14, (20, 70)),
    ("confirmed", 56, (30, 95)),
    ("not_confirmed", 20, (30, 95)),
    ("refused", 8, (20, 90)),
    ("appealed", 10, (60, 95)),
    ("closed", 24, (85, 97)),
    ("withdrawn", 6, (10, 60)),
    ("merged", 6, (5, 40)),
]

DESCRIPTIONS = {
    "instant_delivery": [
        ("送餐途中在路口被右转货车刮倒", "左小腿骨折，软组织挫伤"),
        ("取餐下楼时踩空摔倒", "右踝关节扭伤、骨裂"),
        ("雨天送餐途中电动自行车侧滑摔倒", "右锁骨骨折"),
        ("送餐时被小区内倒车的私家车撞倒", "腰椎压缩性骨折"),
    ],
    "ride_hailing": [
        ("载客途中在高架桥上被追尾", "颈部挥鞭样损伤"),
        ("接乘客途中与电动车相撞", "右前臂骨折，面部擦伤"),
        ("乘客下车时与其发生争执被打伤", "鼻骨骨折"),
    ],
    "intracity_freight": [
        ("搬运货物时被滑落的货箱砸伤", "右手第二、三指骨折"),
        ("装货时从车厢跌落", "左腕舟骨骨折"),
        ("送货途中货车侧翻", "多处肋骨骨折"),
    ],
}
ADDRESSES = [
    "民族大道与竹溪大道交叉口",
    "解放路 88 号附近",
    "中山路口",
    "滨江路与建政路交叉口",
    "万达广场东门",
    "火车站南广场",
]


def _officer(users: dict[str, User], county: str) -> User:
    """The officer of the jurisdiction, or the nearest office above it the demo has a user for."""
    return users.get({"450103": "qx_hrss"}.get(county, "")) or users.get(
        {"4501": "nn_hrss", "4502": "lz_hrss"}.get(county[:4], ""), users["gx_hrss"]
    )


def _principal(session: Session, user: User):
    from oip.auth.service import principal_for

    return principal_for(session, user)


def _workday_after(day: dt.date, n: int) -> dt.date:
    return workdays.add_working_days(day, n)


def _sample_orders(session: Session, rng: random.Random, n: int, seed: int) -> list[dict[str, Any]]:
    """Random completed orders of the demo's ledger: where and when injuries happened."""
    from oip.orders.engines import DuckDBEngine

    eng = DuckDBEngine(session)
    try:
        rows = eng.query(
            "SELECT platform_code, worker_account_id, county_code, accepted_at, finished_at, start_lat, start_lng, order_id "
            f"FROM orders WHERE status = 'completed' ORDER BY hash(order_id || '{seed}') LIMIT {int(n)}"
        )
    finally:
        eng.close()
    return [
        {
            "platform": r[0],
            "account": r[1],
            "county": r[2],
            "at": r[3] + (r[4] - r[3]) * rng.uniform(0.2, 0.8),
            "lat": r[5],
            "lon": r[6],
            "order_id": r[7],
        }
        for r in rows
    ]


def generate(session: Session, rng: random.Random, *, count: int = 300, seed: int = 2025, orders: bool = True) -> dict:
    """Make ``count`` cases (scaled from PLAN). Returns the number per target state."""
    from oip.cases import rules  # noqa: F401  (the table the steps follow)

    today = clock.today()
    users = {u.username: u for u in session.scalars(select(User))}
    counties = [
        r.code for r in session.scalars(select(Region).where(Region.level == "county", Region.code.like("45%")))
    ]
    total_share = sum(s for _, s, _ in PLAN)
    targets = [t for t, share, _ in PLAN for _ in range(max(1, round(count * share / total_share)))]
    rng.shuffle(targets)
    ages = {t: a for t, _, a in PLAN}

    pool = _sample_orders(session, rng, count * 4, seed) if orders else []
    accounts = list(
        session.scalars(
            select(PlatformAccount).where(PlatformAccount.status == "active").order_by(PlatformAccount.id).limit(4000)
        )
    )
    made: Counter[str] = Counter()
    for target in targets:
        lo, hi = ages[target]
        src = None
        for i, o in enumerate(pool):
            age = (today - clock.local(o["at"]).date()).days
            if lo <= age <= hi:
                src = pool.pop(i)
                break
        if src is not None:
            acc = session.scalar(
                select(PlatformAccount)
                .join(Platform, Platform.id == PlatformAccount.platform_id)
                .where(Platform.code == src["platform"], PlatformAccount.account_id == src["account"])
            )
            if acc is None:
                src = None
        if src is None:  # no order of that age: an account at a plausible hour (the coverage check says what it finds)
            acc = rng.choice(accounts)
            day = today - dt.timedelta(days=rng.randint(lo, hi))
            src = {
                "at": moment(day, rng.choice([9, 11, 12, 18, 19, 20]), rng.randint(0, 59)),
                "county": acc.county_code if acc.county_code in counties else rng.choice(counties),
                "lat": None,
                "lon": None,
                "order_id": None,
            }
        _one(session, rng, target, acc, src, users, today)
        made[target] += 1
    # The demo worker who can sign in (worker_demo) has a case of their own, waiting for materials.
    me = users.get("worker_demo")
    mine = (
        session.scalar(
            select(PlatformAccount)
            .where(PlatformAccount.person_id == me.person_id)
            .order_by(PlatformAccount.id)
            .limit(1)
        )
        if me is not None
        else None
    )
    if mine is not None:
        day = today - dt.timedelta(days=12)
        src = {"at": moment(day, 12, 20), "county": "450103", "lat": None, "lon": None, "order_id": None}
        _one(session, rng, "correction", mine, src, users, today)
        made["correction"] += 1
        from oip.cases import letters
        from oip.cases.models import Case

        case = session.scalar(select(Case).where(Case.person_id == me.person_id).order_by(Case.id.desc()).limit(1))
        officer = _principal(session, _officer(users, case.county_code))
        notice = session.scalar(select(CorrectionNotice).where(CorrectionNotice.case_id == case.id))
        with at(moment(notice.issued_on if notice is not None else today, 15)):
            letters.issue_letter(session, officer, case, "correction")
    return dict(made)


def _one(session, rng, target, acc, src, users, today, kind: str | None = None):
    """One case from ``src`` (an order or a moment) taken to ``target``; ``kind`` forces the case's kind
    (else about one in thirty-three is a death). Returns the case."""
    occurred_at = src["at"]
    injured_on = clock.local(occurred_at).date()
    county = src["county"]
    platform = session.get(Platform, acc.platform_id)
    industry = platform.industry_code
    description, injuries = rng.choice(DESCRIPTIONS.get(industry, DESCRIPTIONS["instant_delivery"]))
    reporter = users.get(f"{platform.code}_admin")
    reporter_p = _principal(session, reporter) if reporter is not None else SYSTEM
    officer = _principal(session, _officer(users, county))
    drawn = "death" if rng.random() < 0.03 else "injury"
    kind = kind or drawn

    def step(day: dt.date, hour: int = 10):
        return at(moment(min(day, today), hour, rng.randint(0, 59)))

    # Reported within hours of the injury (or the next morning), applied for on a later working day.
    local = clock.local(occurred_at)
    same_day = rng.random() < 0.7 and local.hour < 22
    reported_on = min(injured_on if same_day else injured_on + dt.timedelta(days=1), today)
    report_at = (
        local + dt.timedelta(minutes=rng.randint(20, 90)) if same_day else moment(reported_on, 9, rng.randint(0, 59))
    )
    with at(report_at):
        coverage = None
        if src.get("order_id") is not None or target != "reported":
            try:
                from oip.orders.coverage import covered_at

                coverage = covered_at(
                    session, at=occurred_at, platform_code=platform.code, account_id=acc.account_id
                ).as_dict()
            except Exception:  # noqa: BLE001 — a demo without a ledger: no coverage snapshot
                coverage = None
        case, _ = service.open_case(
            session,
            reporter_p,
            account=acc,
            kind=kind,
            occurred_at=occurred_at,
            county_code=county,
            address=rng.choice(ADDRESSES),
            lat=round(src["lat"], 6) if src.get("lat") is not None else None,
            lon=round(src["lon"], 6) if src.get("lon") is not None else None,
            order_id=src.get("order_id"),
            description=description,
            injuries="" if kind == "death" else injuries,
            channel="platform_api" if reporter is not None else rng.choice(["phone", "desk"]),
            reported_on=reported_on,
            coverage=coverage,
            facts={"demo": True},
        )
    if target in ("reported", "reported_late"):
        return case
    applied_on = min(max(_workday_after(injured_on, rng.randint(1, 3)), _workday_after(reported_on, 1)), today)
    # With the application come its materials: every required item of the checklist, except the two a
    # case waiting for a correction still lacks.
    lacking = {"medical_diagnosis", "accident_account"} if target == "correction" else set()
    with step(applied_on):
        case.applicant, case.applied_on = "platform", applied_on
        service.transition(session, reporter_p, case, "apply", on=applied_on)
        for item in intake_rules.checklist(case.kind):
            if item.required and item.code not in lacking:
                _document(session, case, item, reporter_p, applied_on)
    if target == "merged":
        # The worker also phoned the event in: a second report, merged into this case by the officer.
        later = min(reported_on + dt.timedelta(days=1), today)
        with step(later, 9):
            dup, report = service.open_case(
                session,
                SYSTEM,
                account=acc,
                kind=kind,
                occurred_at=occurred_at + dt.timedelta(minutes=20),
                county_code=county,
                address=case.address,
                description="本人电话报案：" + description,
                injuries=case.injuries,
                channel="phone",
                reported_on=later,
            )
        with step(min(applied_on + dt.timedelta(days=1), today), 15):
            report.case_id = case.id
            dup.merged_into_id = case.id
            service.transition(session, officer, dup, "merge", note=f"与案件 {case.number} 为同一事故，并案办理")
            service.record_event(
                session,
                officer,
                case,
                "merge_in",
                note=f"案件 {dup.number} 的报案并入本案",
                detail={"from_case_id": dup.id, "from_number": dup.number},
            )
        return case
    if target == "applied":
        return case
    if target == "refused":
        refused_on = min(_workday_after(applied_on, 2), today)
        with step(refused_on):
            service.transition(
                session,
                officer,
                case,
                "refuse",
                on=refused_on,
                note="事故发生地不属于本机构管辖",
                detail={"code": "F2"},
            )
        return case
    if target == "withdrawn":
        with step(min(applied_on + dt.timedelta(days=3), today)):
            service.transition(session, reporter_p, case, "withdraw", note="申请人撤回申请（伤情轻微，不再申请）")
        return case
    if target == "correction":
        issued = min(_workday_after(applied_on, 1), today)
        with step(issued):
            names = {i.code: i.name for i in intake_rules.checklist(case.kind)}
            notice = CorrectionNotice(
                case_id=case.id,
                items=[
                    {"requirement": c, "name": names[c], "note": n}
                    for c, n in (("medical_diagnosis", "需加盖医院公章"), ("accident_account", ""))
                    if c in names
                ],
                issued_on=issued,
                due_on=deadlines.calendar_deadline(issued, 30),
                issued_by=officer.user_id,
            )
            session.add(notice)
            session.add(
                CaseSuspension(case_id=case.id, reason_kind="correction", reason="一次性补正告知", started_on=issued)
            )
            service.transition(
                session, officer, case, "request_correction", on=issued, note="一次性告知补正：诊断证明、事故责任认定"
            )
        return case
    received = applied_on
    accepted_on = min(_workday_after(received, rng.randint(0, 2)) if rng.random() < 0.8 else received, today)
    with step(accepted_on, 11):
        case.received_on, case.accepted_on, case.clock_from = received, accepted_on, accepted_on
        case.simple = rng.random() < 0.25
        service.transition(session, officer, case, "accept", on=accepted_on)
    if target in ("accepted", "accepted_overdue"):
        return case
    from oip.cases import investigation

    task = None
    if target != "suspended":
        with step(accepted_on, 14):
            task = investigation.offer_investigation(session, officer, case, on=accepted_on)
    if target == "investigating":
        return case
    if target == "suspended":
        start = min(_workday_after(accepted_on, rng.randint(1, 4)), today)
        with step(start):
            session.add(
                CaseSuspension(
                    case_id=case.id,
                    reason_kind="other_authority",
                    reason="等待公安机关交通管理部门出具道路交通事故认定书",
                    started_on=start,
                    expected_until=deadlines.calendar_deadline(start, 30),
                )
            )
            service.transition(session, officer, case, "suspend", on=start, note="等待交通事故责任认定")
        return case
    covered = bool(case.coverage and case.coverage.get("covered"))
    limit = 7 if case.simple else 30
    done = accepted_on
    if task is not None:
        insurer = _principal(session, _insurer_user(users, task.organisation_id))
        done = min(_workday_after(accepted_on, rng.randint(2, min(8, limit - 3))), today)
        with step(done, 15):
            findings = (
                "经调取平台订单轨迹并走访现场，事故发生时该人员正在执行平台订单，事故经过与报案一致。"
                if covered
                else "订单轨迹显示事故发生时该人员未在执行订单。"
            )
            investigation.record_findings(session, insurer, task.id, findings=findings)
            investigation.add_visit(
                session,
                insurer,
                task.id,
                visited_on=done,
                place=case.address,
                people="调查员两名",
                notes="现场查看并询问目击者",
            )
            investigation.submit(
                session, insurer, task.id, recommendation="confirm" if covered else "not_confirm", reason=findings
            )
    decide_by = workdays.add_working_days(accepted_on, limit)
    planned = (
        _workday_after(accepted_on, rng.randint(4, limit - 1))
        if rng.random() < 0.9
        else decide_by + dt.timedelta(days=3)
    )
    decided_on = min(max(planned, _workday_after(done, 1)), today)  # after the insurer's findings
    outcome = "not_confirmed" if target in ("not_confirmed", "appealed") else "confirmed"
    with step(decided_on, 16):
        code = (
            rng.choice(["S1", "S1", "S3"])
            if outcome == "confirmed"
            else ("R1" if not covered else rng.choice(["R2", "X2"]))
        )
        d = Decision(
            case_id=case.id,
            round=1,
            outcome=outcome,
            code_kind="situation" if outcome == "confirmed" else ("exclusion" if code.startswith("X") else "reason"),
            code=code,
            reasoning="经审查，事故发生在执行平台订单任务期间，符合职业伤害确认情形。"
            if outcome == "confirmed"
            else "经审查，现有证据不能证明事故发生在执行平台订单任务期间或存在排除情形。",
            decided_on=decided_on,
            due_on=case.decision_due,
            decided_by=officer.user_id,
        )
        session.add(d)
        service.transition(
            session, officer, case, "confirm" if outcome == "confirmed" else "not_confirm", on=decided_on
        )
        # Letters take about a second each: the demo makes them for the cases of 南宁 its users look at first.
        if case.county_code.startswith("4501") and session.scalar(select(func.count(Letter.id))) < LETTER_BUDGET:
            from oip.cases import letters

            letters.issue_letter(session, officer, case, letters.decision_kind(d), source_id=d.id)
    if target == "appealed":
        filed = min(decided_on + dt.timedelta(days=rng.randint(10, 40)), today)
        with step(filed):
            session.add(
                Appeal(
                    case_id=case.id,
                    kind="review",
                    body="广西壮族自治区人民政府行政复议办公室",
                    filed_on=filed,
                    expected_on=deadlines.calendar_deadline(filed, 60),
                    recorded_by=officer.user_id,
                )
            )
            service.transition(session, officer, case, "appeal", on=filed, note="申请人对不予确认结论申请行政复议")
        return case
    if target == "closed" and decided_on + dt.timedelta(days=61) <= today:
        closed_on = deadlines.calendar_deadline(decided_on, 60) + dt.timedelta(days=1)
        with step(min(closed_on, today)):
            service.transition(
                session, officer, case, "close", on=min(closed_on, today), note="复议期限届满，未申请复议"
            )
    return case


def _document(session: Session, case, item, actor, day: dt.date) -> None:
    """A small stand-in PDF for a checklist item (the demo has no real scans)."""
    body = f"demo {case.number} {item.code}".encode()
    content = (
        b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n2 0 obj\n<< /Type /Pages /Kids [] /Count 0 >>\nendobj\n% "
        + body
        + b"\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n"
    )
    session.add(
        CaseDocument(
            case_id=case.id,
            requirement=item.code,
            filename=f"{item.name[:40]}.pdf",
            content_type="application/pdf",
            size=len(content),
            sha256=hashlib.sha256(content).hexdigest(),
            content=content,
            source="platform",
            uploaded_by=getattr(actor, "user_id", None),
            uploaded_at=clock.now(),
        )
    )


def _insurer_user(users: dict[str, User], organisation_id: int) -> User:
    """The demo user of the insurer the task went to."""
    return next(u for u in users.values() if u.role == "insurer" and u.organisation_id == organisation_id)
