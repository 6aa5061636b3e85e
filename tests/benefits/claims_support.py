"""Helpers for the claims tests: cases confirmed with a real decision row, the demo worker's own case,
bill rows with receipt numbers nobody else uses."""

from __future__ import annotations

import datetime as dt
from uuid import uuid4

from sqlalchemy import select

from oip.core import audit, clock

ACTOR = audit.SystemActor(label="test")


def receipt() -> str:
    return f"R{uuid4().hex[:12].upper()}"


def bill(amount: str = "100.00", **kw) -> dict:
    return {
        "receipt_no": kw.pop("receipt_no", None) or receipt(),
        "provider": "南宁市第一人民医院",
        "issued_on": kw.pop("issued_on", None) or clock.today().isoformat(),
        "amount": amount,
        **kw,
    }


def confirm(case_id: int, on: dt.date | None = None) -> None:
    """The confirmation decision (予以确认) with its row, as the decision part writes it."""
    from oip.cases import service
    from oip.cases.models import Case, Decision
    from oip.core.db import session_scope

    with session_scope() as s:
        case = s.get(Case, case_id)
        day = on or clock.today()
        s.add(
            Decision(
                case_id=case.id,
                round=1,
                outcome="confirmed",
                code_kind="situation",
                code="S1",
                reasoning="测试",
                decided_on=day,
            )
        )
        service.transition(s, ACTOR, case, "confirm", on=day)


def pending_case(*, county: str = "450103", days_ago: int = 3, kind: str = "injury") -> int:
    """A case accepted yesterday-ish, its confirmation pending."""
    from tests.cases.conftest import make_case

    occurred = clock.now() - dt.timedelta(days=days_ago)
    return make_case(
        county=county,
        occurred_at=occurred,
        to="accepted",
        accepted_on=clock.local(occurred).date() + dt.timedelta(days=1),
        kind=kind,
    )


def confirmed_case(*, county: str = "450103", days_ago: int = 10) -> int:
    cid = pending_case(county=county, days_ago=days_ago)
    confirm(cid)
    return cid


def worker_case(*, confirmed: bool = True) -> int:
    """A case of the demo worker (worker_demo) on one of their accounts."""
    from oip.auth.models import User
    from oip.cases import service
    from oip.core.db import session_scope
    from oip.workers.models import PlatformAccount

    occurred = clock.now() - dt.timedelta(days=6)
    with session_scope() as s:
        person_id = s.scalar(select(User.person_id).where(User.username == "worker_demo"))
        account = s.scalars(select(PlatformAccount).where(PlatformAccount.person_id == person_id)).first()
        case, _ = service.open_case(
            s,
            ACTOR,
            account=account,
            kind="injury",
            occurred_at=occurred,
            county_code="450103",
            address="测试路 2 号",
            description="送餐途中摔伤",
            injuries="左手擦伤",
            channel="platform_api",
            reported_on=clock.local(occurred).date(),
        )
        case.applicant, case.applied_on = "platform", clock.local(occurred).date()
        service.transition(s, ACTOR, case, "apply", on=case.applied_on)
        day = case.applied_on + dt.timedelta(days=1)
        case.received_on = case.accepted_on = case.clock_from = day
        service.transition(s, ACTOR, case, "accept", on=day)
        cid = case.id
    if confirmed:
        confirm(cid)
    return cid


def claim_row(claim_id: int):
    from oip.benefits.models import Claim
    from oip.core.db import session_scope

    with session_scope() as s:
        c = s.get(Claim, claim_id)
        s.expunge(c)
        return c


def timeline(case_id: int) -> list[str]:
    from oip.cases.models import CaseEvent
    from oip.core.db import session_scope

    with session_scope() as s:
        return list(s.scalars(select(CaseEvent.action).where(CaseEvent.case_id == case_id).order_by(CaseEvent.id)))
