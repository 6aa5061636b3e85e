"""oip.core.ids without a database: resident ID numbers (GB 11643), unified social credit codes
(GB 32100), mainland mobile numbers and the masked forms shown on screens."""

from __future__ import annotations

import datetime as dt

import pytest
from stdnum.cn import ric, uscc
from stdnum.exceptions import ValidationError

from oip.core.ids import InvalidId, age_on, mask_id, mask_phone, parse_mobile, parse_resident_id, parse_uscc

TODAY = dt.date(2026, 6, 1)  # a fixed "today" for the worked examples; none of them depends on the real one


def with_check_digit(body17: str) -> str:
    return body17 + ric.calc_check_digit(body17 + "0")


# ---- resident ID: check digit ------------------------------------------------------------------------


def test_the_standards_worked_example_with_an_x_check_digit():
    """GB 11643-1999's own example: 11010519491231002X, a woman born 1949-12-31 in 北京市朝阳区."""
    rid = parse_resident_id("11010519491231002X", TODAY)
    assert (rid.number, rid.birth_date, rid.sex, rid.warnings) == ("11010519491231002X", dt.date(1949, 12, 31), "F", [])


@pytest.mark.parametrize("wrong", "0123456789X")
def test_every_wrong_check_digit_is_refused_naming_the_right_one(wrong):
    number = "450103199003071234"
    if wrong == number[-1]:
        return
    with pytest.raises(InvalidId, match="校验位错误（应为 4）"):
        parse_resident_id(number[:17] + wrong, TODAY)


def test_lower_case_x_full_width_digits_spaces_and_hyphens_are_normalised():
    expected = "11010519491231002X"
    wide = "".join(chr(ord(c) + 0xFEE0) for c in "11010519491231002") + "ｘ"
    for raw in ("11010519491231002x", wide, " 110105 19491231 002X ", "110105-19491231-002X"):
        assert parse_resident_id(raw, TODAY).number == expected


@pytest.mark.parametrize(
    "raw,message",
    [
        ("", "不能为空"),
        (None, "不能为空"),
        ("   ", "不能为空"),
        ("4501031990030712", "应为 18 位（或 15 位旧号码），实际为 16 位"),
        ("45010319900307123A", "最后一位为数字或 X"),
        ("4501031990O3071234", "前 17 位必须为数字"),
        ("45010319900307X23", "实际为 17 位"),
    ],
)
def test_malformed_numbers(raw, message):
    with pytest.raises(InvalidId, match=message.replace("（", "\\（").replace("）", "\\）")):
        parse_resident_id(raw, TODAY)


# ---- resident ID: birth date and sex -------------------------------------------------------------------


def test_birth_date_and_sex_come_from_the_number():
    rid = parse_resident_id(with_check_digit("45020219880229051"), TODAY)  # a leap day; 17th digit odd
    assert rid.birth_date == dt.date(1988, 2, 29) and rid.sex == "M"
    assert parse_resident_id(with_check_digit("45020219880229052"), TODAY).sex == "F"


@pytest.mark.parametrize("born", ["19890229", "19901301", "19900431", "19900000"])
def test_a_birth_date_that_does_not_exist_is_refused(born):
    with pytest.raises(InvalidId, match=f"出生日期 {born} 不存在"):
        parse_resident_id(with_check_digit(f"450103{born}123"), TODAY)


def test_a_birth_date_after_today_or_before_1900_is_refused():
    tomorrow = TODAY + dt.timedelta(days=1)
    with pytest.raises(InvalidId, match="不合理"):
        parse_resident_id(with_check_digit(f"450103{tomorrow:%Y%m%d}123"), TODAY)
    with pytest.raises(InvalidId, match="不合理"):
        parse_resident_id(with_check_digit("450103189912311234"[:17]), TODAY)
    assert parse_resident_id(with_check_digit(f"450103{TODAY:%Y%m%d}123"), TODAY).birth_date == TODAY


def test_today_defaults_to_the_clock():
    """Born today in Guangxi is possible; born tomorrow is not."""
    from oip.core import clock

    today = clock.today()
    assert parse_resident_id(with_check_digit(f"450103{today:%Y%m%d}123")).birth_date == today
    with pytest.raises(InvalidId):
        parse_resident_id(with_check_digit(f"450103{today + dt.timedelta(days=1):%Y%m%d}123"))


def test_fifteen_digit_numbers_are_upgraded():
    rid = parse_resident_id("450103900307123", TODAY)
    assert rid.number == with_check_digit("45010319900307123") and rid.birth_date == dt.date(1990, 3, 7)
    assert rid.sex == "M" and rid.warnings == ["15 位旧号码已升级为 18 位"]
    with pytest.raises(InvalidId, match="19900230 不存在"):
        parse_resident_id("450103900230123", TODAY)
    with pytest.raises(InvalidId, match="只能包含数字"):
        parse_resident_id("45010390030712X", TODAY)


@pytest.mark.parametrize(
    "born,on,age",
    [
        ("2010-06-01", "2026-05-31", 15),
        ("2010-06-01", "2026-06-01", 16),
        ("2010-06-01", "2026-06-02", 16),
        ("2008-02-29", "2024-02-28", 15),
        ("2008-02-29", "2024-02-29", 16),
        ("2008-02-29", "2025-02-28", 16),
        ("2008-02-29", "2025-03-01", 17),
        ("1990-12-31", "2026-01-01", 35),
    ],
)
def test_age_on_a_day(born, on, age):
    assert age_on(dt.date.fromisoformat(born), dt.date.fromisoformat(on)) == age


# ---- resident ID: area codes -----------------------------------------------------------------------------


def test_an_area_code_newer_than_the_birth_year_is_only_a_warning():
    """450108 (南宁市良庆区) exists since 2004. Someone born in 1990 whose first card was issued there
    has a real, valid number — which python-stdnum refuses outright."""
    number = with_check_digit("45010819900307123")
    with pytest.raises(ValidationError):
        ric.validate(number)
    rid = parse_resident_id(number, TODAY)
    assert rid.number == number and rid.birth_date == dt.date(1990, 3, 7)
    assert rid.warnings == ["地区码 450108 在出生年份 1990 时尚未设立或已撤销"]


def test_an_area_code_valid_in_the_birth_year_gives_no_warning():
    # 450103 was 新城区 1983–2003 and is 青秀区 since 2004: valid on either side of the rename.
    for body in ("45010319900307123", "45010320100307123", "45010819900307123"[:6] + "20050307123"):
        assert parse_resident_id(with_check_digit(body), TODAY).warnings == []
        ric.validate(with_check_digit(body))


def test_an_abolished_area_code_is_only_a_warning():
    # 450127 横县 became 横州市 (450181) in 2021: a baby registered in 2023 under 450127 is odd, not invalid.
    rid = parse_resident_id(with_check_digit("45012720230307123"), TODAY)
    assert rid.warnings == ["地区码 450127 在出生年份 2023 时尚未设立或已撤销"]
    assert parse_resident_id(with_check_digit("45012720100307123"), TODAY).warnings == []  # 2002–2021


@pytest.mark.parametrize("area", ["990000", "450199"])
def test_an_unknown_area_code_is_only_a_warning(area):
    rid = parse_resident_id(with_check_digit(f"{area}19900307123"), TODAY)
    assert rid.warnings == [f"地区码 {area} 不在行政区划代码表中（历史代码可能仍有效）"]


# ---- unified social credit code ----------------------------------------------------------------------


def test_uscc_valid_and_normalised():
    assert parse_uscc("91450100MA5K6N8F1Q") == "91450100MA5K6N8F1Q"
    assert parse_uscc(" 91450100ma5k6n8f1q ") == "91450100MA5K6N8F1Q"
    assert uscc.calc_check_digit("91450100MA5K6N8F1") == "Q"


@pytest.mark.parametrize("raw", ["91450100MA5K6N8F1R", "91450100MA5K6N8F1", "91450100MA5K6N8F1QQ", ""])
def test_uscc_invalid(raw):
    with pytest.raises(InvalidId, match="统一社会信用代码无效"):
        parse_uscc(raw)


# ---- mobile numbers --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        "13812345678",
        "+86 138 1234 5678",
        "008613812345678",
        "138-1234-5678",
        "１３８１２３４５６７８",
        "+8613812345678",
    ],
)
def test_mobile_numbers_in_the_forms_people_write_them(raw):
    assert parse_mobile(raw) == "13812345678"


@pytest.mark.parametrize("raw", ["12812345678", "1381234567", "138123456789", "0771-5551234", "abc", ""])
def test_invalid_mobile_numbers(raw):
    with pytest.raises(InvalidId, match="手机号码.*无效"):
        parse_mobile(raw)


def test_an_invalid_mobile_number_is_masked_in_its_reason():
    with pytest.raises(InvalidId) as e:
        parse_mobile("12812345678")
    assert "128****5678" in str(e.value) and "12812345678" not in str(e.value)
    with pytest.raises(InvalidId, match="不能为空"):
        parse_mobile(None)


# ---- masking -----------------------------------------------------------------------------------------------


def test_masking():
    assert mask_id("11010519491231002X") == "1101**********002X"
    assert mask_id("450103900307123") == "4501*******7123"
    assert mask_phone("13812345678") == "138****5678"
