"""What is owed (应付明细): the one write path of ``Payable`` rows.

Determinations (once items, claims) and monthly benefits add payables; the payments domain moves
them through batched → paid, or back to due when the bank fails or reverses a payment. Callers
audit their own act (approval, batch, result import) in the same transaction; these functions only
keep the payable's state and its two guarantees:

- **idempotent**: a payable's ``key`` names the thing owed (``line:<chain>:<item>[:dep]``,
  ``monthly:<id>:<YYYY-MM>``, ``arrears:<id>:<YYYY-MM>:<rate id>``); adding a key that exists
  returns the existing row and owes nothing more;
- **capped**: the payables of a once item, across every version of its determination, never add
  up to more than the approved line (``OverCap``); monthly items are capped per month by their
  rate (oip.benefits.monthly).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from oip.benefits.models import Determination, DeterminationLine, Payable
from oip.core import clock
from oip.core.errors import DomainError, IllegalTransition

STATUS_NAMES = {
    "due": "待支付",
    "held": "暂缓支付",
    "batched": "支付中",
    "paid": "已支付",
    "cancelled": "已作废",
}
KIND_NAMES = {"once": "一次性", "monthly": "按月", "arrears": "补发"}


class OverCap(DomainError):
    """More would be owed than the approved determination allows."""


def owed_for_line(session: Session, line: DeterminationLine) -> int:
    """Fen owed (due, held, batched or paid) for ``line``'s item and payee across every version of
    its determination chain."""
    det = session.get(Determination, line.determination_id)
    chain = det.chain_id or det.id
    q = (
        select(func.coalesce(func.sum(Payable.amount_fen), 0))
        .join(DeterminationLine, DeterminationLine.id == Payable.line_id)
        .join(Determination, Determination.id == DeterminationLine.determination_id)
        .where(
            func.coalesce(Determination.chain_id, Determination.id) == chain,
            DeterminationLine.item == line.item,
            Payable.kind == "once",
            Payable.status != "cancelled",
        )
    )
    if line.dependant_id is None:
        q = q.where(DeterminationLine.dependant_id.is_(None))
    else:
        q = q.where(DeterminationLine.dependant_id == line.dependant_id)
    return int(session.scalar(q) or 0)


def add(
    session: Session,
    *,
    line: DeterminationLine,
    case_id: int,
    amount_fen: int,
    key: str,
    due_on: dt.date,
    region_code: str,
    person_id: int | None = None,
    dependant_id: int | None = None,
    kind: str = "once",
    period: dt.date | None = None,
    monthly_id: int | None = None,
    claim_id: int | None = None,
    hold_reason: str | None = None,
) -> Payable:
    """Owe ``amount_fen`` for ``line`` once under ``key`` (an existing key returns its row)."""
    existing = session.scalar(select(Payable).where(Payable.key == key))
    if existing is not None:
        return existing
    if amount_fen <= 0:
        raise DomainError("应付金额应大于零", field="amount_fen")
    if (person_id is None) == (dependant_id is None):
        raise DomainError("应付明细应有且只有一个收款人（本人或供养亲属）", field="payee")
    if kind == "once":
        already = owed_for_line(session, line)
        if already + amount_fen > line.amount_fen:
            raise OverCap(
                f"{line.item} 已应付 {already} 分，再付 {amount_fen} 分将超过核定金额 {line.amount_fen} 分",
                field="amount_fen",
            )
    p = Payable(
        case_id=case_id,
        line_id=line.id,
        monthly_id=monthly_id,
        claim_id=claim_id,
        item=line.item,
        kind=kind,
        period=period,
        amount_fen=amount_fen,
        key=key,
        person_id=person_id,
        dependant_id=dependant_id,
        region_code=region_code,
        status="held" if hold_reason else "due",
        failure_reason=hold_reason,
        due_on=due_on,
        created_at=clock.now(),
    )
    session.add(p)
    session.flush()
    return p


def _move(p: Payable, allowed: tuple[str, ...], to: str) -> None:
    if p.status not in allowed:
        raise IllegalTransition(f"应付明细 {p.key} 当前为“{STATUS_NAMES[p.status]}”，不能改为“{STATUS_NAMES[to]}”")
    p.status = to


def batch(p: Payable) -> None:
    """Put on a payment line (due → batched)."""
    _move(p, ("due",), "batched")
    p.failure_reason = None


def paid(p: Payable, on: dt.date) -> None:
    """The bank paid it (batched → paid)."""
    _move(p, ("batched",), "paid")
    p.paid_on = on


def failed(p: Payable, reason: str) -> None:
    """The bank did not pay it: back on the worklist with the bank's reason (batched → due)."""
    _move(p, ("batched",), "due")
    p.failure_reason = reason


def reversed_(p: Payable, reason: str) -> None:
    """A paid amount came back (退汇): owed again, with the reason (paid → due)."""
    _move(p, ("paid",), "due")
    p.paid_on = None
    p.failure_reason = reason


def hold(p: Payable, reason: str) -> None:
    _move(p, ("due",), "held")
    p.failure_reason = reason


def release(p: Payable) -> None:
    _move(p, ("held",), "due")
    p.failure_reason = None


def cancel(p: Payable, reason: str) -> None:
    """Never pay it (a superseded version's unpaid line, a stopped benefit's future month)."""
    _move(p, ("due", "held"), "cancelled")
    p.failure_reason = reason
