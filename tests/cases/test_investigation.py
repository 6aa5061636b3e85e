"""Investigation by the contracted insurer: a case offered on acceptance to the insurer contracted in
its city, the insurer's work on its own task (findings, visits, evidence, recommendation) with the
person masked, submitting closes the task, officers assign and withdraw, the order trail as
evidence, and who may not reach any of it."""

from __future__ import annotations

import base64
import datetime as dt
import re

import pytest
from sqlalchemy import select

from oip.auth import permissions as P
from oip.auth.models import Organisation
from oip.auth.permissions import ROLES
from oip.cases import investigation as inv, service
from oip.cases.models import Case, CaseEvent, InvestigationTask
from oip.core import audit, clock, workdays
from oip.core.db import session_scope
from oip.workers.models import Person, PlatformAccount
from tests.cases._intake_support import png
from tests.cases.conftest import make_case
from tests.conftest import bearer
from tests.orders.conftest import import_rows, order, register_workers

SH = clock.SHANGHAI
ACTOR = audit.SystemActor(label="test")
PDF = b"%PDF-1.4\n% evidence\n%%EOF\n"
PNG = png()  # a whole PNG: uploads are checked by content (oip.core.uploads)


def accept_and_offer(offer_on: dt.date | None = None, **kw) -> tuple[int, int | None]:
    """A case moved to accepted, then offered as the acceptance code does (offer_investigation)."""
    cid = make_case(to="accepted", **kw)
    with session_scope() as s:
        case = s.get(Case, cid)
        task = inv.offer_investigation(s, ACTOR, case, on=offer_on)
        return cid, (task.id if task else None)


def person_name(case_id: int) -> str:
    with session_scope() as s:
        return s.get(Person, s.get(Case, case_id).person_id).name


def events(case_id: int) -> list[str]:
    with session_scope() as s:
        return list(
            s.scalars(select(CaseEvent.action).where(CaseEvent.case_id == case_id).order_by(CaseEvent.at, CaseEvent.id))
        )


# ---- offered on acceptance ---------------------------------------------------------------------------


def test_an_accepted_case_is_offered_to_the_insurer_of_its_city(client):
    nanning, t1 = accept_and_offer(county="450103")
    liuzhou, t2 = accept_and_offer(county="450202", platform="didi")
    officer = bearer("gx_hrss")
    a = client.get(f"/api/v1/investigations/{t1}", headers=officer).json()
    b = client.get(f"/api/v1/investigations/{t2}", headers=officer).json()
    assert a["insurer"]["code"] == "insurer-a" and b["insurer"]["code"] == "insurer-b"
    assert a["contract"]["document_no"] == "桂社保委〔2025〕3号（演示）"
    today = clock.today()
    assert a["assigned_on"] == today.isoformat()
    assert a["due_on"] == workdays.add_working_days(today, 10).isoformat()  # case.investigation_working_days
    assert a["status"] == "open" and a["status_name"] == "调查中"
    case = client.get(f"/api/v1/cases/{nanning}", headers=officer).json()
    assert case["state"] == "investigating"
    offer = [e for e in case["timeline"] if e["action"] == "offer_investigation"][0]
    assert offer["detail"]["insurer"] == "insurer-a" and offer["detail"]["task_id"] == t1
    assert client.get(f"/api/v1/cases/{liuzhou}", headers=bearer("lz_hrss")).json()["state"] == "investigating"


def test_the_insurer_contracted_on_the_acceptance_day_gets_the_case():
    before_pilot = dt.datetime(2025, 6, 29, 10, tzinfo=SH)
    # 2025-06-30: the earlier contract of insurer-b (terminated from 2025-07-01) still served Nanning.
    cid, task = accept_and_offer(county="450103", occurred_at=before_pilot, accepted_on=dt.date(2025, 6, 30))
    with session_scope() as s:
        t = s.get(InvestigationTask, task)
        assert t.organisation_id == s.scalar(select(Organisation.id).where(Organisation.code == "insurer-b"))
        assert t.assigned_on == clock.today()  # registered now: the insurer's working days count from today
    # No contract at all in 桂林 before the pilot: no task, the case waits for the officers.
    cid, task = accept_and_offer(county="450305", occurred_at=before_pilot, accepted_on=dt.date(2025, 6, 30))
    assert task is None
    with session_scope() as s:
        case = s.get(Case, cid)
        assert case.state == "accepted"
        note = s.scalar(
            select(CaseEvent.note).where(CaseEvent.case_id == cid, CaseEvent.action == "investigation_unassigned")
        )
    assert "桂林市在 2025-06-30 没有受托调查核实的保险机构" in note


# ---- scope and masking ---------------------------------------------------------------------------------


def test_another_insurer_sees_nothing_of_the_task(client):
    cid, tid = accept_and_offer(county="450103")
    other = bearer("insurer_b")
    assert client.get(f"/api/v1/investigations/{tid}", headers=other).status_code == 404
    assert client.get(f"/api/v1/cases/{cid}", headers=other).status_code == 404
    assert client.get(f"/api/v1/cases/{cid}/order-trail", headers=other).status_code == 404
    r = client.post(f"/api/v1/investigations/{tid}/findings", json={"findings": "越权"}, headers=other)
    assert r.status_code == 404 and r.json()["error"]["reason"] == "调查任务不存在或不在您的数据范围内"
    assert tid not in [t["id"] for t in client.get("/api/v1/investigations", headers=other).json()["items"]]
    mine = client.get("/api/v1/investigations", params={"size": 200}, headers=bearer("insurer_a")).json()
    assert tid in [t["id"] for t in mine["items"]]
    assert {t["insurer"]["code"] for t in mine["items"]} == {"insurer-a"}


def test_the_insurer_sees_the_person_masked(client, as_user):
    cid, tid = accept_and_offer(county="450103")
    name = person_name(cid)
    r = client.get(f"/api/v1/investigations/{tid}", headers=bearer("insurer_a"))
    assert r.status_code == 200, r.text
    facts = r.json()["case"]
    assert facts["worker_name"] != name and facts["worker_name"][0] == name[0] and "*" in facts["worker_name"]
    assert re.fullmatch(r"\d{4}\*+\d{3}[\dX]", facts["id_masked"])
    assert re.fullmatch(r"\d{3}\*{4}\d{4}", facts["phone_masked"])
    assert facts["description"] == "送餐途中被电动车撞倒" and facts["injuries"] == "右前臂骨折"
    assert facts["address"] == "测试路 1 号" and facts["place"] == "南宁市青秀区"
    assert name not in r.text
    listed = client.get("/api/v1/investigations", params={"size": 200}, headers=bearer("insurer_a")).text
    assert name not in listed
    # The officer sees the name.
    officer = client.get(f"/api/v1/investigations/{tid}", headers=bearer("qx_hrss")).json()
    assert officer["case"]["worker_name"] == name

    as_user("insurer_a")
    page = client.get(f"/cases/{cid}")
    assert page.status_code == 200 and facts["worker_name"] in page.text and name not in page.text
    assert facts["phone_masked"] in page.text and "保存调查情况" in page.text
    tasks = client.get("/insurer/tasks")
    assert tasks.status_code == 200 and f"/cases/{cid}#investigation" in tasks.text and name not in tasks.text


# ---- the insurer's work --------------------------------------------------------------------------------


def test_findings_visits_evidence_and_submit_close_the_task(client):
    cid, tid = accept_and_offer(county="450103")
    ins = bearer("insurer_a")
    url = f"/api/v1/investigations/{tid}"
    early = client.post(f"{url}/submit", json={"recommendation": "confirm", "reason": "x"}, headers=ins)
    assert early.status_code == 400 and early.json()["error"]["field"] == "findings"
    r = client.post(f"{url}/findings", json={"findings": "经核实，事发时正在配送订单。", "version": 1}, headers=ins)
    assert r.status_code == 200 and r.json()["version"] == 2
    stale = client.post(f"{url}/findings", json={"findings": "迟到", "version": 1}, headers=ins)
    assert stale.status_code == 409 and stale.json()["error"]["field"] == "version"
    today = clock.today().isoformat()
    r = client.post(
        f"{url}/visits",
        json={"visited_on": today, "place": "民族大道路口", "people": "路口商户两名", "notes": "证实事故经过"},
        headers=ins,
    )
    assert r.status_code == 201 and r.json()["visits"][0]["place"] == "民族大道路口"
    future = (clock.today() + dt.timedelta(days=1)).isoformat()
    bad = client.post(f"{url}/visits", json={"visited_on": future, "place": "x", "people": "y"}, headers=ins)
    assert bad.status_code == 400 and bad.json()["error"]["field"] == "visited_on"
    ev = {"filename": "现场照片.png", "content_base64": base64.b64encode(PNG).decode(), "note": "路口监控截图"}
    r = client.post(f"{url}/evidence", json=ev, headers=ins)
    assert r.status_code == 201, r.text
    doc = r.json()["evidence"][0]
    assert doc["content_type"] == "image/png" and doc["size"] == len(PNG) and len(doc["sha256"]) == 64
    fake = {"filename": "报告.pdf", "content_base64": base64.b64encode(b"MZ\x90\x00 not a pdf").decode()}
    bad = client.post(f"{url}/evidence", json=fake, headers=ins)
    assert (
        bad.status_code == 400
        and bad.json()["error"]["field"] == "file"
        and "其内容是Windows 可执行程序" in bad.json()["error"]["reason"]
    )
    wrong = client.post(f"{url}/submit", json={"recommendation": "approve", "reason": "x"}, headers=ins)
    assert wrong.status_code == 400 and wrong.json()["error"]["field"] == "recommendation"

    r = client.post(f"{url}/submit", json={"recommendation": "confirm", "reason": "事发时在订单执行期间"}, headers=ins)
    assert r.status_code == 200, r.text
    t = r.json()
    assert t["status"] == "submitted" and t["recommendation_name"] == "建议予以确认" and t["submitted_at"]
    # Closed: nothing more to write; the case is back with the officers, who decide.
    again = client.post(f"{url}/findings", json={"findings": "补充"}, headers=ins)
    assert again.status_code == 409 and again.json()["error"]["code"] == "illegal_transition"
    case = client.get(f"/api/v1/cases/{cid}", headers=bearer("qx_hrss")).json()
    assert case["state"] == "accepted"
    assert events(cid)[-4:] == [
        "investigation_findings",
        "investigation_visit",
        "investigation_evidence",
        "end_investigation",
    ]
    ended = [e for e in case["timeline"] if e["action"] == "end_investigation"][0]
    assert ended["note"] == "建议予以确认：事发时在订单执行期间" and ended["detail"]["evidence"] == 1
    # The insurer still sees its (closed) task and the case behind it.
    assert client.get(url, headers=ins).json()["status"] == "submitted"
    assert client.get(f"/api/v1/cases/{cid}", headers=ins).status_code == 200
    # The evidence file, downloaded by the officer.
    with session_scope() as s:
        doc_id = inv.evidence_of(s, s.get(InvestigationTask, tid))[0].id
    from tests.conftest import sign_in

    sign_in(client, "qx_hrss")
    f = client.get(f"/cases/{cid}/investigations/{tid}/evidence/{doc_id}")
    assert f.status_code == 200 and f.content == PNG and f.headers["content-type"] == "image/png"


def test_the_insurer_never_decides():
    assert P.CASE_DECIDE not in ROLES["insurer"].permissions
    assert P.CASE_HANDLE not in ROLES["insurer"].permissions
    assert P.CASE_INVESTIGATE in ROLES["insurer"].permissions


# ---- officers: withdraw and assign ------------------------------------------------------------------


def test_an_officer_withdraws_and_assigns_again(client):
    cid, tid = accept_and_offer(county="450103")
    officer = bearer("nn_hrss")
    r = client.post(f"/api/v1/investigations/{tid}/withdraw", json={"reason": "受托机构人员回避"}, headers=officer)
    assert r.status_code == 200 and r.json()["status"] == "withdrawn"
    ins = bearer("insurer_a")
    assert client.get(f"/api/v1/investigations/{tid}", headers=ins).status_code == 404
    assert client.get(f"/api/v1/cases/{cid}", headers=ins).status_code == 404
    case = client.get(f"/api/v1/cases/{cid}", headers=officer).json()
    assert case["state"] == "accepted"
    wrong = client.post(f"/api/v1/cases/{cid}/investigations", json={"insurer_code": "insurer-b"}, headers=officer)
    assert wrong.status_code == 400 and "甲财产保险" in wrong.json()["error"]["reason"]
    r = client.post(
        f"/api/v1/cases/{cid}/investigations", json={"note": "重新委托", "version": case["version"]}, headers=officer
    )
    assert r.status_code == 201, r.text
    new = r.json()
    assert new["id"] != tid and new["insurer"]["code"] == "insurer-a"
    twice = client.post(f"/api/v1/cases/{cid}/investigations", json={}, headers=officer)
    assert twice.status_code == 409 and "已有进行中的调查任务" in twice.json()["error"]["reason"]
    assert client.get(f"/api/v1/investigations/{new['id']}", headers=ins).status_code == 200
    # An insurer may not withdraw or assign.
    assert (
        client.post(f"/api/v1/investigations/{new['id']}/withdraw", json={"reason": "x"}, headers=ins).status_code
        == 403
    )
    # Outside the officer's city: as if missing.
    lz = bearer("lz_hrss")
    assert (
        client.post(f"/api/v1/investigations/{new['id']}/withdraw", json={"reason": "x"}, headers=lz).status_code == 404
    )


# ---- the order trail -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def trail_case(database, tmp_path_factory):
    """A meituan worker with three orders on 2026-08-15; injured at 11:20, between the second and the
    third; the case accepted and offered (Nanning: insurer-a)."""
    ((acc, _person),) = register_workers("meituan", 1, county="450103")
    rows = [
        order(acc, day="2026-08-15", start="09:00", minutes=30, distance_m="2500"),
        order(acc, day="2026-08-15", start="10:15", minutes=40),
        order(acc, day="2026-08-15", start="12:00", minutes=25, status="cancelled"),
    ]
    import_rows(tmp_path_factory.mktemp("inv-trail"), rows)
    occurred = dt.datetime(2026, 8, 15, 11, 20, tzinfo=SH)
    with session_scope() as s:
        account = s.scalar(select(PlatformAccount).where(PlatformAccount.account_id == acc))
        case, _ = service.open_case(
            s,
            ACTOR,
            account=account,
            kind="injury",
            occurred_at=occurred,
            county_code="450103",
            address="民族大道 100 号",
            description="取餐途中摔倒",
            channel="platform_api",
            reported_on=occurred.date(),
        )
        case.applicant, case.applied_on = "platform", occurred.date()
        service.transition(s, ACTOR, case, "apply", on=case.applied_on)
        case.received_on = case.accepted_on = case.clock_from = dt.date(2026, 8, 16)
        service.transition(s, ACTOR, case, "accept", on=case.accepted_on)
        task = inv.offer_investigation(s, ACTOR, case)
        return {"case": case.id, "task": task.id, "account": acc, "orders": [r["order_id"] for r in rows]}


def test_the_order_trail_places_the_injury(client, trail_case):
    cid, tid, ids = trail_case["case"], trail_case["task"], trail_case["orders"]
    r = client.get(f"/api/v1/cases/{cid}/order-trail", headers=bearer("qx_hrss"))
    assert r.status_code == 200, r.text
    t = r.json()
    assert t["day"] == "2026-08-15" and [o["order_id"] for o in t["orders"]] == ids
    p = t["placement"]
    assert (p["kind"], p["before"], p["after"]) == ("between", ids[1], ids[2])
    assert f"处于订单 {ids[1]}（10:55 完成）与订单 {ids[2]}（12:00 接单）之间" in p["text"]
    first = t["orders"][0]
    assert (
        first["platform_name"] == "美团"
        and first["distance_m"] == 2500
        and first["account_id"] == trail_case["account"]
    )
    assert first["accepted_at"] == "2026-08-15T09:00:00+08:00" and first["picked_up_at"] == "2026-08-15T09:05:00+08:00"
    assert first["start"] == [pytest.approx(108.3669), pytest.approx(22.8167)] and not first["at_injury"]
    assert t["orders"][2]["status"] == "cancelled"
    # The insurer's view: the same trail; the read is audited.
    ins = client.get(f"/api/v1/investigations/{tid}", headers=bearer("insurer_a")).json()["order_trail"]
    assert ins["placement"] == t["placement"] and [o["order_id"] for o in ins["orders"]] == ids
    with session_scope() as s:
        from oip.core.audit_models import AuditEvent

        ev = s.scalars(
            select(AuditEvent).where(AuditEvent.action == "coverage.trail").order_by(AuditEvent.seq.desc()).limit(1)
        ).one()
        assert ev.actor.startswith("insurer_a") and "调查核实" in ev.purpose


def test_the_trail_on_the_case_page(client, as_user, trail_case):
    cid, ids = trail_case["case"], trail_case["orders"]
    as_user("qx_hrss")
    page = client.get(f"/cases/{cid}")
    assert page.status_code == 200
    assert "事故当日订单轨迹 · 2026-08-15" in page.text and "两单之间" in page.text
    assert ids[0] in page.text and "已取消" in page.text and "2.5" in page.text and "受托调查机构" not in page.text
    as_user("insurer_a")
    page = client.get(f"/cases/{cid}")
    assert "两单之间" in page.text and ids[2] in page.text


# ---- the forms -----------------------------------------------------------------------------------------


def test_the_insurer_works_through_the_forms(client, as_user):
    cid, tid = accept_and_offer(county="450103")
    csrf = as_user("insurer_a")["X-CSRF-Token"]
    base = f"/cases/{cid}/investigations/{tid}"
    r = client.post(
        f"{base}/findings",
        data={"csrf_token": csrf, "findings": "已电话联系本人", "version": "1"},
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"] == f"/cases/{cid}#investigation"
    r = client.post(
        f"{base}/evidence",
        data={"csrf_token": csrf, "note": "病历"},
        files={"file": ("病历.pdf", PDF, "application/pdf")},
        follow_redirects=False,
    )
    assert r.status_code == 303
    bad = client.post(f"{base}/submit", data={"csrf_token": csrf, "reason": "理由"})
    assert bad.status_code == 400 and "请选择调查建议" in bad.text and 'id="investigation"' in bad.text
    r = client.post(
        f"{base}/submit",
        data={"csrf_token": csrf, "recommendation": "unclear", "reason": "需交警认定书"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    page = client.get(f"/cases/{cid}")
    assert "事实不清需补充调查" in page.text and "病历.pdf" in page.text and "保存调查情况" not in page.text

    csrf = as_user("qx_hrss")["X-CSRF-Token"]
    page = client.get(f"/cases/{cid}")
    assert "事实不清需补充调查" in page.text and "需交警认定书" in page.text
    assert "委托调查核实" in page.text  # accepted again: the officer may offer it anew


def test_the_officer_forms(client, as_user):
    cid, tid = accept_and_offer(county="450103")
    csrf = as_user("qx_hrss")["X-CSRF-Token"]
    empty = client.post(f"/cases/{cid}/investigations/{tid}/withdraw", data={"csrf_token": csrf, "reason": ""})
    assert empty.status_code == 400 and "请填写撤回理由" in empty.text
    r = client.post(
        f"/cases/{cid}/investigations/{tid}/withdraw",
        data={"csrf_token": csrf, "reason": "改派"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    r = client.post(
        f"/cases/{cid}/investigations", data={"csrf_token": csrf, "note": "改派后重新委托"}, follow_redirects=False
    )
    assert r.status_code == 303
    page = client.get(f"/cases/{cid}").text
    assert page.count('class="tag withdrawn"') == 1 and page.count('class="tag open"') == 1


# ---- who may not ---------------------------------------------------------------------------------------


def test_platforms_and_workers_cannot_reach_the_investigation(client, as_user):
    cid, tid = accept_and_offer(county="450103")
    for user in ("meituan_admin", "worker_demo", "gx_union", "gx_finance"):
        h = bearer(user)
        for method, url, body in [
            ("GET", "/api/v1/investigations", None),
            ("GET", f"/api/v1/investigations/{tid}", None),
            ("GET", f"/api/v1/cases/{cid}/order-trail", None),
            ("POST", f"/api/v1/investigations/{tid}/findings", {"findings": "x"}),
            ("POST", f"/api/v1/investigations/{tid}/submit", {"recommendation": "confirm", "reason": "x"}),
            ("POST", f"/api/v1/investigations/{tid}/withdraw", {"reason": "x"}),
            ("POST", f"/api/v1/cases/{cid}/investigations", {}),
        ]:
            r = client.request(method, url, json=body, headers=h)
            assert r.status_code == 403 and r.json()["error"]["code"] == "permission_denied", (user, url)
    as_user("meituan_admin")
    assert client.get("/insurer/tasks", headers={"accept": "text/html"}).status_code == 403
    page = client.get(f"/cases/{cid}")
    assert page.status_code == 200 and 'id="investigation"' not in page.text  # the platform sees its case, not this


def test_the_worklist_buckets(client, as_user):
    long_ago = clock.today() - dt.timedelta(days=40)
    late_case, late = accept_and_offer(
        offer_on=long_ago,
        county="450202",
        platform="didi",
        accepted_on=long_ago,
        occurred_at=clock.now() - dt.timedelta(days=42),
    )
    fresh_case, fresh = accept_and_offer(county="450202", platform="didi")
    ins = bearer("insurer_b")

    def ids(bucket: str) -> set[int]:
        r = client.get("/api/v1/investigations", params={"bucket": bucket, "size": 200}, headers=ins)
        assert r.status_code == 200, r.text
        return {t["id"] for t in r.json()["items"]}

    assert late in ids("overdue") and fresh not in ids("overdue")
    assert late in ids("open") and fresh in ids("open")
    assert fresh not in ids("due_soon")  # ten working days ahead, more than the five of "due soon"
    assert client.get("/api/v1/investigations", params={"bucket": "nonsense"}, headers=ins).status_code == 400
    as_user("insurer_b")
    page = client.get("/insurer/tasks?bucket=overdue")
    assert page.status_code == 200 and f'data-task="{late}"' in page.text and f'data-task="{fresh}"' not in page.text
    assert "已超期" in page.text and "调查核实任务" in page.text


def test_the_panel_speaks_chinese(client, as_user, trail_case):
    from tests.test_pages_language import _Text

    codes = {"open", "submitted", "withdrawn", "confirm", "not_confirm", "unclear", "between", "during"}
    codes |= {"completed", "cancelled", "investigating", "accepted", "insurer-a", "meituan"}
    for user in ("insurer_a", "qx_hrss"):
        as_user(user)
        html = client.get(f"/cases/{trail_case['case']}").text
        panel = html[html.index('id="investigation"') : html.index("</section>", html.index('id="investigation"'))]
        p = _Text()
        p.feed(panel)
        assert [w for w, _ in p.words if w in codes] == [], user


def test_the_insurer_is_not_given_identity_papers(client):
    """Masked except what the task needs: the insurer reads the application's materials, not the copy
    of the ID card (the item shows as present, with no file to open)."""
    from oip.cases.models import CaseDocument
    from tests.cases._intake_support import jpeg

    cid, _task = accept_and_offer(county="450103")  # 南宁: insurer_a's city
    with session_scope() as s:
        ids = {}
        for code in ("identity", "medical_diagnosis"):
            d = CaseDocument(
                case_id=cid,
                requirement=code,
                filename=f"{code}.jpg",
                content_type="image/jpeg",
                size=10,
                sha256="0" * 64,
                content=jpeg(),
                source="platform",
                uploaded_at=clock.now(),
            )
            s.add(d)
            s.flush()
            ids[code] = d.id
    r = client.get(f"/api/v1/cases/{cid}/documents", headers=bearer("insurer_a"))
    assert r.status_code == 200, r.text
    items = {i["requirement"]: i for i in r.json()["items"]}
    assert items["identity"]["present"] and items["identity"]["documents"] == []
    assert items["medical_diagnosis"]["documents"]
    assert (
        client.get(f"/api/v1/cases/{cid}/documents/{ids['identity']}", headers=bearer("insurer_a")).status_code == 404
    )
    assert (
        client.get(f"/api/v1/cases/{cid}/documents/{ids['medical_diagnosis']}", headers=bearer("insurer_a")).status_code
        == 200
    )
    assert client.get(f"/api/v1/cases/{cid}/documents/{ids['identity']}", headers=bearer("qx_hrss")).status_code == 200
