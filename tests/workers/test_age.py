"""Minimum working age (劳动法 art. 15): under 16 on the registration date is refused, 16 and 17 are
accepted with a warning — the same through the single API, the JSON batch and the CSV upload.

Every birth date is computed from the registration date, which is computed from today."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from oip.core import clock
from oip.workers.models import PlatformAccount
from tests.conftest import bearer
from tests.workers.conftest import csv_bytes, new_id, record


@pytest.fixture(scope="module")
def meituan():
    return bearer("meituan-api")


def years_before(day: dt.date, years: int) -> dt.date:
    """The same calendar day ``years`` earlier (29 February → 28 February in a common year)."""
    try:
        return day.replace(year=day.year - years)
    except ValueError:
        return day.replace(year=day.year - years, day=28)


def _registered_on() -> dt.date:
    day = clock.today() - dt.timedelta(days=40)
    return day - dt.timedelta(days=1) if (day.month, day.day) == (2, 29) else day


def _born(years: int, days: int = 0) -> tuple[dt.date, dt.date]:
    """(registration date, a birth date exactly ``years`` years and ``days`` days before it)."""
    reg = _registered_on()
    return reg, years_before(reg, years) - dt.timedelta(days=days)


def _record(born: dt.date, reg: dt.date) -> dict:
    return record(id_number=new_id(born=born), registered_on=reg.isoformat())


def _stored(db, account: str) -> PlatformAccount | None:
    db.expire_all()
    return db.scalar(select(PlatformAccount).where(PlatformAccount.account_id == account))


def test_a_child_is_refused_in_the_single_api(client, meituan, db):
    reg, born = _born(9)
    r = _record(born, reg)
    res = client.post("/api/v1/workers", json=r, headers=meituan)
    assert res.status_code == 422, res.text
    [err] = res.json()["errors"]
    assert err["field"] == "id_number"
    assert "未满 16 周岁" in err["reason"] and born.isoformat() in err["reason"] and reg.isoformat() in err["reason"]
    assert "劳动法" in err["reason"]
    assert _stored(db, r["platform_account_id"]) is None


def test_the_day_before_the_16th_birthday_is_refused_and_the_birthday_itself_accepted(client, meituan, db):
    reg, born = _born(16)
    day_before = client.post("/api/v1/workers", json=_record(born + dt.timedelta(days=1), reg), headers=meituan)
    assert day_before.status_code == 422
    assert "未满 16 周岁（15 周岁）" in day_before.json()["errors"][0]["reason"]

    on_birthday = client.post("/api/v1/workers", json=_record(born, reg), headers=meituan)
    assert on_birthday.status_code == 201, on_birthday.text
    [warning] = on_birthday.json()["warnings"]
    assert "年满 16 周岁" in warning and "未成年工" in warning


def test_seventeen_is_accepted_with_a_warning_and_eighteen_without(client, meituan):
    reg, born17 = _born(18, days=-1)  # one day short of 18
    res = client.post("/api/v1/workers", json=_record(born17, reg), headers=meituan)
    assert res.status_code == 201 and any("年满 17 周岁" in w for w in res.json()["warnings"])
    reg, born18 = _born(18)
    res = client.post("/api/v1/workers", json=_record(born18, reg), headers=meituan)
    assert res.status_code == 201 and res.json()["warnings"] == []


def test_age_is_judged_on_the_registration_date_not_today(client, meituan):
    """Someone who registered at 15 is refused even though they are 16 by now."""
    today = clock.today()
    born = years_before(today - dt.timedelta(days=10), 16)  # turned 16 ten days ago
    reg = today - dt.timedelta(days=30)
    assert reg < today
    res = client.post("/api/v1/workers", json=_record(born, reg), headers=meituan)
    assert res.status_code == 422 and "未满 16 周岁" in res.json()["errors"][0]["reason"]


def test_batch_api_refuses_the_minor_and_keeps_the_rest(client, meituan, db):
    reg, child = _born(15)
    _, teen = _born(16, days=100)
    rows = [record(), _record(child, reg), _record(teen, reg)]
    body = client.post("/api/v1/workers/batch", json=rows, headers=meituan).json()
    assert (body["received"], body["accepted"], body["rejected"]) == (3, 2, 1)
    assert [r["status"] for r in body["results"]] == ["created", "rejected", "created"]
    assert body["results"][1]["reasons"][0]["field"] == "id_number"
    assert "未满 16 周岁" in body["results"][1]["reasons"][0]["reason"]
    assert any("未成年工" in w for w in body["results"][2]["warnings"])
    assert _stored(db, rows[1]["platform_account_id"]) is None


def test_csv_upload_refuses_the_minor(client, meituan, db):
    reg, child = _born(14)
    _, teen = _born(17)
    rows = [_record(child, reg), record(), _record(teen, reg)]
    res = client.post(
        "/api/v1/workers/upload", files={"file": ("w.csv", csv_bytes(rows, header="cn"), "text/csv")}, headers=meituan
    )
    assert res.status_code == 200, res.text
    body = res.json()
    assert (body["accepted"], body["rejected"]) == (2, 1)
    first = body["results"][0]
    assert first["row"] == 2 and first["status"] == "rejected"
    assert first["reasons"][0]["field"] == "id_number" and "未满 16 周岁" in first["reasons"][0]["reason"]
    assert any("年满 17 周岁" in w for w in body["results"][2]["warnings"])
    assert _stored(db, rows[0]["platform_account_id"]) is None
