"""Manual entries with maker-checker, reversals and interest, through the services (each test in a
session rolled back at its end: posted entries cannot be deleted)."""

from __future__ import annotations

import calendar
import datetime as dt
import re

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from oip.core import clock
from oip.core.errors import Conflict, DomainError, Forbidden, IllegalTransition, NotFound
from oip.fund import interest, journal, posting, rules
from oip.fund.models import Entry, EntryLine, InterestVoucher, Period
from oip.fund.rules import Leg

CITY = "450100"


@pytest.fixture(autouse=True)
def _database(database):
    """The fund tests run against the test database."""


def who(s, username):
    from oip.auth.models import User
    from oip.auth.service import principal_for

    return principal_for(s, s.scalar(select(User).where(User.username == username)), via="cli")


def legs(fen=12_345, city=CITY):
    return [Leg(rules.OTHER_EXPENSE, city, debit=fen), Leg(rules.EXPENDITURE_ACCOUNT, city, credit=fen)]


def submitted(s, maker="nn_si", fen=12_345, day=None, summary="手工调整测试"):
    e = journal.draft(s, who(s, maker), entry_date=day or clock.today(), summary=summary, legs=legs(fen))
    return journal.submit(s, who(s, maker), e.id)


def test_a_manual_entry_is_posted_only_by_another_officer(db):
    e = submitted(db)
    assert (e.status, e.number, e.kind) == ("submitted", None, "manual")
    assert [x.posted for x in db.scalars(select(EntryLine).where(EntryLine.entry_id == e.id))] == [False, False]
    with pytest.raises(Forbidden, match="不得复核本人编制的凭证"):
        journal.approve(db, who(db, "nn_si"), e.id)
    out = journal.approve(db, who(db, "nn_si_check"), e.id)
    assert out.status == "posted"
    assert re.fullmatch(rf"记-{clock.today():%Y%m}-\d{{8}}", out.number)
    assert out.number == posting.entry_number(out.id, rules.month_of(clock.today()))
    assert out.checked_by == who(db, "nn_si_check").user_id and out.posted_at is not None
    lines = list(db.scalars(select(EntryLine).where(EntryLine.entry_id == e.id)))
    assert all(x.posted for x in lines) and sum(x.debit_fen for x in lines) == 12_345
    with pytest.raises(IllegalTransition):
        journal.approve(db, who(db, "gx_si"), e.id)  # already posted


def test_a_draft_must_be_submitted_and_a_rejected_one_can_be_corrected(db):
    e = journal.draft(db, who(db, "nn_si"), entry_date=clock.today(), summary="草稿", legs=legs())
    with pytest.raises(IllegalTransition):
        journal.approve(db, who(db, "nn_si_check"), e.id)
    journal.submit(db, who(db, "nn_si"), e.id)
    journal.reject(db, who(db, "nn_si_check"), e.id, "金额有误")
    assert e.status == "rejected" and "金额有误" in e.note
    with pytest.raises(Forbidden, match="编制人"):
        journal.update(db, who(db, "gx_si"), e.id, entry_date=clock.today(), summary="他人修改", legs=legs(1))
    journal.update(db, who(db, "nn_si"), e.id, entry_date=clock.today(), summary="更正后", legs=legs(500))
    assert e.status == "draft" and e.total_fen == 500
    journal.submit(db, who(db, "nn_si"), e.id)
    assert journal.approve(db, who(db, "gx_si_check"), e.id).total_fen == 500
    d = journal.draft(db, who(db, "nn_si"), entry_date=clock.today(), summary="删掉", legs=legs())
    journal.remove(db, who(db, "nn_si"), d.id)
    assert db.get(Entry, d.id) is None


def test_unbalanced_and_wrong_subjects_are_refused_with_the_reason(db):
    nn = who(db, "nn_si")
    bad = [Leg(rules.OTHER_EXPENSE, CITY, debit=100), Leg(rules.EXPENDITURE_ACCOUNT, CITY, credit=99)]
    with pytest.raises(DomainError, match="借方合计不等于贷方合计"):
        journal.draft(db, nn, entry_date=clock.today(), summary="不平", legs=bad)
    with pytest.raises(DomainError, match="至少需要一借一贷"):
        journal.draft(db, nn, entry_date=clock.today(), summary="单边", legs=bad[:1])
    with pytest.raises(DomainError, match="明细科目"):
        journal.draft(
            db,
            nn,
            entry_date=clock.today(),
            summary="父科目",
            legs=[Leg(rules.EXPENSE, CITY, debit=1), Leg(rules.EXPENDITURE_ACCOUNT, CITY, credit=1)],
        )
    with pytest.raises(DomainError, match="不存在或未生效"):
        journal.draft(
            db,
            nn,
            entry_date=clock.today(),
            summary="无此科目",
            legs=[Leg("9999", CITY, debit=1), Leg(rules.EXPENDITURE_ACCOUNT, CITY, credit=1)],
        )
    gx = who(db, "gx_si")
    cross = [Leg(rules.OTHER_EXPENSE, CITY, debit=100), Leg(rules.FISCAL, rules.PROVINCE, credit=100)]
    with pytest.raises(DomainError, match="上下级往来"):
        journal.draft(db, gx, entry_date=clock.today(), summary="跨地区", legs=cross)
    with pytest.raises(DomainError, match="摘要"):
        journal.draft(db, nn, entry_date=clock.today(), summary="  ", legs=legs())
    with pytest.raises(DomainError, match="晚于今天"):
        journal.draft(db, nn, entry_date=clock.today() + dt.timedelta(days=1), summary="未来", legs=legs())


def test_a_city_officer_keeps_only_its_own_city_books(db):
    with pytest.raises(Forbidden, match="本市"):
        journal.draft(db, who(db, "nn_si"), entry_date=clock.today(), summary="桂林的", legs=legs(city="450300"))
    e = submitted(db)
    with pytest.raises(NotFound):  # Guilin does not see Nanning's entry at all
        journal.approve(db, who(db, "gl_si"), e.id)
    with pytest.raises(Forbidden):  # finance reads the ledger but does not check entries
        journal.approve(db, who(db, "gx_finance"), e.id)
    g = journal.draft(db, who(db, "gx_si"), entry_date=clock.today(), summary="自治区代编", legs=legs(city="450300"))
    journal.submit(db, who(db, "gx_si"), g.id)
    with pytest.raises(NotFound):
        journal.approve(db, who(db, "nn_si_check"), g.id)
    assert journal.approve(db, who(db, "gx_si_check"), g.id).status == "posted"


def test_a_reversal_mirrors_the_entry_and_is_made_once(db):
    e = journal.approve(db, who(db, "nn_si_check"), submitted(db, fen=7_700).id)
    r = journal.reverse(db, who(db, "nn_si"), e.id, "重复记账")
    assert (r.kind, r.status, r.reverses_id) == ("reversal", "submitted", e.id)
    assert r.summary == f"冲销 {e.number}：重复记账"
    assert sorted(journal.legs_of(db, r.id), key=lambda x: x.subject) == sorted(
        rules.reversal_of(journal.legs_of(db, e.id)), key=lambda x: x.subject
    )
    with pytest.raises(Conflict, match="待复核的冲销凭证"):
        journal.reverse(db, who(db, "nn_si"), e.id, "再冲一次")
    with pytest.raises(Forbidden):
        journal.approve(db, who(db, "nn_si"), r.id)
    journal.approve(db, who(db, "nn_si_check"), r.id)
    with pytest.raises(Conflict, match="已被 记-"):
        journal.reverse(db, who(db, "gx_si"), e.id, "又一次")
    with pytest.raises(IllegalTransition, match="不能再冲销"):
        journal.reverse(db, who(db, "nn_si"), r.id, "冲销冲销")
    # Net effect nil on both subjects.
    net = db.execute(
        select(EntryLine.subject_code, EntryLine.debit_fen - EntryLine.credit_fen).where(
            EntryLine.entry_id.in_([e.id, r.id])
        )
    ).all()
    assert sum(v for _, v in net) == 0 and {c for c, _ in net} == {rules.OTHER_EXPENSE, rules.EXPENDITURE_ACCOUNT}


def test_a_rejected_reversal_lets_another_be_made(db):
    e = journal.approve(db, who(db, "nn_si_check"), submitted(db).id)
    r = journal.reverse(db, who(db, "nn_si"), e.id, "第一次")
    journal.reject(db, who(db, "nn_si_check"), r.id, "原因不清")
    assert r.reverses_id is None and r.source_id == e.id
    with pytest.raises(IllegalTransition, match="重新冲销"):
        journal.submit(db, who(db, "nn_si"), r.id)
    r2 = journal.reverse(db, who(db, "nn_si"), e.id, "第二次")
    assert r2.reverses_id == e.id


def test_entries_from_business_events_are_not_reversed_by_hand(db):
    [eid] = posting.post(
        db,
        who(db, "gx_si"),
        [posting.NewEntry("premium", clock.today(), "测试保费", rules.premium_legs(100))],
    )
    with pytest.raises(IllegalTransition, match="业务端"):
        journal.reverse(db, who(db, "gx_si"), eid, "想冲")


def test_a_posted_entry_is_never_changed(db):
    e = journal.approve(db, who(db, "nn_si_check"), submitted(db).id)
    with pytest.raises(IllegalTransition, match="红字冲销"):
        journal.update(db, who(db, "nn_si"), e.id, entry_date=clock.today(), summary="改", legs=legs(1))
    with pytest.raises(IllegalTransition):
        journal.remove(db, who(db, "nn_si"), e.id)
    for sql in (
        "UPDATE fund_entries SET summary = 'x' WHERE id = :i",
        "UPDATE fund_entry_lines SET debit_fen = debit_fen + 1 WHERE entry_id = :i AND debit_fen > 0",
        "DELETE FROM fund_entries WHERE id = :i",
    ):
        with pytest.raises(DBAPIError, match="不能修改或删除"):
            with db.begin_nested():
                db.execute(text(sql), {"i": e.id})
    db.expire_all()
    assert db.get(Entry, e.id).summary == "手工调整测试"


def _past_month_first_day(db) -> dt.date:
    """The first day of last month, or of this month when the chart starts later."""
    from sqlalchemy import func

    from oip.fund.models import Subject

    t = clock.today()
    day = (t.replace(day=1) - dt.timedelta(days=1)).replace(day=1)
    start = db.scalar(select(func.max(Subject.valid_from)).where(Subject.code == rules.OTHER_EXPENSE))
    return day if day >= start else t.replace(day=1)


def test_a_closed_month_takes_no_draft_and_no_approval(db):
    day = _past_month_first_day(db)
    month = rules.month_of(day)
    e = submitted(db, day=day)
    # The month is closed meanwhile (rolled back with the test).
    db.execute(
        text(
            "INSERT INTO fund_periods (month, status) VALUES (:m, 'closed') ON CONFLICT (month) DO UPDATE SET status = 'closed'"
        ),
        {"m": month},
    )
    with pytest.raises(Conflict, match=f"{month} 已结账.*改为未结账月份的日期"):
        journal.approve(db, who(db, "nn_si_check"), e.id)
    with pytest.raises(DomainError, match="已结账"):
        journal.draft(db, who(db, "nn_si"), entry_date=day, summary="补记", legs=legs())
    assert db.get(Period, month).status == "closed"


def test_interest_apportioned_by_average_balance(db):
    assert rules.interest_share(1_000_000, 80_000_000, 20_000_000) == 250_000
    gx = who(db, "gx_si")
    t = clock.today()
    month = rules.month_of(t.replace(day=1) - dt.timedelta(days=1))  # last month
    ref = f"LX-TEST-{t:%Y%m%d}-{id(db)}"
    v = interest.record(
        db,
        gx,
        month=month,
        received_on=t,
        bank_ref=ref,
        fund_interest_fen=1_000_000,
        fund_balance_fen=80_000_000,
        oi_balance_fen=20_000_000,
    )
    assert v.apportioned_fen == 250_000 and v.entry_id
    e = db.get(Entry, v.entry_id)
    assert (e.kind, e.status, e.source_type, e.source_id, e.source_ref) == (
        "interest",
        "posted",
        "interest_voucher",
        v.id,
        ref,
    )
    assert sorted(journal.legs_of(db, e.id), key=lambda x: x.subject) == [
        Leg(rules.FISCAL, rules.PROVINCE, debit=250_000),
        Leg(rules.INTEREST_INCOME, rules.PROVINCE, credit=250_000),
    ]
    with pytest.raises(Conflict, match="已登记"):
        interest.record(
            db,
            gx,
            month=month,
            received_on=t,
            bank_ref=ref,
            fund_interest_fen=5,
            fund_balance_fen=10,
            oi_balance_fen=1,
        )
    with pytest.raises(Forbidden, match="自治区"):
        interest.record(
            db,
            who(db, "nn_si"),
            month=month,
            received_on=t,
            bank_ref=ref + "-nn",
            fund_interest_fen=5,
            fund_balance_fen=10,
            oi_balance_fen=1,
        )
    with pytest.raises(DomainError, match="不能大于"):
        interest.record(
            db,
            gx,
            month=month,
            received_on=t,
            bank_ref=ref + "-x",
            fund_interest_fen=5,
            fund_balance_fen=10,
            oi_balance_fen=11,
        )
    assert db.scalar(select(InterestVoucher.id).where(InterestVoucher.bank_ref == ref)) == v.id


def test_the_average_balance_of_the_fiscal_account_is_daily(db):
    t = clock.today()
    first = _past_month_first_day(db)
    month = rules.month_of(first)
    days = calendar.monthrange(first.year, first.month)[1]
    last = first.replace(day=days)
    before = interest.average_fiscal_balance(db, month)
    # Whatever the account held (the demo's allocations may have overdrawn the occupational-injury
    # money's share), lift it on the first day so that the month's average is positive.
    lift = max(0, -before) + 700
    gx = who(db, "gx_si")
    posting.post(
        db,
        gx,
        [
            posting.NewEntry(
                "manual",
                first,
                "测试 首日",
                [Leg(rules.FISCAL, rules.PROVINCE, debit=lift), Leg(rules.OTHER_INCOME, rules.PROVINCE, credit=lift)],
            ),
            posting.NewEntry(
                "manual",
                last,
                "测试 末日",
                [
                    Leg(rules.FISCAL, rules.PROVINCE, debit=days * 300),
                    Leg(rules.OTHER_INCOME, rules.PROVINCE, credit=days * 300),
                ],
            ),
        ],
    )
    # ``lift`` on every day of the month, and days × 300 on its last day only: +lift + 300 on average.
    avg = before + lift + 300
    assert interest.average_fiscal_balance(db, month) == avg
    v = interest.record(
        db,
        gx,
        month=month,
        received_on=t,
        bank_ref=f"LX-AVG-{id(db)}",
        fund_interest_fen=1_000_000,
        fund_balance_fen=4 * avg,
    )
    assert v.oi_balance_fen == avg
    assert v.apportioned_fen == 250_000  # a quarter of the fund's average balance
