"""Factories for case tests: open a case on a demo worker and move it along the state machine
through the service core (the parts' own tests drive their endpoints instead)."""

from __future__ import annotations

import datetime as dt
import itertools

from sqlalchemy import select

from oip.core import audit, clock

_seq = itertools.count()


def demo_account(platform_code: str = "meituan", offset: int | None = None):
    """An active demo account of the platform (a different one on each call unless ``offset`` is given),
    never the person of a signed-in worker (``worker_demo``): a test that wants their case says so."""
    from sqlalchemy import func

    from oip.auth.models import User
    from oip.core.db import session_scope
    from oip.platforms.models import Platform
    from oip.workers.models import PlatformAccount

    n = next(_seq) if offset is None else offset
    with session_scope() as s:
        users = select(User.person_id).where(User.person_id.is_not(None))
        active = (
            select(PlatformAccount)
            .join(Platform, Platform.id == PlatformAccount.platform_id)
            .where(
                Platform.code == platform_code,
                PlatformAccount.status == "active",
                PlatformAccount.person_id.not_in(users),
            )
        )
        # Cycle through the first 50 (fewer when the small test province has fewer on the platform).
        count = min(50, s.scalar(select(func.count()).select_from(active.subquery())) or 1)
        acc = s.scalars(active.order_by(PlatformAccount.id).offset(n % count).limit(1)).one()
        s.expunge(acc)
        return acc


def make_case(
    *,
    platform: str = "meituan",
    county: str = "450103",
    occurred_at: dt.datetime | None = None,
    kind: str = "injury",
    to: str = "reported",
    accepted_on: dt.date | None = None,
    simple: bool = False,
) -> int:
    """A case opened by the system actor on a demo worker of ``platform``, injured in ``county``, moved
    to ``to`` (reported, applied or accepted). Returns its id."""
    from oip.cases import service
    from oip.core.db import session_scope
    from oip.workers.models import PlatformAccount

    occurred_at = occurred_at or clock.now() - dt.timedelta(days=2)
    actor = audit.SystemActor(label="test")
    acc = demo_account(platform)
    with session_scope() as s:
        account = s.get(PlatformAccount, acc.id)
        case, _ = service.open_case(
            s,
            actor,
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
        if to in ("applied", "accepted"):
            case.applicant, case.applied_on = "platform", clock.local(occurred_at).date()
            service.transition(s, actor, case, "apply", on=case.applied_on)
        if to == "accepted":
            day = accepted_on or clock.today()
            case.received_on = case.accepted_on = case.clock_from = day
            case.simple = simple
            service.transition(s, actor, case, "accept", on=day)
        return case.id
