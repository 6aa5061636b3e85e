"""The admission workflow through the JSON API: a full run, rejections, the conditions of
concluding, objections, attachments, audit events, and the demo applicants."""

from __future__ import annotations

import base64
import datetime as dt

import pytest
from sqlalchemy import func, select

from oip.core.audit_models import AuditEvent
from tests.conftest import bearer
from tests.platforms.conftest import TO_CONSENTED, application, current_notice, days, past_notice, today

PDF = base64.b64encode(b"%PDF-1.4 test document").decode()


def actions_of(db, admission_id: int) -> list[str]:
    return list(
        db.scalars(
            select(AuditEvent.action)
            .where(AuditEvent.entity_type == "admission", AuditEvent.entity_id == str(admission_id))
            .order_by(AuditEvent.seq)
        )
    )


def act(client, hrss, adm_id, action, **body):
    return client.post(f"/api/v1/admissions/{adm_id}/actions/{action}", json=body, headers=hrss)


def test_full_run_to_admitted(client, hrss, db):
    body = application(
        industry_code="intracity_freight", attachments=[{"filename": "申请书.pdf", "content_base64": PDF}]
    )
    r = client.post("/api/v1/admissions", json=body, headers=hrss)
    assert r.status_code == 201, r.text
    adm = r.json()
    assert adm["state"] == "submitted" and adm["state_name"] == "已受理申请"
    assert adm["legal_actions"] == ["assess", "reject", "withdraw"]
    first = adm["steps"][0]
    assert first["action"] == "apply" and first["to_state"] == "submitted" and first["officer"].startswith("韦工")
    assert first["attachments"][0]["filename"] == "申请书.pdf" and first["attachments"][0]["size"] == len(
        b"%PDF-1.4 test document"
    )
    code = adm["platform_code"]
    plat = client.get(f"/api/v1/platforms/{code}", headers=hrss).json()
    assert plat["status"] == "applicant" and plat["base_yuan"] == "0.18" and plat["coverage_start"] is None
    assert plat["contact"]["phone"] == "138****8000"

    aid = adm["id"]
    for action, step in past_notice():
        r = act(client, hrss, aid, action, **step)
        assert r.status_code == 200, (action, r.text)
    assert r.json()["state"] == "publicised" and r.json()["notice_to"] == days(-10)
    included = days(-9)
    r = act(client, hrss, aid, "conclude", decision="include", included_from=included, comment="桂人社发〔2026〕3号")
    assert r.status_code == 200, r.text
    done = r.json()
    assert done["state"] == "admitted" and done["included_from"] == included and done["legal_actions"] == []
    assert [s["action"] for s in done["steps"]] == ["apply", "assess", "report", "consent", "publish", "conclude"]
    assert [s["to_state"] for s in done["steps"]] == [
        "submitted",
        "assessed",
        "reported",
        "consented",
        "publicised",
        "admitted",
    ]
    plat = client.get(f"/api/v1/platforms/{code}", headers=hrss).json()
    assert plat["status"] == "admitted" and plat["covered_from"] == included and plat["coverage_start"] == included
    assert actions_of(db, aid) == [
        "admission.apply",
        "admission.assess",
        "admission.report",
        "admission.consent",
        "admission.publish",
        "admission.conclude",
    ]
    last = db.scalar(
        select(AuditEvent).where(
            AuditEvent.entity_type == "admission",
            AuditEvent.entity_id == str(aid),
            AuditEvent.action == "admission.conclude",
        )
    )
    assert last.before == {"state": "publicised"} and last.after["platform_status"] == "admitted"
    # further actions are refused
    r = act(client, hrss, aid, "withdraw")
    assert r.status_code == 409 and r.json()["error"]["code"] == "illegal_transition"
    assert "已纳入试点" in r.json()["error"]["reason"] and "withdraw" in r.json()["error"]["reason"]


def test_default_base_comes_from_the_industry(client, hrss):
    for industry, base in [("ride_hailing", "0.01"), ("instant_delivery", "0.07")]:
        adm = client.post("/api/v1/admissions", json=application(industry_code=industry), headers=hrss).json()
        assert client.get(f"/api/v1/platforms/{adm['platform_code']}", headers=hrss).json()["base_yuan"] == base
    adm = client.post("/api/v1/admissions", json=application(base_yuan="0.25"), headers=hrss).json()
    assert client.get(f"/api/v1/platforms/{adm['platform_code']}", headers=hrss).json()["base_yuan"] == "0.25"


def test_reject_at_a_middle_step_needs_a_reason(client, hrss, run_admission, db):
    adm = run_admission(TO_CONSENTED[:2])
    assert adm["state"] == "reported"
    r = act(client, hrss, adm["id"], "reject", comment="")
    assert r.status_code == 400 and r.json()["error"]["field"] == "reason"
    r = act(client, hrss, adm["id"], "reject", reason="经营规模不符合试点条件")
    assert r.status_code == 200, r.text
    assert r.json()["state"] == "rejected" and r.json()["rejection_reason"] == "经营规模不符合试点条件"
    assert "理由：经营规模不符合试点条件" in r.json()["steps"][-1]["comment"]
    plat = client.get(f"/api/v1/platforms/{adm['platform_code']}", headers=hrss).json()
    assert plat["status"] == "rejected" and plat["coverage_start"] is None
    assert actions_of(db, adm["id"])[-1] == "admission.reject"
    assert act(client, hrss, adm["id"], "assess", decision="pass").status_code == 409


def test_failed_assessment_and_refused_consent(client, hrss, run_admission):
    adm = run_admission()
    r = act(client, hrss, adm["id"], "assess", decision="fail")
    assert r.status_code == 400 and r.json()["error"]["field"] == "reason"
    r = act(client, hrss, adm["id"], "assess", decision="fail", reason="不具备试点条件")
    assert r.json()["state"] == "rejected"
    adm = run_admission(TO_CONSENTED[:2])
    r = act(client, hrss, adm["id"], "consent", decision="refused", reason="国家有关部门不同意")
    assert r.json()["state"] == "rejected"


def test_withdraw(client, hrss, run_admission):
    adm = run_admission(TO_CONSENTED[:1])
    r = act(client, hrss, adm["id"], "withdraw", comment="申请人来函撤回")
    assert r.status_code == 200 and r.json()["state"] == "withdrawn"
    assert client.get(f"/api/v1/platforms/{adm['platform_code']}", headers=hrss).json()["status"] == "withdrawn"


def test_illegal_and_unknown_actions(client, hrss, run_admission):
    adm = run_admission()
    r = act(client, hrss, adm["id"], "publish", notice_from=days(0), notice_to=days(10))
    assert r.status_code == 409 and r.json()["error"]["code"] == "illegal_transition"
    assert "已受理申请" in r.json()["error"]["reason"]
    r = act(client, hrss, adm["id"], "approve")
    assert r.status_code == 400 and r.json()["error"]["field"] == "action"
    r = act(client, hrss, adm["id"], "assess", decision="maybe")
    assert r.status_code == 400 and r.json()["error"]["field"] == "decision"
    r = act(client, hrss, adm["id"], "assess", decision="pass", unexpected="x")
    assert r.status_code == 422 and r.json()["error"]["field"] == "unexpected"


def test_report_needs_the_document_number(client, hrss, run_admission):
    adm = run_admission(TO_CONSENTED[:1])
    r = act(client, hrss, adm["id"], "report", comment=" ")
    assert r.status_code == 400 and r.json()["error"]["field"] == "comment"


def test_publish_needs_a_long_enough_notice(client, hrss, run_admission):
    from oip.platforms.admission import NOTICE_MIN_DAYS

    adm = run_admission(TO_CONSENTED)
    r = act(client, hrss, adm["id"], "publish", notice_from=days(0), notice_to=days(NOTICE_MIN_DAYS - 2))
    assert r.status_code == 400 and r.json()["error"]["field"] == "notice_to"
    r = act(client, hrss, adm["id"], "publish", notice_from=days(0))
    assert r.status_code == 400 and r.json()["error"]["field"] == "notice_to"
    r = act(client, hrss, adm["id"], "publish", notice_from=days(-61), notice_to=days(-50))
    assert r.status_code == 400 and r.json()["error"]["field"] == "notice_from"  # before the application
    r = act(client, hrss, adm["id"], "publish", notice_from=days(0), notice_to=days(NOTICE_MIN_DAYS - 1))
    assert r.status_code == 200 and r.json()["state"] == "publicised"


def test_conclude_refused_before_the_notice_period_ends(client, hrss, run_admission):
    adm = run_admission(current_notice())
    r = act(client, hrss, adm["id"], "conclude", decision="include", included_from=days(30))
    assert r.status_code == 409 and r.json()["error"]["field"] == "notice_to"
    assert client.get(f"/api/v1/admissions/{adm['id']}", headers=hrss).json()["state"] == "publicised"


def test_conclude_refused_while_objections_are_unresolved(client, hrss, run_admission, db):
    adm = run_admission(past_notice())
    aid = adm["id"]
    r = client.post(
        f"/api/v1/admissions/{aid}/objections",
        headers=hrss,
        json={
            "received_on": days(-15),
            "objector": "某配送员",
            "content": "平台拖欠报酬",
            "attachments": [{"filename": "来信.jpg", "content_base64": base64.b64encode(b"\xff\xd8jpeg").decode()}],
        },
    )
    assert r.status_code == 201, r.text
    objection = r.json()["objections"][0]
    assert objection["upheld"] is None and r.json()["state"] == "publicised"
    assert r.json()["steps"][-1]["action"] == "record_objection"
    r = act(client, hrss, aid, "conclude", decision="include", included_from=days(1))
    assert r.status_code == 409 and r.json()["error"]["field"] == "objections"

    r = client.post(
        f"/api/v1/admissions/{aid}/objections/{objection['id']}/resolve",
        headers=hrss,
        json={"upheld": True, "resolution": "经核实，反映情况属实"},
    )
    assert r.status_code == 200, r.text
    assert r.json()["objections"][0]["upheld"] is True and r.json()["state"] == "publicised"
    r = client.post(
        f"/api/v1/admissions/{aid}/objections/{objection['id']}/resolve",
        headers=hrss,
        json={"upheld": False, "resolution": "再次处理"},
    )
    assert r.status_code == 409

    # an upheld objection leaves only a rejection
    r = act(client, hrss, aid, "conclude", decision="include", included_from=days(1))
    assert r.status_code == 409 and r.json()["error"]["field"] == "decision"
    r = act(client, hrss, aid, "conclude", decision="reject", reason="公示期异议经核实成立")
    assert r.status_code == 200 and r.json()["state"] == "rejected"
    assert actions_of(db, aid)[-3:] == [
        "admission.record_objection",
        "admission.resolve_objection",
        "admission.conclude",
    ]


def test_objection_not_upheld_then_include(client, hrss, run_admission):
    adm = run_admission(past_notice())
    aid = adm["id"]
    oid = client.post(
        f"/api/v1/admissions/{aid}/objections",
        headers=hrss,
        json={"received_on": days(-12), "objector": "市民", "content": "疑问"},
    ).json()["objections"][0]["id"]
    client.post(
        f"/api/v1/admissions/{aid}/objections/{oid}/resolve",
        headers=hrss,
        json={"upheld": False, "resolution": "经核实不成立"},
    )
    r = act(client, hrss, aid, "conclude", decision="include", included_from=days(-10))
    assert r.status_code == 400 and r.json()["error"]["field"] == "included_from"  # not after the notice
    r = act(client, hrss, aid, "conclude", decision="include")
    assert r.status_code == 400 and r.json()["error"]["field"] == "included_from"
    r = act(client, hrss, aid, "conclude", decision="include", included_from=days(-9))
    assert r.status_code == 200 and r.json()["state"] == "admitted"


@pytest.mark.parametrize("received,field", [(-25, "received_on"), (-5, "received_on"), (1, "received_on")])
def test_objection_must_arrive_within_the_notice_period(client, hrss, run_admission, received, field):
    adm = run_admission(past_notice())
    r = client.post(
        f"/api/v1/admissions/{adm['id']}/objections",
        headers=hrss,
        json={"received_on": days(received), "objector": "x", "content": "y"},
    )
    assert r.status_code == 400 and r.json()["error"]["field"] == field


def test_objections_only_during_publicity(client, hrss, run_admission):
    adm = run_admission(TO_CONSENTED)
    r = client.post(
        f"/api/v1/admissions/{adm['id']}/objections",
        headers=hrss,
        json={"received_on": days(0), "objector": "x", "content": "y"},
    )
    assert r.status_code == 409


def test_apply_validation_writes_nothing(client, hrss, db, run_admission):
    from oip.platforms.models import Admission, Platform

    taken = run_admission()

    def count():
        return db.scalar(select(func.count()).select_from(Platform)), db.scalar(
            select(func.count()).select_from(Admission)
        )

    before = count()
    cases = [
        ({"code": taken["platform_code"]}, 409, "code"),
        ({"uscc": "91450100123456789X"}, 400, "uscc"),
        ({"industry_code": "nope"}, 400, "industry_code"),
        ({"base_yuan": "0"}, 400, "base_yuan"),
        ({"applied_on": days(1)}, 400, "applied_on"),
        ({"contact_phone": "110"}, 400, "contact_phone"),
        ({"headquarters": ""}, 400, "headquarters"),
        ({"contact_name": ""}, 400, "contact_name"),
        ({"attachments": [{"filename": "x.exe", "content_base64": PDF}]}, 400, "attachments"),
        ({"attachments": [{"filename": "x.pdf", "content_base64": "!!"}]}, 400, "attachments"),
    ]
    for over, status, field in cases:
        r = client.post("/api/v1/admissions", json=application(**over), headers=hrss)
        assert (r.status_code, r.json()["error"]["field"]) == (status, field), (over, r.text)
    db.rollback()
    assert count() == before


def test_attachment_too_large_is_413(client, hrss, monkeypatch):
    from oip.core import config

    monkeypatch.setattr(config.get_settings(), "upload_max_bytes", 10)
    r = client.post(
        "/api/v1/admissions",
        headers=hrss,
        json=application(attachments=[{"filename": "big.pdf", "content_base64": base64.b64encode(b"x" * 11).decode()}]),
    )
    assert r.status_code == 413 and r.json()["error"]["code"] == "too_large"


def test_attachment_download(client, hrss, run_admission):
    adm = client.post(
        "/api/v1/admissions",
        headers=hrss,
        json=application(attachments=[{"filename": "材料 一.docx", "content_base64": PDF}]),
    ).json()
    att = adm["steps"][0]["attachments"][0]
    assert att["content_type"].endswith("wordprocessingml.document")
    r = client.get(att["url"], headers=bearer("gx_union"))
    assert r.status_code == 200 and r.content == base64.b64decode(PDF)
    assert r.headers["content-disposition"] == "attachment; filename*=UTF-8''%E6%9D%90%E6%96%99%20%E4%B8%80.docx"
    assert client.get(att["url"], headers=bearer("meituan_admin")).status_code == 403
    assert client.get("/api/v1/attachments/987654321", headers=hrss).status_code == 404


def test_reading_and_deciding_permissions(client, hrss, run_admission):
    adm = run_admission()
    for user in ("nn_hrss", "gx_union", "gx_transport", "nn_si"):
        assert client.get(f"/api/v1/admissions/{adm['id']}", headers=bearer(user)).status_code == 200
        assert act(client, bearer(user), adm["id"], "assess", decision="pass").status_code == 403
    for user in ("meituan_admin", "gx_tax", "insurer_a", "worker_demo"):
        assert client.get("/api/v1/admissions", headers=bearer(user)).status_code == 403
    assert client.post("/api/v1/admissions", json=application(), headers=bearer("gx_si")).status_code == 403


def test_list_filters_by_state(client, hrss, run_admission):
    adm = run_admission(TO_CONSENTED[:1])
    rows = client.get("/api/v1/admissions?state=assessed", headers=hrss).json()
    assert adm["id"] in [a["id"] for a in rows] and {a["state"] for a in rows} == {"assessed"}
    r = client.get("/api/v1/admissions?state=bogus", headers=hrss)
    assert r.status_code == 400 and r.json()["error"]["field"] == "state"


def test_demo_applicants(client, hrss):
    rows = {a["platform_code"]: a for a in client.get("/api/v1/admissions", headers=hrss).json()}
    guijie, bagui = rows["guijie"], rows["bagui"]
    assert guijie["state"] == "reported" and guijie["platform_name"] == "桂捷出行"
    assert bagui["state"] == "publicised" and bagui["platform_name"] == "八桂快送"
    t = today()
    assert dt.date.fromisoformat(bagui["notice_from"]) <= t <= dt.date.fromisoformat(bagui["notice_to"])
    detail = client.get(f"/api/v1/admissions/{bagui['id']}", headers=hrss).json()
    assert len(detail["objections"]) == 1 and detail["objections"][0]["upheld"] is None
    assert client.get("/api/v1/platforms/guijie", headers=hrss).json()["status"] == "applicant"
