"""From the application to the acceptance through the API: the application limits across the 2025
National Day holiday, materials uploaded and refused by content, the one-time correction notice that
stops the decision clock, acceptance with its decision due date, refusal, stale versions and scope."""

from __future__ import annotations

from tests.cases._intake_support import case_json, counts, jpeg, new_case, pdf, png, today
from tests.conftest import bearer


def post(client, user: str, url: str, json: dict | None = None, at: str | None = None):
    if at:
        with today(at):
            return client.post(f"/api/v1/cases{url}", json=json or {}, headers=bearer(user))
    return client.post(f"/api/v1/cases{url}", json=json or {}, headers=bearer(user))


def upload(client, user: str, case_id: int, name: str, content: bytes, requirement: str, at: str | None = None, **data):
    files = {"file": (name, content, "application/octet-stream")}
    h = bearer(user)
    if at:
        with today(at):
            return client.post(
                f"/api/v1/cases/{case_id}/documents", files=files, data={"requirement": requirement, **data}, headers=h
            )
    return client.post(
        f"/api/v1/cases/{case_id}/documents", files=files, data={"requirement": requirement, **data}, headers=h
    )


def applied(client, user: str = "meituan_admin", at: str = "2025-09-30T16:00") -> int:
    """A case injured 2025-09-30 10:00, reported and applied for by the platform the same day."""
    cid = new_case(client, user)["case_id"]
    r = post(client, user, f"/{cid}/application", {"applicant": "platform"}, at=at)
    assert r.status_code == 200, r.text
    return cid


# ---- application ----------------------------------------------------------------------------------


def test_the_platform_applies_within_three_working_days_across_national_day(client):
    # injured Tuesday 09-30; 10-01 … 10-08 off; Saturday 10-11 is a working day: the 3rd is 10-11
    cid = new_case(client)["case_id"]
    r = post(client, "meituan_admin", f"/{cid}/application", {"applicant": "platform"}, at="2025-10-11")
    assert r.status_code == 200, r.text
    c = r.json()
    assert (c["state"], c["applicant"], c["applied_on"], c["late_explanation"]) == (
        "applied",
        "platform",
        "2025-10-11",
        None,
    )
    assert c["next_due"] == "2025-10-17"  # the office accepts or refuses within 5 working days


def test_a_late_platform_application_needs_its_explanation(client):
    cid = new_case(client)["case_id"]
    before = counts()
    r = post(client, "meituan_admin", f"/{cid}/application", {"applicant": "platform"}, at="2025-10-13")
    assert r.status_code == 400, r.text
    err = r.json()["error"]
    assert err["field"] == "explanation" and "2025-10-11" in err["reason"]
    assert counts() == before
    r = post(
        client,
        "meituan_admin",
        f"/{cid}/application",
        {"applicant": "platform", "explanation": "事故发生后骑手住院，站点 10 月 13 日才获知"},
        at="2025-10-13",
    )
    assert r.status_code == 200, r.text
    assert r.json()["late_explanation"].startswith("事故发生后骑手住院")


def test_who_may_apply_as_whom(client):
    cid = new_case(client)["case_id"]
    # a platform applies as the platform; its submitted_on is today
    r = post(client, "meituan_admin", f"/{cid}/application", {"applicant": "worker"}, at="2025-10-09")
    assert r.status_code == 400 and r.json()["error"]["field"] == "applicant"
    r = post(
        client,
        "meituan_admin",
        f"/{cid}/application",
        {"applicant": "platform", "submitted_on": "2025-10-01"},
        at="2025-10-09",
    )
    assert r.status_code == 400 and r.json()["error"]["field"] == "submitted_on"
    # another platform does not see the case at all
    r = post(client, "didi_admin", f"/{cid}/application", {"applicant": "platform"}, at="2025-10-09")
    assert r.status_code == 404
    # staff register a relative's paper application with its real date: 30 days, not late
    r = post(
        client, "qx_si", f"/{cid}/application", {"applicant": "relative", "submitted_on": "2025-10-13"}, at="2025-10-20"
    )
    assert r.status_code == 200, r.text
    assert (r.json()["applicant"], r.json()["applied_on"], r.json()["late_explanation"]) == (
        "relative",
        "2025-10-13",
        None,
    )
    # not twice
    r = post(client, "qx_si", f"/{cid}/application", {"applicant": "union"}, at="2025-10-20")
    assert r.status_code == 409


def test_paper_dates_are_real_dates(client):
    cid = new_case(client)["case_id"]
    for day in ("2025-09-29", "2025-10-21"):  # before the injury; after today
        r = post(client, "qx_si", f"/{cid}/application", {"applicant": "union", "submitted_on": day}, at="2025-10-20")
        assert r.status_code == 400 and r.json()["error"]["field"] == "submitted_on", r.text


def test_the_worker_applies_for_their_own_case(client):
    from tests.cases._intake_support import body, report, worker_demo_accounts

    code, account = worker_demo_accounts()[0]
    cid = report(client, "worker_demo", body(account, platform_code=code)).json()["case_id"]
    r = post(client, "worker_demo", f"/{cid}/application", {"applicant": "platform"}, at="2025-10-20")
    assert r.status_code == 400 and r.json()["error"]["field"] == "applicant"
    r = post(
        client, "worker_demo", f"/{cid}/application", {"applicant": "worker", "outpatient_only": True}, at="2025-10-20"
    )
    assert r.status_code == 200, r.text
    assert r.json()["outpatient_only"] is True
    docs = client.get(f"/api/v1/cases/{cid}/documents", headers=bearer("worker_demo")).json()
    assert docs["checklist"] == "outpatient" and len(docs["missing"]) == 5


# ---- materials ------------------------------------------------------------------------------------


def test_uploads_are_judged_by_content_stored_once_and_listed_with_the_checklist(client):
    cid = applied(client)
    r = upload(client, "meituan_admin", cid, "申请表.pdf", pdf(), "application_form")
    assert r.status_code == 201, r.text
    doc = r.json()
    assert (doc["content_type"], doc["size"], doc["created"], doc["requirement_name"]) == (
        "application/pdf",
        len(pdf()),
        True,
        "职业伤害确认申请表",
    )
    # the same bytes again for the same item: the stored row, no duplicate
    again = upload(client, "meituan_admin", cid, "申请表(1).pdf", pdf(), "application_form")
    assert again.status_code == 200 and again.json()["id"] == doc["id"] and again.json()["created"] is False
    # a new version is a new row, never an overwrite
    assert (
        upload(client, "meituan_admin", cid, "申请表-v2.pdf", pdf(b"/Lang (zh) "), "application_form").status_code
        == 201
    )
    assert upload(client, "qx_si", cid, "身份证.jpg", jpeg(), "identity").status_code == 201
    assert upload(client, "meituan_admin", cid, "诊断.png", png(), "medical_diagnosis").status_code == 201

    r = client.get(f"/api/v1/cases/{cid}/documents", headers=bearer("qx_hrss"))
    assert r.status_code == 200, r.text
    docs = r.json()
    items = {i["requirement"]: i for i in docs["items"]}
    assert len(items["application_form"]["documents"]) == 2 and items["identity"]["present"]
    assert [m["requirement"] for m in docs["missing"]] == ["accident_account"]

    r = client.get(f"/api/v1/cases/{cid}/documents/{doc['id']}", headers=bearer("qx_hrss"))
    assert r.status_code == 200 and r.content == pdf() and r.headers["content-type"] == "application/pdf"
    assert "attachment" in r.headers["content-disposition"]
    for user in ("lz_hrss", "didi_admin"):
        assert client.get(f"/api/v1/cases/{cid}/documents/{doc['id']}", headers=bearer(user)).status_code == 404
    events = [e["action"] for e in case_json(client, cid)["timeline"]]
    assert events.count("document_upload") == 4


def test_uploads_refused_by_content(client):
    cid = applied(client)
    before = counts()
    for name, content, status in [
        ("empty.pdf", b"", 400),
        ("setup.pdf", b"MZ" + b"\x00" * 200, 400),
        ("page.pdf", b"<html><script>alert(1)</script></html>", 400),
        ("active.pdf", pdf(b"/OpenAction << /S /JavaScript /JS (app.alert(1)) >> "), 400),
        ("photo.jpg", pdf(), 400),
    ]:
        r = upload(client, "meituan_admin", cid, name, content, "application_form")
        assert r.status_code == status, (name, r.text)
        assert r.json()["error"]["field"] == "file"
    r = upload(client, "meituan_admin", cid, "a.pdf", pdf(), "nonsense")
    assert r.status_code == 400 and r.json()["error"]["field"] == "requirement"
    assert counts() == before


def test_a_file_over_the_size_limit_is_refused(client):
    from oip.core.config import get_settings

    cid = applied(client)
    big = pdf()[:-6] + b"0" * (get_settings().upload_max_bytes) + b"\n%%EOF\n"
    r = upload(client, "meituan_admin", cid, "big.pdf", big, "application_form")
    assert r.status_code == 413 and r.json()["error"]["field"] == "file"


# ---- correction notice ----------------------------------------------------------------------------


def accepted(client, on: str = "2025-09-30", simple: bool = False) -> int:
    cid = applied(client)
    r = post(client, "qx_hrss", f"/{cid}/acceptance", {"accepted_on": on, "simple": simple}, at="2025-10-09")
    assert r.status_code == 200, r.text
    return cid


def test_acceptance_sets_the_decision_due_date_on_the_official_calendar(client):
    c = case_json(client, accepted(client))
    # accepted, and offered at once to the insurer contracted for investigation in 南宁
    assert (c["state"], c["accepted_on"], c["received_on"], c["decision_due"]) == (
        "investigating",
        "2025-09-30",
        "2025-09-30",
        "2025-11-18",
    )
    assert [e["action"] for e in c["timeline"]] == ["report", "apply", "accept", "offer_investigation", "letter_issue"]
    assert case_json(client, accepted(client, simple=True))["decision_due"] == "2025-10-16"


def test_acceptance_dates_are_checked(client):
    cid = applied(client)
    for data, field in [
        ({"accepted_on": "2025-09-29"}, "accepted_on"),  # before the application (and its receipt)
        ({"accepted_on": "2025-10-10"}, "accepted_on"),  # in the future
        ({"received_on": "2025-10-01", "accepted_on": "2025-09-30"}, "accepted_on"),  # before the receipt
        ({"received_on": "2025-09-29"}, "received_on"),
    ]:
        r = post(client, "qx_hrss", f"/{cid}/acceptance", data, at="2025-10-09")
        assert r.status_code == 400 and r.json()["error"]["field"] == field, (data, r.text)
    # only an officer of the jurisdiction (or above) accepts
    assert post(client, "lz_hrss", f"/{cid}/acceptance", {}, at="2025-10-09").status_code == 404
    assert post(client, "qx_si", f"/{cid}/acceptance", {}, at="2025-10-09").status_code == 403
    assert post(client, "meituan_admin", f"/{cid}/acceptance", {}, at="2025-10-09").status_code == 403
    assert (
        post(client, "nn_hrss", f"/{cid}/acceptance", {"accepted_on": "2025-10-09"}, at="2025-10-09").status_code == 200
    )


def test_the_correction_notice_stops_the_clock_and_fulfilment_resumes_it(client):
    cid = accepted(client)
    assert case_json(client, cid)["decision_due"] == "2025-11-18"
    # every missing item at once: listing one of four is refused
    r = post(client, "qx_hrss", f"/{cid}/correction", {"items": [{"requirement": "identity"}]}, at="2025-10-09")
    assert r.status_code == 400 and "事故经过说明" in r.json()["error"]["reason"]
    items = [
        {"requirement": "application_form", "note": "须本人签字"},
        {"requirement": "identity", "note": ""},
        {"requirement": "medical_diagnosis", "note": "首诊病历"},
        {"requirement": "accident_account", "note": "平台盖章"},
    ]
    r = post(client, "qx_hrss", f"/{cid}/correction", {"items": items}, at="2025-10-09")
    assert r.status_code == 201, r.text
    notice, c = r.json()["notice"], r.json()["case"]
    assert (notice["issued_on"], notice["due_on"]) == ("2025-10-09", "2025-11-10")  # 30 days: 11-08 is a Saturday
    assert (c["state"], c["decision_due"], c["next_due"]) == ("correction", None, "2025-11-10")
    assert c["clock"]["suspended"] is True
    # one open notice at a time; materials must arrive before fulfilment
    assert post(client, "qx_hrss", f"/{cid}/correction", {"items": items}, at="2025-10-10").status_code == 409
    r = post(client, "qx_hrss", f"/{cid}/correction/fulfil", {}, at="2025-10-14")
    assert r.status_code == 400 and "职业伤害确认申请表" in r.json()["error"]["reason"]
    for code, name, content in [
        ("application_form", "申请表.pdf", pdf()),
        ("identity", "身份证.jpg", jpeg(1)),
        ("medical_diagnosis", "诊断.png", png()),
        ("accident_account", "经过.pdf", pdf(b"/Title (x) ")),
    ]:
        r = upload(client, "meituan_admin", cid, name, content, code, at="2025-10-13")
        assert r.status_code == 201, r.text
    r = post(client, "qx_hrss", f"/{cid}/correction/fulfil", {"fulfilled_on": "2025-10-14"}, at="2025-10-14")
    assert r.status_code == 200, r.text
    c = r.json()["case"]
    # suspended 10-09 … 10-14: Thu, Fri, Sat (worked), Mon, Tue = 5 working days → 11-18 + 5 = 11-25
    assert (c["state"], c["decision_due"], c["clock"]["suspended_working_days"]) == ("investigating", "2025-11-25", 5)
    assert r.json()["notice"]["fulfilled_on"] == "2025-10-14"
    actions = [e["action"] for e in case_json(client, cid)["timeline"]]
    assert actions[-2:] == ["document_upload", "materials_received"] and "request_correction" in actions
    # 一次性告知: no second notice on the same case
    r = post(client, "qx_hrss", f"/{cid}/correction", {"items": items}, at="2025-10-15")
    assert r.status_code == 409 and "已一次性告知" in r.json()["error"]["reason"]


def test_a_correction_before_acceptance_restarts_the_acceptance_period(client):
    cid = applied(client)
    items = [{"requirement": r} for r in ("application_form", "identity", "medical_diagnosis", "accident_account")]
    assert post(client, "qx_hrss", f"/{cid}/correction", {"items": items}, at="2025-10-09").status_code == 201
    for code in ("application_form", "identity", "medical_diagnosis", "accident_account"):
        assert upload(client, "qx_si", cid, f"{code}.jpg", jpeg(len(code)), code, at="2025-10-15").status_code == 201
    r = post(client, "qx_hrss", f"/{cid}/correction/fulfil", {}, at="2025-10-15")
    assert r.status_code == 200, r.text
    c = r.json()["case"]
    assert (c["state"], c["received_on"], c["next_due"]) == ("applied", "2025-10-15", "2025-10-22")
    r = post(client, "qx_hrss", f"/{cid}/acceptance", {}, at="2025-10-16")
    assert r.json()["received_on"] == "2025-10-15" and r.json()["accepted_on"] == "2025-10-16"


# ---- refusal, versions ----------------------------------------------------------------------------


def test_refusal_with_a_code_and_reasons(client):
    cid = applied(client)
    r = post(client, "qx_hrss", f"/{cid}/refusal", {"code": "F9", "reason": "x"}, at="2025-10-09")
    assert r.status_code == 400 and r.json()["error"]["field"] == "code"
    r = post(client, "qx_hrss", f"/{cid}/refusal", {"code": "F5", "reason": "  "}, at="2025-10-09")
    assert r.status_code == 400 and r.json()["error"]["field"] == "reason"
    r = post(
        client,
        "qx_hrss",
        f"/{cid}/refusal",
        {"code": "F5", "reason": "同一事故已由本人另案申请", "refused_on": "2025-10-09"},
        at="2025-10-09",
    )
    assert r.status_code == 200, r.text
    c = r.json()
    assert (c["state"], c["waiting_on"], c["next_due"]) == ("refused", "appeal_window", "2025-12-08")
    steps = case_json(client, cid)["timeline"]
    last = next(e for e in reversed(steps) if e["action"] == "refuse")
    assert last["detail"]["code"] == "F5" and "同一事故" in last["note"]
    assert steps[-1]["action"] == "letter_issue"  # the 不予受理通知书, made at once


def test_a_refusal_ends_a_pending_correction(client):
    cid = applied(client)
    items = [{"requirement": r} for r in ("application_form", "identity", "medical_diagnosis", "accident_account")]
    assert post(client, "qx_hrss", f"/{cid}/correction", {"items": items}, at="2025-10-09").status_code == 201
    r = post(client, "qx_hrss", f"/{cid}/refusal", {"code": "F4", "reason": "逾期未补正"}, at="2025-11-20")
    assert r.status_code == 200 and r.json()["state"] == "refused"
    assert r.json()["clock"] is None


def test_a_stale_version_is_a_conflict_not_an_overwrite(client):
    cid = new_case(client)["case_id"]
    v = case_json(client, cid)["version"]
    assert upload(client, "meituan_admin", cid, "a.pdf", pdf(), "application_form", version=str(v)).status_code == 201
    before = counts()
    r = post(client, "meituan_admin", f"/{cid}/application", {"applicant": "platform", "version": v}, at="2025-10-09")
    assert r.status_code == 409 and r.json()["error"]["field"] == "version"
    assert counts() == before
    r = post(
        client, "meituan_admin", f"/{cid}/application", {"applicant": "platform", "version": v + 1}, at="2025-10-09"
    )
    assert r.status_code == 200, r.text
    r = post(client, "qx_hrss", f"/{cid}/acceptance", {"version": v + 1}, at="2025-10-09")
    assert r.status_code == 409


def test_didi_cannot_touch_a_meituan_case(client):
    cid = applied(client)
    assert upload(client, "didi_admin", cid, "a.pdf", pdf(), "application_form").status_code == 404
    assert client.get(f"/api/v1/cases/{cid}/documents", headers=bearer("didi_admin")).status_code == 404
    assert upload(client, "insurer_a", cid, "a.pdf", pdf(), "application_form").status_code == 403


def test_hooks_for_investigation_and_letters_run_in_the_step(client, monkeypatch):
    from oip.cases import intake

    seen = []
    monkeypatch.setattr(intake, "ON_ACCEPT", [lambda s, actor, case: seen.append(("accept", case.id, case.state))])
    monkeypatch.setattr(
        intake, "ON_LETTER", [lambda s, actor, case, kind, source, on: seen.append((kind, case.id, on.isoformat()))]
    )
    cid = applied(client)
    items = [{"requirement": r} for r in ("application_form", "identity", "medical_diagnosis", "accident_account")]
    assert post(client, "qx_hrss", f"/{cid}/correction", {"items": items}, at="2025-10-09").status_code == 201
    assert (
        post(client, "qx_hrss", f"/{cid}/refusal", {"code": "F4", "reason": "逾期"}, at="2025-11-20").status_code == 200
    )
    other = applied(client)
    assert post(client, "qx_hrss", f"/{other}/acceptance", {}, at="2025-10-09").status_code == 200
    assert seen == [
        ("correction", cid, "2025-10-09"),
        ("refusal", cid, "2025-11-20"),
        ("accept", other, "accepted"),
        ("acceptance", other, "2025-10-09"),
    ]


def test_reading_a_document_is_audited(client):
    from sqlalchemy import select

    from oip.core.audit_models import AuditEvent
    from oip.core.db import session_scope

    cid = applied(client)
    doc = upload(client, "meituan_admin", cid, "a.pdf", pdf(b"/Subject (audit) "), "application_form").json()
    assert client.get(f"/api/v1/cases/{cid}/documents/{doc['id']}", headers=bearer("nn_hrss")).status_code == 200
    with session_scope() as s:
        e = s.scalars(
            select(AuditEvent).where(
                AuditEvent.action == "case.document_download", AuditEvent.entity_id == str(doc["id"])
            )
        ).one()
        assert e.actor.startswith("nn_hrss") and e.subjects
