"""Determination on a case (待遇核定) and its approval through the API: the calculator proposes from
the appraisal conclusion (or the dependants of a death), the officer adjusts only with a reason, a
checker other than the maker approves within the role's limit (or returns it), the letter with the
lines and the appeal rights, the once payables, a new version that supersedes the old one and owes
only the difference, the data scope and what the worker sees."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from oip.core.pdf import pdf_text
from tests.benefits._det_support import (
    act,
    determinable_case,
    flat,
    get_det,
    open_det,
    payables_of,
)
from tests.conftest import bearer


@pytest.fixture
def approved_hooks(monkeypatch):
    """What the ON_APPROVED hooks were called with (a hook registered for the test only)."""
    from oip.benefits import hooks

    seen: list[tuple[int, str]] = []
    monkeypatch.setattr(hooks, "ON_APPROVED", [*hooks.ON_APPROVED])
    from oip.benefits import determination

    monkeypatch.setattr(determination, "ON_APPROVED", hooks.ON_APPROVED)
    hooks.ON_APPROVED.append(lambda session, actor, det: seen.append((det.id, det.status)))
    return seen


def _timeline(client, cid: int, user: str = "qx_hrss") -> list[str]:
    r = client.get(f"/api/v1/cases/{cid}", headers=bearer(user))
    assert r.status_code == 200, r.text
    return [e["action"] for e in r.json()["timeline"]]


def _audit(entity_type: str, entity_id) -> list[str]:
    from oip.core.audit_models import AuditEvent
    from oip.core.db import session_scope

    with session_scope() as s:
        return list(
            s.scalars(
                select(AuditEvent.action)
                .where(AuditEvent.entity_type == entity_type, AuditEvent.entity_id == str(entity_id))
                .order_by(AuditEvent.seq)
            )
        )


def _letter(client, cid: int, det: dict, user: str = "qx_si") -> str:
    r = client.get(f"/api/v1/cases/{cid}/letters/{det['letter_id']}/pdf", headers=bearer(user))
    assert r.status_code == 200, r.text
    return flat(pdf_text(r.content))


def _line(det: dict, item: str) -> dict:
    return next(ln for ln in det["lines"] if ln["item"] == item)


def _yuan(fen: int) -> str:
    return f"{fen // 100:,}.{fen % 100:02d}"


def test_the_whole_flow_of_an_injury(client, approved_hooks):
    cid = determinable_case(grade=7, self_care="none")
    det = open_det(client, cid)
    assert (det["status"], det["version"], det["purpose"]) == ("draft", 1, "benefits")
    assert det["chain_id"] == det["id"]
    assert det["inputs"]["grade"] == 7 and det["inputs"]["kind"] == "injury"
    once = _line(det, "disability_once")
    assert once["item_name"] == "一次性伤残补助金" and not once["monthly"]
    assert once["proposed_fen"] == once["amount_fen"] > 0 and once["formula"] and once["parameters"]
    assert det["total_once_fen"] == sum(ln["amount_fen"] for ln in det["lines"] if not ln["monthly"])
    assert "benefit_open" in _timeline(client, cid)
    # One open version at a time.
    r = client.post(f"/api/v1/cases/{cid}/determinations", json={}, headers=bearer("qx_si"))
    assert r.status_code == 409

    # An adjustment needs a reason; a stale form is a conflict.
    r = client.post(
        f"/api/v1/determinations/{det['id']}/lines/{once['id']}",
        json={"amount_fen": once["proposed_fen"] - 10_000, "reason": " ", "version_lock": det["version_lock"]},
        headers=bearer("qx_si"),
    )
    assert r.status_code == 400 and r.json()["error"]["field"] == "reason"
    assert "调整理由" in r.json()["error"]["reason"]
    r = client.post(
        f"/api/v1/determinations/{det['id']}/lines/{once['id']}",
        json={"amount_fen": once["proposed_fen"] - 10_000, "reason": "扣除已先行支付部分", "version_lock": 99},
        headers=bearer("qx_si"),
    )
    assert r.status_code == 409 and r.json()["error"]["field"] == "version"
    r = client.post(
        f"/api/v1/determinations/{det['id']}/lines/{once['id']}",
        json={
            "amount_fen": once["proposed_fen"] - 10_000,
            "reason": "扣除已先行支付部分",
            "version_lock": det["version_lock"],
        },
        headers=bearer("qx_si"),
    )
    assert r.status_code == 200, r.text
    det = r.json()
    adjusted = _line(det, "disability_once")
    assert adjusted["proposed_fen"] == once["proposed_fen"]  # the proposal stays
    assert adjusted["amount_fen"] == once["proposed_fen"] - 10_000 and adjusted["adjust_reason"] == "扣除已先行支付部分"
    assert det["total_once_fen"] == sum(ln["amount_fen"] for ln in det["lines"] if not ln["monthly"])
    assert "benefit.determination_adjust" in _audit("determination", det["id"])

    r = act(client, det, "submit", "qx_si")
    assert r.status_code == 200, r.text
    det = r.json()
    assert det["status"] == "submitted"

    # The maker never approves, whatever their role (403 with the reason in Chinese).
    r = act(client, det, "approve", "qx_si")
    assert r.status_code == 403 and "经办与复核须由不同人员" in r.json()["error"]["reason"]
    assert get_det(client, det["id"])["status"] == "submitted"
    # The county's checker: the amount is over the county's limit (50,000 yuan by default).
    assert det["approval_amount_fen"] > 5_000_000
    r = act(client, det, "approve", "qx_si_check")
    assert r.status_code == 403 and "超过本角色" in r.json()["error"]["reason"], r.text
    # The worklists: the city's checker has it, the county's checker and the maker do not.
    ids = lambda user: [d["id"] for d in client.get("/api/v1/benefits/approvals", headers=bearer(user)).json()["items"]]  # noqa: E731
    assert det["id"] in ids("nn_si_check")
    assert det["id"] not in ids("qx_si_check") and det["id"] not in ids("qx_si")
    assert client.get("/api/v1/benefits/approvals", headers=bearer("nn_hrss")).status_code == 403

    r = act(client, det, "approve", "nn_si_check", note="同意")
    assert r.status_code == 200, r.text
    det = r.json()
    assert det["status"] == "approved" and det["approved_by"] and det["letter_id"]
    assert approved_hooks == [(det["id"], "approved")]
    assert det["id"] not in ids("nn_si_check")
    amount = _line(det, "disability_once")["amount_fen"]
    assert payables_of(cid) == [("disability_once", amount, "due", f"line:{det['chain_id']}:disability_once:v1")]
    timeline = _timeline(client, cid)
    assert {"benefit_submit", "benefit_approve", "letter_issue"} <= set(timeline)
    assert act(client, det, "approve", "nn_si_check").status_code == 409  # already approved

    text = _letter(client, cid, det)
    assert "待遇核定通知书" in text and "一次性伤残补助金" in text
    assert _yuan(amount) in text and "扣除已先行支付部分" in text
    assert "七级伤残" in text
    assert "六十日内" in text and "行政复议" in text and "六个月内" in text and "行政诉讼" in text
    assert "南宁市社会保险事业局" in text


def test_return_to_the_maker_with_a_reason(client):
    cid = determinable_case(grade=9)
    det = open_det(client, cid, user="nn_si")
    det = act(client, det, "submit", "nn_si").json()
    r = act(client, det, "return", "nn_si_check", reason="")
    assert r.status_code == 400 and r.json()["error"]["field"] == "reason"
    r = act(client, det, "return", "nn_si")
    assert r.status_code == 403
    r = act(client, det, "return", "nn_si_check", reason="请核对伤残等级对应月数")
    assert r.status_code == 200, r.text
    det = r.json()
    assert (det["status"], det["review_note"]) == ("returned", "请核对伤残等级对应月数")
    assert "benefit_return" in _timeline(client, cid)
    # Back with the maker: adjusted again and submitted again; the checker who returned it approves.
    line = det["lines"][0]
    r = client.post(
        f"/api/v1/determinations/{det['id']}/lines/{line['id']}",
        json={"amount_fen": line["proposed_fen"], "reason": "已核对，按计算金额", "version_lock": det["version_lock"]},
        headers=bearer("nn_si"),
    )
    det = r.json()
    assert det["lines"][0]["adjust_reason"] is None  # the proposed amount: no adjustment
    det = act(client, det, "submit", "nn_si").json()
    r = act(client, det, "approve", "nn_si_check")
    assert r.status_code == 200, r.text


def test_whoever_adjusted_cannot_approve(client):
    cid = determinable_case(grade=10, county="450103")
    det = open_det(client, cid, user="nn_si")
    line = det["lines"][0]
    # A second officer adjusts: now both are makers.
    r = client.post(
        f"/api/v1/determinations/{det['id']}/lines/{line['id']}",
        json={"amount_fen": 4_000_000, "reason": "按先行支付协议核减", "version_lock": det["version_lock"]},
        headers=bearer("qx_si"),
    )
    assert r.status_code == 200, r.text
    det = act(client, r.json(), "submit", "nn_si").json()
    r = act(client, det, "approve", "qx_si")
    assert r.status_code == 403 and "经办与复核" in r.json()["error"]["reason"]
    # Within the county's limit now: the county's checker may approve.
    assert det["approval_amount_fen"] <= 5_000_000
    r = act(client, det, "approve", "qx_si_check")
    assert r.status_code == 200, r.text


def test_a_new_version_supersedes_and_owes_only_the_difference(client):
    from oip.benefits import payables
    from oip.benefits.models import Payable
    from oip.core.db import session_scope

    cid = determinable_case(grade=8)
    v1 = open_det(client, cid, user="nn_si")
    v1 = act(client, act(client, v1, "submit", "nn_si").json(), "approve", "nn_si_check").json()
    line1 = _line(v1, "disability_once")
    first = line1["amount_fen"]
    assert [p[:3] for p in payables_of(cid)] == [("disability_once", first, "due")]

    # Version 2 before anything was paid: version 1's payable is cancelled, version 2 owes its amount.
    v2 = open_det(client, cid, user="nn_si")
    assert (v2["version"], v2["chain_id"], v2["supersedes_id"]) == (2, v1["id"], v1["id"])
    l2 = _line(v2, "disability_once")
    v2 = client.post(
        f"/api/v1/determinations/{v2['id']}/lines/{l2['id']}",
        json={"amount_fen": first + 50_000, "reason": "复查鉴定后补差", "version_lock": v2["version_lock"]},
        headers=bearer("nn_si"),
    ).json()
    v2 = act(client, act(client, v2, "submit", "nn_si").json(), "approve", "nn_si_check").json()
    assert get_det(client, v1["id"])["status"] == "superseded"
    rows = payables_of(cid)
    assert [(i, a, s) for i, a, s, _ in rows] == [
        ("disability_once", first, "cancelled"),
        ("disability_once", first + 50_000, "due"),
    ]

    # Version 2's payable is paid; version 3 raises the line again: only the difference is owed.
    with session_scope() as s:
        p = s.scalar(select(Payable).where(Payable.case_id == cid, Payable.status == "due"))
        payables.batch(p)
        payables.paid(p, dt.date.today())
    v3 = open_det(client, cid, user="nn_si")
    l3 = _line(v3, "disability_once")
    v3 = client.post(
        f"/api/v1/determinations/{v3['id']}/lines/{l3['id']}",
        json={"amount_fen": first + 80_000, "reason": "再次补差", "version_lock": v3["version_lock"]},
        headers=bearer("nn_si"),
    ).json()
    v3 = act(client, act(client, v3, "submit", "nn_si").json(), "approve", "nn_si_check").json()
    rows = payables_of(cid)
    assert [(a, s) for _, a, s, _ in rows] == [(first, "cancelled"), (first + 50_000, "paid"), (30_000, "due")]
    assert len({k for *_, k in rows}) == 3  # unique keys per version
    # The cap holds across the chain: what is owed never exceeds the approved line.
    with session_scope() as s:
        from oip.benefits.models import DeterminationLine

        line = s.get(DeterminationLine, _line(v3, "disability_once")["id"])
        assert payables.owed_for_line(s, line) == first + 80_000 == line.amount_fen
        with pytest.raises(payables.OverCap):
            payables.add(
                s,
                line=line,
                case_id=cid,
                amount_fen=1,
                key=f"test:over:{line.id}",
                due_on=dt.date.today(),
                region_code="450103",
                person_id=p.person_id,
            )

    # Version 4 lowers the line below what was paid: nothing more is owed, the overpayment is noted.
    v4 = open_det(client, cid, user="nn_si")
    l4 = _line(v4, "disability_once")
    v4 = client.post(
        f"/api/v1/determinations/{v4['id']}/lines/{l4['id']}",
        json={"amount_fen": first, "reason": "再次鉴定等级调整", "version_lock": v4["version_lock"]},
        headers=bearer("nn_si"),
    ).json()
    act(client, act(client, v4, "submit", "nn_si").json(), "approve", "nn_si_check")
    rows = payables_of(cid)
    assert [(a, s) for _, a, s, _ in rows] == [
        (first, "cancelled"),
        (first + 50_000, "paid"),
        (30_000, "cancelled"),
    ]
    r = client.get(f"/api/v1/cases/{cid}", headers=bearer("nn_si"))
    approve_notes = [e["note"] for e in r.json()["timeline"] if e["action"] == "benefit_approve"]
    assert "须追回" in approve_notes[-1]


def test_a_death_case_with_dependants(client, approved_hooks):
    cid = determinable_case(kind="death")
    # No dependants on an injury case.
    injury = determinable_case(grade=9)
    r = client.post(
        f"/api/v1/cases/{injury}/dependants",
        json={"name": "李某", "relation": "spouse", "birth_date": "1990-01-01"},
        headers=bearer("qx_si"),
    )
    assert r.status_code == 400
    from tests.appraisal.conftest import new_id_number

    number = new_id_number()  # born 1988-03-09
    bad = {"name": "王芳", "relation": "spouse", "birth_date": "1988-03-09", "id_number": number[:-1] + "0"}
    if bad["id_number"] == number:
        bad["id_number"] = number[:-1] + "1"
    r = client.post(f"/api/v1/cases/{cid}/dependants", json=bad, headers=bearer("qx_si"))
    assert r.status_code == 400 and r.json()["error"]["field"] == "id_number"
    r = client.post(
        f"/api/v1/cases/{cid}/dependants",
        json={
            "name": "王芳",
            "relation": "spouse",
            "birth_date": "1988-03-09",
            "id_number": number,
            "phone": "13812345678",
        },
        headers=bearer("qx_si"),
    )
    assert r.status_code == 201, r.text
    spouse = r.json()
    assert spouse["id_masked"] != number and spouse["id_masked"].endswith(number[-4:])
    assert spouse["phone_masked"] == "138****5678"
    child_born = (dt.date.today() - dt.timedelta(days=365 * 6)).isoformat()
    r = client.post(
        f"/api/v1/cases/{cid}/dependants",
        json={"name": "王小明", "relation": "child", "birth_date": child_born, "orphan_or_lone_elderly": False},
        headers=bearer("qx_si"),
    )
    assert r.status_code == 201, r.text
    child = r.json()
    r = client.post(
        f"/api/v1/cases/{cid}/dependants/{child['id']}",
        json={"name": "王小明", "relation": "child", "birth_date": child_born, "school_until": "2045-07-01"},
        headers=bearer("qx_si"),
    )
    assert r.status_code == 200 and r.json()["school_until"] == "2045-07-01"
    listed = client.get(f"/api/v1/cases/{cid}/dependants", headers=bearer("qx_si")).json()["items"]
    assert [d["name"] for d in listed] == ["王芳", "王小明"]
    assert number not in str(listed)
    assert {"dependant_add", "dependant_update"} <= set(_timeline(client, cid))
    from oip.benefits.models import Dependant
    from oip.core import crypto
    from oip.core.db import session_scope

    with session_scope() as s:
        row = s.get(Dependant, spouse["id"])
        assert number.encode() not in bytes(row.id_enc)
        assert crypto.decrypt(row.id_enc, "dependant.id_number") == number

    det = open_det(client, cid, user="nn_si")
    items = {ln["item"] for ln in det["lines"]}
    assert {"funeral", "death_once", "dependants"} <= items
    pensions = [ln for ln in det["lines"] if ln["item"] == "dependants"]
    assert {ln["dependant_id"] for ln in pensions} == {spouse["id"], child["id"]}
    assert all(ln["monthly"] for ln in pensions)
    assert det["total_monthly_fen"] == sum(ln["amount_fen"] for ln in det["lines"] if ln["monthly"])
    det = act(client, det, "submit", "nn_si").json()
    # The death subsidy alone is over the city's limit: the region's agency approves.
    r = act(client, det, "approve", "nn_si_check")
    assert r.status_code == 403 and "请报上级经办机构审批" in r.json()["error"]["reason"]
    det = act(client, det, "approve", "gx_si").json()
    assert det["status"] == "approved"
    # Once items are owed at once (to the case's person); monthly items are the monthly part's.
    owed = {(i, a) for i, a, _, _ in payables_of(cid)}
    assert owed == {(ln["item"], ln["amount_fen"]) for ln in det["lines"] if not ln["monthly"]}
    text = _letter(client, cid, det, "nn_si")
    assert "供养亲属抚恤金" in text and "王芳" in text and "丧葬补助金" in text
    assert "行政复议" in text
    assert approved_hooks == [(det["id"], "approved")]


def test_what_cannot_be_determined(client):
    not_appraised = determinable_case(appraised=False)
    r = client.post(f"/api/v1/cases/{not_appraised}/determinations", json={}, headers=bearer("qx_si"))
    assert r.status_code == 400 and "鉴定结论" in r.json()["error"]["reason"]
    from tests.cases.conftest import make_case

    unconfirmed = make_case(to="accepted")
    r = client.post(f"/api/v1/cases/{unconfirmed}/determinations", json={}, headers=bearer("qx_si"))
    assert r.status_code == 400 and "尚未确认" in r.json()["error"]["reason"]
    # 人社 offices read determinations but do not make them.
    r = client.post(f"/api/v1/cases/{not_appraised}/determinations", json={}, headers=bearer("qx_hrss"))
    assert r.status_code == 403


def test_scope_and_what_the_worker_sees(client):
    cid = determinable_case(grade=9, person_of="worker_demo")
    det = open_det(client, cid)
    # Another city's officers: 404, as for a missing one.
    assert client.get(f"/api/v1/determinations/{det['id']}", headers=bearer("gl_si")).status_code == 404
    assert client.get(f"/api/v1/cases/{cid}/determinations", headers=bearer("gl_si")).status_code == 404
    assert act(client, det, "submit", "gl_si").status_code == 404
    assert client.post(f"/api/v1/cases/{cid}/determinations", json={}, headers=bearer("gl_si")).status_code == 404
    # The worker: nothing before approval.
    mine = client.get(f"/api/v1/cases/{cid}/determinations", headers=bearer("worker_demo"))
    assert mine.status_code == 200 and mine.json()["items"] == []
    assert client.get(f"/api/v1/determinations/{det['id']}", headers=bearer("worker_demo")).status_code == 404
    # Within the county's limit: the county checker approves.
    line = det["lines"][0]
    det = client.post(
        f"/api/v1/determinations/{det['id']}/lines/{line['id']}",
        json={"amount_fen": 3_000_000, "reason": "按协议核定", "version_lock": det["version_lock"]},
        headers=bearer("qx_si"),
    ).json()
    det = act(client, act(client, det, "submit", "qx_si").json(), "approve", "qx_si_check").json()
    assert det["status"] == "approved"
    mine = client.get(f"/api/v1/cases/{cid}/determinations", headers=bearer("worker_demo")).json()["items"]
    assert [d["id"] for d in mine] == [det["id"]]
    assert "made_by" not in mine[0] and "inputs" not in mine[0]
    assert mine[0]["lines"][0]["amount_fen"] == 3_000_000
    text = _letter(client, cid, det, "worker_demo")
    assert "待遇核定通知书" in text and "30,000.00" in text
    # Another worker's case stays out of reach.
    other = determinable_case(grade=9)
    assert client.get(f"/api/v1/cases/{other}/determinations", headers=bearer("worker_demo")).status_code == 404


def test_a_missing_worker_and_the_readers(client):
    """A missing worker: half the death subsidy advanced, the pension from the fourth month; 人社
    offices read the determination but have no forms."""
    cid = determinable_case(kind="missing")
    r = client.post(
        f"/api/v1/cases/{cid}/dependants",
        json={"name": "赵兰", "relation": "parent", "birth_date": "1955-02-01", "orphan_or_lone_elderly": True},
        headers=bearer("qx_si"),
    )
    assert r.status_code == 201, r.text
    det = open_det(client, cid, user="qx_si")
    items = {ln["item"] for ln in det["lines"]}
    assert "death_once_advance" in items and "death_once" not in items
    pension = _line(det, "dependants")
    assert pension["monthly"] and pension["dependant_name"] == "赵兰" and pension["starts_on"] > det["event_date"]
    seen = client.get(f"/api/v1/determinations/{det['id']}", headers=bearer("qx_hrss"))
    assert seen.status_code == 200 and seen.json()["may_edit"] is False and seen.json()["may_approve"] is False
    assert act(client, det, "submit", "qx_hrss").status_code == 403
