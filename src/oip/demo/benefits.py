"""The demo's benefits and payments (待遇与支付): the money of the demo's cases, made through the
services that officers use, each act on the past day it happened (``demo.timeline``).

What it makes, all in 南宁 (the city whose social-insurance agency has a maker, ``nn_si``, and a
checker, ``nn_si_check``):

- **appraised injuries**: one 南宁 case the appraisal demo concluded with a grade, and three more
  appraised here so that every kind of monthly benefit shows — grade 1 with complete dependency
  (nursing 50 %), grade 2 with most, grade 4 with partial — each of these three with a claim of
  bills (one outside the catalogue, excluded with a reason) and hospital days; a benefit
  determination drafted and submitted by the maker and approved by the checker (by the regional
  agency, ``gx_si``, when the amount is above the city's limit); the disability allowance and
  nursing fee paid month by month;
- **a death** (工亡) with three dependants — a spouse, a child who turns 18 before today (the
  pension stops on the birthday) and a lone elderly parent (+10 %) — whose pensions together would
  pass the base and are capped at it;
- **a missing person** (下落不明) with a spouse: half the death subsidy advanced, the pension from
  the fourth month;
- **fast-lane claims** (小伤快赔): six outpatient injuries (four in a small province) with small
  bills, determined within 2 working days and paid within 5; one comes back the next day with a
  hospital stay, leaves the fast lane (everything kept) and is paid on the normal path;
- **payments**: a payee account per recipient (synthetic, Luhn-valid card numbers), batches made
  by the maker, approved by the checker (the region above the city's limit) and sent through the
  file bank adapter on Mondays, Wednesdays and Fridays, the monthly run on each month's first
  working day;
  a demo "bank" answers each with a signed result file the day after, and one line fails once
  (账户已销户): the payee's new account is recorded with a reason and the line is paid in the next
  batch.

The demo worker who signs in (``worker_demo``) has a case still waiting for materials (demo.cases):
no money yet, so the benefits are told on other cases.

Deterministic for a seed (its own random stream: the rest of the demo is unchanged).
"""

from __future__ import annotations

import datetime as dt
import random

from sqlalchemy import select
from sqlalchemy.orm import Session

from oip.auth.models import Organisation, User
from oip.auth.service import Principal, principal_for
from oip.core import clock, workdays
from oip.core.config import get_settings
from oip.demo.timeline import at, moment

CITY = "450100"  # 南宁
MAKER, CHECKER = "nn_si", "nn_si_check"
BANKS = {  # issuer prefixes of the synthetic cards (6 digits) and the bank's name
    "622202": "中国工商银行",
    "621700": "中国建设银行",
    "622848": "中国农业银行",
    "621785": "中国银行",
    "623058": "广西农村信用社",
}
FAILED_REASON = ("ACCT_CLOSED", "账户已销户")
# The four appraisals made here: grade and self-care dependency.
SEVERE = ((1, "complete"), (2, "most"), (4, "partial"))
# What the demo's own rows say (its tests tell them from the rows other tests make).
DETERMINATION_NOTE = "（演示）依据确认结论与鉴定结论核定"
CLAIM_NOTE = "（演示）费用申报"
BATCH_NOTE = "（演示）待遇支付"
FAST_LANE = 6  # in a small province (the tests'): 4


# ---- synthetic bank cards ------------------------------------------------------------------------


def luhn_digit(body: str) -> str:
    """The Luhn check digit for ``body`` (the card number without its last digit)."""
    total = 0
    for i, ch in enumerate(reversed(body)):
        d = int(ch)
        if i % 2 == 0:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return str((10 - total % 10) % 10)


def synthetic_card(rng: random.Random) -> tuple[str, str]:
    """A 19-digit card number with a valid check digit, and its bank's name."""
    prefix = rng.choice(sorted(BANKS))
    body = prefix + "".join(str(rng.randrange(10)) for _ in range(12))
    return body + luhn_digit(body), BANKS[prefix]


# ---- who acts ------------------------------------------------------------------------------------


def _principal(session: Session, username: str) -> Principal:
    return principal_for(session, session.scalar(select(User).where(User.username == username)), via="demo")


def _wd(day: dt.date, n: int) -> dt.date:
    return workdays.add_working_days(day, n)


# ---- the cases -----------------------------------------------------------------------------------


def _nanning_pool(session: Session, rng: random.Random, seed: int, orders: bool) -> list[dict]:
    """Orders in 南宁 (where and when the injuries of the cases made here happen), oldest first."""
    if not orders:
        return []
    from oip.demo import cases as demo_cases

    pool = [o for o in demo_cases._sample_orders(session, rng, 4000, seed + 97) if o["county"].startswith("4501")]
    pool.sort(key=lambda o: o["at"])
    return pool


def _new_case(session: Session, rng: random.Random, kind: str, pool: list[dict], users: dict, days: int):
    """A confirmed 南宁 case of ``kind`` through the demo's case steps (``demo.cases._one``), injured
    about ``days`` days ago: from an order of that age when the demo has orders."""
    from oip.cases.models import Case
    from oip.demo import cases as demo_cases
    from oip.platforms.models import Platform
    from oip.workers.models import PlatformAccount

    today = clock.today()
    src, acc = None, None
    for i, o in enumerate(pool):
        if (today - clock.local(o["at"]).date()).days <= days:
            cand = session.scalar(
                select(PlatformAccount)
                .join(Platform, Platform.id == PlatformAccount.platform_id)
                .where(Platform.code == o["platform"], PlatformAccount.account_id == o["account"])
            )
            if cand is not None:
                src, acc = pool.pop(i), cand
                break
    if src is None:
        taken = set(session.scalars(select(Case.person_id)))
        accounts = [
            a
            for a in session.scalars(
                select(PlatformAccount)
                .where(PlatformAccount.status == "active", PlatformAccount.county_code.like("4501%"))
                .order_by(PlatformAccount.id)
                .limit(400)
            )
            if a.person_id not in taken
        ]
        acc = rng.choice(accounts)
        day = today - dt.timedelta(days=days)
        src = {
            "at": moment(day, rng.choice([11, 12, 18, 19]), rng.randint(0, 59)),
            "county": acc.county_code,
            "lat": None,
            "lon": None,
            "order_id": None,
        }
    case = demo_cases._one(session, rng, "confirmed", acc, src, users, today, kind=kind)
    session.flush()
    return case


def _appraise(session: Session, rng: random.Random, case, grade: int, dependency: str) -> dt.date | None:
    """An appraisal of ``case`` through the appraisal service, by 南宁's committee, concluded with
    ``grade`` and ``dependency`` (the conclusion letter is made, as the service does). Returns the day
    the conclusion was received, or None when the dates leave no room (the case is left as it is)."""
    from oip.appraisal import service
    from oip.core.errors import DomainError
    from oip.demo.appraisal import DEMO_STATEMENT, NEEDED, _confirmed_on, _officer

    today = clock.today()
    decided = _confirmed_on(session, case)
    if decided is None or (today - decided).days < 34:
        return None
    org = session.scalar(select(Organisation).where(Organisation.kind == "hrss", Organisation.region_code == CITY))
    officer = _officer(session, org, "hrss_city")
    applied = decided + dt.timedelta(days=rng.randint(3, 5))
    ended = max(clock.local(case.occurred_at).date(), applied - dt.timedelta(days=2))
    accepted = applied + dt.timedelta(days=1)
    concluded = min(today, applied + dt.timedelta(days=rng.randint(18, 24)))
    received = min(today, concluded + dt.timedelta(days=1))
    # The specialties the committee needs; a pool that cannot make that panel (its only
    # rehabilitation expert retired) is asked for another.
    for needed in (NEEDED[1], NEEDED[0], *NEEDED[2:]):
        savepoint = session.begin_nested()
        try:
            with at(moment(applied, 10, rng.randint(0, 59))):
                a = service.apply(
                    session, officer, case.id, applicant="worker", treatment_ended_on=ended, statement=DEMO_STATEMENT
                )
            with at(moment(accepted, 9, rng.randint(0, 59))):
                service.accept(session, officer, a.id, needed_specialties=list(needed), panel_size=3)
            with at(moment(accepted + dt.timedelta(days=2), 15)):
                service.draw_panel(session, officer, a.id)
            with at(moment(received, 16)):
                service.conclude(
                    session,
                    officer,
                    a.id,
                    grade=grade,
                    dependency=dependency,
                    concluded_on=concluded,
                    received_on=received,
                    note="（演示）专家组检查意见",
                )
        except DomainError:
            savepoint.rollback()
            continue
        savepoint.commit()
        return received
    return None


# ---- the plan: which cases get which money -------------------------------------------------------


class Story:
    """One case's benefits in the demo: what it is (``kind``: graded | death | missing | fast), its
    appraisal conclusion, its dependants, and the day its money starts being worked on."""

    def __init__(self, case, kind: str, start: dt.date, grade: int | None = None, self_care: str = "none"):
        self.case, self.kind, self.start, self.grade, self.self_care = case, kind, start, grade, self_care
        self.dependants: list[dict] = []
        self.determination = None
        self.fast_first: dt.date | None = None
        self.bills = True

    def __repr__(self) -> str:  # pragma: no cover — for debugging the demo
        return f"Story({self.case.number}, {self.kind}, {self.start}, grade={self.grade})"


def _dependants(rng: random.Random, fake, kind: str, worker_born: dt.date, county: str) -> list[dict]:
    """The family of a deceased (or missing) worker: a spouse; for a death also a child who turned 18
    three weeks ago and a lone elderly parent."""
    from oip.demo.synthetic import birth_area, synthetic_id, synthetic_phone

    today = clock.today()

    def person(relation: str, born: dt.date, **extra) -> dict:
        male = rng.random() < 0.5 if relation != "spouse" else rng.random() < 0.2
        return {
            "name": fake.name_male() if male else fake.name_female(),
            "relation": relation,
            "birth_date": born,
            "id_number": synthetic_id(rng, birth_area(rng, county, born.year), born),
            "phone": synthetic_phone(rng),
            **extra,
        }

    spouse_born = worker_born + dt.timedelta(days=rng.randint(-700, 900))
    family = [person("spouse", spouse_born)]
    if kind == "death":
        eighteenth = today - dt.timedelta(days=21)
        child_born = eighteenth.replace(year=eighteenth.year - 18)
        family.append(person("child", child_born))
        parent_born = dt.date(worker_born.year - rng.randint(24, 30), rng.randint(1, 12), rng.randint(1, 28))
        family.append(person("parent", parent_born, orphan_or_lone_elderly=True, note="（演示）孤寡老人"))
    return family


def _worker_born(session: Session, case) -> dt.date:
    from oip.workers.models import Person

    return session.get(Person, case.person_id).birth_date


def plan(session: Session, rng: random.Random, seed: int, orders: bool, small: bool = False) -> list[Story]:
    """Pick and make the demo's benefit cases (module docstring). Case steps and appraisals run
    through their services here; the money comes after (``generate``)."""
    from faker import Faker

    from oip.appraisal.models import Appraisal
    from oip.cases.models import Case
    from oip.demo.appraisal import _confirmed_on

    fake = Faker("zh_CN")
    fake.seed_instance(seed * 17 + 12)
    today = clock.today()
    users = {u.username: u for u in session.scalars(select(User))}
    pool = _nanning_pool(session, rng, seed, orders)
    stories: list[Story] = []

    # 南宁 cases the appraisal demo concluded with a grade (5–10), two at most.
    graded = session.execute(
        select(Case, Appraisal)
        .join(Appraisal, Appraisal.case_id == Case.id)
        .where(
            Case.state == "appraised",
            Case.kind == "injury",
            Case.county_code.like("4501%"),
            Appraisal.status == "concluded",
            Appraisal.grade.is_not(None),
        )
        .order_by(Case.id)
    ).all()
    for case, a in graded[:1]:
        stories.append(Story(case, "graded", a.conclusion_received_on or a.concluded_on, a.grade, a.dependency))
        stories[-1].bills = False  # its bills are left out (letters take time): the benefits only

    # Grades 1–4, appraised here.
    for grade, dependency in SEVERE:
        case = _new_case(session, rng, "injury", pool, users, rng.randint(88, 97))
        received = _appraise(session, rng, case, grade, dependency)
        if received is not None:
            stories.append(Story(case, "graded", received, grade, dependency))

    # A death and a missing person, with their families.
    for kind in ("death", "missing"):
        case = _new_case(session, rng, kind, pool, users, rng.randint(90, 97))
        decided = _confirmed_on(session, case)
        if case.state != "confirmed" or decided is None:
            continue
        s = Story(case, kind, decided)
        s.dependants = _dependants(rng, fake, kind, _worker_born(session, case), case.county_code)
        stories.append(s)

    # Fast lane: confirmed 南宁 injuries without an appraisal, made up to FAST_LANE with new ones.
    appraised = select(Appraisal.case_id)
    fast = list(
        session.scalars(
            select(Case)
            .where(
                Case.state == "confirmed",
                Case.kind == "injury",
                Case.county_code.like("4501%"),
                Case.id.not_in(appraised),
                Case.id.not_in([s.case.id for s in stories] or [0]),
            )
            .order_by(Case.id)
        )
    )[: FAST_LANE - 2 * small]
    while len(fast) < FAST_LANE - 2 * small:
        fast.append(_new_case(session, rng, "injury", pool, users, rng.randint(20, 70)))
    for case in fast:
        decided = _confirmed_on(session, case)
        if case.state == "confirmed" and decided is not None and decided < today:
            stories.append(Story(case, "fast", decided))
    return stories


# ---- the money: acts on their days ---------------------------------------------------------------


class Run:
    """The demo's acts in the order of their moments (a heap: a batch sent today makes the bank's
    answer tomorrow), by the 南宁 agency's maker and checker; counts what it made."""

    def __init__(self, session: Session, rng: random.Random):
        from oip.payments import bank

        self.session, self.rng = session, rng
        self.maker, self.checker = _principal(session, MAKER), _principal(session, CHECKER)
        self.region = _principal(session, "gx_si")  # above the city's approval limit
        self.gateway = _fresh_bank(bank.FileBank(get_settings().bank_path))  # the demo's bank answers files
        self.today = clock.today()  # the real today: inside an act the clock runs from the act's moment
        self.acts: list[tuple[dt.datetime, int, object]] = []
        self.seq = 0
        self.made: dict[str, int] = {}
        self.fail_case: int | None = None  # the case whose payee's account the bank finds closed, once
        self.failed: list[str] = []

    def count(self, what: str, n: int = 1) -> None:
        self.made[what] = self.made.get(what, 0) + n

    def on(self, day: dt.date, hour: int, fn, minute: int = 0) -> None:
        import heapq

        when = moment(day, hour, minute)
        if day > self.today:  # not yet
            return
        self.seq += 1
        heapq.heappush(self.acts, (when, self.seq, fn))

    def play(self) -> None:
        import heapq

        while self.acts:
            when, _, fn = heapq.heappop(self.acts)
            with at(when):
                fn()

    def approver(self, det) -> Principal:
        """The checker, or the regional agency when the amount is above the city's limit."""
        from oip.benefits import determination

        return self.checker if determination.may_approve(self.session, self.checker, det) else self.region


def _fresh_bank(gateway):
    """The file bank of a freshly generated province: files left by a province generated before (and
    since dropped, ``--reset``) are moved aside, so that batch numbers, which restart with the
    database, never meet an older file of the same name."""
    root = getattr(gateway, "root", None)
    if root is not None and root.exists() and any(root.rglob("*.json")):
        root.rename(root.with_name(f"{root.name}.before-{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%S}"))
    return gateway


def _card_holder(run: Run, case_id: int, name: str, dependant_id: int | None = None) -> None:
    from oip.payments import payees

    number, bank_name = synthetic_card(run.rng)
    payees.register(
        run.session,
        run.maker,
        case_id,
        holder_name=name,
        bank_name=bank_name,
        card_number=number,
        dependant_id=dependant_id,
        note="（演示）本人提供的银行卡",
    )
    run.count("payee_accounts")


def _determine(run: Run, story: Story, day: dt.date) -> None:
    """The maker opens the benefits determination and submits it; the checker approves it the next
    working day (the regional agency when the amount is above the city's limit)."""
    from oip.benefits import determination

    s = run.session

    def open_and_submit() -> None:
        det = determination.open_determination(s, run.maker, story.case.id, note=DETERMINATION_NOTE)
        determination.submit(s, run.maker, det.id)  # its note stays the demo's
        story.determination = det
        run.count("determinations")

    def approve() -> None:
        det = story.determination
        who = run.approver(det)
        determination.approve(s, who, det.id, note="经复核，核定无误")
        run.count("determinations_approved")
        if who is run.region:
            run.count("determinations_approved_by_region")

    run.on(day, 10, open_and_submit, run.rng.randint(0, 40))
    run.on(_wd(day, 1), 10, approve, run.rng.randint(0, 40))


HOSPITALS = (
    "南宁市第一人民医院",
    "南宁市第二人民医院",
    "南宁市中医医院",
    "广西医科大学第一附属医院",
    "南宁市红十字会医院",
)
EXCLUDED = ("进口自费药品，不属于工伤保险药品目录", "美容整形项目，不属于诊疗项目目录", "特需病房床位费超出标准部分")


def _bills(
    rng: random.Random, case, received: dt.date, *, count: int, total_fen: int, inpatient_days: int = 0
) -> list[dict]:
    """``count`` receipts adding up to ``total_fen``, issued between the injury and ``received``."""
    injured = clock.local(case.occurred_at).date()
    span = max(0, (received - injured).days)
    cuts = sorted(rng.sample(range(1, total_fen // 100), count - 1)) if count > 1 else []
    parts = [b - a for a, b in zip([0, *cuts], [*cuts, total_fen // 100])]
    hospital = rng.choice(HOSPITALS)
    out = []
    for k, yuan_ in enumerate(parts):
        out.append(
            {
                "receipt_no": f"GX{case.id:07d}{received:%m%d}{k:02d}{rng.randrange(100):02d}",
                "provider": hospital,
                "issued_on": injured + dt.timedelta(days=min(span, k * max(1, span // max(1, count)))),
                "amount_fen": yuan_ * 100 + rng.choice((0, 50)),
                "kind": "medical",
                "in_catalogue": True,
                "inpatient": bool(inpatient_days) and k == 0,
            }
        )
    return out


def _claim(
    run: Run,
    story: Story,
    received: dt.date,
    bills: list[dict],
    *,
    hospital_days: int = 0,
    exclude: int = 0,
    check_days: int = 1,
    later: tuple[list[dict], int] | None = None,
) -> None:
    """A claim handed in on ``received`` (at the desk, by the maker), ``exclude`` bills marked out of
    the catalogue with a reason, its claim determination drafted and submitted ``check_days``
    working days later and approved by the checker the same afternoon. ``later``: bills and hospital
    days added to the open claim the next working day (a hospital stay: it leaves the fast lane)."""
    from oip.benefits import claims, determination

    s = run.session
    state: dict = {}

    def receive() -> None:
        got = claims.receive(
            s, run.maker, story.case.id, bills=bills, hospital_days=hospital_days, received_on=received, note=CLAIM_NOTE
        )
        state["claim"] = got.claim
        run.count("claims")
        if got.claim.fast_lane:
            run.count("claims_fast_lane")

    def check() -> None:
        claim = state["claim"]
        for b in claims.bills_of(s, [claim.id]).get(claim.id, [])[:exclude]:
            claims.mark_bill(s, run.maker, claim.id, b.id, in_catalogue=False, reason=run.rng.choice(EXCLUDED))
            run.count("bills_excluded")
        det = claims.determine(s, run.maker, claim.id)
        determination.submit(s, run.maker, det.id, note="票据已审核")
        state["det"] = det

    def approve() -> None:
        det = state["det"]
        determination.approve(s, run.approver(det), det.id, note="经复核，同意支付")
        run.count("claims_approved")

    def add() -> None:
        claims.add_bills(s, run.maker, state["claim"].id, bills=later[0], hospital_days=later[1])
        if not state["claim"].fast_lane:
            run.count("claims_left_fast_lane")

    run.on(received, 9, receive, run.rng.randint(0, 50))
    if later is not None:
        run.on(_wd(received, 1), 9, add, run.rng.randint(0, 50))
    run.on(_wd(received, check_days), 10, check, run.rng.randint(0, 50))
    run.on(_wd(received, check_days), 15, approve, run.rng.randint(0, 50))


# ---- batches and the demo bank -------------------------------------------------------------------


def _batch(run: Run, day: dt.date) -> None:
    """A batch day: the maker gathers what is due in 南宁 (14:00), the checker approves (15:00) and
    the maker sends the file through the bank adapter (15:30); the bank answers the next working
    day at 8:30. The city's batch takes its counties' payables."""
    from oip.core.errors import DomainError
    from oip.payments import service as payments

    s = run.session
    made: list = []

    def make() -> None:
        sp = s.begin_nested()
        try:
            made.append(payments.make_batch(s, run.maker, CITY, due_by=day, note=BATCH_NOTE))
        except DomainError:  # nothing due (or nothing with an account)
            sp.rollback()
            return
        sp.commit()
        run.count("batches")

    def approve() -> None:
        from oip.auth import limits

        for b in made:
            # Above the city's limit (a death's once items), the regional agency approves.
            who = run.checker
            if not limits.within(payments.approval_limits(s, b), run.checker.role.code, b.total_fen):
                who = run.region
                run.count("batches_approved_by_region")
            payments.approve(s, who, b.id, note="经复核，同意支付")

    def send() -> None:
        for b in made:
            payments.send(s, run.maker, b.id, run.gateway)
            run.on(_wd(day, 1), 8, lambda b=b: _bank_answers(run, b), 30)

    run.on(day, 14, make)
    run.on(day, 15, approve)
    run.on(day, 15, send, 30)


def _bank_answers(run: Run, batch) -> None:
    """The demo bank: reads the batch file from the outbox, pays every line (except, once, the line
    to the account it finds closed), writes its signed result file to the inbox; the maker imports
    it through the adapter and the file is filed away."""
    from oip.payments import bank, service as payments
    from oip.payments.models import PaymentLine

    s = run.session
    doc = bank.read_batch_file((run.gateway.outbox / f"{batch.number}.json").read_bytes())
    rows = s.execute(
        select(PaymentLine.idempotency_key, PaymentLine.account_id, PaymentLine.case_id).where(
            PaymentLine.batch_id == batch.id
        )
    ).all()
    accounts = {k: a for k, a, _ in rows}
    cases_ = {k: c for k, _, c in rows}
    today = clock.today()
    lines = []
    for k, x in enumerate(doc["lines"]):
        key = x["idempotency_key"]
        if not run.failed and cases_.get(key) == run.fail_case:
            run.failed.append(key)
            code, reason = FAILED_REASON
            lines.append({"idempotency_key": key, "status": "failed", "failure_code": code, "failure_reason": reason})
            run.on(today, 10, lambda a=accounts[key]: _new_card(run, a))
            continue
        lines.append(
            {
                "idempotency_key": key,
                "status": "paid",
                "bank_ref": f"DEMO{batch.id:05d}{k:04d}",
                "paid_on": today.isoformat(),
            }
        )
    body, signature = bank.result_file(batch.number, lines)
    run.gateway.inbox.mkdir(parents=True, exist_ok=True)
    name = f"RES-{batch.number}.json"
    (run.gateway.inbox / name).write_bytes(body)
    (run.gateway.inbox / f"{name}.sig").write_text(signature + "\n", encoding="ascii")
    for f, outcome, problem in payments.import_from_bank(s, run.maker, run.gateway):
        run.gateway.settle(f, problem is None, problem)
        if outcome is not None:
            run.count("bank_files_imported")


def _new_card(run: Run, account_id: int) -> None:
    """The payee brings a new card after the bank found the old account closed: the maker records the
    change with the reason; the unpaid line goes out with the next batch."""
    from oip.payments import payees
    from oip.payments.models import PayeeAccount

    old = run.session.get(PayeeAccount, account_id)
    number, bank_name = synthetic_card(run.rng)
    payees.change(
        run.session,
        run.maker,
        account_id,
        holder_name=old.holder_name,
        bank_name=bank_name,
        card_number=number,
        reason="银行回盘：原账户已销户，收款人提供新银行卡",
    )
    run.count("payee_accounts_changed")


def _monthly(run: Run, month_first: dt.date) -> None:
    """The monthly run of 南宁's monthly benefits on the first working day of the month (8:00)."""
    from oip.benefits import monthly

    def go() -> None:
        c = monthly.run_month(run.session, run.maker, f"{month_first:%Y-%m}")
        run.count("monthly_runs")
        run.count("monthly_payables", c.created + c.arrears)

    run.on(workdays.working_day_on_or_after(month_first), 8, go)


# ---- the whole ------------------------------------------------------------------------------------


def _schedule(run: Run, stories: list[Story]) -> None:
    from oip.benefits import determination
    from oip.workers.models import Person

    s, rng = run.session, run.rng
    latest = _working_days_before(clock.today(), 8)
    for story in stories:
        case = story.case
        person = s.get(Person, case.person_id)
        if story.kind == "graded":
            decided = _decided(s, case)
            # Bills of the hospital stay after the injury (one outside the catalogue), handed in soon
            # after the confirmation; the benefits once the appraisal conclusion is in.
            got = min(_wd(decided, rng.randint(2, 4)), story.start)
            days = rng.randint(5, 20) if story.grade and story.grade <= 4 else rng.randint(2, 8)
            total = rng.randint(60, 180) * 10000 * (3 if story.grade and story.grade <= 4 else 1)
            run.on(got, 9, lambda c=case, n=person.name: _card_holder(run, c.id, n))
            if story.bills:
                _claim(
                    run,
                    story,
                    got,
                    _bills(rng, case, got, count=4, total_fen=total, inpatient_days=days),
                    hospital_days=days,
                    exclude=1,
                    check_days=3,
                )
            _determine(run, story, _wd(story.start, rng.randint(2, 5)))
        elif story.kind in ("death", "missing"):
            day = _wd(story.start, 1)

            def family(st=story, n=person.name) -> None:
                # The family's cards: the once items go to the worker's account (held by the spouse),
                # each pension to the dependant's own.
                spouse = st.dependants[0]["name"]
                for d in st.dependants:
                    row = determination.add_dependant(s, run.maker, st.case.id, **{k: v for k, v in d.items()})
                    run.count("dependants")
                    _card_holder(run, st.case.id, row.name, dependant_id=row.id)
                _card_holder(run, st.case.id, spouse)

            run.on(day, 9, family)
            _determine(run, story, _wd(day, 2))
        elif story.kind == "fast":
            first = _wd(story.start, rng.randint(1, 4))
            if first > latest:  # paid before today, the bank's answer included
                continue
            total = rng.randint(20, 280) * 1000
            run.on(first, 8, lambda c=case, n=person.name: _card_holder(run, c.id, n), 30)
            run.on(first, 8, lambda c=case: _fast_lane_documents(run, c), 40)
            # The first fast-lane case comes back the next day with a hospital stay: its open claim
            # leaves the fast lane (everything kept) and is determined on the normal path.
            stay = None
            if not any(st.fast_first for st in stories):
                nxt = _wd(first, 1)
                stay = (_bills(rng, case, nxt, count=1, total_fen=rng.randint(300, 600) * 1000, inpatient_days=3), 3)
                stay[0][0]["receipt_no"] += "Z"
            bills = _bills(rng, case, first, count=rng.randint(1, 3), total_fen=total)
            _claim(run, story, first, bills, check_days=3 if stay else 1, later=stay)
            story.fast_first = first
    # The first payee of a graded case finds their account closed at the bank, once.
    graded = [st for st in stories if st.kind == "graded"]
    if graded:
        run.fail_case = graded[0].case.id


def _working_days_before(day: dt.date, n: int) -> dt.date:
    while n:
        day -= dt.timedelta(days=1)
        n -= workdays.is_working_day(day)
    return day


def _decided(session: Session, case) -> dt.date:
    from oip.demo.appraisal import _confirmed_on

    return _confirmed_on(session, case)


def _fast_lane_documents(run: Run, case) -> None:
    """The fast lane's documents the case's application did not carry (consent, prescription…):
    stand-in PDFs, as the demo's applications have."""
    from oip.benefits import claims
    from oip.cases import intake_rules
    from oip.demo import cases as demo_cases

    items = {i.code: i for i in intake_rules.checklist("injury", outpatient_only=True)}
    for m in claims.missing_documents(run.session, case):
        item = items.get(m["code"])
        if item is not None:
            demo_cases._document(run.session, case, item, run.maker, clock.today())


def generate(
    session: Session, rng: random.Random, *, seed: int = 2025, orders: bool = True, small: bool = False
) -> dict:
    """The demo's benefits and payments (module docstring). Returns what was made, by kind."""
    stories = plan(session, rng, seed, orders, small)
    run = Run(session, rng)
    _schedule(run, stories)
    if not run.acts:
        return {"stories": len(stories)}
    first = min(w for w, _, _ in run.acts).astimezone(clock.SHANGHAI).date()
    today = clock.today()
    day = first
    while day <= today:
        if day.weekday() in (0, 2, 4) and workdays.is_working_day(day):
            _batch(run, day)
        if day.day == 1:
            _monthly(run, day)
        day += dt.timedelta(days=1)
    run.play()
    out = {f"cases_{k}": sum(1 for st in stories if st.kind == k) for k in ("graded", "death", "missing", "fast")}
    return {**out, **run.made}
