"""What a case means for the people it concerns, in plain Chinese — pure.

The worker (and the platform, for its workers) follows the case: what happened, what is missing,
what comes next and by when. ``guide(state, facts, viewer)`` turns the case's state and dates into
that: one sentence on where the case stands, the steps owed next (by whom, by when) and the rights
the person has now (appeal, re-appraisal). ``viewer``: ``worker`` (you), ``platform`` (your worker),
``staff`` (the person)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Guide:
    now: str
    next_steps: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    rights: list[str] = field(default_factory=list)


def _d(day: Any) -> str:
    if isinstance(day, str):
        day = dt.date.fromisoformat(day)
    return f"{day.year}年{day.month}月{day.day}日" if day else "（期限待定）"


def guide(state: str, f: dict[str, Any], viewer: str = "worker") -> Guide:
    """``f``: jurisdiction, platform_due, worker_due, next_due, decision_due, accepted_on, decided_on,
    outcome_reason, suspension_reason, missing (list of names), investigating (bool)."""
    you = {"worker": "您", "platform": "该从业人员", "staff": "申请人"}.get(viewer, "您")
    office = f.get("jurisdiction") or "事故发生地人社部门"
    g = Guide(now="")
    match state:
        case "reported":
            g.now = "已收到报案，尚未提出职业伤害确认申请。"
            if f.get("platform_due"):
                g.next_steps.append(f"平台企业应在 {_d(f['platform_due'])} 前向{office}提出确认申请。")
            if f.get("worker_due"):
                g.next_steps.append(
                    f"平台企业未按时申请的，{you}本人、近亲属或工会组织可在 {_d(f['worker_due'])} 前申请；"
                    "逾期申请须附书面说明。"
                )
        case "applied":
            g.now = f"确认申请已提交，{office}正在审查材料。"
            g.next_steps.append(f"{office}应在 {_d(f.get('next_due'))} 前作出是否受理的决定。")
        case "correction":
            g.now = "申请材料不齐全，已一次性告知需补正的全部材料；补正期间审查期限暂停计算。"
            g.missing = list(f.get("missing") or [])
            g.next_steps.append(f"请在 {_d(f.get('next_due'))} 前补交所列材料；材料齐全后继续审查。")
        case "accepted" | "investigating":
            g.now = f"{office}已于 {_d(f.get('accepted_on'))} 受理申请，正在审查。"
            if f.get("investigating") or state == "investigating":
                g.now += "受托商业保险机构正在调查核实，可能联系" + you + "了解情况、查看现场。"
            g.next_steps.append(f"{office}应在 {_d(f.get('decision_due'))} 前作出职业伤害确认结论。")
        case "suspended":
            g.now = f"审查已中止：{f.get('suspension_reason') or '等待其他机关的结论'}。中止期间不计入审查期限。"
            if f.get("next_due"):
                g.next_steps.append(f"预计 {_d(f['next_due'])} 前取得结论后恢复审查，并顺延确认结论期限。")
        case "confirmed":
            g.now = f"{office}已于 {_d(f.get('decided_on'))} 作出予以确认职业伤害的结论。"
            g.next_steps.append("治疗结束、伤情相对稳定后，如存在残疾或影响劳动能力，可申请劳动能力鉴定。")
            g.rights.append(_appeal_rights(f))
        case "not_confirmed":
            g.now = f"{office}已于 {_d(f.get('decided_on'))} 作出不予确认职业伤害的结论。"
            if f.get("outcome_reason"):
                g.now += f"理由：{f['outcome_reason']}。"
            g.rights.append(_appeal_rights(f))
        case "refused":
            g.now = "确认申请未予受理。"
            if f.get("outcome_reason"):
                g.now += f"理由：{f['outcome_reason']}。"
            g.rights.append(_appeal_rights(f))
        case "appealed":
            g.now = "已申请行政复议或提起行政诉讼，正在审理。"
            if f.get("next_due"):
                g.next_steps.append(f"预计 {_d(f['next_due'])} 前作出复议决定；原结论被撤销的，将重新审查并作出结论。")
        case "appraisal":
            if f.get("next_due"):
                g.now = "劳动能力鉴定正在进行。"
                g.next_steps.append(f"鉴定委员会应在 {_d(f['next_due'])} 前作出鉴定结论（复杂情况可延长 30 日）。")
            else:
                g.now = "劳动能力鉴定申请已提交，等待劳动能力鉴定委员会受理。"
                g.next_steps.append("委员会受理之日起 60 日内作出鉴定结论（复杂情况可延长 30 日）。")
        case "appraised":
            g.now = "劳动能力鉴定结论已作出。"
            if f.get("next_due"):
                g.rights.append(
                    f"对鉴定结论不服的，可在 {_d(f['next_due'])} 前向自治区劳动能力鉴定委员会申请再次鉴定（结论为最终结论）。"
                )
            g.rights.append("自鉴定结论作出之日起一年后，认为伤残情况发生变化的，可申请复查鉴定。")
        case "closed":
            g.now = "案件已办结。"
            g.rights.append("自鉴定结论作出之日起一年后，认为伤残情况发生变化的，可申请复查鉴定。")
        case "withdrawn":
            g.now = "确认申请已撤回，案件已终结。"
        case "merged":
            g.now = "同一事故有多次报案，本报案已并入另一案件办理。"
        case _:
            g.now = "案件办理中。"
    return g


def _appeal_rights(f: dict[str, Any]) -> str:
    until = f" {_d(f['appeal_due'])} 前" if f.get("appeal_due") else "收到结论书之日起 60 日内"
    return f"对结论不服的，可在{until}依法申请行政复议，或在 6 个月内向人民法院提起行政诉讼。"
