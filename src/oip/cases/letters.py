"""The letters of a case (文书) as PDF: built from the case's facts, issued once, served on the parties.

The letters (``KINDS``): 受理通知书 (acceptance), 一次性补正告知书 (correction), 不予受理通知书 (refusal),
职业伤害确认结论书 (confirmation), 不予确认职业伤害结论书 (non_confirmation) and 劳动能力鉴定结论书
(appraisal, whose content the appraisal part supplies: ``appraisal_content``). Each carries the facts
of the case (the name and ID number masked), the legal basis — the 2025 Measures (人社部发〔2025〕24号)
and the handling procedure (人社厅函〔2025〕79号) — and, for the acts a party may contest, the appeal
rights with their limits: 行政复议 within 60 days of receipt (行政复议法 art. 20) or 行政诉讼 within 6
months (行政诉讼法 art. 46), the periods read from the parameters in force on the letter's date.

``issue_letter`` is the one way to make a letter: a letter is made **once** per (case, kind, source
— the row it speaks for: a decision, a correction notice, the refusal step), numbered (文号), dated
on the day of the act, rendered (oip.core.pdf), stored with its SHA-256 and put on the timeline; the
worker gets a text message that it is ready. Asking again returns the stored letter and its stored
bytes — a letter is never rendered again, so it never changes; ``verify`` re-hashes the stored bytes.
``serve_letter`` records delivery (送达: the day, the means, who).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from oip.auth.service import Principal
from oip.cases import decision, intake, parameters as CP, rules, service
from oip.cases.models import Case, CaseCode, CaseEvent, CorrectionNotice, Decision, Letter
from oip.core import audit, clock, crypto
from oip.core.errors import Conflict, DomainError, Forbidden, NotFound
from oip.core.pdf import LetterSpec, chinese_date, render_letter
from oip.reference import parameters


@dataclass(frozen=True)
class Kind:
    code: str
    title: str
    mark: str  # in the document number: 〔受〕, 〔补〕 …
    appealable: bool


KINDS: dict[str, Kind] = {
    k.code: k
    for k in (
        Kind("acceptance", "受理通知书", "受", False),
        Kind("correction", "一次性补正告知书", "补", False),
        Kind("refusal", "不予受理通知书", "不受", True),
        Kind("confirmation", "职业伤害确认结论书", "确", True),
        Kind("non_confirmation", "不予确认职业伤害结论书", "不确", True),
        Kind("appraisal", "劳动能力鉴定结论书", "鉴", False),
        Kind("benefit_determination", "待遇核定通知书", "待", True),  # content: oip.benefits.determination
        Kind("claim_determination", "费用核定通知书", "费", True),  # a claim's bills (oip.benefits.claims)
    )
}
SERVICE_MEANS = {
    "direct": "直接送达",
    "mail": "邮寄送达",
    "electronic": "电子送达",
    "left": "留置送达",
    "entrusted": "委托送达",
    "notice": "公告送达",
}

MEASURES = "《新就业形态人员职业伤害保障办法（试行）》（人社部发〔2025〕24号）"
PROCEDURE = "《新就业形态人员职业伤害保障业务经办和征收管理规程（试行）》（人社厅函〔2025〕79号）"
REGULATIONS = "《工伤保险条例》"
APPRAISAL_STANDARD = "《劳动能力鉴定 职工工伤与职业病致残等级》（GB/T 16180-2014）"
SELF_CARE = rules.SELF_CARE_NAMES
CN_DIGITS = "零一二三四五六七八九十"

service.register_event_names({"letter_issue": "制作文书", "letter_serve": "文书送达"})
audit.register_actions({"case.letter_read": "下载案件文书"})
audit.register_entity_names("letter", "案件文书")


@dataclass(frozen=True)
class LetterContent:
    """What a letter says, for kinds whose facts live outside the case tables (the appraisal
    conclusion): the caller builds it (``appraisal_content``) and passes it to ``issue_letter``."""

    addressee: str
    paragraphs: tuple[str, ...]
    issued_on: dt.date
    facts: tuple[tuple[str, str], ...] = ()
    legal_basis: str = ""
    appeal_rights: str = ""
    organisation: str | None = None  # default: the office of jurisdiction
    series: str | None = None  # the document number's series, default the office's (南青人社伤受)
    detail: dict[str, Any] = field(default_factory=dict)  # kept on the timeline event


# ---- the facts of a case ---------------------------------------------------------------------------


@dataclass
class Facts:
    case: Case
    office: str  # 南宁市青秀区人力资源和社会保障局
    government: str  # 南宁市青秀区人民政府 (where 行政复议 of the office's acts is asked)
    worker: str
    id_masked: str
    platform: str
    place: str
    phone: str | None

    @property
    def occurred(self) -> str:
        t = clock.local(self.case.occurred_at)
        return f"{chinese_date(t.date())} {t:%H:%M}"

    def rows(self, *more: tuple[str, str]) -> tuple[tuple[str, str], ...]:
        return (
            ("案件编号", self.case.number),
            ("受伤人员", self.worker),
            ("身份证号码", self.id_masked),
            ("平台企业", self.platform),
            ("事故时间", self.occurred),
            ("事故地点", service.full_address(self.place, self.case.address)),
            *more,
        )

    def applicant(self) -> str:
        """Who applied, as a letter addresses them."""
        if self.case.applicant == "platform":
            return self.platform
        if self.case.applicant in ("relative", "union"):
            return f"{self.worker}（{service.APPLICANT_NAMES[self.case.applicant]}代为申请）"
        return self.worker

    def applicant_phrase(self) -> str:
        """Who applied, as the body of a decision names them."""
        return {"platform": self.platform, "relative": "其近亲属", "union": "工会组织"}.get(
            self.case.applicant or "", "本人"
        )


def facts(session: Session, case: Case) -> Facts:
    from oip.platforms.models import Platform
    from oip.workers.models import Person, PlatformAccount
    from oip.workers.service import PHONE_CTX

    person = session.get(Person, case.person_id)
    platform = session.get(Platform, case.platform_id)
    account = session.get(PlatformAccount, case.platform_account_id)
    office = service.jurisdiction(session, case.county_code)["name"]
    day = clock.local(case.occurred_at).date()
    phone = None
    if account is not None and account.phone_enc:
        phone = crypto.decrypt(account.phone_enc, PHONE_CTX)
    return Facts(
        case=case,
        office=office,
        government=office.removesuffix("人力资源和社会保障局") + "人民政府",
        worker=person.name,
        id_masked=person.id_masked,
        platform=platform.display_name(day) if platform is not None else "",
        place=service.place_name(session, case.county_code),
        phone=phone,
    )


def _number_cn(n: int) -> str:
    """60 → 六十, 6 → 六, 15 → 十五 (numbers in legal time limits are written in characters)."""
    if n <= 10:
        return CN_DIGITS[n]
    if n < 20:
        return "十" + (CN_DIGITS[n % 10] if n % 10 else "")
    if n < 100:
        return CN_DIGITS[n // 10] + "十" + (CN_DIGITS[n % 10] if n % 10 else "")
    return str(n)


def appeal_rights(session: Session, f: Facts, day: dt.date, what: str) -> str:
    """Where and by when a party may contest the act the letter records (``what``: 本通知书, 本结论书)."""
    review = parameters.get(session, CP.APPEAL_REVIEW_DAYS, day)
    months = parameters.get(session, CP.APPEAL_LITIGATION_MONTHS, day)
    return (
        f"如不服本决定，可以自收到{what}之日起{_number_cn(review)}日内依法向{f.government}申请行政复议"
        f"（《中华人民共和国行政复议法》第二十条），或者自收到{what}之日起{_number_cn(months)}个月内"
        f"依法向人民法院提起行政诉讼（《中华人民共和国行政诉讼法》第四十六条）。"
    )


def _code_name(session: Session, kind: str, code: str | None) -> str:
    if not code:
        return ""
    row = session.get(CaseCode, (kind, code))
    return row.name if row is not None else code


def _applied(case: Case) -> str:
    return chinese_date(case.applied_on) if case.applied_on else "申请之日"


# ---- the letters ----------------------------------------------------------------------------------


def _acceptance(session: Session, case: Case, f: Facts, source_id: int) -> LetterContent:
    if case.accepted_on is None:
        raise DomainError(f"案件 {case.number} 尚未受理，不能制作受理通知书", field="kind")
    limit = service.decision_limit(session, case)
    due = f"，最迟于{chinese_date(case.decision_due)}前作出" if case.decision_due else ""
    paragraphs = [
        f"你（单位）于{_applied(case)}提出的{f.worker}职业伤害确认申请收悉。经审查，申请材料齐全，"
        f"符合规定形式，本机构于{chinese_date(case.accepted_on)}决定予以受理。",
        f"本机构将自受理之日起{limit}个工作日内作出职业伤害确认结论{due}；中止审查和等待补正材料的时间不计入该期限。",
        "审查期间，本机构可以委托受托商业保险机构调查核实有关情况，请予以配合并如实提供情况和材料。",
    ]
    if case.simple:
        paragraphs.insert(1, "经审查，本案事实清楚、权利义务明确，适用简易程序办理。")
    return LetterContent(
        addressee=f.applicant(),
        paragraphs=tuple(paragraphs),
        issued_on=case.accepted_on,
        facts=f.rows(
            ("申请人", service.APPLICANT_NAMES.get(case.applicant or "", "—")),
            ("申请日期", chinese_date(case.applied_on) if case.applied_on else "—"),
            ("受理日期", chinese_date(case.accepted_on)),
            ("确认结论期限", chinese_date(case.decision_due) if case.decision_due else "中止期间顺延，恢复后计算"),
        ),
        legal_basis=f"{MEASURES}、{PROCEDURE}关于职业伤害确认申请受理的规定。",
    )


def _correction(session: Session, case: Case, f: Facts, source_id: int) -> LetterContent:
    notice = session.get(CorrectionNotice, source_id)
    if notice is None or notice.case_id != case.id:
        raise NotFound("补正告知不存在", field="source_id")
    items = [
        f"{i}. {item.get('name') or item.get('requirement') or '材料'}"
        + (f"（{item['note']}）" if item.get("note") else "")
        for i, item in enumerate(notice.items or [], start=1)
    ]
    return LetterContent(
        addressee=f.applicant(),
        paragraphs=(
            f"你（单位）于{_applied(case)}提出的{f.worker}职业伤害确认申请，经审查，申请材料不完整。"
            "现一次性告知需要补正的全部材料如下：",
            *items,
            f"请于{chinese_date(notice.due_on)}前补正上述材料。补正期间，职业伤害确认的审查期限中止计算，"
            "自材料补正齐全之日起继续计算。逾期无正当理由未补正的，本机构将依法作出不予受理的决定。",
        ),
        issued_on=notice.issued_on,
        facts=f.rows(
            ("申请日期", chinese_date(case.applied_on) if case.applied_on else "—"),
            ("告知日期", chinese_date(notice.issued_on)),
            ("补正期限", chinese_date(notice.due_on)),
        ),
        legal_basis=f"{MEASURES}、{PROCEDURE}关于申请材料不完整的，一次性书面告知需要补正的全部材料的规定。",
        detail={"notice_id": notice.id},
    )


def _refusal_event(session: Session, case: Case, source_id: int | None) -> CaseEvent:
    q = select(CaseEvent).where(CaseEvent.case_id == case.id, CaseEvent.action == "refuse")
    if source_id:
        q = q.where(CaseEvent.id == source_id)
    event = session.scalar(q.order_by(CaseEvent.id.desc()).limit(1))
    if event is None:
        raise DomainError(f"案件 {case.number} 没有不予受理的决定，不能制作不予受理通知书", field="kind")
    return event


def _refusal(session: Session, case: Case, f: Facts, source_id: int) -> LetterContent:
    event = _refusal_event(session, case, source_id)
    detail = event.detail or {}
    code = detail.get("code")
    reason = _code_name(session, "refusal", code)
    reasoning = (detail.get("reasoning") or detail.get("reason") or event.note or "").strip()
    paragraphs = [
        f"你（单位）于{_applied(case)}提出的{f.worker}职业伤害确认申请收悉。"
        f"经审查，{reason.rstrip('。') or '该申请不符合受理条件'}，本机构于{chinese_date(event.on)}决定不予受理。",
    ]
    if reasoning:
        paragraphs.append(f"理由：{reasoning}")
    return LetterContent(
        addressee=f.applicant(),
        paragraphs=tuple(paragraphs),
        issued_on=event.on,
        facts=f.rows(
            ("申请日期", chinese_date(case.applied_on) if case.applied_on else "—"),
            ("不予受理理由", f"{reason}（{code}）" if code else reason or "见正文"),
            ("决定日期", chinese_date(event.on)),
        ),
        legal_basis=f"{MEASURES}、{PROCEDURE}关于职业伤害确认申请受理条件的规定。",
        appeal_rights=appeal_rights(session, f, event.on, "本通知书"),
    )


def _decision(session: Session, case: Case, source_id: int, outcome: str) -> Decision:
    d = session.get(Decision, source_id) if source_id else service.current_decision(session, case)
    if d is None or d.case_id != case.id:
        raise DomainError(f"案件 {case.number} 尚未作出确认结论", field="kind")
    if d.outcome != outcome:
        raise DomainError("该结论的类别与所选文书不符", field="kind")
    return d


def _story(case: Case, f: Facts) -> str:
    return (
        f"{f.worker}（身份证号码 {f.id_masked}），系{f.platform}平台注册从业人员。"
        f"{f.occurred}，在{service.full_address(f.place, case.address)}，{case.description.rstrip('。')}。"
        + (f"伤情：{case.injuries.rstrip('。')}。" if case.injuries else "")
    )


def _confirmation(session: Session, case: Case, f: Facts, source_id: int) -> LetterContent:
    d = _decision(session, case, source_id, "confirmed")
    situation = _code_name(session, d.code_kind, d.code)
    return LetterContent(
        addressee=f.worker,
        paragraphs=(
            _story(case, f),
            f"{f.applicant_phrase()}于{_applied(case)}提出职业伤害确认申请，"
            f"本机构于{chinese_date(case.accepted_on) if case.accepted_on else '依法'}受理。",
            f"经调查核实：{d.reasoning.strip()}",
            f"本机构认为，{f.worker}受到的伤害，符合{MEASURES}规定的“{situation.rstrip('的')}”的情形，"
            "现予以确认为职业伤害。",
            "受伤人员可在伤情相对稳定后申请劳动能力鉴定，并依法申领职业伤害保障待遇。",
        ),
        issued_on=d.decided_on,
        facts=f.rows(
            ("受理日期", chinese_date(case.accepted_on) if case.accepted_on else "—"),
            ("结论", "予以确认为职业伤害"),
            ("认定情形", f"{situation}（{d.code}）"),
            ("结论日期", chinese_date(d.decided_on)),
        ),
        legal_basis=f"{MEASURES}关于职业伤害确认情形的规定；{PROCEDURE}职业伤害确认与劳动能力鉴定章。",
        appeal_rights=appeal_rights(session, f, d.decided_on, "本结论书"),
        detail={"decision_id": d.id, "round": d.round},
    )


def _non_confirmation(session: Session, case: Case, f: Facts, source_id: int) -> LetterContent:
    d = _decision(session, case, source_id, "not_confirmed")
    reason = _code_name(session, d.code_kind, d.code)
    return LetterContent(
        addressee=f.worker,
        paragraphs=(
            _story(case, f),
            f"{f.applicant_phrase()}于{_applied(case)}提出职业伤害确认申请，"
            f"本机构于{chinese_date(case.accepted_on) if case.accepted_on else '依法'}受理。",
            f"经调查核实：{d.reasoning.strip()}",
            f"本机构认为，{f.worker}受到的伤害属于“{reason.rstrip('的')}”的情形，"
            f"根据{MEASURES}的规定，不予确认为职业伤害。",
        ),
        issued_on=d.decided_on,
        facts=f.rows(
            ("受理日期", chinese_date(case.accepted_on) if case.accepted_on else "—"),
            ("结论", "不予确认为职业伤害"),
            ("不予确认理由", f"{reason}（{d.code}）"),
            ("结论日期", chinese_date(d.decided_on)),
        ),
        legal_basis=f"{MEASURES}关于职业伤害确认情形和不得确认情形的规定；{PROCEDURE}职业伤害确认与劳动能力鉴定章。",
        appeal_rights=appeal_rights(session, f, d.decided_on, "本结论书"),
        detail={"decision_id": d.id, "round": d.round},
    )


_BUILDERS = {
    "acceptance": _acceptance,
    "correction": _correction,
    "refusal": _refusal,
    "confirmation": _confirmation,
    "non_confirmation": _non_confirmation,
}


def appraisal_content(
    session: Session,
    case: Case,
    *,
    committee: str,
    regional_committee: str,
    grade: int | None,
    self_care: str,
    concluded_on: dt.date,
    accepted_on: dt.date | None = None,
    reappraisal_days: int = 15,
    review_after: str = "一年",
    final: bool = False,
    reasoning: str = "",
) -> LetterContent:
    """The 劳动能力鉴定结论书 of the appraisal part: the committee's conclusion (``grade`` 1–10, None:
    no disability grade; ``self_care``: complete | most | partial | none), with the right to ask the
    regional committee for a re-appraisal within ``reappraisal_days`` (none when ``final``: the
    re-appraisal's own conclusion) and to ask for a review after ``review_after``."""
    if grade is not None and not 1 <= grade <= 10:
        raise DomainError("伤残等级应为一级至十级", field="grade")
    if self_care not in SELF_CARE:
        raise DomainError(f"护理依赖程度应为：{'、'.join(SELF_CARE.values())}", field="self_care")
    f = facts(session, case)
    level = f"{_number_cn(grade)}级伤残" if grade is not None else "未达到伤残等级"
    paragraphs = [
        f"{f.worker}（身份证号码 {f.id_masked}）因{f.occurred}发生的职业伤害"
        f"（案件编号 {case.number}）申请劳动能力鉴定，本委员会"
        + (f"于{chinese_date(accepted_on)}受理，" if accepted_on else "")
        + "依法组织专家组进行了鉴定。",
    ]
    if reasoning:
        paragraphs.append(f"鉴定意见：{reasoning.strip().rstrip('。')}。")
    paragraphs.append(f"鉴定结论：{level}，{SELF_CARE[self_care]}。")
    rights = (
        "本结论为最终结论。"
        if final
        else f"如对本鉴定结论不服，可以自收到本结论书之日起{_number_cn(reappraisal_days)}日内向{regional_committee}"
        "提出再次鉴定申请，再次鉴定结论为最终结论。"
    ) + f"自本鉴定结论作出之日起{review_after}后，认为伤残情况发生变化的，可以申请劳动能力复查鉴定。"
    return LetterContent(
        addressee=f.worker,
        paragraphs=tuple(paragraphs),
        issued_on=concluded_on,
        facts=f.rows(
            ("伤残等级", level),
            ("护理依赖程度", SELF_CARE[self_care]),
            ("结论日期", chinese_date(concluded_on)),
        ),
        legal_basis=f"{REGULATIONS}第二十一条至第二十九条、{APPRAISAL_STANDARD}、{MEASURES}。",
        appeal_rights=rights,
        organisation=committee,
        series=("桂" if committee.startswith("广西") else committee[:1]) + "劳鉴",  # 南劳鉴〔2026〕1号
        detail={"grade": grade, "self_care": self_care, "final": final},
    )


# ---- issuing ---------------------------------------------------------------------------------------


def _default_source(session: Session, case: Case, kind: str) -> int:
    if kind == "acceptance":
        return 0
    if kind == "correction":
        notice_id = session.scalar(select(func.max(CorrectionNotice.id)).where(CorrectionNotice.case_id == case.id))
        if notice_id is None:
            raise DomainError(f"案件 {case.number} 没有补正告知，不能制作一次性补正告知书", field="kind")
        return notice_id
    if kind == "refusal":
        return _refusal_event(session, case, None).id
    if kind in ("confirmation", "non_confirmation"):
        d = service.current_decision(session, case)
        if d is None:
            raise DomainError(f"案件 {case.number} 尚未作出确认结论", field="kind")
        return d.id
    raise DomainError("劳动能力鉴定结论书须指明其鉴定结论（source_id）", field="source_id")


def decision_kind(decision: Decision) -> str:
    """The letter of a decision: confirmation or non_confirmation."""
    return "confirmation" if decision.outcome == "confirmed" else "non_confirmation"


def _abbreviation(session: Session, county_code: str) -> str:
    """The first character of the city and of the county (南宁市青秀区 → 南青), as document numbers
    name their office."""
    from oip.reference.models import Region

    county = session.get(Region, county_code)
    city = session.get(Region, county.parent_code) if county is not None and county.parent_code else None
    head = city.name[:1] if city is not None and city.level == "city" else "桂"
    return head + (county.name[:1] if county is not None else "")


def _allocate_number(session: Session, case: Case, kind: Kind, day: dt.date, series: str | None = None) -> str:
    """The next document number of the issuer's series for ``kind`` and year: the office's
    (南青人社伤受〔2025〕3号), or the one the content names (an appraisal committee's: 南劳鉴〔2026〕1号).
    Numbers are handed out one at a time per series (a transaction-scoped advisory lock)."""
    head = series or f"{_abbreviation(session, case.county_code)}人社伤{kind.mark}"
    prefix = f"{head}〔{day.year}〕"
    session.execute(text("SELECT pg_advisory_xact_lock(hashtext(:k))"), {"k": "letter-number:" + prefix})
    used = session.scalar(select(func.count()).select_from(Letter).where(Letter.number.startswith(prefix))) or 0
    return f"{prefix}{used + 1}号"


def find_letter(session: Session, case: Case, kind: str, source_id: int) -> Letter | None:
    return session.scalar(
        select(Letter).where(Letter.case_id == case.id, Letter.kind == kind, Letter.source_id == source_id)
    )


def issue_letter(
    session: Session,
    actor: Any,
    case: Case,
    kind: str,
    *,
    source_id: int | None = None,
    content: LetterContent | None = None,
) -> Letter:
    """The case's letter of ``kind`` (see ``make_letter``), made now unless it was made before."""
    return make_letter(session, actor, case, kind, source_id=source_id, content=content)[0]


def make_letter(
    session: Session,
    actor: Any,
    case: Case,
    kind: str,
    *,
    source_id: int | None = None,
    content: LetterContent | None = None,
) -> tuple[Letter, bool]:
    """The case's letter of ``kind`` for ``source_id`` (default: the natural source — the acceptance,
    the latest correction notice, the latest refusal, the current decision), made now if it was not
    made before. Made once: asking again returns the stored letter unchanged. ``content``: what the
    letter says, for kinds the case tables do not describe (the appraisal: ``appraisal_content``)."""
    k = KINDS.get(kind)
    if k is None:
        raise DomainError(f"未知的文书类别 {kind}，应为：{'、'.join(KINDS)}", field="kind")
    if source_id is None:
        source_id = _default_source(session, case, kind)
    existing = find_letter(session, case, kind, source_id)
    if existing is not None:
        return existing, False
    f = facts(session, case)
    if content is None:
        builder = _BUILDERS.get(kind)
        if builder is None:
            raise DomainError(f"{k.title}的内容须由办理该事项的环节提供", field="kind")
        content = builder(session, case, f, source_id)
    number = _allocate_number(session, case, k, content.issued_on, content.series)
    spec = LetterSpec(
        organisation=content.organisation or f.office,
        title=k.title,
        number=number,
        addressee=content.addressee,
        paragraphs=content.paragraphs,
        issued_on=content.issued_on,
        facts=content.facts,
        legal_basis=content.legal_basis,
        appeal_rights=content.appeal_rights,
        footer=f"{number}　案件编号 {case.number}",
    )
    pdf = render_letter(spec)
    digest = hashlib.sha256(pdf).hexdigest()
    letter_id = session.scalar(
        insert(Letter)
        .values(
            case_id=case.id,
            kind=kind,
            source_id=source_id,
            number=number,
            sha256=digest,
            size=len(pdf),
            content=pdf,
            issued_on=content.issued_on,
            generated_at=clock.now(),
            generated_by=getattr(actor, "user_id", None),
        )
        .on_conflict_do_nothing(index_elements=["case_id", "kind", "source_id"])
        .returning(Letter.id)
    )
    if letter_id is None:  # made meanwhile by another transaction: that one stands
        return find_letter(session, case, kind, source_id), False
    letter = session.get(Letter, letter_id)
    service.record_event(
        session,
        actor,
        case,
        "letter_issue",
        on=content.issued_on,
        note=f"{k.title}（{number}）",
        detail={"letter_id": letter.id, "kind": kind, "number": number, "sha256": digest, **content.detail},
    )
    _notify_ready(session, case, f, letter, k)
    return letter, True


def _notify_ready(session: Session, case: Case, f: Facts, letter: Letter, k: Kind) -> None:
    from oip.exchange import notify

    if not f.phone:
        return
    notify.enqueue(
        session,
        dedup_key=f"case:{case.id}:letter:{letter.id}",
        phone=f.phone,
        person_id=case.person_id,
        template="letter.ready",
        params={"letter_title": k.title, "case_number": case.number, "office": f.office},
        region_code=case.county_code,
    )


# ---- reading, verifying, serving -------------------------------------------------------------------


def may_download(p: Principal) -> bool:
    """Officers, the worker and the worker's platform (a party) read letters; insurers do not."""
    return p.role.scope in ("region", "self", "platform")


def letters_of(session: Session, case: Case) -> list[Letter]:
    return list(session.scalars(select(Letter).where(Letter.case_id == case.id).order_by(Letter.id)))


def get_letter(
    session: Session, p: Principal, case_id: int, letter_id: int, *, for_update: bool = False
) -> tuple[Case, Letter]:
    """The letter of a case in the principal's scope (otherwise 404, like a missing one)."""
    case = service.get_case(session, p, case_id, for_update=for_update)
    letter = session.get(Letter, letter_id)
    if letter is None or letter.case_id != case.id:
        raise NotFound("文书不存在或不在您的数据范围内")
    return case, letter


def read_content(session: Session, p: Principal, case: Case, letter: Letter) -> bytes:
    """The stored bytes of a letter (audited as a read of the person's data)."""
    if not may_download(p):
        raise Forbidden(f"当前角色（{p.role.name}）不能下载案件文书", field="letter_id")
    audit.record(
        session,
        p,
        "case.letter_read",
        entity_type="letter",
        entity_id=letter.id,
        subjects=[case.person_id],
        after={"case_id": case.id, "number": letter.number, "sha256": letter.sha256},
    )
    return letter.content


def verify(letter: Letter) -> bool:
    """The stored bytes still hash to the SHA-256 stored when the letter was made."""
    return hashlib.sha256(letter.content).hexdigest() == letter.sha256


def serve_letter(
    session: Session,
    actor: Principal,
    case: Case,
    letter: Letter,
    *,
    served_on: dt.date | None,
    means: str,
    note: str = "",
) -> Letter:
    """Record that the letter was served (送达): the day, the means, by whom. Recorded once."""
    if letter.served_on is not None:
        raise Conflict(
            f"文书 {letter.number} 已于 {letter.served_on.isoformat()} {SERVICE_MEANS.get(letter.served_means or '', '')}，不能重复登记",
            field="served_on",
        )
    if means not in SERVICE_MEANS:
        raise DomainError(f"送达方式应为：{'、'.join(SERVICE_MEANS.values())}", field="means")
    served_on = served_on or clock.today()
    if served_on < letter.issued_on:
        raise DomainError(f"送达日期不能早于文书日期 {letter.issued_on.isoformat()}", field="served_on")
    if served_on > clock.today():
        raise DomainError("送达日期不能晚于今天", field="served_on")
    note = (note or "").strip()
    if len(note) > 500:
        raise DomainError("送达说明不能超过 500 个字", field="note")
    if means in ("left", "notice") and not note:
        raise DomainError(f"{SERVICE_MEANS[means]}须写明情况（见证人、公告载体等）", field="note")
    letter.served_on, letter.served_means, letter.served_note = served_on, means, note or None
    letter.served_by = getattr(actor, "user_id", None)
    session.flush()
    service.record_event(
        session,
        actor,
        case,
        "letter_serve",
        on=served_on,
        note=f"{KINDS[letter.kind].title}（{letter.number}）{SERVICE_MEANS[means]}" + (f"：{note}" if note else ""),
        detail={"letter_id": letter.id, "means": means, "served_on": served_on.isoformat()},
    )
    if letter.kind in service.APPEALABLE_LETTERS:
        service.refresh_dues(session, case)  # the appeal periods run from receipt
    return letter


def candidates(session: Session, case: Case) -> list[dict[str, Any]]:
    """The letters the case's steps call for that have not been made yet (for the officers' panel)."""
    made = {(x.kind, x.source_id) for x in letters_of(session, case)}
    out: list[dict[str, Any]] = []
    if case.accepted_on is not None and ("acceptance", 0) not in made:
        out.append({"kind": "acceptance", "source_id": 0, "title": KINDS["acceptance"].title, "what": "受理"})
    for n in session.scalars(
        select(CorrectionNotice).where(CorrectionNotice.case_id == case.id).order_by(CorrectionNotice.id)
    ):
        if ("correction", n.id) not in made:
            out.append(
                {
                    "kind": "correction",
                    "source_id": n.id,
                    "title": KINDS["correction"].title,
                    "what": f"{n.issued_on} 补正告知",
                }
            )
    for e in session.scalars(
        select(CaseEvent).where(CaseEvent.case_id == case.id, CaseEvent.action == "refuse").order_by(CaseEvent.id)
    ):
        if ("refusal", e.id) not in made:
            out.append(
                {"kind": "refusal", "source_id": e.id, "title": KINDS["refusal"].title, "what": f"{e.on} 不予受理"}
            )
    for d in session.scalars(select(Decision).where(Decision.case_id == case.id).order_by(Decision.round)):
        kind = decision_kind(d)
        if (kind, d.id) not in made:
            out.append(
                {
                    "kind": kind,
                    "source_id": d.id,
                    "title": KINDS[kind].title,
                    "what": f"第 {d.round} 次结论（{d.decided_on}）",
                }
            )
    return out


# The intake's acts that have a letter (受理通知书, 一次性补正告知书, 不予受理通知书) make it at once.
intake.ON_LETTER.append(
    lambda session, actor, case, kind, source_id, on: issue_letter(session, actor, case, kind, source_id=source_id)
)
# A confirmation decision makes its 职业伤害确认结论书 or 不予确认职业伤害结论书 at once.
decision.ON_DECISION.append(
    lambda session, actor, case, d: issue_letter(session, actor, case, decision_kind(d), source_id=d.id)
)
