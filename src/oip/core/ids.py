"""Validation of identifiers: resident ID (GB 11643), unified social credit code (GB 32100),
mainland mobile numbers.

Resident IDs: a wrong check digit or an impossible birth date is an error; an area code that is
unknown, or newer than the birth year, is only a warning — real people keep old area codes.
Lower-case x is normalised; a 15-digit legacy number is upgraded to 18 digits.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache

from stdnum import numdb
from stdnum.cn import ric, uscc
from stdnum.exceptions import ValidationError

from oip.core import clock


class InvalidId(ValueError):
    pass


@dataclass
class ResidentId:
    number: str
    birth_date: dt.date
    sex: str  # "M" | "F"
    warnings: list[str] = field(default_factory=list)


@lru_cache(maxsize=8192)
def _area_warning(area: str, birth_year: int) -> str | None:
    info = {k: v for part, props in numdb.get("cn/loc").info(area) for k, v in props.items()}
    if not info.get("county"):  # unknown, or only the province/prefecture is known (e.g. 450199)
        return f"地区码 {area} 不在行政区划代码表中（历史代码可能仍有效）"
    for county in info["county"].split(","):
        if not county.startswith("["):
            return None
        start, end = county[1:].split("]")[0].split("-")
        if (not start or birth_year >= int(start)) and (not end or birth_year <= int(end)):
            return None
    return f"地区码 {area} 在出生年份 {birth_year} 时尚未设立或已撤销"


def _periods(county: str) -> list[tuple[str, int | None, int | None]]:
    """ "[1983-2003]新城区,[2004-]青秀区" → [("新城区", 1983, 2003), ("青秀区", 2004, None)]."""
    out = []
    for part in county.split(","):
        if part.startswith("["):
            span, name = part[1:].split("]", 1)
            start, end = span.split("-")
            out.append((name, int(start) if start else None, int(end) if end else None))
        else:
            out.append((part, None, None))
    return out


@lru_cache(maxsize=64)
def area_codes(province: str = "45") -> dict[str, tuple[tuple[str, int | None, int | None], ...]]:
    """Every county-level area code python-stdnum knows under a province (current and former), with
    its names and the years each was in use: ``{"450103": (("新城区", 1983, 2003), ("青秀区", 2004, None))}``.
    Prefecture and province codes (``xx00``) and the cities' 市辖区 (``xx01``) are left out."""
    out = {}
    for _, low, high, _props, children in numdb.get("cn/loc").prefixes:
        if low != province or high != province:
            continue
        for _, lo, hi, cprops, _ in children:
            if lo == hi and not lo.endswith(("00", "01")) and cprops.get("county"):
                out[province + lo] = tuple(_periods(cprops["county"]))
    return out


def area_valid_in(area: str, year: int) -> bool:
    """Whether a resident ID with this area code and birth year raises no area-code warning (and so
    passes python-stdnum's ``cn.ric`` check)."""
    return _area_warning(area, year) is None


def parse_resident_id(raw: str, today: dt.date | None = None) -> ResidentId:
    """Validate and normalise a resident ID number, or raise InvalidId with a Chinese reason."""
    if raw is None:
        raise InvalidId("身份证号码不能为空")
    raw = unicodedata.normalize("NFKC", str(raw))  # full-width digits and Ｘ from Chinese input methods
    number = re.sub(r"[\s-]", "", raw).upper()
    if not number:
        raise InvalidId("身份证号码不能为空")
    if len(number) == 15:
        if not number.isdigit():
            raise InvalidId("15 位身份证号码只能包含数字")
        try:
            born = dt.date(1900 + int(number[6:8]), int(number[8:10]), int(number[10:12]))
        except ValueError:
            raise InvalidId(f"15 位身份证号码中的出生日期 19{number[6:12]} 不存在") from None
        body = number[:6] + "19" + number[6:]
        number = body + ric.calc_check_digit(body + "0")
    elif len(number) != 18:
        raise InvalidId(f"身份证号码应为 18 位（或 15 位旧号码），实际为 {len(number)} 位")
    if not number[:17].isdigit() or not (number[17].isdigit() or number[17] == "X"):
        raise InvalidId("身份证号码前 17 位必须为数字，最后一位为数字或 X")
    try:
        born = dt.date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        raise InvalidId(f"身份证号码中的出生日期 {number[6:14]} 不存在") from None
    today = today or clock.today()
    if born > today or born.year < 1900:
        raise InvalidId(f"身份证号码中的出生日期 {born.isoformat()} 不合理")
    if number[17] != ric.calc_check_digit(number):
        raise InvalidId(f"身份证号码校验位错误（应为 {ric.calc_check_digit(number)}）")
    warnings = [w for w in [_area_warning(number[:6], born.year)] if w]
    if len(re.sub(r"[\s-]", "", str(raw))) == 15:
        warnings.append("15 位旧号码已升级为 18 位")
    sex = "M" if int(number[16]) % 2 else "F"
    return ResidentId(number, born, sex, warnings)


def age_on(born: dt.date, day: dt.date) -> int:
    return day.year - born.year - ((day.month, day.day) < (born.month, born.day))


_MOBILE = re.compile(r"^1[3-9]\d{9}$")


def parse_mobile(raw: str) -> str:
    if raw is None:
        raise InvalidId("手机号码不能为空")
    number = re.sub(r"[\s-]", "", unicodedata.normalize("NFKC", str(raw)))
    if number.startswith("+86"):
        number = number[3:]
    elif number.startswith("0086"):
        number = number[4:]
    if not _MOBILE.match(number):
        shown = f" {mask_phone(number)} " if len(number) == 11 and number.isdigit() else ""
        raise InvalidId(f"手机号码{shown}无效：应为 11 位、以 13–19 开头的大陆手机号")
    return number


def parse_uscc(raw: str) -> str:
    try:
        return uscc.validate(raw)
    except ValidationError as e:
        raise InvalidId(f"统一社会信用代码无效：{e.message}") from None


def mask_id(number: str) -> str:
    """4501**********123X"""
    return number[:4] + "*" * (len(number) - 8) + number[-4:]


def mask_phone(number: str) -> str:
    """138****5678"""
    return number[:3] + "****" + number[-4:]


def mask_name(name: str) -> str:
    """张*三, 王*; a one-character name stays as it is. For people who may know a case but not whose it is."""
    name = (name or "").strip()
    if len(name) <= 1:
        return name
    if len(name) == 2:
        return name[0] + "*"
    return name[0] + "*" * (len(name) - 2) + name[-1]
