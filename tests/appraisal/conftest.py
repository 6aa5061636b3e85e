"""Helpers for the appraisal tests: experts with unique names through the API."""

from __future__ import annotations

import random
from uuid import uuid4

from sqlalchemy import select

from tests.conftest import bearer

_rng = random.Random()


def unique_name() -> str:
    return f"测{uuid4().hex[:6]}"


def new_expert(client, user: str = "nn_hrss", **fields) -> dict:
    body = {
        "name": unique_name(),
        "specialty_code": "orthopaedics",
        "organisation": "南宁市第一人民医院",
        "title": "主任医师",
        **fields,
    }
    r = client.post("/api/v1/appraisal/experts", json=body, headers=bearer(user))
    assert r.status_code == 201, r.text
    return r.json()


def new_id_number() -> str:
    import datetime as dt

    from oip.demo.synthetic import synthetic_id

    return synthetic_id(_rng, "450103", dt.date(1988, 3, 9))


def audit_actions(entity_type: str, entity_id) -> list[str]:
    from oip.core.audit_models import AuditEvent
    from oip.core.db import session_scope

    with session_scope() as s:
        return list(
            s.scalars(
                select(AuditEvent.action)
                .where(AuditEvent.entity_type == entity_type, AuditEvent.entity_id == str(entity_id))
                .order_by(AuditEvent.seq)
            )
        )


def confirmed_case(*, county: str = "450103", platform: str = "meituan", days_ago: int = 120) -> int:
    """A case injured ``days_ago`` days ago in ``county``, accepted five days later and confirmed the
    day after (through the case core, as the system actor). Returns its id."""
    import datetime as dt

    from oip.cases import service
    from oip.cases.models import Case
    from oip.core import audit, clock
    from oip.core.db import session_scope
    from tests.cases.conftest import make_case

    occurred = clock.now() - dt.timedelta(days=days_ago)
    accepted = clock.local(occurred).date() + dt.timedelta(days=5)
    cid = make_case(platform=platform, county=county, occurred_at=occurred, to="accepted", accepted_on=accepted)
    with session_scope() as s:
        case = s.get(Case, cid)
        service.transition(s, audit.SystemActor(label="test"), case, "confirm", on=accepted + dt.timedelta(days=1))
    return cid


def person_id_number(case_id: int) -> str:
    """The resident ID number of a case's person (decrypted, for a tie in a test)."""
    from oip.cases.models import Case
    from oip.core import crypto
    from oip.core.db import session_scope
    from oip.workers.models import Person
    from oip.workers.service import ID_CTX

    with session_scope() as s:
        person = s.get(Person, s.get(Case, case_id).person_id)
        return crypto.decrypt(person.id_enc, ID_CTX)


def days_from_today(n: int) -> str:
    import datetime as dt

    from oip.core import clock

    return (clock.today() + dt.timedelta(days=n)).isoformat()
