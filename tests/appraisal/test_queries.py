"""The committees' worklist: its number of SQL queries does not grow with the rows it shows (no N+1)."""

from __future__ import annotations

from tests.appraisal.conftest import confirmed_case, days_from_today
from tests.conftest import bearer
from tests.workers.test_queries import counted


def test_worklist_queries_do_not_grow_with_rows(client, as_user):
    h = bearer("nn_hrss")
    for _ in range(3):  # a few more appraisals, one concluded
        cid = confirmed_case()
        a = client.post(f"/api/v1/cases/{cid}/appraisals", json={"treatment_ended_on": days_from_today(-4)}, headers=h)
        aid = a.json()["id"]
    client.post(f"/api/v1/appraisals/{aid}/acceptance", json={"needed_specialties": ["ent"]}, headers=h)
    client.post(f"/api/v1/appraisals/{aid}/panel", json={}, headers=h)
    r = client.post(f"/api/v1/appraisals/{aid}/conclusion", json={"grade": 10, "dependency": "none"}, headers=h)
    assert r.status_code == 200, r.text
    client.get("/api/v1/appraisals", headers=h)  # warm-up
    counts = {}
    for bucket in ("concluded", "open", None):
        with counted() as statements:
            r = client.get("/api/v1/appraisals", params={"bucket": bucket} if bucket else {}, headers=h)
        assert r.status_code == 200 and r.json()["items"], bucket
        counts[bucket] = (len(statements), len(r.json()["items"]))
    assert len({n for n, _ in counts.values()}) == 1, counts
    as_user("nn_hrss")
    client.get("/appraisals")
    with counted() as few:
        client.get("/appraisals", params={"bucket": "concluded"})
    with counted() as many:
        client.get("/appraisals")
    assert len(few) == len(many)
