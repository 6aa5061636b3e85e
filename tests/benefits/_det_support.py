"""Helpers for the determination tests: a case confirmed (a confirmation decision) and appraised
(a concluded appraisal), or a death case, through the case core as the system actor."""

from __future__ import annotations

import datetime as dt
import itertools
import re

from sqlalchemy import select

from oip.core import audit, clock
from tests.cases.conftest import make_case
from tests.conftest import bearer

ACTOR = audit.SystemActor(label="test")
_seq = itertools.count(1)


def flat(text: str) -> str:
    """A letter's text without line breaks and page footers."""
    return "".join(line for line in text.splitlines() if not re.search(r"第 \d+ 页，共 \d+ 页$", line))


def _confirm(s, case, on: dt.date) -> None:
    from oip.cases import service
    from oip.cases.models import Decision

    d = Decision(
        case_id=case.id,
        round=1,
        outcome="confirmed",
        code_kind="situation",
        code="S1",
        reasoning="订单轨迹显示事故发生于配送途中。",
        decided_on=on,
        due_on=case.decision_due,
    )
    s.add(d)
    s.flush()
    service.transition(s, ACTOR, case, "confirm", on=on)


def _conclude(s, case, grade: int | None, self_care: str, on: dt.date) -> None:
    from oip.appraisal.models import Appraisal

    s.add(
        Appraisal(
            case_id=case.id,
            number=f"JDT{case.id}-{next(_seq)}",
            kind="initial",
            committee_code="450100",
            status="concluded",
            applicant="worker",
            applied_on=on - dt.timedelta(days=30),
            treatment_ended_on=on - dt.timedelta(days=40),
            accepted_on=on - dt.timedelta(days=25),
            grade=grade,
            dependency=self_care,
            concluded_on=on,
            conclusion_received_on=on,
        )
    )
    s.flush()


def determinable_case(
    *,
    kind: str = "injury",
    county: str = "450103",
    grade: int | None = 7,
    self_care: str = "none",
    appraised: bool = True,
    days_ago: int = 150,
    person_of: str | None = None,
) -> int:
    """A case injured ``days_ago`` days ago, accepted, confirmed and (for an injury, when
    ``appraised``) with a concluded appraisal. ``person_of``: a username whose person the case is
    about (e.g. worker_demo). Returns the case id."""
    from oip.auth.models import User
    from oip.cases.models import Case
    from oip.core.db import session_scope
    from oip.workers.models import PlatformAccount

    occurred = clock.now() - dt.timedelta(days=days_ago)
    accepted = clock.local(occurred).date() + dt.timedelta(days=5)
    cid = make_case(county=county, occurred_at=occurred, kind=kind, to="accepted", accepted_on=accepted)
    with session_scope() as s:
        case = s.get(Case, cid)
        if person_of is not None:
            person = s.scalar(select(User.person_id).where(User.username == person_of))
            account = s.scalar(
                select(PlatformAccount).where(PlatformAccount.person_id == person).order_by(PlatformAccount.id).limit(1)
            )
            case.person_id, case.platform_account_id, case.platform_id = person, account.id, account.platform_id
        _confirm(s, case, accepted + dt.timedelta(days=1))
        if kind == "injury" and appraised:
            _conclude(s, case, grade, self_care, accepted + dt.timedelta(days=60))
    return cid


def open_det(client, cid: int, user: str = "qx_si", **body) -> dict:
    r = client.post(f"/api/v1/cases/{cid}/determinations", json=body, headers=bearer(user))
    assert r.status_code == 201, r.text
    return r.json()


def act(client, det: dict, step: str, user: str, **body):
    body.setdefault("version_lock", det["version_lock"])
    return client.post(f"/api/v1/determinations/{det['id']}/{step}", json=body, headers=bearer(user))


def get_det(client, det_id: int, user: str = "qx_si") -> dict:
    r = client.get(f"/api/v1/determinations/{det_id}", headers=bearer(user))
    assert r.status_code == 200, r.text
    return r.json()


def payables_of(case_id: int) -> list[tuple[str, int, str, str]]:
    """(item, amount_fen, status, key) of the case's payables, in order of creation."""
    from oip.benefits.models import Payable
    from oip.core.db import session_scope

    with session_scope() as s:
        return [
            (p.item, p.amount_fen, p.status, p.key)
            for p in s.scalars(select(Payable).where(Payable.case_id == case_id).order_by(Payable.id))
        ]
