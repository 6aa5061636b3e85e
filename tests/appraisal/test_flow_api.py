"""An appraisal on a case through the API, end to end: the platform applies after treatment ended,
the city committee accepts, draws its panel (ties and the earlier panel stand aside; the draw is
reproducible), extends once and concludes; a re-appraisal at the regional committee is final and
closes the case; a review a year later. Deadlines on the injectable clock, scope of every step."""

from __future__ import annotations

import datetime as dt

from oip.cases.deadlines import calendar_deadline
from oip.core import clock
from tests.appraisal.conftest import confirmed_case, days_from_today, new_expert, person_id_number
from tests.conftest import bearer


def _apply(client, cid, user="meituan_admin", **body):
    body.setdefault("treatment_ended_on", days_from_today(-10))
    return client.post(f"/api/v1/cases/{cid}/appraisals", json=body, headers=bearer(user))


def _accept(client, aid, user="nn_hrss", **body):
    body.setdefault("needed_specialties", ["orthopaedics"])
    return client.post(f"/api/v1/appraisals/{aid}/acceptance", json=body, headers=bearer(user))


def _case(client, cid, user="nn_hrss"):
    return client.get(f"/api/v1/cases/{cid}", headers=bearer(user)).json()


def test_the_whole_flow(client):
    cid = confirmed_case(county="450103", platform="meituan")
    number = person_id_number(cid)
    # Experts the draw must leave out: one tied to the platform, one to the person.
    tied_platform = new_expert(client, "nn_hrss", specialty_code="orthopaedics")
    client.post(
        f"/api/v1/appraisal/experts/{tied_platform['id']}/ties",
        json={"platform_code": "meituan", "relation": "平台企业医疗顾问"},
        headers=bearer("nn_hrss"),
    )
    tied_person = new_expert(client, "nn_hrss", specialty_code="orthopaedics")
    client.post(
        f"/api/v1/appraisal/experts/{tied_person['id']}/ties",
        json={"id_number": number, "person_name": "亲属", "relation": "近亲属"},
        headers=bearer("nn_hrss"),
    )

    # The platform applies after treatment ended.
    r = _apply(client, cid, statement="右前臂骨折术后，伤情稳定")
    assert r.status_code == 201, r.text
    a = r.json()
    assert (a["kind"], a["applicant"], a["committee_code"], a["status"]) == ("initial", "platform", "450100", "applied")
    assert a["committee_name"] == "南宁市劳动能力鉴定委员会" and a["case_state"] == "appraisal"
    assert a["number"].startswith(f"JD{clock.today().year}450100")
    c = _case(client, cid)
    assert c["state"] == "appraisal" and c["waiting_on"] == "appraisal_conclusion"
    assert c["next_due"] is None  # the 60 days run from the committee's acceptance, not from the application
    assert _apply(client, cid).status_code == 409  # already in appraisal

    # Nobody but the committee's officers accepts.
    for user, status in [
        ("gx_hrss", 403),
        ("qx_hrss", 403),
        ("lz_hrss", 404),
        ("meituan_admin", 403),
        ("insurer_a", 403),
        ("worker_demo", 403),
    ]:
        assert _accept(client, a["id"], user).status_code == status, user
    r = _accept(client, a["id"], needed_specialties=["orthopaedics", "neurology"], panel_size=3, version=c["version"])
    assert r.status_code == 200, r.text
    a = r.json()
    due = calendar_deadline(clock.today(), 60)
    assert (a["status"], a["accepted_on"], a["due_on"]) == ("accepted", clock.today().isoformat(), due.isoformat())
    assert [s["name"] for s in a["needed_specialties"]] == ["神经内科", "骨科"]
    assert _case(client, cid)["next_due"] == due.isoformat()
    assert _accept(client, a["id"]).status_code == 409

    # A stale version is a conflict, not a silent overwrite.
    r = client.post(f"/api/v1/appraisals/{a['id']}/panel", json={"version": 1}, headers=bearer("nn_hrss"))
    assert r.status_code == 409 and r.json()["error"]["field"] == "version"
    r = client.post(
        f"/api/v1/appraisals/{a['id']}/conclusion", json={"grade": 8, "dependency": "none"}, headers=bearer("nn_hrss")
    )
    assert r.status_code == 409 and "尚未抽取专家组" in r.json()["error"]["reason"]

    r = client.post(f"/api/v1/appraisals/{a['id']}/panel", json={}, headers=bearer("nn_hrss"))
    assert r.status_code == 201, r.text
    a = r.json()
    panel = a["panel"]
    assert len(panel) == 3 and {"骨科", "神经内科"} <= {m["specialty_name"] for m in panel}
    excluded = {x["expert_id"]: x["reason"] for x in a["draw"]["excluded"]}
    assert excluded[tied_platform["id"]] == "tied_platform" and excluded[tied_person["id"]] == "tied_person"
    assert not {tied_platform["id"], tied_person["id"]} & {m["expert_id"] for m in panel}
    check = client.get(f"/api/v1/appraisals/{a['id']}/panel/check", headers=bearer("qx_hrss")).json()
    assert check["same"] is True and check["rerun_panel"] == check["panel"] == [m["expert_id"] for m in panel]
    assert check["seed"] == a["draw"]["seed"] and tied_person["id"] in check["candidates"]
    # A second draw needs a reason; the expert who cannot serve stands aside.
    r = client.post(f"/api/v1/appraisals/{a['id']}/panel", json={}, headers=bearer("nn_hrss"))
    assert r.status_code == 409 and r.json()["error"]["field"] == "reason"
    gone = next(m["expert_id"] for m in panel if m["covers"] == "orthopaedics")
    r = client.post(
        f"/api/v1/appraisals/{a['id']}/panel",
        json={"reason": "专家出差，不能参加", "unavailable_expert_ids": [gone]},
        headers=bearer("nn_hrss"),
    )
    assert r.status_code == 201 and gone not in [m["expert_id"] for m in r.json()["panel"]]
    assert r.json()["draw"]["redraws"] == 1
    assert client.get(f"/api/v1/appraisals/{a['id']}/panel/check", headers=bearer("nn_hrss")).json()["same"]

    # The parties see the appraisal, not the panel.
    seen = client.get(f"/api/v1/appraisals/{a['id']}", headers=bearer("meituan_admin"))
    assert seen.status_code == 200 and seen.json()["panel_drawn"] and seen.json()["panel"] is None
    assert seen.json()["draw"] is None
    for user in ("lz_hrss", "didi_admin", "insurer_a", "gl_si"):
        assert client.get(f"/api/v1/appraisals/{a['id']}", headers=bearer(user)).status_code == 404, user

    # One extension of 30 days, with a reason.
    r = client.post(f"/api/v1/appraisals/{a['id']}/extension", json={"reason": " "}, headers=bearer("nn_hrss"))
    assert r.status_code == 400 and r.json()["error"]["field"] == "reason"
    r = client.post(
        f"/api/v1/appraisals/{a['id']}/extension", json={"reason": "需补充影像检查"}, headers=bearer("nn_hrss")
    )
    assert r.status_code == 200, r.text
    assert (
        r.json()["due_on"] == calendar_deadline(due, 30).isoformat() and r.json()["original_due_on"] == due.isoformat()
    )
    assert _case(client, cid)["next_due"] == calendar_deadline(due, 30).isoformat()
    r = client.post(f"/api/v1/appraisals/{a['id']}/extension", json={"reason": "again"}, headers=bearer("nn_hrss"))
    assert r.status_code == 409

    # The conclusion.
    bad = client.post(
        f"/api/v1/appraisals/{a['id']}/conclusion", json={"grade": 11, "dependency": "none"}, headers=bearer("nn_hrss")
    )
    assert bad.status_code == 400 and bad.json()["error"]["field"] == "grade"
    bad = client.post(
        f"/api/v1/appraisals/{a['id']}/conclusion", json={"grade": 7, "dependency": "some"}, headers=bearer("nn_hrss")
    )
    assert bad.status_code == 400 and bad.json()["error"]["field"] == "dependency"
    for user in ("meituan_admin", "insurer_a", "worker_demo", "qx_hrss", "gx_hrss"):
        r = client.post(
            f"/api/v1/appraisals/{a['id']}/conclusion", json={"grade": 7, "dependency": "none"}, headers=bearer(user)
        )
        assert r.status_code == 403, user
    r = client.post(
        f"/api/v1/appraisals/{a['id']}/conclusion",
        json={"grade": 7, "dependency": "partial", "note": "右腕关节功能障碍"},
        headers=bearer("nn_hrss"),
    )
    assert r.status_code == 200, r.text
    concl = r.json()["conclusion"]
    assert (concl["grade_name"], concl["dependency_name"], concl["final"], concl["on_time"]) == (
        "七级伤残",
        "部分护理依赖",
        False,
        True,
    )
    assert concl["reappraisal_due"] == calendar_deadline(clock.today(), 15).isoformat()
    assert concl["review_from"] == (clock.today() + dt.timedelta(days=365)).isoformat()
    c = _case(client, cid)
    assert c["state"] == "appraised" and c["next_due"] == concl["reappraisal_due"]
    assert "conclude_appraisal" in [
        e["action"] for e in client.get(f"/api/v1/cases/{cid}", headers=bearer("qx_hrss")).json()["timeline"]
    ]
    # Closing before the window has passed is refused.
    r = client.post(f"/api/v1/appraisals/{a['id']}/closure", json={}, headers=bearer("nn_hrss"))
    assert r.status_code == 409

    # Re-appraisal at the regional committee; the earlier panel stands aside (also its member listed in
    # the regional pool).
    first = client.get(f"/api/v1/appraisals/{a['id']}", headers=bearer("nn_hrss")).json()
    panel_member = first["panel"][0]
    twin = new_expert(
        client,
        "gx_hrss",
        name=panel_member["name"],
        organisation=panel_member["organisation"],
        specialty_code="orthopaedics",
    )
    r = _apply(client, cid, kind="reappraisal", treatment_ended_on=None)
    assert r.status_code == 201, r.text
    re = r.json()
    assert (re["committee_code"], re["previous_id"], re["treatment_ended_on"]) == (
        "450000",
        a["id"],
        first["treatment_ended_on"],
    )
    assert _accept(client, re["id"], "nn_hrss").status_code == 403  # the city does not decide a re-appraisal
    assert _accept(client, re["id"], "gx_hrss", needed_specialties=["orthopaedics"]).status_code == 200
    r = client.post(f"/api/v1/appraisals/{re['id']}/panel", json={}, headers=bearer("gx_hrss"))
    assert r.status_code == 201, r.text
    r_panel = r.json()
    assert {x["expert_id"]: x["reason"] for x in r_panel["draw"]["excluded"]}[twin["id"]] == "earlier_panel"
    r = client.post(
        f"/api/v1/appraisals/{re['id']}/conclusion",
        json={"grade": "none", "dependency": "none"},
        headers=bearer("gx_hrss"),
    )
    assert r.status_code == 200, r.text
    assert r.json()["conclusion"]["grade_name"] == "未达到伤残等级" and r.json()["conclusion"]["final"] is True
    assert r.json()["conclusion"]["reappraisal_due"] is None
    assert _case(client, cid)["state"] == "closed"  # final: the case closes
    r = _apply(client, cid, kind="reappraisal")
    assert r.status_code == 409  # closed: only a review is possible
    # A review, not before a year.
    r = _apply(client, cid, kind="review")
    assert r.status_code == 400 and "一年后申请" in r.json()["error"]["reason"]
    with clock.shifted(dt.timedelta(days=365)):
        r = _apply(client, cid, kind="review", treatment_ended_on=days_from_today(-1))
        assert r.status_code == 201, r.text
        assert (r.json()["committee_code"], r.json()["kind"]) == ("450100", "review")
    listed = client.get(f"/api/v1/cases/{cid}/appraisals", headers=bearer("didi_admin"))
    assert listed.status_code == 404  # not the platform's worker
    listed = client.get(f"/api/v1/cases/{cid}/appraisals", headers=bearer("meituan_admin")).json()
    assert [x["kind"] for x in listed] == ["initial", "reappraisal", "review"]


def test_the_application_needs_treatment_to_have_ended(client):
    cid = confirmed_case(days_ago=60)
    for ended, reason in [
        (None, "请填写治疗终结"),
        (days_from_today(3), "不能晚于今天"),
        (days_from_today(-90), "不能早于受伤日期"),
    ]:
        r = _apply(client, cid, treatment_ended_on=ended)
        assert r.status_code == 400 and r.json()["error"]["field"] == "treatment_ended_on", r.text
        assert reason in r.json()["error"]["reason"]
    r = _apply(client, cid, applied_on=days_from_today(-20), treatment_ended_on=days_from_today(-10))
    assert r.status_code == 400 and r.json()["error"]["field"] == "applied_on"
    r = _apply(client, cid, applicant="agency", user="qx_si")
    assert r.status_code == 400 and r.json()["error"]["field"] == "applicant"
    r = _apply(client, cid, kind="reappraisal", user="qx_si")
    assert r.status_code == 409 and "不能申请再次鉴定" in r.json()["error"]["reason"]
    # A case not yet confirmed cannot go to appraisal.
    from tests.cases.conftest import make_case

    other = make_case(to="accepted")
    r = _apply(client, other)
    assert r.status_code == 409 and r.json()["error"]["code"] == "illegal_transition"
    # Staff register a paper application with its real date; who applied is theirs to say.
    r = _apply(client, cid, user="qx_si", applicant="relative", applied_on=days_from_today(-2))
    assert (
        r.status_code == 201 and r.json()["applicant"] == "relative" and r.json()["applied_on"] == days_from_today(-2)
    )


def test_deadlines_sixty_plus_thirty_from_a_paper_acceptance(client):
    cid = confirmed_case(days_ago=200)
    a = _apply(client, cid, applied_on=days_from_today(-50), treatment_ended_on=days_from_today(-60)).json()
    accepted = clock.today() - dt.timedelta(days=45)
    r = _accept(client, a["id"], accepted_on=accepted.isoformat())
    due = calendar_deadline(accepted, 60)
    assert r.json()["due_on"] == due.isoformat() and not r.json()["overdue"]
    assert _accept(client, a["id"], accepted_on=days_from_today(-60)).status_code == 409
    with clock.shifted(dt.timedelta(days=(due - clock.today()).days + 1)):
        late = client.get(f"/api/v1/appraisals/{a['id']}", headers=bearer("nn_hrss")).json()
        assert late["overdue"] is True
        listed = client.get("/api/v1/appraisals", params={"bucket": "overdue"}, headers=bearer("nn_hrss")).json()
        assert a["id"] in [x["id"] for x in listed["items"]]
        # The period has run out: too late to extend.
        r = client.post(f"/api/v1/appraisals/{a['id']}/extension", json={"reason": "x"}, headers=bearer("nn_hrss"))
        assert r.status_code == 409 and "届满" in r.json()["error"]["reason"]
    # Before that, extended by 30 days from the original last day.
    r = client.post(f"/api/v1/appraisals/{a['id']}/extension", json={"reason": "病情复杂"}, headers=bearer("nn_hrss"))
    assert r.json()["due_on"] == calendar_deadline(due, 30).isoformat()
    listed = client.get("/api/v1/appraisals", params={"bucket": "open"}, headers=bearer("qx_hrss")).json()
    assert a["id"] in [x["id"] for x in listed["items"]]
    other = client.get("/api/v1/appraisals", params={"bucket": "open"}, headers=bearer("lz_hrss")).json()
    assert a["id"] not in [x["id"] for x in other["items"]]  # another city's worklist


def _concluded(client, *, received_days_ago: int = 0) -> tuple[int, dict]:
    cid = confirmed_case(days_ago=200)
    a = _apply(client, cid, applied_on=days_from_today(-50), treatment_ended_on=days_from_today(-60)).json()
    _accept(client, a["id"], accepted_on=days_from_today(-45))
    client.post(f"/api/v1/appraisals/{a['id']}/panel", json={}, headers=bearer("nn_hrss"))
    r = client.post(
        f"/api/v1/appraisals/{a['id']}/conclusion",
        json={
            "grade": 9,
            "dependency": "none",
            "concluded_on": days_from_today(-received_days_ago),
            "received_on": days_from_today(-received_days_ago),
        },
        headers=bearer("nn_hrss"),
    )
    assert r.status_code == 200, r.text
    return cid, r.json()


def test_reappraisal_window_of_fifteen_days(client):
    cid, a = _concluded(client)
    due = dt.date.fromisoformat(a["conclusion"]["reappraisal_due"])
    assert due == calendar_deadline(clock.today(), 15)
    with clock.shifted(dt.timedelta(days=(due - clock.today()).days + 1)):
        r = _apply(client, cid, kind="reappraisal")
        assert r.status_code == 400 and "申请再次鉴定的期限已过" in r.json()["error"]["reason"]
        # After the window the city closes the case.
        r = client.post(f"/api/v1/appraisals/{a['id']}/closure", json={}, headers=bearer("nn_hrss"))
        assert r.status_code == 200 and r.json()["case_state"] == "closed"
    cid, a = _concluded(client)
    with clock.shifted(dt.timedelta(days=(due - clock.today()).days)):  # the last day still counts
        assert _apply(client, cid, kind="reappraisal").status_code == 201


def test_review_not_before_a_year(client):
    cid, a = _concluded(client, received_days_ago=10)
    opens = dt.date.fromisoformat(a["conclusion"]["review_from"])
    assert opens == clock.today() - dt.timedelta(days=10) + dt.timedelta(days=365)
    with clock.shifted(dt.timedelta(days=(opens - clock.today()).days - 1)):
        r = _apply(client, cid, kind="review", treatment_ended_on=days_from_today(-1))
        assert r.status_code == 400 and f"（{opens} 起）" in r.json()["error"]["reason"]
    with clock.shifted(dt.timedelta(days=(opens - clock.today()).days)):
        r = _apply(client, cid, kind="review", applicant="agency", user="qx_si", treatment_ended_on=days_from_today(-1))
        assert r.status_code == 201 and r.json()["applicant"] == "agency"


def test_a_pool_that_cannot_make_the_panel_names_the_specialty(client):
    cid = confirmed_case(county="450202", platform="didi", days_ago=90)  # 柳州
    a = _apply(client, cid, user="didi_admin").json()
    assert a["committee_code"] == "450200"
    # Every ENT expert of 柳州 consults for the platform: they all stand aside.
    ent = client.get(
        "/api/v1/appraisal/experts", params={"committee": "450200", "specialty": "ent"}, headers=bearer("lz_hrss")
    ).json()["items"]
    assert ent
    for e in ent:
        client.post(
            f"/api/v1/appraisal/experts/{e['id']}/ties",
            json={"platform_code": "didi", "relation": "平台企业医疗顾问"},
            headers=bearer("lz_hrss"),
        )
    _accept(client, a["id"], "lz_hrss", needed_specialties=["ent", "orthopaedics"])
    r = client.post(f"/api/v1/appraisals/{a['id']}/panel", json={}, headers=bearer("lz_hrss"))
    assert r.status_code == 400 and r.json()["error"]["field"] == "needed_specialties"
    assert "没有可抽取的耳鼻咽喉科专家" in r.json()["error"]["reason"] and "须回避" in r.json()["error"]["reason"]
    r = client.post(
        f"/api/v1/appraisals/{a['id']}/panel", json={"needed_specialties": ["orthopaedics"]}, headers=bearer("lz_hrss")
    )
    assert r.status_code == 201 and r.json()["needed_specialties"] == [{"code": "orthopaedics", "name": "骨科"}]


def test_the_conclusion_letter(client):
    """The 劳动能力鉴定结论书 is made with the conclusion, once (oip.cases.letters), and says it."""
    from sqlalchemy import select

    from oip.cases.models import Letter
    from oip.core.db import session_scope

    cid, a = _concluded(client)
    assert a["conclusion"]["letter_id"]
    with session_scope() as s:
        letters = list(s.scalars(select(Letter).where(Letter.case_id == cid, Letter.kind == "appraisal")))
        assert [x.id for x in letters] == [a["conclusion"]["letter_id"]] and letters[0].source_id == a["id"]
        assert letters[0].content[:5] == b"%PDF-"
    from oip.core.pdf import pdf_text

    text = "".join(pdf_text(letters[0].content).split())
    assert "劳动能力鉴定结论书" in text and "南宁市劳动能力鉴定委员会" in text and "九级伤残" in text
    assert "十五日内向自治区劳动能力鉴定委员会提出再次鉴定申请" in text


def _worker_demo_case() -> int:
    """A confirmed case of the demo worker who can sign in (worker_demo)."""
    from sqlalchemy import select

    from oip.auth.models import User
    from oip.cases import service
    from oip.core import audit
    from oip.core.db import session_scope
    from oip.workers.models import PlatformAccount

    actor = audit.SystemActor(label="test")
    occurred = clock.now() - dt.timedelta(days=90)
    day = clock.local(occurred).date()
    with session_scope() as s:
        me = s.scalar(select(User).where(User.username == "worker_demo"))
        acc = s.scalar(select(PlatformAccount).where(PlatformAccount.person_id == me.person_id).limit(1))
        case, _ = service.open_case(
            s,
            actor,
            account=acc,
            kind="injury",
            occurred_at=occurred,
            county_code="450103",
            address="民族大道 1 号",
            description="送餐途中摔倒",
            channel="worker_portal",
            reported_on=day,
        )
        case.applicant, case.applied_on = "worker", day
        service.transition(s, actor, case, "apply", on=day)
        case.received_on = case.accepted_on = case.clock_from = day + dt.timedelta(days=2)
        service.transition(s, actor, case, "accept", on=case.accepted_on)
        service.transition(s, actor, case, "confirm", on=day + dt.timedelta(days=9))
        return case.id


def test_the_worker_applies_and_follows_but_does_not_decide(client):
    cid = _worker_demo_case()
    r = _apply(client, cid, user="worker_demo", applicant="platform")
    assert r.status_code == 201, r.text
    a = r.json()
    assert a["applicant"] == "worker"  # a worker applies as themself, whatever the body says
    _accept(client, a["id"])
    client.post(f"/api/v1/appraisals/{a['id']}/panel", json={}, headers=bearer("nn_hrss"))
    seen = client.get(f"/api/v1/appraisals/{a['id']}", headers=bearer("worker_demo")).json()
    assert seen["status"] == "accepted" and seen["due_on"] and seen["panel"] is None and seen["draw"] is None
    for path, body in [
        ("extension", {"reason": "x"}),
        ("conclusion", {"grade": 9, "dependency": "none"}),
        ("panel", {"reason": "x"}),
    ]:
        r = client.post(f"/api/v1/appraisals/{a['id']}/{path}", json=body, headers=bearer("worker_demo"))
        assert r.status_code == 403 and r.json()["error"]["code"] == "permission_denied", path
    assert client.get(f"/api/v1/appraisals/{a['id']}/panel/check", headers=bearer("worker_demo")).status_code == 403
