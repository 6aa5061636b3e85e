"""Claims through the API: receipt rows checked, duplicates refused with the earlier claim's and
case's numbers (within a claim, across claims and cases, and a race on the unique constraint),
yuan → fen exactly, excluded bills, scope and who may submit."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from tests.benefits.claims_support import bill, confirmed_case, pending_case, receipt, timeline, worker_case
from tests.conftest import bearer

SI = "nn_si"


def post_claim(client, case_id, bills, user=SI, **body):
    return client.post(f"/api/v1/cases/{case_id}/claims", json={"bills": bills, **body}, headers=bearer(user))


def test_a_claim_is_received_with_exact_fen_and_totals(client):
    cid = confirmed_case()
    r = post_claim(client, cid, [bill("3000.01"), bill("0.10", kind="rehab"), bill("19.99", in_catalogue=False)])
    assert r.status_code == 201, r.text
    out = r.json()
    assert (out["submitted"], out["accepted"], out["rejected"]) == (3, 3, 0)
    c = out["claim"]
    assert c["number"].startswith("FY") and c["status"] == "received"
    assert [b["amount_fen"] for b in c["bills"]] == [300001, 10, 1999]
    assert c["claimed_fen"] == 302010 and c["accepted_fen"] == 300011 and c["excluded_fen"] == 1999
    assert c["bills"][2]["excluded_reason"]
    assert "claim_received" in timeline(cid)


def test_duplicates_within_a_claim_and_across_cases_are_refused_with_the_reason(client):
    first_case, other_case = confirmed_case(), confirmed_case()
    taken = receipt()
    r1 = post_claim(client, first_case, [bill(receipt_no=taken)])
    assert r1.status_code == 201
    first = r1.json()["claim"]
    dup = receipt()
    r2 = post_claim(
        client,
        other_case,
        [bill(receipt_no=dup), bill(receipt_no=dup.lower()), bill(receipt_no=taken), bill("abc")],
    )
    assert r2.status_code == 201, r2.text
    out = r2.json()
    assert (out["submitted"], out["accepted"], out["rejected"]) == (4, 1, 3)
    reasons = {row["line"]: row["reason"] for row in out["rejected_rows"]}
    assert "与本次申报第 1 行重复" in reasons[2]
    assert f"已在费用申报 {first['number']}（案件 {first['case_number']}）中申报过" in reasons[3]
    assert "不是有效的金额" in reasons[4]
    # nothing of a claim whose every row is refused is kept
    r3 = post_claim(client, first_case, [bill(receipt_no=taken)])
    assert r3.status_code == 400 and "全部不予受理" in r3.json()["error"]["reason"]
    assert first["number"] in r3.json()["error"]["reason"]


def test_a_race_on_the_unique_receipt_gives_the_same_reason(db):
    """Two claims that both passed the look-up: the table's unique constraint refuses the second,
    with the reason naming the first."""
    from oip.auth.models import User
    from oip.auth.service import principal_for
    from oip.benefits import claims
    from oip.cases.models import Case
    from oip.core.errors import Conflict

    c1, c2 = confirmed_case(), confirmed_case()
    taken = receipt()
    actor = principal_for(db, db.scalar(select(User).where(User.username == SI)))
    first = claims.receive(db, actor, c1, bills=[bill(receipt_no=taken)])
    db.flush()
    claim_number, case_number = first.claim.number, db.get(Case, c1).number
    real, calls = claims._known, []

    def looked_too_early(session, receipts):  # the second claim looked before the first was written
        calls.append(receipts)
        return {} if len(calls) == 1 else real(session, receipts)

    claims._known = looked_too_early
    try:
        with pytest.raises(Conflict) as e:
            claims.receive(db, actor, c2, bills=[bill(receipt_no=taken)])
    finally:
        claims._known = real
    assert f"已在费用申报 {claim_number}（案件 {case_number}）中申报过" in e.value.reason
    db.rollback()


def test_the_officer_excludes_a_bill_with_a_reason_and_totals_follow(client):
    cid = confirmed_case()
    c = post_claim(client, cid, [bill("100.00"), bill("50.50")]).json()["claim"]
    b = c["bills"][1]
    url = f"/api/v1/claims/{c['id']}/bills/{b['id']}/catalogue"
    no_reason = client.post(url, json={"in_catalogue": False}, headers=bearer(SI))
    assert no_reason.status_code == 400 and no_reason.json()["error"]["field"] == "excluded_reason"
    r = client.post(
        url,
        json={"in_catalogue": False, "reason": "自费药品，不属于工伤保险药品目录", "version": c["version"]},
        headers=bearer(SI),
    )
    assert r.status_code == 200, r.text
    after = r.json()
    assert after["accepted_fen"] == 10000 and after["excluded_fen"] == 5050
    assert after["bills"][1]["excluded_reason"] == "自费药品，不属于工伤保险药品目录"
    stale = client.post(url, json={"in_catalogue": True, "version": c["version"]}, headers=bearer(SI))
    assert stale.status_code == 409
    # a checker of the 人社 office reads but does not check
    assert client.post(url, json={"in_catalogue": True}, headers=bearer("nn_hrss")).status_code == 403
    assert "claim_bill_checked" in timeline(cid)


def test_a_claim_on_a_case_not_confirmed_must_qualify_for_the_fast_lane(client):
    cid = pending_case()
    r = post_claim(client, cid, [bill("3500.00")])
    assert r.status_code == 400 and "不符合小伤快赔条件" in r.json()["error"]["reason"]
    assert client.get(f"/api/v1/cases/{cid}/claims", headers=bearer(SI)).json() == []


def test_scope_a_claim_outside_the_region_is_not_found(client):
    cid = confirmed_case(county="450103")
    c = post_claim(client, cid, [bill()]).json()["claim"]
    assert client.get(f"/api/v1/claims/{c['id']}", headers=bearer(SI)).status_code == 200
    assert client.get(f"/api/v1/claims/{c['id']}", headers=bearer("gl_si")).status_code == 404
    assert post_claim(client, cid, [bill()], user="gl_si").status_code == 404


def test_the_worker_submits_for_their_own_case_and_sees_its_status(client):
    cid = worker_case()
    r = post_claim(client, cid, [bill("88.00")], user="worker_demo", received_on="2020-01-01")
    assert r.status_code == 201, r.text
    c = r.json()["claim"]
    assert c["received_on"] != "2020-01-01"  # the worker's claim is received today
    mine = client.get("/api/v1/claims", headers=bearer("worker_demo")).json()
    assert c["id"] in [x["id"] for x in mine["items"]]
    assert all(x["case_id"] == cid or x["case_number"] for x in mine["items"])
    other = confirmed_case()
    assert post_claim(client, other, [bill()], user="worker_demo").status_code == 404
    # a platform may not hand in claims
    assert post_claim(client, cid, [bill()], user="meituan_admin").status_code in (403, 404)


def test_bad_bodies_answer_in_chinese_naming_the_field(client):
    cid = confirmed_case()
    r = post_claim(client, cid, [{**bill(), "amount": 12.5}])
    assert r.status_code == 422
    err = r.json()["error"]
    assert err["field"] == "bills.0.amount" and "不接受浮点数" in err["reason"]
    r = post_claim(client, cid, [{**bill(), "amount": 12}])  # an integer of yuan is exact
    assert r.status_code == 201 and r.json()["claim"]["bills"][0]["amount_fen"] == 1200
    r = post_claim(client, cid, [])
    assert r.status_code == 400 and "请至少填写一行票据" in r.json()["error"]["reason"]
