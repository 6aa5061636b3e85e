"""Claims and their bills (费用申报、票据明细) and the fast lane (小伤快赔): the only write path.

A claim is one batch of receipts handed in for a case; several come in over time. Each row is
checked (oip.benefits.claims_rules); a receipt number is reimbursed once across all claims and cases
— refused with the earlier claim's and case's numbers, and the table's unique constraint is the
backstop for two claims racing (mapped to the same reason). The officer marks bills out of the
work-injury catalogue with a reason; the claim determination (费用核定) pays what stays in.

The fast lane: a claim on an injury treated in outpatient care only, with no appraisal applied for
and the case's claims within ``benefit.fast_lane_limit_fen``, is confirmed within 2 working days and
paid within 5 of its receipt (``confirm_due``, ``pay_due``). When the case stops qualifying (a
hospital stay, a later bill over the limit, an appraisal applied for) its open fast-lane claims move
to the normal path with everything kept (``fast_lane_left_on``, ``fast_lane_left_reason``), audited
and on the case's timeline.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import exists, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from oip.appraisal import service as appraisal_service
from oip.appraisal.models import Appraisal
from oip.auth import permissions as P
from oip.auth.scope import out_of_scope
from oip.auth.service import Principal
from oip.benefits import calc, claims_parameters as CP, claims_rules as R, determination
from oip.benefits.hooks import ON_APPROVED
from oip.benefits.models import Bill, Claim, Determination, Payable
from oip.cases import intake_rules, rules as case_rules, service as cases
from oip.cases.models import Case, CaseDocument, Decision
from oip.cases.scope import case_condition
from oip.core import audit, clock, workdays
from oip.core.errors import Conflict, DomainError, Forbidden
from oip.core.pagination import Page
from oip.reference import calendar, parameters

cases.register_event_names(
    {
        "claim_received": "收到费用申报",
        "claim_bills_added": "费用申报补充票据",
        "claim_bill_checked": "审核票据（目录内外）",
        "claim_rejected": "费用申报不予支付",
        "fast_lane_entered": "纳入小伤快赔",
        "fast_lane_left": "转入普通程序（不再符合小伤快赔条件）",
        "claim_approved": "费用核定已审批",
    }
)

LIST_PAGE = 50


# ---- loading --------------------------------------------------------------------------------------


def get_claim(session: Session, actor: Principal, claim_id: int, *, for_update: bool = False) -> tuple[Claim, Case]:
    """The claim and its case if the case is in the actor's scope (otherwise the same 404 as a
    missing one)."""
    q = select(Claim, Case).join(Case, Case.id == Claim.case_id).where(Claim.id == claim_id, case_condition(actor))
    if for_update:
        q = q.with_for_update(of=Claim)
    row = session.execute(q).first()
    if row is None:
        raise out_of_scope("费用申报")
    return row[0], row[1]


def bills_of(session: Session, claim_ids: Sequence[int]) -> dict[int, list[Bill]]:
    out: dict[int, list[Bill]] = {i: [] for i in claim_ids}
    if claim_ids:
        for b in session.scalars(select(Bill).where(Bill.claim_id.in_(claim_ids)).order_by(Bill.claim_id, Bill.id)):
            out[b.claim_id].append(b)
    return out


def claims_of_case(session: Session, case: Case) -> list[Claim]:
    return list(session.scalars(select(Claim).where(Claim.case_id == case.id).order_by(Claim.received_on, Claim.id)))


def _check_submitter(actor: Principal) -> None:
    """Officers of the social insurance agency (benefit.determine) and the worker for their own case
    hand in claims; a platform or an insurer does not."""
    scope = actor.role.scope
    if scope == "self" and actor.can(P.CASE_APPLY):
        return
    if scope == "region" and actor.can(P.BENEFIT_DETERMINE):
        return
    raise Forbidden("费用申报由本人或社会保险经办机构提交", field="case_id")


def accepts_claims(session: Session, case: Case) -> bool:
    """Whether a claim may come in now: confirmed, or the confirmation pending (fast lane only)."""
    return case.state in R.PENDING_STATES or _confirmed(session, case)


def _confirmed(session: Session, case: Case) -> bool:
    if case.state not in R.CONFIRMED_STATES:
        return False
    d = cases.current_decision(session, case)
    return d is not None and d.outcome == "confirmed"


def _received_on(actor: Principal, value: Any, case: Case) -> dt.date:
    today = clock.today()
    if value in (None, "") or actor.role.scope != "region":
        return today
    if isinstance(value, dt.date):
        day = value
    else:
        try:
            day = dt.date.fromisoformat(str(value).strip())
        except ValueError:
            raise DomainError(f"申报日期“{value}”不是有效日期（YYYY-MM-DD）", field="received_on") from None
    intake_rules.check_act_date(
        day,
        field="received_on",
        label="申报日期",
        today=today,
        not_before=clock.local(case.occurred_at).date(),
        before_label="事故发生日期",
    )
    return day


def _known(session: Session, receipts: Sequence[str]) -> dict[str, tuple[str, str]]:
    if not receipts:
        return {}
    rows = session.execute(
        select(Bill.receipt_no, Claim.number, Case.number)
        .join(Claim, Claim.id == Bill.claim_id)
        .join(Case, Case.id == Claim.case_id)
        .where(Bill.receipt_no.in_(list(receipts)))
    ).all()
    return {r: (claim_no, case_no) for r, claim_no, case_no in rows}


def _rows(items: Sequence[Any]) -> list[R.BillRow]:
    out = []
    for i, item in enumerate(items, start=1):
        d = item if isinstance(item, dict) else item.model_dump()
        out.append(
            R.BillRow(
                line=i,
                receipt_no=d.get("receipt_no"),
                provider=d.get("provider"),
                issued_on=d.get("issued_on"),
                amount=d.get("amount"),
                kind=d.get("kind") or "medical",
                in_catalogue=d.get("in_catalogue", True),
                inpatient=d.get("inpatient", False),
                amount_fen=d.get("amount_fen"),
            )
        )
    return out


def _insert_bills(session: Session, claim: Claim, bills: Sequence[R.CleanBill]) -> None:
    """Write the bills in a savepoint: a receipt another claim took in between (the unique
    constraint) is refused with the same reason as one found beforehand."""
    try:
        with session.begin_nested():
            for b in bills:
                session.add(
                    Bill(
                        claim_id=claim.id,
                        receipt_no=b.receipt_no,
                        kind=b.kind,
                        provider=b.provider,
                        issued_on=b.issued_on,
                        amount_fen=b.amount_fen,
                        in_catalogue=b.in_catalogue,
                        inpatient=b.inpatient,
                        excluded_reason=None if b.in_catalogue else "申报时标明目录外",
                    )
                )
            session.flush()
    except IntegrityError:
        taken = _known(session, [b.receipt_no for b in bills])
        mine = {b.receipt_no for b in session.scalars(select(Bill).where(Bill.claim_id == claim.id))}
        for b in bills:
            if b.receipt_no in taken and b.receipt_no not in mine:
                raise Conflict(R.duplicate_reason(b.receipt_no, *taken[b.receipt_no]), field="receipt_no") from None
        raise Conflict("票据号已被其他申报占用，请刷新后重试", field="receipt_no") from None


def _recount(session: Session, claim: Claim) -> R.Totals:
    t = R.totals(
        [
            (b.receipt_no, b.amount_fen, b.in_catalogue)
            for b in session.scalars(select(Bill).where(Bill.claim_id == claim.id))
        ]
    )
    claim.claimed_fen, claim.accepted_fen = t.claimed_fen, t.accepted_fen
    return t


def _no_rows_left(checked: R.Checked) -> DomainError:
    reasons = "；".join(r.reason for r in checked.rejected)
    field = checked.rejected[0].field if checked.rejected else "bills"
    return DomainError(f"没有可受理的票据（共 {checked.submitted} 行，全部不予受理）：{reasons}", field=field)


@dataclass(frozen=True)
class Received:
    claim: Claim
    checked: R.Checked
    fast_lane_reasons: list[str]


def receive(
    session: Session,
    actor: Principal,
    case_id: int,
    *,
    bills: Sequence[Any],
    hospital_days: Any = 0,
    received_on: Any = None,
    note: Any = "",
) -> Received:
    """A claim on the case with its bill rows: the rows that pass are kept, each rejected row says
    why (``checked.rejected``), ``submitted == accepted + rejected``. Refused as a whole when no row
    passes, or when the case is not confirmed and the claim does not qualify for the fast lane."""
    case = cases.get_case(session, actor, case_id, for_update=True)
    _check_submitter(actor)
    days = R.check_hospital_days(hospital_days)
    day = _received_on(actor, received_on, case)
    note_text = intake_rules.clean_text(note, "note", "备注", required=False)
    confirmed = _confirmed(session, case)
    if not confirmed and case.state not in R.PENDING_STATES:
        raise Conflict(
            f"案件当前状态为“{case_rules.STATE_NAMES[case.state]}”，不能申报费用："
            "费用在作出予以确认结论后申报（符合小伤快赔条件的，可在提出确认申请后申报）",
            field="case_id",
        )
    rows = _rows(bills)
    injured_on = clock.local(case.occurred_at).date()
    receipts = [R.normal_receipt(r.receipt_no) for r in rows if not r.blank()]
    checked = R.check_rows(rows, injured_on=injured_on, received_on=day, known=_known(session, receipts))
    if not checked.accepted:
        raise _no_rows_left(checked)

    claim = Claim(
        case_id=case.id,
        number="",
        received_on=day,
        status="received",
        hospital_days=days,
        claimed_fen=checked.claimed_fen,
        accepted_fen=0,
        fast_lane=False,
        documents=[],
        note=note_text,
        received_by=actor.user_id,
        created_at=clock.now(),
    )
    session.add(claim)
    session.flush()
    claim.number = f"FY{day.year}{case.county_code}{claim.id:06d}"
    _insert_bills(session, claim, checked.accepted)
    totals = _recount(session, claim)

    reasons = case_reasons(session, case)
    if not confirmed and reasons:
        raise DomainError(
            "案件尚未作出予以确认结论，本次申报不符合小伤快赔条件（" + "；".join(reasons) + "），请在确认后申报",
            field="bills",
        )
    cases.record_event(
        session,
        actor,
        case,
        "claim_received",
        on=day,
        note=f"费用申报 {claim.number}：受理票据 {len(checked.accepted)} 张，合计 {R.fen_text(totals.claimed_fen)} 元"
        + (f"；不予受理 {len(checked.rejected)} 行" if checked.rejected else ""),
        detail={
            "claim_id": claim.id,
            "claim": claim.number,
            **checked.counts(),
            "claimed_fen": totals.claimed_fen,
            "hospital_days": days,
            "rejected_rows": [
                {"line": r.line, "receipt_no": r.receipt_no, "reason": r.reason} for r in checked.rejected
            ],
        },
    )
    if reasons:
        # A case that was on the fast lane (an earlier claim on it, even one already paid) and stops
        # qualifying with this claim: this claim, too, is recorded as having left it, with why.
        was_fast = session.scalar(
            select(
                exists().where(
                    Claim.case_id == case.id,
                    Claim.id != claim.id,
                    or_(Claim.fast_lane.is_(True), Claim.fast_lane_left_on.is_not(None)),
                )
            )
        )
        _leave_all(session, actor, case, "；".join(reasons), day)
        if was_fast:
            _leave(session, actor, case, claim, "；".join(reasons), day)
    else:
        _enter(session, actor, case, claim)
    cases.touch(case)
    return Received(claim, checked, reasons)


def add_bills(
    session: Session,
    actor: Principal,
    claim_id: int,
    *,
    bills: Sequence[Any],
    hospital_days: Any = None,
    version: int | None = None,
) -> Received:
    """More receipts (and hospital days) for a claim not yet checked; the fast lane is looked at again."""
    claim, case = get_claim(session, actor, claim_id, for_update=True)
    case = cases.get_case(session, actor, case.id, for_update=True)
    _check_submitter(actor)
    _check_claim_version(claim, version)
    _check_adjustable(session, claim, "不能再补充票据")
    rows = _rows(bills)
    receipts = [R.normal_receipt(r.receipt_no) for r in rows if not r.blank()]
    checked = R.check_rows(
        rows,
        injured_on=clock.local(case.occurred_at).date(),
        received_on=clock.today(),
        known=_known(session, receipts),
    )
    if not checked.accepted:
        raise _no_rows_left(checked)
    if hospital_days not in (None, ""):
        claim.hospital_days = R.check_hospital_days(hospital_days)
    _insert_bills(session, claim, checked.accepted)
    totals = _recount(session, claim)
    claim.version += 1
    cases.record_event(
        session,
        actor,
        case,
        "claim_bills_added",
        note=f"费用申报 {claim.number} 补充票据 {len(checked.accepted)} 张，申报合计 {R.fen_text(totals.claimed_fen)} 元",
        detail={
            "claim_id": claim.id,
            **checked.counts(),
            "claimed_fen": totals.claimed_fen,
            "hospital_days": claim.hospital_days,
            "rejected_rows": [
                {"line": r.line, "receipt_no": r.receipt_no, "reason": r.reason} for r in checked.rejected
            ],
        },
    )
    reasons = refresh_fast_lane(session, actor, case)
    cases.touch(case)
    return Received(claim, checked, reasons)


def _check_claim_version(claim: Claim, version: int | None) -> None:
    if version is not None and version != claim.version:
        raise Conflict(
            f"费用申报 {claim.number} 已被他人更新（您看到的是第 {version} 版，现为第 {claim.version} 版），请刷新后重试",
            field="version",
        )


def mark_bill(
    session: Session,
    actor: Principal,
    claim_id: int,
    bill_id: int,
    *,
    in_catalogue: Any,
    reason: Any = None,
    version: int | None = None,
) -> Bill:
    """The officer puts a bill inside or outside the work-injury catalogues; outside needs a reason
    (shown with the excluded bill). Only while the claim is being checked (status received)."""
    claim, case = get_claim(session, actor, claim_id, for_update=True)
    if not actor.can(P.BENEFIT_DETERMINE) or actor.role.scope != "region":
        raise Forbidden("审核票据须由社会保险经办机构办理", field="claim_id")
    _check_claim_version(claim, version)
    _check_adjustable(session, claim, "不能再调整票据")
    bill = session.scalar(select(Bill).where(Bill.id == bill_id, Bill.claim_id == claim.id))
    if bill is None:
        raise out_of_scope("票据")
    inside = R._bool(in_catalogue, "in_catalogue", "是否属于目录内")
    why = R.check_exclusion(inside, reason)
    before = {"in_catalogue": bill.in_catalogue, "excluded_reason": bill.excluded_reason}
    bill.in_catalogue, bill.excluded_reason = inside, why
    totals = _recount(session, claim)
    claim.version += 1
    cases.record_event(
        session,
        actor,
        case,
        "claim_bill_checked",
        note=f"票据 {bill.receipt_no}（{R.fen_text(bill.amount_fen)} 元）"
        + ("属于目录内" if inside else f"剔除：{why}")
        + f"；核准金额 {R.fen_text(totals.accepted_fen)} 元",
        detail={
            "claim_id": claim.id,
            "bill_id": bill.id,
            "before": before,
            "in_catalogue": inside,
            "excluded_reason": why,
        },
    )
    return bill


def open_determination(session: Session, claim: Claim) -> Determination | None:
    """The claim's determination being made (draft, submitted or returned), if any."""
    return session.scalar(
        select(Determination)
        .where(Determination.claim_id == claim.id, Determination.status.in_(("draft", "submitted", "returned")))
        .limit(1)
    )


def _check_adjustable(session: Session, claim: Claim, what: str) -> None:
    """Bills are checked before the claim determination is drafted (or after its draft was cancelled);
    a checked claim whose determination was cancelled is back to being checked."""
    if claim.status not in R.OPEN_STATUSES:
        raise Conflict(f"费用申报 {claim.number} {R.STATUS_NAMES[claim.status]}，{what}", field="claim_id")
    det = open_determination(session, claim)
    if det is not None:
        raise Conflict(
            f"费用申报 {claim.number} 的费用核定（第 {det.version} 版）{determination.STATUS_NAMES[det.status]}，{what}；"
            "请先作废该核定",
            field="claim_id",
        )
    claim.status = "received"


def reject(session: Session, actor: Principal, claim_id: int, *, reason: Any, version: int | None = None) -> Claim:
    """The whole claim is not payable (不予支付), with the reason; the bills stay on record (their
    receipt numbers stay taken)."""
    claim, case = get_claim(session, actor, claim_id, for_update=True)
    if not actor.can(P.BENEFIT_DETERMINE) or actor.role.scope != "region":
        raise Forbidden("审核费用申报须由社会保险经办机构办理", field="claim_id")
    _check_claim_version(claim, version)
    _check_adjustable(session, claim, "不能不予支付")
    why = R._text(reason, "reason", "不予支付的理由", R.REASON_MAX)
    claim.status, claim.rejected_reason = "rejected", why
    claim.version += 1
    cases.record_event(
        session, actor, case, "claim_rejected", note=f"费用申报 {claim.number}：{why}", detail={"claim_id": claim.id}
    )
    return claim


# ---- the claim determination (费用核定) ----------------------------------------------------------

CLAIM_ITEMS = ("medical", "devices", "meal_subsidy")


def determine(
    session: Session, actor: Principal, claim_id: int, *, note: Any = "", version: int | None = None
) -> Determination:
    """Draft the claim determination (费用核定, ``purpose='claim'``): the calculator's medical,
    devices and hospital meal lines for this claim's bills (the excluded ones shown, not paid) and
    hospital days, under the parameters in force on the injury day. Submit and approve go through
    oip.benefits.determination (maker-checker); on approval the payables carry the claim."""
    claim, case = get_claim(session, actor, claim_id, for_update=True)
    if not actor.can(P.BENEFIT_DETERMINE) or actor.role.scope != "region":
        raise Forbidden("费用核定须由社会保险经办机构办理", field="claim_id")
    case = cases.get_case(session, actor, case.id, for_update=True)
    _check_claim_version(claim, version)
    _check_adjustable(session, claim, "不能核定")
    if determination.confirmed_decision(session, case) is None:
        raise Conflict(
            f"案件 {case.number} 尚未作出予以确认结论，费用核定须在确认后办理"
            + (f"（小伤快赔：{claim.confirm_due} 前确认）" if claim.fast_lane and claim.confirm_due else ""),
            field="case_id",
        )
    bills = list(session.scalars(select(Bill).where(Bill.claim_id == claim.id).order_by(Bill.id)))
    day = determination.event_date(case)
    inp = calc.QuoteInput(
        event_date=day,
        region_code=case.county_code,
        kind="injury" if case.kind == "injury" else case.kind,
        medical_bills=tuple(calc.BillIn(b.amount_fen, b.in_catalogue, ref=b.receipt_no, kind=b.kind) for b in bills),
        hospital_days=claim.hospital_days,
    )
    full = determination.propose(session, inp)
    lines = tuple(line for line in full.lines if line.item in CLAIM_ITEMS)
    quote = calc.Quote(lines, sum(x.amount_fen for x in lines if not x.monthly), 0)
    inputs = {
        "event_date": day.isoformat(),
        "region_code": case.county_code,
        "kind": case.kind,
        "claim_id": claim.id,
        "claim": claim.number,
        "medical_bills": [
            {"receipt_no": b.receipt_no, "amount_fen": b.amount_fen, "in_catalogue": b.in_catalogue, "kind": b.kind}
            for b in bills
        ],
        "hospital_days": claim.hospital_days,
    }
    det = determination.draft(
        session,
        actor,
        case,
        quote=quote,
        inputs=inputs,
        event_date=day,
        kind=case.kind,
        purpose="claim",
        claim_id=claim.id,
        note=str(note or "") or f"费用申报 {claim.number}",
    )
    claim.status = "checked"
    claim.version += 1
    return det


def on_determination_approved(session: Session, actor: Any, det: Determination) -> None:
    """oip.benefits.hooks ON_APPROVED: an approved claim determination approves its claim (the
    payables, owed by the determination's approval, already carry ``claim_id``)."""
    if det.purpose != "claim" or det.claim_id is None:
        return
    claim = session.get(Claim, det.claim_id)
    case = session.get(Case, det.case_id)
    claim.status = "approved"
    claim.version += 1
    cases.record_event(
        session,
        actor,
        case,
        "claim_approved",
        note=f"费用申报 {claim.number}：核定支付 {R.fen_text(det.total_once_fen)} 元（第 {det.version} 版）",
        detail={"claim_id": claim.id, "determination_id": det.id, "total_once_fen": det.total_once_fen},
    )


ON_APPROVED.append(on_determination_approved)


# ---- the fast lane --------------------------------------------------------------------------------


def fast_lane_facts(session: Session, case: Case, day: dt.date) -> R.FastLaneFacts:
    """The case's claims that are not rejected, as the fast lane sees them; the limit in force on ``day``
    for the case's county."""
    live = (Claim.case_id == case.id, Claim.status != "rejected")
    claimed, hospital = session.execute(
        select(func.coalesce(func.sum(Claim.claimed_fen), 0), func.coalesce(func.sum(Claim.hospital_days), 0)).where(
            *live
        )
    ).one()
    inpatient = session.scalar(
        select(func.count())
        .select_from(Bill)
        .join(Claim, Claim.id == Bill.claim_id)
        .where(*live, Bill.inpatient.is_(True))
    )
    appraisal = session.scalar(select(exists().where(Appraisal.case_id == case.id)))
    return R.FastLaneFacts(
        case_kind=case.kind,
        inpatient_bills=int(inpatient or 0),
        hospital_days=int(hospital or 0),
        appraisal_applied=bool(appraisal) or case.state in ("appraisal", "appraised"),
        claimed_fen=int(claimed or 0),
        limit_fen=parameters.get(session, CP.FAST_LANE_LIMIT_FEN, day, case.county_code),
    )


def due_dates(session: Session, claim: Claim, region_code: str) -> tuple[dt.date | None, dt.date | None, str | None]:
    """(confirm_due, pay_due, why empty): working days after the receipt; a year whose holidays are
    not loaded leaves them empty with the reason, as the case's deadlines do."""
    calendar.refresh(session)
    day = claim.received_on
    try:
        confirm = workdays.add_working_days(
            day, parameters.get(session, CP.FAST_LANE_CONFIRM_WORKING_DAYS, day, region_code)
        )
        pay = workdays.add_working_days(day, parameters.get(session, CP.FAST_LANE_PAY_WORKING_DAYS, day, region_code))
    except DomainError as e:
        if not cases.calendar_gap(e):
            raise
        return None, None, e.reason
    return confirm, pay, None


def _enter(session: Session, actor: Any, case: Case, claim: Claim) -> None:
    if claim.fast_lane_left_on is not None:  # a claim that left never comes back
        return
    claim.fast_lane = True
    claim.confirm_due, claim.pay_due, problem = due_dates(session, claim, case.county_code)
    claim.documents = document_refs(session, case)
    missing = missing_documents(session, case)
    cases.record_event(
        session,
        actor,
        case,
        "fast_lane_entered",
        on=claim.received_on,
        note=f"费用申报 {claim.number} 纳入小伤快赔："
        + (
            f"{claim.confirm_due} 前确认，{claim.pay_due} 前支付"
            if claim.confirm_due
            else f"期限暂无法计算（{problem}）"
        )
        + (f"；尚缺材料：{'、'.join(m['name'] for m in missing)}" if missing else ""),
        detail={
            "claim_id": claim.id,
            "confirm_due": claim.confirm_due,
            "pay_due": claim.pay_due,
            "missing": [m["code"] for m in missing],
        },
    )


def _leave(session: Session, actor: Any, case: Case, claim: Claim, reason: str, day: dt.date) -> None:
    """To the normal path, everything kept: the bills, the documents, the dates it had."""
    claim.fast_lane = False
    claim.fast_lane_left_on = day
    claim.fast_lane_left_reason = reason
    claim.version += 1
    cases.record_event(
        session,
        actor,
        case,
        "fast_lane_left",
        on=day,
        note=f"费用申报 {claim.number} 转入普通程序：{reason}",
        detail={"claim_id": claim.id, "reason": reason, "confirm_due": claim.confirm_due, "pay_due": claim.pay_due},
    )


def _leave_all(session: Session, actor: Any, case: Case, reason: str, day: dt.date) -> None:
    for c in session.scalars(
        select(Claim).where(Claim.case_id == case.id, Claim.fast_lane.is_(True), Claim.status.in_(R.OPEN_STATUSES))
    ):
        _leave(session, actor, case, c, reason, day)


def case_reasons(session: Session, case: Case) -> list[str]:
    """Why the case's claims do not qualify for the fast lane (empty: they do), with the limit in
    force on the day its first claim came in."""
    first = session.scalar(select(func.min(Claim.received_on)).where(Claim.case_id == case.id))
    if first is None:
        return []
    return R.fast_lane_reasons(fast_lane_facts(session, case, first))


def refresh_fast_lane(session: Session, actor: Any, case: Case) -> list[str]:
    """Look at the case again (after a new bill, a hospital stay, an appraisal): when it no longer
    qualifies, its open fast-lane claims move to the normal path. Returns the reasons (empty: still
    qualifies)."""
    today = clock.today()
    reasons = case_reasons(session, case)
    if reasons:
        _leave_all(session, actor, case, "；".join(reasons), today)
    return reasons


def on_appraisal_applied(session: Session, actor: Any, case: Case, appraisal: Any) -> None:
    """oip.appraisal.service ON_APPLY: an appraisal applied for ends the fast lane of the case."""
    refresh_fast_lane(session, actor, case)


appraisal_service.ON_APPLY.append(on_appraisal_applied)


def missing_documents(session: Session, case: Case) -> list[dict[str, str]]:
    """The fast lane's five documents (the outpatient checklist's required items) that the case has
    no document for."""
    present = set(
        session.scalars(
            select(CaseDocument.requirement).where(
                CaseDocument.case_id == case.id, CaseDocument.requirement.is_not(None)
            )
        )
    )
    items = intake_rules.CHECKLISTS[R.FAST_LANE_CHECKLIST]
    return [{"code": r.code, "name": r.name} for r in intake_rules.missing(items, present)]


def document_refs(session: Session, case: Case) -> list[dict[str, Any]]:
    """The case's documents answering the fast lane's five requirements, as the claim keeps them
    (``Claim.documents``: [{requirement, document_id}], the latest upload of each)."""
    codes = [r.code for r in intake_rules.CHECKLISTS[R.FAST_LANE_CHECKLIST] if r.required]
    latest: dict[str, int] = {}
    for req, doc_id in session.execute(
        select(CaseDocument.requirement, CaseDocument.id)
        .where(CaseDocument.case_id == case.id, CaseDocument.requirement.in_(codes))
        .order_by(CaseDocument.id)
    ):
        latest[req] = doc_id
    return [{"requirement": c, "document_id": latest[c]} for c in codes if c in latest]


def fast_lane_documents(session: Session, case: Case) -> list[dict[str, Any]]:
    present = set(
        session.scalars(
            select(CaseDocument.requirement).where(
                CaseDocument.case_id == case.id, CaseDocument.requirement.is_not(None)
            )
        )
    )
    return [
        {"code": r.code, "name": r.name, "present": r.code in present}
        for r in intake_rules.CHECKLISTS[R.FAST_LANE_CHECKLIST]
        if r.required
    ]


# ---- clocks and views -----------------------------------------------------------------------------


def paid_state(session: Session, claim_ids: Sequence[int]) -> dict[int, tuple[int, int]]:
    """claim id → (payables, of which paid)."""
    if not claim_ids:
        return {}
    rows = session.execute(
        select(Payable.claim_id, func.count(), func.count().filter(Payable.status == "paid"))
        .where(Payable.claim_id.in_(list(claim_ids)), Payable.status != "cancelled")
        .group_by(Payable.claim_id)
    ).all()
    return {cid: (n, paid) for cid, n, paid in rows}


def clocks(claim: Claim, case_confirmed: bool, paid: tuple[int, int] | None, today: dt.date) -> dict[str, R.Clock]:
    """The claim's two fast-lane clocks on ``today`` (working days left counted on the calendar;
    a year nobody loaded leaves the count out)."""

    def left(due: dt.date | None) -> int | None:
        if due is None:
            return None
        try:
            return workdays.working_days_between(today, due)
        except DomainError:
            return None

    problem = None
    if claim.confirm_due is None and claim.fast_lane:
        problem = "期限暂无法计算：节假日安排尚未载入"
    pay_done = claim.status == "rejected" or (paid is not None and paid[0] > 0 and paid[0] == paid[1])
    return {
        "confirm": R.clock(claim.confirm_due, today, left(claim.confirm_due), done=case_confirmed, problem=problem),
        "pay": R.clock(claim.pay_due, today, left(claim.pay_due), done=pay_done, problem=problem),
    }


def list_claims(
    session: Session,
    actor: Principal,
    *,
    status: str | None = None,
    fast_lane: bool | None = None,
    page: int = 1,
    size: int = LIST_PAGE,
) -> Page[tuple[Claim, Case]]:
    """Claims whose case is in scope; the fast lane ordered by its payment due date, others newest first."""
    conds = [case_condition(actor)]
    if status:
        if status not in R.STATUS_NAMES:
            raise DomainError(
                f"状态应为：{'、'.join(f'{k}（{v}）' for k, v in R.STATUS_NAMES.items())}", field="status"
            )
        conds.append(Claim.status == status)
    if fast_lane is not None:
        conds.append(Claim.fast_lane.is_(fast_lane))
    base = select(Claim, Case).join(Case, Case.id == Claim.case_id).where(*conds)
    total = session.scalar(select(func.count()).select_from(base.subquery())) or 0
    order = (Claim.pay_due.asc().nulls_last(), Claim.id) if fast_lane else (Claim.received_on.desc(), Claim.id.desc())
    pages = max(1, -(-total // size))
    page = min(max(page, 1), pages)
    rows = session.execute(base.order_by(*order).offset((page - 1) * size).limit(size)).all()
    return Page([(c, k) for c, k in rows], total, page, size)


def fast_lane_overdue(session: Session, actor: Principal) -> int:
    """Open fast-lane claims in scope past their payment due date (the staff console's figure)."""
    return (
        session.scalar(
            select(func.count())
            .select_from(Claim)
            .join(Case, Case.id == Claim.case_id)
            .where(
                case_condition(actor),
                Claim.fast_lane.is_(True),
                Claim.status.in_(R.OPEN_STATUSES),
                Claim.pay_due < clock.today(),
            )
        )
        or 0
    )


def confirmed_cases(session: Session, case_ids: Sequence[int]) -> set[int]:
    """Which of the cases have a confirmation in force (for the confirm clock)."""
    if not case_ids:
        return set()
    return set(
        session.scalars(
            select(Decision.case_id).where(
                Decision.case_id.in_(list(case_ids)), Decision.outcome == "confirmed", Decision.overturned_on.is_(None)
            )
        )
    )


audit.register_actions({"benefit.claim_list": "查询费用申报"})


def describe(session: Session, pairs: Sequence[tuple[Claim, Case]], *, with_bills: bool = True) -> list[dict[str, Any]]:
    """What screens and the API show of claims: totals, the excluded bills with their reasons, the
    fast-lane clocks, in a fixed number of queries for any number of claims."""
    today = clock.today()
    ids = [c.id for c, _ in pairs]
    bills = bills_of(session, ids) if with_bills else {}
    paid = paid_state(session, ids)
    confirmed = confirmed_cases(session, list({k.id for _, k in pairs}))
    dets: dict[int, Determination] = {}
    if ids:
        for d in session.scalars(
            select(Determination)
            .where(Determination.claim_id.in_(ids))
            .order_by(Determination.version, Determination.id)
        ):
            dets[d.claim_id] = d  # the latest version wins
    out = []
    for c, k in pairs:
        cl = clocks(c, k.id in confirmed, paid.get(c.id), today) if (c.fast_lane or c.fast_lane_left_on) else None
        rows = bills.get(c.id, [])
        out.append(
            {
                "id": c.id,
                "number": c.number,
                "case_id": k.id,
                "case_number": k.number,
                "status": c.status,
                "status_name": R.STATUS_NAMES[c.status],
                "received_on": c.received_on,
                "hospital_days": c.hospital_days,
                "claimed_fen": c.claimed_fen,
                "accepted_fen": c.accepted_fen,
                "excluded_fen": c.claimed_fen - c.accepted_fen,
                "claimed": R.fen_text(c.claimed_fen),
                "accepted": R.fen_text(c.accepted_fen),
                "fast_lane": c.fast_lane,
                "confirm_due": c.confirm_due,
                "pay_due": c.pay_due,
                "confirm_clock": cl["confirm"] if cl and c.fast_lane else None,
                "pay_clock": cl["pay"] if cl and c.fast_lane else None,
                "fast_lane_left_on": c.fast_lane_left_on,
                "fast_lane_left_reason": c.fast_lane_left_reason,
                "rejected_reason": c.rejected_reason,
                "note": c.note,
                "documents": list(c.documents or []),
                "version": c.version,
                "determination": (
                    {
                        "id": dets[c.id].id,
                        "version": dets[c.id].version,
                        "status": dets[c.id].status,
                        "status_name": determination.STATUS_NAMES[dets[c.id].status],
                        "total_once_fen": dets[c.id].total_once_fen,
                        "total": R.fen_text(dets[c.id].total_once_fen),
                    }
                    if c.id in dets
                    else None
                ),
                "payables": (paid.get(c.id) or (0, 0))[0],
                "paid": (paid.get(c.id) or (0, 0))[1],
                "bills": [
                    {
                        "id": b.id,
                        "receipt_no": b.receipt_no,
                        "kind": b.kind,
                        "kind_name": R.BILL_KINDS.get(b.kind, b.kind),
                        "provider": b.provider,
                        "issued_on": b.issued_on,
                        "amount_fen": b.amount_fen,
                        "amount": R.fen_text(b.amount_fen),
                        "in_catalogue": b.in_catalogue,
                        "inpatient": b.inpatient,
                        "excluded_reason": b.excluded_reason,
                    }
                    for b in rows
                ],
            }
        )
    return out
