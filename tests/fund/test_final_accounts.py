"""The statements drawn from the ledger (income and expenditure, by city, the balance sheet that
balances) and the final accounts: refused while a month of the year is open, drawn, redrawn while
draft, submitted, returned by finance and approved. Entries are posted and months closed only in sessions that are
rolled back (closing is irreversible)."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from oip.auth.models import User
from oip.auth.service import principal_for
from oip.core import clock
from oip.core.errors import DomainError
from oip.fund import final_accounts, posting, rules
from oip.fund.models import Period

CITY_A, CITY_B = "451400", "451300"  # 崇左, 来宾


def who(s, username: str):
    return principal_for(s, s.scalar(select(User).where(User.username == username)), via="test")


def _amounts(rows) -> dict[str, int]:
    return {x["code"]: x["amount_fen"] for x in rows}


def _by_city(st) -> dict[str, dict]:
    return {c["city_code"]: c for c in st["expenditure_by_city"]}


def test_statements_from_posted_entries_balance(db):
    year = clock.today().year + 4
    actor = who(db, "gx_si")
    before = final_accounts.statements(db, year)
    assert before["balance_sheet"]["balanced"]
    posting.post(
        db,
        actor,
        [
            # the year before: premiums in, one payment out, an opening fund balance
            posting.NewEntry("premium", dt.date(year - 1, 11, 2), "上年保费", rules.premium_legs(700_00)),
            posting.NewEntry("allocation", dt.date(year - 1, 11, 3), "上年拨付", rules.allocation_legs(CITY_A, 300_00)),
            posting.NewEntry(
                "payment", dt.date(year - 1, 11, 4), "上年支付", rules.payment_legs("funeral", "451402", 100_00)
            ),
            posting.NewEntry(
                "manual",
                dt.date(year - 1, 12, 1),
                "期初结余转入",
                [
                    rules.Leg(rules.FISCAL, rules.PROVINCE, debit=50_00),
                    rules.Leg(rules.BALANCE, rules.PROVINCE, credit=50_00),
                ],
            ),
            # the year
            posting.NewEntry("premium", dt.date(year, 1, 5), "保费", rules.premium_legs(1_000_00)),
            posting.NewEntry("interest", dt.date(year, 3, 31), "利息", rules.interest_legs(7_00)),
            posting.NewEntry(
                "manual",
                dt.date(year, 4, 1),
                "其他收入",
                [
                    rules.Leg(rules.FISCAL, rules.PROVINCE, debit=3_00),
                    rules.Leg(rules.OTHER_INCOME, rules.PROVINCE, credit=3_00),
                ],
            ),
            posting.NewEntry("allocation", dt.date(year, 4, 2), "拨付", rules.allocation_legs(CITY_A, 400_00)),
            posting.NewEntry("allocation", dt.date(year, 4, 2), "拨付", rules.allocation_legs(CITY_B, 200_00)),
            posting.NewEntry("payment", dt.date(year, 5, 6), "支付", rules.payment_legs("medical", "451402", 250_00)),
            posting.NewEntry("payment", dt.date(year, 5, 6), "支付", rules.payment_legs("nursing", "451302", 120_00)),
            posting.NewEntry(
                "reversal_payment",
                dt.date(year, 6, 1),
                "退汇",
                rules.payment_legs("medical", "451402", 50_00, reversed_=True),
            ),
            posting.NewEntry(
                "manual",
                dt.date(year, 6, 2),
                "暂收款",
                [
                    rules.Leg(rules.FISCAL, rules.PROVINCE, debit=9_00),
                    rules.Leg(rules.SUSPENSE, rules.PROVINCE, credit=9_00),
                ],
            ),
            posting.NewEntry(
                "manual",
                dt.date(year, 6, 3),
                "其他支出",
                [
                    rules.Leg(rules.OTHER_EXPENSE, CITY_B, debit=2_00),
                    rules.Leg(rules.EXPENDITURE_ACCOUNT, CITY_B, credit=2_00),
                ],
            ),
        ],
    )
    st = final_accounts.statements(db, year)
    inc, b_inc = _amounts(st["income"]), _amounts(before["income"])
    assert [x["code"] for x in st["income"]][:3] == ["4001", "4002", "4009"]
    assert inc["4001"] - b_inc["4001"] == 1_000_00
    assert inc["4002"] - b_inc["4002"] == 7_00 and inc["4009"] - b_inc["4009"] == 3_00
    exp, b_exp = _amounts(st["expenditure"]), _amounts(before["expenditure"])
    assert exp["500101"] - b_exp["500101"] == 200_00
    assert exp["500106"] - b_exp["500106"] == 120_00
    assert exp["5009"] - b_exp["5009"] == 2_00
    assert exp["500107"] - b_exp["500107"] == 0  # last year's payment is not this year's
    assert st["income_total_fen"] - before["income_total_fen"] == 1_010_00
    assert st["expenditure_total_fen"] - before["expenditure_total_fen"] == 322_00
    assert st["surplus_fen"] - before["surplus_fen"] == 688_00
    # brought forward: last year's 700 − 100 and the opening balance of 50
    assert st["brought_forward_fen"] - before["brought_forward_fen"] == 650_00
    assert st["closing_balance_fen"] - before["closing_balance_fen"] == 1_338_00
    assert st["closing_balance_fen"] == st["brought_forward_fen"] + st["surplus_fen"] + st["adjustment_fen"]
    cities, b_cities = _by_city(st), _by_city(before)
    assert cities[CITY_A]["city_name"] == "崇左市"
    assert cities[CITY_A]["total_fen"] - b_cities.get(CITY_A, {"total_fen": 0})["total_fen"] == 200_00
    assert cities[CITY_B]["items"]["500106"] - b_cities.get(CITY_B, {"items": {}})["items"].get("500106", 0) == 120_00

    bs, b_bs = st["balance_sheet"], before["balance_sheet"]
    assert bs["balanced"] and bs["assets_total_fen"] == bs["liabilities_total_fen"] + bs["fund_balance_fen"]
    assert bs["fund_balance_fen"] == st["closing_balance_fen"]
    assets, b_assets = _amounts(bs["assets"]), _amounts(b_bs["assets"])
    assert assets["1201"] == b_assets.get("1201", 0)  # the inter-unit account nets to nil province-wide
    # 1002 by city: A got 300 + 400, paid 100 + 250 − 50; B got 200, paid 120 + 2
    by_city = {c["city_code"]: c["amount_fen"] for a in bs["assets"] if a["code"] == "1002" for c in a["by_city"]}
    b_by_city = {
        c["city_code"]: c["amount_fen"] for a in b_bs["assets"] if a["code"] == "1002" for c in a.get("by_city", [])
    }
    assert by_city[CITY_A] - b_by_city.get(CITY_A, 0) == 400_00
    assert by_city[CITY_B] - b_by_city.get(CITY_B, 0) == 78_00
    assert _amounts(bs["liabilities"])["2101"] - _amounts(b_bs["liabilities"]).get("2101", 0) == 9_00


def test_final_accounts_need_every_month_closed(db):
    today = clock.today()
    posting.post(
        db,
        who(db, "gx_si"),
        [posting.NewEntry("premium", dt.date(today.year + 4, 1, 5), "保费", rules.premium_legs(1_00))],
    )
    with pytest.raises(DomainError) as e:
        final_accounts.draw(db, who(db, "gx_si"), today.year + 4)
    assert e.value.status_code == 409 and "未结账" in e.value.reason
    with pytest.raises(DomainError) as e:
        final_accounts.draw(db, who(db, "gx_finance"), today.year + 4)
    assert e.value.status_code == 403
    with pytest.raises(DomainError) as e:
        final_accounts.submit(db, who(db, "gx_si"), today.year + 4)
    assert e.value.status_code == 409
    # a year before the books began has nothing to draw
    first = db.scalar(select(func.min(Period.month)))
    before = int(first[:4]) - 1 if first else today.year - 1
    assert len(final_accounts.open_months(db, before)) == 12
    with pytest.raises(DomainError) as e:
        final_accounts.draw(db, who(db, "gx_si"), before)
    assert e.value.status_code == 409 and "尚无会计期间" in e.value.reason


def test_draw_submit_approve_after_the_year_is_closed(db):
    """Closing is irreversible: all of it happens in the test's session, which is rolled back. (The
    entries are dated in December: the chart is in force from the pilot's start.)"""
    year = clock.today().year - 1
    si = who(db, "gx_si")
    posting.post(
        db,
        si,
        [
            posting.NewEntry("premium", dt.date(year, 12, 1), "保费", rules.premium_legs(2_000_00)),
            posting.NewEntry("allocation", dt.date(year, 12, 2), "拨付", rules.allocation_legs(CITY_A, 500_00)),
            posting.NewEntry("payment", dt.date(year, 12, 3), "支付", rules.payment_legs("medical", "451402", 300_00)),
        ],
    )
    # Whatever other tests left pending is booked first: it may open an earlier period, which must close first.
    posting.post_pending(db)
    db.flush()
    month = db.scalar(select(func.min(Period.month)))
    closed = posting.closed_months(db)
    assert month <= f"{year}-12"
    while month < f"{year}-12":
        if month not in closed:
            posting.close_period(db, si, month)
        month = rules.next_month(month)
    with pytest.raises(DomainError) as e:  # December still open
        final_accounts.draw(db, si, year)
    assert f"1 个会计期间未结账（{year}-12）" in e.value.reason
    posting.close_period(db, si, f"{year}-12")
    assert final_accounts.open_months(db, year) == []
    fa = final_accounts.draw(db, si, year)
    assert fa.status == "draft" and fa.statements["balance_sheet"]["balanced"]
    assert fa.statements["income_total_fen"] >= 2_000_00
    first = fa.statements["expenditure_total_fen"]
    assert final_accounts.draw(db, si, year).id == fa.id  # redrawn while draft
    assert fa.statements["expenditure_total_fen"] == first
    with pytest.raises(DomainError) as e:
        final_accounts.approve(db, who(db, "gx_finance"), year)
    assert e.value.status_code == 409  # not submitted yet
    assert final_accounts.submit(db, si, year).status == "submitted"
    with pytest.raises(DomainError) as e:
        final_accounts.draw(db, si, year)
    assert e.value.status_code == 409  # no redraw once submitted
    with pytest.raises(DomainError) as e:
        final_accounts.approve(db, si, year)
    assert e.value.status_code == 403
    # Finance returns it with a reason; the centre redraws and resubmits.
    finance = who(db, "gx_finance")
    with pytest.raises(DomainError) as e:
        final_accounts.return_(db, si, year, "请核对")
    assert e.value.status_code == 403  # the centre does not return its own
    with pytest.raises(DomainError, match="请填写退回原因"):
        final_accounts.return_(db, finance, year, "  ")
    fa = final_accounts.return_(db, finance, year, "12 月支付未含退汇冲回，请核对后重报")
    assert (fa.status, fa.note) == ("returned", "12 月支付未含退汇冲回，请核对后重报")
    with pytest.raises(DomainError, match="已退回修改"):
        final_accounts.approve(db, finance, year)
    assert final_accounts.draw(db, si, year).status == "draft"  # redrawn from the closed books
    assert final_accounts.submit(db, si, year).status == "submitted"
    fa = final_accounts.approve(db, finance, year, "同意")
    assert fa.status == "approved" and fa.approved_by is not None and fa.note == "同意"
    with pytest.raises(DomainError) as e:
        final_accounts.return_(db, finance, year, "再看看")
    assert e.value.status_code == 409  # an approved final account stays approved
