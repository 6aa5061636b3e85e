"""Fund supervision through the service: campaigns (self-check, cross-check with a rotation,
suspicious data listed from paid benefits), reports, rectification by the checked city, closure by
the region, the data scope of city officers, major reports with their deadline, and the audit."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest
from sqlalchemy import select

from oip.core import clock
from oip.core.audit_models import AuditEvent
from oip.core.db import session_scope
from oip.core.errors import DomainError
from oip.fund import supervision as sv
from oip.fund.models import Campaign, CampaignTask, Finding, MajorReport
from oip.fund.supervision_parameters import MAJOR_REPORT_HOURS
from oip.reference import parameters
from tests.payments.conftest import principal

NN, LZ, GL = "450100", "450200", "450300"
_seq = itertools.count()


@pytest.fixture(autouse=True)
def _database(database):
    """Every supervision test runs against the test database."""


def _audits(s, action: str, entity_id) -> list[AuditEvent]:
    return list(
        s.scalars(select(AuditEvent).where(AuditEvent.action == action, AuditEvent.entity_id == str(entity_id)))
    )


def _open(kind="cross_check", cities=(NN, LZ, GL), by="gx_si", checkers=None, due_in=30) -> int:
    with session_scope() as s:
        c = sv.open_campaign(
            s,
            principal(s, by),
            kind=kind,
            title=f"测试检查 {next(_seq)}",
            due_on=clock.today() + dt.timedelta(days=due_in),
            cities=list(cities),
            checkers=checkers,
            scope_note="测试范围",
        )
        return c.id


def _tasks(campaign_id) -> dict[str, CampaignTask]:
    with session_scope() as s:
        rows = s.scalars(select(CampaignTask).where(CampaignTask.campaign_id == campaign_id)).all()
        s.expunge_all()
        return {t.city_code: t for t in rows}


def test_cross_check_from_opening_to_closure():
    cid = _open()
    tasks = _tasks(cid)
    assert set(tasks) == {NN, LZ, GL}
    who = {c: t.checker_code for c, t in tasks.items()}
    assert all(c != by for c, by in who.items()) and all(who[by] != c for c, by in who.items())
    assert {t.status for t in tasks.values()} == {"assigned"}
    # 南宁 checks 桂林 (the rotation: 450100 → 450200 → 450300 → 450100): nn_si reports for 柳州.
    checked_by_nn = next(c for c, by in who.items() if by == NN)
    nn_checks_nn = next(c for c, by in who.items() if c == NN)
    task = tasks[checked_by_nn]
    with session_scope() as s:
        # 南宁 is not the checker of its own task: it cannot report it.
        with pytest.raises(DomainError) as e:
            sv.report_task(s, principal(s, "nn_si"), tasks[nn_checks_nn].id, report="x", findings=[])
        assert e.value.status_code == 403
    with session_scope() as s:
        with pytest.raises(DomainError) as e:
            sv.report_task(s, principal(s, "nn_si"), task.id, report=" ", findings=[])
        assert e.value.field == "report"
    with session_scope() as s:
        with pytest.raises(DomainError) as e:
            sv.report_task(
                s,
                principal(s, "nn_si"),
                task.id,
                report="已检查",
                findings=[{"description": "x", "severity": "grave", "amount_fen": 1}],
            )
        assert e.value.field == "findings.0.severity"
    by = clock.today() + dt.timedelta(days=10)
    with session_scope() as s:
        t = sv.report_task(
            s,
            principal(s, "nn_si"),
            task.id,
            report="抽查 2 个月支付明细",
            findings=[
                {"description": "个别支付缺少复核签字", "severity": "low", "amount_fen": 0, "rectify_by": by},
                {
                    "description": "一笔医疗费超目录支付",
                    "severity": "high",
                    "amount_fen": 123_456,
                    "rectify_by": by.isoformat(),
                },
            ],
        )
        assert t.status == "reported"
        assert len(_audits(s, "fund.task.report", t.id)) == 1
        fids = [f.id for f in sv.findings_of(s, t)]
    with session_scope() as s:
        with pytest.raises(DomainError) as e:
            sv.report_task(s, principal(s, "nn_si"), task.id, report="again", findings=[])
        assert e.value.status_code == 409
    # The region cannot close a finding not yet rectified.
    with session_scope() as s:
        with pytest.raises(DomainError) as e:
            sv.close_finding(s, principal(s, "gx_si"), fids[0])
        assert e.value.status_code == 409
    # The checked city rectifies; the checker city (南宁) may not, unless it is the checked one.
    checked_user = {NN: "nn_si", LZ: "lz_hrss", GL: "gl_si"}[checked_by_nn]
    with session_scope() as s:
        with pytest.raises(DomainError) as e:
            sv.rectify(s, principal(s, "nn_si"), fids[0], "已整改")
        assert e.value.status_code == 403
    for fid in fids:
        with session_scope() as s:
            f = sv.rectify(s, principal(s, checked_user), fid, "已补签字并追回")
            assert f.status == "rectified"
            assert len(_audits(s, "fund.finding.rectify", fid)) == 1
    # Sent back once, rectified again, then closed.
    with session_scope() as s:
        with pytest.raises(DomainError) as e:
            sv.reopen_finding(s, principal(s, "gx_hrss"), fids[1], " ")
        assert e.value.field == "reason"
    with session_scope() as s:
        assert sv.reopen_finding(s, principal(s, "gx_hrss"), fids[1], "未见追回凭证").status == "open"
        ev = _audits(s, "fund.finding.reopen", fids[1])
        assert ev and ev[0].after["reason"] == "未见追回凭证"
    with session_scope() as s:
        sv.rectify(s, principal(s, checked_user), fids[1], "已追回，附银行回单")
    for fid in fids:
        with session_scope() as s:
            assert sv.close_finding(s, principal(s, "gx_si"), fid).status == "closed"
            assert len(_audits(s, "fund.finding.close", fid)) == 1
    with session_scope() as s:
        assert s.get(CampaignTask, task.id).status == "closed"
        assert s.get(Campaign, cid).status == "open"
    # The other two tasks report no findings: each closes at once, and the campaign with them.
    users = {NN: "nn_si", LZ: "lz_hrss", GL: "gl_si"}
    for t in tasks.values():
        if t.id == task.id:
            continue
        with session_scope() as s:
            assert (
                sv.report_task(s, principal(s, users[t.checker_code]), t.id, report="未发现问题", findings=[]).status
                == "closed"
            )
    with session_scope() as s:
        c = s.get(Campaign, cid)
        assert c.status == "closed" and c.closed_at is not None
        # A closed campaign's findings can no longer be sent back.
        with pytest.raises(DomainError) as e:
            sv.reopen_finding(s, principal(s, "gx_si"), fids[0], "复查")
        assert e.value.status_code == 409
        assert len(_audits(s, "fund.campaign.open", cid)) == 1


def test_scope_of_city_officers():
    cid = _open(kind="self_check", cities=(NN, LZ))
    tasks = _tasks(cid)
    with session_scope() as s:
        t = sv.report_task(
            s,
            principal(s, "nn_hrss"),
            tasks[NN].id,
            report="自查",
            findings=[{"description": "台账不全", "severity": "medium", "amount_fen": 500}],
        )
        fid = sv.findings_of(s, t)[0].id
        # The finding's date defaults to the campaign's.
        assert s.get(Finding, fid).rectify_by == s.get(Campaign, cid).due_on
    with session_scope() as s:
        gl = principal(s, "gl_si")
        # 桂林 is not in this campaign: it sees neither the campaign, the task nor the finding.
        for fn in (
            lambda: sv.get_campaign(s, gl, cid),
            lambda: sv.get_task(s, gl, tasks[NN].id),
            lambda: sv.rectify(s, gl, fid, "代为整改"),
        ):
            with pytest.raises(DomainError) as e:
                fn()
            assert e.value.status_code == 404
        assert cid not in [c.id for c in sv.list_campaigns(s, gl, size=100).items]
        lz = principal(s, "lz_hrss")
        assert [t.city_code for t in sv.tasks_of(s, lz, sv.get_campaign(s, lz, cid))] == [LZ]
        with pytest.raises(DomainError) as e:
            sv.rectify(s, lz, fid, "代为整改")
        assert e.value.status_code == 404
        # A city officer cannot open a campaign or close a finding.
        with pytest.raises(DomainError) as e:
            sv.open_campaign(s, principal(s, "nn_si"), kind="self_check", title="x", due_on=clock.today(), cities=[NN])
        assert e.value.status_code == 403
        with pytest.raises(DomainError) as e:
            sv.close_finding(s, principal(s, "nn_si"), fid)
        assert e.value.status_code == 403
        summary = {r.city_code: r for r in sv.open_findings_by_city(s, principal(s, "gx_si"))}
        assert summary[NN].open >= 1 and summary[NN].amount_fen >= 500
        assert {r.city_code for r in sv.open_findings_by_city(s, principal(s, "nn_si"))} <= {NN}


def test_opening_checks_its_input():
    with session_scope() as s:
        gx = principal(s, "gx_si")
        today = clock.today()
        for kwargs, field in (
            ({"kind": "audit", "cities": [NN]}, "kind"),
            ({"kind": "self_check", "cities": []}, "cities"),
            ({"kind": "self_check", "cities": ["450103"]}, "cities"),
            ({"kind": "cross_check", "cities": [NN]}, "cities"),
            ({"kind": "cross_check", "cities": [NN, LZ], "checkers": {NN: NN, LZ: NN}}, "cities"),
            ({"kind": "self_check", "cities": [NN], "due_on": today - dt.timedelta(days=1)}, "due_on"),
            ({"kind": "self_check", "cities": [NN], "title": " "}, "title"),
        ):
            args = {"title": "检查", "due_on": today, **kwargs}
            with pytest.raises(DomainError) as e:
                sv.open_campaign(s, gx, **args)
            assert e.value.field == field, kwargs
        c = sv.open_campaign(
            s,
            gx,
            kind="cross_check",
            title="指定互查",
            due_on=today,
            cities=[NN, LZ, GL],
            checkers={NN: GL, LZ: GL, GL: NN},
        )
        assert {t.city_code: t.checker_code for t in sv.tasks_of(s, gx, c)} == {NN: GL, LZ: GL, GL: NN}
        s.rollback()


def test_overdue_flags():
    cid = _open(kind="self_check", cities=(LZ,), due_in=0)
    tasks = _tasks(cid)
    with session_scope() as s:
        sv.report_task(
            s,
            principal(s, "lz_hrss"),
            tasks[LZ].id,
            report="自查",
            findings=[{"description": "对账不及时", "severity": "low", "amount_fen": 0}],
        )
    with clock.frozen(clock.now() + dt.timedelta(days=2)), session_scope() as s:
        gx = principal(s, "gx_hrss")
        c = sv.get_campaign(s, gx, cid)
        d = sv.campaign_dict(s, gx, c)
        assert d["overdue_tasks"] == 1 and d["tasks_closed"] == 0 and d["tasks"] == 1
        t = s.get(CampaignTask, tasks[LZ].id)
        assert sv.task_dict(s, t)["overdue"] is True
        assert [sv.finding_dict(f)["overdue"] for f in sv.findings_of(s, t)] == [True]
    with session_scope() as s:
        t = s.get(CampaignTask, tasks[LZ].id)
        assert sv.task_dict(s, t)["overdue"] is False


def _luhn(body: str) -> str:
    total = 0
    for i, ch in enumerate(reversed(body)):
        d = int(ch) * (2 if i % 2 == 0 else 1)
        total += d - 9 if d > 9 else d
    return body + str((10 - total % 10) % 10)


def test_suspicious_items_are_listed_from_paid_benefits():
    from oip.benefits import payables
    from oip.benefits.models import DeterminationLine, MonthlyBenefit, Payable
    from oip.cases.models import Case
    from oip.payments import payees
    from oip.payments.models import PaymentBatch, PaymentLine
    from tests.payments.conftest import owed_case

    county = "450305"
    card = _luhn(f"62284800{clock.now().microsecond:06d}{next(_seq):04d}")
    a = owed_case((60_000_000,), county=county, account=False)
    b = owed_case((30_000,), county=county, account=False, dependant=True)
    today = clock.today()
    month = today.replace(day=1)
    with session_scope() as s:
        gl = principal(s, "gl_si")
        acc_a = payees.register(s, gl, a["case_id"], holder_name="甲", bank_name="桂林银行", card_number=card)
        acc_b = payees.register(
            s,
            gl,
            b["case_id"],
            holder_name="乙",
            bank_name="桂林银行",
            card_number=card,
            dependant_id=b["dependant_id"],
        )
        stopped = MonthlyBenefit(
            case_id=b["case_id"],
            line_id=b["lines"][0],
            item="nursing",
            person_id=s.get(Case, b["case_id"]).person_id,
            region_code=county,
            starts_on=month - dt.timedelta(days=120),
            status="stopped",
            stopped_on=month - dt.timedelta(days=40),
            stop_reason="死亡",
            created_at=clock.now(),
        )
        s.add(stopped)
        s.flush()
        after = payables.add(
            s,
            line=s.get(DeterminationLine, b["lines"][0]),
            case_id=b["case_id"],
            amount_fen=250_000,
            key=f"svtest:{stopped.id}:{month:%Y-%m}",
            due_on=today,
            region_code=county,
            person_id=stopped.person_id,
            kind="monthly",
            period=month,
            monthly_id=stopped.id,
        )
        batch = PaymentBatch(
            number=f"SVT{clock.now():%H%M%S%f}"[:32], region_code=county, status="settled", made_at=clock.now()
        )
        s.add(batch)
        s.flush()
        dep_payable = s.scalar(
            select(Payable).where(Payable.case_id == b["case_id"], Payable.dependant_id.is_not(None))
        )
        paid = [
            (a["payables"][0], a["case_id"], acc_a.id),
            (dep_payable.id, b["case_id"], acc_b.id),
            (after.id, b["case_id"], acc_a.id),
        ]
        for n, (pid, case_id, acc) in enumerate(paid):
            p = s.get(Payable, pid)
            p.status = "paid"
            s.add(
                PaymentLine(
                    batch_id=batch.id,
                    payable_id=pid,
                    case_id=case_id,
                    account_id=acc,
                    attempt=1,
                    idempotency_key=f"{batch.number}#{n}",
                    amount_fen=p.amount_fen,
                    status="paid",
                    paid_on=today,
                )
            )
        numbers = {k: s.get(Case, v["case_id"]).number for k, v in (("a", a), ("b", b))}
    cid = _open(kind="suspicious", cities=(GL,))
    tasks = _tasks(cid)
    assert tasks[GL].checker_code == GL
    with session_scope() as s:
        found = [sv.finding_dict(f) for f in sv.findings_of(s, s.get(CampaignTask, tasks[GL].id))]
    assert all(f["status"] == "open" for f in found)
    shared = [f for f in found if f"尾号 {card[-4:]}" in f["description"]]
    assert len(shared) == 1 and numbers["a"] in shared[0]["description"] and numbers["b"] in shared[0]["description"]
    assert shared[0]["severity"] == "high" and card not in shared[0]["description"]
    assert shared[0]["amount_fen"] == 60_000_000 + 5000 + 250_000
    stop = [f for f in found if "停发" in f["description"] and numbers["b"] in f["description"]]
    assert len(stop) == 1 and f"{month:%Y-%m}" in stop[0]["description"] and stop[0]["amount_fen"] == 250_000
    large = [f for f in found if "大额" in f["description"] and numbers["a"] in f["description"]]
    assert len(large) == 1 and large[0]["amount_fen"] == 60_000_000
    # Nothing of another city is listed, and no ID number.
    with session_scope() as s:
        from oip.workers.models import Person

        person = s.get(Person, s.get(Case, a["case_id"]).person_id)
        ident = getattr(person, "id_number", None)
    if isinstance(ident, str) and ident:
        assert all(ident not in f["description"] for f in found)
    # The city checks its own items: it reports, rectifies and the region closes each.
    with session_scope() as s:
        t = sv.report_task(s, principal(s, "gl_si"), tasks[GL].id, report="已逐笔核查", findings=[])
        assert t.status == "reported"


def test_major_report_deadline_and_handling():
    now = clock.now().replace(microsecond=0)
    with session_scope() as s:
        nn = principal(s, "nn_si")
        hours = parameters.get(s, MAJOR_REPORT_HOURS, clock.local(now).date(), NN)
        on_time = sv.report_major(
            s,
            nn,
            category="fraud",
            title="疑似冒领",
            content="发现一起疑似冒领",
            occurred_at=now - dt.timedelta(hours=1),
        )
        assert not on_time.late and on_time.due_at == now - dt.timedelta(hours=1) + dt.timedelta(hours=hours)
        assert on_time.region_code == NN and on_time.status == "submitted"
        late = sv.report_major(
            s,
            nn,
            category="fund_loss",
            title="资金损失",
            content="一笔支付错付",
            occurred_at=now - dt.timedelta(hours=hours + 3),
            amount_fen=880_000,
        )
        assert late.late
        ev = _audits(s, "fund.major.report", late.id)
        assert ev and ev[0].after["late"] is True
        ids = (on_time.id, late.id)
        for bad, field in (
            ({"category": "gossip"}, "category"),
            ({"title": ""}, "title"),
            ({"occurred_at": now + dt.timedelta(hours=2)}, "occurred_at"),
            ({"amount_fen": -1}, "amount_fen"),
        ):
            args = {"category": "other", "title": "t", "content": "c", "occurred_at": now, **bad}
            with pytest.raises(DomainError) as e:
                sv.report_major(s, nn, **args)
            assert e.value.field == field
    # An injected clock: reported 30 hours after it occurred is late under 24 hours.
    with clock.frozen(now + dt.timedelta(hours=30)), session_scope() as s:
        m = sv.report_major(
            s, principal(s, "lz_hrss"), category="system", title="系统故障", content="服务中断", occurred_at=now
        )
        assert m.late == (hours < 30) and m.region_code == LZ
        lz_id = m.id
    with session_scope() as s:
        gl = principal(s, "gl_si")
        for fn in (lambda: sv.get_major(s, gl, ids[0]), lambda: sv.acknowledge(s, principal(s, "gx_si"), 987654321)):
            with pytest.raises(DomainError) as e:
                fn()
            assert e.value.status_code == 404
        assert not {ids[0], ids[1], lz_id} & {m.id for m in sv.list_majors(s, gl, size=100).items}
        assert lz_id not in {m.id for m in sv.list_majors(s, principal(s, "nn_si"), size=100).items}
        with pytest.raises(DomainError) as e:
            sv.acknowledge(s, principal(s, "nn_si"), ids[0])
        assert e.value.status_code == 403
    with session_scope() as s:
        gx = principal(s, "gx_hrss")
        with pytest.raises(DomainError) as e:
            sv.close_major(s, gx, ids[0], "已处理")
        assert e.value.status_code == 409
        assert sv.acknowledge(s, gx, ids[0]).status == "acknowledged"
        with pytest.raises(DomainError) as e:
            sv.close_major(s, gx, ids[0], " ")
        assert e.value.field == "outcome"
        m = sv.close_major(s, gx, ids[0], "已立案移送公安")
        assert m.status == "closed" and m.outcome == "已立案移送公安"
        assert len(_audits(s, "fund.major.acknowledge", ids[0])) == 1
        assert len(_audits(s, "fund.major.close", ids[0])) == 1
        assert s.get(MajorReport, ids[0]).closed_at is not None
