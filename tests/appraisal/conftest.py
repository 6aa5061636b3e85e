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
