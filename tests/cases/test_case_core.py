"""The case core through the API: one case with its deadlines and timeline, the list and its buckets,
and the data scope (county, city, region, platform, worker)."""

from __future__ import annotations

import datetime as dt

from oip.core import clock
from tests.cases.conftest import make_case
from tests.conftest import bearer


def test_an_accepted_case_shows_its_decision_due_on_the_official_calendar(client):
    cid = make_case(
        to="accepted", accepted_on=dt.date(2025, 9, 30), occurred_at=dt.datetime(2025, 9, 29, 10, tzinfo=clock.SHANGHAI)
    )
    r = client.get(f"/api/v1/cases/{cid}", headers=bearer("qx_hrss"))
    assert r.status_code == 200, r.text
    c = r.json()
    assert (c["state"], c["accepted_on"], c["decision_due"]) == ("accepted", "2025-09-30", "2025-11-18")
    assert c["jurisdiction"] == {"region_code": "450103", "name": "南宁市青秀区人力资源和社会保障局"}
    assert [e["action"] for e in c["timeline"]] == ["report", "apply", "accept"]
    assert c["clock"]["limit_working_days"] == 30


def test_a_simple_case_has_seven_working_days(client):
    cid = make_case(
        to="accepted",
        accepted_on=dt.date(2025, 9, 30),
        simple=True,
        occurred_at=dt.datetime(2025, 9, 29, 10, tzinfo=clock.SHANGHAI),
    )
    assert client.get(f"/api/v1/cases/{cid}", headers=bearer("gx_hrss")).json()["decision_due"] == "2025-10-16"


def test_scope_county_city_region_platform_worker(client):
    cid = make_case(county="450103", platform="meituan")
    for user, seen in [
        ("qx_hrss", True),
        ("nn_hrss", True),
        ("gx_hrss", True),
        ("lz_hrss", False),
        ("meituan_admin", True),
        ("didi_admin", False),
        ("insurer_a", False),
    ]:
        r = client.get(f"/api/v1/cases/{cid}", headers=bearer(user))
        assert r.status_code == (200 if seen else 404), (user, r.text)
    masked = client.get(f"/api/v1/cases/{cid}", headers=bearer("meituan_admin")).json()["worker_name"]
    assert "*" in masked


def test_the_list_and_its_overdue_bucket(client):
    cid = make_case(county="450202", to="applied", occurred_at=clock.now() - dt.timedelta(days=40))
    r = client.get("/api/v1/cases", params={"bucket": "overdue"}, headers=bearer("lz_hrss"))
    assert r.status_code == 200, r.text
    assert cid in [c["id"] for c in r.json()["items"]]
    assert all(c["county_code"].startswith("4502") for c in r.json()["items"])
    r = client.get("/api/v1/cases", params={"bucket": "nonsense"}, headers=bearer("lz_hrss"))
    assert r.status_code == 400


def test_case_pages_render(client, as_user):
    cid = make_case(county="450103", to="accepted")
    as_user("qx_hrss")
    r = client.get("/cases")
    assert r.status_code == 200 and "职业伤害案件" in r.text
    r = client.get(f"/cases/{cid}")
    assert r.status_code == 200 and "确认结论期限" in r.text and "办理记录" in r.text


def test_the_place_is_not_written_twice():
    from oip.cases.service import full_address

    assert full_address("南宁市青秀区", "民族大道 100 号") == "南宁市青秀区民族大道 100 号"
    assert full_address("南宁市青秀区", "南宁市青秀区民族大道 100 号") == "南宁市青秀区民族大道 100 号"
    assert full_address("南宁市青秀区", "青秀区民族大道 100 号") == "青秀区民族大道 100 号"
