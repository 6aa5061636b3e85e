"""The fast lane (小伤快赔) through the API: who qualifies (3,000.00 yes, 3,000.01 no, a hospital day
no), its clock on working days (2025, whose holidays chinese-calendar knows: received Tuesday
2025-09-30, the National Day holidays 10-01…10-08, Saturday 10-11 worked), its worklist, and a claim
that stops qualifying moving to the normal path with everything kept."""

from __future__ import annotations

import datetime as dt

from oip.core import clock
from tests.benefits.claims_support import bill, claim_row, confirm, confirmed_case, pending_case, timeline
from tests.conftest import bearer

SI = "nn_si"
RECEIVED = dt.date(2025, 9, 30)  # a Tuesday, the eve of the National Day holidays


def post_claim(client, case_id, bills, user=SI, **body):
    return client.post(f"/api/v1/cases/{case_id}/claims", json={"bills": bills, **body}, headers=bearer(user))


def _pending_in_2025():
    with clock.frozen(dt.datetime(2025, 9, 30, 9, 0, tzinfo=clock.SHANGHAI)):
        return pending_case(days_ago=3)


def test_a_qualifying_claim_gets_the_fast_lane_clock_on_working_days(client):
    cid = _pending_in_2025()
    with clock.frozen(RECEIVED):
        r = post_claim(client, cid, [bill("2999.99", issued_on="2025-09-28"), bill("0.01", issued_on="2025-09-29")])
        assert r.status_code == 201, r.text
        out = r.json()
        c = out["claim"]
        assert c["claimed_fen"] == 300000 and out["fast_lane_reasons"] == []  # 3,000.00 yuan: within the limit
        assert c["fast_lane"] is True
        assert c["confirm_due"] == "2025-10-10"  # 2 working days: 10-09, 10-10
        assert c["pay_due"] == "2025-10-14"  # 5: 10-09, 10-10, 10-11 (调休上班), 10-13, 10-14
        assert c["confirm_clock"]["label"] == "剩余 2 个工作日" and c["pay_clock"]["working_days_left"] == 5
        # the five documents: none uploaded yet, all listed as missing
        assert [d["code"] for d in out["missing_documents"]] == [
            "application_form",
            "consent",
            "medical_diagnosis",
            "receipts",
            "liability",
        ]
        assert "fast_lane_entered" in timeline(cid)
    with clock.frozen(dt.date(2025, 10, 13)):
        c = client.get(f"/api/v1/claims/{c['id']}", headers=bearer(SI)).json()
        assert (
            c["confirm_clock"]["overdue"] is True and c["confirm_clock"]["label"] == "已超期 2 个工作日"
        )  # 10-11 (调休上班) and 10-13
        assert c["pay_clock"]["overdue"] is False and c["pay_clock"]["working_days_left"] == 1
        lane = client.get("/api/v1/claims?fast_lane=true", headers=bearer(SI)).json()
        assert c["id"] in [x["id"] for x in lane["items"]]
        page = client.get("/benefits/fast-lane", headers={**bearer(SI), "accept": "text/html"})
        assert page.status_code == 200 and c["number"] in page.text and "已超期 2 个工作日" in page.text
    with clock.frozen(dt.date(2025, 10, 15)):
        from oip.auth.models import User
        from oip.auth.service import principal_for
        from oip.benefits import claims
        from oip.core.db import session_scope

        with session_scope() as s:
            me = principal_for(s, s.query(User).filter_by(username=SI).one())
            assert claims.fast_lane_overdue(s, me) >= 1
    with clock.frozen(dt.date(2025, 10, 14)):
        c = client.get(f"/api/v1/claims/{c['id']}", headers=bearer(SI)).json()
        assert c["pay_clock"]["due_today"] is True and c["pay_clock"]["label"] == "今日到期"
    # the confirmation stops the confirm clock
    confirm(cid, on=dt.date(2025, 10, 9))
    with clock.frozen(dt.date(2025, 10, 14)):
        c = client.get(f"/api/v1/claims/{c['id']}", headers=bearer(SI)).json()
        assert c["confirm_clock"]["done"] is True and c["confirm_clock"]["overdue"] is False


def test_one_fen_over_the_limit_does_not_qualify(client):
    cid = confirmed_case()
    r = post_claim(client, cid, [bill("3000.01")])
    assert r.status_code == 201
    out = r.json()
    assert out["claim"]["fast_lane"] is False and out["claim"]["confirm_due"] is None
    assert out["fast_lane_reasons"] == ["申报医疗费用合计 3000.01 元，超过小伤快赔上限 3000.00 元"]


def test_a_hospital_day_disqualifies(client):
    cid = confirmed_case()
    out = post_claim(client, cid, [bill("100.00")], hospital_days=1).json()
    assert out["claim"]["fast_lane"] is False and "住院 1 天" in out["fast_lane_reasons"][0]
    # on a case still pending confirmation, such a claim waits for the confirmation
    pending = pending_case()
    r = post_claim(client, pending, [bill("100.00", inpatient=True)])
    assert r.status_code == 400 and "住院费用票据" in r.json()["error"]["reason"]


def test_a_later_bill_over_the_limit_moves_the_claim_to_the_normal_path_with_everything_kept(client):
    from oip.cases.models import CaseDocument
    from oip.core.db import session_scope

    cid = pending_case()
    with session_scope() as s:  # one of the five documents is already in
        s.add(
            CaseDocument(
                case_id=cid,
                requirement="receipts",
                filename="票据.pdf",
                content_type="application/pdf",
                size=4,
                sha256="0" * 64,
                content=b"%PDF",
                source="applicant",
                uploaded_at=clock.now(),
            )
        )
    first = post_claim(client, cid, [bill("3000.00")]).json()
    c = first["claim"]
    assert c["fast_lane"] is True and "receipts" not in [d["code"] for d in first["missing_documents"]]
    assert [d["requirement"] for d in c["documents"]] == ["receipts"]
    r = client.post(
        f"/api/v1/claims/{c['id']}/bills", json={"bills": [bill("0.01")], "version": c["version"]}, headers=bearer(SI)
    )
    assert r.status_code == 200, r.text
    after = r.json()["claim"]
    assert after["fast_lane"] is False
    assert after["fast_lane_left_on"] == clock.today().isoformat()
    assert "超过小伤快赔上限" in after["fast_lane_left_reason"]
    # kept: the bills, the dates it was promised, the claim's number; the case's documents
    assert len(after["bills"]) == 2 and after["claimed_fen"] == 300001 and after["documents"] == c["documents"]
    assert (
        after["number"] == c["number"] and after["confirm_due"] == c["confirm_due"] and after["pay_due"] == c["pay_due"]
    )
    with session_scope() as s:
        assert s.query(CaseDocument).filter_by(case_id=cid, requirement="receipts").count() == 1
    assert "fast_lane_left" in timeline(cid)
    assert c["id"] not in [
        x["id"] for x in client.get("/api/v1/claims?fast_lane=true", headers=bearer(SI)).json()["items"]
    ]
    # never back on the fast lane, even when a bill is taken out
    row = claim_row(c["id"])
    assert row.fast_lane is False and row.fast_lane_left_reason


def test_a_second_claim_with_a_hospital_stay_ends_the_fast_lane_of_the_first(client):
    cid = confirmed_case()
    first = post_claim(client, cid, [bill("200.00")]).json()["claim"]
    assert first["fast_lane"] is True
    second = post_claim(client, cid, [bill("800.00", inpatient=True)], hospital_days=3).json()
    assert second["claim"]["fast_lane"] is False
    moved = client.get(f"/api/v1/claims/{first['id']}", headers=bearer(SI)).json()
    assert moved["fast_lane"] is False and "有住院治疗" in moved["fast_lane_left_reason"]


def test_an_appraisal_applied_for_ends_the_fast_lane(client):
    cid = confirmed_case()
    c = post_claim(client, cid, [bill("300.00")]).json()["claim"]
    assert c["fast_lane"] is True
    r = client.post(
        f"/api/v1/cases/{cid}/appraisals",
        json={"kind": "initial", "applicant": "worker", "treatment_ended_on": clock.today().isoformat()},
        headers=bearer("nn_hrss"),
    )
    assert r.status_code == 201, r.text
    moved = client.get(f"/api/v1/claims/{c['id']}", headers=bearer(SI)).json()
    assert moved["fast_lane"] is False and moved["fast_lane_left_reason"] == "已申请劳动能力鉴定"
    assert "fast_lane_left" in timeline(cid)


def test_a_year_whose_holidays_are_not_loaded_leaves_the_due_dates_empty_with_the_reason(db, monkeypatch):
    from oip.benefits import claims
    from oip.benefits.models import Claim
    from oip.core import workdays

    monkeypatch.setattr(claims.calendar, "refresh", lambda session: workdays.installed())
    with workdays.using(workdays.Calendar(package=frozenset())):
        confirm_due, pay_due, why = claims.due_dates(db, Claim(received_on=RECEIVED), "450103")
    assert confirm_due is None and pay_due is None and "2025 年的法定节假日安排尚未载入" in why
