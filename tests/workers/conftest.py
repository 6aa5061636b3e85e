"""Helpers for the register-of-workers tests: fresh synthetic people that no other test uses.

The demo province is shared by the whole test session, so tests that write create their own
workers (random account ids, synthetic ID numbers with valid check digits) and never assert global
counts."""

from __future__ import annotations

import datetime as dt
import random
import re
import secrets

import pytest

from oip.demo.synthetic import synthetic_id

_rng = random.Random(secrets.randbits(64))
_SURNAMES = "韦黄覃陆莫蒙梁农李张王陈刘杨赵周吴"
_GIVEN = "小明 海燕 志强 秀英 建华 丽萍 国庆 春梅 永福 桂芳 文斌 玉兰".split()


def new_id(area: str = "450103", born: dt.date | None = None, last: str | None = None) -> str:
    """A fresh 18-digit resident ID number (optionally one whose check digit is ``last``)."""
    while True:
        b = born or dt.date(1984, 1, 1) + dt.timedelta(days=_rng.randrange(0, 365 * 20))  # 450103 exists since 1983
        number = synthetic_id(_rng, area, b)
        if last is None or number.endswith(last):
            return number


def new_phone() -> str:
    return _rng.choice(["135", "150", "177", "186", "199"]) + f"{_rng.randrange(0, 10**8):08d}"


def new_account(prefix: str = "T") -> str:
    return f"{prefix}{secrets.token_hex(6).upper()}"


def new_name() -> str:
    return _rng.choice(_SURNAMES) + _rng.choice(_GIVEN)


def record(**overrides) -> dict:
    r = {
        "platform_account_id": new_account(),
        "name": new_name(),
        "id_number": new_id(),
        "phone": new_phone(),
        "county_code": "450103",
        "registered_on": "2025-08-01",
    }
    r.update(overrides)
    return r


def csv_bytes(rows: list[dict], header: str = "en", encoding: str = "utf-8") -> bytes:
    fields = ["platform_account_id", "name", "id_number", "phone", "county_code", "registered_on"]
    head = fields if header == "en" else ["平台账号", "姓名", "身份证号码", "手机号码", "接单地区划代码", "注册日期"]
    lines = [",".join(head)] + [",".join(str(r.get(f, "")) for f in fields) for r in rows]
    return ("\r\n".join(lines) + "\r\n").encode(encoding)


MASKED_ID = re.compile(r"^\d{4}\*{10}[\dX]{4}$")
MASKED_PHONE = re.compile(r"^1\d{2}\*{4}\d{4}$")


@pytest.fixture
def client_at(app):
    """A client coming from its own IP address (the public check throttles by address)."""
    from fastapi.testclient import TestClient

    opened = []

    def _make(ip: str | None = None):
        c = TestClient(
            app, client=(ip or f"10.{_rng.randrange(256)}.{_rng.randrange(256)}.{_rng.randrange(1, 255)}", 50000)
        )
        c.__enter__()
        opened.append(c)
        return c

    yield _make
    for c in opened:
        c.__exit__(None, None, None)


def person_id_of(id_number: str) -> int:
    """The person id behind an ID number (platforms are not told person ids: oip.workers.scope)."""
    from sqlalchemy import select

    from oip.core import crypto
    from oip.core.db import session_scope
    from oip.workers.models import Person
    from oip.workers.service import ID_CTX

    with session_scope() as s:
        return s.scalar(select(Person.id).where(Person.id_bidx == crypto.blind_index(id_number, ID_CTX)))
