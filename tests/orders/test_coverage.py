"""Coverage worked examples: inside a window, at its very ends, between orders (nearest before and
after), a cancelled order, an order across midnight, a person on two platforms, a platform not
covered on the date, and the command line."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys

import pytest

from oip.core.db import session_scope
from oip.core.errors import DomainError, NotFound
from oip.orders import coverage
from tests.orders.conftest import import_rows, order, register_workers
from tests.workers.conftest import new_id, new_name

SH = dt.timezone(dt.timedelta(hours=8))


def at(s: str) -> dt.datetime:
    return dt.datetime.fromisoformat(s).replace(tzinfo=SH)


@pytest.fixture(scope="module")
def worker(database, tmp_path_factory):
    """One person on meituan and didi with a day of orders each (2025-11-10 … 2025-11-14)."""
    number, name = new_id(), new_name()
    ((m, person),) = register_workers("meituan", 1, id_numbers=[number], names=[name])
    ((d, person2),) = register_workers("didi", 1, id_numbers=[number], names=[name])
    assert person == person2
    tmp = tmp_path_factory.mktemp("cov")
    o1 = order(m, day="2025-11-10", start="09:00", minutes=30)
    o2 = order(m, day="2025-11-10", start="10:00", minutes=45, status="cancelled", picked_up_at="")
    o3 = order(m, day="2025-11-10", start="23:40", minutes=40)
    o4 = order(m, day="2025-11-14", start="08:00", minutes=20)
    import_rows(tmp, [o1, o2, o3, o4])
    r1 = order(d, "didi", day="2025-11-12", start="15:00", minutes=25)
    import_rows(tmp, [r1], platform="didi")
    return {
        "person": person,
        "number": number,
        "meituan": m,
        "didi": d,
        "o1": o1,
        "o2": o2,
        "o3": o3,
        "o4": o4,
        "r1": r1,
    }


def ask(when: str, **kw):
    with session_scope() as s:
        return coverage.covered_at(s, at=at(when), **kw)


def by_account(w, when):
    return ask(when, platform_code="meituan", account_id=w["meituan"])


def test_inside_an_order(worker):
    r = by_account(worker, "2025-11-10T09:15:00")
    assert r.covered and r.order_id == worker["o1"]["order_id"] and r.platform_code == "meituan"
    assert r.nearest_before is None and r.nearest_after.order_id == worker["o2"]["order_id"]


def test_at_exactly_accepted_at_and_finished_at(worker):
    assert by_account(worker, "2025-11-10T09:00:00").order_id == worker["o1"]["order_id"]
    assert by_account(worker, "2025-11-10T09:30:00").order_id == worker["o1"]["order_id"]
    assert not by_account(worker, "2025-11-10T08:59:59").covered
    assert not by_account(worker, "2025-11-10T09:30:01").covered


def test_between_orders_not_covered_with_nearest_before_and_after(worker):
    r = by_account(worker, "2025-11-10T09:45:00")
    assert not r.covered and r.order_id is None
    assert r.nearest_before.order_id == worker["o1"]["order_id"]
    assert r.nearest_after.order_id == worker["o2"]["order_id"]
    d = r.as_dict()
    assert d["covered"] is False and d["nearest_before"]["finished_at"] == "2025-11-10T09:30:00+08:00"


def test_a_cancelled_order_still_covers_its_window(worker):
    r = by_account(worker, "2025-11-10T10:20:00")
    assert r.covered and r.order_id == worker["o2"]["order_id"] and r.order.status == "cancelled"


def test_an_order_across_midnight(worker):
    r = by_account(worker, "2025-11-11T00:10:00")
    assert r.covered and r.order_id == worker["o3"]["order_id"]


def test_days_without_orders_answer_with_the_nearest_days(worker):
    r = by_account(worker, "2025-11-12T12:00:00")
    assert not r.covered
    assert r.nearest_before.order_id == worker["o3"]["order_id"]
    assert r.nearest_after.order_id == worker["o4"]["order_id"]


def test_an_order_across_the_end_of_a_month_with_days_apart(tmp_path):
    """T on the first of a month, covered by an order of the last day of the month before; the
    nearest orders days apart in either month (three separate runs of days read at once)."""
    ((a, _),) = register_workers("meituan", 1)
    early = order(a, day="2025-09-20", start="12:00", minutes=30)
    late = order(a, day="2025-09-30", start="23:50", minutes=30)
    later = order(a, day="2025-10-05", start="08:00", minutes=20)
    import_rows(tmp_path, [early, late, later])
    r = ask("2025-10-01T00:10:00", platform_code="meituan", account_id=a)
    assert r.covered and r.order_id == late["order_id"]
    assert r.nearest_before.order_id == early["order_id"] and r.nearest_after.order_id == later["order_id"]
    r = ask("2025-10-03T12:00:00", platform_code="meituan", account_id=a)
    assert not r.covered and r.covering == []
    assert r.nearest_before.order_id == late["order_id"] and r.nearest_after.order_id == later["order_id"]


def test_by_person_across_two_platforms(worker):
    r = ask("2025-11-12T15:10:00", person_id=worker["person"])
    assert r.covered and r.platform_code == "didi" and r.order_id == worker["r1"]["order_id"]
    assert sorted(r.accounts) == [("didi", worker["didi"]), ("meituan", worker["meituan"])]
    # The meituan account alone was not working then.
    only = by_account(worker, "2025-11-12T15:10:00")
    assert not only.covered and only.nearest_after.order_id == worker["o4"]["order_id"]
    # Across platforms the nearest orders come from either.
    r = ask("2025-11-12T12:00:00", person_id=worker["person"])
    assert r.nearest_after.order_id == worker["r1"]["order_id"]


def test_before_any_order_and_before_coverage_started(worker):
    r = ask("2025-06-30T12:00:00", person_id=worker["person"])
    assert not r.covered and r.nearest_before is None and r.nearest_after.order_id == worker["o1"]["order_id"]


def test_an_order_on_a_day_the_platform_was_not_covered(worker):
    """Coverage is decided on the date of the order: if a platform's start date is moved later,
    its earlier orders no longer cover (the reason says so)."""
    from sqlalchemy import select

    from oip.platforms.models import Platform

    with session_scope() as s:
        plat = s.scalar(select(Platform).where(Platform.code == "meituan"))
        original = plat.covered_from
        plat.covered_from = dt.date(2025, 11, 11)
    try:
        r = by_account(worker, "2025-11-10T09:15:00")
        assert not r.covered and r.covering[0].order_id == worker["o1"]["order_id"]
        assert "不在职业伤害保障范围内" in r.reason
        assert by_account(worker, "2025-11-14T08:10:00").covered
    finally:
        with session_scope() as s:
            s.scalar(select(Platform).where(Platform.code == "meituan")).covered_from = original


def test_unknown_account_and_bad_time(worker):
    with pytest.raises(NotFound):
        ask("2025-11-10T09:15:00", platform_code="meituan", account_id="NOBODY")
    with pytest.raises(DomainError):
        coverage.parse_at("2025-11-10T09:15:00")
    assert coverage.parse_at("2025-11-10T01:15:00Z") == at("2025-11-10T09:15:00")


def test_api_coverage_with_scope(client, worker):
    from tests.conftest import bearer

    q = {"at": "2025-11-10T09:15:00+08:00", "platform_code": "meituan", "account_id": worker["meituan"]}
    r = client.get("/api/v1/coverage", params=q, headers=bearer("nn_si"))
    assert r.status_code == 200 and r.json()["covered"] is True and r.json()["order_id"] == worker["o1"]["order_id"]
    assert client.get("/api/v1/coverage", params=q, headers=bearer("gl_si")).status_code == 404  # Guilin: not theirs
    assert client.get("/api/v1/coverage", params=q, headers=bearer("meituan_admin")).status_code == 403
    r = client.get(
        "/api/v1/coverage",
        params={"at": "2025-11-12T15:10:00+08:00", "person_id": worker["person"]},
        headers=bearer("gx_si"),
    )
    assert r.json()["platform_code"] == "didi"
    assert (
        client.get(
            "/api/v1/coverage",
            params={"at": "2025-11-12T15:10:00", "person_id": worker["person"]},
            headers=bearer("gx_si"),
        ).status_code
        == 400
    )


def test_cli_coverage_prints_json(worker):
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "oip.cli",
            "coverage",
            "--platform",
            "meituan",
            "--account",
            worker["meituan"],
            "--at",
            "2025-11-10T09:45:00+08:00",
        ],
        env=dict(os.environ),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout.strip().splitlines()[-1])
    assert {"covered", "order_id", "platform_code", "nearest_before", "nearest_after"} <= set(data)
    assert data["covered"] is False and data["nearest_before"]["order_id"] == worker["o1"]["order_id"]


def test_random_moments_match_a_scan_of_every_order(tmp_path):
    """A person on two platforms with orders on scattered days, several batches and a correction:
    for 300 random moments, the answer (covered, covering order, nearest before and after) equals
    the one found by going through every current order of the person."""
    import random

    rng = random.Random(20251120)
    number, name = new_id(), new_name()
    ((m, person),) = register_workers("meituan", 1, id_numbers=[number], names=[name])
    ((d, _),) = register_workers("didi", 1, id_numbers=[number], names=[name])
    rows = {"meituan": [], "didi": []}
    for code, acct in (("meituan", m), ("didi", d)):
        for day in rng.sample(range(1, 28), 9):
            for _ in range(rng.randint(1, 6)):
                start = f"{rng.randint(6, 23):02d}:{rng.randint(0, 59):02d}"
                rows[code].append(
                    order(acct, code, day=f"2025-11-{day:02d}", start=start, minutes=rng.choice([6, 15, 40, 90, 200]))
                )
    for code in rows:
        half = len(rows[code]) // 2
        for part in (rows[code][:half], rows[code][half:]):
            assert import_rows(tmp_path, part, platform=code).rejected == 0
    fixed = dict(rows["meituan"][0], picked_up_at="", finished_at=rows["meituan"][0]["accepted_at"])  # a correction
    assert import_rows(tmp_path, [fixed]).corrections == 1
    rows["meituan"][0] = fixed
    every = [
        (dt.datetime.fromisoformat(r["accepted_at"]), dt.datetime.fromisoformat(r["finished_at"]), r["order_id"])
        for code in rows
        for r in rows[code]
    ]
    for _ in range(300):
        t = dt.datetime(2025, 10, 31, tzinfo=SH) + dt.timedelta(minutes=rng.randint(0, 30 * 24 * 60))
        with session_scope() as s:
            res = coverage.covered_at(s, at=t, person_id=person)
        covering = sorted((a, o) for a, f, o in every if a <= t <= f)
        before = max(((f, o) for a, f, o in every if f < t), default=None)
        after = min(((a, o) for a, f, o in every if a > t), default=None)
        assert res.covered == bool(covering), t
        assert (res.order.order_id if res.order else None) == (covering[0][1] if covering else None), t
        assert (res.nearest_before.order_id if res.nearest_before else None) == (before[1] if before else None), t
        assert (res.nearest_after.order_id if res.nearest_after else None) == (after[1] if after else None), t


def test_api_coverage_by_id_number_in_the_body_is_audited(client, worker):
    """POST /coverage finds the person by ID number through the blind index (never in a URL), answers
    like GET with person_id, and leaves a worker.find event; outside the scope it is a 404."""
    from sqlalchemy import func, select

    from oip.core.audit_models import AuditEvent
    from tests.conftest import bearer

    def events():
        with session_scope() as s:
            return s.scalar(
                select(func.count())
                .select_from(AuditEvent)
                .where(AuditEvent.action == "worker.find", AuditEvent.entity_id == str(worker["person"]))
            )

    n = events()
    body = {"at": "2025-11-12T15:10:00+08:00", "id_number": worker["number"]}
    r = client.post("/api/v1/coverage", json=body, headers=bearer("gx_si"))
    assert r.status_code == 200, r.text
    assert r.json()["covered"] is True and r.json()["order_id"] == worker["r1"]["order_id"]
    assert events() == n + 1
    assert client.post("/api/v1/coverage", json=body, headers=bearer("gl_si")).status_code == 404
    assert client.post("/api/v1/coverage", json=body, headers=bearer("meituan_admin")).status_code == 403
    r = client.post("/api/v1/coverage", json={"at": body["at"], "id_number": "12345"}, headers=bearer("gx_si"))
    assert r.status_code == 400 and r.json()["error"]["field"] == "id_number"
    # Without a person or account, as in GET.
    r = client.post("/api/v1/coverage", json={"at": body["at"]}, headers=bearer("gx_si"))
    assert r.status_code == 400
    assert events() == n + 1


def test_a_person_look_up_answers_only_with_the_accounts_in_scope_and_is_audited(client, tmp_path):
    """One person on meituan in Nanning and on didi in Liuzhou: a Nanning officer asking for the person
    is not told of the Liuzhou account's orders (asking for that account answers 404 too), whether by
    person ID, by ID number or on the page; every look-up is audited with the person as subject."""
    from sqlalchemy import select

    from oip.core.audit_models import AuditEvent
    from tests.conftest import bearer, sign_in

    number, name = new_id(), new_name()
    ((m, person),) = register_workers("meituan", 1, id_numbers=[number], names=[name])
    ((d, _),) = register_workers("didi", 1, id_numbers=[number], names=[name], county="450202")
    nanning = order(m, day="2026-04-08", start="09:00", minutes=30)
    liuzhou = order(d, "didi", day="2026-04-08", start="15:00", minutes=25, county_code="450202")
    import_rows(tmp_path, [nanning])
    import_rows(tmp_path, [liuzhou], platform="didi")
    when = "2026-04-08T15:10:00+08:00"
    nn = bearer("nn_si")

    by_account = {"at": when, "platform_code": "didi", "account_id": d}
    assert client.get("/api/v1/coverage", params=by_account, headers=nn).status_code == 404
    by_person = client.get(
        "/api/v1/coverage", params={"at": when, "person_id": person, "purpose": "工伤认定调查"}, headers=nn
    )
    assert by_person.status_code == 200
    assert (
        by_person.json()["covered"] is False and liuzhou["order_id"] not in by_person.text and d not in by_person.text
    )
    assert by_person.json()["nearest_before"]["order_id"] == nanning["order_id"]
    by_number = client.post("/api/v1/coverage", json={"at": when, "id_number": number}, headers=nn)
    assert by_number.status_code == 200 and liuzhou["order_id"] not in by_number.text
    # The province sees both.
    gx = client.get("/api/v1/coverage", params={"at": when, "person_id": person}, headers=bearer("gx_si"))
    assert gx.json()["order_id"] == liuzhou["order_id"]
    sign_in(client, "nn_si")
    page = client.get("/coverage", params={"at": "2026-04-08T15:10", "person_id": person})
    assert page.status_code == 200 and liuzhou["order_id"] not in page.text and nanning["order_id"] in page.text

    with session_scope() as s:
        events = s.scalars(
            select(AuditEvent)
            .where(AuditEvent.action == "coverage.lookup", AuditEvent.subjects.contains([person]))
            .order_by(AuditEvent.seq)
        ).all()
        assert len(events) == 4  # the 404 asked for nothing in scope: nothing was revealed
        assert events[0].purpose == "工伤认定调查" and events[0].actor.startswith("nn_si")
        assert all(e.purpose for e in events)
