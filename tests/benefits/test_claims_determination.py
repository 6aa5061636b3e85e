"""A claim's determination (费用核定): drafted from the claim's bills (excluded bills shown, not paid)
and hospital days by the calculator, submitted by the maker, approved by somebody else; on approval
the claim is approved and its payables carry claim_id. A fast-lane claim's pay clock stops once paid."""

from __future__ import annotations

from sqlalchemy import select

from tests.benefits.claims_support import bill, confirmed_case, pending_case, timeline
from tests.conftest import bearer

SI, CHECK = "nn_si", "nn_si_check"


def _claim(client, cid, bills, **body):
    r = client.post(f"/api/v1/cases/{cid}/claims", json={"bills": bills, **body}, headers=bearer(SI))
    assert r.status_code == 201, r.text
    return r.json()["claim"]


def test_draft_submit_approve_owes_the_claim_with_claim_id(client):
    cid = confirmed_case()
    c = _claim(client, cid, [bill("1200.00"), bill("300.50", kind="rehab"), bill("99.99")], hospital_days=2)
    excluded = c["bills"][2]
    r = client.post(
        f"/api/v1/claims/{c['id']}/bills/{excluded['id']}/catalogue",
        json={"in_catalogue": False, "reason": "自费项目"},
        headers=bearer(SI),
    )
    assert r.status_code == 200
    r = client.post(f"/api/v1/claims/{c['id']}/determination", json={}, headers=bearer(SI))
    assert r.status_code == 201, r.text
    claim = r.json()
    assert claim["status"] == "checked" and claim["determination"]["status"] == "draft"
    det_id = claim["determination"]["id"]
    det = client.get(f"/api/v1/determinations/{det_id}", headers=bearer(SI)).json()
    items = {line["item"]: line for line in det["lines"]}
    assert set(items) == {"medical", "meal_subsidy"}
    assert items["medical"]["amount_fen"] == 150050  # 1,200.00 + 300.50; the 99.99 excluded
    assert det["purpose"] == "claim"
    # the bills are fixed while the determination is being made
    r = client.post(
        f"/api/v1/claims/{c['id']}/bills/{excluded['id']}/catalogue", json={"in_catalogue": True}, headers=bearer(SI)
    )
    assert r.status_code == 409 and "请先作废该核定" in r.json()["error"]["reason"]

    lock = det["version_lock"]
    r = client.post(f"/api/v1/determinations/{det_id}/submit", json={"version_lock": lock}, headers=bearer(SI))
    assert r.status_code == 200, r.text
    lock = r.json()["version_lock"]
    # maker-checker: the maker cannot approve
    assert (
        client.post(
            f"/api/v1/determinations/{det_id}/approve", json={"version_lock": lock}, headers=bearer(SI)
        ).status_code
        == 403
    )
    r = client.post(f"/api/v1/determinations/{det_id}/approve", json={"version_lock": lock}, headers=bearer(CHECK))
    assert r.status_code == 200, r.text

    after = client.get(f"/api/v1/claims/{c['id']}", headers=bearer(SI)).json()
    assert after["status"] == "approved" and after["determination"]["status"] == "approved"
    from oip.benefits.models import Payable
    from oip.core.db import session_scope

    with session_scope() as s:
        rows = s.execute(select(Payable.item, Payable.amount_fen, Payable.claim_id).where(Payable.case_id == cid)).all()
    assert {(item, claim_id) for item, _, claim_id in rows} == {("medical", c["id"]), ("meal_subsidy", c["id"])}
    assert dict((item, fen) for item, fen, _ in rows)["medical"] == 150050
    assert after["payables"] == 2 and after["paid"] == 0
    assert "claim_approved" in timeline(cid)
    # an approved claim takes no more bills
    r = client.post(f"/api/v1/claims/{c['id']}/bills", json={"bills": [bill()]}, headers=bearer(SI))
    assert r.status_code == 409


def test_a_fast_lane_claim_is_determined_only_after_the_confirmation(client):
    cid = pending_case()
    c = _claim(client, cid, [bill("200.00")])
    assert c["fast_lane"] is True
    r = client.post(f"/api/v1/claims/{c['id']}/determination", json={}, headers=bearer(SI))
    assert (
        r.status_code == 409
        and "小伤快赔" in r.json()["error"]["reason"]
        and c["confirm_due"] in r.json()["error"]["reason"]
    )


def test_the_pay_clock_of_a_fast_lane_claim_stops_when_its_payables_are_paid(client):
    from oip.benefits import payables
    from oip.benefits.models import Payable
    from oip.core import clock
    from oip.core.db import session_scope

    cid = confirmed_case()
    c = _claim(client, cid, [bill("480.00")])
    assert c["fast_lane"] is True and c["pay_clock"]["done"] is False
    det_id = client.post(f"/api/v1/claims/{c['id']}/determination", json={}, headers=bearer(SI)).json()[
        "determination"
    ]["id"]
    lock = client.post(f"/api/v1/determinations/{det_id}/submit", json={}, headers=bearer(SI)).json()["version_lock"]
    assert (
        client.post(
            f"/api/v1/determinations/{det_id}/approve", json={"version_lock": lock}, headers=bearer(CHECK)
        ).status_code
        == 200
    )
    assert client.get(f"/api/v1/claims/{c['id']}", headers=bearer(SI)).json()["pay_clock"]["done"] is False
    with session_scope() as s:
        for p in s.scalars(select(Payable).where(Payable.claim_id == c["id"])):
            payables.batch(p)
            payables.paid(p, clock.today())
    after = client.get(f"/api/v1/claims/{c['id']}", headers=bearer(SI)).json()
    assert after["paid"] == after["payables"] == 1 and after["pay_clock"]["done"] is True
    assert after["pay_clock"]["label"] == "已办结" and after["confirm_clock"]["done"] is True


def test_the_claims_list_queries_do_not_grow_with_rows(client):
    from tests.workers.test_queries import counted

    h = bearer(SI)
    made = [_claim(client, confirmed_case(), [bill("10.00"), bill("20.00")]) for _ in range(3)]
    r = client.post(f"/api/v1/claims/{made[0]['id']}/rejection", json={"reason": "重复申报"}, headers=h)
    assert r.status_code == 200 and r.json()["status"] == "rejected"
    client.get("/api/v1/claims", headers=h)  # warm-up
    counts = []
    for size_params in ({"status": "rejected"}, {}):
        with counted() as statements:
            r = client.get("/api/v1/claims", params=size_params, headers=h)
        assert r.status_code == 200
        counts.append((len(statements), r.json()["total"]))
    assert counts[0][1] >= 1 and counts[1][1] >= 3
    assert counts[0][0] == counts[1][0], counts


def test_a_hospital_stay_after_a_paid_fast_lane_claim_leaves_the_lane_on_the_new_claim(client):
    cid = confirmed_case()
    first = _claim(client, cid, [bill("260.00")])
    assert first["fast_lane"] is True
    det_id = client.post(f"/api/v1/claims/{first['id']}/determination", json={}, headers=bearer(SI)).json()[
        "determination"
    ]["id"]
    lock = client.post(f"/api/v1/determinations/{det_id}/submit", json={}, headers=bearer(SI)).json()["version_lock"]
    r = client.post(f"/api/v1/determinations/{det_id}/approve", json={"version_lock": lock}, headers=bearer(CHECK))
    assert r.status_code == 200
    second = _claim(client, cid, [bill("900.00", inpatient=True)], hospital_days=4)
    assert second["fast_lane"] is False and "住院 4 天" in second["fast_lane_left_reason"]
    kept = client.get(f"/api/v1/claims/{first['id']}", headers=bearer(SI)).json()
    assert kept["fast_lane"] is True and kept["status"] == "approved" and kept["fast_lane_left_reason"] is None
    # a case never on the fast lane: a hospital claim simply takes the normal path
    other = _claim(client, confirmed_case(), [bill("900.00", inpatient=True)], hospital_days=4)
    assert other["fast_lane"] is False and other["fast_lane_left_reason"] is None
