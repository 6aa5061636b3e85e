"""Manual journal entries (手工记账凭证) with maker-checker, and red-ink reversals (红字冲销).

An officer with ``fund.post`` drafts an entry (``draft``: status draft, lines not posted, in the
period of its date, which must be open), may edit or delete it while it is not posted, and submits
it (``submit``: 待复核). Another officer with ``fund.check`` approves it (``approve``): the legs are
validated again (balanced in total and per city, subjects in force and leaf, the period still open)
and the entry is posted — numbered, lines posted — after which the database refuses any change.
Or the checker rejects it with a reason (``reject``); the maker may correct it and submit again.

A posted entry is corrected by its reversal (``reverse``): every debit becomes a credit, dated today
(or a given day) in an open period, summary "冲销 记-…：<reason>", kind ``reversal`` with
``reverses_id`` — submitted at once and approved by another officer like any manual entry. An entry
is reversed at most once (``reverses_id`` is unique). Entries generated from business events (tax
returns, bank results) are not reversed here: they are corrected where they come from (a corrected
tax return, a reversal 退汇 in payments), so the ledger stays tied to the business.

Data scope: an officer of the region (自治区) acts on any city's books; a city officer only on
entries whose every line is in its own city. Every act is audited in the caller's transaction.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ColumnElement, delete, exists, select, text, true
from sqlalchemy.orm import Session

from oip.auth import permissions as P
from oip.auth.scope import out_of_scope
from oip.auth.service import Principal
from oip.core import audit, clock
from oip.core.errors import Conflict, DomainError, Forbidden, IllegalTransition
from oip.core.validation import clean_text
from oip.fund import posting, rules
from oip.fund.models import Entry, EntryLine

audit.register_actions(
    {
        "fund.entry.draft": "编制手工记账凭证",
        "fund.entry.edit": "修改记账凭证（未记账）",
        "fund.entry.delete": "删除记账凭证（未记账）",
        "fund.entry.submit": "提交记账凭证待复核",
        "fund.entry.approve": "复核通过记账凭证并记账",
        "fund.entry.reject": "退回记账凭证",
        "fund.entry.reverse": "编制红字冲销凭证",
    }
)


def _entry_names(session: Session, ids: list[str]) -> dict[str, str]:
    nums = [int(i) for i in ids if str(i).isdigit()]
    rows = session.execute(select(Entry.id, Entry.number, Entry.summary).where(Entry.id.in_(nums))).all()
    return {str(i): (n or f"草稿 #{i}") + f" {s[:30]}" for i, n, s in rows}


audit.register_entity_names("fund_entry", "记账凭证", _entry_names)

REVERSIBLE = ("manual", "interest", "allocation")
SUMMARY_MAX = 200


# ---- data scope ----------------------------------------------------------------------------------


def actor_city(actor: Principal) -> str | None:
    """The one city whose books the actor keeps (a city officer: "450100"), None for the region's
    officers (all of them)."""
    if actor.role.scope == "region" and len(actor.region_prefix) <= 2:
        return None
    return rules.city_of(actor.region_code)


def entry_condition(actor: Principal) -> ColumnElement[bool]:
    """Entries the actor may read: all for the region, for a city those with a line in the city."""
    city = actor_city(actor)
    if city is None:
        return true()
    return exists().where(EntryLine.entry_id == Entry.id, EntryLine.city_code == city)


def _need(actor: Principal, permission: str, what: str) -> None:
    if not actor.can(permission):
        raise Forbidden(f"您无权{what}")


def _in_scope(actor: Principal, legs: list[rules.Leg]) -> None:
    city = actor_city(actor)
    if city is None:
        return
    outside = sorted({x.city for x in legs if x.city != city})
    if outside:
        raise Forbidden(f"设区市经办机构只能办理本市（{city}）的凭证；分录中有其他地区（{'、'.join(outside)}）的金额")


def get_entry(session: Session, actor: Principal, entry_id: int, *, for_update: bool = False) -> Entry:
    q = select(Entry).where(Entry.id == entry_id, entry_condition(actor))
    if for_update:
        q = q.with_for_update(of=Entry)
    e = session.scalar(q)
    if e is None:
        raise out_of_scope("记账凭证")
    return e


def legs_of(session: Session, entry_id: int) -> list[rules.Leg]:
    rows = session.execute(
        select(EntryLine.subject_code, EntryLine.city_code, EntryLine.debit_fen, EntryLine.credit_fen)
        .where(EntryLine.entry_id == entry_id)
        .order_by(EntryLine.line_no)
    )
    return [rules.Leg(s, c, int(d), int(cr)) for s, c, d, cr in rows]


# ---- validation ----------------------------------------------------------------------------------


def _check_legs(session: Session, day: dt.date, legs: list[rules.Leg]) -> list[rules.Leg]:
    try:
        legs = rules.check_legs(legs)
    except rules.Unbalanced as exc:
        raise DomainError(str(exc), field="lines") from None
    chart = posting.subjects_on(session, day)
    for x in legs:
        s = chart.get(x.subject)
        if s is None:
            raise DomainError(f"科目 {x.subject} 在 {day} 不存在或未生效", field="lines")
        if any(c.parent_code == x.subject for c in chart.values()):
            raise DomainError(f"科目 {s.name}（{x.subject}）有明细科目，请记入明细科目", field="lines")
    return legs


def _open_month(session: Session, day: dt.date, *, field: str = "entry_date") -> str:
    month = rules.month_of(day)
    if month in posting.closed_months(session):
        raise DomainError(
            f"凭证日期 {day} 所在的会计期间 {month} 已结账，不能再记入；请改为未结账月份的日期", field=field
        )
    return month


def _check_date(day: dt.date | None, field: str = "entry_date") -> dt.date:
    if day is None:
        raise DomainError("请填写凭证日期", field=field)
    if day > clock.today():
        raise DomainError("凭证日期不能晚于今天", field=field)
    return day


def _write_lines(session: Session, e: Entry, legs: list[rules.Leg], summary: str) -> None:
    session.execute(delete(EntryLine).where(EntryLine.entry_id == e.id))
    session.add_all(
        EntryLine(
            entry_id=e.id,
            line_no=i,
            subject_code=x.subject,
            city_code=x.city,
            debit_fen=x.debit,
            credit_fen=x.credit,
            period=e.period,
            posted=False,
            summary=summary,
        )
        for i, x in enumerate(legs, 1)
    )
    session.flush()


def _snapshot(e: Entry, legs: list[rules.Leg] | None = None) -> dict:
    out = {
        "number": e.number,
        "status": e.status,
        "kind": e.kind,
        "entry_date": e.entry_date.isoformat(),
        "period": e.period,
        "summary": e.summary,
        "total_fen": e.total_fen,
    }
    if legs is not None:
        out["lines"] = [[x.subject, x.city, x.debit, x.credit] for x in legs]
    return out


# ---- the maker -----------------------------------------------------------------------------------


def draft(
    session: Session,
    actor: Principal,
    *,
    entry_date: dt.date,
    summary: str,
    legs: list[rules.Leg],
    note: str = "",
) -> Entry:
    """A manual entry, not yet posted (status draft; ``submit`` sends it to the checker)."""
    _need(actor, P.FUND_POST, "编制记账凭证")
    day = _check_date(entry_date)
    summary = clean_text(summary, "summary", "摘要", SUMMARY_MAX, required=True)
    note = clean_text(note, "note", "备注", 500)
    legs = _check_legs(session, day, list(legs))
    _in_scope(actor, legs)
    month = _open_month(session, day)
    e = Entry(
        period=month,
        entry_date=day,
        kind="manual",
        status="draft",
        summary=summary,
        source_ref="",
        total_fen=sum(x.debit for x in legs),
        made_by=actor.user_id,
        made_at=clock.now(),
        note=note,
    )
    session.add(e)
    session.flush()
    _write_lines(session, e, legs, summary)
    audit.record(session, actor, "fund.entry.draft", entity_type="fund_entry", entity_id=e.id, after=_snapshot(e, legs))
    return e


def _orphan_reversal(e: Entry) -> None:
    """A rejected reversal has let go of the entry it reversed: it is not posted any more."""
    if e.kind == "reversal" and e.reverses_id is None:
        raise IllegalTransition("被退回的冲销凭证不能再修改或提交；如仍需冲销，请在原凭证上重新冲销")


def _own_unposted(session: Session, actor: Principal, entry_id: int, what: str) -> Entry:
    _need(actor, P.FUND_POST, what)
    e = get_entry(session, actor, entry_id, for_update=True)
    if e.status == "posted":
        raise IllegalTransition("凭证已记账，不能修改或删除；更正请做红字冲销")
    if e.made_by != actor.user_id:
        raise Forbidden("只有凭证的编制人可以修改或删除未记账的凭证")
    if e.period in posting.closed_months(session):
        raise Conflict(f"会计期间 {e.period} 已结账，这张未记账的凭证不能再修改；请重新编制")
    return e


def update(
    session: Session,
    actor: Principal,
    entry_id: int,
    *,
    entry_date: dt.date,
    summary: str,
    legs: list[rules.Leg] | None = None,
    note: str | None = None,
) -> Entry:
    """Correct an entry that is not posted (draft, submitted or rejected): back to draft. A reversal
    keeps its legs (they mirror the reversed entry); only its date and summary change."""
    e = _own_unposted(session, actor, entry_id, "修改记账凭证")
    _orphan_reversal(e)
    before = _snapshot(e, legs_of(session, e.id))
    day = _check_date(entry_date)
    summary = clean_text(summary, "summary", "摘要", SUMMARY_MAX, required=True)
    if e.kind == "reversal" or legs is None:
        legs = legs_of(session, e.id)
    legs = _check_legs(session, day, list(legs))
    _in_scope(actor, legs)
    e.period = _open_month(session, day)
    e.entry_date, e.summary, e.status = day, summary, "draft"
    e.total_fen = sum(x.debit for x in legs)
    if note is not None:
        e.note = clean_text(note, "note", "备注", 500)
    session.flush()
    _write_lines(session, e, legs, summary)
    audit.record(
        session,
        actor,
        "fund.entry.edit",
        entity_type="fund_entry",
        entity_id=e.id,
        before=before,
        after=_snapshot(e, legs),
    )
    return e


def remove(session: Session, actor: Principal, entry_id: int) -> None:
    """Delete an entry that is not posted (its maker only)."""
    e = _own_unposted(session, actor, entry_id, "删除记账凭证")
    before = _snapshot(e, legs_of(session, e.id))
    session.execute(delete(EntryLine).where(EntryLine.entry_id == e.id))
    session.delete(e)
    session.flush()
    audit.record(session, actor, "fund.entry.delete", entity_type="fund_entry", entity_id=entry_id, before=before)


def submit(session: Session, actor: Principal, entry_id: int) -> Entry:
    """Send a draft (or a corrected rejected entry) to the checker (待复核)."""
    _need(actor, P.FUND_POST, "提交记账凭证")
    e = get_entry(session, actor, entry_id, for_update=True)
    if e.status not in ("draft", "rejected"):
        raise IllegalTransition(f"凭证状态为“{rules.ENTRY_STATUS_NAMES[e.status]}”，不能提交复核")
    _orphan_reversal(e)
    legs = _check_legs(session, e.entry_date, legs_of(session, e.id))
    _in_scope(actor, legs)
    _open_month(session, e.entry_date)
    e.status = "submitted"
    session.flush()
    audit.record(session, actor, "fund.entry.submit", entity_type="fund_entry", entity_id=e.id, after=_snapshot(e))
    return e


# ---- the checker ---------------------------------------------------------------------------------


def _checkable(session: Session, actor: Principal, entry_id: int) -> Entry:
    _need(actor, P.FUND_CHECK, "复核记账凭证")
    e = get_entry(session, actor, entry_id, for_update=True)
    if e.status != "submitted":
        raise IllegalTransition(f"凭证状态为“{rules.ENTRY_STATUS_NAMES[e.status]}”，不在待复核状态")
    if e.made_by == actor.user_id:
        raise Forbidden("不得复核本人编制的凭证，须由另一名经办人员复核")
    return e


def approve(session: Session, actor: Principal, entry_id: int) -> Entry:
    """Check and post: validated again, numbered, its lines posted (never to change again)."""
    # One posting at a time with event posting and period close (the same lock).
    session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": posting.POST_LOCK})
    e = _checkable(session, actor, entry_id)
    _orphan_reversal(e)
    legs = _check_legs(session, e.entry_date, legs_of(session, e.id))
    _in_scope(actor, legs)
    month = rules.month_of(e.entry_date)
    if month in posting.closed_months(session):
        raise Conflict(
            f"凭证日期 {e.entry_date} 所在的会计期间 {month} 已结账，不能记账；请退回，由编制人改为未结账月份的日期后重新提交"
        )
    if e.reverses_id is not None:
        original = session.get(Entry, e.reverses_id)
        if original is None or original.status != "posted":
            raise Conflict("被冲销的凭证不是已记账凭证")
        if not rules.mirrors(legs, legs_of(session, original.id)):
            raise Conflict(f"冲销凭证的分录与被冲销凭证 {original.number} 不对应")
    posting.ensure_periods(session, {month})
    now = clock.now()
    e.period = month
    e.number = posting.entry_number(e.id, month)
    e.status, e.checked_by, e.checked_at, e.posted_at = "posted", actor.user_id, now, now
    e.total_fen = sum(x.debit for x in legs)
    # Lines first (the entry's own row may not change once posted; its lines not once they are).
    session.execute(EntryLine.__table__.update().where(EntryLine.entry_id == e.id).values(posted=True, period=month))
    session.flush()
    session.expire_all()
    e = session.get(Entry, entry_id)
    audit.record(session, actor, "fund.entry.approve", entity_type="fund_entry", entity_id=e.id, after=_snapshot(e))
    return e


def reject(session: Session, actor: Principal, entry_id: int, reason: str) -> Entry:
    """Send it back to the maker with a reason. A rejected reversal lets go of the entry it
    reversed (another reversal may be made); it still names it as its source."""
    e = _checkable(session, actor, entry_id)
    reason = clean_text(reason, "reason", "退回原因", 500, required=True)
    _in_scope(actor, legs_of(session, e.id))
    e.status, e.checked_by, e.checked_at = "rejected", actor.user_id, clock.now()
    e.note = (e.note + "\n" if e.note else "") + f"退回：{reason}"
    e.reverses_id = None
    session.flush()
    audit.record(
        session,
        actor,
        "fund.entry.reject",
        entity_type="fund_entry",
        entity_id=e.id,
        after={**_snapshot(e), "reason": reason},
    )
    return e


# ---- reversal ------------------------------------------------------------------------------------


def reverse(session: Session, actor: Principal, entry_id: int, reason: str, on: dt.date | None = None) -> Entry:
    """A red-ink reversal of posted entry ``entry_id``, submitted for checking."""
    _need(actor, P.FUND_POST, "编制冲销凭证")
    original = get_entry(session, actor, entry_id, for_update=True)
    reason = clean_text(reason, "reason", "冲销原因", 200, required=True)
    if original.status != "posted":
        raise IllegalTransition("只能冲销已记账的凭证")
    if original.kind == "reversal":
        raise IllegalTransition("红字冲销凭证不能再冲销；如有错误请另行编制凭证")
    if original.kind not in REVERSIBLE:
        raise IllegalTransition(
            f"“{rules.ENTRY_KINDS.get(original.kind, original.kind)}”凭证由业务事件生成，"
            "更正请在业务端办理（税务回执更正、退汇登记），不能手工冲销"
        )
    live = session.scalar(select(Entry).where(Entry.reverses_id == original.id))
    if live is not None:
        if live.status == "posted":
            raise Conflict(f"凭证 {original.number} 已被 {live.number} 冲销，不能重复冲销")
        raise Conflict(f"凭证 {original.number} 已有待复核的冲销凭证，请先复核或退回")
    day = _check_date(on or clock.today(), "on")
    if day < original.entry_date:
        raise DomainError("冲销日期不能早于被冲销凭证的日期", field="on")
    legs = _check_legs(session, day, rules.reversal_of(legs_of(session, original.id)))
    _in_scope(actor, legs)
    month = _open_month(session, day, field="on")
    summary = f"冲销 {original.number}：{reason}"
    e = Entry(
        period=month,
        entry_date=day,
        kind="reversal",
        status="submitted",
        summary=summary,
        source_type="fund_entry",
        source_id=original.id,
        source_ref=original.number or "",
        reverses_id=original.id,
        total_fen=sum(x.debit for x in legs),
        made_by=actor.user_id,
        made_at=clock.now(),
        note="",
    )
    session.add(e)
    session.flush()
    _write_lines(session, e, legs, summary)
    audit.record(
        session,
        actor,
        "fund.entry.reverse",
        entity_type="fund_entry",
        entity_id=e.id,
        after={**_snapshot(e, legs), "reverses": original.number, "reason": reason},
    )
    return e
