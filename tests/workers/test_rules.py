"""workers.rules without a database: validation of one record, the minimum age, screening a batch
and the de-duplication decision against what is already registered.

Every "today" here is a fixed day handed to the rules, so nothing depends on the real date."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys

import pytest
from stdnum.cn import ric

from oip.workers import rules
from oip.workers.rules import Clean, Editor, KnownAccount, KnownPerson, Outcome

TODAY = dt.date(2026, 3, 15)
COUNTIES = {"450103", "450105", "450202"}


def rid(born: dt.date, area: str = "450103", seq: str = "123") -> str:
    body = f"{area}{born:%Y%m%d}{seq}"
    return body + ric.calc_check_digit(body + "0")


def rec(**kw) -> dict:
    r = {
        "platform_account_id": "MT1",
        "name": "韦小明",
        "id_number": rid(dt.date(1990, 3, 7)),
        "phone": "13812345678",
        "county_code": "450103",
        "registered_on": "2025-08-01",
    }
    r.update(kw)
    return r


def test_the_module_imports_no_sqlalchemy():
    code = "import sys, oip.workers.rules; print(sorted(m for m in sys.modules if m.split('.')[0] == 'sqlalchemy'))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "[]"


# ---- one record ------------------------------------------------------------------------------------


def test_a_good_record_is_normalised():
    c = rules.validate(
        7,
        rec(
            name=" 阿卜杜•热合曼 ",
            id_number=rid(dt.date(1990, 3, 7)).lower(),
            phone="+86 138-1234-5678",
            registered_on="2025年8月1日",
        ),
        COUNTIES,
        TODAY,
    )
    assert isinstance(c, Clean)
    assert (c.row, c.account_id, c.name, c.phone, c.registered_on, c.birth_date, c.sex) == (
        7,
        "MT1",
        "阿卜杜·热合曼",
        "13812345678",
        dt.date(2025, 8, 1),
        dt.date(1990, 3, 7),
        "M",
    )
    assert c.warnings == []


def test_every_reason_of_a_bad_record_names_its_field():
    o = rules.validate(
        3,
        rec(
            name="", id_number="4.50103E+17", phone="12345", county_code="110101", registered_on="2025-02-30", extra="x"
        ),
        COUNTIES,
        TODAY,
    )
    assert isinstance(o, Outcome) and o.status == "rejected" and o.row == 3
    assert [r["field"] for r in o.reasons] == ["name", "id_number", "phone", "county_code", "registered_on"]
    assert o.warnings == ["已忽略未知字段：extra"]
    assert rules.validate(1, ["not", "a", "dict"], COUNTIES, TODAY).reasons == [
        {"field": None, "reason": "记录应为对象（字段名: 值）"}
    ]


def test_registration_dates_after_today_or_before_birth():
    assert rules.validate(
        1, rec(registered_on=(TODAY + dt.timedelta(days=1)).isoformat()), COUNTIES, TODAY
    ).reasons == [{"field": "registered_on", "reason": "注册日期不能晚于今天"}]
    o = rules.validate(1, rec(id_number=rid(dt.date(2025, 9, 1)), registered_on="2025-08-01"), COUNTIES, TODAY)
    assert o.reasons == [{"field": "registered_on", "reason": "注册日期早于出生日期"}]


def test_a_regional_officer_registers_only_inside_the_region():
    ed = Editor("4502", "柳州市社会保险事业局")
    o = rules.validate(1, rec(county_code="450103"), COUNTIES, TODAY, ed)
    assert o.reasons == [{"field": "county_code", "reason": "接单地 450103 不在您的辖区（柳州市社会保险事业局）内"}]
    assert isinstance(rules.validate(1, rec(county_code="450202"), COUNTIES, TODAY, ed), Clean)


@pytest.mark.parametrize(
    "born,verdict",
    [
        (dt.date(2009, 8, 2), "error"),  # 16 tomorrow
        (dt.date(2009, 8, 1), "warning"),  # 16 on the registration date
        (dt.date(2007, 8, 2), "warning"),  # 17, a day short of 18
        (dt.date(2007, 8, 1), None),  # 18 on the registration date
        (dt.date(2019, 1, 1), "error"),
    ],
)
def test_minimum_age_on_the_registration_date(born, verdict):
    reg = dt.date(2025, 8, 1)
    problem = rules.age_problem(born, reg)
    assert (problem[0] if problem else None) == verdict
    res = rules.validate(1, rec(id_number=rid(born), registered_on=reg.isoformat()), COUNTIES, TODAY)
    if verdict == "error":
        assert isinstance(res, Outcome) and res.reasons[0]["field"] == "id_number"
        assert (
            f"出生日期为 {born.isoformat()}" in res.reasons[0]["reason"] and "未满 16 周岁" in res.reasons[0]["reason"]
        )
    else:
        assert isinstance(res, Clean)
        assert any("未成年工" in w for w in res.warnings) == (verdict == "warning")


def test_a_leap_day_baby_is_16_on_the_29th_in_a_leap_year():
    assert rules.age_problem(dt.date(2008, 2, 29), dt.date(2024, 2, 28))[0] == "error"
    assert rules.age_problem(dt.date(2008, 2, 29), dt.date(2024, 2, 29))[0] == "warning"


# ---- screening a batch -------------------------------------------------------------------------------


def test_screen_numbers_rows_rejects_repeated_accounts_and_reader_problems():
    records = [rec(), rec(), rec(platform_account_id="MT2"), rec(platform_account_id="MT3", phone="1")]
    problems = {2: [{"field": None, "reason": "本行的列数多于表头"}]}
    rejected, clean = rules.screen(records, COUNTIES, TODAY, rows=[2, 3, 5, 6], problems=problems)
    assert [c.row for c in clean] == [2]
    assert [(o.row, o.reasons[0]["reason"]) for o in rejected][:2] == [
        (3, "与本批第 2 条记录的平台账号重复"),
        (5, "本行的列数多于表头"),
    ]
    assert rejected[2].row == 6 and rejected[2].reasons[0]["field"] == "phone"
    _, clean = rules.screen([rec(), rec(platform_account_id="MT2")], COUNTIES, TODAY, row_offset=11)
    assert [c.row for c in clean] == [11, 12]
    with pytest.raises(ValueError):
        rules.screen([rec()], COUNTIES, TODAY, rows=[1, 2])


# ---- the decision --------------------------------------------------------------------------------------


def _clean(*records: dict) -> list[Clean]:
    rejected, clean = rules.screen(list(records), COUNTIES, TODAY)
    assert not rejected
    return clean


def _idx(clean: list[Clean]) -> tuple[dict, dict]:
    return ({c.row: b"id:" + c.id_number.encode() for c in clean}, {c.row: b"ph:" + c.phone.encode() for c in clean})


def test_new_people_and_a_person_on_two_accounts():
    a, b = rid(dt.date(1990, 3, 7)), rid(dt.date(1991, 4, 8), seq="456")
    clean = _clean(
        rec(id_number=a), rec(platform_account_id="MT2", id_number=a), rec(platform_account_id="MT3", id_number=b)
    )
    ids, phones = _idx(clean)
    d = rules.decide(clean, ids, phones, {}, {})
    assert [c.row for c in d.creates] == [1, 2, 3]
    assert {k: c.row for k, c in d.new_people.items()} == {ids[1]: 1, ids[3]: 3}
    assert d.outcomes == [] and d.updates == [] and d.touched == set()


def test_the_same_new_id_under_two_names_is_refused():
    a = rid(dt.date(1990, 3, 7))
    clean = _clean(rec(id_number=a), rec(platform_account_id="MT2", id_number=a, name="韦大明"))
    d = rules.decide(clean, *_idx(clean), {}, {})
    assert [c.row for c in d.creates] == [1]
    assert d.outcomes[0].reasons == [{"field": "name", "reason": "与本批第 1 条记录的身份证号码相同，但姓名不一致"}]


def test_a_known_person_must_keep_their_name_and_an_account_its_person():
    clean = _clean(rec(), rec(platform_account_id="MT2", name="韦大明"))
    ids, phones = _idx(clean)
    persons = {ids[1]: KnownPerson(5, "韦小明")}
    other = KnownAccount("MT1", 9, "450103", phones[1], "138****5678", dt.date(2025, 8, 1))
    d = rules.decide(clean, ids, phones, persons, {"MT1": other})
    assert [o.reasons[0]["field"] for o in d.outcomes] == ["id_number", "name"]
    assert (
        "另一名人员" in d.outcomes[0].reasons[0]["reason"]
        and "姓名与该身份证号码已登记的姓名不一致" in d.outcomes[1].reasons[0]["reason"]
    )
    assert d.creates == [] and d.new_people == {}


def test_a_known_account_unchanged_or_updated_with_a_masked_audit_diff():
    clean = _clean(rec(phone="13812345678"))
    ids, phones = _idx(clean)
    persons = {ids[1]: KnownPerson(5, "韦小明")}
    same = KnownAccount("MT1", 5, "450103", phones[1], "138****5678", dt.date(2025, 8, 1))
    d = rules.decide(clean, ids, phones, persons, {"MT1": same})
    assert [(o.status, o.person_id) for o in d.outcomes] == [("unchanged", 5)]
    assert d.updates == [] and d.changes == [] and d.touched == {5}

    # Another number with the same masked form, and a new county: the audit says the phone changed.
    moved = KnownAccount("MT1", 5, "450105", b"ph:13800005678", "138****5678", dt.date(2025, 8, 1))
    d = rules.decide(clean, ids, phones, persons, {"MT1": moved})
    assert [(o.status, o.person_id) for o in d.outcomes] == [("updated", 5)]
    assert [(u.clean.row, u.person_id, u.phone_changed) for u in d.updates] == [(1, 5, True)]
    assert d.changes == [
        {
            "account": "MT1",
            "before": {"county_code": "450105", "phone": "138****5678"},
            "after": {"county_code": "450103", "phone": "138****5678（已变更）"},
        }
    ]
    assert "13812345678" not in repr(d.changes)


def test_a_regional_officer_cannot_change_an_account_outside_the_region():
    clean = _clean(rec(county_code="450202"))
    ids, phones = _idx(clean)
    acc = KnownAccount("MT1", 5, "450103", phones[1], "138****5678", dt.date(2025, 8, 1))
    d = rules.decide(clean, ids, phones, {ids[1]: KnownPerson(5, "韦小明")}, {"MT1": acc}, Editor("4502", "柳州"))
    assert d.outcomes[0].reasons == [
        {"field": "platform_account_id", "reason": "该平台账号登记在您的辖区以外，不能由您修改"}
    ]
    assert d.updates == [] and d.touched == set()


def test_result_orders_by_row_and_counts():
    res = rules.result(3, [Outcome(3, "c", "created"), Outcome(1, "a", "rejected"), Outcome(2, "b", "unchanged")])
    assert [o.row for o in res.outcomes] == [1, 2, 3] and (res.received, res.accepted, res.rejected) == (3, 2, 1)
    with pytest.raises(AssertionError):
        rules.result(4, [Outcome(1, "a", "created")])


def test_a_person_the_submitter_cannot_see_is_not_disclosed_by_a_name_mismatch():
    """Registered only by others: the record with another name is created like a new person's, linked
    to that person (not a new one), and the batch's report says nothing of the name on file."""
    clean = _clean(rec(name="韦大明"))
    ids, phones = _idx(clean)
    d = rules.decide(clean, ids, phones, {ids[1]: KnownPerson(5, "韦小明", seen=False)}, {})
    assert [c.row for c in d.creates] == [1] and d.outcomes == [] and d.new_people == {}
