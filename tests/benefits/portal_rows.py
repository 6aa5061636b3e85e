"""Rows made directly for the tests of the float's figures and the worker's view of their benefits
(oip.benefits.experience, oip.payments.portal_pages): cases, decisions, determinations with their
lines, monthly benefits, payables, payee accounts and payment lines — written as the services
would leave them, without going through the services (which other parts of the issue own)."""

from __future__ import annotations

import datetime as dt
import itertools
import secrets

from oip.core import audit, clock

_seq = itertools.count(1)


def account_on(session, platform, *, like=None):
    """A platform account of ``platform`` for the person of a demo account (``like``, default the
    next demo account of meituan)."""
    from oip.workers.models import PlatformAccount
    from tests.cases.conftest import demo_account

    src = like or demo_account("meituan")
    acc = PlatformAccount(
        platform_id=platform.id,
        account_id=f"t-{secrets.token_hex(6)}",
        person_id=src.person_id,
        county_code=src.county_code,
        phone_enc=src.phone_enc,
        phone_bidx=src.phone_bidx,
        phone_masked=src.phone_masked,
        registered_on=dt.date(2025, 7, 1),
        status="active",
    )
    session.add(acc)
    session.flush()
    return acc


def case_on(session, account, occurred_at: dt.datetime, *, kind: str = "injury", county: str = "450103"):
    from oip.cases import service

    case, _ = service.open_case(
        session,
        audit.SystemActor(label="test"),
        account=account,
        kind=kind,
        occurred_at=occurred_at,
        county_code=county,
        address="测试路 1 号",
        description="送餐途中被电动车撞倒",
        injuries="右前臂骨折",
        channel="platform_api",
        reported_on=clock.local(occurred_at).date(),
    )
    session.flush()
    return case


def decide(session, case, outcome: str = "confirmed", *, on: dt.date, rnd: int = 1, overturned_on=None):
    from oip.cases.models import Decision

    d = Decision(
        case_id=case.id,
        round=rnd,
        outcome=outcome,
        code_kind="situation" if outcome == "confirmed" else "reason",
        code="S01",
        reasoning="测试",
        decided_on=on,
        overturned_on=overturned_on,
    )
    session.add(d)
    if outcome == "confirmed" and overturned_on is None:
        case.state = "confirmed"
    session.flush()
    return d


def determination(session, case, lines, *, status: str = "approved", on: dt.date | None = None, letter_id=None):
    """An approved (by default) determination of ``case`` with ``lines``: dicts of DeterminationLine
    fields (item, amount_fen, monthly, formula, payer …)."""
    from oip.benefits.models import Determination, DeterminationLine

    on = on or clock.today()
    det = Determination(
        case_id=case.id,
        purpose="benefits",
        status=status,
        event_date=clock.local(case.occurred_at).date(),
        region_code=case.county_code,
        kind=case.kind,
        inputs={},
        total_once_fen=sum(x["amount_fen"] for x in lines if not x.get("monthly")),
        total_monthly_fen=sum(x["amount_fen"] for x in lines if x.get("monthly")),
        made_at=clock.now(),
        approved_at=clock.now() if status in ("approved", "superseded") else None,
        approved_on=on if status in ("approved", "superseded") else None,
        letter_id=letter_id,
    )
    session.add(det)
    session.flush()
    det.chain_id = det.id
    out = []
    for i, x in enumerate(lines):
        x = {"proposed_fen": x["amount_fen"], "formula": "测试公式", "parameters": [], **x}
        line = DeterminationLine(determination_id=det.id, position=i, **x)
        session.add(line)
        out.append(line)
    session.flush()
    return det, out


def payable(session, case, line, amount_fen: int, *, status: str = "due", paid_on=None, due_on=None, **kw):
    from oip.benefits.models import Payable

    p = Payable(
        case_id=case.id,
        line_id=line.id,
        item=line.item,
        kind=kw.pop("kind", "once"),
        amount_fen=amount_fen,
        key=f"test:{secrets.token_hex(8)}:{next(_seq)}",
        person_id=kw.pop("person_id", case.person_id),
        region_code=case.county_code,
        status=status,
        due_on=due_on or clock.today(),
        paid_on=paid_on,
        created_at=clock.now(),
        **kw,
    )
    session.add(p)
    session.flush()
    return p


def fresh_worker(session):
    """A worker user (password DEMO_PASSWORD) for a registered person who has neither a user nor a
    case yet, with one of their platform accounts: (username, person_id, account)."""
    from sqlalchemy import exists, select

    from oip.auth import service as auth
    from oip.auth.models import User
    from oip.cases.models import Case
    from oip.demo.generate import DEMO_PASSWORD
    from oip.workers.models import PlatformAccount

    acc = session.scalar(
        select(PlatformAccount)
        .where(
            PlatformAccount.status == "active",
            ~exists(select(User.id).where(User.person_id == PlatformAccount.person_id)),
            ~exists(select(Case.id).where(Case.person_id == PlatformAccount.person_id)),
        )
        .order_by(PlatformAccount.id.desc())
        .limit(1)
    )
    demo = session.scalar(select(User).where(User.username == "worker_demo"))
    username = f"w_{secrets.token_hex(4)}"
    session.add(
        User(
            username=username,
            display_name=acc.person.name,
            role="worker",
            kind="worker",
            organisation_id=demo.organisation_id,
            person_id=acc.person_id,
            password_hash=auth.hash_secret(DEMO_PASSWORD),
            must_change_password=False,
        )
    )
    session.flush()
    return username, acc.person_id, acc


def letter(session, case, *, kind: str = "benefit_determination", content: bytes = b"%PDF-1.4 test letter\n"):
    import hashlib

    from oip.cases.models import Letter

    x = Letter(
        case_id=case.id,
        kind=kind,
        number=f"测试〔{secrets.token_hex(4)}〕号",
        sha256=hashlib.sha256(content).hexdigest(),
        size=len(content),
        content=content,
        issued_on=clock.today(),
        generated_at=clock.now(),
    )
    session.add(x)
    session.flush()
    return x


def monthly_benefit(
    session, case, line, *, amount_fen: int, starts_on: dt.date, person_id=None, dependant_id=None, **kw
):
    from oip.benefits.models import MonthlyBenefit, MonthlyRate

    mb = MonthlyBenefit(
        case_id=case.id,
        line_id=line.id,
        item=line.item,
        person_id=person_id if dependant_id is None else None,
        dependant_id=dependant_id,
        region_code=case.county_code,
        starts_on=starts_on,
        status=kw.pop("status", "active"),
        created_at=clock.now(),
        **kw,
    )
    session.add(mb)
    session.flush()
    session.add(
        MonthlyRate(
            monthly_id=mb.id,
            from_month=starts_on.replace(day=1),
            amount_fen=amount_fen,
            reason="determination",
            formula=line.formula,
            created_at=clock.now(),
        )
    )
    session.flush()
    return mb


def account(session, case, *, person_id=None, dependant_id=None, card_masked="6222 **** **** 5679"):
    from oip.payments.models import PayeeAccount

    a = PayeeAccount(
        case_id=case.id,
        person_id=person_id if dependant_id is None else None,
        dependant_id=dependant_id,
        holder_name="测试",
        bank_name="中国工商银行",
        card_enc=b"not-a-real-card",
        card_bidx=secrets.token_bytes(16),
        card_masked=card_masked,
        valid_from=clock.now(),
        reason="测试",
    )
    session.add(a)
    session.flush()
    return a


def payment_line(session, payable, acc, *, status: str, paid_on=None, attempt: int = 1, **kw):
    from oip.payments.models import PaymentBatch, PaymentLine

    batch = PaymentBatch(
        number=f"T{secrets.token_hex(6)}",
        region_code=payable.region_code,
        status="settled" if status in ("paid", "failed") else "sent",
        line_count=1,
        total_fen=payable.amount_fen,
        made_at=clock.now(),
    )
    session.add(batch)
    session.flush()
    x = PaymentLine(
        batch_id=batch.id,
        payable_id=payable.id,
        case_id=payable.case_id,
        account_id=acc.id,
        attempt=attempt,
        idempotency_key=f"{payable.key}#{attempt}",
        amount_fen=payable.amount_fen,
        status=status,
        paid_on=paid_on,
        **kw,
    )
    session.add(x)
    session.flush()
    return x
