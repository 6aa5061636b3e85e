"""Monthly benefits as users see them: the JSON API, the case panel "定期待遇" with its forms, the
worklist /benefits/monthly and one benefit's page — scope, forms, 应追回."""

from __future__ import annotations

import datetime as dt

import pytest

from oip.core import clock
from tests.benefits._monthly_support import approve, monthly_ids, new_case, pay
from tests.conftest import bearer, sign_in

D = dt.date
TODAY = D(2027, 6, 3)


def _benefit(amount: int = 300_000) -> tuple[int, int]:
    cid = new_case()
    approve(
        cid,
        [{"item": "disability_monthly", "amount_fen": amount, "starts_on": D(2027, 2, 1)}],
        approved_on=D(2027, 2, 5),
    )
    (mid,) = monthly_ids(cid)
    return cid, mid


@pytest.fixture
def today():
    with clock.frozen(TODAY):
        yield TODAY


def test_api_run_stop_and_read(client, today):
    cid, mid = _benefit()
    h = bearer("nn_si")
    r = client.post("/api/v1/benefits/monthly/run", json={"month": "2027-06", "case_id": cid}, headers=h)
    assert r.status_code == 200, r.text
    assert (r.json()["created"], r.json()["owed_fen"]) == (5, 1_500_000)
    again = client.post("/api/v1/benefits/monthly/run", json={"month": "2027-06", "case_id": cid}, headers=h)
    assert again.json()["created"] == 0
    bad = client.post("/api/v1/benefits/monthly/run", json={"month": "2027-13"}, headers=h)
    assert bad.status_code == 400 and bad.json()["error"]["field"] == "month"

    pay(mid, ["2027-02", "2027-03", "2027-04", "2027-05"], TODAY)
    r = client.post(
        f"/api/v1/benefits/monthly/{mid}/stop",
        json={"on": "2027-04-08", "reason": "refusal_treatment", "note": "拒绝住院治疗"},
        headers=h,
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["status"], body["last_month"], body["overpaid_fen"]) == ("stopped", "2027-04", 300_000)
    assert body["overpaid"] == [{"month": "2027-05", "amount_fen": 300_000, "at_bank": False}]

    one = client.get(f"/api/v1/benefits/monthly/{mid}", headers=h).json()
    assert [m["month"] for m in one["schedule"]] == ["2027-06", "2027-05", "2027-04", "2027-03", "2027-02"]
    assert one["schedule"][0]["status"] == "cancelled"
    case_items = client.get(f"/api/v1/cases/{cid}/monthly", headers=h).json()["items"]
    assert [x["id"] for x in case_items] == [mid]
    listed = client.get("/api/v1/benefits/monthly?filter=stopped", headers=h).json()
    assert mid in [x["id"] for x in listed["items"]]


def test_api_scope_and_permissions(client, today):
    cid, mid = _benefit()
    assert client.get(f"/api/v1/benefits/monthly/{mid}", headers=bearer("qx_si")).status_code == 200
    assert client.get(f"/api/v1/benefits/monthly/{mid}", headers=bearer("gx_finance")).status_code == 200
    # another worker does not see it; finance may read but not act
    assert client.get(f"/api/v1/benefits/monthly/{mid}", headers=bearer("worker_demo")).status_code == 404
    r = client.post(
        f"/api/v1/benefits/monthly/{mid}/eligibility",
        json={"confirmed_on": "2027-06-01", "means": "visit"},
        headers=bearer("gx_finance"),
    )
    assert r.status_code == 403
    r = client.post(
        f"/api/v1/benefits/monthly/{mid}/eligibility",
        json={"confirmed_on": "2027-06-01", "means": "visit"},
        headers=bearer("qx_si"),
    )
    assert r.status_code == 200, r.text
    assert r.json()["items"][0]["eligibility_due"] == "2028-06-01"


def test_case_panel_forms_and_worklist(client, today):
    cid, mid = _benefit()
    csrf = sign_in(client, "nn_si")
    client.post("/api/v1/benefits/monthly/run", json={"month": "2027-06", "case_id": cid}, headers=bearer("nn_si"))
    pay(mid, ["2027-02", "2027-03", "2027-04", "2027-05", "2027-06"], TODAY)
    page = client.get(f"/cases/{cid}")
    assert page.status_code == 200
    assert "定期待遇" in page.text and "伤残津贴" in page.text and "3,000.00 元" in page.text
    assert 'data-testid="eligibility-form"' in page.text

    bad = client.post(
        f"/cases/{cid}/monthly/{mid}/stop",
        data={"csrf_token": csrf, "on": "2027-06-04", "reason": "death"},
        follow_redirects=False,
    )
    assert bad.status_code == 400 and "停发日期不能晚于今天" in bad.text
    r = client.post(
        f"/cases/{cid}/monthly/{mid}/stop",
        data={"csrf_token": csrf, "on": "2027-04-30", "reason": "death", "note": "医院死亡证明"},
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"] == f"/cases/{cid}#monthly-{mid}"
    page = client.get(f"/cases/{cid}")
    assert "应追回 6,000.00 元" in page.text  # May and June were paid after a death in April
    assert "领取人死亡" in page.text and "定期待遇停发" in page.text  # the panel and the timeline

    listed = client.get("/benefits/monthly?filter=stopped")
    assert listed.status_code == 200 and f'data-monthly="{mid}"' in listed.text
    detail = client.get(f"/benefits/monthly/{mid}")
    assert detail.status_code == 200 and "应追回" in detail.text and "2027-02" in detail.text


def test_paused_recipient_on_the_worklist_and_resumed_from_the_panel(client):
    cid, mid = _benefit()
    with clock.frozen(D(2029, 4, 1)):
        h = bearer("nn_si")
        r = client.post("/api/v1/benefits/monthly/run", json={"month": "2029-04", "case_id": cid}, headers=h)
        assert (r.json()["paused"], r.json()["held"]) == (1, 27)
        csrf = sign_in(client, "nn_si")
        listed = client.get("/benefits/monthly?filter=paused")
        assert f'data-monthly="{mid}"' in listed.text and "暂停发放" in listed.text
        r = client.post(
            f"/cases/{cid}/monthly/{mid}/eligibility",
            data={"csrf_token": csrf, "confirmed_on": "2029-04-01", "means": "portal"},
            follow_redirects=False,
        )
        assert r.status_code == 303
        one = client.get(f"/api/v1/benefits/monthly/{mid}?page=1", headers=h).json()
        assert one["status"] == "active"
        assert {m["status"] for m in one["schedule"]} == {"due"}
        assert one["schedule_pages"] == 2 and len(one["schedule"]) == 24  # 2027-02 … 2029-04: 27 months
        last = client.get(f"/api/v1/benefits/monthly/{mid}?page=2", headers=h).json()["schedule"]
        assert [m["month"] for m in last] == ["2027-04", "2027-03", "2027-02"]


def test_an_approved_determination_starts_its_monthly_benefits(client):
    """Through the determination part: open, submit, approve (maker-checker) → the allowance and the
    nursing fee start at the amounts and first month of their lines; the run owes them."""
    from tests.benefits._det_support import act, determinable_case, open_det

    cid = determinable_case(grade=3, self_care="partial", days_ago=150)
    det = open_det(client, cid, user="nn_si")
    det = act(client, det, "submit", "nn_si").json()
    r = act(client, det, "approve", "nn_si_check")  # the city's limit covers a grade-3 pension
    assert r.status_code == 200, r.text
    lines = {ln["item"]: ln for ln in r.json()["lines"] if ln["monthly"]}
    assert set(lines) == {"disability_monthly", "nursing"}
    items = client.get(f"/api/v1/cases/{cid}/monthly", headers=bearer("qx_si")).json()["items"]
    start = r.json()["inputs"]["concluded_on"]  # the lines name no start: the appraisal conclusion's day
    assert {(m["item"], m["rate_fen"], m["starts_on"], m["status"]) for m in items} == {
        (k, ln["amount_fen"], ln["starts_on"] or start, "active") for k, ln in lines.items()
    }
    month = clock.today().strftime("%Y-%m")
    r = client.post("/api/v1/benefits/monthly/run", json={"month": month, "case_id": cid}, headers=bearer("qx_si"))
    assert r.status_code == 200 and r.json()["created"] >= 2
    view = client.get(f"/api/v1/cases/{cid}/monthly", headers=bearer("qx_si")).json()["items"]
    assert all(m["schedule"][0]["month"] == month for m in view)


def test_the_worker_sees_their_own_benefits_without_the_officer_forms(client, today):
    from sqlalchemy import select

    from oip.auth.models import User
    from oip.cases.models import Case
    from oip.core.db import session_scope

    cid = new_case()
    with session_scope() as s:
        s.get(Case, cid).person_id = s.scalar(select(User.person_id).where(User.username == "worker_demo"))
    approve(cid, [{"item": "nursing", "amount_fen": 90_000, "starts_on": D(2027, 5, 1)}], approved_on=D(2027, 5, 2))
    (mid,) = monthly_ids(cid)
    sign_in(client, "worker_demo")
    page = client.get(f"/cases/{cid}")
    assert page.status_code == 200 and "生活护理费" in page.text and "900.00 元" in page.text
    assert 'data-testid="eligibility-form"' not in page.text and 'data-testid="stop-form"' not in page.text
    mine = client.get("/benefits/monthly")
    assert "我的定期待遇" in mine.text and f'data-monthly="{mid}"' in mine.text
    r = client.get(f"/api/v1/benefits/monthly/{mid}")
    assert r.status_code == 200 and r.json()["recipient_kind"] == "worker"
