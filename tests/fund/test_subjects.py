"""The chart of accounts is effective-dated data: a new version from a date ends the one before;
entries book only to subjects in force on their date; retiring refuses while entries follow."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from oip.core import audit, clock
from oip.core.errors import Conflict, DomainError, Forbidden
from oip.fund import posting, rules, subjects


@pytest.fixture
def s(database):
    from oip.core.db import get_sessionmaker

    session = get_sessionmaker()()
    yield session
    session.rollback()  # nothing here is kept: the chart stays as the other tests expect it
    session.close()


def _p(s, username):
    from oip.auth.models import User
    from oip.auth.service import principal_for

    return principal_for(s, s.scalar(select(User).where(User.username == username)), via="cli")


def test_the_chart_has_the_separate_subjects_of_the_seed(s):
    on = clock.today()
    names = {x.code: x.name for x in subjects.chart(s, on)}
    assert names["4001"] == "职业伤害保障费收入"
    assert names["5001"] == "职业伤害保障支出"
    assert names["4002"] == "职业伤害保障利息收入"
    assert {c for c in names if c.startswith("5001") and len(c) == 6} == set(rules.ITEM_SUBJECTS.values())
    assert subjects.chart(s, dt.date(2025, 6, 30)) == []  # before the pilot: no chart


def test_a_new_version_from_a_date_ends_the_old_one_and_entries_follow_their_date(s):
    gx = _p(s, "gx_si")
    start = clock.today() + dt.timedelta(days=400)
    new = subjects.define(
        s,
        gx,
        code="500111",
        name="康复治疗费",
        kind="expense",
        parent_code="5001",
        valid_from=start,
        note="新增明细科目",
    )
    assert new.valid_to is None
    renamed = subjects.define(
        s,
        gx,
        code="500111",
        name="康复治疗费（含辅助训练）",
        kind="expense",
        parent_code="5001",
        valid_from=start + dt.timedelta(days=10),
        note="更名",
    )
    assert new.valid_to == start + dt.timedelta(days=9)
    assert {x.code: x.name for x in subjects.chart(s, start)}["500111"] == "康复治疗费"
    assert {x.code: x.name for x in subjects.chart(s, renamed.valid_from)}["500111"] == "康复治疗费（含辅助训练）"
    legs = [rules.Leg("500111", "450100", debit=100), rules.Leg(rules.EXPENDITURE_ACCOUNT, "450100", credit=100)]
    with pytest.raises(DomainError, match="不存在或未生效"):
        posting.post(s, audit.SYSTEM, [posting.NewEntry("manual", clock.today(), "早于生效日", legs)])
    with pytest.raises(Conflict, match="须晚于"):
        subjects.define(s, gx, code="500111", name="x", kind="expense", parent_code="5001", valid_from=start, note="n")


def test_booking_to_a_subject_with_sub_subjects_is_refused(s):
    legs = [rules.Leg(rules.EXPENSE, "450100", debit=100), rules.Leg(rules.EXPENDITURE_ACCOUNT, "450100", credit=100)]
    with pytest.raises(DomainError, match="明细科目"):
        posting.post(s, audit.SYSTEM, [posting.NewEntry("manual", clock.today(), "记入上级科目", legs)])


def test_only_the_region_changes_the_chart_and_retiring_needs_no_later_entries(s):
    with pytest.raises(Forbidden):
        subjects.define(s, _p(s, "nn_si"), code="4010", name="x", kind="income", valid_from=clock.today(), note="n")
    gx = _p(s, "gx_si")
    with pytest.raises(DomainError, match="编码"):
        subjects.define(s, gx, code="A1", name="x", kind="income", valid_from=clock.today(), note="n")
    with pytest.raises(Conflict, match="明细科目"):
        subjects.retire(s, gx, rules.EXPENSE, last_day=clock.today(), note="n")
    today = clock.today()
    legs = [rules.Leg(rules.OTHER_INCOME, "450000", credit=500), rules.Leg(rules.FISCAL, "450000", debit=500)]
    posting.post(s, audit.SYSTEM, [posting.NewEntry("manual", today, "其他收入", legs)])
    with pytest.raises(Conflict, match="还有"):
        subjects.retire(s, gx, rules.OTHER_INCOME, last_day=today - dt.timedelta(days=40), note="停用")


def test_the_subjects_page_shows_names_and_the_form_only_to_the_region(client, database):
    from tests.conftest import sign_in

    sign_in(client, "gx_finance")
    r = client.get("/fund/subjects")
    assert r.status_code == 200 and "职业伤害保障支出" in r.text and "设置科目或新版本" not in r.text
    sign_in(client, "gx_si")
    assert "设置科目或新版本" in client.get("/fund/subjects").text
