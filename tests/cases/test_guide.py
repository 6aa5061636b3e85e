"""The plain-language guide to a case (what happened, what is missing, what comes next and by when)."""

from __future__ import annotations

import datetime as dt

from oip.cases.guide import guide


def test_a_reported_case_tells_who_must_apply_by_when():
    g = guide(
        "reported",
        {
            "jurisdiction": "南宁市青秀区人力资源和社会保障局",
            "platform_due": dt.date(2025, 10, 10),
            "worker_due": dt.date(2025, 10, 29),
        },
    )
    assert "2025年10月10日 前向南宁市青秀区人力资源和社会保障局提出确认申请" in g.next_steps[0]
    assert "您本人、近亲属或工会组织可在 2025年10月29日 前申请" in g.next_steps[1]


def test_a_correction_lists_everything_missing_and_the_date():
    g = guide("correction", {"missing": ["诊断证明", "事故责任认定书"], "next_due": "2025-11-07"}, viewer="platform")
    assert g.missing == ["诊断证明", "事故责任认定书"]
    assert "2025年11月7日 前补交" in g.next_steps[0]
    assert "暂停计算" in g.now


def test_decisions_carry_the_appeal_rights():
    g = guide(
        "not_confirmed",
        {
            "decided_on": dt.date(2025, 11, 3),
            "outcome_reason": "交通事故中本人负主要及以上责任",
            "appeal_due": dt.date(2026, 1, 4),
        },
    )
    assert "不予确认" in g.now and "本人负主要" in g.now
    assert "2026年1月4日 前依法申请行政复议" in g.rights[0] and "6 个月内" in g.rights[0]
    assert guide(
        "accepted", {"accepted_on": "2025-09-30", "decision_due": "2025-11-18", "investigating": True}
    ).next_steps == ["事故发生地人社部门应在 2025年11月18日 前作出职业伤害确认结论。"]


def test_the_worker_sees_the_guide_on_their_own_case(client, as_user):
    from sqlalchemy import select

    from oip.auth.models import User
    from oip.cases.models import Case
    from oip.core.db import session_scope

    with session_scope() as s:
        me = s.scalar(select(User).where(User.username == "worker_demo"))
        cid = s.scalar(select(Case.id).where(Case.person_id == me.person_id, Case.state == "correction"))
    assert cid is not None, "the demo gives worker_demo a case waiting for materials"
    as_user("worker_demo")
    r = client.get(f"/cases/{cid}")
    assert r.status_code == 200
    assert "进展与下一步" in r.text and "还缺少以下材料" in r.text
    assert "我的职业伤害案件" in client.get("/cases").text
