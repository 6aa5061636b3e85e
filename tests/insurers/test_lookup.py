"""``contracted_insurer``: who serves a city for a service on a day — at the edges of a period, after
a termination, and in the demo's register (every city covered for investigation)."""

from __future__ import annotations

import datetime as dt

from oip.core import clock
from oip.insurers import service
from oip.insurers.service import contracted_insurer
from tests.insurers.conftest import fresh_year, principal

D = dt.date


def test_the_edges_of_a_period_and_a_termination(db):
    y = fresh_year()
    officer = principal(db, "gx_si")
    c = service.create(
        db,
        officer,
        insurer_code="insurer-b",
        document_no=f"查找测试〔{y}〕1号",
        services=["payment_support"],
        cities=["451200"],
        valid_from=D(y, 3, 1),
        valid_to=D(y, 5, 31),
    )
    assert contracted_insurer(db, "451200", "payment_support", D(y, 2, 28)) is None
    assert contracted_insurer(db, "451200", "payment_support", D(y, 3, 1)).id == c.id
    assert contracted_insurer(db, "451200", "payment_support", D(y, 5, 31)).id == c.id
    assert contracted_insurer(db, "451200", "payment_support", D(y, 6, 1)) is None
    assert contracted_insurer(db, "451200", "investigation", D(y, 4, 1)) is None  # another service
    assert contracted_insurer(db, "451300", "payment_support", D(y, 4, 1)) is None  # another city
    service.terminate(db, officer, c.id, terminated_on=D(y, 4, 15), reason="测试")
    assert contracted_insurer(db, "451200", "payment_support", D(y, 4, 14)).id == c.id
    assert contracted_insurer(db, "451200", "payment_support", D(y, 4, 15)) is None


def test_the_demo_covers_every_city_for_investigation(db):
    cities = [r.code for r in service.guangxi_cities(db)]
    assert len(cities) == 14
    today = clock.today()
    insurers = {c: contracted_insurer(db, c, "investigation", today).organisation.code for c in cities}
    assert set(insurers.values()) == {"insurer-a", "insurer-b"}
    assert insurers["450100"] == "insurer-a" and insurers["450200"] == "insurer-b"
    # The pilot's contracts began on 2025-07-01; the day before, the terminated earlier contract served.
    assert contracted_insurer(db, "450100", "investigation", D(2025, 7, 1)).organisation.code == "insurer-a"
    before = contracted_insurer(db, "450100", "investigation", D(2025, 6, 30))
    assert before.organisation.code == "insurer-b" and before.status == "terminated"
    assert contracted_insurer(db, "450300", "investigation", D(2025, 6, 30)) is None
