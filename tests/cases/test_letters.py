"""The letters of a case (oip.cases.letters): each letter's text as a reader extracts it from the PDF
(title, case number, masked ID, dates, legal basis, appeal rights), made once and never again
differently, the hash check, delivery, the worker's text message, the data scope and the panel."""

from __future__ import annotations

import datetime as dt
import hashlib
import re

import pytest
from sqlalchemy import select, update

from oip.core import audit, clock
from oip.core.pdf import pdf_text
from tests.cases.conftest import make_case
from tests.conftest import bearer

ACCEPTED = dt.date(2025, 9, 30)  # domain.md's worked example: decision due 2025-11-18
OCCURRED = dt.datetime(2025, 9, 29, 18, 20, tzinfo=clock.SHANGHAI)
ACTOR = audit.SystemActor(label="test")


def _flat(text: str) -> str:
    """The letter's text without line breaks and page footers."""
    return "".join(line for line in text.splitlines() if not re.search(r"第 \d+ 页，共 \d+ 页$", line))


def _case(**kw) -> int:
    return make_case(to="accepted", accepted_on=ACCEPTED, occurred_at=OCCURRED, **kw)


def _load(s, case_id):
    from oip.cases.models import Case

    return s.get(Case, case_id)


def _person(case_id):
    from oip.cases.models import Case
    from oip.core.db import session_scope
    from oip.workers.models import Person, PlatformAccount

    with session_scope() as s:
        c = s.get(Case, case_id)
        p, a = s.get(Person, c.person_id), s.get(PlatformAccount, c.platform_account_id)
        return {"name": p.name, "id_masked": p.id_masked, "number": c.number, "phone_masked": a.phone_masked}


def _decide(case_id: int, outcome: str, code_kind: str, code: str, on: dt.date = dt.date(2025, 10, 20)) -> int:
    from oip.cases import service
    from oip.cases.models import Decision
    from oip.core.db import session_scope

    with session_scope() as s:
        case = _load(s, case_id)
        d = Decision(
            case_id=case.id,
            round=1,
            outcome=outcome,
            code_kind=code_kind,
            code=code,
            reasoning="订单轨迹显示事故发生于配送途中，交警认定本人负次要责任。",
            decided_on=on,
            due_on=case.decision_due,
        )
        s.add(d)
        s.flush()
        service.transition(s, ACTOR, case, "confirm" if outcome == "confirmed" else "not_confirm", on=on)
        return d.id


def _issue(case_id: int, kind: str, **kw):
    from oip.cases import letters
    from oip.core.db import session_scope

    with session_scope() as s:
        x = letters.issue_letter(s, ACTOR, _load(s, case_id), kind, **kw)
        return x.id, x.number, bytes(x.content), x.sha256


def _pdf(client, case_id: int, letter_id: int, user: str = "qx_hrss"):
    return client.get(f"/api/v1/cases/{case_id}/letters/{letter_id}/pdf", headers=bearer(user))


def test_the_acceptance_notice_through_the_api(client):
    cid = _case()
    who = _person(cid)
    r = client.post(f"/api/v1/cases/{cid}/letters", json={"kind": "acceptance"}, headers=bearer("qx_hrss"))
    assert r.status_code == 201, r.text
    x = r.json()
    assert x["title"] == "受理通知书" and x["issued_on"] == "2025-09-30" and x["served_on"] is None
    assert x["number"].startswith("南青人社伤受〔2025〕") and x["number"].endswith("号")
    pdf = _pdf(client, cid, x["id"])
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    assert hashlib.sha256(pdf.content).hexdigest() == x["sha256"] == pdf.headers["x-content-sha256"]
    text = _flat(pdf_text(pdf.content))
    for expected in (
        "南宁市青秀区人力资源和社会保障局",
        "受理通知书",
        x["number"],
        f"案件编号{who['number']}",
        f"身份证号码{who['id_masked']}",
        "于2025年9月30日决定予以受理",
        "30个工作日内",
        "最迟于2025年11月18日前作出",
        "人社部发〔2025〕24号",
        "人社厅函〔2025〕79号",
        "2025年9月30日",
    ):
        assert expected.replace(" ", "") in text.replace(" ", ""), expected
    # a legal act names its party in full; the ID number stays masked (the case number identifies)
    assert f"受伤人员{who['name']}" in text.replace(" ", "")
    assert "行政复议" not in text  # acceptance is not an act to appeal


def test_a_confirmation_letter_with_the_appeal_rights(client):
    cid = _case()
    who = _person(cid)
    did = _decide(cid, "confirmed", "situation", "S3")
    lid, number, content, sha = _issue(cid, "confirmation")  # as the decision part calls it
    text = _flat(pdf_text(content)).replace(" ", "")
    for expected in (
        "职业伤害确认结论书",
        number,
        f"案件编号{who['number']}",
        who["id_masked"],
        "2025年9月29日18:20",
        "予以确认为职业伤害",
        "非本人主要责任的交通事故",
        "（S3）",
        "订单轨迹显示事故发生于配送途中",
        "自收到本结论书之日起六十日内依法向南宁市青秀区人民政府申请行政复议",
        "《中华人民共和国行政复议法》第二十条",
        "自收到本结论书之日起六个月内依法向人民法院提起行政诉讼",
        "《中华人民共和国行政诉讼法》第四十六条",
        "2025年10月20日",
    ):
        assert expected in text, expected
    assert text.startswith("南宁市青秀区人力资源和社会保障局职业伤害确认结论书")
    assert f"{who['name']}：" in text  # addressed to the worker by name
    r = client.get(f"/api/v1/cases/{cid}/letters", headers=bearer("qx_hrss"))
    [x] = [x for x in r.json()["items"] if x["id"] == lid]
    assert (x["kind"], x["source_id"], x["sha256"]) == ("confirmation", did, sha)


def test_a_non_confirmation_letter(client):
    cid = _case()
    _decide(cid, "not_confirmed", "reason", "R2")
    _, number, content, _ = _issue(cid, "non_confirmation")
    text = _flat(pdf_text(content)).replace(" ", "")
    assert "不予确认职业伤害结论书" in text and number in text
    assert "交通事故中本人负主要及以上责任" in text and "不予确认为职业伤害" in text
    assert "六十日内" in text and "六个月内" in text and "行政诉讼" in text


def test_a_correction_notice_lists_everything_missing(database):
    from oip.cases.models import CorrectionNotice
    from oip.core.db import session_scope

    cid = make_case(to="applied", occurred_at=OCCURRED)
    with session_scope() as s:
        n = CorrectionNotice(
            case_id=cid,
            items=[
                {"requirement": "diagnosis", "name": "医疗诊断证明", "note": "须加盖医院公章"},
                {"requirement": "liability", "name": "交通事故责任认定书", "note": ""},
            ],
            issued_on=dt.date(2025, 10, 9),
            due_on=dt.date(2025, 11, 8),
        )
        s.add(n)
        s.flush()
        nid = n.id
    lid, number, content, _ = _issue(cid, "correction")
    text = _flat(pdf_text(content)).replace(" ", "")
    assert "一次性补正告知书" in text and number in text
    assert "1.医疗诊断证明（须加盖医院公章）" in text and "2.交通事故责任认定书" in text
    assert "请于2025年11月8日前补正上述材料" in text and "审查期限中止计算" in text
    assert "行政复议" not in text
    assert _issue(cid, "correction", source_id=nid)[0] == lid


def test_a_refusal_notice_names_the_reason_and_the_appeal_rights(database):
    from oip.cases import service
    from oip.core.db import session_scope

    cid = make_case(to="applied", occurred_at=OCCURRED, platform="didi")
    with session_scope() as s:
        service.transition(
            s,
            ACTOR,
            _load(s, cid),
            "refuse",
            on=dt.date(2025, 10, 10),
            note="申请超过三十日且未说明理由。",
            detail={"code": "F3"},
        )
    _, number, content, _ = _issue(cid, "refusal")
    text = _flat(pdf_text(content)).replace(" ", "")
    assert "不予受理通知书" in text and number in text and "人社伤不受〔2025〕" in number
    assert "超过申请期限且无正当理由" in text and "（F3）" in text and "申请超过三十日且未说明理由" in text
    assert "于2025年10月10日决定不予受理" in text
    assert "自收到本通知书之日起六十日内" in text and "第四十六条" in text
    assert "滴滴出行" in text  # the platform applied: the letter is addressed to it


def test_the_appraisal_conclusion_for_the_appraisal_part(database):
    from oip.cases import letters
    from oip.core.db import session_scope

    cid = _case()
    _decide(cid, "confirmed", "situation", "S1")
    with session_scope() as s:
        case = _load(s, cid)
        content = letters.appraisal_content(
            s,
            case,
            committee="南宁市劳动能力鉴定委员会",
            regional_committee="广西壮族自治区劳动能力鉴定委员会",
            grade=8,
            self_care="none",
            concluded_on=dt.date(2025, 12, 20),
            accepted_on=dt.date(2025, 11, 25),
        )
        x = letters.issue_letter(s, ACTOR, case, "appraisal", source_id=777, content=content)
        text = _flat(pdf_text(x.content)).replace(" ", "")
    assert text.startswith("南宁市劳动能力鉴定委员会劳动能力鉴定结论书")
    assert "八级伤残" in text and "无护理依赖" in text and "2025年12月20日" in text
    assert "十五日内向广西壮族自治区劳动能力鉴定委员会提出再次鉴定申请" in text and "GB/T16180-2014" in text
    with session_scope() as s, pytest.raises(letters.DomainError):
        letters.issue_letter(s, ACTOR, _load(s, cid), "appraisal")  # its conclusion must be named


def test_a_letter_is_made_once_and_never_differently(client):
    from oip.cases.models import CaseEvent, Letter
    from oip.core.db import session_scope
    from oip.exchange.models import Notification

    cid = _case()
    first = _issue(cid, "acceptance")
    again = _issue(cid, "acceptance")
    assert again == first  # the same row, number and bytes
    r = client.post(f"/api/v1/cases/{cid}/letters", json={"kind": "acceptance"}, headers=bearer("qx_hrss"))
    assert r.status_code == 200 and r.json()["id"] == first[0] and r.json()["sha256"] == first[3]
    assert _pdf(client, cid, first[0]).content == first[2]
    with session_scope() as s:
        assert s.scalar(select(Letter.id).where(Letter.case_id == cid).limit(2)) == first[0]
        events = s.scalars(select(CaseEvent).where(CaseEvent.case_id == cid, CaseEvent.action == "letter_issue")).all()
        assert len(events) == 1 and events[0].detail["sha256"] == first[3]
        texts = s.scalars(select(Notification).where(Notification.dedup_key.like(f"case:{cid}:letter:%"))).all()
        assert len(texts) == 1


def test_the_hash_check_finds_a_changed_file(client, as_user):
    from oip.cases.models import Letter
    from oip.core.db import session_scope

    cid = _case()
    lid, number, content, sha = _issue(cid, "acceptance")
    r = client.get(f"/api/v1/cases/{cid}/letters/{lid}/verify", headers=bearer("qx_hrss"))
    assert r.json() == {"id": lid, "number": number, "sha256": sha, "actual_sha256": sha, "ok": True}
    with session_scope() as s:  # somebody changes the stored file behind the system's back
        s.execute(update(Letter).where(Letter.id == lid).values(content=content.replace(b"%%EOF", b"%%EOF\n%x")))
    r = client.get(f"/api/v1/cases/{cid}/letters/{lid}/verify", headers=bearer("qx_hrss"))
    assert r.json()["ok"] is False and r.json()["sha256"] == sha
    as_user("qx_hrss")
    page = client.get(f"/cases/{cid}/letters/{lid}/verify")
    assert page.status_code == 409 and "核验未通过" in page.text


def test_delivery_is_recorded_once(client):
    cid = _case()
    lid = _issue(cid, "acceptance")[0]
    url = f"/api/v1/cases/{cid}/letters/{lid}/service"
    r = client.post(url, json={"served_on": "2025-09-28", "means": "mail"}, headers=bearer("qx_hrss"))
    assert r.status_code == 400 and r.json()["error"]["field"] == "served_on"  # before the letter's date
    r = client.post(url, json={"served_on": "2025-10-09", "means": "fax"}, headers=bearer("qx_hrss"))
    assert r.status_code == 400 and r.json()["error"]["field"] == "means"
    r = client.post(url, json={"served_on": "2025-10-09", "means": "left"}, headers=bearer("qx_hrss"))
    assert r.status_code == 400 and r.json()["error"]["field"] == "note"  # 留置送达 needs its circumstances
    r = client.post(
        url, json={"served_on": "2025-10-09", "means": "mail", "note": "EMS 1234567890"}, headers=bearer("qx_hrss")
    )
    assert r.status_code == 200, r.text
    x = r.json()
    assert (x["served_on"], x["served_means"], x["served_means_name"], x["served_note"]) == (
        "2025-10-09",
        "mail",
        "邮寄送达",
        "EMS 1234567890",
    )
    again = client.post(url, json={"means": "direct"}, headers=bearer("qx_hrss"))
    assert again.status_code == 409
    timeline = client.get(f"/api/v1/cases/{cid}", headers=bearer("qx_hrss")).json()["timeline"]
    served = [e for e in timeline if e["action"] == "letter_serve"]
    assert len(served) == 1 and served[0]["on"] == "2025-10-09" and "邮寄送达" in served[0]["note"]
    assert served[0]["action_name"] == "文书送达" and served[0]["actor"]


def test_the_worker_gets_a_text_when_a_letter_is_ready(database):
    from oip.core.db import session_scope
    from oip.exchange.models import Notification

    cid = _case()
    who = _person(cid)
    lid = _issue(cid, "acceptance")[0]
    with session_scope() as s:
        n = s.scalar(select(Notification).where(Notification.dedup_key == f"case:{cid}:letter:{lid}"))
        assert n is not None and n.template == "letter.ready" and n.status == "pending"
        assert n.phone_masked == who["phone_masked"] and n.region_code == "450103"
        assert "《受理通知书》" in n.text and who["number"] in n.text and "南宁市青秀区人力资源和社会保障局" in n.text


def test_downloads_are_audited_and_scoped(client):
    from oip.core.audit_models import AuditEvent
    from oip.core.db import session_scope

    cid = _case(county="450103", platform="meituan")
    lid = _issue(cid, "acceptance")[0]
    for user, status in [
        ("qx_hrss", 200),
        ("nn_hrss", 200),
        ("gx_si", 200),
        ("meituan_admin", 200),  # the worker's platform (a party)
        ("lz_hrss", 404),  # another city
        ("didi_admin", 404),
        ("insurer_a", 404),  # no task on this case
    ]:
        assert _pdf(client, cid, lid, user).status_code == status, user
    with session_scope() as s:
        seen = s.scalars(
            select(AuditEvent).where(AuditEvent.action == "case.letter_read", AuditEvent.entity_id == str(lid))
        ).all()
    assert len(seen) == 4


def test_another_countys_officer_gets_404(client):
    """Qingxiu's office (450103) does not see a letter of Xingning (450102), not even that it exists."""
    cid = _case(county="450102")
    lid = _issue(cid, "acceptance")[0]
    h = bearer("qx_hrss")
    for path in (
        f"/api/v1/cases/{cid}/letters",
        f"/api/v1/cases/{cid}/letters/{lid}",
        f"/api/v1/cases/{cid}/letters/{lid}/pdf",
        f"/api/v1/cases/{cid}/letters/{lid}/verify",
    ):
        assert client.get(path, headers=h).status_code == 404, path
    assert client.post(f"/api/v1/cases/{cid}/letters", json={"kind": "acceptance"}, headers=h).status_code == 404
    r = client.post(f"/api/v1/cases/{cid}/letters/{lid}/service", json={"means": "mail"}, headers=h)
    assert r.status_code == 404
    assert client.get(f"/api/v1/cases/{cid}/letters/{lid}/pdf", headers=bearer("nn_hrss")).status_code == 200


def test_who_may_make_letters(client):
    cid = _case()
    # Social insurance agencies read cases but do not decide them.
    r = client.post(f"/api/v1/cases/{cid}/letters", json={"kind": "acceptance"}, headers=bearer("nn_si"))
    assert r.status_code == 403
    r = client.post(f"/api/v1/cases/{cid}/letters", json={"kind": "nonsense"}, headers=bearer("qx_hrss"))
    assert r.status_code == 400 and r.json()["error"]["field"] == "kind"
    r = client.post(f"/api/v1/cases/{cid}/letters", json={"kind": "confirmation"}, headers=bearer("qx_hrss"))
    assert r.status_code == 400 and "尚未作出确认结论" in r.json()["error"]["reason"]
    r = client.post(f"/api/v1/cases/{cid}/letters", json={"kind": "refusal"}, headers=bearer("qx_hrss"))
    assert r.status_code == 400


def test_the_panel_makes_lists_and_serves(client, as_user):
    cid = _case()
    _decide(cid, "confirmed", "situation", "S1")
    headers = as_user("qx_hrss")
    page = client.get(f"/cases/{cid}")
    assert page.status_code == 200
    assert (
        'data-testid="letters"' in page.text and "制作受理通知书" in page.text and "制作职业伤害确认结论书" in page.text
    )
    csrf = headers["X-CSRF-Token"]
    r = client.post(
        f"/cases/{cid}/letters",
        data={"kind": "acceptance", "source_id": "0", "csrf_token": csrf},
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"] == f"/cases/{cid}#letters"
    page = client.get(f"/cases/{cid}")
    assert "南青人社伤受〔2025〕" in page.text and "下载 PDF" in page.text and "制作受理通知书" not in page.text
    lid = int(re.search(rf"/cases/{cid}/letters/(\d+)/service", page.text).group(1))
    r = client.post(
        f"/cases/{cid}/letters/{lid}/service",
        data={"served_on": "2025-10-08", "means": "direct", "note": "本人签收", "csrf_token": csrf},
        follow_redirects=False,
    )
    assert r.status_code == 303
    page = client.get(f"/cases/{cid}")
    assert "2025-10-08 直接送达" in page.text and "本人签收" in page.text
    assert client.get(f"/cases/{cid}/letters/{lid}/verify").status_code == 200


def test_the_worker_and_the_platform_see_the_panel_without_forms(client, as_user):
    cid = _case(platform="meituan")
    _issue(cid, "acceptance")
    as_user("meituan_admin")
    page = client.get(f"/cases/{cid}")
    assert page.status_code == 200 and "下载 PDF" in page.text
    assert "登记送达" not in page.text and "制作" not in page.text.split('data-testid="letters"')[1].split("</div>")[0]


def test_the_appeal_window_runs_from_the_day_the_decision_letter_is_served(client):
    """行政复议 within 60 days of receipt: once the letter's service is recorded, the case waits on
    60 days after that day instead of after the decision."""
    cid = _case()
    _decide(cid, "confirmed", "situation", "S1")  # decided 2025-10-20: 60 days → 12-19
    lid, *_ = _issue(cid, "confirmation")
    before = client.get(f"/api/v1/cases/{cid}", headers=bearer("qx_hrss")).json()["next_due"]
    from oip.cases import letters
    from oip.cases.models import Case, Letter
    from oip.core.db import session_scope

    with session_scope() as s:
        letter = s.get(Letter, lid)
        case = s.get(Case, cid)
        with clock.frozen(dt.date(2025, 11, 3)):
            letters.serve_letter(s, ACTOR, case, letter, served_on=dt.date(2025, 10, 31), means="mail")
    after = client.get(f"/api/v1/cases/{cid}", headers=bearer("qx_hrss")).json()["next_due"]
    assert (before, after) == ("2025-12-19", "2025-12-30")  # 60 days after the decision, then after receipt
