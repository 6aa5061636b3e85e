"""Interest (利息收入分摊): the fiscal special account earns interest for the whole work-injury
insurance fund; the occupational-injury money's share is apportioned by average balance
(``rules.interest_share``: fund interest × occupational-injury average balance ÷ fund average
balance, half-up to the fen) and booked Dr 1001 / Cr 4002 at the region.

The occupational-injury average balance, when not given, is the average daily closing balance of
the region's fiscal special account (1001 at 450000) over the month, from the posted lines by their
entries' dates. The bank's reference of the interest is unique: a voucher is recorded once.
"""

from __future__ import annotations

import calendar
import datetime as dt

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from oip.auth import permissions as P
from oip.auth.service import Principal
from oip.core import audit, clock
from oip.core.errors import Conflict, DomainError, Forbidden
from oip.core.validation import clean_text
from oip.fund import posting, rules
from oip.fund.journal import actor_city
from oip.fund.models import Entry, EntryLine, InterestVoucher

audit.register_actions({"fund.interest.record": "登记利息收入分摊"})


def month_bounds(month: str) -> tuple[dt.date, dt.date]:
    try:
        if len(month) != 7 or month[4] != "-":
            raise ValueError
        y, m = int(month[:4]), int(month[5:])
        first = dt.date(y, m, 1)
    except ValueError:
        raise DomainError("所属月份应为 YYYY-MM", field="month") from None
    return first, first.replace(day=calendar.monthrange(y, m)[1])


def average_fiscal_balance(session: Session, month: str) -> int:
    """The average daily closing balance (fen, half-up) of the fiscal special account (1001 at the
    region) over ``month``, from posted lines by their entries' dates."""
    first, last = month_bounds(month)
    base = (
        select(func.coalesce(func.sum(EntryLine.debit_fen - EntryLine.credit_fen), 0))
        .join(Entry, Entry.id == EntryLine.entry_id)
        .where(EntryLine.posted, EntryLine.subject_code == rules.FISCAL, EntryLine.city_code == rules.PROVINCE)
    )
    balance = int(session.scalar(base.where(Entry.entry_date < first)))
    moves = dict(
        session.execute(
            select(Entry.entry_date, func.sum(EntryLine.debit_fen - EntryLine.credit_fen))
            .join(Entry, Entry.id == EntryLine.entry_id)
            .where(
                EntryLine.posted,
                EntryLine.subject_code == rules.FISCAL,
                EntryLine.city_code == rules.PROVINCE,
                Entry.entry_date >= first,
                Entry.entry_date <= last,
            )
            .group_by(Entry.entry_date)
        ).all()
    )
    total, day, days = 0, first, 0
    while day <= last:
        balance += int(moves.get(day, 0))
        total += balance
        days += 1
        day += dt.timedelta(days=1)
    return (2 * total + days) // (2 * days)


def record(
    session: Session,
    actor: Principal,
    *,
    month: str,
    received_on: dt.date,
    bank_ref: str,
    fund_interest_fen: int,
    fund_balance_fen: int,
    oi_balance_fen: int | None = None,
) -> InterestVoucher:
    """Record the fund's interest of ``month`` and post the occupational-injury share."""
    if not actor.can(P.FUND_POST):
        raise Forbidden("您无权登记利息收入")
    if actor_city(actor) is not None:
        raise Forbidden("利息收入在自治区财政专户，由自治区社会保险经办机构登记")
    first, last = month_bounds(month)
    if first > clock.today():
        raise DomainError("所属月份不能晚于本月", field="month")
    if received_on is None:
        raise DomainError("请填写到账日期", field="received_on")
    if received_on > clock.today():
        raise DomainError("到账日期不能晚于今天", field="received_on")
    if received_on < first:
        raise DomainError("到账日期不能早于所属月份", field="received_on")
    bank_ref = clean_text(bank_ref, "bank_ref", "银行凭证号", 64, required=True)
    if fund_interest_fen is None or fund_interest_fen <= 0:
        raise DomainError("工伤保险基金利息应为正数", field="fund_interest_fen")
    if fund_balance_fen is None or fund_balance_fen <= 0:
        raise DomainError("工伤保险基金平均余额应为正数", field="fund_balance_fen")
    same = session.scalar(select(InterestVoucher).where(InterestVoucher.bank_ref == bank_ref))
    if same is not None:
        raise Conflict(f"银行凭证号 {bank_ref} 已登记（{same.month} 利息，{same.received_on}），不能重复登记")
    if oi_balance_fen is None:
        oi_balance_fen = average_fiscal_balance(session, month)
    if oi_balance_fen < 0:
        raise DomainError("职业伤害保障资金平均余额不能为负数", field="oi_balance_fen")
    if oi_balance_fen > fund_balance_fen:
        raise DomainError("职业伤害保障资金平均余额不能大于工伤保险基金平均余额", field="oi_balance_fen")
    share = rules.interest_share(fund_interest_fen, fund_balance_fen, oi_balance_fen)
    if share <= 0:
        raise DomainError("职业伤害保障资金平均余额为零，没有可分摊的利息", field="oi_balance_fen")
    v = InterestVoucher(
        month=month,
        received_on=received_on,
        bank_ref=bank_ref,
        fund_interest_fen=fund_interest_fen,
        fund_balance_fen=fund_balance_fen,
        oi_balance_fen=oi_balance_fen,
        apportioned_fen=share,
        made_by=actor.user_id,
        made_at=clock.now(),
    )
    session.add(v)
    session.flush()
    [entry_id] = posting.post(
        session,
        actor,
        [
            posting.NewEntry(
                kind="interest",
                entry_date=received_on,
                summary=f"{month} 利息收入分摊（银行凭证 {bank_ref}）",
                legs=rules.interest_legs(share),
                source_type="interest_voucher",
                source_id=v.id,
                source_ref=bank_ref,
            )
        ],
        made_by=actor.user_id,
    )
    v.entry_id = entry_id
    session.flush()
    audit.record(
        session,
        actor,
        "fund.interest.record",
        entity_type="fund_interest_voucher",
        entity_id=v.id,
        after={
            "month": month,
            "bank_ref": bank_ref,
            "fund_interest_fen": fund_interest_fen,
            "fund_balance_fen": fund_balance_fen,
            "oi_balance_fen": oi_balance_fen,
            "apportioned_fen": share,
            "entry_id": entry_id,
        },
    )
    return v
