"""The chart of accounts as effective-dated data (会计科目): what is in force on a day, its history,
and changes from a date — a new version of a subject (a new name, a new sub-subject) ends the
version before it the day before; a subject is retired from a date only if nothing is booked to it
afterwards. Only the region's centre (``fund.close``) changes the chart, never inside a closed
period; every change is audited."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from oip.auth import permissions as P
from oip.core import audit
from oip.core.errors import Conflict, DomainError, Forbidden
from oip.core.validation import clean_text
from oip.fund import rules
from oip.fund.models import EntryLine, Subject
from oip.fund.posting import closed_months

audit.register_actions({"fund.subject.define": "设置会计科目", "fund.subject.retire": "停用会计科目"})


def chart(session: Session, day: dt.date) -> list[Subject]:
    """The subjects in force on ``day``, in code order (a sub-subject after its subject)."""
    rows = session.scalars(
        select(Subject).where(Subject.valid_from <= day, (Subject.valid_to.is_(None)) | (Subject.valid_to >= day))
    )
    return sorted(rows, key=lambda s: s.code)


def history(session: Session) -> list[Subject]:
    return list(session.scalars(select(Subject).order_by(Subject.code, Subject.valid_from)))


def _need(actor) -> None:
    if not actor.can(P.FUND_CLOSE):
        raise Forbidden("只有自治区社会保险经办机构可以调整会计科目")


def _open_from(session: Session, day: dt.date) -> None:
    if rules.month_of(day) in closed_months(session):
        raise Conflict(f"{rules.month_of(day)} 已结账：科目调整只能从未结账的期间起生效")


def define(
    session: Session,
    actor,
    *,
    code: str,
    name: str,
    kind: str,
    valid_from: dt.date,
    parent_code: str | None = None,
    item: str | None = None,
    note: str = "",
) -> Subject:
    """A subject (or a new version of one) in force from ``valid_from``."""
    _need(actor)
    code = (code or "").strip()
    if not (code.isdigit() and 4 <= len(code) <= 8):
        raise DomainError("科目编码应为 4 至 8 位数字", field="code")
    name = clean_text(name, "name", "科目名称", 64, required=True)
    note = clean_text(note, "note", "调整说明", 500, required=True)
    if kind not in rules.KIND_NAMES:
        raise DomainError("科目类别应为资产、负债、基金结余、收入或支出", field="kind")
    _open_from(session, valid_from)
    if parent_code:
        parent = {s.code: s for s in chart(session, valid_from)}.get(parent_code)
        if parent is None or parent.kind != kind or not code.startswith(parent_code):
            raise DomainError("上级科目须在生效日有效、类别相同，且明细科目编码以上级科目编码开头", field="parent_code")
    if item and item not in rules.ITEM_SUBJECTS:
        raise DomainError("没有这个待遇项目", field="item")
    current = session.scalar(select(Subject).where(Subject.code == code, Subject.valid_to.is_(None)).with_for_update())
    if current is not None:
        if valid_from <= current.valid_from:
            raise Conflict(f"科目 {code} 现行版本自 {current.valid_from} 起生效，新版本须晚于该日")
        if current.kind != kind:
            raise Conflict("科目类别不能改变：请另设科目")
        current.valid_to = valid_from - dt.timedelta(days=1)
    s = Subject(
        code=code,
        name=name,
        kind=kind,
        side="debit" if kind in rules.DEBIT_KINDS else "credit",
        parent_code=parent_code or None,
        item=item or None,
        valid_from=valid_from,
        note=note,
    )
    session.add(s)
    session.flush()
    audit.record(
        session,
        actor,
        "fund.subject.define",
        entity_type="fund_subject",
        entity_id=s.id,
        before={"name": current.name, "valid_from": current.valid_from} if current else None,
        after={"code": code, "name": name, "kind": kind, "parent": parent_code, "from": valid_from, "note": note},
    )
    return s


def retire(session: Session, actor, code: str, *, last_day: dt.date, note: str) -> Subject:
    """Stop a subject after ``last_day``: refused while anything is booked to it later, or while a
    sub-subject of it stays in force."""
    _need(actor)
    note = clean_text(note, "note", "停用说明", 500, required=True)
    _open_from(session, last_day + dt.timedelta(days=1))
    current = session.scalar(select(Subject).where(Subject.code == code, Subject.valid_to.is_(None)).with_for_update())
    if current is None:
        raise DomainError(f"科目 {code} 没有现行版本", field="code")
    if last_day < current.valid_from:
        raise Conflict("停用日不能早于现行版本的生效日")
    later = session.scalar(
        select(func.count()).where(EntryLine.subject_code == code, EntryLine.period > rules.month_of(last_day))
    )
    if later:
        raise Conflict(f"科目 {code} 在 {last_day} 之后还有 {later} 条分录，不能停用")
    children = [s.code for s in chart(session, last_day + dt.timedelta(days=1)) if s.parent_code == code]
    if children:
        raise Conflict(f"科目 {code} 的明细科目 {'、'.join(children)} 仍在使用，请先停用明细科目")
    current.valid_to = last_day
    session.flush()
    audit.record(
        session,
        actor,
        "fund.subject.retire",
        entity_type="fund_subject",
        entity_id=current.id,
        after={"code": code, "last_day": last_day, "note": note},
    )
    return current
