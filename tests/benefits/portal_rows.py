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
