"""Helpers for the platforms tests: unique codes and USCCs, and an applicant through the API."""

from __future__ import annotations

import datetime as dt
import random
from uuid import uuid4

import pytest

from tests.conftest import bearer

_rng = random.Random()


def new_code() -> str:
    return f"t{uuid4().hex[:8]}"


def new_uscc() -> str:
    from oip.demo.synthetic import synthetic_uscc

    return synthetic_uscc(_rng, "450100")


def today() -> dt.date:
    from oip.core import clock

    return clock.today()


def days(n: int) -> str:
    """An ISO date n days from today (negative: in the past)."""
    return (today() + dt.timedelta(days=n)).isoformat()


@pytest.fixture
def hrss():
    """Bearer headers of the regional HRSS officer (platform.write, admission.decide)."""
    return bearer("gx_hrss")


def application(**over) -> dict:
    body = {
        "code": new_code(),
        "name": f"测试平台{uuid4().hex[:4]}",
        "uscc": new_uscc(),
        "industry_code": "instant_delivery",
        "headquarters": "南宁市青秀区（测试）",
        "headquarters_region": "450103",
        "contact_name": "测试联系人",
        "contact_phone": "13800138000",
        "contact_email": "t@example.cn",
        "applied_on": days(-60),
        "comment": "书面申请（测试）",
    }
    body.update(over)
    return body


def new_platform_body(**over) -> dict:
    body = {
        "code": new_code(),
        "uscc": new_uscc(),
        "industry_code": "ride_hailing",
        "name": f"测试出行{uuid4().hex[:4]}",
        "base_yuan": "0.01",
        "covered_from": "2025-07-01",
        "basis": "人社部发〔2025〕24号",
    }
    body.update(over)
    return body


@pytest.fixture
def create_platform(client, hrss):
    """POST a register entry; returns its detail JSON."""

    def _create(**over) -> dict:
        r = client.post("/api/v1/platforms", json=new_platform_body(**over), headers=hrss)
        assert r.status_code == 201, r.text
        return r.json()

    return _create


@pytest.fixture
def run_admission(client, hrss):
    """Apply and take the given steps [(action, body), ...]; returns the admission JSON."""

    def _run(steps=(), **over) -> dict:
        r = client.post("/api/v1/admissions", json=application(**over), headers=hrss)
        assert r.status_code == 201, r.text
        adm = r.json()
        for action, body in steps:
            r = client.post(f"/api/v1/admissions/{adm['id']}/actions/{action}", json=body, headers=hrss)
            assert r.status_code == 200, (action, r.text)
            adm = r.json()
        return adm

    return _run


TO_CONSENTED = [
    ("assess", {"decision": "pass", "comment": "具备条件"}),
    ("report", {"comment": "桂人社函〔2026〕1号，2026-01-05"}),
    ("consent", {"decision": "consented", "comment": "同意"}),
]


def past_notice() -> list:
    """Steps to a notice period that is already over (from −20 to −10 days)."""
    return TO_CONSENTED + [("publish", {"notice_from": days(-20), "notice_to": days(-10)})]


def current_notice() -> list:
    return TO_CONSENTED + [("publish", {"notice_from": days(-2), "notice_to": days(5)})]
