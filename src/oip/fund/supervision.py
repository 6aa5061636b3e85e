"""Fund supervision (基金监督, seed 二(三)): campaigns of risk self-checks (风险自查), suspicious-data
checks (疑点核查) and cross-checks between cities (交叉互查), their findings, rectification and
closure (销号); and major-situation reports (要情报告) with their deadline.

Who does what:

- the region (FUND_SUPERVISE: 自治区人社厅, 自治区社保中心) opens a campaign for some cities; each
  city gets a task with a checker — the city itself (self-check, suspicious data: the suspicious
  items are listed for it from the payment data as open findings), or another city (cross-check);
- the checker city (FUND_RESPOND, in its scope) reports the task with its findings;
- the checked city rectifies each finding; the region closes (销号) a rectified finding or sends it
  back (退回整改) with a reason. A task closes when it is reported and every finding is closed; the
  campaign closes when every task is closed;
- a city (FUND_RESPOND) reports a major situation; its deadline is ``fund.major_report_hours``
  after it occurred, a later report is marked late (迟报); the region acknowledges it, then closes it
  with the outcome.

Every act checks the permission and the data scope (a city officer sees the tasks its city checks
or is checked in, its own findings and major reports) and is audited in the caller's transaction.
Findings and major reports name cases by number, never a person's card or ID number.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import ColumnElement, false, func, or_, select
from sqlalchemy.orm import Session

from oip.auth import permissions as P
from oip.auth.scope import out_of_scope
from oip.auth.service import Principal
from oip.benefits.calc import ITEM_NAMES
from oip.benefits.models import MonthlyBenefit, Payable
from oip.cases.models import Case
from oip.cases.scope import code_prefix
from oip.core import audit, clock
from oip.core.db import paginate
from oip.core.errors import DomainError, Forbidden, IllegalTransition
from oip.core.money import yuan
from oip.core.pagination import Page
from oip.core.validation import clean_text
from oip.fund import supervision_rules as rules
from oip.fund.models import Campaign, CampaignTask, Finding, MajorReport
from oip.fund.supervision_parameters import LARGE_PAYMENT_FEN, MAJOR_REPORT_HOURS
from oip.payments.models import PayeeAccount, PaymentLine
from oip.reference import parameters
from oip.reference.models import Region

PROVINCE = "450000"

audit.register_actions(
    {
        "fund.campaign.open": "发起基金监督检查",
        "fund.task.report": "报告检查情况及发现问题",
        "fund.finding.rectify": "报送问题整改情况",
        "fund.finding.close": "问题整改销号",
        "fund.finding.reopen": "退回问题整改",
        "fund.major.report": "报送要情",
        "fund.major.acknowledge": "接收要情报告",
        "fund.major.close": "要情办结",
    }
)
audit.register_entity_names("fund_campaign", "基金监督检查")
audit.register_entity_names("fund_task", "基金监督检查任务")
audit.register_entity_names("fund_finding", "检查发现问题")
audit.register_entity_names("fund_major_report", "要情报告")


# ---- scope ---------------------------------------------------------------------------------------


def _prefix(actor: Principal) -> str | None:
    """The region prefix of the actor's supervision data (None: none)."""
    return actor.region_prefix if actor.role.scope == "region" and actor.can(P.FUND_READ) else None


def in_scope(actor: Principal, code: str) -> bool:
    prefix = _prefix(actor)
    return prefix is not None and code.startswith(prefix)


def task_condition(actor: Principal) -> ColumnElement[bool]:
    """Tasks the actor sees: its region is checked in them or checks them."""
    prefix = _prefix(actor)
    if prefix is None:
        return false()
    return or_(code_prefix(CampaignTask.city_code, prefix), code_prefix(CampaignTask.checker_code, prefix))


def major_condition(actor: Principal) -> ColumnElement[bool]:
    prefix = _prefix(actor)
    return code_prefix(MajorReport.region_code, prefix) if prefix is not None else false()


def _need(actor: Principal, permission: str, what: str) -> None:
    if not actor.can(permission):
        raise Forbidden(f"您无权{what}")


def _rule(fn: Callable[[], object], field: str | None = None):
    try:
        return fn()
    except rules.RuleError as err:
        raise IllegalTransition(str(err), field=field) from None


def city_choices(session: Session, actor: Principal | None = None) -> list[tuple[str, str]]:
    """The cities of Guangxi in force (code, name), those in the actor's scope when given."""
    rows = session.scalars(
        select(Region)
        .where(Region.level == "city", Region.parent_code == PROVINCE, Region.valid_to.is_(None))
        .order_by(Region.code)
    ).all()
    return [(r.code, r.name) for r in rows if actor is None or in_scope(actor, r.code)]


def region_names(session: Session, codes) -> dict[str, str]:
    codes = set(codes)
    if not codes:
        return {}
    return {r.code: r.name for r in session.scalars(select(Region).where(Region.code.in_(codes)))}


# ---- reads ---------------------------------------------------------------------------------------


def list_campaigns(
    session: Session, actor: Principal, *, status: str | None = None, page: int = 1, size: int = 20
) -> Page[Campaign]:
    _need(actor, P.FUND_READ, "查看基金监督检查")
    visible = select(CampaignTask.campaign_id).where(task_condition(actor))
    q = select(Campaign).where(Campaign.id.in_(visible))
    if status in rules.CAMPAIGN_STATUS_NAMES:
        q = q.where(Campaign.status == status)
    return paginate(session, q.order_by(Campaign.made_at.desc(), Campaign.id.desc()), page, size)


def get_campaign(session: Session, actor: Principal, campaign_id: int) -> Campaign:
    _need(actor, P.FUND_READ, "查看基金监督检查")
    c = session.scalar(
        select(Campaign).where(
            Campaign.id == campaign_id,
            Campaign.id.in_(select(CampaignTask.campaign_id).where(task_condition(actor))),
        )
    )
    if c is None:
        raise out_of_scope("监督检查")
    return c


def tasks_of(session: Session, actor: Principal, campaign: Campaign) -> list[CampaignTask]:
    return list(
        session.scalars(
            select(CampaignTask)
            .where(CampaignTask.campaign_id == campaign.id, task_condition(actor))
            .order_by(CampaignTask.city_code)
        )
    )


def get_task(session: Session, actor: Principal, task_id: int, *, for_update: bool = False) -> CampaignTask:
    _need(actor, P.FUND_READ, "查看基金监督检查")
    q = select(CampaignTask).where(CampaignTask.id == task_id, task_condition(actor))
    if for_update:
        q = q.with_for_update()
    t = session.scalar(q)
    if t is None:
        raise out_of_scope("检查任务")
    return t


def findings_of(session: Session, task: CampaignTask) -> list[Finding]:
    return list(session.scalars(select(Finding).where(Finding.task_id == task.id).order_by(Finding.id)))


def get_finding(session: Session, actor: Principal, finding_id: int, *, for_update: bool = False) -> Finding:
    _need(actor, P.FUND_READ, "查看基金监督检查")
    q = (
        select(Finding)
        .join(CampaignTask, CampaignTask.id == Finding.task_id)
        .where(Finding.id == finding_id, task_condition(actor))
    )
    if for_update:
        q = q.with_for_update(of=Finding)
    f = session.scalar(q)
    if f is None:
        raise out_of_scope("检查发现问题")
    return f


def campaign_dict(session: Session, actor: Principal, c: Campaign, tasks: list[CampaignTask] | None = None) -> dict:
    tasks = tasks if tasks is not None else tasks_of(session, actor, c)
    today = clock.today()
    late = [t for t in tasks if rules.overdue(c.due_on, t.status, today)]
    return {
        "id": c.id,
        "kind": c.kind,
        "kind_name": rules.KIND_NAMES.get(c.kind, c.kind),
        "title": c.title,
        "scope_note": c.scope_note,
        "due_on": c.due_on.isoformat(),
        "status": c.status,
        "status_name": rules.CAMPAIGN_STATUS_NAMES.get(c.status, c.status),
        "made_at": clock.iso(c.made_at),
        "closed_at": clock.iso(c.closed_at),
        "tasks": len(tasks),
        "tasks_closed": sum(1 for t in tasks if t.status == "closed"),
        "overdue_tasks": len(late),
    }


def task_dict(session: Session, t: CampaignTask, campaign: Campaign | None = None, names: dict | None = None) -> dict:
    c = campaign or session.get(Campaign, t.campaign_id)
    names = names if names is not None else region_names(session, {t.city_code, t.checker_code})
    return {
        "id": t.id,
        "campaign_id": t.campaign_id,
        "campaign_title": c.title,
        "kind": c.kind,
        "kind_name": rules.KIND_NAMES.get(c.kind, c.kind),
        "city_code": t.city_code,
        "city_name": names.get(t.city_code, t.city_code),
        "checker_code": t.checker_code,
        "checker_name": names.get(t.checker_code, t.checker_code),
        "status": t.status,
        "status_name": rules.TASK_STATUS_NAMES.get(t.status, t.status),
        "report": t.report,
        "reported_at": clock.iso(t.reported_at),
        "closed_at": clock.iso(t.closed_at),
        "due_on": c.due_on.isoformat(),
        "overdue": rules.overdue(c.due_on, t.status, clock.today()),
    }


def finding_dict(f: Finding) -> dict:
    return {
        "id": f.id,
        "task_id": f.task_id,
        "description": f.description,
        "severity": f.severity,
        "severity_name": rules.SEVERITY_NAMES.get(f.severity, f.severity),
        "amount_fen": f.amount_fen,
        "rectify_by": f.rectify_by.isoformat(),
        "status": f.status,
        "status_name": rules.FINDING_STATUS_NAMES.get(f.status, f.status),
        "rectification": f.rectification,
        "rectified_at": clock.iso(f.rectified_at),
        "closed_at": clock.iso(f.closed_at),
        "overdue": rules.overdue(f.rectify_by, f.status, clock.today(), done=("rectified", "closed")),
    }


@dataclass
class CityFindings:
    city_code: str
    city_name: str
    open: int
    rectified: int
    overdue: int
    amount_fen: int

    def as_dict(self) -> dict:
        return self.__dict__.copy()


def open_findings_by_city(session: Session, actor: Principal) -> list[CityFindings]:
    """Findings not yet closed, by checked city (in the actor's scope): how many wait for
    rectification, how many wait for closure, how many are past their date, the money involved."""
    _need(actor, P.FUND_READ, "查看基金监督检查")
    prefix = _prefix(actor)
    if prefix is None:
        return []
    rows = session.execute(
        select(CampaignTask.city_code, Finding.status, Finding.rectify_by, Finding.amount_fen)
        .join(Finding, Finding.task_id == CampaignTask.id)
        .where(Finding.status != "closed", code_prefix(CampaignTask.city_code, prefix))
    ).all()
    today = clock.today()
    acc: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    for city, status, by, amount in rows:
        a = acc[city]
        a[0 if status == "open" else 1] += 1
        a[2] += status == "open" and by < today
        a[3] += amount
    names = region_names(session, acc)
    return [CityFindings(c, names.get(c, c), *acc[c]) for c in sorted(acc)]


# ---- campaigns -----------------------------------------------------------------------------------


def _date(v, field: str, label: str) -> dt.date:
    if isinstance(v, dt.datetime):
        return v.date()
    if isinstance(v, dt.date):
        return v
    if isinstance(v, str) and v.strip():
        try:
            return dt.date.fromisoformat(v.strip())
        except ValueError:
            pass
    raise DomainError(f"请填写{label}（YYYY-MM-DD）", field=field)


def open_campaign(
    session: Session,
    actor: Principal,
    *,
    kind: str,
    title: str,
    due_on: dt.date,
    cities: list[str],
    checkers: dict[str, str] | None = None,
    scope_note: str = "",
) -> Campaign:
    """Open a campaign: one task per city with its checker; for 疑点核查 the suspicious items of the
    city's payment data are its task's first findings (open)."""
    _need(actor, P.FUND_SUPERVISE, "发起基金监督检查")
    if kind not in rules.KIND_NAMES:
        raise DomainError("检查类型应为风险自查、疑点核查或交叉互查", field="kind")
    title = clean_text(title, "title", "检查名称", 128, required=True)
    scope_note = clean_text(scope_note, "scope_note", "检查范围说明", 2000)
    due_on = _date(due_on, "due_on", "完成期限")
    if due_on < clock.today():
        raise DomainError("完成期限不能早于今天", field="due_on")
    known = dict(city_choices(session, actor))
    for c in [*cities, *(checkers or {}).values()]:
        if c not in known:
            raise DomainError(f"地区“{c}”不是您管辖范围内的设区市", field="cities")
    try:
        who = rules.checkers_for(kind, cities, checkers or None)
    except rules.RuleError as err:
        reason = str(err)
        for code, name in known.items():  # the cities by name, not code
            reason = reason.replace(code, name)
        raise DomainError(reason, field="cities") from None
    now = clock.now()
    c = Campaign(
        kind=kind,
        title=title,
        scope_note=scope_note,
        due_on=due_on,
        status="open",
        made_by=actor.user_id,
        made_at=now,
    )
    session.add(c)
    session.flush()
    listed = 0
    for city, checker in who.items():
        t = CampaignTask(campaign_id=c.id, city_code=city, checker_code=checker, status="assigned", report="")
        session.add(t)
        session.flush()
        if kind == "suspicious":
            large_fen = parameters.get(session, LARGE_PAYMENT_FEN, clock.today(), city)
            for item in suspicious_items(session, city, large_fen):
                session.add(
                    Finding(
                        task_id=t.id,
                        description=item.description,
                        severity=item.severity,
                        amount_fen=item.amount_fen,
                        rectify_by=due_on,
                        status="open",
                        rectification="",
                        made_by=actor.user_id,
                        made_at=now,
                    )
                )
                listed += 1
    session.flush()
    audit.record(
        session,
        actor,
        "fund.campaign.open",
        entity_type="fund_campaign",
        entity_id=c.id,
        after={
            "kind": kind,
            "title": title,
            "due_on": due_on,
            "checkers": who,
            "suspicious_items": listed,
        },
    )
    return c


# ---- suspicious data (疑点) ----------------------------------------------------------------------


@dataclass(frozen=True)
class Item:
    description: str
    severity: str
    amount_fen: int


def _paid_in(city: str):
    return (
        select(PaymentLine, Payable, Case.number)
        .join(Payable, Payable.id == PaymentLine.payable_id)
        .join(Case, Case.id == PaymentLine.case_id)
        .where(PaymentLine.status == "paid", code_prefix(Payable.region_code, city[:4]))
    )


def suspicious_items(session: Session, city: str, large_fen: int) -> list[Item]:
    """The suspicious items of a city's paid benefits, named by case number (never a card or ID):

    - one bank card paid for different payees (the card's blind index shared by accounts of
      different persons or dependants);
    - monthly benefits paid for a month after the benefit was stopped;
    - a one-off payment of ``large_fen`` or more."""
    items: list[Item] = []
    payee = func.coalesce(PayeeAccount.person_id, -PayeeAccount.dependant_id)
    shared = (
        select(PayeeAccount.card_bidx).group_by(PayeeAccount.card_bidx).having(func.count(func.distinct(payee)) > 1)
    )
    rows = session.execute(
        _paid_in(city)
        .add_columns(PayeeAccount.card_bidx, PayeeAccount.card_masked)
        .join(PayeeAccount, PayeeAccount.id == PaymentLine.account_id)
        .where(PayeeAccount.card_bidx.in_(shared))
        .order_by(PaymentLine.id)
    ).all()
    by_card: dict[bytes, dict] = {}
    for line, _payable, number, bidx, masked in rows:
        d = by_card.setdefault(bytes(bidx), {"tail": masked[-4:], "cases": {}, "fen": 0, "n": 0})
        d["cases"][number] = None
        d["fen"] += line.amount_fen
        d["n"] += 1
    for bidx, d in by_card.items():
        payees = session.scalar(select(func.count(func.distinct(payee))).where(PayeeAccount.card_bidx == bidx)) or 0
        numbers = list(d["cases"])
        shown = "、".join(numbers[:10]) + (f" 等 {len(numbers)} 件" if len(numbers) > 10 else "")
        items.append(
            Item(
                f"同一银行卡（尾号 {d['tail']}）登记为 {payees} 名不同收款人的收款账户，已向其支付 {d['n']} 笔："
                f"案件 {shown}。请核实收款人与账户关系。",
                "high",
                d["fen"],
            )
        )
    rows = session.execute(
        _paid_in(city)
        .add_columns(MonthlyBenefit.stopped_on, MonthlyBenefit.id)
        .join(MonthlyBenefit, MonthlyBenefit.id == Payable.monthly_id)
        .where(
            MonthlyBenefit.status == "stopped",
            MonthlyBenefit.stopped_on.is_not(None),
            Payable.period.is_not(None),
            Payable.period > MonthlyBenefit.stopped_on,
        )
        .order_by(MonthlyBenefit.id, Payable.period)
    ).all()
    by_monthly: dict[int, dict] = {}
    for line, payable, number, stopped_on, monthly_id in rows:
        d = by_monthly.setdefault(
            monthly_id, {"number": number, "stopped_on": stopped_on, "item": payable.item, "months": {}, "fen": 0}
        )
        d["months"][payable.period.strftime("%Y-%m")] = None
        d["fen"] += line.amount_fen
    for d in by_monthly.values():
        items.append(
            Item(
                f"案件 {d['number']} 的{ITEM_NAMES.get(d['item'], d['item'])}已于 {d['stopped_on']} 停发，"
                f"停发后仍支付 {'、'.join(d['months'])} 的待遇。请核实并追回。",
                "high",
                d["fen"],
            )
        )
    rows = session.execute(
        _paid_in(city).where(Payable.kind == "once", PaymentLine.amount_fen >= large_fen).order_by(PaymentLine.id)
    ).all()
    for line, payable, number in rows:
        items.append(
            Item(
                f"案件 {number} 单笔一次性支付{ITEM_NAMES.get(payable.item, payable.item)} {yuan(line.amount_fen)} 元"
                f"（{line.paid_on or ''}），达到大额支付疑点阈值 {yuan(large_fen)} 元。请核实核定依据。",
                "medium",
                line.amount_fen,
            )
        )
    return items


# ---- tasks and findings --------------------------------------------------------------------------


def _settle(session: Session, task: CampaignTask) -> None:
    """Close the task when it is reported and every finding is closed; close the campaign when
    every task is; a reopened finding reopens its task."""
    statuses = [f.status for f in findings_of(session, task)]
    new = rules.task_status_after(task.reported_at is not None, statuses)
    now = clock.now()
    if new != task.status:
        task.status = new
        task.closed_at = now if new == "closed" else None
    campaign = session.get(Campaign, task.campaign_id)
    all_tasks = session.scalars(select(CampaignTask.status).where(CampaignTask.campaign_id == campaign.id)).all()
    status = rules.campaign_status_after(all_tasks)
    if status != campaign.status:
        campaign.status = status
        campaign.closed_at = now if status == "closed" else None
    session.flush()


def _finding_input(raw: dict, i: int, default_by: dt.date) -> dict:
    n = f"第 {i + 1} 个问题"
    description = clean_text(raw.get("description"), f"findings.{i}.description", f"{n}的描述", 2000, required=True)
    severity = raw.get("severity") or "medium"
    if severity not in rules.SEVERITY_NAMES:
        raise DomainError(f"{n}的严重程度应为一般、较重或严重", field=f"findings.{i}.severity")
    amount = raw.get("amount_fen", 0)
    if amount in (None, ""):
        amount = 0
    if isinstance(amount, bool) or not isinstance(amount, int) or amount < 0:
        raise DomainError(f"{n}的涉及金额应为不小于 0 的整数（分）", field=f"findings.{i}.amount_fen")
    by = raw.get("rectify_by")
    by = _date(by, f"findings.{i}.rectify_by", f"{n}的整改期限") if by else default_by
    if by < clock.today():
        raise DomainError(f"{n}的整改期限不能早于今天", field=f"findings.{i}.rectify_by")
    return {"description": description, "severity": severity, "amount_fen": amount, "rectify_by": by}


def report_task(session: Session, actor: Principal, task_id: int, *, report: str, findings: list[dict]) -> CampaignTask:
    """The checker city reports what it checked and the problems it found (each with the money
    involved and a date to rectify by)."""
    _need(actor, P.FUND_RESPOND, "报告检查情况")
    t = get_task(session, actor, task_id, for_update=True)
    if not in_scope(actor, t.checker_code):
        raise Forbidden("只有承担检查的地区可以报告检查情况")
    _rule(lambda: rules.can_report(t.status))
    campaign = session.get(Campaign, t.campaign_id)
    if campaign.status != "open":
        raise IllegalTransition("该检查已结束")
    report = clean_text(report, "report", "检查情况报告", 8000, required=True)
    if len(findings) > 100:
        raise DomainError("一次最多报告 100 个问题", field="findings")
    cleaned = [_finding_input(f, i, campaign.due_on) for i, f in enumerate(findings)]
    now = clock.now()
    new_ids = []
    for f in cleaned:
        row = Finding(task_id=t.id, status="open", rectification="", made_by=actor.user_id, made_at=now, **f)
        session.add(row)
        session.flush()
        new_ids.append(row.id)
    t.report = report
    t.reported_at = now
    t.reported_by = actor.user_id
    _settle(session, t)
    audit.record(
        session,
        actor,
        "fund.task.report",
        entity_type="fund_task",
        entity_id=t.id,
        before={"status": "assigned"},
        after={"status": t.status, "findings": new_ids, "amount_fen": sum(f["amount_fen"] for f in cleaned)},
    )
    return t


def rectify(session: Session, actor: Principal, finding_id: int, text: str) -> Finding:
    """The checked city reports what it did about a finding (整改情况)."""
    _need(actor, P.FUND_RESPOND, "报送整改情况")
    f = get_finding(session, actor, finding_id, for_update=True)
    t = session.get(CampaignTask, f.task_id)
    if not in_scope(actor, t.city_code):
        raise Forbidden("只有被检查地区可以报送整改情况")
    campaign = session.get(Campaign, t.campaign_id)
    _rule(lambda: rules.can_rectify(f.status, campaign.status))
    text = clean_text(text, "text", "整改情况", 4000, required=True)
    f.status = "rectified"
    f.rectification = text
    f.rectified_at = clock.now()
    session.flush()
    audit.record(
        session,
        actor,
        "fund.finding.rectify",
        entity_type="fund_finding",
        entity_id=f.id,
        before={"status": "open"},
        after={"status": "rectified", "rectification": text},
    )
    return f


def _supervised_finding(session: Session, actor: Principal, finding_id: int, what: str):
    _need(actor, P.FUND_SUPERVISE, what)
    f = get_finding(session, actor, finding_id, for_update=True)
    t = session.get(CampaignTask, f.task_id)
    if not in_scope(actor, t.city_code):
        raise Forbidden(f"您无权{what}")
    return f, t, session.get(Campaign, t.campaign_id)


def close_finding(session: Session, actor: Principal, finding_id: int) -> Finding:
    """销号: the region accepts the rectification of a finding."""
    f, t, _c = _supervised_finding(session, actor, finding_id, "对问题销号")
    _rule(lambda: rules.can_close_finding(f.status, t.status))
    f.status = "closed"
    f.closed_at = clock.now()
    _settle(session, t)
    audit.record(
        session,
        actor,
        "fund.finding.close",
        entity_type="fund_finding",
        entity_id=f.id,
        before={"status": "rectified"},
        after={"status": "closed", "task_status": t.status},
    )
    return f


def reopen_finding(session: Session, actor: Principal, finding_id: int, reason: str) -> Finding:
    """退回整改: the rectification is not enough; the finding is open again (its task reopens)."""
    f, t, c = _supervised_finding(session, actor, finding_id, "退回问题整改")
    _rule(lambda: rules.can_reopen_finding(f.status, c.status))
    reason = clean_text(reason, "reason", "退回理由", 2000, required=True)
    before = f.status
    f.status = "open"
    f.closed_at = None
    _settle(session, t)
    audit.record(
        session,
        actor,
        "fund.finding.reopen",
        entity_type="fund_finding",
        entity_id=f.id,
        before={"status": before},
        after={"status": "open", "reason": reason, "task_status": t.status},
    )
    return f


# ---- major reports (要情报告) ---------------------------------------------------------------------


def list_majors(
    session: Session, actor: Principal, *, status: str | None = None, page: int = 1, size: int = 20
) -> Page[MajorReport]:
    _need(actor, P.FUND_READ, "查看要情报告")
    q = select(MajorReport).where(major_condition(actor))
    if status in rules.MAJOR_STATUS_NAMES:
        q = q.where(MajorReport.status == status)
    return paginate(session, q.order_by(MajorReport.reported_at.desc(), MajorReport.id.desc()), page, size)


def get_major(session: Session, actor: Principal, report_id: int, *, for_update: bool = False) -> MajorReport:
    _need(actor, P.FUND_READ, "查看要情报告")
    q = select(MajorReport).where(MajorReport.id == report_id, major_condition(actor))
    if for_update:
        q = q.with_for_update()
    m = session.scalar(q)
    if m is None:
        raise out_of_scope("要情报告")
    return m


def major_dict(session: Session, m: MajorReport, names: dict | None = None) -> dict:
    names = names if names is not None else region_names(session, {m.region_code})
    return {
        "id": m.id,
        "region_code": m.region_code,
        "region_name": names.get(m.region_code, m.region_code),
        "category": m.category,
        "category_name": rules.MAJOR_CATEGORIES.get(m.category, m.category),
        "title": m.title,
        "content": m.content,
        "amount_fen": m.amount_fen,
        "occurred_at": clock.iso(m.occurred_at),
        "due_at": clock.iso(m.due_at),
        "reported_at": clock.iso(m.reported_at),
        "late": m.late,
        "status": m.status,
        "status_name": rules.MAJOR_STATUS_NAMES.get(m.status, m.status),
        "acknowledged_at": clock.iso(m.acknowledged_at),
        "outcome": m.outcome,
        "closed_at": clock.iso(m.closed_at),
    }


def report_major(
    session: Session,
    actor: Principal,
    *,
    category: str,
    title: str,
    content: str,
    occurred_at: dt.datetime,
    amount_fen: int = 0,
) -> MajorReport:
    """A city reports a major situation to the region; late when after the deadline."""
    _need(actor, P.FUND_RESPOND, "报送要情")
    if actor.role.scope != "region":
        raise Forbidden("您无权报送要情")
    if category not in rules.MAJOR_CATEGORIES:
        raise DomainError("要情类别应为基金安全、欺诈骗保、重大事故、系统安全或其他", field="category")
    title = clean_text(title, "title", "要情标题", 128, required=True)
    content = clean_text(content, "content", "要情内容", 8000, required=True)
    if not isinstance(occurred_at, dt.datetime):
        raise DomainError("请填写发生时间", field="occurred_at")
    if occurred_at.tzinfo is None:
        occurred_at = occurred_at.replace(tzinfo=clock.SHANGHAI)
    now = clock.now()
    if occurred_at > now:
        raise DomainError("发生时间不能晚于现在", field="occurred_at")
    if isinstance(amount_fen, bool) or not isinstance(amount_fen, int) or amount_fen < 0:
        raise DomainError("涉及金额应为不小于 0 的整数（分）", field="amount_fen")
    hours = parameters.get(session, MAJOR_REPORT_HOURS, clock.local(occurred_at).date(), actor.region_code)
    due_at = rules.major_due_at(occurred_at, hours)
    m = MajorReport(
        region_code=actor.region_code,
        category=category,
        title=title,
        content=content,
        amount_fen=amount_fen,
        occurred_at=occurred_at,
        due_at=due_at,
        reported_at=now,
        reported_by=actor.user_id,
        late=rules.is_late(now, due_at),
        status="submitted",
        outcome="",
    )
    session.add(m)
    session.flush()
    audit.record(
        session,
        actor,
        "fund.major.report",
        entity_type="fund_major_report",
        entity_id=m.id,
        after={
            "category": category,
            "title": title,
            "occurred_at": occurred_at,
            "due_at": due_at,
            "late": m.late,
            "amount_fen": amount_fen,
            "hours": hours,
        },
    )
    return m


def acknowledge(session: Session, actor: Principal, report_id: int) -> MajorReport:
    _need(actor, P.FUND_SUPERVISE, "接收要情报告")
    m = get_major(session, actor, report_id, for_update=True)
    _rule(lambda: rules.can_acknowledge(m.status))
    m.status = "acknowledged"
    m.acknowledged_by = actor.user_id
    m.acknowledged_at = clock.now()
    session.flush()
    audit.record(
        session,
        actor,
        "fund.major.acknowledge",
        entity_type="fund_major_report",
        entity_id=m.id,
        before={"status": "submitted"},
        after={"status": "acknowledged"},
    )
    return m


def close_major(session: Session, actor: Principal, report_id: int, outcome: str) -> MajorReport:
    _need(actor, P.FUND_SUPERVISE, "办结要情")
    m = get_major(session, actor, report_id, for_update=True)
    _rule(lambda: rules.can_close_major(m.status))
    outcome = clean_text(outcome, "outcome", "办理结果", 4000, required=True)
    m.status = "closed"
    m.outcome = outcome
    m.closed_at = clock.now()
    session.flush()
    audit.record(
        session,
        actor,
        "fund.major.close",
        entity_type="fund_major_report",
        entity_id=m.id,
        before={"status": "acknowledged"},
        after={"status": "closed", "outcome": outcome},
    )
    return m
