"""The confirmation decision through the API: suspension and resumption (the worked example across the
2025 National Day holiday), the decision on time and late with its codes, the insurer's open task
withdrawn, concurrent decisions, appeals with their windows and outcomes, and closing.

The clock is frozen (oip.core.clock.frozen) at dates of the worked examples, so the tests do not
depend on the day they run."""

from __future__ import annotations

import datetime as dt
import secrets

import pytest
from sqlalchemy import select

from oip.core import clock
from tests.cases.conftest import make_case
from tests.conftest import bearer

D = dt.date
ACCEPTED = D(2025, 9, 30)  # Tuesday before the National Day holiday (10-01 … 10-08 off, Saturday 10-11 worked)
INJURED = dt.datetime(2025, 9, 29, 10, tzinfo=clock.SHANGHAI)


def accepted_case(simple: bool = False, county: str = "450103") -> int:
    """A case accepted on 2025-09-30, made on that day (so its timeline keeps the order of events)."""
    with clock.frozen(ACCEPTED):
        return make_case(to="accepted", accepted_on=ACCEPTED, simple=simple, occurred_at=INJURED, county=county)


def get(client, cid: int, user: str = "qx_hrss") -> dict:
    r = client.get(f"/api/v1/cases/{cid}", headers=bearer(user))
    assert r.status_code == 200, r.text
    return r.json()


def decide(client, cid: int, user: str = "qx_hrss", **body):
    body = {
        "outcome": "confirmed",
        "code": "S3",
        "reasoning": "送餐途中在合理路线上被机动车撞伤，对方负全部责任",
        **body,
    }
    return client.post(f"/api/v1/cases/{cid}/decision", json=body, headers=bearer(user))


# ---- suspension -----------------------------------------------------------------------------------


def test_suspension_extends_the_deadline_worked_example(client):
    """Accepted 2025-09-30, 7 working days → 2025-10-16; suspended 10-10 … 10-13 → 2025-10-21."""
    cid = accepted_case(simple=True)
    with clock.frozen(D(2025, 10, 10)):
        assert get(client, cid)["decision_due"] == "2025-10-16"
        r = client.post(
            f"/api/v1/cases/{cid}/suspension",
            json={
                "reason": "交通事故责任尚未认定",
                "authority": "公安机关交通管理部门",
                "expected_until": "2025-10-31",
                "version": get(client, cid)["version"],
            },
            headers=bearer("qx_hrss"),
        )
        assert r.status_code == 201, r.text
        out = r.json()
        assert out["case"]["state"] == "suspended" and out["case"]["next_due"] == "2025-10-31"
        assert (
            out["suspension"]["started_on"] == "2025-10-10" and out["suspension"]["authority"] == "公安机关交通管理部门"
        )
        c = get(client, cid)
        assert c["decision_due"] is None and c["clock"]["suspended"] is True
        assert c["waiting_on"] == "suspension"
    with clock.frozen(D(2025, 10, 13)):
        r = client.post(
            f"/api/v1/cases/{cid}/resumption",
            json={"ended_on": "2025-10-13", "note": "交通事故认定书：对方负主要责任"},
            headers=bearer("qx_hrss"),
        )
        assert r.status_code == 200, r.text
        assert r.json()["case"]["state"] == "accepted"
        c = get(client, cid)
        assert c["decision_due"] == "2025-10-21" and c["next_due"] == "2025-10-21"
        # 10-10 (Friday), 10-11 (the 调休 Saturday) and 10-13 (Monday) were working days of the pause.
        assert c["clock"]["suspended_working_days"] == 3
        part = client.get(f"/api/v1/cases/{cid}/decision", headers=bearer("qx_hrss")).json()
        assert part["suspensions"][0]["end_note"] == "交通事故认定书：对方负主要责任"
        assert [e["action"] for e in c["timeline"]][-2:] == ["suspend", "resume"]


def test_suspension_of_a_thirty_day_case_moves_its_deadline_by_the_paused_working_days(client):
    cid = accepted_case()
    with clock.frozen(D(2025, 10, 13)):
        assert get(client, cid)["decision_due"] == "2025-11-18"
        body = {"reason": "等待责任认定", "authority": "公安机关交通管理部门", "started_on": "2025-10-10"}
        r = client.post(
            f"/api/v1/cases/{cid}/suspension", json={**body, "expected_until": "2025-10-20"}, headers=bearer("qx_hrss")
        )
        assert r.status_code == 201, r.text
        r = client.post(f"/api/v1/cases/{cid}/resumption", json={"ended_on": "2025-10-13"}, headers=bearer("qx_hrss"))
        assert r.status_code == 200, r.text
        assert get(client, cid)["decision_due"] == "2025-11-21"  # 3 working days later


def test_suspension_dates_are_checked(client):
    cid = accepted_case()
    with clock.frozen(D(2025, 10, 13)):
        base = {"reason": "等待责任认定", "authority": "公安机关交通管理部门", "expected_until": "2025-10-31"}
        for extra, field in [
            ({"started_on": "2025-09-29"}, "started_on"),  # before acceptance
            ({"started_on": "2025-10-14"}, "started_on"),  # in the future
            ({"expected_until": "2025-10-01"}, "expected_until"),  # before the start
            ({"authority": " "}, "authority"),
        ]:
            r = client.post(f"/api/v1/cases/{cid}/suspension", json={**base, **extra}, headers=bearer("qx_hrss"))
            assert r.status_code == 400, (extra, r.text)
            assert r.json()["error"]["field"] == field
        r = client.post(
            f"/api/v1/cases/{cid}/suspension",
            json={k: v for k, v in base.items() if k != "expected_until"},
            headers=bearer("qx_hrss"),
        )
        assert r.status_code == 422 and r.json()["error"]["field"] == "expected_until"
        r = client.post(f"/api/v1/cases/{cid}/resumption", json={}, headers=bearer("qx_hrss"))
        assert r.status_code == 409  # not suspended
        assert client.post(f"/api/v1/cases/{cid}/suspension", json=base, headers=bearer("qx_hrss")).status_code == 201
        r = client.post(f"/api/v1/cases/{cid}/resumption", json={"ended_on": "2025-10-12"}, headers=bearer("qx_hrss"))
        assert r.status_code == 400 and r.json()["error"]["field"] == "ended_on"
        assert decide(client, cid).status_code == 409  # no decision while suspended


# ---- the decision ---------------------------------------------------------------------------------


def test_decision_on_time_records_its_due_date(client):
    cid = accepted_case(simple=True)
    with clock.frozen(D(2025, 10, 15)):
        r = decide(client, cid)
        assert r.status_code == 201, r.text
        d = r.json()["decision"]
        assert (d["round"], d["outcome"], d["code"], d["due_on"], d["decided_on"]) == (
            1,
            "confirmed",
            "S3",
            "2025-10-16",
            "2025-10-15",
        )
        assert d["on_time"] is True and d["code_kind"] == "situation" and "交通事故" in d["code_name"]
        c = get(client, cid)
        assert c["state"] == "confirmed" and c["decision"]["code"] == "S3"
        # The case now waits on the appeal window: 60 days after 10-15 is Sunday 12-14, moved to Monday.
        assert (c["waiting_on"], c["next_due"]) == ("appeal_window", "2025-12-15")
        assert c["decision_due"] == "2025-10-16"
        # the decision, then its 职业伤害确认结论书 made at once
        assert [e["action"] for e in c["timeline"][-2:]] == ["confirm", "letter_issue"]


def test_a_late_decision_is_recorded_as_late(client):
    cid = accepted_case(simple=True)
    with clock.frozen(D(2025, 10, 20)):
        r = decide(client, cid, outcome="not_confirmed", code="R2", reasoning="交通事故认定书认定本人负主要责任")
        assert r.status_code == 201, r.text
        d = r.json()["decision"]
        assert (d["due_on"], d["decided_on"], d["on_time"], d["late_working_days"]) == (
            "2025-10-16",
            "2025-10-20",
            False,
            2,
        )
        assert get(client, cid)["state"] == "not_confirmed"


def test_codes_are_validated_against_the_outcome_and_their_validity(client, db):
    from oip.cases.models import CaseCode

    old = "S" + secrets.token_hex(3).upper()
    db.add(
        CaseCode(
            kind="situation",
            code=old,
            name="试点初期的情形",
            basis="",
            valid_from=D(2025, 7, 1),
            valid_to=D(2025, 8, 31),
        )
    )
    db.commit()
    cid = accepted_case()
    with clock.frozen(D(2025, 10, 15)):
        for body, field in [
            ({"outcome": "not_confirmed", "code": "S1"}, "code"),  # a situation code for not confirmed
            ({"outcome": "confirmed", "code": "X1"}, "code"),  # an exclusion for confirmed
            ({"outcome": "confirmed", "code": "Z9"}, "code"),  # no such code
            ({"outcome": "confirmed", "code": old}, "code"),  # no longer valid on the decision day
            ({"outcome": "maybe"}, "outcome"),
            ({"reasoning": "  "}, "reasoning"),
            ({"decided_on": "2025-09-29"}, "decided_on"),  # before acceptance
            ({"decided_on": "2025-10-16"}, "decided_on"),  # in the future
        ]:
            r = decide(client, cid, **body)
            assert r.status_code == 400, (body, r.text)
            assert r.json()["error"]["field"] == field, (body, r.json())
        reason = decide(client, cid, outcome="not_confirmed", code="S1").json()["error"]["reason"]
        assert "认定情形" in reason and "不予确认" in reason
        assert get(client, cid)["state"] == "accepted"  # nothing stored
        assert decide(client, cid, outcome="not_confirmed", code="x2", reasoning="醉酒驾驶").status_code == 201


def test_the_code_list_holds_the_codes_valid_today(client):
    with clock.frozen(D(2025, 10, 15)):
        r = client.get("/api/v1/cases/codes", headers=bearer("qx_hrss"))
        assert r.status_code == 200, r.text
        codes = {(c["kind"], c["code"]): c for c in r.json()["items"]}
        assert {("situation", f"S{i}") for i in range(1, 7)} <= set(codes)
        assert {("exclusion", "X1"), ("reason", "R4"), ("refusal", "F1")} <= set(codes)
        assert codes[("exclusion", "X1")]["name"] == "故意犯罪的" and codes[("situation", "S1")]["basis"]
        r = client.get("/api/v1/cases/codes", params={"kind": "situation"}, headers=bearer("meituan_admin"))
        assert {c["kind"] for c in r.json()["items"]} == {"situation"}
    with clock.frozen(D(2025, 6, 30)):  # before the pilot: no code is valid yet
        assert client.get("/api/v1/cases/codes", headers=bearer("qx_hrss")).json()["items"] == []


def test_the_decision_withdraws_the_open_task_and_shows_the_recommendation(client, db):
    from oip.auth.models import User
    from oip.cases.models import InvestigationTask

    cid = accepted_case()
    org = db.scalar(select(User).where(User.username == "insurer_a")).organisation_id
    other = db.scalar(select(User).where(User.username == "insurer_b")).organisation_id
    assert other != org
    now = clock.now()
    db.add_all(
        [
            InvestigationTask(
                case_id=cid, organisation_id=org, assigned_on=ACCEPTED, due_on=D(2025, 10, 20), status="open"
            ),
            InvestigationTask(
                case_id=cid,
                organisation_id=other,
                assigned_on=ACCEPTED,
                due_on=D(2025, 10, 20),
                status="submitted",
                findings="订单轨迹显示事故发生于配送途中",
                recommendation="confirm",
                recommendation_reason="事故发生在订单执行期间",
                submitted_at=now,
            ),
        ]
    )
    db.commit()
    with clock.frozen(D(2025, 10, 15)):
        part = client.get(f"/api/v1/cases/{cid}/decision", headers=bearer("qx_hrss")).json()
        assert [r["recommendation_name"] for r in part["recommendations"]] == ["建议予以确认"]
        assert part["can"]["decide"] is True
        assert client.get(f"/api/v1/cases/{cid}/decision", headers=bearer("insurer_a")).json()["recommendations"] == []
        # The recommendation informs, never decides: the officer may conclude otherwise.
        r = decide(client, cid, outcome="not_confirmed", code="R3", reasoning="经核实，伤害与订单无关")
        assert r.status_code == 201, r.text
        db.expire_all()
        tasks = sorted(t.status for t in db.scalars(select(InvestigationTask).where(InvestigationTask.case_id == cid)))
        assert tasks == ["submitted", "withdrawn"]
        actions = [e["action"] for e in get(client, cid)["timeline"]]
        assert actions[-3:] == ["investigation_withdrawn", "not_confirm", "letter_issue"]
        # Insurer A's open task is withdrawn, and with it its view of the case; B's submitted task stays.
        assert client.get(f"/api/v1/cases/{cid}", headers=bearer("insurer_a")).status_code == 404
        assert client.get(f"/api/v1/cases/{cid}", headers=bearer("insurer_b")).status_code == 200


def test_two_officers_deciding_on_the_same_version_the_second_gets_409(client):
    cid = accepted_case()
    with clock.frozen(D(2025, 10, 15)):
        version = get(client, cid)["version"]
        first = decide(client, cid, "qx_hrss", version=version)
        second = decide(client, cid, "nn_hrss", version=version, outcome="not_confirmed", code="R1")
        assert first.status_code == 201, first.text
        assert second.status_code == 409, second.text
        err = second.json()["error"]
        assert err["code"] == "conflict" and err["field"] == "version"
        assert "已被他人更新" in err["reason"] and "刷新" in err["reason"]
        c = get(client, cid)
        assert c["state"] == "confirmed" and c["decision"]["round"] == 1


def test_scope_only_the_offices_over_the_place_of_injury_decide(client):
    cid = accepted_case(county="450103")
    with clock.frozen(D(2025, 10, 15)):
        assert decide(client, cid, "lz_hrss").status_code == 404  # Liuzhou: outside its scope, like a missing case
        for user in ("insurer_a", "meituan_admin", "worker_demo", "qx_si"):
            assert decide(client, cid, user).status_code == 403, user
            r = client.post(
                f"/api/v1/cases/{cid}/suspension",
                json={"reason": "x", "authority": "y", "expected_until": "2025-10-31"},
                headers=bearer(user),
            )
            assert r.status_code == 403, user
            assert client.post(f"/api/v1/cases/{cid}/close", json={}, headers=bearer(user)).status_code == 403
            assert client.post(f"/api/v1/cases/{cid}/appeals", json={}, headers=bearer(user)).status_code == 403
        assert decide(client, cid, "gx_hrss").status_code == 201  # the region above may decide


# ---- appeals --------------------------------------------------------------------------------------


def _decided(client, day=D(2025, 10, 15), simple=True) -> int:
    cid = accepted_case(simple=simple)
    with clock.frozen(day):
        assert decide(client, cid).status_code == 201
    return cid


def appeal(client, cid, **body):
    body = {"kind": "review", "body": "南宁市人民政府", **body}
    return client.post(f"/api/v1/cases/{cid}/appeals", json=body, headers=bearer("qx_hrss"))


def test_review_window_is_sixty_days_and_a_late_filing_needs_its_reason(client):
    cid = _decided(client)
    with clock.frozen(D(2025, 12, 20)):
        r = appeal(client, cid, filed_on="2025-12-16")
        assert r.status_code == 400, r.text
        err = r.json()["error"]
        assert err["field"] == "filed_on" and "60 日" in err["reason"] and "2025-12-15" in err["reason"]
        assert appeal(client, cid, filed_on="2025-10-14").status_code == 400  # before the decision
        r = appeal(client, cid, filed_on="2025-12-16", late_reason="复议机关认定有正当理由，予以受理")
        assert r.status_code == 201, r.text
        a = r.json()["appeal"]
        assert a["late_reason"] == "复议机关认定有正当理由，予以受理" and a["outcome"] == "pending"
        # 60 days after 12-16: Saturday 2026-02-14, a 调休 working day before the Spring Festival, so it stays.
        assert a["expected_on"] == "2026-02-14"
        c = get(client, cid)
        assert c["state"] == "appealed" and c["next_due"] == "2026-02-14"


def test_review_on_the_last_day_and_litigation_within_six_months(client):
    cid = _decided(client)
    with clock.frozen(D(2025, 12, 15)):
        r = appeal(client, cid, filed_on="2025-12-15", expected_on="2026-01-30")
        assert r.status_code == 201, r.text
        assert r.json()["appeal"]["expected_on"] == "2026-01-30"
    cid = _decided(client)
    with clock.frozen(D(2026, 5, 6)):
        r = appeal(client, cid, kind="litigation", body="南宁市青秀区人民法院", filed_on="2026-04-16")
        assert (
            r.status_code == 400
            and "6 个月" in r.json()["error"]["reason"]
            and "2026-04-15" in r.json()["error"]["reason"]
        )
        r = appeal(client, cid, kind="litigation", body="南宁市青秀区人民法院", filed_on="2026-04-15")
        assert r.status_code == 201, r.text


def test_an_upheld_appeal_goes_back_to_the_decision(client):
    cid = _decided(client)
    with clock.frozen(D(2025, 11, 20)):
        a = appeal(client, cid, filed_on="2025-10-20").json()["appeal"]
        r = client.post(
            f"/api/v1/cases/{cid}/appeals/{a['id']}/outcome",
            json={"outcome": "upheld", "outcome_on": "2025-11-20", "note": "南府复决字〔2025〕8号"},
            headers=bearer("qx_hrss"),
        )
        assert r.status_code == 200, r.text
        assert r.json()["appeal"]["outcome"] == "upheld"
        c = get(client, cid)
        assert c["state"] == "confirmed" and c["decision"]["round"] == 1
        # The window runs again from the upheld review: 60 days after 11-20.
        assert (c["waiting_on"], c["next_due"]) == ("appeal_window", "2026-01-19")
        r = client.post(
            f"/api/v1/cases/{cid}/appeals/{a['id']}/outcome", json={"outcome": "overturned"}, headers=bearer("qx_hrss")
        )
        assert r.status_code == 409  # the outcome is recorded once


def test_an_overturned_decision_reopens_the_case_with_a_new_due(client):
    cid = _decided(client)
    with clock.frozen(D(2025, 11, 3)):
        a = appeal(client, cid, filed_on="2025-10-20").json()["appeal"]
        assert (
            client.post(
                f"/api/v1/cases/{cid}/appeals/{a['id']}/outcome", json={"outcome": "maybe"}, headers=bearer("qx_hrss")
            ).status_code
            == 400
        )
        assert (
            client.post(
                f"/api/v1/cases/{cid}/appeals/{a['id']}/outcome",
                json={"outcome": "overturned", "outcome_on": "2025-10-19"},
                headers=bearer("qx_hrss"),
            ).status_code
            == 400
        )  # before the filing
        r = client.post(
            f"/api/v1/cases/{cid}/appeals/{a['id']}/outcome",
            json={"outcome": "overturned", "outcome_on": "2025-11-03", "note": "事实不清，责令重新作出"},
            headers=bearer("qx_hrss"),
        )
        assert r.status_code == 200, r.text
        c = get(client, cid)
        # Simple case: 7 working days counted from the day the appeal sent it back.
        assert (c["state"], c["decision_due"], c["clock"]["from"]) == ("accepted", "2025-11-12", "2025-11-03")
        assert c["decision"] is None
        part = client.get(f"/api/v1/cases/{cid}/decision", headers=bearer("qx_hrss")).json()
        assert part["decisions"][0]["overturned_on"] == "2025-11-03"
        assert part["appeals"][0]["outcome"] == "overturned"
    with clock.frozen(D(2025, 11, 14)):
        r = decide(client, cid, outcome="not_confirmed", code="R1", reasoning="重新审查：订单轨迹不支持")
        assert r.status_code == 201, r.text
        d = r.json()["decision"]
        assert (d["round"], d["due_on"], d["on_time"]) == (2, "2025-11-12", False)
        assert decide(client, cid).status_code == 409


def test_appeals_only_after_a_decision(client):
    cid = accepted_case()
    with clock.frozen(D(2025, 10, 15)):
        r = appeal(client, cid)
        assert r.status_code == 409 and r.json()["error"]["code"] == "illegal_transition"
        r = appeal(client, cid, kind="cassation")
        assert r.status_code == 400 and r.json()["error"]["field"] == "kind"
        r = client.post(
            f"/api/v1/cases/{cid}/appeals/987654321/outcome", json={"outcome": "upheld"}, headers=bearer("qx_hrss")
        )
        assert r.status_code == 404


# ---- closing --------------------------------------------------------------------------------------


def test_close_after_the_window_or_earlier_with_a_reason(client):
    cid = _decided(client)
    with clock.frozen(D(2025, 10, 20)):
        r = client.post(f"/api/v1/cases/{cid}/close", json={}, headers=bearer("qx_hrss"))
        assert r.status_code == 400 and r.json()["error"]["field"] == "reason"
        assert "2025-12-15" in r.json()["error"]["reason"]
    with clock.frozen(D(2025, 12, 16)):
        version = get(client, cid)["version"]
        r = client.post(f"/api/v1/cases/{cid}/close", json={"version": version}, headers=bearer("qx_hrss"))
        assert r.status_code == 200, r.text
        assert r.json()["case"]["state"] == "closed"
    cid = _decided(client)
    with clock.frozen(D(2025, 10, 20)):
        r = client.post(
            f"/api/v1/cases/{cid}/close", json={"reason": "申请人书面放弃复议和诉讼"}, headers=bearer("qx_hrss")
        )
        assert r.status_code == 200, r.text
        c = get(client, cid)
        assert c["state"] == "closed" and c["timeline"][-1]["note"] == "申请人书面放弃复议和诉讼"


STALE_BODIES = {
    "suspension": {"reason": "等待责任认定", "authority": "公安机关交通管理部门", "expected_until": "2025-10-31"},
    "resumption": {},
    "decision": {"outcome": "confirmed", "code": "S1", "reasoning": "事实清楚"},
    "appeals": {"kind": "review", "body": "南宁市人民政府"},
    "close": {"reason": "申请人撤回"},
}


@pytest.mark.parametrize("path", list(STALE_BODIES))
def test_every_write_checks_the_version(client, path):
    cid = accepted_case()
    with clock.frozen(D(2025, 10, 15)):
        stale = get(client, cid)["version"] - 1
        r = client.post(
            f"/api/v1/cases/{cid}/{path}", json={**STALE_BODIES[path], "version": stale}, headers=bearer("qx_hrss")
        )
        assert r.status_code == 409, r.text
        assert r.json()["error"]["field"] == "version" and "已被他人更新" in r.json()["error"]["reason"]


def test_an_appeal_window_in_a_year_whose_holidays_are_not_loaded_shows_why_instead_of_failing(client, monkeypatch):
    """Near the end of a year the litigation window (six months) reaches into a year whose holiday
    arrangement is not published yet: the case page still opens and says why that day is missing."""
    from oip.cases import decision
    from oip.cases.models import Case
    from oip.core import workdays
    from oip.core.db import session_scope
    from oip.reference import calendar

    cid = _decided(client)
    known = workdays.Calendar(package=frozenset({2025}))  # the decision's year only
    monkeypatch.setattr(calendar, "refresh", lambda session: workdays.installed())
    with workdays.using(known):
        with session_scope() as s:
            w = decision.appeal_windows(s, s.get(Case, cid))
        assert w["review"] is not None and w["litigation"] is None
        assert "2026 年的法定节假日安排尚未载入" in w["calendar_gap"]
        with clock.frozen(D(2025, 12, 1)):
            r = client.get(f"/cases/{cid}", headers={**bearer("qx_hrss"), "accept": "text/html"})
    assert r.status_code == 200, r.text[:300]
    assert "待载入日历后计算" in r.text and "2026 年的法定节假日安排尚未载入" in r.text
